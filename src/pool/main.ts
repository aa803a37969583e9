/**
 * `startProxy`: the main thread's entry to the pool. It checks the runtime, builds the route state and
 * puts together the parts, each in its own module:
 *
 *  - runtime.ts     feature probe for the accept model (fails with HG_ERR_UNSUPPORTED_RUNTIME)
 *  - supervisor.ts  worker slots: spawn, respawn with backoff, drain (Supervisor)
 *  - prestart.ts    workers started while the config compiles (`StartOptions.prestart`), taken by the
 *                   Supervisor's first spawns
 *  - handoff.ts     `handoff` only: main-thread listeners and the socket dispatcher with its bounded
 *                   pending queue (HandoffDispatcher); in `reuseport` the workers own the listeners
 *  - reload.ts      reload orchestration (`ProxyHandle.reload`)
 *
 * and returns the ProxyHandle, whose `close` is the shutdown sequence: stop accepting, close queued
 * sockets, let each worker drain its sessions up to the grace period, then report the final outcomes.
 */
import type { Server } from 'node:net'
import type { Logger } from 'pino'
import type { HostPort, ProxyConfig } from '../config/types.ts'
import type { RouteState } from '../relay/context.ts'
import { Counter, COUNTER_SLOTS, createCounterBuffer, sumCounters } from '../metrics/counters.ts'
import { ALL_OUTCOMES } from '../metrics/outcomes.ts'
import { formatHostPort } from '../config/index.ts'
import { LogEvent, reopenLogger } from '../log/index.ts'
import { attachServers, buildRouteState } from './route-state.ts'
import { coalescingWarnings, serverStats, UpstreamMonitor, type CertificateEvent, type RoutedName, type ServerStats } from '../upstreams/index.ts'
import { patternOf } from '../routes/index.ts'
import type { RouteTables } from '../relay/context.ts'
import { assertRuntimeSupports } from './runtime.ts'
import { Supervisor, type MetricSources } from './supervisor.ts'
import type { LiveSettings } from './messages.ts'
import { HandoffDispatcher, openHandoffListeners } from './handoff.ts'
import { closeServers } from './listen.ts'
import { chooseRelay, mallocInUseBytes } from '../relay/splice.ts'
import { reloadFromFile, type ReloadResult } from './reload.ts'
import type { WorkerPrestart } from './prestart.ts'
import { collectGarbage, GC_UNAVAILABLE, heapUsedBytes, type GcResult } from './gc.ts'
import { performance } from 'node:perf_hooks'

export { RESPAWN_MIN_MS, RESPAWN_MAX_MS } from './supervisor.ts'
export { MAX_PENDING_HANDOFF } from './handoff.ts'

export interface ProxyStats {
  /** counter name → value, summed over workers and the main thread */
  counters: Record<string, number>
  /** outcome → count */
  outcomes: Record<string, number>
  /** per worker: connections open now */
  active: number[]
  /** per worker: connections accepted so far */
  accepted: number[]
  /** per worker: up (ready, taking connections) right now */
  up: boolean[]
  /** worker replacements so far */
  restarts: number
  /** handoff: accepted sockets waiting for a worker now (0 in reuseport) */
  pending: number
  /** handoff: most sockets waiting at once since start (0 in reuseport) */
  pendingMax: number
  /** every server of every pool in force: state (up/down/ejected), open connections, counters */
  upstreams: ServerStats[]
}

export interface ProxyHandle {
  /** bound addresses (port resolved when 0 was asked) */
  readonly addresses: readonly HostPort[]
  /** bound plain-HTTP (`http:`) addresses, ports resolved; empty when off */
  readonly httpAddresses?: readonly HostPort[]
  /** bound QUIC (UDP) addresses, ports resolved; empty without `quic` */
  readonly quicAddresses: readonly HostPort[]
  readonly config: ProxyConfig
  stats: () => ProxyStats
  /**
   * swap in a new route table (same listeners and workers), with the reload's live settings if given:
   * its server table is built here, with the health state of servers that stay carried over, and its
   * health checks replace the running ones
   */
  updateRoutes: (tables: RouteTables, live?: LiveSettings) => void
  /**
   * Reload routes from a config file (default: the one the proxy started with), compiled off the main
   * thread; logs and returns what happened, never rejects (reload.ts).
   */
  reload: (file?: string) => Promise<ReloadResult>
  /** stop accepting, let open connections finish up to graceMs, then close them */
  close: (graceMs?: number) => Promise<void>
  /** per-worker shared memory for the metrics exporter and /status (histograms, loop stats, routes) */
  metricSources: () => MetricSources
  /** reopen log.file by name in the main thread and every worker (SIGUSR2, after logrotate renamed it) */
  reopenLogs: () => void
  /**
   * Measurement hook (POST /debug/gc, pool/gc.ts): one full GC in the main thread and every worker, when
   * node runs with --expose-gc; otherwise nothing is collected and the result says why.
   */
  collectGarbage: () => Promise<GcResult>
}

