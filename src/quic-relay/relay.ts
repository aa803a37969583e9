/**
 * QUIC passthrough in a worker: UDP listeners, the flow table, routing by the SNI of the client's
 * Initials, and the datagram relay through one connected UDP socket per flow.
 *
 * Packet walk (README "QUIC passthrough"):
 *  1. A datagram from a client address:port with no flow: admission (draining, maxFlows,
 *     maxPendingFlows), then quic/'s decoder. A datagram it drops (under 1200 bytes, oversized, not an
 *     Initial, a header or AEAD tag that does not verify, a version it cannot read) creates no flow and
 *     is counted by reason; the decoder, untouched by a drop, is kept for the next new flow.
 *  2. Pending: every datagram of the flow is pushed to its decoder and held (Initials, and 0-RTT or
 *     Handshake packets of its version, in arrival order, as received), up to maxPendingBytes; the rest
 *     are dropped. The hello deadline (timeouts.hello) refuses a flow that never completes its hello.
 *  3. Hello complete: the same route table as TCP (routes, alpn entries, default); a server of the pool
 *     is picked (upstreams/ pickServer: health, balance), and a UDP socket connected to its host and
 *     port. A flow refused (no route, malformed hello, ...) stays in the table as Refused until its hello
 *     deadline so that the client's retransmits are dropped without new work, then it is logged.
 *  4. Connected: the held datagrams are sent in arrival order, byte for byte; from then on every
 *     datagram is relayed unchanged both ways (client → its origin socket, origin socket → the listener
 *     the client wrote to, addressed to the client), and each one refreshes the idle timer.
 *  5. Idle for quic.idleTimeout: the flow is forgotten and its origin socket closed; what the origin
 *     sends later never reaches us (the kernel drops it), and what reaches us in between is counted.
 *
 * Hot path: module-level named handlers (`this[kListener]`, `this[kFlow]`), no closure per flow or per
 * datagram; a relayed datagram costs a Map lookup by "address port", one send and a timer refresh.
 * Counters go to the worker's shared Float64Array (metrics/counters.ts Quic*); outcomes are relay/'s.
 *
 * Limits (config `quic`, per worker): maxFlows, maxPendingFlows, maxPendingBytes per flow (so at most
 * maxPendingFlows × maxPendingBytes held), idleTimeout; quic/'s per-flow caps (maxHelloBytes,
 * MAX_INITIAL_DATAGRAMS). The reuseport socket group keeps a client's 4-tuple on one worker while the
 * group is unchanged; a worker that respawns reshuffles the hash (flows restart on another worker).
 */
import dgram from 'node:dgram'
import { isIPv6 } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { HostPort, QuicConfig } from '../config/types.ts'
import { alpnToStrings, sniToString } from '../hello/index.ts'
import { QuicInitialDecoder, QuicStatus } from '../quic/index.ts'
import { MIN_INITIAL_DATAGRAM_BYTES } from '../quic/constants.ts'
import { matchServerName, routePool } from '../routes/index.ts'
import { Counter, outcomeSlot } from '../metrics/counters.ts'
import { Outcome } from '../metrics/outcomes.ts'
import { LogEvent } from '../log/events.ts'
import { formatHostPort } from '../config/index.ts'
import { ErrorCode, ErrorSource, ProxyError } from '../errors.ts'
import { acquireServer, BalanceCode, releaseServer } from '../upstreams/state.ts'
import { pickServer } from '../upstreams/balance.ts'
import { hashClientAddress } from '../upstreams/hash.ts'
import type { RelayContext } from '../relay/context.ts'
import { recordRoute } from '../relay/accept.ts'
import { admit, helloJa4 } from '../relay/policy.ts'
import { parseIp } from '../proxyproto/index.ts'
import { Flow, FlowState, kFlow, kListener, type FlowSocket, type ListenerSocket } from './flow.ts'

/**
 * Receive buffer per listening socket, bytes. Datagrams that arrive while the event loop is busy wait
 * here; the kernel default (~200 KiB, ~150 full-size datagrams) overflows on a burst of new flows
 * (Linux caps the request at net.core.rmem_max and Node reports no error when it does).
 */
export const QUIC_RECV_BUFFER_BYTES = 4 * 1024 * 1024

/** One listening UDP socket of this worker and its flows, keyed by the client's address and port. */
export class QuicListener {
  readonly relay: QuicRelay
  readonly socket: ListenerSocket
  readonly flows = new Map<string, Flow>()

  constructor (relay: QuicRelay, socket: ListenerSocket) {
    this.relay = relay
    this.socket = socket
  }
}

