/**
 * Session lifecycle: the fixed-shape per-connection state and the three steps every connection ends
 * with, whichever module saw its fate — `setOutcome` (first decided outcome wins), `socketClosed` (once
 * per socket) and, when the last socket is gone, the finish: count the outcome, drop the gauge, write the
 * access-log line. accept.ts, connect.ts, pipe.ts and pool/worker.ts all end sessions through here, so
 * none of them imports another for it.
 *
 * Fixed shape (STYLE C.2 rule 10): every field is declared and initialised in the class, none is added or
 * deleted later, so V8 keeps one hidden class for all sessions. Socket listeners are module-level named
 * functions that find their Session via `socket[kSession]`: no closure per connection or per chunk.
 *
 * The route and the target are separate: `routeIndex`/`route` say which route matched (accept.ts), and
 * `originHost`/`originPort` the server the current connect attempt goes to (connect.ts `chooseTarget`),
 * so that a route with several servers can try another one without touching the route.
 */
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { HelloAssembler } from '../hello/index.ts'
import { Counter, outcomeSlot } from '../metrics/counters.ts'
import { HistogramId, observe } from '../metrics/histograms.ts'
import { TARGET_DEFAULT, TARGET_NONE } from '../metrics/route-counters.ts'
import { Outcome } from '../metrics/outcomes.ts'
import type { ProxyError } from '../errors.ts'
import { releaseServer, type ServerTable } from '../upstreams/state.ts'
import type { RelayContext } from './context.ts'
import type { HttpHeadReader } from '../http/head.ts'
import type { ProxyInState } from './proxy-in.ts'

export const kSession = Symbol('hellogate.session')

export interface SessionSocket extends Socket {
  [kSession]: Session
}

export const SessionState = {
  /** reading the ClientHello */
  Hello: 0,
  /** hello complete, origin TCP connect in progress (possibly a later attempt); client bytes held */
  Connecting: 1,
  /** bytes flow both ways */
  Relaying: 2,
  /** refused: alert (if any) written, waiting for the client to go away */
  Rejecting: 3,
} as const
export type SessionState = typeof SessionState[keyof typeof SessionState]

/** `routeIndex` when no route matched yet (or none will); the route counters' own sentinel */
export const ROUTE_NONE = TARGET_NONE
/** `routeIndex` when the `default:` origin was used; the route counters' own sentinel */
export const ROUTE_DEFAULT = TARGET_DEFAULT

/**
 * A client accepted at the handle level (accept.ts handleNativeConnection): Node's TCP handle without a net.Socket, as far as
 * hellogate uses it. Only splice.ts calls its methods.
 */
export interface ClientHandle {
  fd: number
  [kSession]?: Session
}

/**
 * What a session asks of accept.ts without importing it (accept.ts sets them when it loads):
 * `materialize` wraps a handle-level client in a net.Socket with accept.ts's listeners (accept.ts materializeClient), and
 * `clientClosed` is the client's close, for a socket's 'close' and a bare handle's close alike.
 */
export const clientHooks = {
  materialize: noClient as (s: Session) => SessionSocket,
  clientClosed: noClose as (s: Session, hadError: boolean) => void,
}

function noClient (): SessionSocket {
  throw new Error('hellogate: no client materializer registered (relay/accept.ts not loaded)')
}

function noClose (): void {}

