/**
 * Config reload (SIGHUP): routes and the default route are swapped whole in every worker; sessions
 * already relaying keep the origin they picked. Keys that shape listeners or threads (listen, workers,
 * accept, balance) and per-connection limits/timeouts need a restart: a reload reports them and keeps
 * the running values.
 *
 * The file is loaded and compiled in a one-thread piscina pool (reload-task.ts says why), created on the
 * first reload and closed when idle, with `atomics: 'disabled'` (its default 'sync' mode blocks the pool
 * thread in Atomics.wait between tasks; harmless there, but we keep every thread of ours non-blocking).
 */
import { Piscina } from 'piscina'
import type { ProxyConfig } from '../config/types.ts'
import type { ReloadResult } from './reload-task.ts'

/** The pool thread exits after this long without a reload: reloads are rare, a thread is ~10 MiB. */
const RELOAD_POOL_IDLE_MS = 30_000

const TASK_URL = new URL(import.meta.url.endsWith('.ts') ? './reload-task.ts' : './reload-task.js', import.meta.url)

let pool: Piscina | null = null

/** Load, validate and compile `file` off the main thread. Rejects with the config error. */
export async function loadRoutesOffThread (file: string): Promise<ReloadResult> {
  pool ??= new Piscina({
    filename: TASK_URL.href,
    minThreads: 0,
    maxThreads: 1,
    idleTimeout: RELOAD_POOL_IDLE_MS,
    atomics: 'disabled',
  })
  return await (pool.run(file) as Promise<ReloadResult>)
}

export async function closeReloadPool (): Promise<void> {
  const p = pool
  pool = null
  await p?.destroy()
}

/** Keys whose change a reload cannot apply (they shape listeners, threads or per-worker limits). */
export function restartOnlyChanges (running: ProxyConfig, next: ProxyConfig): string[] {
  const changed: string[] = []
  if (JSON.stringify(running.listen) !== JSON.stringify(next.listen)) changed.push('listen')
  if (running.workers !== next.workers) changed.push('workers')
  if (running.accept !== next.accept) changed.push('accept')
  if (running.balance !== next.balance) changed.push('balance')
  if (JSON.stringify(running.timeouts) !== JSON.stringify(next.timeouts)) changed.push('timeouts')
  if (JSON.stringify(running.limits) !== JSON.stringify(next.limits)) changed.push('limits')
  if (JSON.stringify(running.log) !== JSON.stringify(next.log)) changed.push('log')
  return changed
}
