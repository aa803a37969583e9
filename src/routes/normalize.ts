/**
 * routes/normalize — canonical form of a route pattern from config.
 *
 * Contract: `normalizePattern(input)` returns the pattern as lower-case A-labels (IDNA, UTS #46 as the
 * WHATWG URL standard applies it, via node:url `domainToASCII`), with one trailing dot removed and a
 * leading `*.` kept for wildcards, or null when the input is not a valid name or wildcard pattern. It
 * never throws. When the input is already canonical the same string is returned (no allocation), which
 * keeps a 1M-route table from holding two copies of every name.
 *
 * Rejected (null): empty input; empty labels (`a..b`, `.a`, a second trailing dot); labels over 63
 * octets and names over 253 (RFC 1035 §2.3.4), the `*.` counted; any character outside
 * letters/digits/`-`/`_` after IDNA (`_` is allowed because SRV/DKIM-style service labels appear in SNI);
 * `*` anywhere but a leading `*.` label, and a bare `*`; IP literals (`[::1]`, and any name whose last
 * label is all digits or `0x` + hex digits, which the URL standard's "ends in a number" rule turns into
 * IPv4, RFC 6066 §3: "Literal IPv4 and IPv6 addresses are not permitted in HostName").
 *
 * ASCII characters outside the allowed set are rejected BEFORE IDNA runs, because domainToASCII is a
 * URL-host parser and would otherwise silently percent-decode (`a%41` → `aa`) and drop tabs. Pure-ASCII
 * input skips domainToASCII: for ASCII in the allowed set its only effects are lower-casing and the
 * IPv4 rule, both reproduced here (test/property/routes-normalize.test.ts checks the two paths agree).
 *
 * Limits: input longer than MAX_PATTERN_INPUT_LENGTH is rejected unread.
 * This is the one routes/ file allowed to import a node: module (eslint.config.js override).
 */
import { domainToASCII } from 'node:url'
import { MAX_LABEL_LENGTH, MAX_NAME_LENGTH, MAX_PATTERN_INPUT_LENGTH } from './constants.ts'

const STAR = 0x2a // '*'
const DOT = 0x2e // '.'
const DASH = 0x2d // '-'
const UNDERSCORE = 0x5f // '_'
const DIGIT_0 = 0x30
const DIGIT_9 = 0x39
const UPPER_A = 0x41
const UPPER_Z = 0x5a
const LOWER_A = 0x61
const LOWER_F = 0x66
const LOWER_X = 0x78
const LOWER_Z = 0x7a
const ASCII_END = 0x80

/** letters (either case), digits, '-', '_' */
function isNameChar (c: number): boolean {
  return (c >= LOWER_A && c <= LOWER_Z) || (c >= DIGIT_0 && c <= DIGIT_9) ||
    (c >= UPPER_A && c <= UPPER_Z) || c === DASH || c === UNDERSCORE
}

function isLowerNameChar (c: number): boolean {
  return (c >= LOWER_A && c <= LOWER_Z) || (c >= DIGIT_0 && c <= DIGIT_9) || c === DASH || c === UNDERSCORE
}

/** WHATWG URL "ends in a number": the last label is all digits, or `0x` followed by hex digits. */
function isNumericLabel (s: string, start: number, end: number): boolean {
  if (end - start >= 2 && s.charCodeAt(start) === DIGIT_0 && s.charCodeAt(start + 1) === LOWER_X) {
    for (let i = start + 2; i < end; i++) {
      const c = s.charCodeAt(i)
      if (!((c >= DIGIT_0 && c <= DIGIT_9) || (c >= LOWER_A && c <= LOWER_F))) return false
    }
    return true
  }
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i)
    if (c < DIGIT_0 || c > DIGIT_9) return false
  }
  return true
}

/**
 * True when s[from..] is a non-empty dotted name of lower-case name characters with labels of 1..63
 * characters, s is at most 253 characters long, and the last label is not numeric.
 */
function isCanonicalName (s: string, from: number): boolean {
  const end = s.length
  if (end <= from || end > MAX_NAME_LENGTH) return false
  let labelStart = from
  for (let i = from; i < end; i++) {
    const c = s.charCodeAt(i)
    if (c === DOT) {
      const len = i - labelStart
      if (len === 0 || len > MAX_LABEL_LENGTH) return false
      labelStart = i + 1
    } else if (!isLowerNameChar(c)) {
      return false
    }
  }
  const last = end - labelStart
  return last > 0 && last <= MAX_LABEL_LENGTH && !isNumericLabel(s, labelStart, end)
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
    } else if (c === DOT || isNameChar(c)) {
      if (c >= UPPER_A && c <= UPPER_Z) upper = true
    } else {
      return null
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
