/**
 * proxyproto/decode — PROXY protocol header reader, version 1 (text) and 2 (binary), for a listener behind
 * a load balancer (HAProxy doc/proxy-protocol.txt; § numbers are that document's). Pure, no node:*.
 *
 * Contract:
 *  - `decodeProxyHeader(buf, start, end, accept, maxV2Payload, out)` looks at the bytes received so far,
 *    buf[start, end), and answers a `PpStatus`: NeedMore (a valid prefix, nothing wrong yet), Ok (a whole
 *    header; `out` filled), or a rejection: Malformed (wrong signature, bad syntax, bad address or port,
 *    bad version/command, TLVs that overrun), TooLong (v1: no CRLF within §2.1's 107 bytes; v2: a length
 *    field above `maxV2Payload`), Unsupported (a version not in `accept`; v2 UNIX or UDP addresses).
 *    It decides as early as the bytes allow: a wrong first byte is Malformed at once, an oversized v2
 *    length as soon as the 16-byte fixed part is in.
 *  - On Ok: `out.headerLength` bytes from `start` are the header (what follows is the client's data);
 *    `out.family` 4 | 6 with `srcAddr`/`dstAddr` (network order, 4 or 16 bytes) and the ports, or 0 when
 *    the header carries no address (v1 UNKNOWN, v2 UNSPEC, v2 LOCAL): §2.1/§2.2 say the receiver then uses
 *    the connection's own endpoints. `out.local` is v2 LOCAL (a health check from the balancer itself).
 *    v2 TLVs are `buf[tlvStart, tlvEnd)`, structure checked, values untouched, so they can be passed on.
 *    IPv4-mapped IPv6 addresses are reported as IPv4, like proxyproto/address.ts does for sockets.
 *  - `ProxyHeaderDecoder` is the incremental form: `push(chunk)` as bytes arrive; when the header is in
 *    one chunk it is decoded in place (offsets into that chunk), otherwise the header bytes are gathered
 *    in one buffer of at most 16 + maxV2Payload bytes. On Ok `info.restOffset` is where the client's own
 *    bytes start in the last chunk.
 *  - Strings only on demand: `proxyAddressText(out, 'src' | 'dst')`.
 *
 * Limits: v1 107 bytes (§2.1); v2 payload `DEFAULT_MAX_V2_PAYLOAD` unless the caller sets another cap
 * (never above the uint16 field's 65535). v1 addresses are parsed through parseIp, which takes a string:
 * one string of at most 45 characters per v1 address (v1 is the legacy text form; balancers that care
 * about cost send v2).
 */
import { ADDR_LEN_TCP4, ADDR_LEN_TCP6, PROXY_V1_MAX_BYTES, PROXY_V2_HEADER_BYTES, PROXY_V2_MAX_PAYLOAD, PROXY_V2_SIGNATURE, TLV_HEADER_BYTES } from './constants.ts'
import { parseIp, writeIpText } from './address.ts'
import { mapV4 } from './encode.ts'

/** Outcome of looking at the bytes received so far. */
export const PpStatus = {
  /** a valid prefix of a header: more bytes are needed */
  NeedMore: 0,
  /** a whole header; the result record is filled */
  Ok: 1,
  /** not a PROXY header, or one that breaks the specification */
  Malformed: 2,
  /** v1 without CRLF in 107 bytes, or a v2 length above the cap */
  TooLong: 3,
  /** a version the listener does not accept, or a v2 address family hellogate cannot use (UNIX, UDP) */
  Unsupported: 4,
} as const
export type PpStatus = typeof PpStatus[keyof typeof PpStatus]

/** Versions a listener accepts (bit mask): `accept: [v1, v2]` → ACCEPT_V1 | ACCEPT_V2. */
export const ACCEPT_V1 = 1
export const ACCEPT_V2 = 2

/**
 * Default cap on the v2 payload (bytes after the 16-byte fixed part). §2.2 sizes the address block at 216
 * bytes at most (UNIX); the TLVs balancers add are tens of bytes (AWS NLB's VPC endpoint id, Azure's link
 * id) to a few hundred (HAProxy's PP2_TYPE_SSL with certificate fields). 2 KiB leaves several times that,
 * while what a client-side peer can make us hold before its hello stays small next to maxHelloBytes.
 */
