/**
 * The operations lifecycle around a running proxy, one implementation for `hellogate serve`,
 * `hellogate demo` and the library's createProxy (index.ts):
 *
 *  - phase: starting → running (once the proxy and the admin endpoint are up) → draining (close began:
 *    /readyz answers 503) → stopped (every worker gone);
 *  - one reload function, shared by SIGHUP, POST /reload and `createProxy().reload()`: one reload at a
 *    time (a second one while the first compiles is refused with HG_ERR_RELOAD_BUSY and changes
 *    nothing), each outcome recorded once in the ReloadLedger (trackReloads) for /metrics and /status;
 *  - the admin endpoint (when configured), started after the proxy and closed after it, so that a scrape
 *    during the drain still gets an answer;
 *  - `startServing`: the start itself, the same for both — with `source.etcd`, etcd's routes (or the
 *    snapshot) merged in before anything listens, then the workers, the admin endpoint, and the source's
 *    watch, whose changes go through the one reload.
 *
 * Nothing here is on the connection path: it reads the proxy's shared memory through its handle.
 */
import type { Logger } from 'pino'
import type { AdminConfig } from './config/types.ts'
import { startAdminServer, type AdminServer } from './admin/server.ts'
import { createAdminTarget, Phase, trackReloads, type ReloadOutcome, type SourceReadiness } from './admin/target.ts'
import { ReloadLedger } from './metrics/reloads.ts'
import type { EtcdSourceMetrics } from './metrics/prometheus.ts'
import { ErrorCode } from './errors.ts'
import type { ProxyConfig } from './config/types.ts'
import type { ProxyHandle, ReloadResult, WorkerPrestart } from './pool/index.ts'
import type { EtcdSource } from './source/etcd.ts'

/** What the lifecycle needs from a running proxy (startProxy's handle has it). */
export type OperatedProxy = Pick<ProxyHandle, 'config' | 'stats' | 'reload' | 'metricSources'> & Partial<Pick<ProxyHandle, 'collectGarbage'>>

export interface Lifecycle {
  readonly phase: Phase
  /** the admin endpoint, once started; null when admin is off */
  readonly admin: AdminServer | null
  readonly ledger: ReloadLedger
  /**
   * Run one reload (default: the proxy's own config file) and record its outcome; never rejects. While
   * another reload runs, answers HG_ERR_RELOAD_BUSY at once.
   */
  reload: (run?: () => Promise<ReloadResult>) => Promise<ReloadOutcome>
  /** Start the admin endpoint if `admin` is set (HG_ERR_ADMIN_TOKEN / HG_ERR_LISTEN reject), then the phase is running. */
  start: (admin: AdminConfig | null) => Promise<void>
  /** draining → `closeProxy()` → stopped → admin endpoint closed. Idempotent. */
  close: (closeProxy: () => Promise<void>) => Promise<void>
}

/** A ReloadResult as the admin endpoint answers it (the error as plain data). */
export function toOutcome (r: ReloadResult): ReloadOutcome {
  if (r.ok) return { ok: true, routes: r.routes, ms: r.ms, needsRestart: r.needsRestart, applied: r.applied }
  return { ok: false, error: { code: r.error.code, message: r.error.message, key: r.error.key, file: r.error.file } }
}

/** What a route source other than the file adds (source/etcd.ts): its reload and its readiness. */
export interface LifecycleSource {
  /** the reload SIGHUP and POST /reload run instead of the proxy's file reload */
  readonly reload: () => Promise<ReloadResult>
  readonly readiness: () => SourceReadiness
  /** its figures for /metrics */
  readonly metrics?: () => EtcdSourceMetrics
}

