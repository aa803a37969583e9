/**
 * proxyproto/encode — PROXY protocol headers, version 1 (text) and 2 (binary), written into a
 * caller-owned buffer (HAProxy doc/proxy-protocol.txt; § numbers are that document's).
 *
 * Contract:
 *  - Every writer takes (buf, off, …) and returns the number of bytes it wrote, or a negative
 *    `PpError`. Nothing is allocated and nothing throws for any input: a worker keeps one buffer of
 *    PROXY_HEADER_MAX_BYTES and writes each connection's header into it (or straight in front of the
 *    hello bytes it is about to send), so the per-connection cost is the byte stores.
 *  - Addresses are the strings Node reports (`socket.remoteAddress`, `localAddress`); proxyproto/address
 *    parses them. IPv4-mapped IPv6 counts as IPv4 (address.ts says why).
 *  - v1 (§2.1): `PROXY TCP4|TCP6 src dst sport dport\r\n` when both addresses parse to the same family
 *    and both ports are integers in 0..65535; otherwise `PROXY UNKNOWN\r\n` (the spec's short form:
 *    "only when it is not possible to correctly fill the PROXY line"). Never over 104 bytes.
 *  - v2 (§2.2): signature, version/command, family, length, addresses, then TLVs appended one at a time
 *    by appendTlv, each of which also updates the length field, so a header is valid after every call.
 *    Both IPv4 → TCP4 (\x11); both parse but the families differ → TCP6 (\x21) with the IPv4 one mapped
 *    to ::ffff:a.b.c.d (HAProxy's make_proxy_line_v2 does the same: the address survives, where v1 has
 *    to say UNKNOWN); an address or port that does not parse → UNSPEC (\x00), no address block, TLVs
 *    still carried (§2.2: "The sender should use this family … when dealing with unsupported protocol
 *    families"). LOCAL (health checks) is always UNSPEC with no addresses (§2.2: "When a sender presents
 *    a LOCAL connection, it should not present any address").
 *  - `encodeProxyHeader(version, fields, buf, off)` writes a whole header from a reusable, fixed-shape
 *    ProxyHeaderFields: for v2 the TLVs ALPN, AUTHORITY (= the SNI), UNIQUE_ID and one application TLV
 *    (0xE0–0xEF), each only when set, in that order. `buildProxyHeader` is the allocating wrapper.
 *
 * Limits: TLV values are capped per type (constants.ts: AUTHORITY 255, ALPN 255, UNIQUE_ID 128 per
 * §2.2.5, custom 255); the whole v2 payload at 65535 (§2.2 uint16 length).
 *
 * Index rule: `buf[i]` is written only after the room check at the top of each writer.
 */
import {
  ADDR_LEN_TCP4, ADDR_LEN_TCP6, MAX_ALPN_BYTES, MAX_AUTHORITY_BYTES, MAX_CUSTOM_TLV_BYTES, MAX_UNIQUE_ID_BYTES,
  PpError, Pp2Type, PROXY_HEADER_MAX_BYTES, PROXY_V2_HEADER_BYTES, PROXY_V2_LENGTH_OFFSET, PROXY_V2_MAX_PAYLOAD,
  PROXY_V2_SIGNATURE, ProxyCommand, ProxyFamily, TLV_HEADER_BYTES,
} from './constants.ts'
import { parseIp, writeDecimal, writeIpText } from './address.ts'

/** Scratch for parsed addresses: 16 bytes each; module-level so no write allocates (one copy per thread). */
const SRC = new Uint8Array(16)
const DST = new Uint8Array(16)

/** `PROXY ` */
const V1_PREFIX = [0x50, 0x52, 0x4f, 0x58, 0x59, 0x20]
/** `UNKNOWN\r\n` */
const V1_UNKNOWN = [0x55, 0x4e, 0x4b, 0x4e, 0x4f, 0x57, 0x4e, 0x0d, 0x0a]
/** `TCP` */
const V1_TCP = [0x54, 0x43, 0x50]
const SPACE = 0x20
const MAX_PORT = 0xffff
/** `PROXY TCP6 ` + 2 × 39-character IPv6 + 2 × 5-digit port + 3 spaces + CRLF */
const V1_MAX_WRITTEN = 104

