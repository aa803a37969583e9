/**
 * SNI host_name validation over raw bytes with a 256-entry lookup table (ws `validation.js`
 * `tokenChars`).
 *
 * Contract: `checkHostName(buf, start, end)` validates buf[start, end) as a DNS host name in dotted
 * text form and returns the end offset to use for matching — `end`, or `end - 1` when the name has
 * one trailing dot (an absolute name; compared as if the dot were absent) — or -1 when the name must
 * be rejected. It never copies, never lowercases (the route matcher folds case), never allocates.
 *
 * Accepted: letters, digits, '-', '_' and '.' (underscore appears in real names such as
 * `_acme-challenge` and in some internal hosts; browsers send it). Rejected:
 *  - any other byte: space, NUL, '*', ':', '/', '%', '[' and every byte ≥ 0x80 (a U-label; RFC 6066 §3
 *    "HostName contains the fully qualified DNS hostname of the server, as understood by the client",
 *    and IDNs travel as A-labels, "xn--…", RFC 5890 §2.3.2.1);
 *  - an empty name, a lone ".", a leading dot, "..", two trailing dots (every label must be 1..63
 *    bytes, RFC 1035 §2.3.4);
 *  - a name over 253 bytes (after removing the one trailing dot);
 *  - an IPv4 literal in dotted-quad form (four all-digit labels, each ≤ 255): RFC 6066 §3 "Literal
 *    IPv4 and IPv6 addresses are not permitted in "HostName"". IPv6 literals contain ':' and are
 *    already rejected by the byte table.
 *
 * Limits: `MAX_HOST_NAME_LEN` (253) and `MAX_LABEL_LEN` (63) from constants.ts; one pass over the
 * bytes, plus a second pass over at most 15 bytes for the dotted-quad check.
 *
 * Index rule (noUncheckedIndexedAccess): `buf[i]!` only after the range check at the top of the
 * function; `HOST_BYTE[c]!` is always in range because `c` is a byte.
 */
import { MAX_HOST_NAME_LEN, MAX_LABEL_LEN } from './constants.ts'

/** byte class: not allowed in a host name */
const BAD = 0
/** byte class: '0'-'9' */
const DIGIT = 1
/** byte class: 'A'-'Z', 'a'-'z', '-', '_' */
const NAME = 2
/** byte class: '.' */
const DOT = 3

const CH_DOT = 0x2e // '.'

/** Byte → class (BAD / DIGIT / NAME / DOT); built once at module load. */
export const HOST_BYTE: Uint8Array = buildHostByteTable()

function buildHostByteTable (): Uint8Array {
  const t = new Uint8Array(256)
  for (let c = 0x30; c <= 0x39; c++) t[c] = DIGIT // '0'-'9'
  for (let c = 0x41; c <= 0x5a; c++) t[c] = NAME // 'A'-'Z'
  for (let c = 0x61; c <= 0x7a; c++) t[c] = NAME // 'a'-'z'
  t[0x2d] = NAME // '-'
  t[0x5f] = NAME // '_'
  t[CH_DOT] = DOT
  return t
}

/**
 * Validate buf[start, end) as a host name. Returns the matching end (one trailing dot excluded) or
 * -1 when invalid. See the module header for the rules.
 */
export function checkHostName (buf: Uint8Array, start: number, end: number): number {
  if (!(start >= 0 && start < end && end <= buf.length)) return -1
  // one trailing dot = absolute name, compared as if absent (a second one leaves an empty label)
  const e = buf[end - 1]! === CH_DOT ? end - 1 : end
  if (e - start < 1 || e - start > MAX_HOST_NAME_LEN) return -1

  let labelLen = 0
  let labels = 1
  let digitsOnly = true
  for (let i = start; i < e; i++) {
    const k = HOST_BYTE[buf[i]!]!
    if (k === DOT) {
      if (labelLen === 0) return -1 // leading dot or ".."
      labelLen = 0
      labels++
    } else if (k === BAD) {
      return -1
    } else {
      if (++labelLen > MAX_LABEL_LEN) return -1
      if (k !== DIGIT) digitsOnly = false
    }
  }
  if (labelLen === 0) return -1 // "a.." → "a." after the strip: empty last label
  if (digitsOnly && labels === 4 && isDottedQuad(buf, start, e)) return -1
  return e
}

/**
 * buf[start, end) holds only digits and dots in exactly four non-empty labels (checked by the
 * caller); true when every label's value is ≤ 255, i.e. it reads as an IPv4 address.
 */
function isDottedQuad (buf: Uint8Array, start: number, end: number): boolean {
  if (!(start >= 0 && end <= buf.length)) return false
  let v = 0
  for (let i = start; i < end; i++) {
    const c = buf[i]!
    if (c === CH_DOT) {
      v = 0
    } else {
      v = v * 10 + (c - 0x30)
      if (v > 255) return false
    }
  }
  return true
}
