/**
 * The Prometheus view of hellogate (GET /metrics): a prom-client Registry on the main thread whose every
 * metric is computed at scrape time from shared memory — the workers' counter, histogram, loop-stats and
 * per-route slabs — plus main-thread figures (restarts, reloads, table generation, fds, RSS). Nothing is
 * pushed into prom-client on the connection path; workers never learn that a scrape happened.
 *
 * How each kind reaches prom-client:
 *  - counters and gauges: prom-client Counter/Gauge with a `collect()` callback (the documented way to
 *    export values read at scrape time), which resets the metric and sets what shared memory says;
 *  - histograms: a small metric object whose `get()` returns the merged per-worker buckets. prom-client's
 *    own Histogram can only be fed by `observe()` one value at a time; its Registry reads any metric
 *    through `get()` (registry.js `getMetricsAsString`), so a duck-typed metric is the supported seam.
 *
 * Naming: every counter in metrics/counters.ts is exported as `hellogate_<name>_total`, except the
 * gauges in GAUGE_COUNTERS (`hellogate_<name>`) and the outcome counters, which become one metric with
 * an `outcome` label. README.md "Prometheus metrics" lists every name; test/unit/admin/metrics-doc.test.ts
 * keeps the two in sync.
 *
 * One scrape reads each source once (the snapshot is cached for the duration of `metrics()`), so the
 * counters within one scrape are mutually consistent up to the workers' own concurrent writes.
 */
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { Counter, Gauge, Registry, type Metric } from 'prom-client'
import { COUNTER_NAMES } from './counters.ts'
import { HISTOGRAMS, mergeHistograms, type HistogramDef } from './histograms.ts'
import { readLoopStats } from './loop-stats.ts'
import type { ReloadSnapshot } from './reloads.ts'

/** Counters that go up and down: exported as gauges without `_total`. */
export const GAUGE_COUNTERS: ReadonlySet<string> = new Set(['conn_active', 'quic_flows_active'])
const OUTCOME_PREFIX = 'outcome_'
/** HELP text per shared counter; a counter added to counters.ts without one still exports, with a generic text. */
const COUNTER_HELP: Readonly<Record<string, string>> = {
  conn_accepted: 'Connections accepted (or handed to a worker).',
  conn_active: 'Connections open now.',
  hello_ok: 'Complete ClientHellos parsed (with or without SNI).',
  hello_segmented: 'ClientHellos that arrived in more than one TCP segment.',
  hello_multi_record: 'ClientHellos that spanned more than one TLS record.',
  route_hit: 'ClientHellos matched by a route.',
  route_default: 'ClientHellos sent to the default origin.',
  origin_connect_ok: 'Origin TCP connections established.',
  bytes_up: 'Bytes relayed client to origin, ClientHello included.',
  bytes_down: 'Bytes relayed origin to client.',
  origin_retry: 'Connect attempts retried on another server of the pool after a failed one.',
  quic_flows_active: 'QUIC flows in the flow tables now.',
  ech_hellos: 'Hellos that carry encrypted_client_hello (routed on their outer, public name).',
  relay_spliced: 'Connections whose data phase ran in the native splice(2) relay.',
  intake_native: 'Connections accepted without a Node socket, their ClientHello read by the native addon.',
  intake_wrapped: 'Connections of intake_native that got a Node socket later (a refusal, an origin Node connects, EOF before the hello).',
}
export const METRIC_PREFIX = 'hellogate_'

/** The shape of ProxyHandle.stats() that the exporter reads. */
export interface CounterSnapshot {
  /** counter name (metrics/counters.ts COUNTER_NAMES) → value, summed over workers */
  readonly counters: Readonly<Record<string, number>>
  /** per worker: connections open now */
  readonly active: readonly number[]
  /** per worker: connections accepted so far */
  readonly accepted: readonly number[]
  /** worker replacements so far */
  readonly restarts: number
  /** handoff: accepted sockets waiting for a worker now (0 in reuseport; absent = 0) */
  readonly pending?: number
  /** handoff: most sockets waiting at once since start */
  readonly pendingMax?: number
  /** every server of every pool in force (upstreams/ serverStats); absent = no per-server metrics */
  readonly upstreams?: readonly UpstreamServerSnapshot[]
}