/** The QUIC side of a worker: its listeners and flows. The route table, counters and log are the RelayContext's. */
export class QuicRelay {
  readonly ctx: RelayContext
  readonly config: QuicConfig
  readonly listeners: QuicListener[] = []
  /** flows in the tables of all listeners (capped by maxFlows) */
  flows = 0
  /** flows still Pending (capped by maxPendingFlows) */
  pendingFlows = 0
  /** a decoder a dropped first datagram left untouched: the next new flow takes it */
  spare: QuicInitialDecoder | null = null
  draining = false
  nextId = 0

  constructor (ctx: RelayContext, config: QuicConfig) {
    this.ctx = ctx
    this.config = config
  }

  /** Bind one UDP socket per address with reusePort (every worker binds the same ports). */
  async listen (addresses: readonly HostPort[]): Promise<HostPort[]> {
    const bound: HostPort[] = []
    for (const addr of addresses) {
      const socket = dgram.createSocket({ type: isIPv6(addr.host) ? 'udp6' : 'udp4', reusePort: true }) as ListenerSocket
      await bindUdp(socket, addr)
      socket.setRecvBufferSize(QUIC_RECV_BUFFER_BYTES)
      const l = new QuicListener(this, socket)
      socket[kListener] = l
      socket.on('message', onClientMessage)
      socket.on('error', onListenerError)
      this.listeners.push(l)
      bound.push({ host: addr.host, port: socket.address().port })
    }
    return bound
  }

  /** Shutdown: stop receiving and end every flow (UDP has nothing to drain: the client's stack retries elsewhere). */
  close (): void {
    this.draining = true
    for (const l of this.listeners) {
      for (const flow of l.flows.values()) {
        if (flow.outcome === null) flow.outcome = Outcome.Shutdown
        closeFlow(flow)
      }
      l.socket.close()
    }
  }
}

function bindUdp (socket: dgram.Socket, addr: HostPort): Promise<void> {
  return new Promise((resolve, reject) => {
    function onError (err: NodeJS.ErrnoException): void {
      reject(new ProxyError(ErrorCode.LISTEN, 'cannot listen on udp ' + formatHostPort(addr) + ': ' + (err.code ?? err.message), { cause: err, source: ErrorSource.Internal }))
    }
    socket.once('error', onError)
    socket.bind({ address: addr.host === '' ? undefined : addr.host, port: addr.port }, () => {
      socket.removeListener('error', onError)
      resolve()
    })
  })
}

/** a receive error after binding (e.g. ENOBUFS): the socket stays, we report it */
function onListenerError (this: ListenerSocket, err: NodeJS.ErrnoException): void {
  this[kListener].relay.ctx.logger.warn({ evt: LogEvent.AcceptError, proto: 'quic', code: err.code, message: err.message }, LogEvent.AcceptError)
}

function onClientMessage (this: ListenerSocket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
  const l = this[kListener]
  const key = rinfo.address + ' ' + String(rinfo.port)
  const flow = l.flows.get(key)
  if (flow === undefined) {
    newFlow(l, msg, rinfo, key)
    return
  }
  const counters = l.relay.ctx.counters
  switch (flow.state) {
    case FlowState.Relaying:
      flow.datagramsUp++
      flow.bytesUp += msg.length
      counters[Counter.QuicDatagramsUp]!++
      counters[Counter.QuicBytesUp]! += msg.length
      flow.origin!.send(msg)
      flow.timer!.refresh()
      return
    case FlowState.Pending:
      decodeDatagram(flow, msg)
      return
    case FlowState.Connecting:
      hold(flow, msg)
      return
    default:
      // Refused: the client retransmits what we will never route
      flow.dropped++
      counters[Counter.QuicDropRefused]!++
  }
}

