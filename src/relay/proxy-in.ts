/**
 * relay/proxy-in — PROXY protocol from a load balancer in front (HAProxy doc/proxy-protocol.txt), for listen
 * addresses with `proxyProtocol: { accept, from }`: the header is read before the ClientHello, and the client
 * address it carries stands for the socket's from then on.
 *
 * Contract:
 *  - `buildProxyInPolicies(config)` → per listen address a `ProxyInPolicy` (versions accepted, trusted
 *    sources compiled once) or null. Listen addresses cannot change on reload, so these live as long as the
 *    worker.
 *  - accept.ts calls `trustedPeer` once at accept: a peer outside `from` is refused before a byte is read.
 *    Then every chunk goes to `pushProxyHeader` until it answers something other than NeedMore. Ok: the
 *    session's `proxyIn` holds the carried source (bytes, text, port) and destination, and the client's own
 *    bytes start at `restOffset` in the last chunk (accept.ts feeds them to the hello reader). Anything
 *    else: refused, outcome `proxy_header_invalid`, `reasonOf(status)` in the log, nothing forwarded.
 *  - LOCAL (v2), UNKNOWN (v1) and UNSPEC (v2) carry no client address: §2.1/§2.2 say the receiver then uses
 *    the connection's own endpoints, and so do we (family 0). v2 UNIX and UDP, and a v2 header that names a
 *    family or transport the specification does not define, are refused.
 *  - The carried address is what the log (`client`), limits.perClient, the access lists, `balance: hash`
 *    and the PROXY header to the origin see (`clientAddressText`, `fillEndpoints`). v2 TLVs that came in
 *    are passed on when the origin gets v2 (`appendPassedTlvs`), except the ones hellogate writes itself
 *    (AUTHORITY, UNIQUE_ID, its JA4 TLV) and CRC32C, which would not match the rewritten header.
 *
 * Limits: a v1 line is at most 107 bytes (§2.1); a v2 payload at most PROXY_IN_MAX_V2_PAYLOAD bytes; the
 * whole header must arrive within timeouts.hello (the hello deadline runs from accept). Per connection on such
 * a listener: one ProxyInState (a decoder with two 16-byte address arrays), one address string, and a copy of
 * the incoming TLVs when there are any.
 */
import type { Socket } from 'node:net'
import type { AccessList } from '../access/index.ts'
import { AccessVerdict, checkAccess } from '../access/index.ts'
import { compileTrusted } from '../config/access.ts'
import { failIn } from '../config/fault.ts'
import type { ProxyConfig } from '../config/types.ts'
import {
  ACCEPT_V1, ACCEPT_V2, appendTlv, DEFAULT_MAX_V2_PAYLOAD, parseIp, Pp2Type, PpStatus, ProxyHeaderDecoder,
  proxyAddressText, type ProxyHeaderFields,
} from '../proxyproto/index.ts'
import { PP2_TYPE_HELLOGATE_JA4 } from './policy.ts'
import type { Session } from './session.ts'
import { handleLocal, handlePeer, socketAddress } from './splice.ts'

/**
 * Cap on an incoming v2 payload (addresses + TLVs), in bytes. proxyproto/ DEFAULT_MAX_V2_PAYLOAD says why
 * 2 KiB: several times the TLVs real balancers add (AWS NLB's VPC endpoint id, HAProxy's SSL block), and
 * small next to limits.maxHelloBytes for what a peer can make a connection hold before its hello.
 */
export const PROXY_IN_MAX_V2_PAYLOAD = DEFAULT_MAX_V2_PAYLOAD

/** §2.2.7 PP2_TYPE_CRC32C: a checksum of the whole header, wrong once the header is rewritten */
const PP2_TYPE_CRC32C = 0x03

/** One listen address's PROXY policy. */
export class ProxyInPolicy {
  /** ACCEPT_V1 | ACCEPT_V2 */
  readonly accept: number
  /** `from`, as an allow list */
  readonly trusted: AccessList

  constructor (accept: number, trusted: AccessList) {
    this.accept = accept
    this.trusted = trusted
  }
}

/** Per listen address (config order): its policy, or null when it takes clients directly. */
export function buildProxyInPolicies (config: ProxyConfig): Array<ProxyInPolicy | null> {
  const fail = failIn(config.file, undefined)
  return config.listen.map((l, i) => {
    const pp = l.proxyProtocol
    if (pp === undefined) return null
    const accept = (pp.accept.includes('v1') ? ACCEPT_V1 : 0) | (pp.accept.includes('v2') ? ACCEPT_V2 : 0)
    return new ProxyInPolicy(accept, compileTrusted(fail, ['listen', i, 'proxyProtocol'], pp.from))
  })
}