export const DEFAULT_MAX_V2_PAYLOAD = 2048

/** `PROXY ` — §2.1 */
const V1_PREFIX = [0x50, 0x52, 0x4f, 0x58, 0x59, 0x20]
const CR = 0x0d
const LF = 0x0a
const SPACE = 0x20
/** §2.2: the version nibble */
const V2_VERSION = 0x2
/** §2.2 command nibble */
const CMD_LOCAL = 0x0
const CMD_PROXY = 0x1
/** §2.2 address family nibble */
const AF_UNSPEC = 0x0
const AF_INET = 0x1
const AF_INET6 = 0x2
const AF_UNIX = 0x3
/** §2.2 transport nibble */
const TRANSPORT_UNSPEC = 0x0
const TRANSPORT_STREAM = 0x1
const TRANSPORT_DGRAM = 0x2

/** Fixed-shape result, reused per connection (`reset()` between them). */
export class ProxyHeaderInfo {
  /** 1 or 2; 0 before Ok */
  version = 0
  /** v2 LOCAL: the balancer's own connection (health check); use the socket's endpoints */
  local = false
  /** 4 | 6 when the header carries the client's address, 0 when the socket's endpoints stand */
  family = 0
  /** source (client) address, network order: 4 or 16 bytes used */
  readonly srcAddr = new Uint8Array(16)
  /** destination address (what the client connected to) */
  readonly dstAddr = new Uint8Array(16)
  srcPort = 0
  dstPort = 0
  /** bytes of header from `start` */
  headerLength = 0
  /** v2 TLVs: buf[tlvStart, tlvEnd) in the buffer decoded (`tlvBuf` for the decoder); -1 when none */
  tlvStart = -1
  tlvEnd = -1
  /** ProxyHeaderDecoder only: the buffer that holds the header (the chunk, or the decoder's own) */
  tlvBuf: Uint8Array | null = null
  /** ProxyHeaderDecoder only: where the client's bytes start in the last chunk pushed */
  restOffset = 0

  reset (): void {
    this.version = 0
    this.local = false
    this.family = 0
    this.srcAddr.fill(0)
    this.dstAddr.fill(0)
    this.srcPort = 0
    this.dstPort = 0
    this.headerLength = 0
    this.tlvStart = -1
    this.tlvEnd = -1
    this.tlvBuf = null
    this.restOffset = 0
  }
}

// ---- version 1 ---------------------------------------------------------------------------------------------

/** decimal port: 1–5 digits, no leading zero (except "0" itself), ≤ 65535; -1 otherwise */
function parsePort (buf: Uint8Array, s: number, e: number): number {
  const n = e - s
  if (n < 1 || n > 5 || (n > 1 && buf[s]! === 0x30)) return -1
  let v = 0
  for (let k = s; k < e; k++) {
    const d = buf[k]! - 0x30
    if (d < 0 || d > 9) return -1
    v = v * 10 + d
  }
  return v > 0xffff ? -1 : v
}

/** an address token → parseIp into `addr`; 4 | 6 | 0. Only [0-9A-Fa-f.:] may appear (no zone, no space). */
function parseAddrToken (buf: Uint8Array, s: number, e: number, addr: Uint8Array): number {
  if (e - s < 2 || e - s > 45) return 0
  let text = ''
  for (let k = s; k < e; k++) {
    const c = buf[k]!
    const hex = (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66)
    if (!hex && c !== 0x2e && c !== 0x3a) return 0
    text += String.fromCharCode(c)
  }
  return parseIp(text, addr, 0)
}

/** index of the next SPACE in buf[s, e), or -1 */
function nextSpace (buf: Uint8Array, s: number, e: number): number {
  for (let k = s; k < e; k++) if (buf[k]! === SPACE) return k
  return -1
}

