/**
 * What a finished `hellogate bench` run leaves: the results object (results.json), the summary
 * printed on stdout, and the chart's input (svg.ts).
 *
 * Contract: `buildResults(run, meta)` reads a stopped LoadRun; `formatSummary(results)` is the text;
 * `chartInput(run, results)` feeds renderChart. Latencies are milliseconds, rates per second of the
 * run's elapsed time, MB = 10^6 bytes.
 */
import { formatHostPort } from '../config/values.ts'
import type { LoadView } from './load.ts'
import type { BenchMode, BenchOptions } from './options.ts'
import { rateUnit } from './progress.ts'
import { histogram } from './stats.ts'
import type { LatencySummary } from './stats.ts'
import type { ChartInput } from './svg.ts'

/** bars in the latency histogram */
const HISTOGRAM_BINS = 40

export interface BenchResults {
  tool: 'hellogate bench'
  version: string
  startedAt: string
  options: {
    target: string
    /** the address the target resolved to (once, before the run) */
    address: string
    sni: string[]
    mode: BenchMode
    durationMs: number
    concurrency: number
    /** load threads (each with its share of the connections) */
    threads: number
    path: string
    handshakeOnly: boolean
    /** true with --ca: certificates were verified */
    verified: boolean
  }
  elapsedMs: number
  /** operations: connections (newconn) or responses (keepalive, bulk) */
  completed: number
  handshakes: number
  errors: number
  rate: { value: number, unit: string }
  connectionsPerSec: number
  requestsPerSec: number
  megabytesPerSec: number
  bytesIn: number
  bytesOut: number
  /** connect() → TLS handshake done, every connection */
  handshakeMs: LatencySummary
  /** per operation: newconn connect() → last response byte; keepalive/bulk request → last response byte */
  latencyMs: LatencySummary
  errorsByCode: Record<string, number>
  statuses: Record<string, number>
  perSecond: Array<{ second: number, completed: number, bytesIn: number, handshakeP50: number, handshakeP99: number, latencyP50: number, latencyP99: number }>
  files: { json: string, svg: string }
}

export interface ResultsMeta {
  version: string
  startedAt: Date
  options: BenchOptions
  address: string
  files: { json: string, svg: string }
}

function round3 (n: number): number {
  return Math.round(n * 1000) / 1000
}

function roundSummary (s: LatencySummary): LatencySummary {
  return { count: s.count, min: round3(s.min), mean: round3(s.mean), p50: round3(s.p50), p90: round3(s.p90), p99: round3(s.p99), max: round3(s.max), truncated: s.truncated }
}

function sortedRecord<K extends string | number> (m: Map<K, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of [...m.entries()].sort((a, b) => b[1] - a[1])) out[String(k)] = v
  return out
}

export function buildResults (run: LoadView, meta: ResultsMeta): BenchResults {
  const o = meta.options
  const c = run.counters
  const secs = Math.max(run.elapsedMs, 1) / 1000
  const hs = run.handshake.perSecond(run.spec.durationMs)
  const lat = run.latency.perSecond(run.spec.durationMs)
  const connectionsPerSec = c.handshakes / secs
  const requestsPerSec = o.mode === 'newconn' && o.handshakeOnly ? 0 : c.completed / secs
  const megabytesPerSec = c.bytesIn / 1e6 / secs
  const value = o.mode === 'bulk' ? megabytesPerSec : o.mode === 'newconn' ? c.completed / secs : requestsPerSec
  return {
    tool: 'hellogate bench',
    version: meta.version,
    startedAt: meta.startedAt.toISOString(),
    options: {
      target: formatHostPort(o.target),
      address: meta.address,
      sni: o.sni,
      mode: o.mode,
      durationMs: o.durationMs,
      concurrency: o.concurrency,
      threads: o.threads,
      path: o.path,
      handshakeOnly: o.handshakeOnly,
      verified: o.ca !== undefined,
    },
    elapsedMs: Math.round(run.elapsedMs),
    completed: c.completed,
    handshakes: c.handshakes,
    errors: c.errors,
    rate: { value: round3(value), unit: rateUnit(o.mode) },
    connectionsPerSec: round3(connectionsPerSec),
    requestsPerSec: round3(requestsPerSec),
    megabytesPerSec: round3(megabytesPerSec),
    bytesIn: c.bytesIn,
    bytesOut: c.bytesOut,
    handshakeMs: roundSummary(run.handshake.summary()),
    latencyMs: roundSummary(run.latency.summary()),
    errorsByCode: sortedRecord(run.errorsByCode),
    statuses: sortedRecord(run.statuses),
    perSecond: run.opsPerSecond.map((ops, i) => ({
      second: i,
      completed: ops,
      bytesIn: run.bytesPerSecond[i] ?? 0,
      handshakeP50: round3(hs[i]?.p50 ?? 0),
      handshakeP99: round3(hs[i]?.p99 ?? 0),
      latencyP50: round3(lat[i]?.p50 ?? 0),
      latencyP99: round3(lat[i]?.p99 ?? 0),
    })),
    files: meta.files,
  }
}

