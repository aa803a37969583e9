/**
 * access/cidr — allow/deny lists of IPv4 and IPv6 CIDRs compiled into sorted, disjoint address ranges, and
 * the lookup of one client address against them. Pure: no node:*; proxyproto/'s parseIp reads the text.
 *
 * Contract:
 *  - `compileAccessList(allow, deny)` takes the config's strings (`10.0.0.0/8`, `2001:db8::/32`, or a bare
 *    address = one host) and returns an `AccessList`, or a `CidrListError` naming the list, the index and the
 *    entry, with a `CidrError` code (syntax, prefix length, host bits set). Nothing throws for bad entries.
 *  - Overlapping and adjacent prefixes are merged at compile time; duplicates are harmless.
 *  - `checkAccess(list, addr, off, family)`: the address in network order (4 bytes for family 4, 16 for 6,
 *    as proxyproto/parseIp and ProxyHeaderInfo give it) → `AccessVerdict.Allow | Deny`, by the rule "deny
 *    wins; a non-empty allow list admits only its members". IPv4-mapped IPv6 (::ffff:a.b.c.d) is looked up
 *    as IPv4, and an IPv4-mapped CIDR (`::ffff:10.0.0.0/104`) is stored as the IPv4 one: the client is an
 *    IPv4 host (proxyproto/address.ts says why). IPv6 CIDRs never match IPv4 clients and vice versa.
 *  - Lookup cost: one binary search per non-empty list and family over typed arrays, no allocation. Lists
 *    of more than INDEX_MIN_RANGES ranges also get an index by the top 16 address bits, so the search runs
 *    only among the ranges of the client's bucket (bench/micro/access-cidr.bench.ts measures 10 vs 100 000).
 *
 * Limits: none of its own; the config layer bounds the list sizes it accepts. Memory: 8 bytes per merged
 * IPv4 range, 32 per IPv6 range, plus 256 KiB per indexed family and list.
 */
import { parseIp } from '../proxyproto/index.ts'

export const AccessVerdict = {
  Deny: 0,
  Allow: 1,
} as const
export type AccessVerdict = typeof AccessVerdict[keyof typeof AccessVerdict]

/** Why a CIDR entry was refused. */
export const CidrError = {
  /** not an IPv4 or IPv6 address (with an optional `/prefix`), or a zone id (`%eth0`) */
  Syntax: 1,
  /** prefix length not a decimal in 0..32 (IPv4) or 0..128 (IPv6), or an IPv4-mapped prefix under /96 */
  Prefix: 2,
  /** bits set after the prefix (`10.0.0.1/8`): most likely a typo for a host or a wider network, so refused */
  HostBits: 3,
} as const
export type CidrError = typeof CidrError[keyof typeof CidrError]

export interface CidrListError {
  list: 'allow' | 'deny'
  index: number
  entry: string
  code: CidrError
  reason: string
}

/** One list (allow or deny), merged ranges per family; ends are inclusive. */
class RangeSet {
  /** IPv4 range starts/ends as unsigned 32-bit numbers, sorted, disjoint, not adjacent */
  v4Start: Uint32Array = new Uint32Array(0)
  v4End: Uint32Array = new Uint32Array(0)
  /** IPv6 starts/ends as 4 big-endian 32-bit words each (entry i at [4i, 4i+4)) */
  v6Start: Uint32Array = new Uint32Array(0)
  v6End: Uint32Array = new Uint32Array(0)
  /**
   * Bucket index over the top 16 address bits, built only above INDEX_MIN_RANGES ranges: idx[h] = the
   * number of ranges that start below bucket h (h·2^16 for IPv4, h·2^112 for IPv6); idx[65536] = all.
   * Empty when not built.
   */
  v4Index: Uint32Array = new Uint32Array(0)
  v6Index: Uint32Array = new Uint32Array(0)
  /** entries in the source list (0 = the list is empty) */
  entries = 0
}

/**
 * Above this many merged ranges a list gets the 16-bit bucket index (256 KiB per family): the binary search
 * then runs inside one bucket, so a 100 000-prefix list costs about what a 10-prefix one does where the
 * prefixes spread over the address space. Below it, a plain binary search is at most 6 steps and per-route
 * lists do not pay 256 KiB each.
 */
export const INDEX_MIN_RANGES = 64
/** buckets of the index: the top 16 bits */
const BUCKETS = 65536

/** idx[h] = number of ranges whose start's top 16 bits are < h (starts given by `top16(i)`, ascending) */
function buildIndex (count: number, top16: (i: number) => number): Uint32Array {
  const idx = new Uint32Array(BUCKETS + 1)
  let i = 0
  for (let h = 0; h <= BUCKETS; h++) {
    while (i < count && top16(i) < h) i++
    idx[h] = i
  }
  return idx
}

