/**
 * What the admin endpoint needs from a running proxy, as one narrow interface (AdminTarget), and the
 * function that builds it from plain sources (createAdminTarget). The admin server depends on this file
 * only, never on pool/ internals: whoever owns the proxy (the CLI, an embedding application, a test)
 * supplies functions that read its shared memory and run its reload.
 *
 * Contract of every AdminTarget method: cheap (reads shared memory, no message to a worker), never
 * throws for an expected state (draining, a worker down); it may throw for a bug, which the server
 * turns into a 500 without taking the process down.
 *
 * Readiness (GET /readyz) is `ready` only while the proxy is running, every worker is listening and a
 * route table is loaded; `readiness()` is pure so that each reason can be tested on its own.
 */
import type { LoopStatsSnapshot } from '../metrics/loop-stats.ts'
import { readLoopStats } from '../metrics/loop-stats.ts'
import { createMetricsExporter, type MetricsSources } from '../metrics/prometheus.ts'
import type { ReloadLedger, ReloadRecord, ReloadSnapshot } from '../metrics/reloads.ts'
import { ErrorCode } from '../errors.ts'

export const Phase = {
  /** workers are starting; nothing is listening yet */
  Starting: 'starting',
  /** serving */
  Running: 'running',
  /** SIGTERM/close(): listeners closed, open connections finishing */
  Draining: 'draining',
  /** every worker has exited */
  Stopped: 'stopped',
} as const
export type Phase = typeof Phase[keyof typeof Phase]

export interface Readiness {
  readonly ready: boolean
  /** why not ready; empty when ready */
  readonly reasons: readonly string[]
  /** where the routes come from, when not only the file (source.etcd: revision, keys, connection) */
  readonly details?: readonly string[]
}

/** A route source's part of readiness (source/etcd.ts): not ready until its table is in force. */
export interface SourceReadiness {
  readonly ready: boolean
  /** the first is the reason when not ready */
  readonly details: readonly string[]
}

/**
 * Ready only while running, with every worker listening and a route table loaded (generation ≥ 1), and
 * the route source (when there is one) ready.
 */
export function readiness (phase: Phase, workersUp: readonly boolean[], generation: number, source?: SourceReadiness): Readiness {
  const reasons: string[] = []
  if (phase !== Phase.Running) reasons.push(phase)
  if (workersUp.length === 0) reasons.push('no workers')
  workersUp.forEach((up, i) => { if (!up) reasons.push('worker ' + String(i + 1) + ' not listening') })
  if (generation < 1) reasons.push('no route table loaded')
  if (source === undefined) return { ready: reasons.length === 0, reasons }
  if (!source.ready) reasons.push(source.details[0] ?? 'route source not ready')
  return { ready: reasons.length === 0, reasons, details: source.details }
}

export interface ReloadError {
  readonly code?: string | undefined
  readonly message: string
  readonly key?: string | undefined
  readonly file?: string | undefined
}

/** The reload orchestrator's answer (what SIGHUP logs and POST /reload returns). */
export type ReloadOutcome =
  | { readonly ok: true, readonly routes: number, readonly ms: number, readonly needsRestart: readonly string[], readonly applied?: readonly string[] }
  | { readonly ok: false, readonly error: ReloadError }

export interface WorkerStatus {
  /** 1..N, as in the logs */
  readonly id: number
  readonly up: boolean
  readonly active: number
  readonly accepted: number
  /** this worker's counters, when the proxy exposes them per worker */
  readonly counters: Readonly<Record<string, number>> | null
  /** event-loop figures of the last second; null when the worker has not published any */
  readonly loop: LoopStatsSnapshot | null
}

export interface RouteCount {
  readonly route: string
  readonly connections: number
}

/** GET /status. Stable JSON: tools (`hellogate status`, `hellogate top`) read it. */
export interface StatusJson {
  readonly version: string
  readonly pid: number
  readonly node: string
  /** Date.now() when this snapshot was taken (rates are computed between two snapshots' times) */
  readonly time: number
  readonly uptimeSeconds: number
  readonly phase: Phase
  readonly ready: Readiness
  readonly workers: readonly WorkerStatus[]
  readonly restarts: number
  readonly table: {
    readonly generation: number
    readonly routes: number
    /** ISO time the table in force was installed */
    readonly loadedAt: string
  }
  readonly reloads: { readonly ok: number, readonly error: number, readonly last: ReloadRecord | null }
  /** counters summed over workers (metrics/counters.ts names) */
  readonly counters: Readonly<Record<string, number>>
  /** connections per route label, most first; only labels with at least one connection */
  readonly routes: readonly RouteCount[]
}

/** What the admin server calls. */
/** POST /debug/gc's answer (pool/gc.ts GcResult has this shape; kept here so admin/ needs nothing of pool/) */
export type GcOutcome =
  | { readonly ok: true, readonly threads: number, readonly ms: number, readonly heapUsedBytes: number, readonly mallocInUseBytes: number | null }
  | { readonly ok: false, readonly reason: string }