/** §2.1 line buf[start, lf] (LF included, CR before it checked by the caller) */
function parseV1Line (buf: Uint8Array, start: number, crAt: number, out: ProxyHeaderInfo): PpStatus {
  let p = start + V1_PREFIX.length
  // `UNKNOWN`: "the receiver must ignore anything presented before the CRLF is found"
  if (crAt - p >= 7 && buf[p] === 0x55 && buf[p + 1] === 0x4e && buf[p + 2] === 0x4b && buf[p + 3] === 0x4e &&
    buf[p + 4] === 0x4f && buf[p + 5] === 0x57 && buf[p + 6] === 0x4e && (crAt - p === 7 || buf[p + 7] === SPACE)) {
    out.family = 0
    return PpStatus.Ok
  }
  // `TCP4 ` | `TCP6 `
  if (crAt - p < 5 || buf[p] !== 0x54 || buf[p + 1] !== 0x43 || buf[p + 2] !== 0x50 || buf[p + 4] !== SPACE) return PpStatus.Malformed
  const declared = buf[p + 3] === 0x34 ? 4 : buf[p + 3] === 0x36 ? 6 : 0
  if (declared === 0) return PpStatus.Malformed
  p += 5
  const s1 = nextSpace(buf, p, crAt)
  if (s1 < 0) return PpStatus.Malformed
  const fs = parseAddrToken(buf, p, s1, out.srcAddr)
  const s2 = nextSpace(buf, s1 + 1, crAt)
  if (s2 < 0) return PpStatus.Malformed
  const fd = parseAddrToken(buf, s1 + 1, s2, out.dstAddr)
  const s3 = nextSpace(buf, s2 + 1, crAt)
  if (s3 < 0) return PpStatus.Malformed
  const sp = parsePort(buf, s2 + 1, s3)
  const dp = parsePort(buf, s3 + 1, crAt)
  if (sp < 0 || dp < 0 || fs === 0 || fd === 0) return PpStatus.Malformed
  // TCP4 must carry dotted IPv4; TCP6 carries IPv6 text (an IPv4-mapped one is reported as IPv4)
  if (declared === 4 && (fs !== 4 || fd !== 4 || hasColon(buf, p, s2))) return PpStatus.Malformed
  if (declared === 6 && (!hasColon(buf, p, s1) || !hasColon(buf, s1 + 1, s2))) return PpStatus.Malformed
  if (fs !== fd) { // one mapped, one not: keep both as IPv6
    if (fs === 4) mapV4(out.srcAddr)
    if (fd === 4) mapV4(out.dstAddr)
    out.family = 6
  } else {
    out.family = fs
  }
  out.srcPort = sp
  out.dstPort = dp
  return PpStatus.Ok
}

function hasColon (buf: Uint8Array, s: number, e: number): boolean {
  for (let k = s; k < e; k++) if (buf[k]! === 0x3a) return true
  return false
}

function decodeV1 (buf: Uint8Array, start: number, end: number, out: ProxyHeaderInfo): PpStatus {
  const limit = Math.min(end, start + PROXY_V1_MAX_BYTES)
  for (let k = start + V1_PREFIX.length; k < limit; k++) {
    if (buf[k]! !== LF) continue
    // §2.1: the line ends with CRLF; a bare LF is not a line end
    if (buf[k - 1]! !== CR) return PpStatus.Malformed
    out.version = 1
    out.headerLength = k + 1 - start
    const status = parseV1Line(buf, start, k - 1, out)
    if (status !== PpStatus.Ok) out.reset()
    return status
  }
  return end - start >= PROXY_V1_MAX_BYTES ? PpStatus.TooLong : PpStatus.NeedMore
}

// ---- version 2 ---------------------------------------------------------------------------------------------