/** Constant bytes at buf[off] (room already checked); returns the new offset. */
function writeBytes (buf: Uint8Array, off: number, bytes: readonly number[]): number {
  for (let k = 0; k < bytes.length; k++) buf[off + k] = bytes[k]!
  return off + bytes.length
}

function validPort (p: number): boolean {
  return Number.isInteger(p) && p >= 0 && p <= MAX_PORT
}

/** §2.1 short form `PROXY UNKNOWN\r\n` (15 bytes). */
export function writeProxyV1Unknown (buf: Uint8Array, off: number): number {
  if (off < 0 || buf.length - off < V1_PREFIX.length + V1_UNKNOWN.length) return PpError.NoRoom
  let o = writeBytes(buf, off, V1_PREFIX)
  o = writeBytes(buf, o, V1_UNKNOWN)
  return o - off
}

/** §2.1 `PROXY TCP4|TCP6 src dst sport dport\r\n`, or the UNKNOWN line when that cannot be filled. */
export function writeProxyV1 (buf: Uint8Array, off: number, src: string | undefined, srcPort: number, dst: string | undefined, dstPort: number): number {
  const fs = parseIp(src, SRC, 0)
  const fd = parseIp(dst, DST, 0)
  if (fs === 0 || fs !== fd || !validPort(srcPort) || !validPort(dstPort)) return writeProxyV1Unknown(buf, off)
  if (off < 0 || buf.length - off < V1_MAX_WRITTEN) return PpError.NoRoom
  let o = writeBytes(buf, off, V1_PREFIX)
  o = writeBytes(buf, o, V1_TCP)
  buf[o++] = fs === 4 ? 0x34 : 0x36 // '4' | '6'
  buf[o++] = SPACE
  o = writeIpText(buf, o, SRC, 0, fs)
  buf[o++] = SPACE
  o = writeIpText(buf, o, DST, 0, fd)
  buf[o++] = SPACE
  o = writeDecimal(buf, o, srcPort)
  buf[o++] = SPACE
  o = writeDecimal(buf, o, dstPort)
  buf[o++] = 0x0d
  buf[o++] = 0x0a
  return o - off
}

/** Signature, version/command, family and a length of `payload` at buf[off] (room already checked). */
function writeV2Fixed (buf: Uint8Array, off: number, command: number, family: number, payload: number): void {
  for (let k = 0; k < 12; k++) buf[off + k] = PROXY_V2_SIGNATURE[k]!
  buf[off + 12] = command
  buf[off + 13] = family
  buf[off + PROXY_V2_LENGTH_OFFSET] = payload >> 8
  buf[off + PROXY_V2_LENGTH_OFFSET + 1] = payload & 0xff
}

/** §2.2 LOCAL command, UNSPEC family, no address: what a health check sends (16 bytes). */
export function writeProxyV2Local (buf: Uint8Array, off: number): number {
  if (off < 0 || buf.length - off < PROXY_V2_HEADER_BYTES) return PpError.NoRoom
  writeV2Fixed(buf, off, ProxyCommand.Local, ProxyFamily.Unspec, 0)
  return PROXY_V2_HEADER_BYTES
}

/** IPv4 at a[0..4) → ::ffff:a.b.c.d in a[0..16) (RFC 4291 §2.5.5.2). decode.ts uses it too. */
export function mapV4 (a: Uint8Array): void {
  a.copyWithin(12, 0, 4)
  a.fill(0, 0, 10)
  a[10] = 0xff
  a[11] = 0xff
}

/**
 * §2.2 PROXY command with the connection's addresses; TLVs may follow (appendTlv). Returns 16 + the
 * address block (12 for TCP4, 36 for TCP6, 0 for UNSPEC).
 */
