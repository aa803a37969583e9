/**
 * The three load shapes shared by `bench:load` and `bench:peers`, each with a progress line.
 *
 * Contract: `runScenario(name, port, seconds, label, shape)` drives 127.0.0.1:port with SNI
 * `bench.hellogate.test` for `seconds` and returns completed requests, req/s, bytes, errors and a
 * latency summary (float ms):
 * - `new-conn`: one full TLS handshake per request (bench/lib/tls-churn.ts), GET /, Connection: close;
 * - `small`: autocannon keep-alive GET / (tiny body);
 * - `big`: autocannon keep-alive GET /1m (1 MiB body).
 *
 * Limits: the load generator runs in the calling process; pin that process away from the proxy.
 */
import { BENCH_SNI } from './targets.ts'
import { logTail, type Child } from './children.ts'
import { churn } from './tls-churn.ts'
import { keepAlive, progress } from './cannon.ts'
import type { LatencySummary } from './stats.ts'

export const SCENARIOS = ['new-conn', 'small', 'big'] as const
export type Scenario = typeof SCENARIOS[number]

export interface LoadShape {
  /** Keep-alive connections for `small`. */
  connections: number
  /** Keep-alive connections for `big`. */
  bigConnections: number
  /** Concurrent handshaking loops for `new-conn`. */
  churnConcurrency: number
}

export interface PhaseResult {
  requestsPerSec: number
  requests: number
  bytes: number
  errors: number
  firstError?: string | undefined
  latency: LatencySummary
  elapsedSec: number
}

export async function runScenario (scenario: Scenario, port: number, seconds: number, label: string, shape: LoadShape): Promise<PhaseResult> {
  if (scenario === 'new-conn') {
    const run = churn({ host: '127.0.0.1', port, servername: BENCH_SNI, path: '/', concurrency: shape.churnConcurrency, durationMs: seconds * 1000 })
    const stop = progress(label, seconds, () => run.stats)
    try {
      const r = await run.done
      return { requestsPerSec: r.connectionsPerSec, requests: r.completed, bytes: r.bytes, errors: r.errors, firstError: r.firstError, latency: r.latency, elapsedSec: r.elapsedMs / 1000 }
    } finally { stop() }
  }
  const run = keepAlive({
    url: `https://127.0.0.1:${port}${scenario === 'big' ? '/1m' : '/'}`,
    servername: BENCH_SNI,
    connections: scenario === 'big' ? shape.bigConnections : shape.connections,
    durationSec: seconds,
  })
  const stop = progress(label, seconds, () => run.stats)
  try {
    const r = await run.done
    return { requestsPerSec: r.requestsPerSec, requests: r.requests, bytes: r.bytes, errors: r.errors + r.non2xx + r.timeouts, latency: r.latency, elapsedSec: r.durationSec }
  } finally { stop() }
}

/** One request over a fresh TLS connection; throws with the reason (and `child`'s log tail) when it fails. */
export async function smoke (port: number, what: string, child?: Child): Promise<void> {
  const r = await churn({ host: '127.0.0.1', port, servername: BENCH_SNI, path: '/', concurrency: 1, durationMs: 5_000, maxConnections: 1, bailoutErrors: 1 }).done
  if (r.completed === 1) return
  const log = child === undefined ? '' : `\n${child.name} log ${child.log}:\n${logTail(child) || '(empty)'}`
  throw new Error(`smoke request ${what} (127.0.0.1:${port}) failed: ${r.firstError ?? 'unknown'}${log}`)
}
