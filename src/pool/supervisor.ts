/**
 * Supervisor of the worker slots: spawns one worker thread per slot, tracks which are up, replaces a
 * worker that exits unexpectedly (backoff from RESPAWN_MIN_MS doubling to RESPAWN_MAX_MS) and drains
 * them all on shutdown.
 *
 * A slot outlives its workers: its counter, histogram and loop-stats slabs (SharedArrayBuffers) are handed
 * to each replacement, so cumulative counts survive a crash; the dead worker's open connections are lost with it (they lived
 * on its event loop), so its live gauge is zeroed.
 *
 * Startup: a worker that fails or exits before it is ready fails `startAll` (no respawn loop for a
 * worker that cannot start). In `reuseport`, port 0 is resolved by starting worker 0 first and giving
 * its bound ports to the others. A slot's first worker may be one started before the config was
 * compiled (prestart.ts): it gets its WorkerData as an `init` message instead of at spawn. Shutdown: each worker is asked to drain and terminated as soon as it
 * reports `drained`, or DRAIN_SLACK_MS after the grace period if it never does.
 */
import type { Worker } from 'node:worker_threads'
import type { Logger } from 'pino'
import type { HostPort, ProxyConfig } from '../config/types.ts'
import type { RouteState } from '../relay/context.ts'
import { Counter, createCounterBuffer, sumCounters } from '../metrics/counters.ts'
import { createHistogramBuffer } from '../metrics/histograms.ts'
import { createLoopStatsBuffer } from '../metrics/loop-stats.ts'
import { createRouteSlab, MAX_ROUTE_SERIES, RouteCounterBook } from '../metrics/route-counters.ts'
import { leadingPatterns } from '../routes/index.ts'
import { workerState } from './route-state.ts'
import { ErrorCode, ErrorSource, ProxyError } from '../errors.ts'
import { LogEvent } from '../log/index.ts'
import type { LiveSettings, MainToWorker, WorkerData, WorkerToMain } from './messages.ts'
import { newWorker, type WorkerPrestart } from './prestart.ts'
import { GC_ACK_MS } from './gc.ts'

/** First respawn delay after a crash; doubles per consecutive crash. */
export const RESPAWN_MIN_MS = 100
/** Respawn delay ceiling: a worker that crashes at start must not spin the CPU. */
export const RESPAWN_MAX_MS = 5000
/** A worker up this long resets the backoff. */
const RESPAWN_STABLE_MS = 10_000
/** Extra time past the drain deadline before a worker that has not reported is terminated. */
const DRAIN_SLACK_MS = 2000

/** The live part of `config` for each of `workers` running workers (maxConnections is split evenly). */
export function liveSettings (config: ProxyConfig, workers: number): LiveSettings {
  return {
    helloMs: config.timeouts.helloMs,
    connectMs: config.timeouts.connectMs,
    idleMs: config.timeouts.idleMs,
    maxHelloBytes: config.limits.maxHelloBytes,
    maxConnections: Math.ceil(config.limits.maxConnections / workers),
    level: config.log.level,
    accessLog: config.log.access,
    logJa4: config.log.ja4,
  }
}

/** Per-worker shared memory the main thread reads at scrape time (admin/target.ts MetricsSources). */
export interface MetricSources {
  /** each worker's histogram slab, worker i at index i */
  readonly histograms: () => readonly Float64Array[]
  /** each worker's loop-stats slab */
  readonly loopStats: () => readonly Float64Array[]
  /** connections per route label, across reloads */
  readonly routes: () => ReadonlyMap<string, number>
  /** each worker's own counters, name → value */
  readonly workerCounters: () => ReadonlyArray<Readonly<Record<string, number>>>
}

interface Starting {
  resolve: () => void
  reject: (e: Error) => void
}

const NO_ROUTES: ProxyConfig['routes'] = Object.freeze([])
const NO_UPSTREAMS: ProxyConfig['upstreams'] = Object.freeze([])