/** Internal: the test hook behind `crashWorker`, kept off the public handle. */
const kCrashWorker = Symbol('hellogate.crashWorker')

/** Test and chaos hook: make worker i of a proxy started by startProxy raise an uncaught error. */
export function crashWorker (handle: ProxyHandle, i: number): void {
  const hook = (handle as Partial<Record<typeof kCrashWorker, (i: number) => void>>)[kCrashWorker]
  if (hook === undefined) throw new TypeError('crashWorker: not a handle returned by startProxy')
  hook.call(handle, i)
}

/** What a caller may hand startProxy besides the config. */
export interface StartOptions {
  /** workers started while the config compiled (prestart.ts): the first spawns take them */
  readonly prestart?: WorkerPrestart
}

export async function startProxy (config: ProxyConfig, logger: Logger, options: StartOptions = {}): Promise<ProxyHandle> {
  await assertRuntimeSupports(config.accept)
  const state = attachServers(buildRouteState(config), config.workers, null)
  const handoff = config.accept === 'handoff'
  const mainCounters = new Float64Array(createCounterBuffer())
  // reuseport: the workers bind the TLS listeners, then the plain-HTTP ones (worker.ts tells them apart by index)
  const supervisor = new Supervisor(config, state, logger, handoff ? [] : [...config.listen, ...(config.http?.listen ?? [])], options.prestart ?? null)
  let dispatcher: HandoffDispatcher | null = null
  let servers: Server[] = []
  let addresses: readonly HostPort[] = []
  let handoffHttp: readonly HostPort[] = []
  if (handoff) {
    const d = new HandoffDispatcher(supervisor.slots, config.balance, mainCounters, logger)
    supervisor.onWorkerUp = () => { d.flush() }
    // listening before the workers are up: connections accepted meanwhile wait in the queue
    const bound = await openHandoffListeners(config.listen, d.onConnection, logger)
    dispatcher = d
    servers = bound.servers
    addresses = bound.addresses
    if ((config.http?.listen.length ?? 0) > 0) {
      try {
        const httpBound = await openHandoffListeners(config.http!.listen, d.onHttpConnection, logger)
        servers = [...servers, ...httpBound.servers]
        handoffHttp = httpBound.addresses
      } catch (err) {
        d.close()
        await closeServers(servers)
        throw err
      }
    }
  }
  try {
    await supervisor.startAll()
  } catch (err) {
    dispatcher?.close()
    await closeServers(servers)
    throw err
  }
  const tlsCount = config.listen.length
  if (!handoff) addresses = supervisor.addresses.slice(0, tlsCount)
  const httpAddresses = handoff ? handoffHttp : supervisor.addresses.slice(tlsCount)
  const relay = chooseRelay()
  logger.info({ evt: LogEvent.Relay, relay: relay.relay, reason: relay.reason }, LogEvent.Relay)
  logger.info({
    evt: LogEvent.Listening,
    addresses: addresses.map((a) => formatHostPort(a)),
    ...(httpAddresses.length > 0 ? { http: httpAddresses.map((a) => formatHostPort(a)) } : null),
    ...(config.quic === null ? {} : { quic: supervisor.quicAddresses.map((a) => formatHostPort(a)) }),
    workers: config.workers,
    accept: config.accept,
    routes: config.routes.length,
    default: config.default === null ? 'reject' : config.upstreams[config.default]!.name,
  }, LogEvent.Listening)
  // the line supervisors and scripts wait for: written now, not when the buffer fills or the periodic
  // flush comes round (up to a second later, log/logger.ts)
  logger.flush()
  const handle = new PoolHandle(config, logger, addresses, supervisor, dispatcher, servers, mainCounters, state)
  handle.httpAddresses = httpAddresses
  handle.startMonitor()
  return handle
}

class PoolHandle implements ProxyHandle {
  readonly addresses: readonly HostPort[]
  httpAddresses: readonly HostPort[] = []
  readonly config: ProxyConfig
  private readonly logger: Logger
  private readonly supervisor: Supervisor
  private readonly dispatcher: HandoffDispatcher | null
  private readonly servers: readonly Server[]
  private readonly mainCounters: Float64Array
  private closed: Promise<void> | null = null
  /** the table in force (its server table is the one the running health checks write) */
  state: RouteState
  /** active health checks of the table in force: once per process, on this thread */
  private monitor: UpstreamMonitor | null = null

  constructor (config: ProxyConfig, logger: Logger, addresses: readonly HostPort[], supervisor: Supervisor,
    dispatcher: HandoffDispatcher | null, servers: readonly Server[], mainCounters: Float64Array, state: RouteState) {
    this.state = state
    this.config = config
    this.logger = logger
    this.addresses = addresses
    this.supervisor = supervisor
    this.dispatcher = dispatcher
    this.servers = servers
    this.mainCounters = mainCounters
  }

