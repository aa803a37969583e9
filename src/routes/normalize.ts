/**
 * routes/normalize — canonical form of a route pattern from config.
 *
 * Contract: `normalizePattern(input)` returns the pattern as lower-case A-labels (IDNA, UTS #46 as the
 * WHATWG URL standard applies it, via node:url `domainToASCII`), with one trailing dot removed and a
 * leading `*.` kept for wildcards, or null when the input is not a valid name or wildcard pattern. It
 * never throws. When the input is already canonical the same string is returned (no allocation), which
 * keeps a 1M-route table from holding two copies of every name.
 *
 * What a valid name is — bytes, label and name lengths, a last label that is not a number — is names/'s
 * rule (names/host-name.ts), the same one the SNI reader applies to hellos, so every pattern accepted here
 * can be matched by some SNI the reader accepts. This file adds only what is particular to patterns:
 * Unicode input (IDNA), the `*.` prefix (`*` anywhere else and a bare `*` are rejected), and the total
 * length counting the `*.` (253: a wildcard whose suffix is longer could only match names over 253).
 *
 * ASCII characters outside the allowed set are rejected BEFORE IDNA runs, because domainToASCII is a
 * URL-host parser and would otherwise silently percent-decode (`a%41` → `aa`) and drop tabs. Pure-ASCII
 * input skips domainToASCII: for ASCII in the allowed set its only effects are lower-casing and the
 * "ends in a number" rule, which names/ applies too (test/property/routes-normalize.test.ts checks the
 * two paths agree).
 *
 * Limits: input longer than MAX_PATTERN_INPUT_LENGTH is rejected unread.
 * This is the one routes/ file allowed to import a node: module (eslint.config.js override).
 */
import { domainToASCII } from 'node:url'
import { checkHostNameText, MAX_NAME_LENGTH, NAME_FOLD } from '../names/index.ts'
import { MAX_PATTERN_INPUT_LENGTH } from './constants.ts'

const STAR = 0x2a // '*'
const DOT = 0x2e // '.'
const ASCII_END = 0x80

/** letters (either case), digits, '-', '_' (names/ NAME_FOLD) */
function isNameChar (c: number): boolean {
  return NAME_FOLD[c]! !== 0
}

/**
 * True when s (already lower-case) is a name by names/'s rule from `from` on (after a `*.` when 2), with no
 * trailing dot left, and at most MAX_NAME_LENGTH characters including the `*.`.
 */
function isCanonicalName (s: string, from: number): boolean {
  return s.length <= MAX_NAME_LENGTH && checkHostNameText(s, from) === s.length
}

/** drop exactly one trailing dot (RFC 1034 §3.1: a trailing dot marks an absolute name) */
function stripTrailingDot (s: string): string {
  return s.charCodeAt(s.length - 1) === DOT ? s.slice(0, -1) : s
}

/**
 * Canonical form of a config pattern: Unicode → A-labels (IDNA), lower-case, one trailing dot removed,
 * `*.` kept as prefix for wildcards. null when it is not a valid host name / wildcard pattern.
 */
export function normalizePattern (input: string): string | null {
  const from = scanPrefix(input)
  if (from < 0) return null
  let ascii = true
  let upper = false
  for (let i = from; i < input.length; i++) {
    const c = input.charCodeAt(i)
    if (c >= ASCII_END) {
      ascii = false
    } else if (c !== DOT) {
      const folded = NAME_FOLD[c]!
      if (folded === 0) return null
      if (folded !== c) upper = true
    }
  }
  if (!ascii) return finishIdna(input, from)
  const canonical = stripTrailingDot(upper ? input.toLowerCase() : input)
  return isCanonicalName(canonical, from) ? canonical : null
}

/**
 * Same result as normalizePattern, but always through domainToASCII (after the same ASCII pre-check).
 * Exported for the property test that proves the ASCII fast path equivalent; not part of index.ts.
 */
export function normalizeViaIdna (input: string): string | null {
  const from = scanPrefix(input)
  if (from < 0) return null
  for (let i = from; i < input.length; i++) {
    const c = input.charCodeAt(i)
    if (c < ASCII_END && c !== DOT && !isNameChar(c)) return null
  }
  return finishIdna(input, from)
}

/** -1 for input that cannot be a pattern; else where the name starts (2 after a leading `*.`) */
function scanPrefix (input: string): number {
  if (typeof input !== 'string' || input.length === 0 || input.length > MAX_PATTERN_INPUT_LENGTH) return -1
  if (input.charCodeAt(0) !== STAR) return 0
  return input.charCodeAt(1) === DOT ? 2 : -1
}

function finishIdna (input: string, from: number): string | null {
  const ascii = domainToASCII(from === 0 ? input : input.slice(from))
  if (ascii === '') return null
  const canonical = stripTrailingDot(from === 0 ? ascii : '*.' + ascii)
  return isCanonicalName(canonical, from) ? canonical : null
}
