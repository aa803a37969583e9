/**
 * Origin connection through one connector (undici lib/core/connect.js `buildConnector`): the per-worker
 * policy is validated once by `buildConnector`, which returns a plain `connect(session)`; every origin
 * socket hellogate opens is opened by it, with the same options and a deadline.
 *
 * Contract, and the seam upstream pools, PROXY protocol headers and retries build on:
 *  - The route is decided before (accept.ts: `routeIndex`, `route`); the server of each attempt is chosen
 *    here by `chooseTarget` and recorded in the session (`originHost`, `originPort`), apart from the route.
 *  - Every failed attempt — refused, reset, unreachable, or past the deadline — ends in its socket's
 *    'close', and goes to `attemptFailed` with a ProxyError (HG_ERR_ORIGIN_CONNECT with the socket error
 *    as `.cause`, or HG_ERR_ORIGIN_CONNECT_TIMEOUT). That is the one place that decides: another attempt
 *    on another server, or fail the session (its outcome `origin_connect_failed` / `_timeout`). Nothing
 *    has reached the client and the hello is still held by the assembler, so a retry replays it unchanged.
 *  - Once connected, `s.originPrefix` (when set) is written before the hello (pipe.ts `startRelay`).
 *
 * Hot path: the listeners are module-level named functions (state via `this[kSession]`), three per
 * origin socket ('connect' once, 'error', 'close'); the relay-phase listeners are added by pipe.ts.
 */
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import { Counter } from '../metrics/counters.ts'
import { HistogramId, observe } from '../metrics/histograms.ts'
import { Outcome } from '../metrics/outcomes.ts'
import { ErrorCode, ErrorSource, ProxyError } from '../errors.ts'
import { acquireServer, BalanceCode, reportConnectFailure, reportConnectOk, serverBit } from '../upstreams/state.ts'
import { pickServer } from '../upstreams/balance.ts'
import { hashClientAddress } from '../upstreams/hash.ts'
import { LogEvent } from '../log/events.ts'
import { encodeProxyHeader, PROXY_HEADER_MAX_BYTES, ProxyHeaderFields } from '../proxyproto/index.ts'
import { clearConnectTimer, clientGone, connectionId, kSession, releaseSessionServer, SessionState, setOutcome, socketClosed, type Session, type SessionSocket } from './session.ts'
import { originClosed, originErrored, startNativeRelay, startRelay } from './pipe.ts'
import { destroyClient, dialOrigin, errnoName, holdClient, stopSplice } from './splice.ts'
import { ja4Bytes, PP2_TYPE_HELLOGATE_JA4 } from './policy.ts'
import { appendPassedTlvs, clientAddressText, fillEndpoints, PROXY_IN_MAX_V2_PAYLOAD } from './proxy-in.ts'
import { JA4_LENGTH } from '../fingerprint/index.ts'

/** Opens one connect attempt to the session's chosen target (`originHost`, `originPort`). */
export type Connect = (s: Session) => void

export interface ConnectorOptions {
  /** ms an attempt may take to connect (timeouts.connect) */
  readonly timeoutMs: number
}

/** Validate the connection policy once and return the `connect` every origin socket is opened with. */
export function buildConnector (opts: ConnectorOptions): Connect {
  const timeoutMs = opts.timeoutMs
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
    throw new ProxyError(ErrorCode.CONFIG_INVALID, 'connect timeout must be a positive whole number of ms, got ' + String(timeoutMs), { source: ErrorSource.Config, key: 'timeouts.connect' })
  }
  return function connect (s: Session): void {
    s.attempts++
    s.openSockets++
    s.connectError = null
    // the pool's connect timeout (its `connect.timeout`, default timeouts.connect)
    const ms = s.table?.poolConnectMs[s.pool] || timeoutMs
    // an IP target where the addon runs: the origin leg below JavaScript (splice.ts dialOrigin)
    if (dialOrigin(s)) {
      s.connectTimer = setTimeout(onConnectTimeout, ms, s)
      return
    }
    const origin = net.connect({
      host: s.originHost,
      port: s.originPort,
      allowHalfOpen: true,
      noDelay: true,
      // no SO_KEEPALIVE: two setsockopt calls per connection, and dead peers are already found by the
      // idle timeout; HAProxy (`option srvtcpka` off) and nginx (`proxy_socket_keepalive off`) default
      // the same way
      keepAlive: false,
    }) as SessionSocket
    origin[kSession] = s
    s.origin = origin
    origin.once('connect', onOriginConnect)
    origin.on('error', onOriginError)
    origin.on('close', onOriginClose)
    s.connectTimer = setTimeout(onConnectTimeout, ms, s)
  }
}

