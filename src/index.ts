/**
 * The `hellogate` package: embed the proxy in an application, or drive it from a test, without the CLI.
 *
 *   import { createProxy } from 'hellogate'
 *   const proxy = createProxy({ listen: '127.0.0.1:0', routes: { 'a.example.com': '10.0.0.1:443' } })
 *   await proxy.start()                 // workers listening (proxy.addresses has the bound ports)
 *   await proxy.reload({ ...newConfig }) // or a file path; answers ok + table, or the config error
 *   proxy.stats()                       // counters, per-worker load, read from shared memory
 *   await proxy.close({ deadline: 5000 }) // stop accepting, let connections finish ≤ 5 s, then close them
 *
 * Contract:
 *  - Importing this module has no side effects: nothing is loaded, listened on or logged until
 *    `start()` (which imports the pool, the config validator and pino on demand).
 *  - The config is what a config file holds, as a value (validated exactly like a file; errors are
 *    ProxyErrors naming the key, with `<inline>` as the file) or a config file path.
 *  - `start()` runs the same lifecycle as `hellogate serve` (lifecycle.ts): with `admin.listen` set the
 *    admin endpoint starts after the workers (`adminUrl`), /readyz turns 503 once `close()` begins.
 *  - With `source.etcd`, routes come from etcd as with `hellogate serve` (merged under the config's own,
 *    watched, swapped in live); `reload()` then merges the new config with etcd's entries as they are.
 *  - `reload()` never rejects: a refused config keeps the running table and comes back as
 *    `{ ok: false, error }`; one reload at a time (a second one meanwhile answers HG_ERR_RELOAD_BUSY).
 *  - Logs go to `options.logger` (a pino logger), else a logger at the config's `log.level` writing to
 *    `log.file` or stdout.
 */
import type { Logger } from 'pino'
import type { HostPort, ProxyConfig } from './config/types.ts'
import type { ReloadOutcome } from './admin/target.ts'
import type { ProxyHandle, ProxyStats } from './pool/index.ts'
import type { Lifecycle } from './lifecycle.ts'
import type { EtcdSource } from './source/etcd.ts'
import { ErrorCode, ErrorSource, ProxyError } from './errors.ts'

export const VERSION = '0.1.0'

/** the file name an inline config's messages carry */
const INLINE = '<inline>'

export { ErrorCode, isProxyError, ProxyError } from './errors.ts'
export type { HostPort, ProxyConfig } from './config/types.ts'
export type { ReloadOutcome } from './admin/target.ts'
export type { ProxyStats } from './pool/index.ts'

/** A config as a file would hold it (YAML/JSON mapping), or the path of a config file. */
export type ConfigInput = Readonly<Record<string, unknown>> | string

export interface CreateProxyOptions {
  /** where the proxy logs; default: pino at the config's log.level, to log.file or stdout */
  readonly logger?: Logger
}

export interface CloseOptions {
  /** ms open connections may take to finish before they are closed; default timeouts.shutdown */
  readonly deadline?: number
}

export interface HellogateProxy {
  /** Validate the config, start the workers (and the admin endpoint if configured). Rejects with a ProxyError. */
  start: () => Promise<void>
  /** Swap in a new config (a value or a file path); see the module header. */
  reload: (config: ConfigInput) => Promise<ReloadOutcome>
  /** Counters and per-worker load, summed from shared memory. Throws before start(). */
  stats: () => ProxyStats
  /** Stop accepting, drain up to `deadline` ms, close. Idempotent; a no-op before start(). */
  close: (options?: CloseOptions) => Promise<void>
  /** bound listen addresses (ports resolved); empty before start() */
  readonly addresses: readonly HostPort[]
  /** bound QUIC (UDP) addresses (ports resolved); empty without `quic` or before start() */
  readonly quicAddresses: readonly HostPort[]
  /** the admin endpoint's URL, or null when admin is off (or before start()) */
  readonly adminUrl: string | null
  /** the validated config in force at start; null before start() */
  readonly config: ProxyConfig | null
}

/** A proxy that is not started yet: no port, no thread, no log line until `start()`. */
export function createProxy (config: ConfigInput, options: CreateProxyOptions = {}): HellogateProxy {
  let handle: ProxyHandle | null = null
  let life: Lifecycle | null = null
  let logger: Logger | null = null
  let starting: Promise<void> | null = null
  let source: EtcdSource | null = null

  async function load (input: ConfigInput): Promise<ProxyConfig> {
    const { loadConfigFile, parseConfig } = await import('./config/index.ts')
    return typeof input === 'string' ? await loadConfigFile(input) : parseConfig(input, INLINE)
  }

  async function startOnce (): Promise<void> {
    const [cfg, { startServing }, { createLogger }] = await Promise.all([
      load(config), import('./lifecycle.ts'), import('./log/index.ts'),
    ])
    const log = options.logger ?? createLogger({ level: cfg.log.level, file: cfg.log.file })
    const s = await startServing(typeof config === 'string' ? { config: cfg, file: config } : { config: cfg, file: INLINE, value: config }, log, VERSION)
    logger = log
    handle = s.proxy
    life = s.life
    source = s.source
  }

  function running (): { handle: ProxyHandle, life: Lifecycle, logger: Logger } {
    if (handle === null || life === null || logger === null) {
      throw new ProxyError(ErrorCode.INTERNAL, 'hellogate: the proxy is not started (await proxy.start() first)', { source: ErrorSource.Internal })
    }
    return { handle, life, logger }
  }

  return {
    start () {
      starting ??= startOnce()
      return starting
    },
    async reload (next: ConfigInput) {
      const r = running()
      const src = source
      // with source.etcd the new file or value is merged with etcd's entries as they are now
      if (src !== null) return await r.life.reload(() => src.reloadFile(next))
      const { reloadFromValue } = await import('./pool/index.ts')
      return await r.life.reload(() => typeof next === 'string' ? r.handle.reload(next) : reloadFromValue(r.handle, next, r.logger))
    },
    stats () {
      return running().handle.stats()
    },
    async close (opts: CloseOptions = {}) {
      if (starting !== null) await starting.catch(() => undefined)
      if (handle === null || life === null) return
      const h = handle
      await source?.close()
      await life.close(() => h.close(opts.deadline ?? h.config.timeouts.shutdownMs))
      const { closeReloadPool } = await import('./pool/index.ts')
      await closeReloadPool()
    },
    get addresses () { return handle?.addresses ?? [] },
    get quicAddresses () { return handle?.quicAddresses ?? [] },
    get adminUrl () { return life?.admin?.url ?? null },
    get config () { return handle?.config ?? null },
  }
}
