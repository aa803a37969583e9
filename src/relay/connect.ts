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
import { kSession, ROUTE_DEFAULT, SessionState, setOutcome, socketClosed, type Session, type SessionSocket } from './session.ts'
import { originClosed, originErrored, startRelay } from './pipe.ts'

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
    s.connectTimer = setTimeout(onConnectTimeout, timeoutMs, s)
  }
}

/** Connect a session whose hello is complete and whose route is recorded: first target, first attempt. */
export function connectOrigin (s: Session): void {
  if (chooseTarget(s)) s.ctx.connect(s)
  else attemptFailed(s, null)
}

/**
 * The server for the session's next attempt (`s.attempts` made so far), recorded in `originHost` and
 * `originPort`; false when none is left to try. One origin per route: the first attempt gets it and a
 * failed attempt is final. An upstream pool picks per attempt here (its balance, skipping servers already
 * tried); it must read the route state the route was matched in, as `ctx.state` may be swapped by then.
 */
function chooseTarget (s: Session): boolean {
  if (s.attempts > 0) return false
  const state = s.ctx.state
  const i = s.routeIndex
  if (i >= 0) {
    s.originHost = state.originHost[i]!
    s.originPort = state.originPort[i]!
    return true
  }
  if (i === ROUTE_DEFAULT && state.defaultOrigin !== null) {
    s.originHost = state.defaultOrigin.host
    s.originPort = state.defaultOrigin.port
    return true
  }
  return false
}

/**
 * A connect attempt failed and its socket is closed (module header). `err` is null when it closed with
 * no error of its own (e.g. destroyed by shutdown).
 */
function attemptFailed (s: Session, err: ProxyError | null): void {
  const client = s.client
  // the client went first (client_abort, already recorded): nothing left to connect for
  if (client.destroyed) return
  if (chooseTarget(s)) {
    s.ctx.connect(s)
    return
  }
  if (err?.code === ErrorCode.ORIGIN_CONNECT_TIMEOUT) {
    setOutcome(s, Outcome.OriginConnectTimeout)
  } else {
    setOutcome(s, Outcome.OriginConnectFailed)
    if (s.detail === null) s.detail = (err?.cause as NodeJS.ErrnoException | undefined)?.code ?? 'origin_error'
  }
  // close the client promptly, forward nothing
  client.destroy()
}

function onConnectTimeout (s: Session): void {
  s.connectTimer = null
  const origin = s.origin
  if (s.state !== SessionState.Connecting || origin === null) return
  s.connectError = new ProxyError(ErrorCode.ORIGIN_CONNECT_TIMEOUT,
    'origin ' + s.originHost + ':' + String(s.originPort) + ' did not accept in time', { source: ErrorSource.Origin })
  // its 'close' follows, and with it attemptFailed
  origin.destroy()
}

function onOriginConnect (this: SessionSocket): void {
  const s = this[kSession]
  if (s.connectTimer !== null) { clearTimeout(s.connectTimer); s.connectTimer = null }
  if (s.client.destroyed || s.state !== SessionState.Connecting) {
    this.destroy()
    return
  }
  s.tConnect = performance.now()
  observe(s.ctx.histograms, HistogramId.ConnectDuration, s.tConnect - s.tHello)
  s.ctx.counters[Counter.OriginConnectOk]!++
  s.state = SessionState.Relaying
  startRelay(s, this)
}

function onOriginError (this: SessionSocket, err: NodeJS.ErrnoException): void {
  const s = this[kSession]
  if (s.state === SessionState.Connecting) {
    s.connectError = new ProxyError(ErrorCode.ORIGIN_CONNECT,
      'cannot connect to origin ' + s.originHost + ':' + String(s.originPort) + ': ' + (err.code ?? err.message), { source: ErrorSource.Origin, cause: err })
  } else {
    originErrored(s, err)
  }
}

function onOriginClose (this: SessionSocket, hadError: boolean): void {
  const s = this[kSession]
  if (s.state === SessionState.Connecting) {
    if (s.connectTimer !== null) { clearTimeout(s.connectTimer); s.connectTimer = null }
    s.origin = null
    // may start the next attempt (openSockets goes up first, so the session cannot finish in between)
    attemptFailed(s, s.connectError)
  } else {
    originClosed(s, hadError)
  }
  socketClosed(s)
}