/** Connect a session whose hello is complete and whose route and pool are recorded: first attempt. */
export function connectOrigin (s: Session): void {
  const t = s.table!
  // hash pools key on the client address; the others do not read it (a getter and a string hash saved)
  if (t.poolBalance[s.pool] === BalanceCode.Hash) s.clientHash = hashClientAddress(clientAddressText(s))
  if (!chooseTarget(s)) {
    setOutcome(s, Outcome.NoHealthyOrigin)
    destroyClient(s)
    return
  }
  const pp = t.poolProxyProtocol[s.pool]!
  if (pp !== 0 && !buildProxyPrefix(s, pp === 1 ? 1 : 2)) {
    releaseSessionServer(s)
    setOutcome(s, Outcome.OriginConnectFailed)
    s.detail = 'proxy_header'
    destroyClient(s)
    return
  }
  s.ctx.connect(s)
}

/**
 * The server for the session's next attempt, from the pool of its route in the server table it was
 * routed with (upstreams/ pickServer: the pool's balance, primaries before backups, healthy and not
 * ejected, never one already tried), recorded in `server`, `originHost` and `originPort` and counted in
 * its gauge; false when none is left or the pool's retries are spent.
 */
function chooseTarget (s: Session): boolean {
  const t = s.table!
  // a forward session (forward/) has no pool: its one address was chosen by the fence
  if (s.pool < 0 || s.attempts > t.poolRetries[s.pool]!) return false
  const server = pickServer(t, s.pool, s.clientHash, s.tried)
  if (server < 0) return false
  s.server = server
  s.tried |= serverBit(t, server)
  s.originHost = t.serverHosts[server]!
  s.originPort = s.portOverride !== 0 ? s.portOverride : t.serverPort[server]!
  acquireServer(t, server)
  s.acquired = true
  return true
}

/**
 * One scratch buffer and field set per worker: a header is encoded here, then copied out (module header).
 * Room for hellogate's own header plus the TLVs a balancer's header may pass on (proxy-in.ts).
 */
const ppScratch = new Uint8Array(PROXY_HEADER_MAX_BYTES + PROXY_IN_MAX_V2_PAYLOAD)
const ppFields = new ProxyHeaderFields()

/**
 * The PROXY header for the session (v1 line, or v2 with AUTHORITY = the SNI, UNIQUE_ID = the connection
 * id, the client's JA4 in TLV 0xE4 and the TLVs a balancer's header brought), as `originPrefix`: written
 * before the hello on every attempt. The endpoints are the ones a balancer's header carried, else the
 * sockets' (proxy-in.ts). It is a copy of the scratch bytes, because a write that does not complete at once
 * keeps referencing its buffer.
 */
function buildProxyPrefix (s: Session, version: 1 | 2): boolean {
  const f = ppFields
  f.reset()
  fillEndpoints(s, f)
  if (version === 2) {
    const asm = s.assembler!
    const info = asm.info
    if (info.sniStart >= 0) {
      f.authorityBuf = asm.hs
      f.authorityStart = info.sniStart
      f.authorityEnd = info.sniEnd
    }
    f.uniqueId = connectionId(s)
    const ja4 = ja4Bytes(s)
    if (ja4 !== null) {
      f.customType = PP2_TYPE_HELLOGATE_JA4
      f.customBuf = ja4
      f.customEnd = JA4_LENGTH
    }
  }
  let n = encodeProxyHeader(version, f, ppScratch, 0)
  f.authorityBuf = null
  f.customBuf = null
  if (version === 2 && n > 0) n = appendPassedTlvs(s, ppScratch, n)
  if (n < 0) return false
  s.originPrefix = Buffer.from(ppScratch.subarray(0, n))
  return true
}

/**
 * A connect attempt failed and its socket is closed (module header). `err` is null when it closed with
 * no error of its own (e.g. destroyed by shutdown).
 */