export class AccessList {
  readonly allow = new RangeSet()
  readonly deny = new RangeSet()
  /** merged ranges, for the bench and `hellogate check` reports */
  rangeCount (): number {
    return this.allow.v4Start.length + this.allow.v6Start.length / 4 + this.deny.v4Start.length + this.deny.v6Start.length / 4
  }
}

// ---- parsing -----------------------------------------------------------------------------------------------

const SCRATCH = new Uint8Array(16)

/** parse `entry` into [family, prefix, value as bigint] or a CidrError */
function parseCidr (entry: string): { family: 4 | 6, prefix: number, value: bigint } | CidrError {
  const slash = entry.indexOf('/')
  const addrText = slash < 0 ? entry : entry.slice(0, slash)
  if (addrText.includes('%')) return CidrError.Syntax
  const family = parseIp(addrText, SCRATCH, 0)
  if (family === 0) return CidrError.Syntax
  const bits = family === 4 ? 32 : 128
  let prefix = bits
  if (slash >= 0) {
    const p = entry.slice(slash + 1)
    if (p.length < 1 || p.length > 3) return CidrError.Prefix
    prefix = 0
    for (let k = 0; k < p.length; k++) {
      const d = p.charCodeAt(k) - 0x30
      if (d < 0 || d > 9) return CidrError.Prefix
      prefix = prefix * 10 + d
    }
    if (p.length > 1 && p.charCodeAt(0) === 0x30) return CidrError.Prefix
    // an IPv4-mapped text with a /prefix counts in IPv6 bits: /96 is all of IPv4
    if (family === 4 && addrText.includes(':')) {
      if (prefix < 96 || prefix > 128) return CidrError.Prefix
      prefix -= 96
    }
    if (prefix > bits) return CidrError.Prefix
  }
  let value = 0n
  for (let k = 0; k < bits / 8; k++) value = (value << 8n) | BigInt(SCRATCH[k]!)
  const hostMask = (1n << BigInt(bits - prefix)) - 1n
  if ((value & hostMask) !== 0n) return CidrError.HostBits
  return { family, prefix, value }
}

const REASONS: Record<CidrError, string> = {
  [CidrError.Syntax]: 'not an IPv4 or IPv6 address or CIDR (no zone ids)',
  [CidrError.Prefix]: 'prefix length must be 0-32 for IPv4 and 0-128 for IPv6, in decimal',
  [CidrError.HostBits]: 'bits are set after the prefix length (write the network address, e.g. 10.0.0.0/8)',
}

// ---- compile -----------------------------------------------------------------------------------------------

/** sort [start, end] pairs by start, merge overlapping and adjacent ones */
function mergeRanges (ranges: Array<[bigint, bigint]>): Array<[bigint, bigint]> {
  ranges.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  const out: Array<[bigint, bigint]> = []
  for (const r of ranges) {
    const last = out[out.length - 1]
    if (last !== undefined && r[0] <= last[1] + 1n) {
      if (r[1] > last[1]) last[1] = r[1]
    } else {
      out.push([r[0], r[1]])
    }
  }
  return out
}

function compileList (name: 'allow' | 'deny', entries: readonly string[], into: RangeSet): CidrListError | null {
  const v4: Array<[bigint, bigint]> = []
  const v6: Array<[bigint, bigint]> = []
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!
    const c = parseCidr(entry)
    if (typeof c === 'number') return { list: name, index: i, entry, code: c, reason: REASONS[c] }
    const bits = c.family === 4 ? 32 : 128
    const size = 1n << BigInt(bits - c.prefix)
    ;(c.family === 4 ? v4 : v6).push([c.value, c.value + size - 1n])
  }
  const m4 = mergeRanges(v4)
  into.v4Start = Uint32Array.from(m4, (r) => Number(r[0]))
  into.v4End = Uint32Array.from(m4, (r) => Number(r[1]))
  const m6 = mergeRanges(v6)
  into.v6Start = new Uint32Array(m6.length * 4)
  into.v6End = new Uint32Array(m6.length * 4)
  for (let i = 0; i < m6.length; i++) {
    for (let w = 0; w < 4; w++) {
      const shift = BigInt(96 - 32 * w)
      into.v6Start[i * 4 + w] = Number((m6[i]![0] >> shift) & 0xffffffffn)
      into.v6End[i * 4 + w] = Number((m6[i]![1] >> shift) & 0xffffffffn)
    }
  }
  if (m4.length > INDEX_MIN_RANGES) into.v4Index = buildIndex(m4.length, (i) => into.v4Start[i]! >>> 16)
  if (m6.length > INDEX_MIN_RANGES) into.v6Index = buildIndex(m6.length, (i) => into.v6Start[i * 4]! >>> 16)
  into.entries = entries.length
  return null
}