function decodeV2 (buf: Uint8Array, start: number, end: number, maxPayload: number, out: ProxyHeaderInfo): PpStatus {
  if (end - start < PROXY_V2_HEADER_BYTES) return PpStatus.NeedMore
  const verCmd = buf[start + 12]!
  const fam = buf[start + 13]!
  const len = (buf[start + 14]! << 8) | buf[start + 15]!
  // §2.2: "Receivers must only accept this value for version [2] and silently drop it otherwise"; commands
  // other than LOCAL and PROXY "must not be emitted by senders. Receivers must drop connections presenting
  // unexpected values here."
  if ((verCmd >> 4) !== V2_VERSION) return PpStatus.Malformed
  const cmd = verCmd & 0xf
  if (cmd !== CMD_LOCAL && cmd !== CMD_PROXY) return PpStatus.Malformed
  const af = fam >> 4
  const transport = fam & 0xf
  // values beyond the spec's table are not a family at all
  if (af > AF_UNIX || transport > TRANSPORT_DGRAM) return PpStatus.Malformed
  if (len > maxPayload) return PpStatus.TooLong
  if (end - start < PROXY_V2_HEADER_BYTES + len) return PpStatus.NeedMore
  const payload = start + PROXY_V2_HEADER_BYTES
  const headerEnd = payload + len
  out.version = 2
  out.headerLength = PROXY_V2_HEADER_BYTES + len
  let addrLen = 0
  if (cmd === CMD_LOCAL) {
    // §2.2: "the receiver must accept this connection as valid and must use the real connection endpoints
    // and discard the protocol block including the family which is ignored"
    out.local = true
    out.family = 0
    return PpStatus.Ok
  }
  if (af === AF_UNIX || transport === TRANSPORT_DGRAM || (af !== AF_UNSPEC && transport === TRANSPORT_UNSPEC)) {
    out.reset()
    return PpStatus.Unsupported
  }
  if (af === AF_INET && transport === TRANSPORT_STREAM) {
    addrLen = ADDR_LEN_TCP4
    if (len < addrLen) { out.reset(); return PpStatus.Malformed }
    for (let k = 0; k < 4; k++) {
      out.srcAddr[k] = buf[payload + k]!
      out.dstAddr[k] = buf[payload + 4 + k]!
    }
    out.family = 4
    out.srcPort = (buf[payload + 8]! << 8) | buf[payload + 9]!
    out.dstPort = (buf[payload + 10]! << 8) | buf[payload + 11]!
  } else if (af === AF_INET6 && transport === TRANSPORT_STREAM) {
    addrLen = ADDR_LEN_TCP6
    if (len < addrLen) { out.reset(); return PpStatus.Malformed }
    for (let k = 0; k < 16; k++) {
      out.srcAddr[k] = buf[payload + k]!
      out.dstAddr[k] = buf[payload + 16 + k]!
    }
    out.family = 6
    out.srcPort = (buf[payload + 32]! << 8) | buf[payload + 33]!
    out.dstPort = (buf[payload + 34]! << 8) | buf[payload + 35]!
    // IPv4-mapped source and destination: the client is an IPv4 host (address.ts says why)
    if (isMapped(out.srcAddr) && isMapped(out.dstAddr)) {
      out.srcAddr.copyWithin(0, 12, 16)
      out.dstAddr.copyWithin(0, 12, 16)
      out.srcAddr.fill(0, 4)
      out.dstAddr.fill(0, 4)
      out.family = 4
    }
  } else {
    // UNSPEC (\x00): "the receiver should ignore address information", use the connection's endpoints
    out.family = 0
  }
  // §2.2: TLVs fill the rest of the payload; each must fit exactly
  const tlvStart = payload + addrLen
  let p = tlvStart
  while (p < headerEnd) {
    if (headerEnd - p < TLV_HEADER_BYTES) { out.reset(); return PpStatus.Malformed }
    const vlen = (buf[p + 1]! << 8) | buf[p + 2]!
    p += TLV_HEADER_BYTES + vlen
    if (p > headerEnd) { out.reset(); return PpStatus.Malformed }
  }
  if (headerEnd > tlvStart) {
    out.tlvStart = tlvStart
    out.tlvEnd = headerEnd
  }
  return PpStatus.Ok
}

function isMapped (a: Uint8Array): boolean {
  for (let k = 0; k < 10; k++) if (a[k]! !== 0) return false
  return a[10]! === 0xff && a[11]! === 0xff
}

// ---- entry points ------------------------------------------------------------------------------------------

/**
 * Look at buf[start, end) (what has arrived so far) for a PROXY header. `accept`: ACCEPT_V1 | ACCEPT_V2.
 * See the module contract for the statuses; `out` is reset first and filled only on Ok.
 */
