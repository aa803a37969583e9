/**
 * fingerprint/ja4 — the JA4 TLS client fingerprint (FoxIO, technical_details/JA4.md) of one ClientHello,
 * written as ASCII into a caller-owned buffer: `t13d1516h2_8daaf6152771_e5627efa2ab1`, and its raw form JA4_r
 * (`t13d1516h2_002f,0035,…_0005,000a,…_0403,0804,…`) for debugging.
 *
 * Contract:
 *  - Input: buf[start, end) holds exactly one ClientHello handshake message (msg_type first, record headers
 *    stripped): what `HelloAssembler.hs` holds after `Ok`/`NoSni`, or what `parseClientHello` accepted.
 *    The bytes are only read.
 *  - `writeJa4(buf, start, end, out, off)` writes the 36 bytes at out[off] and returns JA4_LENGTH, or a
 *    negative `Ja4Error`. `writeJa4Raw` returns the number of bytes written (see `ja4RawMaxBytes`).
 *    `ja4String` / `ja4RawString` are the allocating wrappers for logs and tests.
 *  - Rules (JA4.md): `t` (TLS over TCP; hellogate sees no QUIC or DTLS); version = highest non-GREASE
 *    value of supported_versions (0x002b), else legacy_version, mapped 13/12/11/10/s3/s2/d1/d2/d3, `00`
 *    for anything else; `d` when a server_name extension is present, else `i`; cipher and extension counts
 *    without GREASE, capped at 99 (two digits); ALPN = first and last character of the FIRST protocol
 *    name, or the first and last hex digit of that name when either end byte is not [0-9A-Za-z], `00`
 *    without ALPN; then sha256 (first 12 hex) of the sorted cipher list, and of the sorted extension list
 *    without SNI (0000) and ALPN (0010), followed by `_` and the signature algorithms in wire order when
 *    there are any. GREASE (RFC 8701, 0x?a?a) is left out of every list. An empty list hashes to
 *    `000000000000`. SSLv2-compatible hellos have no extensions and 3-byte ciphers: the caller does not
 *    pass them (HelloInfo.sslv2), and they would be `Malformed` here (their first byte is not 1).
 *
 * Why a second walk over the hello instead of parser offsets: JA4 needs every cipher and every extension
 * type, sorted, which `parseClientHello` deliberately does not keep (its HelloInfo is a fixed-shape record
 * of offsets, filled for every connection). The walk runs only for connections whose JA4 is needed (a rule
 * or the log asks), reads the lengths the parser already validated, copies the cipher and extension
 * numbers into two module-level Uint16Arrays and sorts them there; hex digits go straight into the hasher
 * (sha256.ts says why it is not node:crypto). Per call it allocates two typed-array views for the sorts.
 *
 * Limits: none of its own beyond the structure: a u16-prefixed cipher list holds at most 32767 suites and
 * a u16-prefixed extension block at most 16383 extensions, which the two scratch arrays hold exactly.
 * Not re-entrant (module-level scratch), which a synchronous function on one JS thread never needs.
 */
import { HEX_DIGITS, Sha256 } from './sha256.ts'

/** Length of a JA4 fingerprint: 10 (a) + 1 + 12 (b) + 1 + 12 (c). */
export const JA4_LENGTH = 36

/** Failures, as negative numbers where a length is otherwise returned. */
export const Ja4Error = {
  /** the bytes are not one well-formed ClientHello message */
  Malformed: -1,
  /** `out` has too few bytes from `off` (JA4_LENGTH, or ja4RawMaxBytes for the raw form) */
  NoRoom: -2,
} as const
export type Ja4Error = typeof Ja4Error[keyof typeof Ja4Error]

/** JA4.md: the counts are two decimal digits; "If there's > 99, which there should never be, then output 99". */
const MAX_COUNT = 99
/** the hash parts are the first 12 hex digits of the sha256 */
const HASH_CHARS = 12

// Extension numbers JA4 interprets (IANA TLS ExtensionType Values).
/** server_name — RFC 6066 §3 */
const EXT_SERVER_NAME = 0x0000
/** signature_algorithms — RFC 8446 §4.2.3 */
const EXT_SIGNATURE_ALGORITHMS = 0x000d
/** application_layer_protocol_negotiation — RFC 7301 §3.1 */
const EXT_ALPN = 0x0010
/** supported_versions — RFC 8446 §4.2.1 */
const EXT_SUPPORTED_VERSIONS = 0x002b