export class Session {
  readonly ctx: RelayContext
  /** the client socket; null while the client is a bare handle read by the addon (`clientHandle`) */
  _client: SessionSocket | null
  /**
   * a client accepted at the handle level (accept.ts handleNativeConnection): its TCP handle, until it is closed or wrapped in a
   * net.Socket (the `client` getter does that for any code that needs the socket); null otherwise
   */
  clientHandle: ClientHandle | null = null
  /** addon slot that reads this handle-level client's first bytes (splice.ts startIntake), else -1 */
  intake = -1
  origin: SessionSocket | null = null
  assembler: HelloAssembler | null
  state: SessionState = SessionState.Hello
  /** first outcome decided wins; null at close means `ok` */
  outcome: Outcome | null = null
  /** reason detail for the log (e.g. the socket error code), slow path only */
  detail: string | null = null
  helloTimer: NodeJS.Timeout | null = null
  /** after a refusal: destroys the client if it has not gone within REJECT_LINGER_MS */
  lingerTimer: NodeJS.Timeout | null = null
  connectTimer: NodeJS.Timeout | null = null
  /** performance.now() at accept, hello complete, origin connected */
  tAccept: number
  tHello = 0
  tConnect = 0
  /** client bytes written to the origin (hello included) / origin bytes written to the client, for the log */
  bytesUp = 0
  bytesDown = 0
  /** matched route (index into the config's routes), ROUTE_DEFAULT, or ROUTE_NONE */
  routeIndex = ROUTE_NONE
  /** 'default', or the matched route's pattern: rebuilt (routes/ patternOf) only when the access log is on, else null */
  route: string | null = null
  /** TCP segments (data events) the hello arrived in */
  helloChunks = 0
  /** the server table the route was matched in: every attempt and the release use it, whatever reloads do */
  table: ServerTable | null = null
  /** pool id of the route (or of the alpn entry that claimed the connection), -1 before routing */
  pool = -1
  /** server id of the current (or last) connect attempt, -1 before the first */
  server = -1
  /** hash of the client address, for `balance: hash` pools (0 otherwise) */
  clientHash = 0
  /** servers already tried for this connection (upstreams serverBit mask) */
  tried = 0
  /** `server` is counted in its leastconn gauge (acquireServer) and must be released once */
  acquired = false
  /** the target of the current (or last) connect attempt */
  originHost = ''
  originPort = 0
  /** connect attempts started */
  attempts = 0
  /** per worker sequence number: `row-id` is the connection id (access log, PROXY v2 UNIQUE_ID) */
  id = 0
  /** why the current connect attempt failed (set by its error or deadline, read when its socket closes) */
  connectError: ProxyError | null = null
  /** the worker's idle clock (ctx.idleNow) at the last relayed chunk; the idle sweep reads it (pipe.ts) */
  lastActive = 0
  /** addon slot while the data phase runs in the native splice relay (splice.ts), else -1 */
  splice = -1
  /**
   * the current attempt's origin connection is the addon's (splice.ts dialOrigin), not a net.Socket:
   * `origin` stays null, `splice` is its slot while the addon holds it; cleared when the leg is accounted
   * for (connect.ts nativeDialDone / dropNativeOrigin: socketClosed once, as an origin socket's 'close')
   */
  nativeOrigin = false
  /** bytes the splice relay had moved at the idle sweep's last look (splice.ts splicedSinceLastLook) */
  spliceSeen = 0
  /** client bytes received during the origin connect, written after the hello (pipe.ts holdEarly) */
  early: Buffer | null = null
  /** bytes written to the origin before the hello (e.g. a PROXY protocol header); null: none */
  originPrefix: Buffer | null = null
  /** strings for the access log, filled only when access logging is on */
  clientAddr: string | null = null
  sni: string | null = null
  alpn: string | null = null
  /** listen address with proxyProtocol: the PROXY header's state and carried endpoints (proxy-in.ts); null otherwise */
  proxyIn: ProxyInState | null = null
  /** the client's JA4, once something needed it (policy.ts sessionJa4) */
  ja4: string | null = null
  /** the hello carried encrypted_client_hello: routed on its outer (public) name */
  ech = false
  /** client FIN arrived while the origin connect was in progress */
  clientEnded = false
  /** slot in the worker's per-client table (client-limits.ts admit), or < 0 when none is held */
  clientSlot = -1
  /** counted in ctx.pendingHellos until the hello phase ends (accept.ts) */
  helloPending = false
  /** sockets still open (client, plus the origin socket of the current attempt) */
  openSockets = 1
  /** plain-HTTP connection: its request-head reader while the head is read (http/relay.ts), else null */
  http: HttpHeadReader | null = null
  /**
   * Reads the first bytes instead of the ClientHello (http/relay.ts: an HTTP request head); called by
   * accept.ts's one data listener while the state is Hello. A module-level function, set once per session.
   */
  readHead: ((s: Session, chunk: Buffer) => void) | null = null
  /** bytes to replay to the origin instead of the hello (a plain-HTTP request head as received), else null */
  head: Uint8Array | null = null
  /** port every attempt dials instead of the server's own (a plain-HTTP connection's httpPort), 0: none */
  portOverride = 0
  /** the request's Host for the access log (plain HTTP; `sni` stays null), filled only when logging */
  host: string | null = null