/** A datagram from an address:port without a flow: admission, then its first decode (module header, 1). */
function newFlow (l: QuicListener, msg: Buffer, rinfo: dgram.RemoteInfo, key: string): void {
  const relay = l.relay
  const ctx = relay.ctx
  const counters = ctx.counters
  const cfg = relay.config
  if (relay.draining) return
  if (relay.flows >= cfg.maxFlows) {
    counters[Counter.QuicDropFlowLimit]!++
    return
  }
  if (relay.pendingFlows >= cfg.maxPendingFlows) {
    counters[Counter.QuicDropPendingLimit]!++
    return
  }
  let decoder = relay.spare
  relay.spare = null
  if (decoder === null || decoder.crypto.maxBytes !== ctx.options.maxHelloBytes) decoder = new QuicInitialDecoder(ctx.options.maxHelloBytes)
  const st = decoder.push(msg, 0, msg.length)
  switch (st) {
    case QuicStatus.NeedMore:
    case QuicStatus.Ok:
    case QuicStatus.NoSni:
    case QuicStatus.HelloMalformed:
    case QuicStatus.TooLarge:
    case QuicStatus.ProtocolError:
    case QuicStatus.CryptoConflict:
    case QuicStatus.ClientClosed:
      break
    case QuicStatus.UnknownVersion:
    case QuicStatus.VersionNegotiation:
      relay.spare = decoder
      // RFC 9000 §14.1 holds for any datagram that starts a connection, whatever its version
      if (cfg.unknownVersion === 'default' && msg.length >= MIN_INITIAL_DATAGRAM_BYTES && ctx.state.defaultUpstream >= 0) {
        const flow = openFlow(l, rinfo, key, null)
        flow.version = msg.readUInt32BE(1)
        hold(flow, msg)
        routeFlow(flow, null)
        return
      }
      counters[Counter.QuicDropVersion]!++
      return
    default:
      relay.spare = decoder
      countDrop(counters, st)
      return
  }
  const flow = openFlow(l, rinfo, key, decoder)
  afterDecode(flow, msg, st)
}

function openFlow (l: QuicListener, rinfo: dgram.RemoteInfo, key: string, decoder: QuicInitialDecoder | null): Flow {
  const relay = l.relay
  const ctx = relay.ctx
  const flow = new Flow(l, key, rinfo.address, rinfo.port, decoder, performance.now(), relay.nextId++)
  l.flows.set(key, flow)
  relay.flows++
  relay.pendingFlows++
  ctx.counters[Counter.QuicFlowsOpened]!++
  ctx.counters[Counter.QuicFlowsActive]!++
  flow.timer = setTimeout(onFlowTimer, ctx.options.helloMs, flow)
  return flow
}

/** A datagram of a Pending flow: feed the decoder, hold what belongs to the flow, drop the rest. */
function decodeDatagram (flow: Flow, msg: Buffer): void {
  afterDecode(flow, msg, flow.decoder!.push(msg, 0, msg.length))
}

function afterDecode (flow: Flow, msg: Buffer, st: QuicStatus): void {
  switch (st) {
    case QuicStatus.NeedMore:
      hold(flow, msg)
      return
    case QuicStatus.Ok:
    case QuicStatus.NoSni:
      hold(flow, msg)
      routeFlow(flow, st)
      return
    case QuicStatus.NotInitial:
      // 0-RTT (or Handshake) packets of the flow's version sent before its hello is complete: they go
      // to the origin after the Initials, in arrival order
      hold(flow, msg)
      return
    case QuicStatus.HelloMalformed:
    case QuicStatus.ProtocolError:
    case QuicStatus.CryptoConflict:
      refuseFlow(flow, Outcome.Malformed, st)
      return
    case QuicStatus.TooLarge:
      refuseFlow(flow, Outcome.TooLarge, st)
      return
    case QuicStatus.ClientClosed:
      refuseFlow(flow, Outcome.ClientAbort, st)
      return
    default:
      flow.dropped++
      countDrop(flow.listener.relay.ctx.counters, st)
  }
}

/** Count a datagram the decoder dropped, by reason. */
function countDrop (counters: Float64Array, st: QuicStatus): void {
  switch (st) {
    case QuicStatus.TooSmall:
      counters[Counter.QuicDropSmall]!++
      return
    case QuicStatus.Oversized:
      counters[Counter.QuicDropOversized]!++
      return
    case QuicStatus.DecryptFailed:
      counters[Counter.QuicDropDecrypt]!++
      return
    case QuicStatus.UnknownVersion:
    case QuicStatus.VersionNegotiation:
      counters[Counter.QuicDropVersion]!++
      return
    default:
      // NotLongHeader, HeaderMalformed, NotInitial: not the start of a QUIC connection we can read
      counters[Counter.QuicDropUnreadable]!++
  }
}

/** Hold a datagram until the origin socket is connected, under maxPendingBytes. */
function hold (flow: Flow, msg: Buffer): void {
  const relay = flow.listener.relay
  if (flow.pendingBytes + msg.length > relay.config.maxPendingBytes) {
    flow.dropped++
    relay.ctx.counters[Counter.QuicDropPendingBytes]!++
    return
  }
  flow.pending!.push(msg)
  flow.pendingBytes += msg.length
}

