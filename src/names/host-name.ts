/**
 * names/host-name — THE host-name rule of hellogate, in one place. The SNI reader (hello/parse.ts), the
 * route-pattern normaliser (routes/normalize.ts), the matcher's byte fold (routes/match.ts) and the config's
 * origin host check (config/) all call into this file, so a name one of them accepts the others accept too
 * (test/property/names-agree.test.ts generates names and checks that they do).
 *
 * The rule, for a name in dotted text form:
 *  - bytes: letters, digits, '-', '_' and '.'. Every other byte is refused: space, NUL, '*', ':', '/', '%',
 *    '[' and every byte ≥ 0x80 (IDNs travel as A-labels, "xn--…", RFC 5890 §2.3.2.1; RFC 6066 §3: HostName
 *    is "the fully qualified DNS hostname of the server, as understood by the client"). `_` is allowed
 *    because service labels (`_acme-challenge`, SRV/DKIM style) and some internal hosts use it and browsers
 *    send it.
 *  - '-' may stand anywhere in a label, first and last included. RFC 952 and RFC 1123 §2.1 say a host name's
 *    labels start and end with a letter or digit, but that is a rule for naming hosts, not one the DNS
 *    enforces (RFC 2181 §11: "any binary string whatever can be used as the label"), and such names are
 *    in use: hosting platforms hand out names like `my-branch-.surge.sh` (validator/validator#720), and
 *    Chrome resolves and connects to labels that start or end with '-' (ArchiveTeam/wpull#221). A proxy
 *    that refused them would make names unreachable through it that work directly. The SNI reader, the
 *    route patterns and the matcher already allowed them; only the config's origin check refused a leading
 *    or trailing '-', so the one rule keeps the permissive answer everywhere.
 *  - one trailing dot marks an absolute name and is ignored (RFC 1034 §3.1); a second leaves an empty label.
 *  - labels are 1..63 bytes and the name (without its trailing dot) at most 253 (RFC 1035 §2.3.4: 255
 *    octets on the wire, length bytes included).
 *  - the last label must not be a number: all digits, or `0x`/`0X` followed by hex digits. Resolvers read
 *    such a name as an IPv4 address (inet_aton takes `10.1` as 10.0.0.1, `0x7f.1` as 127.0.0.1) and so does
 *    the WHATWG URL host parser ("ends in a number"), so no browser sends one as SNI; RFC 6066 §3: "Literal
 *    IPv4 and IPv6 addresses are not permitted in "HostName"". IPv6 literals contain ':' and fail the byte
 *    rule already. TLDs are never all-numeric (RFC 3696 §2), so no real name is refused by this.
 *
 * Contract: `checkHostName(buf, start, end)` never copies, never lowercases, never allocates; it returns the
 * end offset to match on (`end`, or `end - 1` with a trailing dot) or a negative NameStatus saying why the
 * name is refused. `checkHostNameText(s)` applies the same function to a string (config time only).
 * `NAME_FOLD` maps a byte to its lower-case form when it may appear in a label, else 0: matchers fold
 * through it, so folding and validating are one table load.
 *
 * Limits: one pass over the bytes, plus a pass over the last label (at most 63 bytes) for the number rule.
 * Pure: no node:* imports, no exceptions for any input.
 *
 * Index rule (noUncheckedIndexedAccess): `buf[i]!` only for i inside a range checked against buf.length in
 * the same function; `NAME_FOLD[c]!` with c a byte (0..255) and NAME_FOLD 256 long.
 */

/** RFC 1035 §2.3.4: "labels 63 octets or less". */
export const MAX_LABEL_LENGTH = 63
/**
 * RFC 1035 §2.3.4 caps a name at 255 octets on the wire (length bytes included), which is 253 characters
 * in dotted text without the trailing dot (RFC 2181 §11, RFC 1123 §2.1).
 */
export const MAX_NAME_LENGTH = 253

/** Why a name is refused; checkHostName returns one of these (all negative) or the end offset (≥ 0). */
export const NameStatus = {
  /** nothing between start and end (or only the trailing dot) */
  Empty: -1,
  /** more than MAX_NAME_LENGTH bytes without the trailing dot */
  TooLong: -2,
  /** a leading dot, `..`, or two trailing dots */
  EmptyLabel: -3,
  /** a label of more than MAX_LABEL_LENGTH bytes */
  LabelTooLong: -4,
  /** a byte outside letters, digits, '-', '_' and '.' */
  BadByte: -5,
  /** the last label is a number: the name reads as an IPv4 address */
  EndsInNumber: -6,
  /** the range is not inside the buffer (a caller bug; nothing is read) */
  OutOfRange: -7,
} as const
export type NameStatus = typeof NameStatus[keyof typeof NameStatus]

const DOT = 0x2e // '.'
const DIGIT_0 = 0x30 // '0'
const DIGIT_9 = 0x39 // '9'
const LOWER_A = 0x61 // 'a'
const LOWER_F = 0x66 // 'f'
const LOWER_X = 0x78 // 'x'
/** first byte that is not ASCII */
const ASCII_END = 0x80

/**
 * Byte → lower-case label byte, or 0 for every byte that may not appear in a label ('.' included: it
 * separates labels). One table load replaces the A–Z fold and four range tests per byte (ws `tokenChars`).
 */