  constructor (ctx: RelayContext, client: SessionSocket | null, now: number) {
    this.ctx = ctx
    this.id = ++ctx.nextId
    this._client = client
    this.assembler = new HelloAssembler(ctx.options.maxHelloBytes)
    this.tAccept = now
  }

  /**
   * The client socket. A handle-level client (accept.ts handleNativeConnection) gets its net.Socket here, on first use: every
   * path but the addon's (refusals, a Node-dialed origin, the JS relay) works on the socket as before.
   */
  get client (): SessionSocket {
    return this._client ?? clientHooks.materialize(this)
  }
}

/** The client has closed, or is closing (a socket destroyed, a bare handle closed). Never materializes. */
export function clientGone (s: Session): boolean {
  return s._client !== null ? s._client.destroyed : s.clientHandle === null
}

/** First decided outcome wins. */
export function setOutcome (s: Session, outcome: Outcome): void {
  if (s.outcome === null) s.outcome = outcome
}

/** Called once per socket close; the session ends when all of its sockets are closed. */
export function socketClosed (s: Session): void {
  if (--s.openSockets > 0) return
  finishSession(s)
}

function finishSession (s: Session): void {
  const ctx = s.ctx
  const counters = ctx.counters
  clearConnectTimer(s)
  releaseSessionServer(s)
  const outcome = s.outcome ?? Outcome.Ok
  counters[outcomeSlot(outcome)]!++
  counters[Counter.ConnActive]!--
  // bytes were added to the counters as they flowed (pipe.ts): nothing to add here
  ctx.sessions.delete(s)
  s.assembler = null
  const end = performance.now()
  observe(ctx.histograms, HistogramId.TotalDuration, end - s.tAccept)
  if (ctx.options.accessLog) logAccess(s, outcome, end)
  if (ctx.draining && ctx.sessions.size === 0) ctx.onDrained()
}

/** Cancel the current attempt's connect deadline, if armed. Idempotent. */
export function clearConnectTimer (s: Session): void {
  if (s.connectTimer === null) return
  clearTimeout(s.connectTimer)
  s.connectTimer = null
}

/** Drop the session's server from its leastconn gauge (after a failed attempt, or at the end). Idempotent. */
export function releaseSessionServer (s: Session): void {
  if (!s.acquired) return
  s.acquired = false
  releaseServer(s.table!, s.server)
}

/** The connection id: worker row and sequence (unique per process while worker ids are). */
export function connectionId (s: Session): string {
  return String(s.ctx.options.row) + '-' + String(s.id)
}

function logAccess (s: Session, outcome: Outcome, end: number): void {
  s.ctx.logger.info({
    evt: 'conn.close',
    client: s.clientAddr,
    sni: s.sni,
    ...(s.host === null ? null : { host: s.host }),
    alpn: s.alpn,
    ja4: s.ja4,
    ech: s.ech,
    id: connectionId(s),
    route: s.route,
    origin: s.originPort === 0 ? null : s.originHost + ':' + String(s.originPort),
    upstream: s.pool < 0 || s.table === null ? null : s.table.poolNames[s.pool],
    server: s.server < 0 || s.table === null ? null : s.table.serverLabels[s.server],
    attempts: s.attempts,
    bytesUp: s.bytesUp,
    bytesDown: s.bytesDown,
    helloMs: s.tHello === 0 ? null : round(s.tHello - s.tAccept),
    connectMs: s.tConnect === 0 ? null : round(s.tConnect - s.tHello),
    totalMs: round(end - s.tAccept),
    outcome,
    reason: s.detail,
  }, 'conn.close')
}

function round (ms: number): number {
  return Math.round(ms * 1000) / 1000
}
