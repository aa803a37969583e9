/**
 * proxyproto/address — IP address text ↔ bytes, for the PROXY header writers. Pure, no allocation.
 *
 * Contract:
 *  - `parseIp(text, out, off)` reads the forms Node reports in `socket.remoteAddress`/`localAddress`:
 *    dotted IPv4 (`192.0.2.1`), IPv6 with at most one `::` and an optional dotted tail
 *    (`2001:db8::1`, `::ffff:192.0.2.1`), and an optional `%zone` suffix, which is dropped (neither
 *    PROXY format has a place for it). It writes the address in network byte order at out[off] and
 *    returns 4 (4 bytes written) or 6 (16 bytes written), or 0 for anything else (nothing promised
 *    about out then). `out` must have 16 bytes from `off`.
 *  - IPv4-mapped IPv6 (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2) is reported as the IPv4 address (4). A
 *    dual-stack listener (`::`) sees IPv4 clients that way; the client IS an IPv4 host, and an origin
 *    that logs it or matches it against IPv4 allow-lists must get `a.b.c.d`, not an IPv6 address it
 *    has never heard of. It also keeps v1 headers on `TCP4` when both ends are IPv4 in fact.
 *    The deprecated IPv4-compatible form (`::a.b.c.d`) stays IPv6.
 *  - `writeIpText(buf, off, addr, addrOff, family)` writes the canonical text: dotted decimal without
 *    leading zeros (§2.1), or IPv6 per RFC 5952 §4 (lower case, no leading zeros, the longest run of
 *    two or more zero groups — the first on a tie — as `::`). At most 39 bytes; returns the new offset.
 *
 * Limits: inputs longer than MAX_IP_TEXT (IPv6 with a dotted tail is 45 characters; a zone adds a
 * name) are refused without being scanned.
 *
 * Index rule: `out[i]!`/`addr[i]!` only at offsets the caller promised (16 bytes from off).
 */

/** RFC 4291 text forms reach 45 characters (`ffff:…:ffff:255.255.255.255`); room for a short zone. */
export const MAX_IP_TEXT = 64

const DOT = 0x2e
const COLON = 0x3a
const PERCENT = 0x25

/** Value of a hex digit, or -1. */
function hexVal (c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  const l = c | 0x20
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10
  return -1
}

/** Dotted IPv4 in text[start, end) → 4 bytes at out[off]; false if not exactly a.b.c.d (no leading zeros). */
function parseV4 (text: string, start: number, end: number, out: Uint8Array, off: number): boolean {
  let part = 0
  let value = 0
  let digits = 0
  let leadingZero = false
  for (let i = start; i <= end; i++) {
    const c = i === end ? DOT : text.charCodeAt(i)
    if (c === DOT) {
      // §2.1: "Heading zeroes are not permitted"; an empty part is not an address either
      if (digits === 0 || part > 3) return false
      out[off + part] = value
      part++
      value = 0
      digits = 0
      leadingZero = false
      continue
    }
    const d = c - 0x30
    if (d < 0 || d > 9 || leadingZero) return false
    if (digits === 0 && d === 0) leadingZero = true
    value = value * 10 + d
    digits++
    if (value > 255) return false
  }
  return part === 4
}

/**
 * IPv6 in text[start, end) → 16 bytes at out[off]. Groups before `::` are written in place; groups
 * after it are written in place too and moved to the end once their count is known.
 */
