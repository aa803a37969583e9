/**
 * The proxy under test, alone in its own process, for the accept-model study (bench/accept/run.ts).
 *
 * Usage (spawned by run.ts with an IPC channel; not meant to be run by hand):
 *   node bench/accept/proxy-child.ts --accept handoff|reuseport --workers N --origin-port P --sni NAME
 *        [--balance leastconn|roundrobin] [--impl dist|src|<compiled dir>]
 *
 * Contract:
 * - Starts the real proxy, `startProxy(parseConfig(…), createLogger(…))`, from dist/ (default; needs
 *   `npm run build`) or src/ (`--impl src`, Node 24 strips the types). One route: NAME → 127.0.0.1:P,
 *   no default route, log level `warn` to stderr, access log off (one line per connection would
 *   measure pino, not accept).
 * - IPC: sends `ready {port, pid, mainCpuSource}` once listening; answers `stats` with
 *   `handle.stats()`, the main thread's CPU (`process.threadCpuUsage()`, Node ≥ 23.9; else
 *   /proc/PID/task/PID/stat, since the main thread's TID is the PID) and the whole process's CPU
 *   (`process.cpuUsage()`, getrusage RUSAGE_SELF: every thread). `reload {file}` runs
 *   `handle.reload(file)` (what SIGHUP does) and answers once it is done, for bench/load/reload.ts.
 *   `stop` (or SIGTERM, or the channel closing) closes the proxy with a short grace and exits.
 *
 * Limits: answering `stats` itself costs the main thread a few µs; it is asked twice per window.
 */
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import type { Logger } from 'pino'
import type { ProxyConfig } from '../../src/config/types.ts'
import type { ProxyHandle } from '../../src/pool/main.ts'
import { threadCpuTimeMs } from '../lib/proc.ts'
import type { ProxyReady, ProxyReloadReply, ProxyStatsReply } from './protocol.ts'

/** Grace for open connections when stopping: the load is already drained, so this only bounds stragglers. */
const STOP_GRACE_MS = 1_000
/** Upper bound on the proxy's open connections; far above any in-flight count the study uses. */
const MAX_CONNECTIONS = 100_000

interface PoolModule {
  startProxy: (config: ProxyConfig, logger: Logger) => Promise<ProxyHandle>
}
interface ConfigModule {
  parseConfig: (raw: unknown, file: string) => ProxyConfig
}
interface LogModule {
  createLogger: (opts: { level: ProxyConfig['log']['level'], worker?: number, destination?: number }) => Logger
}

const { values } = parseArgs({
  options: {
    accept: { type: 'string' },
    workers: { type: 'string' },
    'origin-port': { type: 'string' },
    sni: { type: 'string' },
    balance: { type: 'string', default: 'leastconn' },
    impl: { type: 'string', default: 'dist' },
  },
})

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

/** Import a module of the proxy from dist/ (compiled) or src/ (type-stripped), by runtime path so typecheck never needs dist. */
async function load<T> (impl: string, rel: string): Promise<T> {
  // `src`: type-stripped sources; anything else names a compiled tree (`dist`, or e.g. `dist-base` for A/B)
  const file = impl === 'src' ? path.join(ROOT, 'src', rel + '.ts') : path.join(ROOT, impl, rel + '.js')
  return await import(pathToFileURL(file).href) as T
}

function mainThreadCpuUs (): number {
  // process.threadCpuUsage: Node ≥ 23.9 (pinned Node 24 has it); /proc fallback has 10 ms ticks
  if (typeof process.threadCpuUsage === 'function') {
    const u = process.threadCpuUsage()
    return u.user + u.system
  }
  return threadCpuTimeMs(process.pid, process.pid) * 1000
}

function processCpuUs (): number {
  const u = process.cpuUsage()
  return u.user + u.system
}

async function main (): Promise<void> {
  if (process.send === undefined) throw new Error('proxy-child.ts runs under bench/accept/run.ts (needs an IPC channel)')
  const impl = values.impl
  const [pool, config, log] = await Promise.all([
    load<PoolModule>(impl, 'pool/index'),
    load<ConfigModule>(impl, 'config/index'),
    load<LogModule>(impl, 'log/index'),
  ])
  const cfg = config.parseConfig({
    listen: '127.0.0.1:0',
    workers: Number(values.workers),
    accept: values.accept,
    // the config refuses `balance` with reuseport (the kernel balances there)
    ...(values.accept === 'handoff' ? { balance: values.balance } : {}),
    routes: { [values.sni ?? '']: `127.0.0.1:${values['origin-port'] ?? ''}` },
    default: 'reject',
    limits: { maxConnections: MAX_CONNECTIONS },
    log: { level: 'warn', access: false },
  }, '<accept-bench>')
  const logger = log.createLogger({ level: 'warn', worker: 0, destination: 2 })
  const handle = await pool.startProxy(cfg, logger)

  let stopping = false
  const stop = (): void => {
    if (stopping) return
    stopping = true
    handle.close(STOP_GRACE_MS).then(() => { process.exit(0) }, (err: unknown) => {
      process.stderr.write(`close failed: ${String(err)}\n`)
      process.exit(1)
    })
  }
  process.on('message', (msg: { type?: string, file?: string }) => {
    if (msg.type === 'reload') {
      handle.reload(msg.file).then((r) => {
        const reply: ProxyReloadReply = r.ok ? { type: 'reload', ok: true, routes: r.routes } : { type: 'reload', ok: false, code: r.error.code }
        process.send?.(reply)
      }, (err: unknown) => { process.send?.({ type: 'reload', ok: false, code: String(err) } satisfies ProxyReloadReply) })
    } else if (msg.type === 'stats') {
      const reply: ProxyStatsReply = { type: 'stats', stats: handle.stats(), mainCpuUs: mainThreadCpuUs(), processCpuUs: processCpuUs() }
      process.send?.(reply)
    } else if (msg.type === 'stop') {
      stop()
    }
  })
  process.once('disconnect', stop)
  process.once('SIGTERM', stop)
  const ready: ProxyReady = {
    type: 'ready',
    port: handle.addresses[0]?.port ?? 0,
    pid: process.pid,
    mainCpuSource: typeof process.threadCpuUsage === 'function' ? 'process.threadCpuUsage' : '/proc/PID/task/PID/stat',
  }
  process.send(ready)
}

main().catch((err: unknown) => {
  process.stderr.write(`proxy-child: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