/** One server of a pool, as upstreams/ serverStats reports it (labels: the config's pool and address). */
export interface UpstreamServerSnapshot {
  readonly pool: string
  readonly server: string
  readonly state: 'up' | 'down' | 'ejected'
  readonly active: number
  readonly counters: Readonly<Record<string, number>>
}

/** Per-server counters of the server table exported as `hellogate_upstream_server_<name>_total`, with their help. */
const SERVER_COUNTER_HELP: Readonly<Record<string, string>> = {
  connections: 'Connections established to the server.',
  connect_failures: 'Connect attempts to the server that failed (refused, reset, timed out).',
  ejections: 'Times the server was ejected after consecutive connect failures.',
  checks_ok: 'Active health checks the server passed.',
  checks_failed: 'Active health checks the server failed.',
  transitions: 'Times an active check changed the server\'s state (up to down, down to up).',
}

export interface ProcessStats {
  /** open file descriptors, null where /proc is not available */
  readonly openFds: number | null
  /** soft RLIMIT_NOFILE, null where /proc is not available */
  readonly maxFds: number | null
  readonly rssBytes: number
}

export interface MetricsSources {
  readonly version: string
  readonly stats: () => CounterSnapshot
  /** each worker's histogram slab (metrics/histograms.ts); none = all-zero histograms */
  readonly histograms?: () => readonly Float64Array[]
  /** each worker's loop-stats slab (metrics/loop-stats.ts), index i = worker i+1; null = not reporting */
  readonly loopStats?: () => ReadonlyArray<Float64Array | null>
  /** connections per route label (RouteCounterBook.totals) */
  readonly routes?: () => ReadonlyMap<string, number>
  readonly reloads?: () => ReloadSnapshot
  /** defaults to readProcessStats (Linux /proc) */
  readonly processStats?: () => Promise<ProcessStats>
  /** export process_open_fds / process_max_fds; default: where /proc/self/fd exists */
  readonly fdGauges?: boolean
  /** the etcd route source (source.etcd); absent: its metrics read 0 */
  readonly etcd?: () => EtcdSourceMetrics
}

/** What the etcd route source reports (source/etcd.ts EtcdSourceStatus has these fields). */
export interface EtcdSourceMetrics {
  readonly fromEtcd: boolean
  readonly connected: boolean
  readonly revision: number
  readonly skipped: number
  readonly skippedTotal: number
  readonly compiles: number
  readonly incrementalCompiles: number
}

export interface MetricsExporter {
  readonly registry: Registry
  /** the Content-Type of `metrics()`' answer */
  readonly contentType: string
  /** one scrape in the Prometheus text format */
  metrics: () => Promise<string>
}

/** What a scrape reads, read once per scrape. */
interface Scrape {
  stats: CounterSnapshot
  loops: ReadonlyArray<Float64Array | null>
  reloads: ReloadSnapshot | null
}