/** RFC 8701 §2: GREASE values are 0x0A0A, 0x1A1A, … 0xFAFA (both bytes equal, low nibbles 0xA). */
export function isGrease (v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && (v >> 8) === (v & 0xff)
}

// ---- scan state (module level: one walk at a time on this thread) ----------------------------------------

/** u16 cipher_suites length allows 32767 suites */
const ciphers = new Uint16Array(32768)
/** u16 extensions length allows 16383 extensions of 4 bytes each */
const exts = new Uint16Array(16384)
const sha = new Sha256()

const scan = {
  cipherCount: 0,
  /** non-GREASE extensions (SNI and ALPN included) */
  extCount: 0,
  /** of those, the ones in the hashed list (not SNI, not ALPN): exts[0, hashedExts) after the sort */
  hashedExts: 0,
  version: 0,
  sni: false,
  /** first ALPN protocol name buf[alpnStart, alpnEnd); -1 when none */
  alpnStart: -1,
  alpnEnd: -1,
  /** signature_algorithms list body buf[sigStart, sigEnd) (u16 values); -1 when absent */
  sigStart: -1,
  sigEnd: -1,
  /** non-GREASE signature algorithms */
  sigCount: 0,
}

function u16 (buf: Uint8Array, p: number): number {
  return (buf[p]! << 8) | buf[p + 1]!
}

/** Walk one ClientHello; fill `scan`, `ciphers` and `exts` (both sorted). False when malformed. */
function scanHello (buf: Uint8Array, start: number, end: number): boolean {
  if (!(start >= 0 && start <= end && end <= buf.length)) return false
  // Handshake header (RFC 8446 §4): client_hello(1), uint24 length = the rest of the message
  if (end - start < 4 || buf[start]! !== 1) return false
  if (((buf[start + 1]! << 16) | (buf[start + 2]! << 8) | buf[start + 3]!) !== end - start - 4) return false
  let p = start + 4
  // legacy_version(2) random(32) session_id<0..32>
  if (end - p < 35) return false
  let version = u16(buf, p)
  p += 34
  p += 1 + buf[p]!
  // cipher_suites<2..2^16-2>
  if (end - p < 2) return false
  const cLen = u16(buf, p)
  p += 2
  if ((cLen & 1) !== 0 || end - p < cLen) return false
  let nc = 0
  for (let q = p; q < p + cLen; q += 2) {
    const v = u16(buf, q)
    if (!isGrease(v)) ciphers[nc++] = v
  }
  p += cLen
  // legacy_compression_methods<1..2^8-1>
  if (end - p < 1 || end - p - 1 < buf[p]!) return false
  p += 1 + buf[p]!

  scan.cipherCount = nc
  scan.extCount = 0
  scan.hashedExts = 0
  scan.sni = false
  scan.alpnStart = -1
  scan.alpnEnd = -1
  scan.sigStart = -1
  scan.sigEnd = -1
  scan.sigCount = 0

  let ne = 0
  let hashed = 0
  if (p !== end) {
    if (end - p < 2 || u16(buf, p) !== end - p - 2) return false
    p += 2
    let bestVersion = -1
    while (p < end) {
      if (end - p < 4) return false
      const type = u16(buf, p)
      const len = u16(buf, p + 2)
      const body = p + 4
      if (end - body < len) return false
      p = body + len
      if (isGrease(type)) continue
      ne++
      if (type === EXT_SERVER_NAME) { scan.sni = true; continue }
      if (type === EXT_ALPN) {
        // ProtocolNameList: u16 length, then u8-prefixed non-empty names; the first name is what JA4 shows
        if (len < 3 || u16(buf, body) !== len - 2) return false
        const n = buf[body + 2]!
        if (n === 0 || 3 + n > len) return false
        scan.alpnStart = body + 3
        scan.alpnEnd = body + 3 + n
        continue
      }
      exts[hashed++] = type
      if (type === EXT_SUPPORTED_VERSIONS) {
        // ClientHello form: u8 length, then u16 versions
        if (len < 1 || buf[body]! !== len - 1 || (buf[body]! & 1) !== 0) return false
        for (let q = body + 1; q < p; q += 2) {
          const v = u16(buf, q)
          if (!isGrease(v) && v > bestVersion) bestVersion = v
        }
      } else if (type === EXT_SIGNATURE_ALGORITHMS) {
        // u16 length, then u16 SignatureScheme values, in preference order
        if (len < 2 || u16(buf, body) !== len - 2 || (len & 1) !== 0) return false
        scan.sigStart = body + 2
        scan.sigEnd = p
        let ns = 0
        for (let q = body + 2; q < p; q += 2) if (!isGrease(u16(buf, q))) ns++
        scan.sigCount = ns
      }
    }
    if (bestVersion >= 0) version = bestVersion
  }
  scan.extCount = ne
  scan.hashedExts = hashed
  scan.version = version
  ciphers.subarray(0, nc).sort()
  exts.subarray(0, hashed).sort()
  return true
}