function attemptFailed (s: Session, err: ProxyError | null): void {
  const t = s.table!
  const ctx = s.ctx
  // passive health: consecutive failures eject the server for a while (upstreams/ state.ts); none for forward
  if (err !== null && s.server >= 0) {
    const ejectMs = reportConnectFailure(t, ctx.options.row, s.server, Date.now())
    if (ejectMs > 0) {
      ctx.logger.warn({ evt: LogEvent.UpstreamEject, pool: t.poolNames[s.pool], server: t.serverLabels[s.server], ejectMs }, LogEvent.UpstreamEject)
    }
  }
  releaseSessionServer(s)
  // the client went first (client_abort, already recorded): nothing left to connect for
  if (clientGone(s)) return
  if (err !== null && chooseTarget(s)) {
    ctx.counters[Counter.OriginRetry]!++
    ctx.connect(s)
    return
  }
  if (err?.code === ErrorCode.ORIGIN_CONNECT_TIMEOUT) {
    setOutcome(s, Outcome.OriginConnectTimeout)
  } else {
    setOutcome(s, Outcome.OriginConnectFailed)
    if (s.detail === null) s.detail = (err?.cause as NodeJS.ErrnoException | undefined)?.code ?? 'origin_error'
  }
  // close the client promptly, forward nothing
  destroyClient(s)
}

function onConnectTimeout (s: Session): void {
  s.connectTimer = null
  if (s.state !== SessionState.Connecting) return
  const origin = s.origin
  if (origin === null && !s.nativeOrigin) return
  s.connectError = new ProxyError(ErrorCode.ORIGIN_CONNECT_TIMEOUT,
    'origin ' + s.originHost + ':' + String(s.originPort) + ' did not accept in time', { source: ErrorSource.Origin })
  // a net.Socket's 'close' follows, and with it attemptFailed; the addon's leg is dropped at once
  if (origin !== null) origin.destroy()
  else dropNativeOrigin(s, s.connectError)
}

/** The attempt's connect succeeded (both origin legs): time it, count it, and the session relays. */
function originConnected (s: Session): void {
  s.tConnect = performance.now()
  observe(s.ctx.histograms, HistogramId.ConnectDuration, s.tConnect - s.tHello)
  s.ctx.counters[Counter.OriginConnectOk]!++
  if (s.server >= 0) reportConnectOk(s.table!, s.ctx.options.row, s.server)
  s.state = SessionState.Relaying
}

function onOriginConnect (this: SessionSocket): void {
  const s = this[kSession]
  clearConnectTimer(s)
  if (clientGone(s) || s.state !== SessionState.Connecting) {
    this.destroy()
    return
  }
  originConnected(s)
  startRelay(s, this)
}

function connectFailure (s: Session, err: NodeJS.ErrnoException): ProxyError {
  return new ProxyError(ErrorCode.ORIGIN_CONNECT,
    'cannot connect to origin ' + s.originHost + ':' + String(s.originPort) + ': ' + (err.code ?? err.message), { source: ErrorSource.Origin, cause: err })
}

function onOriginError (this: SessionSocket, err: NodeJS.ErrnoException): void {
  const s = this[kSession]
  if (s.state === SessionState.Connecting) {
    s.connectError = connectFailure(s, err)
  } else {
    originErrored(s, err)
  }
}

/**
 * The addon's connect of the session's attempt finished (splice.ts initSplice's DialDone): a failure is
 * what an origin socket's error + 'close' are for a net.Socket (attemptFailed: another server, or fail);
 * a success holds the client in the addon with the replayed bytes (pipe.ts startNativeRelay).
 */
export function nativeDialDone (s: Session, errno: number): void {
  if (errno !== 0) {
    const code = errnoName(errno)
    const cause: NodeJS.ErrnoException = new Error(code)
    cause.code = code
    cause.errno = -errno
    s.connectError = connectFailure(s, cause)
    dropNativeOrigin(s, s.connectError)
    return
  }
  if (s.state !== SessionState.Connecting || !holdClient(s)) {
    dropNativeOrigin(s, null)
    return
  }
  clearConnectTimer(s)
  originConnected(s)
  startNativeRelay(s)
}

/**
 * The addon's origin leg is gone (connect failed or timed out, the client went, or the relay ended): let
 * go of its slot if it still has one (the addon closes the fd), end the attempt as a closed origin socket
 * would (attemptFailed while connecting), and count the leg closed once. No-op for a net.Socket origin.
 */
export function dropNativeOrigin (s: Session, err: ProxyError | null): void {
  if (!s.nativeOrigin) return
  stopSplice(s)
  s.nativeOrigin = false
  if (s.state === SessionState.Connecting) {
    clearConnectTimer(s)
    attemptFailed(s, err)
  }
  socketClosed(s)
}

function onOriginClose (this: SessionSocket, hadError: boolean): void {
  const s = this[kSession]
  if (s.state === SessionState.Connecting) {
    clearConnectTimer(s)
    s.origin = null
    // may start the next attempt (openSockets goes up first, so the session cannot finish in between)
    attemptFailed(s, s.connectError)
  } else {
    originClosed(s, hadError)
  }
  socketClosed(s)
}
