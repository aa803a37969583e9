/**
 * Config reload: routes and the default route are swapped whole in every worker; sessions already
 * relaying keep the origin they picked. With the table, every worker gets the new timeouts, limits
 * (maxHelloBytes, its share of maxConnections) and log level/access (LiveSettings), which apply to
 * connections accepted from then on. Keys that shape listeners, threads or the process (listen, workers,
 * accept, balance, timeouts.shutdown, log.file, admin, quic) need a restart: a reload keeps their running values and reports them
 * in `needsRestart`, in the log (a warning) and in the /reload answer; `applied` lists what changed live.
 *
 * `reloadFromFile` is the whole orchestration — load and compile off the main thread, swap, report, log —
 * so that every trigger (the CLI's SIGHUP, `ProxyHandle.reload`, an admin endpoint) does the same thing.
 * It never rejects: a bad file leaves the running routes in place and comes back as `{ ok: false }`.
 *
 * The file is loaded and compiled in a one-thread piscina pool (reload-task.ts says why), created on the
 * first reload and closed when idle, with `atomics: 'disabled'` (its default 'sync' mode blocks the pool
 * thread in Atomics.wait between tasks; harmless there, but we keep every thread of ours non-blocking).
 */
import { performance } from 'node:perf_hooks'
import { Piscina } from 'piscina'
import type { Logger } from 'pino'
import type { ProxyConfig } from '../config/types.ts'
import type { RouteTables } from '../relay/context.ts'
import { ErrorCode, ErrorSource, isProxyError, ProxyError } from '../errors.ts'
import { LogEvent } from '../log/index.ts'
import type { CompiledConfig, CompileInput } from './reload-task.ts'
import { parseConfig } from '../config/index.ts'
import { buildRouteState } from './route-state.ts'
import { liveSettings } from './supervisor.ts'
import type { LiveSettings } from './messages.ts'
import type { FleetInput } from '../source/fleet.ts'
import type { FleetDelta } from '../source/fleet-delta.ts'

/** The pool thread exits after this long without a reload: reloads are rare, a thread is ~10 MiB. */
const RELOAD_POOL_IDLE_MS = 30_000

const TASK_URL = new URL(import.meta.url.endsWith('.ts') ? './reload-task.ts' : './reload-task.js', import.meta.url)

let pool: Piscina | null = null

/** What a reload did: the new table is live, or the error and the running table kept. */
export type ReloadResult =
  | {
    readonly ok: true
    /** routes in the new table */
    readonly routes: number
    /** ms from the reload request to the swap */
    readonly ms: number
    /** changed keys a reload cannot apply (restartOnlyChanges) */
    readonly needsRestart: readonly string[]
    /** changed keys it applied live (liveChanges) */
    readonly applied: readonly string[]
  }
  | { readonly ok: false, readonly error: ProxyError }

/** What a reload needs from the running proxy (ProxyHandle has it). */
export interface Reloadable {
  readonly config: ProxyConfig
  updateRoutes: (tables: RouteTables, live?: LiveSettings) => void
}

/**
 * Load, validate and compile `file` (or a file's value merged with etcd's entries) off the main thread.
 * Rejects with the config error (a ProxyError).
 */
export async function loadRoutesOffThread (file: CompileInput): Promise<CompiledConfig & { ok: true }> {
  return compiledOrThrow(await run(file))
}

/** the compiled config, or the config error (a delta's miss, handled by loadFleetDeltaOffThread, is a bug here) */
function compiledOrThrow (result: CompiledConfig): CompiledConfig & { ok: true } {
  if (result.ok) return result
  if ('miss' in result) throw new ProxyError(ErrorCode.INTERNAL, 'the reload thread holds no compile for this delta', { source: ErrorSource.Internal })
  throw ProxyError.fromJSON(result.error)
}

/**
 * An etcd change as a delta against the compile the reload thread kept (source/fleet-delta.ts); when the
 * thread no longer holds that compile (a miss), the whole input `full()` gives, read at that moment.
 */
export async function loadFleetDeltaOffThread (delta: FleetDelta, full: () => FleetInput): Promise<CompiledConfig & { ok: true }> {
  const result = await run({ delta })
  if (!result.ok && 'miss' in result) return await loadRoutesOffThread(full())
  return compiledOrThrow(result)
}

function run (input: CompileInput): Promise<CompiledConfig> {
  pool ??= new Piscina({
    filename: TASK_URL.href,
    minThreads: 0,
    maxThreads: 1,
    idleTimeout: RELOAD_POOL_IDLE_MS,
    atomics: 'disabled',
  })
  return pool.run(input) as Promise<CompiledConfig>
}

/** Reload `file` into a running proxy and log the result (`reload`, or `config.error` with the table kept). */
export function reloadFromFile (proxy: Reloadable, file: string, logger: Logger): Promise<ReloadResult> {
  return reloadWith(proxy, file, () => loadRoutesOffThread(file), logger)
}

/**
 * Reload from a config value (what a file would contain; the library's `reload(config)`), validated and
 * compiled on this thread: an embedding application's tables are its own business, and a value has no
 * file to hand to the pool thread. Same swap, result and log as reloadFromFile.
 */