// ---- part a: t13d1516h2 ----------------------------------------------------------------------------------

/** JA4.md "TLS and DTLS Version": two characters per version, `00` when unknown. */
function versionChars (v: number): number {
  switch (v) {
    case 0x0304: return 0x3133 // "13"
    case 0x0303: return 0x3132 // "12"
    case 0x0302: return 0x3131 // "11"
    case 0x0301: return 0x3130 // "10"
    case 0x0300: return 0x7333 // "s3"
    case 0x0002: return 0x7332 // "s2"
    case 0xfeff: return 0x6431 // "d1"
    case 0xfefd: return 0x6432 // "d2"
    case 0xfefc: return 0x6433 // "d3"
    default: return 0x3030 // "00"
  }
}

function isAlnum (c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
}

function writeCount (out: Uint8Array, off: number, n: number): void {
  const c = n > MAX_COUNT ? MAX_COUNT : n
  out[off] = 0x30 + Math.floor(c / 10)
  out[off + 1] = 0x30 + (c % 10)
}

/** the 10 characters of part a at out[off] (room checked by the caller) */
function writePartA (buf: Uint8Array, out: Uint8Array, off: number): void {
  out[off] = 0x74 // 't': TLS over TCP
  const v = versionChars(scan.version)
  out[off + 1] = v >> 8
  out[off + 2] = v & 0xff
  out[off + 3] = scan.sni ? 0x64 : 0x69 // 'd' | 'i'
  writeCount(out, off + 4, scan.cipherCount)
  writeCount(out, off + 6, scan.extCount)
  if (scan.alpnStart < 0) {
    out[off + 8] = 0x30
    out[off + 9] = 0x30
    return
  }
  const first = buf[scan.alpnStart]!
  const last = buf[scan.alpnEnd - 1]!
  if (isAlnum(first) && isAlnum(last)) {
    out[off + 8] = first
    out[off + 9] = last
  } else {
    // first and last digit of the hex form of the whole name
    out[off + 8] = HEX_DIGITS[first >> 4]!
    out[off + 9] = HEX_DIGITS[last & 0xf]!
  }
}

// ---- parts b and c ---------------------------------------------------------------------------------------

/** sha256 of `0035,1301,…` (12 hex digits) at out[off], or 12 zeros for an empty list */
function writeCipherHash (out: Uint8Array, off: number): void {
  const n = scan.cipherCount
  if (n === 0) { out.fill(0x30, off, off + HASH_CHARS); return }
  sha.reset()
  for (let k = 0; k < n; k++) {
    if (k > 0) sha.update(0x2c)
    sha.updateHex16(ciphers[k]!)
  }
  sha.digestHex(out, off, HASH_CHARS)
}

/** sha256 of `0005,000a,…[_0403,0804,…]` at out[off], or 12 zeros when the extension list is empty */
function writeExtensionHash (buf: Uint8Array, out: Uint8Array, off: number): void {
  const n = scan.hashedExts
  if (n === 0) { out.fill(0x30, off, off + HASH_CHARS); return }
  sha.reset()
  for (let k = 0; k < n; k++) {
    if (k > 0) sha.update(0x2c)
    sha.updateHex16(exts[k]!)
  }
  if (scan.sigCount > 0) {
    sha.update(0x5f)
    let first = true
    for (let q = scan.sigStart; q < scan.sigEnd; q += 2) {
      const v = u16(buf, q)
      if (isGrease(v)) continue
      if (!first) sha.update(0x2c)
      first = false
      sha.updateHex16(v)
    }
  }
  sha.digestHex(out, off, HASH_CHARS)
}

