/**
 * Worker thread entry. Owns its connections end to end: parse, route and relay happen inline here,
 * with no message per connection to anyone (a pool round trip costs 130–430 µs, a parse 0.3–0.5 µs).
 *
 * Accept models:
 *  - reuseport: this worker binds its own listener with `reusePort: true`; the kernel spreads
 *    connections across workers and the main thread never touches them.
 *  - handoff: the main thread accepts with `pauseOnConnect` and transfers each socket here
 *    (`{ type: 'conn', socket }`).
 *
 * Data: `workerData` (a worker spawned for a slot), or, for a worker started while the config was still
 * compiling (prestart.ts, workerData null), the first message, `{ type: 'init', data }`: its modules are
 * loaded by then, so only the table check and the listeners are left after the compile.
 *
 * Nothing here ever blocks: no Atomics.wait (piscina's `atomics: 'sync'` would freeze our sockets),
 * logging goes through pino's asynchronous destination.
 */
import { once } from 'node:events'
import net, { type Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { parentPort, workerData, threadId } from 'node:worker_threads'
import { createLogger, flushLogger, LogEvent, reopenLogger } from '../log/index.ts'
import { RelayContext, buildConnector, clientLimitOptions, handleConnection, handleNativeConnection, onIntakeRead, type RelayOptions } from '../relay/index.ts'
import { Outcome } from '../metrics/outcomes.ts'
import { acceptAtHandle, chooseRelay, closeSession, errnoName, initSplice, intakeActive, nativeDialDone } from '../relay/index.ts'
import type { ClientHandle } from '../relay/session.ts'
import { verifyTable } from '../routes/index.ts'
import { startLoopStats } from '../metrics/loop-stats.ts'
import { ErrorCode, ErrorSource, isProxyError, ProxyError } from '../errors.ts'
import { listenOn, boundAddress } from './listen.ts'
import { handleHttpConnection } from '../http/relay.ts'
import { setOwnListeners } from '../forward/dial.ts'
import { QuicRelay } from '../quic-relay/index.ts'
import { buildProxyInPolicies, type ProxyInPolicy } from '../relay/proxy-in.ts'
import type { LiveSettings, MainToWorker, WorkerData, WorkerToMain } from './messages.ts'
import type { HostPort } from '../config/types.ts'
import { collectGarbage, heapUsedBytes } from './gc.ts'

const port = parentPort!
// a prestarted worker (prestart.ts) has loaded its modules while the table compiled; its data is the
// first message
const data = workerData === null ? await initMessage() : workerData as WorkerData
const config = data.config
// matchServerName trusts the table's internal offsets; a table from another thread is checked once here
if (!verifyTable(data.state.routes)) throw new ProxyError(ErrorCode.WORKER_START, 'worker ' + String(data.id) + ' received a corrupt route table', { source: ErrorSource.Internal })
// worker ids in logs start at 1; 0 is the main thread
const logger = createLogger({ level: data.live.level, worker: data.id + 1, file: config.log.file })
const counters = new Float64Array(data.counters)

const ctx = new RelayContext(data.state, relayOptions(data.live), counters, logger)
ctx.histograms = new Float64Array(data.histograms)
ctx.setRouteSlab(data.routeSlab, data.id)
// the native splice relay for the data phase where it loads (relay/splice.ts; pool/main.ts logs which runs)
const relay = initSplice(ctx, nativeDialDone, onIntakeRead)
if (relay.relay === 'js' && chooseRelay().relay === 'splice') logger.warn({ evt: LogEvent.Relay, relay: relay.relay, reason: relay.reason }, LogEvent.Relay)
const stopLoopStats = startLoopStats(new Float64Array(data.loopStats))

const servers: net.Server[] = []
// QUIC passthrough (config `quic`): UDP listeners with reusePort in every worker, whatever the accept model
const quic = config.quic === null ? null : new QuicRelay(ctx, config.quic)
let quicAddresses: HostPort[] = []
let drainTimer: NodeJS.Timeout | null = null
/** per listen address (config order): its PROXY policy, or null (relay/proxy-in.ts); fixed for the worker's life */
const proxyIn = buildProxyInPolicies(config)
const kProxyIn = Symbol('hellogate.proxyIn')
interface ListenerServer extends net.Server { [kProxyIn]: ProxyInPolicy | null }

async function initMessage (): Promise<WorkerData> {
  const [msg] = await once(port, 'message') as [MainToWorker]
  if (msg.type !== 'init') throw new ProxyError(ErrorCode.WORKER_START, 'worker: expected its data first, got ' + msg.type, { source: ErrorSource.Internal })
  return msg.data
}

function post (msg: WorkerToMain): void {
  port.postMessage(msg)
}

function onListenerConnection (this: ListenerServer, socket: Socket): void {
  handleConnection(ctx, socket, this[kProxyIn])
}

/**
 * A reuseport TLS listener whose accepts are taken over at the handle level (relay/splice.ts acceptAtHandle):
 * the client is a TCP handle, its hello read by the addon (relay/accept.ts handleNativeConnection). A failed
 * accept is reported as the listener's 'error' would be.
 */
function onHandleAccept (errno: number, handle: ClientHandle | undefined): void {
  if (errno < 0 || handle === undefined) {
    const code = errnoName(-errno)
    logger.warn({ evt: LogEvent.AcceptError, code, message: 'accept ' + code }, LogEvent.AcceptError)
    return
  }
  handleNativeConnection(ctx, handle)
}

function onHttpListenerConnection (socket: Socket): void {
  handleHttpConnection(ctx, socket)
}

/** accept failed after listening (EMFILE/ENFILE when fds run out): the listener stays, we report it */
function onListenerError (err: NodeJS.ErrnoException): void {
  logger.warn({ evt: LogEvent.AcceptError, code: err.code, message: err.message }, LogEvent.AcceptError)
}

async function listenAll (): Promise<void> {
  // data.listen: the TLS listeners (config.listen), then the plain-HTTP ones (config.http.listen)
  const tls = config.listen.length
  for (const [i, addr] of data.listen.entries()) {
    const server = net.createServer({ allowHalfOpen: true, noDelay: true }, i < tls ? onListenerConnection : onHttpListenerConnection) as ListenerServer
    server[kProxyIn] = i < tls ? (proxyIn[i] ?? null) : null
    await listenOn(server, addr, true)
    server.on('error', onListenerError)
    // the addon reads the hellos of a TLS listener without proxyProtocol (its PROXY reader is Node's)
    if (i < tls && server[kProxyIn] === null && intakeActive()) acceptAtHandle(server, onHandleAccept)
    servers.push(server)
  }
  // forward routes never dial one of these (forward/fence.ts selfLoop)
  setOwnListeners(servers.map((server, i) => boundAddress(server, data.listen[i]!)))
  if (quic !== null) quicAddresses = await quic.listen(data.quicListen)
}

function onMessage (msg: MainToWorker): void {
  switch (msg.type) {
    case 'conn':
      if (msg.http === true) handleHttpConnection(ctx, msg.socket)
      else handleConnection(ctx, msg.socket, proxyIn[msg.listener] ?? null)
      return
    case 'routes':
      if (!verifyTable(msg.state.routes)) {
        logger.error({ evt: 'routes.swap', error: 'corrupt table refused' }, 'routes.swap')
        return
      }
      ctx.state = msg.state
      ctx.setRouteSlab(msg.slab, data.id)
      applyLive(msg.live)
      logger.info({ evt: 'routes.swap', routes: msg.state.routes.size }, 'routes.swap')
      return
    case 'drain':
      beginDrain(msg.graceMs)
      return
    case 'reopen':
      reopenLogger(logger)
      return
    case 'crash':
      // test hook (pool/main.ts crashWorker): an uncaught exception, as a bug would raise
      setImmediate(crashNow)
      return
    case 'gc':
      post({ type: 'gc-done', collected: collectGarbage(), heapUsedBytes: heapUsedBytes() })
  }
}

function relayOptions (live: LiveSettings): RelayOptions {
  return {
    helloMs: live.helloMs,
    connectMs: live.connectMs,
    idleMs: live.idleMs,
    maxHelloBytes: live.maxHelloBytes,
    maxConnections: live.maxConnections,
    accessLog: live.accessLog,
    logJa4: live.accessLog && live.logJa4,
    // not live: a reload that changes them reports `limits` in needsRestart (client-limits.ts keeps
    // per-address state sized for them)
    maxPendingHellos: Math.ceil(config.limits.maxPendingHellos / config.workers),
    perClient: clientLimitOptions(config.limits.perClient, Math.ceil(config.limits.maxConnections / config.workers)),
    row: data.id + 1,
  }
}

/** A reload's timeouts, limits and log level, for connections accepted from now on. */
function applyLive (live: LiveSettings): void {
  if (live.connectMs !== ctx.options.connectMs) ctx.connect = buildConnector({ timeoutMs: live.connectMs })
  ctx.options = relayOptions(live)
  logger.level = live.level
}

function crashNow (): never {
  throw new ProxyError(ErrorCode.INTERNAL, 'worker ' + String(data.id) + ': crash requested (test hook)', { source: ErrorSource.Internal })
}

function beginDrain (graceMs: number): void {
  ctx.draining = true
  stopLoopStats()
  for (const server of servers) server.close()
  quic?.close()
  ctx.onDrained = finishDrain
  if (ctx.sessions.size === 0) {
    finishDrain()
    return
  }
  drainTimer = setTimeout(onDrainDeadline, graceMs)
}

function onDrainDeadline (): void {
  drainTimer = null
  for (const s of ctx.sessions) closeSession(s, Outcome.Shutdown)
}

function finishDrain (): void {
  if (drainTimer !== null) { clearTimeout(drainTimer); drainTimer = null }
  ctx.onDrained = noop
  // the last refusal summary, if one is waiting for its interval to end
  ctx.refusals.close(performance.now())
  port.removeListener('message', onMessage)
  flushLogger(logger).then(onFlushed, onFlushed)
}

function onFlushed (): void {
  post({ type: 'drained' })
  port.unref()
}

function noop (): void {}

port.on('message', onMessage)
listenAll().then(() => {
  logger.debug({ evt: 'worker.ready', threadId, listeners: servers.length }, 'worker.ready')
  post({ type: 'ready', addresses: servers.map((server, i) => boundAddress(server, data.listen[i]!)), quicAddresses })
}, (err: unknown) => {
  const error = isProxyError(err)
    ? err
    : new ProxyError(ErrorCode.WORKER_START, 'worker ' + String(data.id) + ': ' + String(err), { source: ErrorSource.Internal, cause: err })
  post({ type: 'fatal', error: error.toJSON() })
})