export function createLifecycle (proxy: OperatedProxy, logger: Logger, version: string, source?: LifecycleSource): Lifecycle {
  let phase: Phase = Phase.Starting
  let admin: AdminServer | null = null
  let inFlight: Promise<ReloadOutcome> | null = null
  let closed: Promise<void> | null = null
  const ledger = new ReloadLedger(proxy.config.routes.length)
  const fullReload = source?.reload ?? (() => proxy.reload())
  let next: () => Promise<ReloadResult> = fullReload
  const tracked = trackReloads(ledger, async () => toOutcome(await next()))

  function reload (run: () => Promise<ReloadResult> = fullReload): Promise<ReloadOutcome> {
    if (inFlight !== null) {
      return Promise.resolve({ ok: false, error: { code: ErrorCode.RELOAD_BUSY, message: 'a reload is already in progress; try again when it has finished' } })
    }
    next = run
    const p = tracked().finally(() => { inFlight = null })
    inFlight = p
    return p
  }

  async function start (options: AdminConfig | null): Promise<void> {
    if (options !== null) {
      const target = createAdminTarget({
        version,
        phase: () => phase,
        stats: () => proxy.stats(),
        workersUp: () => proxy.stats().up,
        ...proxy.metricSources(),
        reloads: () => ledger.snapshot(),
        reload: () => reload(),
        ...(proxy.collectGarbage === undefined ? {} : { collectGarbage: () => proxy.collectGarbage!() }),
        ...(source === undefined ? {} : { source: source.readiness }),
        ...(source?.metrics === undefined ? {} : { etcd: source.metrics }),
      })
      admin = await startAdminServer(options, target, logger)
    }
    phase = Phase.Running
  }

  function close (closeProxy: () => Promise<void>): Promise<void> {
    closed ??= (async () => {
      phase = Phase.Draining
      try {
        await closeProxy()
      } finally {
        phase = Phase.Stopped
        await admin?.close()
      }
    })()
    return closed
  }

  return {
    get phase () { return phase },
    get admin () { return admin },
    ledger,
    reload,
    start,
    close,
  }
}

/** Where the config being served came from: its file (named in messages, read again on reload), or a value. */
export interface ServeInput {
  /** validated from `file` or `value` */
  readonly config: ProxyConfig
  /** the config file's path, or '<inline>' with `value` */
  readonly file: string
  /** the config as a value (createProxy's inline config); the file is read when absent */
  readonly value?: unknown
  /** workers started while the config compiled (pool/prestart.ts); closed here once the proxy started or failed */
  readonly prestart?: WorkerPrestart
}

/** A started proxy, its lifecycle, and its route source (null without `source.etcd`). */
export interface Serving {
  /** the config in force at start (etcd's routes merged in) */
  readonly config: ProxyConfig
  readonly proxy: ProxyHandle
  readonly life: Lifecycle
  readonly source: EtcdSource | null
}

/**
 * Start `input.config` as `hellogate serve` and createProxy both do (module header). On a failure,
 * whatever was started (source, workers) is closed and the error rethrown for the caller to report.
 */
export async function startServing (input: ServeInput, logger: Logger, version: string): Promise<Serving> {
  const { startProxy } = await import('./pool/index.ts')
  const etcd = input.config.source.etcd
  const source = etcd === null ? null : new (await import('./source/etcd.ts')).EtcdSource(etcd, input.file, logger, input.value)
  let proxy: ProxyHandle
  let config = input.config
  try {
    if (source !== null) config = (await source.load()).config
    proxy = await startProxy(config, logger, input.prestart === undefined ? {} : { prestart: input.prestart })
  } catch (err) {
    await source?.close()
    throw err
  } finally {
    // any the proxy did not take (none when the count was right)
    await input.prestart?.close()
  }
  const life = createLifecycle(proxy, logger, version, source === null
    ? undefined
    : { reload: () => source.reloadFile(), readiness: () => source.readiness(), metrics: () => source.status })
  try {
    await life.start(config.admin)
  } catch (err) {
    await source?.close()
    await proxy.close(0)
    throw err
  }
  // etcd's changes go through the lifecycle's reload too: one swap at a time, each in the ledger
  source?.run(proxy, (run) => life.reload(run))
  return { config, proxy, life, source }
}
