/**
 * The `reload` scenario of `npm run bench:load`: new TLS connections through hellogate while its table
 * is reloaded many times, against the same proxy with no reloads as the baseline.
 *
 * Contract: `runReloadScenario()` starts its own proxy — bench/accept/proxy-child.ts, the real pool
 * (`startProxy`) from dist/ in a process of its own, one worker, reuseport, one route to the bench
 * origin — and measures `durationSec` of churn (bench/lib/tls-churn.ts, `concurrency` loops) without
 * reloads. Then it churns again while it asks for `reloads` reloads one after another over the IPC
 * channel (`ProxyHandle.reload(file)`, the same call SIGHUP makes in the CLI), each answered once the
 * table is swapped or refused: even ones write a valid file (the bench route plus one more, different
 * each time, so every valid reload compiles and swaps a new table), odd ones a broken file (a bad
 * pattern, or JSON that does not parse) that must be refused with the running table kept. The churn
 * stops when the last reload has been answered. Reports connections/s and failed connections for both
 * phases, and the reload durations as the harness saw them (request → answer).
 *
 * Why not `hellogate serve` and SIGHUP: a signal has no answer, and the log that says a reload finished
 * is batched for up to a second by its asynchronous destination, so the harness could not pace 100
 * reloads or time them. The reload path past the trigger is the same.
 *
 * Limits: one worker, like the other load scenarios. A reload without an answer within
 * RELOAD_TIMEOUT_MS, or with an unexpected one (a valid file refused, a broken one applied), fails the run.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { BENCH_SNI } from '../lib/targets.ts'
import { churn } from '../lib/tls-churn.ts'
import { treeCpuTimeMs } from '../lib/proc.ts'
import { progress } from '../lib/cannon.ts'
import type { LatencySummary } from '../lib/stats.ts'
import { ask, nextMessage, spawnIpc, stopIpc, type IpcChild } from '../accept/ipc.ts'
import type { ProxyReady, ProxyReloadQuestion, ProxyReloadReply, ProxyStop } from '../accept/protocol.ts'

const PROXY_CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'accept', 'proxy-child.ts')
/** A reload compiles one small file off the main thread (tens of ms); 10 s means the proxy is stuck. */
const RELOAD_TIMEOUT_MS = 10_000
/** Churn cap while reloading, whatever happens (the churn normally stops at the last reload). */
const MAX_RELOAD_PHASE_MS = 600_000

export interface ChurnFigures {
  connectionsPerSec: number
  completed: number
  failed: number
  firstError: string | undefined
  latency: LatencySummary
  elapsedSec: number
  proxyCpuMs: number
}

export interface ReloadScenarioResult {
  reloads: { requested: number, applied: number, refused: number, p50Ms: number, maxMs: number }
  baseline: ChurnFigures
  during: ChurnFigures
}

export interface ReloadScenarioOptions {
  originPort: number
  cpu: number | undefined
  nofile: number | undefined
  /** a directory for the proxy's config and log */
  dir: string
  reloads: number
  concurrency: number
  /** baseline phase length */
  durationSec: number
}

async function measure (port: number, pid: number, label: string, o: { concurrency: number, durationMs: number, stopWhen?: () => boolean }): Promise<ChurnFigures> {
  const cpu0 = treeCpuTimeMs(pid)
  const run = churn({ host: '127.0.0.1', port, servername: BENCH_SNI, path: '/', concurrency: o.concurrency, durationMs: o.durationMs, stopWhen: o.stopWhen })
  const stop = progress(label, o.durationMs / 1000, () => run.stats)
  try {
    const r = await run.done
    return { connectionsPerSec: r.connectionsPerSec, completed: r.completed, failed: r.errors, firstError: r.firstError, latency: r.latency, elapsedSec: r.elapsedMs / 1000, proxyCpuMs: treeCpuTimeMs(pid) - cpu0 }
  } finally { stop() }
}

/** The config file a reload reads: what proxy-child.ts starts with, plus `extra` routes. */
function configJson (originPort: number, extra: Record<string, string>): string {
  return JSON.stringify({
    listen: '127.0.0.1:0',
    workers: 1,
    accept: 'reuseport',
    routes: { [BENCH_SNI]: `127.0.0.1:${String(originPort)}`, ...extra },
    default: 'reject',
    limits: { maxConnections: 100_000 },
    log: { level: 'warn', access: false },
  })
}