export function createMetricsExporter (src: MetricsSources): MetricsExporter {
  const registry = new Registry()
  // metrics are registered explicitly (registerMetric), never into prom-client's global registry
  const registers: Registry[] = []
  let scrape: Scrape | null = null
  const current = (): Scrape => {
    scrape ??= { stats: src.stats(), loops: src.loopStats?.() ?? [], reloads: src.reloads?.() ?? null }
    return scrape
  }
  const startTime = Math.round(Date.now() / 1000 - process.uptime())

  // ---- build info ------------------------------------------------------------------------------
  const info = new Gauge({ name: 'hellogate_build_info', help: 'Always 1; the labels say which hellogate and Node.js are running.', labelNames: ['version', 'node'], registers })
  info.set({ version: src.version, node: process.version }, 1)
  registry.registerMetric(info)

  // ---- shared counters -------------------------------------------------------------------------
  for (const name of COUNTER_NAMES) {
    if (name.startsWith(OUTCOME_PREFIX)) continue
    if (GAUGE_COUNTERS.has(name)) {
      registry.registerMetric(new Gauge({
        name: METRIC_PREFIX + name,
        help: COUNTER_HELP[name] ?? 'Shared gauge ' + name + ', summed over workers.',
        registers,
        collect () { this.set(current().stats.counters[name] ?? 0) },
      }))
    } else {
      registry.registerMetric(new Counter({
        name: METRIC_PREFIX + name + '_total',
        help: COUNTER_HELP[name] ?? 'Shared counter ' + name + ', summed over workers.',
        registers,
        collect () { this.reset(); this.inc(current().stats.counters[name] ?? 0) },
      }))
    }
  }
  registry.registerMetric(new Counter({
    name: 'hellogate_conn_closed_total',
    help: 'Connections by outcome (each connection ends with exactly one).',
    labelNames: ['outcome'],
    registers,
    collect () {
      this.reset()
      for (const name of COUNTER_NAMES) {
        if (name.startsWith(OUTCOME_PREFIX)) this.inc({ outcome: name.slice(OUTCOME_PREFIX.length) }, current().stats.counters[name] ?? 0)
      }
    },
  }))

  // ---- per worker ------------------------------------------------------------------------------
  registry.registerMetric(new Gauge({
    name: 'hellogate_worker_conn_active',
    help: 'Connections open now, per worker.',
    labelNames: ['worker'],
    registers,
    collect () {
      this.reset()
      current().stats.active.forEach((v, i) => { this.set({ worker: workerLabel(i) }, v) })
    },
  }))
  registry.registerMetric(new Counter({
    name: 'hellogate_worker_conn_accepted_total',
    help: 'Connections accepted, per worker (a replacement worker continues its predecessor\'s count).',
    labelNames: ['worker'],
    registers,
    collect () {
      this.reset()
      current().stats.accepted.forEach((v, i) => { this.inc({ worker: workerLabel(i) }, v) })
    },
  }))
  registry.registerMetric(new Gauge({
    name: 'hellogate_handoff_pending',
    help: 'accept: handoff: accepted sockets waiting for a worker now (0 in reuseport).',
    registers,
    collect () { this.set(current().stats.pending ?? 0) },
  }))
  registry.registerMetric(new Gauge({
    name: 'hellogate_handoff_pending_max',
    help: 'accept: handoff: most accepted sockets waiting for a worker at once since start (bounded by 4096).',
    registers,
    collect () { this.set(current().stats.pendingMax ?? 0) },
  }))
  registry.registerMetric(new Counter({
    name: 'hellogate_worker_restarts_total',
    help: 'Workers replaced after they exited unexpectedly.',
    registers,
    collect () { this.reset(); this.inc(current().stats.restarts) },
  }))
  loopGauge('hellogate_worker_event_loop_delay_p99_seconds', '99th percentile event-loop delay over the last second, per worker.', (s) => s.delayP99Ms / 1000)
  loopGauge('hellogate_worker_event_loop_delay_max_seconds', 'Largest event-loop delay over the last second, per worker.', (s) => s.delayMaxMs / 1000)
  loopGauge('hellogate_worker_event_loop_utilization', 'Share of the last second the worker\'s event loop was busy (0-1).', (s) => s.utilization)

  function loopGauge (name: string, help: string, pick: (s: ReturnType<typeof readLoopStats>) => number): void {
    registry.registerMetric(new Gauge({
      name,
      help,
      labelNames: ['worker'],
      registers,
      collect () {
        this.reset()
        const now = Date.now()
        current().loops.forEach((view, i) => {
          if (view === null) return
          const s = readLoopStats(view, now)
          if (s.ageMs !== null) this.set({ worker: workerLabel(i) }, pick(s))
        })
      },
    }))
  }

  // ---- reloads and the route table -------------------------------------------------------------
  registry.registerMetric(new Counter({
    name: 'hellogate_reloads_total',
    help: 'Route-table reloads (SIGHUP or POST /reload) by result.',
    labelNames: ['result'],
    registers,
    collect () {
      this.reset()
      const r = current().reloads
      this.inc({ result: 'ok' }, r?.ok ?? 0)
      this.inc({ result: 'error' }, r?.error ?? 0)
    },
  }))
  registry.registerMetric(new Gauge({
    name: 'hellogate_route_table_generation',
    help: 'Generation of the route table in force (1 = loaded at startup, +1 per successful reload).',
    registers,
    collect () { this.set(current().reloads?.generation ?? 1) },
  }))
  registry.registerMetric(new Gauge({
    name: 'hellogate_route_table_routes',
    help: 'Routes in the table in force.',
    registers,
    collect () { this.set(current().reloads?.routes ?? 0) },
  }))
  registry.registerMetric(new Counter({
    name: 'hellogate_route_connections_total',
    help: 'Connections routed, by route pattern from the config; (default) = sent to the default origin, (other) = routes past the first 1000.',
    labelNames: ['route'],
    registers,
    collect () {
      this.reset()
      const totals = src.routes?.()
      if (totals === undefined) return
      for (const [route, v] of totals) this.inc({ route }, v)
    },
  }))

  // ---- the etcd route source (0 without source.etcd) ------------------------------------------
  const etcdGauges: Array<[string, string, (m: EtcdSourceMetrics) => number]> = [
    ['hellogate_source_etcd_from_etcd', '1 when the table in force was read from etcd; 0 while serving the snapshot or the file alone.', (m) => Number(m.fromEtcd)],
    ['hellogate_source_etcd_connected', '1 while the etcd watch is connected.', (m) => Number(m.connected)],
    ['hellogate_source_etcd_revision', 'etcd revision of the table in force.', (m) => m.revision],
    ['hellogate_source_etcd_skipped_keys', 'etcd keys left out of the table in force (invalid; logged as source.skip).', (m) => m.skipped],
  ]
  for (const [name, help, pick] of etcdGauges) {
    registry.registerMetric(new Gauge({ name, help, registers, collect () { const m = src.etcd?.(); this.set(m === undefined ? 0 : pick(m)) } }))
  }
  const etcdCounters: Array<[string, string, (m: EtcdSourceMetrics) => number]> = [
    ['hellogate_source_etcd_compiles_total', 'Tables compiled from etcd changes and applied (the start included).', (m) => m.compiles],
    ['hellogate_source_etcd_incremental_compiles_total', 'Of those, the ones built from the changed keys alone (no full validation of the table).', (m) => m.incrementalCompiles],
    ['hellogate_source_etcd_skipped_keys_total', 'etcd keys left out, summed over every applied compile.', (m) => m.skippedTotal],
  ]
  for (const [name, help, pick] of etcdCounters) {
    registry.registerMetric(new Counter({ name, help, registers, collect () { this.reset(); const m = src.etcd?.(); this.inc(m === undefined ? 0 : pick(m)) } }))
  }

  // ---- upstream pools (labels bounded by the config: pool names and server addresses) ----------
  const UP_LABELS = ['pool', 'server']
  registry.registerMetric(new Gauge({
    name: 'hellogate_upstream_server_up',
    help: 'Whether the server takes new connections: 1 up, 0 down (active check) or ejected (passive).',
    labelNames: UP_LABELS,
    registers,
    collect () {
      this.reset()
      for (const u of current().stats.upstreams ?? []) this.set({ pool: u.pool, server: u.server }, u.state === 'up' ? 1 : 0)
    },
  }))
  registry.registerMetric(new Gauge({
    name: 'hellogate_upstream_server_active',
    help: 'Connections open to the server now, all workers.',
    labelNames: UP_LABELS,
    registers,
    collect () {
      this.reset()
      for (const u of current().stats.upstreams ?? []) this.set({ pool: u.pool, server: u.server }, u.active)
    },
  }))
  for (const [name, help] of Object.entries(SERVER_COUNTER_HELP)) {
    registry.registerMetric(new Counter({
      name: 'hellogate_upstream_server_' + name + '_total',
      help,
      labelNames: UP_LABELS,
      registers,
      collect () {
        this.reset()
        for (const u of current().stats.upstreams ?? []) this.inc({ pool: u.pool, server: u.server }, u.counters[name] ?? 0)
      },
    }))
  }

  // ---- histograms ------------------------------------------------------------------------------
  for (const def of HISTOGRAMS) {
    // prom-client's typings name only its own classes; its Registry reads a metric through get() alone
    registry.registerMetric(new SharedHistogram(def, src.histograms ?? noViews) as unknown as Metric)
  }

  // ---- process ---------------------------------------------------------------------------------
  const processStats = src.processStats ?? readProcessStats
  let proc: Promise<ProcessStats> | null = null
  const currentProc = (): Promise<ProcessStats> => (proc ??= processStats())
  // the fd gauges exist only where /proc does (Linux): an fd count of 0 elsewhere would be a lie
  if (src.fdGauges ?? existsSync('/proc/self/fd')) {
    registry.registerMetric(new Gauge({
      name: 'process_open_fds',
      help: 'Open file descriptors (2 per relayed connection, plus listeners).',
      registers,
      async collect () { this.set((await currentProc()).openFds ?? 0) },
    }))
    registry.registerMetric(new Gauge({
      name: 'process_max_fds',
      help: 'File descriptor limit (soft RLIMIT_NOFILE).',
      registers,
      async collect () { this.set((await currentProc()).maxFds ?? 0) },
    }))
  }
  registry.registerMetric(new Gauge({
    name: 'process_resident_memory_bytes',
    help: 'Resident set size of the whole process (all threads).',
    registers,
    async collect () { this.set((await currentProc()).rssBytes) },
  }))
  registry.registerMetric(new Gauge({
    name: 'process_start_time_seconds',
    help: 'Start time of the process since the Unix epoch, seconds.',
    registers,
    collect () { this.set(startTime) },
  }))

  return {
    registry,
    contentType: registry.contentType,
    metrics: async () => {
      scrape = null
      proc = null
      try {
        return await registry.metrics()
      } finally {
        scrape = null
        proc = null
      }
    },
  }
}

