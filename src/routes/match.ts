/**
 * routes/match — the hot-path lookup: SNI bytes → route (STYLE C.2 rules 1, 8; C.11 item 6).
 *
 * Contract: `matchRouteIndex(table, buf, start, end)` looks up the name in buf[start, end) and returns the
 * index of the winning route (into table.targets, and config order) or -1; `matchServerName` returns that
 * route's target instead. Semantics are compile.ts's (exact > longest wildcard suffix; a wildcard covers
 * one or more labels). The name is ASCII in any case (A–Z folded with |0x20) with at most one trailing dot
 * ignored. A name that is not a host name in the pattern alphabet — empty, over 253 characters, an empty
 * label, a label over 63, a byte outside letters/digits/'-'/'_' anywhere in it — never matches (-1), even
 * under a wildcard: the part a wildcard covers is validated too. The alphabet, the fold and the limits are
 * names/'s (the SNI reader's and the pattern normaliser's too); a name whose last label is a number, which
 * names/ also refuses, never matches because no pattern can end in one.
 *
 * Cost: one right-to-left pass over the bytes; per label one FNV-1a hash (computed while looking for the
 * label's start), ~1.5 hash probes (load < 1/2; none below a leaf) and one byte compare. No allocation,
 * no string, no closure; nothing depends on the number of routes. Bytes left of the deepest trie node are
 * read a second time only when a wildcard matched, to validate them.
 * Measured (AMD EPYC, Node 24, thread CPU time, min of 3 fresh processes; 2–3 label names): the same name
 * repeated costs ~56 ns for an exact hit, ~47–57 ns for a wildcard hit, ~32 ns for a miss, whether the
 * table has 10 or 1M routes; cycling over 1024 different names of a 1M-route table (~49 MB, out of cache)
 * costs 88 / 94 / 52 ns, the extra being cache and TLB misses on the two records each label touches.
 *
 * Indexing: `buf[i]!` only for i in [start, end), which the entry check puts inside buf; `FOLD[b]!` with b
 * a byte (0..255) and FOLD (names/ NAME_FOLD) 256 long; table arrays are indexed by ids and offsets the table itself holds,
 * in range by compile.ts's construction (verifyTable checks a table that came from elsewhere).
 */
import * as N from '../names/index.ts'
import * as C from './constants.ts'
import type { RouteTable } from './types.ts'

// Module-local copies of the layout constants. V8 does not constant-fold loads of imported bindings
// (each is a module-cell load at run time) but does fold module-local consts: copying them here made
// matchRouteIndex ~30% faster (3-label exact hit, 10 routes: 84 → 58 ns, min of 6 runs, measured when
// this file was written; bench/micro/routes-match.bench.ts tracks it).
const FNV_OFFSET = C.FNV_OFFSET
const FNV_PRIME = C.FNV_PRIME
const MAX_LABEL_LENGTH = N.MAX_LABEL_LENGTH
const MAX_NAME_LENGTH = N.MAX_NAME_LENGTH
const N_EXACT = C.N_EXACT
const N_HEADER_WORDS = C.N_HEADER_WORDS
const N_INFO = C.N_INFO
const INFO_LENGTH_MASK = C.INFO_LENGTH_MASK
const INFO_HAS_CHILDREN = C.INFO_HAS_CHILDREN
const N_PARENT = C.N_PARENT
const N_WILDCARD = C.N_WILDCARD
const ROOT = C.ROOT
const SLOT_STRIDE = C.SLOT_STRIDE
const slotKey = C.slotKey
/** byte → lower-case label byte, 0 for a byte that may not appear in a label (names/ NAME_FOLD) */
const FOLD = N.NAME_FOLD
const checkLabels = N.checkLabels
const DOT = 0x2e // '.'

/**
 * true when buf[start, stop) is valid as the part of a name a wildcard covers: nothing (stop < start: the
 * wildcard covered exactly the label already validated), or labels of 1..63 label bytes (names/ rule)
 */
function isValidPrefix (buf: Uint8Array, start: number, stop: number): boolean {
  return stop < start || checkLabels(buf, start, stop) === 0
}

/**
 * Index of the route that wins for the name in buf[start, end), or -1. Allocation-free.
 */
export function matchRouteIndex (table: RouteTable, buf: Uint8Array, start: number, end: number): number {
  if (!(start >= 0 && start < end && end <= buf.length)) return -1
  let labelEnd = end
  if (buf[end - 1]! === DOT) labelEnd-- // RFC 1034 §3.1: a trailing dot marks an absolute name; ignore one
  if (labelEnd - start > MAX_NAME_LENGTH) return -1
  const nodes = table.nodes
  const bytes = table.nodeBytes
  const slots = table.slots
  const mask = table.slotMask
  let node = ROOT
  let wildcard = -1
  for (;;) {
    // Find the label's start right to left, hashing and validating on the way.
    let h = FNV_OFFSET
    let i = labelEnd - 1
    for (; i >= start; i--) {
      const b = buf[i]!
      if (b === DOT) break
      const c = FOLD[b]!
      if (c === 0) return -1
      h = Math.imul(h ^ c, FNV_PRIME)
    }
    const labelStart = i + 1
    const len = labelEnd - labelStart
    if (len === 0 || len > MAX_LABEL_LENGTH) return -1

    // At least this label remains in front of `node`'s suffix, so `*.<node>` applies; deeper ones win.
    const w = nodes[node + N_WILDCARD]!
    if (w >= 0) wildcard = w

    // Child lookup: linear probing from the key's home slot until the child or an empty slot; a leaf
    // has no children to look for.
    let child = 0
    if ((nodes[node + N_INFO]! & INFO_HAS_CHILDREN) !== 0) {
      const key = slotKey(h, node)
      for (let slot = key & mask; ; slot = (slot + 1) & mask) {
        const id = slots[slot * SLOT_STRIDE + 1]!
        if (id === 0) break
        if (slots[slot * SLOT_STRIDE]! !== key || nodes[id + N_PARENT]! !== node ||
          (nodes[id + N_INFO]! & INFO_LENGTH_MASK) !== len) continue
        let k = labelStart
        for (let j = (id + N_HEADER_WORDS) << 2; k < labelEnd; k++, j++) {
          if (FOLD[buf[k]!]! !== bytes[j]!) break
        }
        if (k === labelEnd) {
          child = id
          break
        }
      }
    }
    if (child === 0) return wildcard >= 0 && isValidPrefix(buf, start, labelStart - 1) ? wildcard : -1
    node = child
    if (labelStart === start) {
      const exact = nodes[node + N_EXACT]!
      return exact >= 0 ? exact : wildcard
    }
    labelEnd = labelStart - 1
  }
}

/**
 * Look up the name in buf[start, end) (ASCII, any case, optional single trailing dot).
 * Returns the route target, or -1. Allocation-free.
 */
export function matchServerName (table: RouteTable, buf: Uint8Array, start: number, end: number): number {
  const route = matchRouteIndex(table, buf, start, end)
  return route < 0 ? -1 : table.targets[route]!
}