async function reloadOnce (child: IpcChild, file: string): Promise<ProxyReloadReply> {
  const question: ProxyReloadQuestion = { type: 'reload', file }
  return await ask<ProxyReloadReply>(child, question, 'reload', RELOAD_TIMEOUT_MS)
}

export async function runReloadScenario (o: ReloadScenarioOptions): Promise<ReloadScenarioResult> {
  const dir = mkdtempSync(path.join(o.dir, 'reload-'))
  const child = spawnIpc('reload-proxy', PROXY_CHILD, ['--accept', 'reuseport', '--workers', '1', '--origin-port', String(o.originPort), '--sni', BENCH_SNI], {
    cpus: o.cpu === undefined ? undefined : String(o.cpu),
    nofile: o.nofile,
    log: path.join(dir, 'proxy.log'),
  })
  const file = path.join(dir, 'reload.json')
  const broken = [configJson(o.originPort, { 'bad pattern!': '127.0.0.1:1' }), '{ "routes": ']
  try {
    const ready = await nextMessage<ProxyReady>(child, 'ready', RELOAD_TIMEOUT_MS)
    const baseline = await measure(ready.port, child.pid, 'reload: baseline (no reloads)', { concurrency: o.concurrency, durationMs: o.durationSec * 1000 })

    const times: number[] = []
    let applied = 0
    let refused = 0
    let done = false
    const reloader = (async (): Promise<void> => {
      try {
        for (let i = 0; i < o.reloads; i++) {
          const good = i % 2 === 0
          writeFileSync(file, good ? configJson(o.originPort, { [`r${String(i)}.reload.${BENCH_SNI}`]: `127.0.0.1:${String(o.originPort)}` }) : broken[(i >> 1) % broken.length]!)
          const t0 = performance.now()
          const r = await reloadOnce(child, file)
          times.push(performance.now() - t0)
          if (r.ok) applied++
          else refused++
          if (r.ok !== good) throw new Error(`reload ${String(i)} (${good ? 'valid' : 'broken'} file): ${JSON.stringify(r)}`)
        }
      } finally { done = true }
    })()
    const during = await measure(ready.port, child.pid, `reload: during ${String(o.reloads)} reloads`, { concurrency: o.concurrency, durationMs: MAX_RELOAD_PHASE_MS, stopWhen: () => done })
    await reloader
    const sorted = [...times].sort((a, b) => a - b)
    return {
      reloads: { requested: o.reloads, applied, refused, p50Ms: sorted[Math.floor(sorted.length / 2)] ?? NaN, maxMs: sorted.at(-1) ?? NaN },
      baseline,
      during,
    }
  } finally {
    await stopIpc(child, { type: 'stop' } satisfies ProxyStop)
  }
}

export function formatReloadResult (r: ReloadScenarioResult): string {
  const f = (n: number, d = 0): string => Number.isFinite(n) ? n.toFixed(d) : '-'
  const line = (what: string, c: ChurnFigures): string =>
    `  ${what.padEnd(8)} ${f(c.connectionsPerSec).padStart(6)} conn/s  ${String(c.completed).padStart(6)} ok  ${String(c.failed).padStart(4)} failed  p50 ${f(c.latency.p50Ms, 2)} ms  p99 ${f(c.latency.p99Ms, 2)} ms  ` +
    `proxy CPU ${f((c.proxyCpuMs * 1000) / Math.max(1, c.completed), 1)} µs/conn  over ${f(c.elapsedSec, 1)} s${c.firstError === undefined ? '' : `  first error: ${c.firstError}`}`
  return [
    `\nreload: ${String(r.reloads.requested)} reloads (${String(r.reloads.applied)} applied, ${String(r.reloads.refused)} broken files refused); request → answer p50 ${f(r.reloads.p50Ms, 1)} ms, max ${f(r.reloads.maxMs, 1)} ms`,
    line('baseline', r.baseline),
    line('reloads', r.during),
    `  during/baseline conn/s: ${f(r.during.connectionsPerSec / r.baseline.connectionsPerSec, 2)}`,
  ].join('\n')
}