  get quicAddresses (): readonly HostPort[] {
    return this.supervisor.quicAddresses
  }

  stats (): ProxyStats {
    const slots = this.supervisor.slots
    const counters = sumCounters([this.mainCounters, ...slots.map((s) => s.view)])
    const outcomes: Record<string, number> = {}
    for (const o of ALL_OUTCOMES) outcomes[o] = counters['outcome_' + o] ?? 0
    return {
      counters,
      outcomes,
      active: slots.map((s) => s.view[Counter.ConnActive] ?? 0),
      accepted: slots.map((s) => s.view[Counter.ConnAccepted] ?? 0),
      up: slots.map((s) => s.up),
      restarts: this.supervisor.restarts,
      pending: this.dispatcher?.pending.length ?? 0,
      pendingMax: this.dispatcher?.pendingMax ?? 0,
      upstreams: serverStats(this.state.servers, Date.now()),
    }
  }

  updateRoutes (tables: RouteTables, live?: LiveSettings): void {
    const next = attachServers(tables, this.config.workers, this.state.servers)
    this.state = next
    this.supervisor.updateRoutes(next, live)
    this.startMonitor()
  }

  /**
   * (Re)start the health checks on the table in force. The old checks stop in the background: until
   * they have, a result of theirs lands in the old table, which only connections already routed read.
   */
  startMonitor (): void {
    const old = this.monitor
    const state = this.state
    // one {name, pool} per route: built on the first certificate event, not at every start and swap
    // (a million-route table: ~0.15 s and tens of MB, for a warning most tables never trigger)
    let routed: RoutedName[] | null = null
    const defaultPool = state.pools[state.defaultUpstream]?.name ?? null
    const logger = this.logger
    const monitor = new UpstreamMonitor(state.servers, state.pools, {
      logger,
      onCertificate: (event: CertificateEvent) => {
        // once per pool, after its first successful TLS check (upstreams/ health.ts)
        routed ??= routedNamesOf(state)
        const warnings = coalescingWarnings(routed, [{ pool: event.pool, server: event.server, names: event.names }], defaultPool)
        if (warnings.length > 0) {
          logger.warn({ evt: LogEvent.UpstreamCoalesce, pool: event.pool, server: event.server, warnings: warnings.map((w) => w.message) }, LogEvent.UpstreamCoalesce)
        }
      },
    })
    this.monitor = monitor
    monitor.start()
    if (old !== null) old.stop().catch(ignoreError)
  }

  reload (file: string = this.config.file): Promise<ReloadResult> {
    return reloadFromFile(this, file, this.logger)
  }

  metricSources (): MetricSources {
    return this.supervisor.metricSources()
  }

  async collectGarbage (): Promise<GcResult> {
    const t0 = performance.now()
    if (!collectGarbage()) return { ok: false, reason: GC_UNAVAILABLE }
    const main = heapUsedBytes()
    const workers = await this.supervisor.collectGarbage()
    return { ok: true, threads: 1 + workers.collected, ms: Math.round(performance.now() - t0), heapUsedBytes: main + workers.heapUsedBytes, mallocInUseBytes: mallocInUseBytes() }
  }

  reopenLogs (): void {
    reopenLogger(this.logger)
    this.supervisor.reopenLogs()
    this.logger.info({ evt: LogEvent.LogReopen, file: this.config.log.file }, LogEvent.LogReopen)
  }

  close (graceMs = this.config.timeouts.shutdownMs): Promise<void> {
    this.closed ??= this.shutdown(graceMs)
    return this.closed
  }

  private async shutdown (graceMs: number): Promise<void> {
    this.logger.info({ evt: LogEvent.ShutdownBegin, graceMs }, LogEvent.ShutdownBegin)
    this.supervisor.closing = true
    // queued handoff sockets count as the servers' connections: close them first or close() waits forever
    this.dispatcher?.close()
    await closeServers(this.servers)
    const monitor = this.monitor
    this.monitor = null
    await monitor?.stop()
    await this.supervisor.drainAll(graceMs)
    this.logger.info({ evt: LogEvent.ShutdownDone, outcomes: this.stats().outcomes }, LogEvent.ShutdownDone)
  }

  [kCrashWorker] (i: number): void {
    this.supervisor.crash(i)
  }
}

function ignoreError (): void {}

/**
 * Each routed name and its pool, read from the tables (what upstreams/ routedNames reads from a config):
 * the tables are what a reload brings back from its thread, not the config's RouteEntry objects.
 */
function routedNamesOf (state: RouteState): RoutedName[] {
  const out: RoutedName[] = []
  for (let i = 0; i < state.routes.size; i++) {
    // forward routes (upstream -1) have no pool
    const pool = state.pools[state.routeUpstream[i]!]
    const name = patternOf(state.routes, i)
    if (pool !== undefined && name !== null) out.push({ name, pool: pool.name })
  }
  return out
}

export { COUNTER_SLOTS }