/**
 * The hello is complete (`st` Ok or NoSni; null: a version we cannot read, sent to the default pool):
 * the same route choice as TCP (relay/accept.ts recordRoute), then the origin socket.
 */
function routeFlow (flow: Flow, st: QuicStatus | null): void {
  const relay = flow.listener.relay
  const ctx = relay.ctx
  const counters = ctx.counters
  const state = ctx.state
  const dec = flow.decoder
  flow.tHello = performance.now()
  let target = -1
  let pool = -1
  if (dec !== null) {
    const info = dec.info
    flow.version = dec.version
    flow.helloDatagrams = dec.datagrams
    counters[Counter.QuicHelloOk]!++
    if (dec.datagrams > 1) counters[Counter.QuicHelloMultiDatagram]!++
    if (ctx.options.accessLog) {
      if (info.sniStart >= 0) flow.sni = sniToString(dec.hello, info)
      if (info.alpnStart >= 0) flow.alpn = alpnToStrings(dec.hello, info).join(',')
    }
    if (st === QuicStatus.Ok) target = matchServerName(state.routes, dec.hello, info.sniStart, info.sniEnd)
    if (target >= 0) pool = routePool(state, target, dec.hello, info.alpnStart, info.alpnEnd)
  }
  if (!recordRoute(ctx, flow, target, pool)) {
    refuseFlow(flow, st === QuicStatus.Ok ? Outcome.NoRoute : Outcome.NoSni, null)
    return
  }
  // the access lists, as for TCP (relay/policy.ts), before any datagram reaches the origin
  if (!admit(flow, state.access, flowAddressBytes, flowJa4)) {
    refuseFlow(flow, Outcome.Denied, null)
    return
  }
  flow.decoder = null
  relay.pendingFlows--
  const t = state.servers
  const hash = t.poolBalance[flow.pool] === BalanceCode.Hash ? hashClientAddress(flow.clientAddress) : 0
  const server = pickServer(t, flow.pool, hash, 0)
  if (server < 0) {
    flow.state = FlowState.Refused
    flow.outcome = Outcome.NoHealthyOrigin
    flow.pending = null
    return
  }
  flow.server = server
  flow.originHost = t.serverHosts[server]!
  flow.originPort = t.serverPort[server]!
  acquireServer(t, server)
  flow.acquired = true
  // the hello deadline is over: from here the flow lives as long as datagrams flow
  clearTimeout(flow.timer!)
  flow.timer = setTimeout(onFlowTimer, relay.config.idleMs, flow)
  flow.state = FlowState.Connecting
  const origin = dgram.createSocket(isIPv6(flow.originHost) ? 'udp6' : 'udp4') as FlowSocket
  origin[kFlow] = flow
  flow.origin = origin
  origin.once('connect', onOriginConnect)
  origin.on('message', onOriginMessage)
  origin.on('error', onOriginError)
  // connect errors (a name that does not resolve) arrive as 'error'
  origin.connect(flow.originPort, flow.originHost)
}

/** Refuse a Pending flow: nothing was or will be sent for it; it lingers until its hello deadline. */
/** The flow's client address into `out` (access lists); its family. */
function flowAddressBytes (flow: Flow, out: Uint8Array): number {
  return parseIp(flow.clientAddress, out, 0)
}

/** The flow's JA4 (`q…`: QUIC) from its reassembled hello, or null (a version we cannot read). */
function flowJa4 (flow: Flow): string | null {
  return flow.decoder === null ? null : helloJa4(flow.decoder.hello, 'q')
}

function refuseFlow (flow: Flow, outcome: Outcome, st: QuicStatus | null): void {
  if (flow.state === FlowState.Pending) flow.listener.relay.pendingFlows--
  flow.state = FlowState.Refused
  if (flow.outcome === null) flow.outcome = outcome
  if (st !== null && flow.detail === null) flow.detail = statusName(st)
  flow.decoder = null
  flow.pending = null
  flow.pendingBytes = 0
}

function onOriginConnect (this: FlowSocket): void {
  const flow = this[kFlow]
  if (flow.state !== FlowState.Connecting) return
  flow.state = FlowState.Relaying
  const counters = flow.listener.relay.ctx.counters
  const pending = flow.pending!
  flow.pending = null
  flow.pendingBytes = 0
  // in arrival order, byte for byte: libuv sends a socket's datagrams in the order they were queued
  for (let i = 0; i < pending.length; i++) {
    const msg = pending[i]!
    flow.datagramsUp++
    flow.bytesUp += msg.length
    counters[Counter.QuicDatagramsUp]!++
    counters[Counter.QuicBytesUp]! += msg.length
    this.send(msg)
  }
}