export function writeProxyV2 (buf: Uint8Array, off: number, src: string | undefined, srcPort: number, dst: string | undefined, dstPort: number): number {
  let fs = parseIp(src, SRC, 0)
  let fd = parseIp(dst, DST, 0)
  if (fs === 0 || fd === 0 || !validPort(srcPort) || !validPort(dstPort)) {
    fs = 0
    fd = 0
  } else if (fs !== fd) {
    if (fs === 4) mapV4(SRC)
    if (fd === 4) mapV4(DST)
    fs = 6
    fd = 6
  }
  const addrLen = fs === 4 ? ADDR_LEN_TCP4 : fs === 6 ? ADDR_LEN_TCP6 : 0
  if (off < 0 || buf.length - off < PROXY_V2_HEADER_BYTES + addrLen) return PpError.NoRoom
  writeV2Fixed(buf, off, ProxyCommand.Proxy, fs === 4 ? ProxyFamily.Tcp4 : fs === 6 ? ProxyFamily.Tcp6 : ProxyFamily.Unspec, addrLen)
  let o = off + PROXY_V2_HEADER_BYTES
  const n = fs === 4 ? 4 : fs === 6 ? 16 : 0
  // §2.2: "source layer 3 address, destination layer 3 address, source port, destination port", network order
  for (let k = 0; k < n; k++) buf[o++] = SRC[k]!
  for (let k = 0; k < n; k++) buf[o++] = DST[k]!
  if (n > 0) {
    buf[o++] = srcPort >> 8
    buf[o++] = srcPort & 0xff
    buf[o++] = dstPort >> 8
    buf[o++] = dstPort & 0xff
  }
  return o - off
}

/** The v2 header at buf[headerOff]: its current total length (16 + payload), or -1 if it is not one. */
function v2Length (buf: Uint8Array, headerOff: number): number {
  if (headerOff < 0 || buf.length - headerOff < PROXY_V2_HEADER_BYTES) return -1
  for (let k = 0; k < 12; k++) if (buf[headerOff + k] !== PROXY_V2_SIGNATURE[k]) return -1
  return PROXY_V2_HEADER_BYTES + ((buf[headerOff + PROXY_V2_LENGTH_OFFSET]! << 8) | buf[headerOff + PROXY_V2_LENGTH_OFFSET + 1]!)
}

/** Room check and TLV type/length bytes for a value of `len` bytes; returns the value's offset or a PpError. */
function openTlv (buf: Uint8Array, headerOff: number, type: number, len: number): number {
  if (!Number.isInteger(type) || type < 0 || type > 0xff) return PpError.BadType
  const total = v2Length(buf, headerOff)
  if (total < 0) return PpError.NotV2
  if (total - PROXY_V2_HEADER_BYTES + TLV_HEADER_BYTES + len > PROXY_V2_MAX_PAYLOAD) return PpError.TooLong
  const at = headerOff + total
  if (buf.length - at < TLV_HEADER_BYTES + len) return PpError.NoRoom
  buf[at] = type
  buf[at + 1] = len >> 8
  buf[at + 2] = len & 0xff
  const payload = total - PROXY_V2_HEADER_BYTES + TLV_HEADER_BYTES + len
  buf[headerOff + PROXY_V2_LENGTH_OFFSET] = payload >> 8
  buf[headerOff + PROXY_V2_LENGTH_OFFSET + 1] = payload & 0xff
  return at + TLV_HEADER_BYTES
}

/**
 * §2.2 `pp2_tlv`: append `type` with value[start, end) to the v2 header at buf[headerOff] and update its
 * length field. Returns the header's new total length, or a PpError (the header is unchanged then).
 */
export function appendTlv (buf: Uint8Array, headerOff: number, type: number, value: Uint8Array, start: number, end: number): number {
  if (!(start >= 0 && start <= end && end <= value.length)) return PpError.BadValue
  const at = openTlv(buf, headerOff, type, end - start)
  if (at < 0) return at
  // a byte loop, not set(subarray()): values are ≤ a few hundred bytes and a subarray is an allocation
  if (value === buf) buf.copyWithin(at, start, end)
  else for (let k = start; k < end; k++) buf[at + k - start] = value[k]!
  return at + (end - start) - headerOff
}

/**
 * appendTlv for a US-ASCII string (a connection id): written char by char, no encoding step. A
 * character outside 0x20–0x7e is PpError.BadValue (the header is unchanged then).
 */
export function appendTlvAscii (buf: Uint8Array, headerOff: number, type: number, text: string): number {
  for (let k = 0; k < text.length; k++) {
    const c = text.charCodeAt(k)
    if (c < 0x20 || c > 0x7e) return PpError.BadValue
  }
  const at = openTlv(buf, headerOff, type, text.length)
  if (at < 0) return at
  for (let k = 0; k < text.length; k++) buf[at + k] = text.charCodeAt(k)
  return at + text.length - headerOff
}

/**
 * Everything one header needs, as a fixed-shape object a worker reuses for every connection
 * (`reset()` between them). Byte-valued fields are views (buffer + range), so the SNI and ALPN can
 * point into the hello bytes already in memory.
 */