/** JA4 of the ClientHello in buf[start, end) at out[off]: JA4_LENGTH, or a negative Ja4Error. */
export function writeJa4 (buf: Uint8Array, start: number, end: number, out: Uint8Array, off: number): number {
  if (off < 0 || out.length - off < JA4_LENGTH) return Ja4Error.NoRoom
  if (!scanHello(buf, start, end)) return Ja4Error.Malformed
  writePartA(buf, out, off)
  out[off + 10] = 0x5f
  writeCipherHash(out, off + 11)
  out[off + 23] = 0x5f
  writeExtensionHash(buf, out, off + 24)
  return JA4_LENGTH
}

/**
 * Upper bound of the JA4_r length for a hello of `helloBytes` bytes (every 2 hello bytes give at most one
 * 5-character list entry): size a buffer with it, or with ja4RawMaxBytes(maxHelloBytes) once per worker.
 */
export function ja4RawMaxBytes (helloBytes: number): number {
  return 13 + Math.ceil(helloBytes / 2) * 5
}

function writeHex16 (out: Uint8Array, o: number, v: number): number {
  out[o] = HEX_DIGITS[(v >> 12) & 0xf]!
  out[o + 1] = HEX_DIGITS[(v >> 8) & 0xf]!
  out[o + 2] = HEX_DIGITS[(v >> 4) & 0xf]!
  out[o + 3] = HEX_DIGITS[v & 0xf]!
  return o + 4
}

/** characters of a comma-separated list of n 4-digit hex values */
function listChars (n: number): number {
  return n === 0 ? 0 : n * 5 - 1
}

/**
 * JA4_r (JA4.md "Raw Output"): part a, then the sorted cipher list, the sorted extension list (no SNI, no
 * ALPN) and, when present, the signature algorithms in wire order, `_`-separated. Returns the length
 * written at out[off], or a negative Ja4Error (NoRoom when the exact length does not fit).
 */
export function writeJa4Raw (buf: Uint8Array, start: number, end: number, out: Uint8Array, off: number): number {
  if (!scanHello(buf, start, end)) return Ja4Error.Malformed
  const need = 10 + 1 + listChars(scan.cipherCount) + 1 + listChars(scan.hashedExts) +
    (scan.sigCount > 0 ? 1 + listChars(scan.sigCount) : 0)
  if (off < 0 || out.length - off < need) return Ja4Error.NoRoom
  writePartA(buf, out, off)
  let o = off + 10
  out[o++] = 0x5f
  for (let k = 0; k < scan.cipherCount; k++) {
    if (k > 0) out[o++] = 0x2c
    o = writeHex16(out, o, ciphers[k]!)
  }
  out[o++] = 0x5f
  for (let k = 0; k < scan.hashedExts; k++) {
    if (k > 0) out[o++] = 0x2c
    o = writeHex16(out, o, exts[k]!)
  }
  if (scan.sigCount > 0) {
    out[o++] = 0x5f
    let first = true
    for (let q = scan.sigStart; q < scan.sigEnd; q += 2) {
      const v = u16(buf, q)
      if (isGrease(v)) continue
      if (!first) out[o++] = 0x2c
      first = false
      o = writeHex16(out, o, v)
    }
  }
  return o - off
}

/** Slow path (allocates): JA4 as a string, or null when the hello is malformed. */
export function ja4String (buf: Uint8Array, start: number, end: number): string | null {
  const out = new Uint8Array(JA4_LENGTH)
  if (writeJa4(buf, start, end, out, 0) < 0) return null
  return String.fromCharCode(...out)
}

/** Slow path (allocates): JA4_r as a string, or null when the hello is malformed. */
export function ja4RawString (buf: Uint8Array, start: number, end: number): string | null {
  const out = new Uint8Array(ja4RawMaxBytes(end - start))
  const n = writeJa4Raw(buf, start, end, out, 0)
  if (n < 0) return null
  let s = ''
  for (let k = 0; k < n; k++) s += String.fromCharCode(out[k]!)
  return s
}