function parseV6 (text: string, start: number, end: number, out: Uint8Array, off: number): boolean {
  let groups = 0
  let gap = -1
  let i = start
  if (i + 1 < end && text.charCodeAt(i) === COLON && text.charCodeAt(i + 1) === COLON) {
    gap = 0
    i += 2
    if (i === end) { out.fill(0, off, off + 16); return true }
  } else if (i < end && text.charCodeAt(i) === COLON) {
    return false
  }
  while (i < end) {
    // a dotted IPv4 tail fills the last two groups (RFC 4291 §2.2 form 3)
    let j = i
    let dotted = false
    while (j < end) {
      const c = text.charCodeAt(j)
      if (c === COLON) break
      if (c === DOT) dotted = true
      j++
    }
    if (dotted) {
      if (j !== end || groups > 6) return false
      if (!parseV4(text, i, end, out, off + groups * 2)) return false
      groups += 2
      i = end
      break
    }
    const len = j - i
    if (len < 1 || len > 4 || groups >= 8) return false
    let v = 0
    for (let k = i; k < j; k++) {
      const h = hexVal(text.charCodeAt(k))
      if (h < 0) return false
      v = (v << 4) | h
    }
    out[off + groups * 2] = v >> 8
    out[off + groups * 2 + 1] = v & 0xff
    groups++
    i = j
    if (i === end) break
    // i is at a colon: `::` marks the gap (only once), a single colon separates; none may trail
    if (i + 1 < end && text.charCodeAt(i + 1) === COLON) {
      if (gap >= 0) return false
      gap = groups
      i += 2
    } else {
      i += 1
      if (i === end) return false
    }
  }
  if (gap < 0) return groups === 8
  if (groups > 7) return false
  // move the groups after the gap to the end, zero the gap
  const tail = (groups - gap) * 2
  const from = off + gap * 2
  out.copyWithin(off + 16 - tail, from, from + tail)
  out.fill(0, from, off + 16 - tail)
  return true
}

/**
 * Parse `text` into out[off..off+16): 4 → IPv4 (4 bytes), 6 → IPv6 (16 bytes), 0 → not an address.
 * `undefined` (a socket that is already closed has no address) is 0.
 */
export function parseIp (text: string | undefined, out: Uint8Array, off: number): 0 | 4 | 6 {
  if (text === undefined || text.length === 0 || text.length > MAX_IP_TEXT) return 0
  let end = text.length
  let colon = false
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i)
    if (c === PERCENT) { end = i; break }
    if (c === COLON) colon = true
  }
  if (!colon) return end === text.length && parseV4(text, 0, end, out, off) ? 4 : 0
  if (!parseV6(text, 0, end, out, off)) return 0
  // RFC 4291 §2.5.5.2 IPv4-mapped: 80 zero bits, 16 one bits, the IPv4 address
  for (let k = 0; k < 10; k++) if (out[off + k]! !== 0) return 6
  if (out[off + 10]! !== 0xff || out[off + 11]! !== 0xff) return 6
  out.copyWithin(off, off + 12, off + 16)
  return 4
}

/** Decimal of 0..65535 at buf[off]; returns the new offset. */
export function writeDecimal (buf: Uint8Array, off: number, n: number): number {
  let div = 1
  while (div * 10 <= n) div *= 10
  for (; div >= 1; div /= 10) buf[off++] = 0x30 + (Math.floor(n / div) % 10)
  return off
}

const HEX = [0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66]

/** One IPv6 group without leading zeros (RFC 5952 §4.1), lower case (§4.3). */
function writeHexGroup (buf: Uint8Array, off: number, v: number): number {
  let started = false
  for (let shift = 12; shift >= 0; shift -= 4) {
    const d = (v >> shift) & 0xf
    if (d === 0 && !started && shift > 0) continue
    started = true
    buf[off++] = HEX[d]!
  }
  return off
}

/** Canonical text of a parsed address (family 4 or 6) at buf[off]; returns the new offset. */
export function writeIpText (buf: Uint8Array, off: number, addr: Uint8Array, addrOff: number, family: 4 | 6): number {
  if (family === 4) {
    for (let k = 0; k < 4; k++) {
      if (k > 0) buf[off++] = DOT
      off = writeDecimal(buf, off, addr[addrOff + k]!)
    }
    return off
  }
  // RFC 5952 §4.2.3: compress the longest run of zero groups (length ≥ 2, §4.2.2), the first on a tie
  let bestStart = -1
  let bestLen = 1
  let runStart = -1
  for (let g = 0; g <= 8; g++) {
    const zero = g < 8 && addr[addrOff + g * 2]! === 0 && addr[addrOff + g * 2 + 1]! === 0
    if (zero) {
      if (runStart < 0) runStart = g
    } else if (runStart >= 0) {
      if (g - runStart > bestLen) { bestStart = runStart; bestLen = g - runStart }
      runStart = -1
    }
  }
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      buf[off++] = COLON
      buf[off++] = COLON
      g += bestLen - 1
      continue
    }
    if (g > 0 && g !== bestStart + bestLen) buf[off++] = COLON
    off = writeHexGroup(buf, off, (addr[addrOff + g * 2]! << 8) | addr[addrOff + g * 2 + 1]!)
  }
  return off
}