export function reloadFromValue (proxy: Reloadable, raw: unknown, logger: Logger): Promise<ReloadResult> {
  return reloadWith(proxy, INLINE, () => {
    const config = parseConfig(raw, INLINE)
    return Promise.resolve({ config, state: buildRouteState(config) })
  }, logger)
}

/**
 * The config of each proxy's last successful reload: what the live settings in force came from, so that
 * `applied` names what this reload changed (the restart-only keys are compared with the startup config,
 * whose values stay in force).
 */
const lastApplied = new WeakMap<Reloadable, ProxyConfig>()

/** the pseudo-file name of a config given as a value */
const INLINE = '<inline>'

/**
 * Load (a file off-thread, or a value, or etcd's entries: source/etcd.ts), swap, report, log; never
 * rejects (module header). `file` names the source.
 */
export async function reloadWith (proxy: Reloadable, file: string, load: () => Promise<{ config: ProxyConfig, state: RouteTables }>, logger: Logger): Promise<ReloadResult> {
  const t0 = performance.now()
  try {
    const { config, state } = await load()
    // workers keep their running count: the per-worker share of maxConnections is of the running workers
    proxy.updateRoutes(state, liveSettings(config, proxy.config.workers))
    logger.level = config.log.level
    const previous = lastApplied.get(proxy) ?? proxy.config
    lastApplied.set(proxy, config)
    const result = {
      ok: true,
      // the table's count: a config from the reload thread comes without its RouteEntry objects (reload-task.ts)
      routes: state.routes.size,
      ms: Math.round(performance.now() - t0),
      needsRestart: restartOnlyChanges(proxy.config, config),
      applied: liveChanges(previous, config),
    } as const
    if (result.needsRestart.length === 0) {
      logger.info({ evt: LogEvent.Reload, routes: result.routes, ms: result.ms, applied: result.applied, needsRestart: result.needsRestart }, LogEvent.Reload)
    } else {
      logger.warn({
        evt: LogEvent.Reload,
        routes: result.routes,
        ms: result.ms,
        applied: result.applied,
        needsRestart: result.needsRestart,
        hint: result.needsRestart.join(', ') + ' changed but keep their running values until hellogate is restarted',
      }, LogEvent.Reload)
    }
    return result
  } catch (err) {
    const error = isProxyError(err)
      ? err
      : new ProxyError(ErrorCode.INTERNAL, 'reload of ' + file + ' failed: ' + String(err), { source: ErrorSource.Internal, cause: err })
    logger.error({ evt: LogEvent.ConfigError, code: error.code, key: error.key, message: error.message, kept: 'running routes' }, LogEvent.ConfigError)
    return { ok: false, error }
  }
}

export async function closeReloadPool (): Promise<void> {
  const p = pool
  pool = null
  await p?.destroy()
}

/** Keys whose change a reload cannot apply (they shape listeners, threads or the process). */
export function restartOnlyChanges (running: ProxyConfig, next: ProxyConfig): string[] {
  const changed: string[] = []
  if (JSON.stringify(running.listen) !== JSON.stringify(next.listen)) changed.push('listen')
  if (running.workers !== next.workers) changed.push('workers')
  if (running.accept !== next.accept) changed.push('accept')
  if (running.balance !== next.balance) changed.push('balance')
  // the drain deadline is the one the proxy was started with (the signal handler holds it)
  if (running.timeouts.shutdownMs !== next.timeouts.shutdownMs) changed.push('timeouts.shutdown')
  if (running.log.file !== next.log.file) changed.push('log.file')
  if (JSON.stringify(running.admin) !== JSON.stringify(next.admin)) changed.push('admin')
  // the workers bind the plain-HTTP listeners at start; originPort, httpPort and forward: travel with the table
  if (JSON.stringify(running.http?.listen ?? null) !== JSON.stringify(next.http?.listen ?? null)) changed.push('http.listen')
  // the etcd client and its watch are made once, at start
  if (JSON.stringify(running.source) !== JSON.stringify(next.source)) changed.push('source')
  // each worker's admission state (client-limits.ts) is sized and configured for these at start
  if (running.limits.maxPendingHellos !== next.limits.maxPendingHellos) changed.push('limits.maxPendingHellos')
  if (JSON.stringify(running.limits.perClient) !== JSON.stringify(next.limits.perClient)) changed.push('limits.perClient')
  // UDP listeners and each worker's flow-table limits are set up at start (quic-relay/)
  if (JSON.stringify(running.quic) !== JSON.stringify(next.quic)) changed.push('quic')
  return changed
}

/** Keys a reload applies live (LiveSettings) whose value differs from the settings in force (`running`). */
export function liveChanges (running: ProxyConfig, next: ProxyConfig): string[] {
  const changed: string[] = []
  for (const k of ['helloMs', 'connectMs', 'idleMs'] as const) {
    if (running.timeouts[k] !== next.timeouts[k]) changed.push('timeouts.' + k.slice(0, -2))
  }
  for (const k of ['maxHelloBytes', 'maxConnections'] as const) if (running.limits[k] !== next.limits[k]) changed.push('limits.' + k)
  if (running.log.level !== next.log.level) changed.push('log.level')
  if (running.log.access !== next.log.access) changed.push('log.access')
  return changed
}