/** What a PROXY header told us about one connection (Session.proxyIn). */
export class ProxyInState {
  readonly decoder: ProxyHeaderDecoder
  /** the header is in and accepted */
  done = false
  /** 4 | 6: the carried source below stands for the socket's; 0: the socket's endpoints stand (LOCAL, UNKNOWN) */
  family = 0
  /** carried source, network order (the decoder's own array) */
  readonly srcAddr: Uint8Array
  srcPort = 0
  /** carried source and destination as text ('' when family is 0) */
  srcText = ''
  dstText = ''
  dstPort = 0
  /** incoming v2 TLVs (copied), passed on to v2 origins; null when none */
  tlvs: Uint8Array | null = null

  constructor (policy: ProxyInPolicy) {
    this.decoder = new ProxyHeaderDecoder(policy.accept, PROXY_IN_MAX_V2_PAYLOAD)
    this.srcAddr = this.decoder.info.srcAddr
  }
}

const PEER = new Uint8Array(16)

/** Is the socket's peer one of the policy's trusted sources (`from`)? */
export function trustedPeer (policy: ProxyInPolicy, socket: Socket): boolean {
  const family = parseIp(socket.remoteAddress, PEER, 0)
  return checkAccess(policy.trusted, PEER, 0, family) === AccessVerdict.Allow
}

/**
 * Feed one chunk to the session's PROXY header reader. On Ok the carried endpoints are recorded (and the
 * log's `client` replaced when the access log is on); `proxyIn.decoder.info.restOffset` is where the client's
 * own bytes start in `chunk`.
 */
export function pushProxyHeader (s: Session, chunk: Buffer): PpStatus {
  const st = s.proxyIn!
  const status = st.decoder.push(chunk)
  if (status !== PpStatus.Ok) return status
  const info = st.decoder.info
  st.done = true
  st.family = info.family
  if (info.family !== 0) {
    st.srcPort = info.srcPort
    st.dstPort = info.dstPort
    st.srcText = proxyAddressText(info, 'src')
    st.dstText = proxyAddressText(info, 'dst')
    if (s.ctx.options.accessLog) s.clientAddr = (info.family === 6 ? '[' + st.srcText + ']' : st.srcText) + ':' + String(st.srcPort)
  }
  if (info.tlvStart >= 0 && info.tlvBuf !== null) st.tlvs = info.tlvBuf.slice(info.tlvStart, info.tlvEnd)
  return status
}

/** Why a header was refused, for the log's `reason`. */
export function reasonOf (status: PpStatus): string {
  switch (status) {
    case PpStatus.TooLong: return 'proxy_header_too_long'
    case PpStatus.Unsupported: return 'proxy_header_unsupported'
    default: return 'proxy_header_malformed'
  }
}

/** The client's address as text: the carried one when a PROXY header gave one, else the socket's. */
export function clientAddressText (s: Session): string | undefined {
  const st = s.proxyIn
  return st !== null && st.family !== 0 ? st.srcText : socketAddress(s)
}

/** Source and destination of the PROXY header to the origin: the carried ones, else the sockets'. */
export function fillEndpoints (s: Session, f: ProxyHeaderFields): void {
  const st = s.proxyIn
  if (st !== null && st.family !== 0) {
    f.srcAddress = st.srcText
    f.srcPort = st.srcPort
    f.dstAddress = st.dstText
    f.dstPort = st.dstPort
    return
  }
  const h = s.clientHandle
  if (h !== null) {
    const peer = handlePeer(h)
    f.srcAddress = peer.address
    f.srcPort = peer.port ?? 0
    const local = handleLocal(h)
    f.dstAddress = local.address
    f.dstPort = local.port ?? 0
    return
  }
  const client = s.client
  f.srcAddress = client.remoteAddress
  f.srcPort = client.remotePort ?? 0
  f.dstAddress = client.localAddress
  f.dstPort = client.localPort ?? 0
}

/**
 * Append the incoming TLVs to the v2 header at buf[0, len) (module header: all but the types hellogate
 * writes and CRC32C). Returns the new length, or a negative PpError (the header is then as it was before
 * the TLV that did not fit).
 */
export function appendPassedTlvs (s: Session, buf: Uint8Array, len: number): number {
  const tlvs = s.proxyIn?.tlvs ?? null
  if (tlvs === null) return len
  let p = 0
  // structure checked by the decoder: each TLV fits exactly
  while (p + 3 <= tlvs.length) {
    const type = tlvs[p]!
    const vlen = (tlvs[p + 1]! << 8) | tlvs[p + 2]!
    const start = p + 3
    p = start + vlen
    if (type === Pp2Type.Authority || type === Pp2Type.UniqueId || type === PP2_TYPE_CRC32C || type === PP2_TYPE_HELLOGATE_JA4) continue
    const n = appendTlv(buf, 0, type, tlvs, start, p)
    if (n < 0) return n
    len = n
  }
  return len
}