/** Worker label values match the `worker` field of the logs: workers are 1..N, 0 is the main thread. */
function workerLabel (index: number): string {
  return String(index + 1)
}

function noViews (): readonly Float64Array[] {
  return []
}

interface HistogramSample {
  metricName: string
  labels: Record<string, string | number>
  value: number
}

/** A histogram read from the workers' shared slabs at scrape time. */
class SharedHistogram {
  readonly name: string
  readonly help: string
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  private readonly def: HistogramDef
  private readonly views: () => readonly Float64Array[]

  constructor (def: HistogramDef, views: () => readonly Float64Array[]) {
    this.name = def.name
    this.help = def.help
    this.def = def
    this.views = views
  }

  get (): Promise<{ name: string, help: string, type: string, aggregator: string, values: HistogramSample[] }> {
    const m = mergeHistograms(this.views(), this.def.id)
    const values: HistogramSample[] = m.le.map((le, i) => ({ metricName: this.name + '_bucket', labels: { le }, value: m.cumulative[i]! }))
    values.push(
      { metricName: this.name + '_bucket', labels: { le: '+Inf' }, value: m.count },
      { metricName: this.name + '_sum', labels: {}, value: m.sum },
      { metricName: this.name + '_count', labels: {}, value: m.count },
    )
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values })
  }

  /** Registry.resetMetrics() calls this; shared-memory counts are never reset from the main thread. */
  reset (): void {}
}

/**
 * Open fds and RSS of this process. /proc/self/fd is listed asynchronously (libuv thread pool): at
 * 100 000 connections it holds 200 000 entries, which a synchronous read would spend milliseconds of the
 * main thread on. The directory handle opened to list it is itself one entry, hence the − 1.
 */
export async function readProcessStats (): Promise<ProcessStats> {
  const rssBytes = process.memoryUsage.rss()
  let openFds: number | null = null
  let maxFds: number | null = null
  try {
    openFds = (await readdir('/proc/self/fd')).length - 1
    const limits = await readFile('/proc/self/limits', 'utf8')
    const m = /^Max open files\s+(\d+)/m.exec(limits)
    if (m !== null) maxFds = Number(m[1])
  } catch {
    // not Linux, or /proc not mounted: createMetricsExporter does not register the fd gauges there
  }
  return { openFds, maxFds, rssBytes }
}
