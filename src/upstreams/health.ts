/**
 * upstreams/health — the UpstreamMonitor: active health checks of every pool's servers and the expiry
 * of passive ejections, once per process, on the main thread. Results go into the shared table
 * (state.ts), where every worker's pickServer sees them; nothing is sent to the workers.
 *
 * Contract:
 *  - `new UpstreamMonitor(table, pools, { logger, onCertificate })`, `start()`, `await stop()`.
 *    `pools` is the array the table was built from (same order).
 *  - Each server of a pool whose `health.check` is not `off` is probed (probe.ts) every
 *    `health.intervalMs`, each probe bounded by `health.timeoutMs`. The next probe of a server is
 *    scheduled only when its previous one has finished, so at most one is in flight per server,
 *    however slow the server. First probes are spread over the first interval (at most
 *    FIRST_CHECK_SPREAD_MS) so that a big pool does not probe all its servers in the same tick.
 *  - rise/fall (state.ts recordCheck): an up server goes down after `fall` failed checks in a row,
 *    a down one comes back after `rise` good ones. Servers start up (as in HAProxy and nginx), so a
 *    dead server takes `fall` intervals to be noticed; connect retries cover that window.
 *  - Transitions are logged (`upstream.down` warn, with the probe's reason; `upstream.up` info), as
 *    are ejections that end (`upstream.return`). Probes that fail without a transition are debug.
 *  - Coalescing: the first successful `tls` check of each pool completes the handshake and calls
 *    `onCertificate({ pool, server, names })` with the certificate's DNS names, once per pool for the
 *    monitor's lifetime (coalesce.ts turns that into warnings).
 *  - Never throws: a failing callback is logged; a probe that fails is a failed check.
 *  - `stop()` cancels the timers and every probe in flight and resolves when their sockets are gone;
 *    results that arrive after stop() are not recorded. Timers are unref'd: the monitor never keeps
 *    a process alive by itself.
 */
import type { Logger } from 'pino'
import { recordCheck, serverStats, sweepEjections, Transition, type ServerTable } from './state.ts'
import { probeServer, type ProbeResult } from './probe.ts'
import type { PoolSpec } from './types.ts'
import { LogEvent } from '../log/events.ts'

/** This module's log event names, from the one list (log/events.ts). */
export const UpstreamLogEvent = {
  Down: LogEvent.UpstreamDown,
  Up: LogEvent.UpstreamUp,
  Return: LogEvent.UpstreamReturn,
  Eject: LogEvent.UpstreamEject,
  CheckFailed: LogEvent.UpstreamCheckFailed,
  Coalesce: LogEvent.UpstreamCoalesce,
  CallbackError: LogEvent.UpstreamCallbackError,
} as const

/** ms. The first checks of a pool are spread over min(interval, this), so startup learns health soon. */
export const FIRST_CHECK_SPREAD_MS = 1_000
/** ms between sweeps for ended ejections: an ejection lasts its configured time to within this. */
export const EJECT_SWEEP_MS = 250

export interface CertificateEvent {
  pool: string
  poolIndex: number
  /** `host:port` of the server whose certificate it is */
  server: string
  names: string[]
}

export interface MonitorOptions {
  logger: Logger
  onCertificate?: (event: CertificateEvent) => void
  /** ms between ejection sweeps (default EJECT_SWEEP_MS) */
  sweepMs?: number
}

class ServerCheck {
  readonly s: number
  readonly poolIndex: number
  readonly pool: PoolSpec
  timer: NodeJS.Timeout | null = null
  inFlight: Promise<void> | null = null

  constructor (s: number, poolIndex: number, pool: PoolSpec) {
    this.s = s
    this.poolIndex = poolIndex
    this.pool = pool
  }
}

export class UpstreamMonitor {
  readonly table: ServerTable
  readonly pools: readonly PoolSpec[]
  readonly logger: Logger
  readonly onCertificate: ((event: CertificateEvent) => void) | null
  readonly sweepMs: number
  readonly checks: ServerCheck[] = []
  /** per pool: the certificate has been reported */
  readonly certSeen: boolean[]
  readonly abort = new AbortController()
  sweeper: NodeJS.Timeout | null = null
  stopped = false
  started = false