export class ProxyHeaderFields {
  /** v2: LOCAL command, no addresses (health checks); v1 writes `PROXY UNKNOWN` for it */
  local = false
  /** client address and port (`socket.remoteAddress`, `remotePort`) */
  srcAddress: string | undefined = undefined
  srcPort = 0
  /** address and port the client connected to (`socket.localAddress`, `localPort`) */
  dstAddress: string | undefined = undefined
  dstPort = 0
  /** PP2_TYPE_AUTHORITY: the SNI, authorityBuf[authorityStart, authorityEnd); null = none */
  authorityBuf: Uint8Array | null = null
  authorityStart = 0
  authorityEnd = 0
  /** PP2_TYPE_ALPN: one protocol name, alpnBuf[alpnStart, alpnEnd); null = none */
  alpnBuf: Uint8Array | null = null
  alpnStart = 0
  alpnEnd = 0
  /** PP2_TYPE_UNIQUE_ID: the connection id (printable ASCII, ≤ 128 bytes); '' = none */
  uniqueId = ''
  /** one application-specific TLV (0xE0–0xEF); 0 = none */
  customType = 0
  customBuf: Uint8Array | null = null
  customStart = 0
  customEnd = 0

  reset (): void {
    this.local = false
    this.srcAddress = undefined
    this.srcPort = 0
    this.dstAddress = undefined
    this.dstPort = 0
    this.authorityBuf = null
    this.authorityStart = 0
    this.authorityEnd = 0
    this.alpnBuf = null
    this.alpnStart = 0
    this.alpnEnd = 0
    this.uniqueId = ''
    this.customType = 0
    this.customBuf = null
    this.customStart = 0
    this.customEnd = 0
  }
}

/** Append one optional byte-view TLV under its cap; returns the new header length or a PpError. */
function optionalTlv (buf: Uint8Array, off: number, len: number, type: number, value: Uint8Array | null, start: number, end: number, cap: number): number {
  if (value === null) return len
  if (end - start > cap) return PpError.TooLong
  return appendTlv(buf, off, type, value, start, end)
}

/**
 * Whole header for `version` (1 or 2) from `f` at buf[off]; returns its length or a PpError. A buffer
 * with PROXY_HEADER_MAX_BYTES from `off` always has room.
 */
export function encodeProxyHeader (version: 1 | 2, f: ProxyHeaderFields, buf: Uint8Array, off: number): number {
  if (version === 1) return f.local ? writeProxyV1Unknown(buf, off) : writeProxyV1(buf, off, f.srcAddress, f.srcPort, f.dstAddress, f.dstPort)
  let len = f.local ? writeProxyV2Local(buf, off) : writeProxyV2(buf, off, f.srcAddress, f.srcPort, f.dstAddress, f.dstPort)
  if (len < 0) return len
  len = optionalTlv(buf, off, len, Pp2Type.Alpn, f.alpnBuf, f.alpnStart, f.alpnEnd, MAX_ALPN_BYTES)
  if (len < 0) return len
  len = optionalTlv(buf, off, len, Pp2Type.Authority, f.authorityBuf, f.authorityStart, f.authorityEnd, MAX_AUTHORITY_BYTES)
  if (len < 0) return len
  if (f.uniqueId.length > 0) {
    if (f.uniqueId.length > MAX_UNIQUE_ID_BYTES) return PpError.TooLong
    len = appendTlvAscii(buf, off, Pp2Type.UniqueId, f.uniqueId)
    if (len < 0) return len
  }
  if (f.customType !== 0) {
    if (f.customType < Pp2Type.MinCustom || f.customType > Pp2Type.MaxCustom) return PpError.BadType
    len = optionalTlv(buf, off, len, f.customType, f.customBuf, f.customStart, f.customEnd, MAX_CUSTOM_TLV_BYTES)
  }
  return len
}

/**
 * Allocating wrapper (health checks, tests, tools): the header as a new Uint8Array, or a PpError.
 * Workers use encodeProxyHeader into their own buffer instead.
 */
export function buildProxyHeader (version: 1 | 2, f: ProxyHeaderFields): Uint8Array | PpError {
  const buf = new Uint8Array(PROXY_HEADER_MAX_BYTES)
  const n = encodeProxyHeader(version, f, buf, 0)
  if (n < 0) return n as PpError
  return buf.slice(0, n)
}