export class WorkerSlot {
  readonly id: number
  readonly counters: SharedArrayBuffer
  readonly view: Float64Array
  /** this slot's histogram slab (metrics/histograms.ts), kept across respawns like the counters */
  readonly histograms: SharedArrayBuffer
  readonly histogramView: Float64Array
  /** this slot's event-loop figures (metrics/loop-stats.ts) */
  readonly loopStats: SharedArrayBuffer
  readonly loopView: Float64Array
  worker: Worker | null = null
  /** ready and not failing: sockets may be sent to it */
  up = false
  startedAt = 0
  backoffMs = RESPAWN_MIN_MS
  respawnTimer: NodeJS.Timeout | null = null
  /** set while startAll waits for this slot's first worker */
  starting: Starting | null = null

  constructor (id: number) {
    this.id = id
    this.counters = createCounterBuffer()
    this.view = new Float64Array(this.counters)
    this.histograms = createHistogramBuffer()
    this.histogramView = new Float64Array(this.histograms)
    this.loopStats = createLoopStatsBuffer()
    this.loopView = new Float64Array(this.loopStats)
  }
}

export class Supervisor {
  readonly slots: readonly WorkerSlot[]
  /** worker replacements so far */
  restarts = 0
  /** shutting down (or startup failed): exits are final */
  closing = false
  /** called whenever a worker becomes ready (handoff: send the queued sockets) */
  onWorkerUp: () => void = noop
  /** connections per route pattern: one slab per table generation, written by the workers */
  readonly routeBook: RouteCounterBook
  /** the config as workers get it: without routes and upstreams (the constructor says why) */
  private readonly config: ProxyConfig
  private readonly logger: Logger
  private state: RouteState
  /** timeouts, limits, log level in force: the config's, then each reload's */
  private live: LiveSettings
  /** collectGarbage: the round waiting for `gc-done` answers, and the chain that keeps rounds one at a time */
  private gcPending: { done: (collected: boolean, heapUsedBytes: number) => void } | null = null
  private gcRound: Promise<void> = Promise.resolve()
  /** reuseport: what workers bind (ports resolved by worker 0); handoff: nothing */
  private listen: readonly HostPort[]
  /** quic.listen: what every worker binds over UDP (ports resolved by worker 0) */
  private quicListen: readonly HostPort[]

  /** workers started before the config was compiled, taken by the first spawns (null: none) */
  private readonly prestart: WorkerPrestart | null

  constructor (config: ProxyConfig, state: RouteState, logger: Logger, listen: readonly HostPort[], prestart: WorkerPrestart | null = null) {
    this.prestart = prestart
    // workers route through `state`; the config's per-route and per-pool objects would only be cloned
    // into every worker's heap (a million-route table: hundreds of MB each) and never read there
    this.config = Object.freeze({ ...config, routes: NO_ROUTES, upstreams: NO_UPSTREAMS })
    this.state = state
    this.logger = logger
    this.listen = listen
    this.quicListen = config.quic?.listen ?? []
    const slots: WorkerSlot[] = []
    for (let i = 0; i < config.workers; i++) slots.push(new WorkerSlot(i))
    this.slots = slots
    this.routeBook = new RouteCounterBook(createRouteSlab(leadingPatterns(state.routes, MAX_ROUTE_SERIES), config.workers))
    this.live = liveSettings(config, config.workers)
  }

  /** What the metrics exporter and /status read, straight from the slots' shared memory. */
  metricSources (): MetricSources {
    return {
      histograms: () => this.slots.map((s) => s.histogramView),
      loopStats: () => this.slots.map((s) => s.loopView),
      routes: () => this.routeBook.totals(),
      workerCounters: () => this.slots.map((s) => sumCounters([s.view])),
    }
  }

  /** The addresses the workers bound (reuseport), ports resolved once worker 0 is ready. */
  get addresses (): readonly HostPort[] {
    return this.listen
  }

