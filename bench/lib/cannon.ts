/**
 * Keep-alive HTTPS load with autocannon (programmatic API), plus a one-line progress reporter.
 *
 * Contract of `keepAlive()`: `connections` persistent TLS connections (SNI = `servername`,
 * certificate not verified by autocannon) each send `GET path` back to back for `durationSec`.
 * Latency is recorded from autocannon's per-response `response` event (float milliseconds from
 * `process.hrtime`) into our own sample set, because autocannon's histogram stores integer
 * milliseconds. Only 2xx responses count; anything else is reported in `non2xx`/`errors`.
 *
 * Contract of `progress()`: while a phase runs, rewrites one status line on stderr every
 * PROGRESS_MS (a new line every PROGRESS_LINE_MS when stderr is not a TTY).
 *
 * Limits: autocannon runs in this process (no worker threads), so the load generator shares a CPU
 * with whatever this process is pinned to; the harness pins it next to the origin, not the proxy.
 */
import { createRequire } from 'node:module'
import { LatencySamples, type LatencySummary } from './stats.ts'

/** How often the progress line refreshes on a TTY. */
const PROGRESS_MS = 250
/** How often a progress line is printed when stderr is a file or pipe. */
const PROGRESS_LINE_MS = 2_000

interface AutocannonResult {
  requests: { total: number, average: number }
  throughput: { total: number }
  errors: number
  timeouts: number
  non2xx: number
  duration: number
}

interface AutocannonInstance {
  on: (ev: 'response', fn: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void) => void
  stop: () => void
  then: PromiseLike<AutocannonResult>['then']
}

type Autocannon = (opts: Record<string, unknown>) => AutocannonInstance

const require = createRequire(import.meta.url)
// autocannon ships no types; this is the subset we use (README "API").
const autocannon = require('autocannon') as Autocannon

export interface KeepAliveOptions {
  url: string
  servername: string
  connections: number
  durationSec: number
  pipelining?: number | undefined
}

export interface LiveStats {
  completed: number
  errors: number
  bytes: number
}

export interface KeepAliveResult {
  requests: number
  requestsPerSec: number
  bytes: number
  errors: number
  timeouts: number
  non2xx: number
  durationSec: number
  latency: LatencySummary
}

/** Run a keep-alive load; `stats` is updated live for the progress line. */
export function keepAlive (opts: KeepAliveOptions): { stats: LiveStats, done: Promise<KeepAliveResult> } {
  const stats: LiveStats = { completed: 0, errors: 0, bytes: 0 }
  const samples = new LatencySamples()
  const inst = autocannon({
    url: opts.url,
    servername: opts.servername,
    connections: opts.connections,
    pipelining: opts.pipelining ?? 1,
    duration: opts.durationSec,
    timeout: 10,
  })
  inst.on('response', (_client, statusCode, resBytes, responseTime) => {
    if (statusCode >= 200 && statusCode < 300) {
      samples.add(responseTime)
      stats.completed++
      stats.bytes += resBytes
    } else {
      stats.errors++
    }
  })
  const done = (async (): Promise<KeepAliveResult> => {
    const r = await inst
    return {
      requests: r.requests.total,
      requestsPerSec: r.requests.total / r.duration,
      bytes: r.throughput.total,
      errors: r.errors,
      timeouts: r.timeouts,
      non2xx: r.non2xx,
      durationSec: r.duration,
      latency: samples.summary(),
    }
  })()
  return { stats, done }
}

/** Start a progress line for a phase; returns a function that clears it. */
export function progress (label: string, totalSec: number, read: () => LiveStats): () => void {
  const t0 = Date.now()
  const tty = process.stderr.isTTY
  let lastLine = 0
  const render = (): string => {
    const s = read()
    const el = (Date.now() - t0) / 1000
    const rate = el > 0 ? Math.round(s.completed / el) : 0
    return `  … ${label}  ${el.toFixed(1)}/${totalSec.toFixed(1)} s  ${s.completed} ok  ${rate}/s  ${s.errors} err`
  }
  const timer = setInterval(() => {
    if (tty) process.stderr.write(`\r\x1b[K${render()}`)
    else if (Date.now() - lastLine >= PROGRESS_LINE_MS) {
      lastLine = Date.now()
      process.stderr.write(`${render()}\n`)
    }
  }, PROGRESS_MS)
  return () => {
    clearInterval(timer)
    if (tty) process.stderr.write('\r\x1b[K')
  }
}