/** Without a proxy that can collect (an AdminTarget built without collectGarbage). */
const NO_GC: GcOutcome = { ok: false, reason: 'this proxy offers no garbage collection hook' }

export interface AdminTarget {
  status: () => StatusJson
  ready: () => Readiness
  reload: () => Promise<ReloadOutcome>
  /** Prometheus text format */
  metrics: () => Promise<string>
  /** POST /debug/gc (pool/gc.ts): a full GC in every thread; not ok without --expose-gc or without a proxy that can */
  collectGarbage: () => Promise<GcOutcome>
}

export interface AdminTargetSources extends MetricsSources {
  readonly phase: () => Phase
  /** per worker: listening now (slot up); default: every worker counted in stats() is up */
  readonly workersUp?: () => readonly boolean[]
  /** per worker counters (name → value), when available */
  readonly workerCounters?: () => ReadonlyArray<Readonly<Record<string, number>>>
  /** runs one reload; record it in the ledger (trackReloads) so /metrics and /status see it */
  readonly reload: () => Promise<ReloadOutcome>
  readonly reloads: () => ReloadSnapshot
  /** the route source's readiness (source.etcd); absent: the file only */
  readonly source?: () => SourceReadiness
  /** a full GC in every thread of the proxy (ProxyHandle.collectGarbage); absent: the proxy cannot */
  readonly collectGarbage?: () => Promise<GcOutcome>
}

export function createAdminTarget (src: AdminTargetSources): AdminTarget {
  const exporter = createMetricsExporter(src)
  const workersUp = (): readonly boolean[] => src.workersUp?.() ?? src.stats().active.map(() => true)

  function ready (): Readiness {
    return readiness(src.phase(), workersUp(), src.reloads().generation, src.source?.())
  }

  function status (): StatusJson {
    const now = Date.now()
    const stats = src.stats()
    const up = workersUp()
    const perWorker = src.workerCounters?.() ?? []
    const loops = src.loopStats?.() ?? []
    const reloads = src.reloads()
    const routes: RouteCount[] = []
    for (const [route, connections] of src.routes?.() ?? []) if (connections > 0) routes.push({ route, connections })
    routes.sort((a, b) => b.connections - a.connections)
    return {
      version: src.version,
      pid: process.pid,
      node: process.version,
      time: now,
      uptimeSeconds: Math.round(process.uptime() * 1000) / 1000,
      phase: src.phase(),
      ready: readiness(src.phase(), up, reloads.generation, src.source?.()),
      workers: stats.active.map((active, i) => {
        const view = loops[i] ?? null
        const loop = view === null ? null : readLoopStats(view, now)
        return {
          id: i + 1,
          up: up[i] ?? false,
          active,
          accepted: stats.accepted[i] ?? 0,
          counters: perWorker[i] ?? null,
          loop: loop?.ageMs === null ? null : loop,
        }
      }),
      restarts: stats.restarts,
      table: { generation: reloads.generation, routes: reloads.routes, loadedAt: new Date(reloads.loadedAt).toISOString() },
      reloads: { ok: reloads.ok, error: reloads.error, last: reloads.last },
      counters: stats.counters,
      routes,
    }
  }

  const collectGarbage = src.collectGarbage ?? (() => Promise.resolve(NO_GC))
  return { status, ready, reload: src.reload, metrics: exporter.metrics, collectGarbage }
}

/**
 * Wrap a reload function so each outcome is recorded once in the ledger. Use the wrapped function for
 * both SIGHUP and POST /reload; a thrown error is recorded as a failed reload and answered as one.
 */
export function trackReloads (ledger: ReloadLedger, reload: () => Promise<ReloadOutcome>): () => Promise<ReloadOutcome> {
  return async () => {
    const t0 = performance.now()
    let outcome: ReloadOutcome
    try {
      outcome = await reload()
    } catch (err) {
      const e = err as { code?: unknown, message?: unknown, key?: unknown, file?: unknown }
      outcome = {
        ok: false,
        error: {
          code: typeof e.code === 'string' ? e.code : undefined,
          message: typeof e.message === 'string' ? e.message : String(err),
          key: typeof e.key === 'string' ? e.key : undefined,
          file: typeof e.file === 'string' ? e.file : undefined,
        },
      }
    }
    // a refused concurrent reload changed nothing: it is not a failed reload
    if (outcome.ok) ledger.recordOk(outcome.routes, outcome.ms, outcome.needsRestart)
    else if (outcome.error.code !== ErrorCode.RELOAD_BUSY) ledger.recordError(outcome.error.code ?? 'unknown', outcome.error.message, performance.now() - t0)
    return outcome
  }
}