  constructor (table: ServerTable, pools: readonly PoolSpec[], options: MonitorOptions) {
    this.table = table
    this.pools = pools
    this.logger = options.logger
    this.onCertificate = options.onCertificate ?? null
    this.sweepMs = options.sweepMs ?? EJECT_SWEEP_MS
    this.certSeen = pools.map(() => false)
    pools.forEach((p, pi) => {
      if (p.health.check === 'off') return
      for (let i = 0; i < p.servers.length; i++) this.checks.push(new ServerCheck(table.poolFirst[pi]! + i, pi, p))
    })
  }

  start (): void {
    if (this.started || this.stopped) return
    this.started = true
    const perPool = new Map<number, number>()
    for (const c of this.checks) {
      const i = perPool.get(c.poolIndex) ?? 0
      perPool.set(c.poolIndex, i + 1)
      const spread = Math.min(c.pool.health.intervalMs, FIRST_CHECK_SPREAD_MS)
      this.schedule(c, Math.floor(i * spread / c.pool.servers.length))
    }
    this.sweeper = setInterval(() => { this.sweep() }, this.sweepMs)
    this.sweeper.unref()
  }

  async stop (): Promise<void> {
    this.stopped = true
    if (this.sweeper !== null) clearInterval(this.sweeper)
    for (const c of this.checks) if (c.timer !== null) clearTimeout(c.timer)
    this.abort.abort()
    await Promise.all(this.checks.map((c) => c.inFlight))
  }

  schedule (c: ServerCheck, delayMs: number): void {
    if (this.stopped) return
    c.timer = setTimeout(() => {
      c.timer = null
      c.inFlight = this.run(c).finally(() => {
        c.inFlight = null
        this.schedule(c, c.pool.health.intervalMs)
      })
    }, delayMs)
    c.timer.unref()
  }

  async run (c: ServerCheck): Promise<void> {
    const h = c.pool.health
    const wantCert = h.check === 'tls' && this.onCertificate !== null && !this.certSeen[c.poolIndex]!
    let r: ProbeResult
    try {
      r = await probeServer({
        host: this.table.serverHosts[c.s]!,
        port: this.table.serverPort[c.s]!,
        check: h.check === 'tls' ? 'tls' : 'tcp',
        timeoutMs: h.timeoutMs,
        servername: h.name,
        proxyProtocol: c.pool.proxyProtocol,
        certificate: wantCert,
        signal: this.abort.signal,
      })
    } catch (err) {
      this.logger.error({ evt: UpstreamLogEvent.CallbackError, pool: c.pool.name, err }, UpstreamLogEvent.CallbackError)
      return
    }
    if (this.stopped) return
    this.record(c, r)
    if (r.ok && wantCert && r.names !== null) {
      this.certSeen[c.poolIndex] = true
      try {
        this.onCertificate!({ pool: c.pool.name, poolIndex: c.poolIndex, server: this.table.serverLabels[c.s]!, names: r.names })
      } catch (err) {
        this.logger.error({ evt: UpstreamLogEvent.CallbackError, pool: c.pool.name, err }, UpstreamLogEvent.CallbackError)
      }
    }
  }

  record (c: ServerCheck, r: ProbeResult): void {
    const h = c.pool.health
    const t = recordCheck(this.table, c.s, r.ok, h.rise, h.fall)
    const server = this.table.serverLabels[c.s]!
    if (t === Transition.Down) {
      this.logger.warn({ evt: UpstreamLogEvent.Down, pool: c.pool.name, server, reason: r.reason, detail: r.detail, checks: h.fall }, UpstreamLogEvent.Down)
    } else if (t === Transition.Up) {
      this.logger.info({ evt: UpstreamLogEvent.Up, pool: c.pool.name, server, checks: h.rise }, UpstreamLogEvent.Up)
    } else if (!r.ok) {
      this.logger.debug({ evt: UpstreamLogEvent.CheckFailed, pool: c.pool.name, server, reason: r.reason, detail: r.detail }, UpstreamLogEvent.CheckFailed)
    }
  }

  sweep (): void {
    try {
      sweepEjections(this.table, Date.now(), (s) => {
        this.logger.info({ evt: UpstreamLogEvent.Return, pool: this.table.poolNames[this.table.serverPool[s]!], server: this.table.serverLabels[s] }, UpstreamLogEvent.Return)
      })
    } catch (err) {
      this.logger.error({ evt: UpstreamLogEvent.CallbackError, err }, UpstreamLogEvent.CallbackError)
    }
  }

  /** Snapshot of every server (for `hellogate check` and the metrics endpoint). */
  stats (): ReturnType<typeof serverStats> {
    return serverStats(this.table, Date.now())
  }
}