/** Compile the config's allow and deny lists; a CidrListError names the first bad entry. */
export function compileAccessList (allow: readonly string[], deny: readonly string[]): AccessList | CidrListError {
  const list = new AccessList()
  const e = compileList('allow', allow, list.allow) ?? compileList('deny', deny, list.deny)
  return e ?? list
}

// ---- lookup ------------------------------------------------------------------------------------------------

/**
 * The search window [lo, hi] for a value whose top 16 bits are h: the ranges starting in bucket h, plus the
 * one before them (it may start in an earlier bucket and reach into this one). Without an index: all.
 */
let winLo = 0
let winHi = 0
function window (idx: Uint32Array, count: number, h: number): void {
  if (idx.length === 0) { winLo = 0; winHi = count - 1; return }
  const first = idx[h]!
  winLo = first > 0 ? first - 1 : 0
  winHi = idx[h + 1]! - 1
}

function inV4 (set: RangeSet, x: number): boolean {
  const starts = set.v4Start
  window(set.v4Index, starts.length, x >>> 16)
  let lo = winLo
  let hi = winHi
  let found = -1
  // the last range whose start ≤ x
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    if (starts[mid]! <= x) { found = mid; lo = mid + 1 } else { hi = mid - 1 }
  }
  return found >= 0 && x <= set.v4End[found]!
}

/** compare the 4-word value at table[4i] with (a, b, c, d): <0, 0, >0 */
function cmp128 (table: Uint32Array, i: number, a: number, b: number, c: number, d: number): number {
  const o = i * 4
  if (table[o]! !== a) return table[o]! < a ? -1 : 1
  if (table[o + 1]! !== b) return table[o + 1]! < b ? -1 : 1
  if (table[o + 2]! !== c) return table[o + 2]! < c ? -1 : 1
  if (table[o + 3]! !== d) return table[o + 3]! < d ? -1 : 1
  return 0
}

function inV6 (set: RangeSet, a: number, b: number, c: number, d: number): boolean {
  window(set.v6Index, set.v6Start.length / 4, a >>> 16)
  let lo = winLo
  let hi = winHi
  let found = -1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    if (cmp128(set.v6Start, mid, a, b, c, d) <= 0) { found = mid; lo = mid + 1 } else { hi = mid - 1 }
  }
  return found >= 0 && cmp128(set.v6End, found, a, b, c, d) >= 0
}

function word (addr: Uint8Array, o: number): number {
  return ((addr[o]! << 24) | (addr[o + 1]! << 16) | (addr[o + 2]! << 8) | addr[o + 3]!) >>> 0
}

function isMapped (addr: Uint8Array, off: number): boolean {
  for (let k = 0; k < 10; k++) if (addr[off + k]! !== 0) return false
  return addr[off + 10]! === 0xff && addr[off + 11]! === 0xff
}

/**
 * The verdict for one client address: addr[off, off+4) for family 4, addr[off, off+16) for family 6.
 * Any other family (no address known) is treated as matching no entry.
 */
export function checkAccess (list: AccessList, addr: Uint8Array, off: number, family: number): AccessVerdict {
  let inAllow = false
  let inDeny = false
  if (family === 6 && isMapped(addr, off)) { off += 12; family = 4 }
  if (family === 4) {
    const x = word(addr, off)
    inDeny = list.deny.v4Start.length > 0 && inV4(list.deny, x)
    if (!inDeny && list.allow.entries > 0) inAllow = list.allow.v4Start.length > 0 && inV4(list.allow, x)
  } else if (family === 6) {
    const a = word(addr, off)
    const b = word(addr, off + 4)
    const c = word(addr, off + 8)
    const d = word(addr, off + 12)
    inDeny = list.deny.v6Start.length > 0 && inV6(list.deny, a, b, c, d)
    if (!inDeny && list.allow.entries > 0) inAllow = list.allow.v6Start.length > 0 && inV6(list.allow, a, b, c, d)
  }
  if (inDeny) return AccessVerdict.Deny
  if (list.allow.entries === 0) return AccessVerdict.Allow
  return inAllow ? AccessVerdict.Allow : AccessVerdict.Deny
}

const TEXT_SCRATCH = new Uint8Array(16)

/** Convenience for tests and tools: the verdict for an address in text (`undefined`/invalid → no address). */
export function checkAccessText (list: AccessList, text: string | undefined): AccessVerdict {
  const family = parseIp(text, TEXT_SCRATCH, 0)
  return checkAccess(list, TEXT_SCRATCH, 0, family)
}
