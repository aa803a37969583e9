/**
 * routes/reference — the naive matcher that the compiled trie is tested against (hono's linear router
 * role; STYLE C.6 "differential matcher"). NOT for the hot path: it allocates strings and scans every
 * pattern on every lookup.
 *
 * Contract: written to be obviously correct, straight from the semantics in compile.ts's header:
 *  - the name drops one trailing dot, must be 1..253 characters of labels of 1..63 letters, digits,
 *    '-' or '_', and is lower-cased (ASCII only);
 *  - an exact pattern equal to the name wins;
 *  - otherwise the wildcard `*.S` with the longest S such that the name ends with `.S` wins;
 *  - otherwise -1.
 * Compile errors are found the obvious way too (normalizePattern, then a Set of canonical patterns).
 */
import { MAX_LABEL_LENGTH, MAX_NAME_LENGTH } from '../names/index.ts'
import { MAX_ROUTES, MAX_TARGET } from './constants.ts'
import { RouteError } from './compile.ts'
import { normalizePattern } from './normalize.ts'
import type { RouteSpec } from './types.ts'

export type ReferenceCompileResult =
  | { ok: true, patterns: string[], targets: number[] }
  | { ok: false, error: RouteError, index: number }

/** Canonical patterns and targets of specs, or the first error (same codes and order as compileRoutes). */
export function referenceCompile (specs: readonly RouteSpec[]): ReferenceCompileResult {
  if (specs.length > MAX_ROUTES) return { ok: false, error: RouteError.TooMany, index: MAX_ROUTES }
  const seen = new Set<string>()
  const patterns: string[] = []
  const targets: number[] = []
  for (const [index, spec] of specs.entries()) {
    if (!Number.isInteger(spec.target) || spec.target < 0 || spec.target > MAX_TARGET) {
      return { ok: false, error: RouteError.InvalidTarget, index }
    }
    const p = normalizePattern(spec.pattern)
    if (p === null) return { ok: false, error: RouteError.InvalidPattern, index }
    if (seen.has(p)) return { ok: false, error: RouteError.Duplicate, index }
    seen.add(p)
    patterns.push(p)
    targets.push(spec.target)
  }
  return { ok: true, patterns, targets }
}

const LABEL = /^[A-Za-z0-9_-]+$/

/** Index of the winning canonical pattern for `name`, or -1. */
export function referenceMatchIndex (patterns: readonly string[], name: string): number {
  const n = (name.endsWith('.') ? name.slice(0, -1) : name).replace(/[A-Z]/g, (c) => c.toLowerCase())
  if (n.length === 0 || n.length > MAX_NAME_LENGTH) return -1
  for (const label of n.split('.')) {
    if (label.length > MAX_LABEL_LENGTH || !LABEL.test(label)) return -1
  }
  const exact = patterns.indexOf(n)
  if (exact >= 0) return exact
  let best = -1
  let bestSuffix = 0
  patterns.forEach((p, i) => {
    if (!p.startsWith('*.')) return
    const suffix = p.slice(1) // '.example.com'
    if (n.endsWith(suffix) && n.length > suffix.length && suffix.length > bestSuffix) {
      best = i
      bestSuffix = suffix.length
    }
  })
  return best
}

/** Target of the winning route for `name`, or -1. */
export function referenceMatch (patterns: readonly string[], targets: ArrayLike<number>, name: string): number {
  const i = referenceMatchIndex(patterns, name)
  return i < 0 ? -1 : targets[i] ?? -1
}

/** referenceMatch over buf[start, end), each byte read as one character (latin1), like the wire bytes. */
export function referenceMatchBytes (
  patterns: readonly string[], targets: ArrayLike<number>, buf: Uint8Array, start: number, end: number,
): number {
  if (!(start >= 0 && start < end && end <= buf.length)) return -1
  if (end - start > MAX_NAME_LENGTH + 1) return -1 // too long even with a trailing dot; keeps the spread small
  return referenceMatch(patterns, targets, String.fromCharCode(...buf.subarray(start, end)))
}