function onOriginMessage (this: FlowSocket, msg: Buffer): void {
  const flow = this[kFlow]
  const counters = flow.listener.relay.ctx.counters
  if (flow.state !== FlowState.Relaying) {
    // the flow ended while this datagram was on its way up to us
    counters[Counter.QuicDropOrphan]!++
    return
  }
  flow.datagramsDown++
  flow.bytesDown += msg.length
  counters[Counter.QuicDatagramsDown]!++
  counters[Counter.QuicBytesDown]! += msg.length
  flow.listener.socket.send(msg, flow.clientPort, flow.clientAddress)
  flow.timer!.refresh()
}

/**
 * The origin socket failed: the name did not resolve, or an ICMP error came back (port unreachable
 * arrives as ECONNREFUSED on a connected UDP socket). Nothing the origin sent means it never answered.
 */
function onOriginError (this: FlowSocket, err: NodeJS.ErrnoException): void {
  const flow = this[kFlow]
  if (flow.state === FlowState.Closed) return
  if (flow.outcome === null) flow.outcome = flow.datagramsDown === 0 ? Outcome.OriginConnectFailed : Outcome.RelayError
  if (flow.detail === null) flow.detail = err.code ?? 'origin_error'
  closeFlow(flow)
}

/** Hello deadline (Pending: hello_timeout; Refused: its linger is over) or idle timeout (relayed). */
function onFlowTimer (flow: Flow): void {
  flow.timer = null
  if (flow.outcome === null) {
    if (flow.state === FlowState.Pending) flow.outcome = Outcome.HelloTimeout
    // relayed, then idle: how every QUIC flow ends as far as a passthrough can see (CONNECTION_CLOSE is
    // encrypted), unless the origin never answered at all
    else if (flow.datagramsDown === 0) flow.outcome = Outcome.OriginConnectTimeout
  }
  closeFlow(flow)
}

/** Forget a flow: out of the table, origin socket closed, server released, counted and logged once. */
export function closeFlow (flow: Flow): void {
  if (flow.state === FlowState.Closed) return
  const l = flow.listener
  const relay = l.relay
  const ctx = relay.ctx
  if (flow.state === FlowState.Pending) relay.pendingFlows--
  flow.state = FlowState.Closed
  if (flow.timer !== null) { clearTimeout(flow.timer); flow.timer = null }
  const origin = flow.origin
  if (origin !== null) {
    flow.origin = null
    origin.close()
  }
  if (flow.acquired) {
    flow.acquired = false
    releaseServer(flow.table!, flow.server)
  }
  flow.pending = null
  flow.decoder = null
  l.flows.delete(flow.key)
  relay.flows--
  const outcome = flow.outcome ?? Outcome.Ok
  ctx.counters[outcomeSlot(outcome)]!++
  ctx.counters[Counter.QuicFlowsActive]!--
  if (ctx.options.accessLog) logFlow(flow, outcome)
}

function logFlow (flow: Flow, outcome: Outcome): void {
  const ctx = flow.listener.relay.ctx
  const end = performance.now()
  ctx.logger.info({
    evt: LogEvent.QuicClose,
    client: (flow.clientAddress.includes(':') ? '[' + flow.clientAddress + ']' : flow.clientAddress) + ':' + String(flow.clientPort),
    sni: flow.sni,
    alpn: flow.alpn,
    version: flow.version === 0 ? null : '0x' + flow.version.toString(16).padStart(8, '0'),
    id: String(ctx.options.row) + '-q' + String(flow.id),
    route: flow.route,
    origin: flow.originPort === 0 ? null : flow.originHost + ':' + String(flow.originPort),
    upstream: flow.pool < 0 || flow.table === null ? null : flow.table.poolNames[flow.pool],
    helloDatagrams: flow.helloDatagrams,
    datagramsUp: flow.datagramsUp,
    bytesUp: flow.bytesUp,
    datagramsDown: flow.datagramsDown,
    bytesDown: flow.bytesDown,
    dropped: flow.dropped,
    helloMs: flow.tHello === 0 ? null : round(flow.tHello - flow.tStart),
    totalMs: round(end - flow.tStart),
    outcome,
    reason: flow.detail,
  }, LogEvent.QuicClose)
}

function round (ms: number): number {
  return Math.round(ms * 1000) / 1000
}

const STATUS_NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(QuicStatus).map(([k, v]) => [v, k]))

function statusName (st: QuicStatus): string {
  return STATUS_NAMES[st] ?? String(st)
}