  /** The UDP addresses the workers bound for QUIC, ports resolved once worker 0 is ready. */
  get quicAddresses (): readonly HostPort[] {
    return this.quicListen
  }

  /** Start every worker; rejects (and terminates those started) if one fails before it is ready. */
  async startAll (): Promise<void> {
    const first = this.listen.some((a) => a.port === 0) || this.quicListen.some((a) => a.port === 0) ? 1 : 0
    try {
      if (first === 1) await this.start(this.slots[0]!)
      await Promise.all(this.slots.slice(first).map((slot) => this.start(slot)))
    } catch (err) {
      this.closing = true
      await Promise.all(this.slots.map((slot) => slot.worker?.terminate()))
      throw err
    } finally {
      for (const slot of this.slots) slot.starting = null
    }
  }

  private start (slot: WorkerSlot): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      slot.starting = { resolve, reject }
      this.spawn(slot)
    })
  }

  private spawn (slot: WorkerSlot): void {
    const data: WorkerData = {
      id: slot.id,
      config: this.config,
      state: workerState(this.state),
      counters: slot.counters,
      listen: this.listen,
      quicListen: this.quicListen,
      histograms: slot.histograms,
      loopStats: slot.loopStats,
      routeSlab: this.routeBook.slab,
      live: this.live,
    }
    // a worker started while the config compiled (prestart.ts) gets the same data as its first message
    const early = this.prestart?.take() ?? null
    if (early !== null) early.postMessage({ type: 'init', data } satisfies MainToWorker)
    const worker = early ?? newWorker(slot.id, data)
    slot.worker = worker
    slot.up = false
    slot.startedAt = Date.now()
    worker.on('message', (msg: WorkerToMain) => { this.onMessage(slot, worker, msg) })
    worker.on('error', (err) => {
      // stop dispatching at once: 'exit' follows, and sockets posted in between would be lost
      slot.up = false
      this.logger.error({ evt: LogEvent.WorkerError, worker: slot.id, err }, LogEvent.WorkerError)
    })
    worker.on('exit', (code) => { this.onExit(slot, worker, code) })
  }

  private onMessage (slot: WorkerSlot, worker: Worker, msg: WorkerToMain): void {
    switch (msg.type) {
      case 'ready':
        slot.up = true
        if (slot.id === 0 && msg.addresses.length > 0) this.listen = msg.addresses.map((a) => ({ host: a.host, port: a.port }))
        if (slot.id === 0 && msg.quicAddresses.length > 0) this.quicListen = msg.quicAddresses.map((a) => ({ host: a.host, port: a.port }))
        slot.starting?.resolve()
        this.onWorkerUp()
        return
      case 'fatal':
        this.logger.error({ evt: LogEvent.WorkerFatal, worker: slot.id, code: msg.error.code, message: msg.error.message }, LogEvent.WorkerFatal)
        slot.starting?.reject(ProxyError.fromJSON(msg.error))
        return
      case 'drained':
        // every session is closed and the log flushed: nothing left to wait for
        worker.terminate().catch(noop)
        return
      case 'gc-done':
        this.gcPending?.done(msg.collected, msg.heapUsedBytes)
    }
  }

  private onExit (slot: WorkerSlot, worker: Worker, code: number): void {
    if (slot.worker !== worker) return
    slot.worker = null
    slot.up = false
    if (slot.starting !== null) {
      // died before it was ever ready (bad build, corrupt table): fail startAll, do not respawn in a loop
      slot.starting.reject(new ProxyError(ErrorCode.WORKER_START, 'worker ' + String(slot.id) + ' exited with code ' + String(code) + ' before it was ready', { source: ErrorSource.Internal }))
      return
    }
    // its connections died with its event loop: the gauge must not count them any more
    slot.view[Counter.ConnActive] = 0
    if (this.closing) return
    this.restarts++
    if (Date.now() - slot.startedAt > RESPAWN_STABLE_MS) slot.backoffMs = RESPAWN_MIN_MS
    const delay = slot.backoffMs
    slot.backoffMs = Math.min(RESPAWN_MAX_MS, slot.backoffMs * 2)
    this.logger.warn({ evt: LogEvent.WorkerExit, worker: slot.id, code, respawnInMs: delay }, LogEvent.WorkerExit)
    slot.respawnTimer = setTimeout(() => { this.respawn(slot) }, delay)
  }

  private respawn (slot: WorkerSlot): void {
    slot.respawnTimer = null
    if (this.closing) return
    this.logger.info({ evt: LogEvent.WorkerRestart, worker: slot.id }, LogEvent.WorkerRestart)
    this.spawn(slot)
  }

  /** Swap the route table in every running worker; a worker started later gets it at spawn. */
  updateRoutes (state: RouteState, live: LiveSettings = this.live): void {
    this.state = state
    this.live = live
    // a new table's targets index the new config's routes: count them in a new slab (route-counters.ts)
    const slab = createRouteSlab(leadingPatterns(state.routes, MAX_ROUTE_SERIES), this.slots.length)
    this.routeBook.install(slab)
    const posted = workerState(state)
    for (const slot of this.slots) slot.worker?.postMessage({ type: 'routes', state: posted, slab, live } satisfies MainToWorker)
  }

  /** Every running worker reopens log.file (SIGUSR2); a worker started later opens the new file anyway. */
  reopenLogs (): void {
    for (const slot of this.slots) slot.worker?.postMessage({ type: 'reopen' } satisfies MainToWorker)
  }

  /**
   * Measurement hook (pool/gc.ts): every worker up runs one full GC; resolves with how many did and
   * their heaps' live bytes after it, once each has answered or after GC_ACK_MS. One round at a time:
   * a second call waits for the first.
   */
  collectGarbage (): Promise<{ collected: number, heapUsedBytes: number }> {
    const run = async (): Promise<{ collected: number, heapUsedBytes: number }> => await new Promise((resolve) => {
      const workers = this.slots.flatMap((s) => s.up && s.worker !== null ? [s.worker] : [])
      let left = workers.length
      let collected = 0
      let heap = 0
      const finish = (): void => { clearTimeout(timer); this.gcPending = null; resolve({ collected, heapUsedBytes: heap }) }
      const timer = setTimeout(finish, GC_ACK_MS)
      this.gcPending = { done: (ok, bytes) => { if (ok) { collected++; heap += bytes } if (--left === 0) finish() } }
      if (left === 0) { finish(); return }
      for (const w of workers) w.postMessage({ type: 'gc' } satisfies MainToWorker)
    })
    const next = this.gcRound.then(run)
    this.gcRound = next.then(noop, noop)
    return next
  }

  /** Test hook: make worker i raise an uncaught error. */
  crash (i: number): void {
    this.slots[i]?.worker?.postMessage({ type: 'crash' } satisfies MainToWorker)
  }

  /** Shutdown: no more respawns; each worker finishes its sessions within graceMs, then exits. */
  async drainAll (graceMs: number): Promise<void> {
    this.closing = true
    for (const slot of this.slots) {
      if (slot.respawnTimer !== null) { clearTimeout(slot.respawnTimer); slot.respawnTimer = null }
    }
    await Promise.all(this.slots.map((slot) => drainWorker(slot, graceMs)))
  }
}

/** Ask one worker to drain; it is terminated on its `drained` (Supervisor.onMessage) or at the deadline. */
function drainWorker (slot: WorkerSlot, graceMs: number): Promise<void> {
  const worker = slot.worker
  if (worker === null) return Promise.resolve()
  return new Promise<void>((resolve) => {
    const deadline = setTimeout(() => { worker.terminate().catch(noop) }, graceMs + DRAIN_SLACK_MS)
    worker.once('exit', () => {
      clearTimeout(deadline)
      resolve()
    })
    worker.postMessage({ type: 'drain', graceMs } satisfies MainToWorker)
  })
}

function noop (): void {}