export function decodeProxyHeader (buf: Uint8Array, start: number, end: number, accept: number, maxV2Payload: number, out: ProxyHeaderInfo): PpStatus {
  out.reset()
  if (!(start >= 0 && start <= end && end <= buf.length)) return PpStatus.Malformed
  const n = end - start
  if (n === 0) return PpStatus.NeedMore
  // the first bytes decide the version: every byte seen must match one of the two signatures
  if (buf[start]! === V1_PREFIX[0]) {
    for (let k = 1; k < V1_PREFIX.length && k < n; k++) if (buf[start + k]! !== V1_PREFIX[k]) return PpStatus.Malformed
    if ((accept & ACCEPT_V1) === 0) return PpStatus.Unsupported
    return n < V1_PREFIX.length ? PpStatus.NeedMore : decodeV1(buf, start, end, out)
  }
  if (buf[start]! === PROXY_V2_SIGNATURE[0]) {
    for (let k = 1; k < 12 && k < n; k++) if (buf[start + k]! !== PROXY_V2_SIGNATURE[k]) return PpStatus.Malformed
    if ((accept & ACCEPT_V2) === 0) return PpStatus.Unsupported
    const cap = maxV2Payload > PROXY_V2_MAX_PAYLOAD ? PROXY_V2_MAX_PAYLOAD : maxV2Payload
    return decodeV2(buf, start, end, cap, out)
  }
  return PpStatus.Malformed
}

/**
 * Incremental reader for one connection: push chunks until the status is not NeedMore. Takes no ownership
 * of the chunks (the bytes it needs are copied when a header spans chunks). Reusable after `reset()`.
 */
export class ProxyHeaderDecoder {
  readonly info = new ProxyHeaderInfo()
  readonly accept: number
  readonly maxV2Payload: number
  /** header bytes gathered across chunks; allocated on first use, at most 16 + maxV2Payload bytes */
  private pending: Uint8Array | null = null
  private used = 0
  private status: PpStatus = PpStatus.NeedMore

  constructor (accept: number = ACCEPT_V1 | ACCEPT_V2, maxV2Payload: number = DEFAULT_MAX_V2_PAYLOAD) {
    this.accept = accept
    this.maxV2Payload = maxV2Payload > PROXY_V2_MAX_PAYLOAD ? PROXY_V2_MAX_PAYLOAD : maxV2Payload
  }

  reset (): void {
    this.info.reset()
    this.used = 0
    this.status = PpStatus.NeedMore
  }

  /** the largest header this decoder can accept */
  maxHeaderBytes (): number {
    return Math.max(PROXY_V1_MAX_BYTES, PROXY_V2_HEADER_BYTES + this.maxV2Payload)
  }

  push (chunk: Uint8Array): PpStatus {
    if (this.status !== PpStatus.NeedMore) return this.status
    const info = this.info
    if (this.used === 0) {
      // fast path: the whole header is in this chunk (the usual case), decoded in place
      const s = decodeProxyHeader(chunk, 0, chunk.length, this.accept, this.maxV2Payload, info)
      if (s !== PpStatus.NeedMore) {
        if (s === PpStatus.Ok) { info.restOffset = info.headerLength; info.tlvBuf = info.tlvStart >= 0 ? chunk : null }
        this.status = s
        return s
      }
    }
    // slow path: gather (never more than the largest acceptable header; the rest of the chunk is not ours)
    const cap = this.maxHeaderBytes()
    if (this.pending === null) this.pending = new Uint8Array(cap)
    const before = this.used
    const take = Math.min(chunk.length, cap - before)
    for (let k = 0; k < take; k++) this.pending[before + k] = chunk[k]!
    this.used = before + take
    const s = decodeProxyHeader(this.pending, 0, this.used, this.accept, this.maxV2Payload, info)
    if (s === PpStatus.Ok) {
      info.restOffset = info.headerLength - before
      info.tlvBuf = info.tlvStart >= 0 ? this.pending : null
    }
    this.status = s
    return s
  }
}

/** Slow path (allocates): the carried source or destination address as text, or '' when there is none. */
export function proxyAddressText (info: ProxyHeaderInfo, which: 'src' | 'dst'): string {
  if (info.family !== 4 && info.family !== 6) return ''
  const out = new Uint8Array(39)
  const n = writeIpText(out, 0, which === 'src' ? info.srcAddr : info.dstAddr, 0, info.family)
  let s = ''
  for (let k = 0; k < n; k++) s += String.fromCharCode(out[k]!)
  return s
}