export const NAME_FOLD: Uint8Array = buildFoldTable()

function buildFoldTable (): Uint8Array {
  const t = new Uint8Array(256)
  for (let c = 0x30; c <= 0x39; c++) t[c] = c // '0'-'9'
  for (let c = 0x61; c <= 0x7a; c++) t[c] = c // 'a'-'z'
  for (let c = 0x41; c <= 0x5a; c++) t[c] = c | 0x20 // 'A'-'Z' → 'a'-'z'
  t[0x2d] = 0x2d // '-'
  t[0x5f] = 0x5f // '_'
  return t
}

/**
 * 0 when buf[start, end) is one or more dot-separated labels of 1..MAX_LABEL_LENGTH label bytes, else the
 * NameStatus of the first fault. No length limit on the whole and no number rule: the matcher uses this for
 * the part of a name a wildcard covers, where the rest of the name has been checked already.
 */
export function checkLabels (buf: Uint8Array, start: number, end: number): number {
  if (!(start >= 0 && end <= buf.length)) return NameStatus.OutOfRange
  let len = 0
  for (let i = start; i < end; i++) {
    const b = buf[i]!
    if (b === DOT) {
      if (len === 0) return NameStatus.EmptyLabel // leading dot or ".."
      len = 0
    } else if (NAME_FOLD[b]! === 0) {
      return NameStatus.BadByte
    } else if (++len > MAX_LABEL_LENGTH) {
      return NameStatus.LabelTooLong
    }
  }
  return len > 0 ? 0 : NameStatus.EmptyLabel // empty range, or a dot at the end
}

/**
 * True when the last label of buf[start, end) (labels already checked) is a number as an IPv4 parser
 * reads one: all digits, or `0x`/`0X` followed by hex digits only (WHATWG URL "ends in a number").
 */
function endsInNumber (buf: Uint8Array, start: number, end: number): boolean {
  let from = end
  while (from > start && buf[from - 1]! !== DOT) from--
  if (end - from >= 2 && buf[from]! === DIGIT_0 && NAME_FOLD[buf[from + 1]!]! === LOWER_X) {
    for (let i = from + 2; i < end; i++) {
      const c = NAME_FOLD[buf[i]!]!
      if (!((c >= DIGIT_0 && c <= DIGIT_9) || (c >= LOWER_A && c <= LOWER_F))) return false
    }
    return true
  }
  for (let i = from; i < end; i++) {
    const c = buf[i]!
    if (c < DIGIT_0 || c > DIGIT_9) return false
  }
  return true
}

/**
 * Validate buf[start, end) as a host name (module header). Returns the end to match on (one trailing dot
 * excluded) or a negative NameStatus.
 */
export function checkHostName (buf: Uint8Array, start: number, end: number): number {
  if (!(start >= 0 && end <= buf.length)) return NameStatus.OutOfRange
  if (start >= end) return NameStatus.Empty
  // one trailing dot = absolute name, compared as if absent (a second one leaves an empty label)
  const e = buf[end - 1]! === DOT ? end - 1 : end
  if (e === start) return NameStatus.Empty
  if (e - start > MAX_NAME_LENGTH) return NameStatus.TooLong
  const labels = checkLabels(buf, start, e)
  if (labels < 0) return labels
  return endsInNumber(buf, start, e) ? NameStatus.EndsInNumber : e
}

/** checkHostNameText's copy of the string's bytes: the longest valid text (253 + the trailing dot). */
const TEXT_BYTES = new Uint8Array(MAX_NAME_LENGTH + 1)

/**
 * checkHostName over s[from, s.length): the index in `s` where the name ends (s.length, or s.length - 1
 * with a trailing dot), or a negative NameStatus. A character above 0x7f is a BadByte (Unicode names are
 * converted to A-labels before they get here, see routes/normalize.ts). Config time only: copies the text
 * into a module-level buffer, which needs no more than MAX_NAME_LENGTH + 1 bytes for any name that can pass.
 */
export function checkHostNameText (s: string, from = 0): number {
  const n = s.length - from
  if (n <= 0) return NameStatus.Empty
  if (n > TEXT_BYTES.length) return NameStatus.TooLong
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(from + i)
    if (c >= ASCII_END) return NameStatus.BadByte
    TEXT_BYTES[i] = c
  }
  const e = checkHostName(TEXT_BYTES, 0, n)
  return e < 0 ? e : from + e
}

/** The reason a NameStatus stands for, worded for config error messages. */
export function describeNameStatus (status: number): string {
  switch (status) {
    case NameStatus.Empty: return 'the name is empty'
    case NameStatus.TooLong: return `longer than ${MAX_NAME_LENGTH} characters`
    case NameStatus.EmptyLabel: return 'an empty label (a leading dot, .. or two trailing dots)'
    case NameStatus.LabelTooLong: return `a label longer than ${MAX_LABEL_LENGTH} characters`
    case NameStatus.BadByte: return 'only letters, digits, -, _ and . may appear in a host name'
    case NameStatus.EndsInNumber: return 'the last label is a number, so resolvers read the name as an IPv4 address'
    case NameStatus.OutOfRange: return 'the range is outside the buffer'
    default: return 'not a host name'
  }
}