function ms (n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2)
}

function percentiles (s: LatencySummary): string {
  if (s.count === 0) return 'no samples'
  return `p50 ${ms(s.p50)} ms  p90 ${ms(s.p90)} ms  p99 ${ms(s.p99)} ms  max ${ms(s.max)} ms  (${s.count} samples${s.truncated ? ', percentiles of the first 2M' : ''})`
}

function pairs (r: Record<string, number>): string {
  const e = Object.entries(r)
  return e.length === 0 ? 'none' : e.map(([k, v]) => `${k}: ${v}`).join(', ')
}

export function formatSummary (r: BenchResults): string {
  const o = r.options
  const what = o.mode === 'newconn' ? (o.handshakeOnly ? 'handshakes' : 'connections (handshake + one request each)') : 'responses'
  const lines = [
    `hellogate bench ${r.version}: ${o.mode} against ${o.target} (${o.address}), ${o.sni.length} SNI name${o.sni.length === 1 ? '' : 's'}, concurrency ${o.concurrency}${o.threads > 1 ? ` on ${o.threads} threads` : ''}, ${(r.elapsedMs / 1000).toFixed(1)} s${o.verified ? ', certificates verified' : ', certificates not verified'}`,
    `  rate       ${r.rate.value.toFixed(r.rate.value < 10 ? 2 : 0)} ${r.rate.unit}`,
    `  completed  ${r.completed} ${what}, ${r.errors} errors`,
    `  handshake  ${percentiles(r.handshakeMs)}`,
  ]
  if (!(o.mode === 'newconn' && o.handshakeOnly)) {
    lines.push(`  ${o.mode === 'newconn' ? 'connection' : 'request   '} ${percentiles(r.latencyMs)}`)
    lines.push(`  received   ${(r.bytesIn / 1e6).toFixed(2)} MB (${r.megabytesPerSec.toFixed(2)} MB/s), statuses ${pairs(r.statuses)}`)
  }
  lines.push(`  errors     ${pairs(r.errorsByCode)}`)
  lines.push(`  results    ${r.files.json}`)
  lines.push(`  chart      ${r.files.svg}`)
  return lines.join('\n') + '\n'
}

export function chartInput (run: LoadView, r: BenchResults): ChartInput {
  // newconn is about handshakes; keepalive and bulk handshake only once per connection
  const useHandshake = r.options.mode === 'newconn'
  const samples = useHandshake ? run.handshake : run.latency
  const summary = useHandshake ? r.handshakeMs : r.latencyMs
  const points = samples.points()
  const rate = r.options.mode === 'bulk'
    ? run.bytesPerSecond.map((b) => b / 1e6)
    : run.opsPerSecond
  return {
    title: `hellogate bench: ${r.options.mode} against ${r.options.target}, ${r.rate.value.toFixed(r.rate.value < 10 ? 2 : 0)} ${r.rate.unit}`,
    subtitle: `${r.startedAt}, concurrency ${r.options.concurrency}, SNI ${r.options.sni.slice(0, 3).join(', ')}${r.options.sni.length > 3 ? ', ...' : ''}; ${r.completed} done, ${r.errors} errors; p50 ${ms(summary.p50)} ms, p99 ${ms(summary.p99)} ms`,
    latencyLabel: useHandshake ? 'TLS handshake' : 'request',
    rate: { unit: r.rate.unit, perSecond: rate },
    latency: { at: points.at, values: points.values, summary, perSecond: samples.perSecond(run.spec.durationMs) },
    histogram: histogram(points.values, HISTOGRAM_BINS),
    durationMs: run.spec.durationMs,
  }
}
