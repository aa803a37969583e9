/**
 * The Prometheus exporter reads shared memory at scrape time: every figure in the scrape is the one the
 * sources hold at that moment, two scrapes never double count, and the exposition passes the strict
 * text-format parser.
 */
import { describe, expect, it } from 'vitest'
import { createMetricsExporter, type CounterSnapshot } from '../../../src/metrics/prometheus.ts'
import { createHistogramBuffer, HistogramId, observe } from '../../../src/metrics/histograms.ts'
import { createLoopStatsBuffer, LOOP_DELAY_RESOLUTION_MS, publishLoopStats } from '../../../src/metrics/loop-stats.ts'
import { ReloadLedger } from '../../../src/metrics/reloads.ts'
import { COUNTER_NAMES } from '../../../src/metrics/counters.ts'
import { parsePrometheusText, sampleValue } from '../../helpers/prom-text.ts'

function snapshot (over: Partial<Record<string, number>> = {}): CounterSnapshot {
  const counters: Record<string, number> = {}
  for (const n of COUNTER_NAMES) counters[n] = 0
  Object.assign(counters, over)
  return { counters, active: [2, 0], accepted: [5, 4], restarts: 1 }
}

describe('createMetricsExporter', () => {
  it('exports the shared counters, per-worker figures, histograms, loop stats, routes and reloads', async () => {
    const h1 = new Float64Array(createHistogramBuffer())
    const h2 = new Float64Array(createHistogramBuffer())
    observe(h1, HistogramId.HelloSize, 600)
    observe(h2, HistogramId.HelloSize, 300)
    observe(h2, HistogramId.TotalDuration, 1500)
    const loop = new Float64Array(createLoopStatsBuffer())
    publishLoopStats(loop, 25e6, (LOOP_DELAY_RESOLUTION_MS + 12) * 1e6, (LOOP_DELAY_RESOLUTION_MS + 40) * 1e6, 0.75)
    const ledger = new ReloadLedger(3)
    ledger.recordOk(4, 10, [])
    ledger.recordError('HG_ERR_CONFIG_SYNTAX', 'bad', 3)
    ledger.recordError('HG_ERR_CONFIG_SYNTAX', 'bad', 3)
    const exporter = createMetricsExporter({
      version: '9.9.9',
      stats: () => snapshot({ conn_accepted: 9, conn_active: 2, bytes_up: 1234, outcome_ok: 6, outcome_no_route: 1 }),
      histograms: () => [h1, h2],
      loopStats: () => [loop, null],
      routes: () => new Map([['a.example', 5], ['(default)', 1]]),
      reloads: () => ledger.snapshot(),
      processStats: () => Promise.resolve({ openFds: 42, maxFds: 1024, rssBytes: 1e6 }),
    })
    const f = parsePrometheusText(await exporter.metrics())
    expect(sampleValue(f, 'hellogate_build_info', { version: '9.9.9', node: process.version })).toBe(1)
    expect(sampleValue(f, 'hellogate_conn_accepted_total')).toBe(9)
    expect(f.get('hellogate_conn_active')?.type).toBe('gauge')
    expect(sampleValue(f, 'hellogate_conn_active')).toBe(2)
    expect(sampleValue(f, 'hellogate_bytes_up_total')).toBe(1234)
    expect(sampleValue(f, 'hellogate_conn_closed_total', { outcome: 'ok' })).toBe(6)
    expect(sampleValue(f, 'hellogate_conn_closed_total', { outcome: 'no_route' })).toBe(1)
    expect(sampleValue(f, 'hellogate_conn_closed_total', { outcome: 'shutdown' })).toBe(0)
    expect(sampleValue(f, 'hellogate_worker_conn_active', { worker: '1' })).toBe(2)
    expect(sampleValue(f, 'hellogate_worker_conn_accepted_total', { worker: '2' })).toBe(4)
    expect(sampleValue(f, 'hellogate_worker_restarts_total')).toBe(1)
    expect(sampleValue(f, 'hellogate_worker_event_loop_delay_p99_seconds', { worker: '1' })).toBeCloseTo(0.012, 9)
    expect(sampleValue(f, 'hellogate_worker_event_loop_delay_max_seconds', { worker: '1' })).toBeCloseTo(0.04, 9)
    expect(sampleValue(f, 'hellogate_worker_event_loop_utilization', { worker: '1' })).toBe(0.75)
    // worker 2 has not published: no series rather than a made-up zero
    expect(() => sampleValue(f, 'hellogate_worker_event_loop_utilization', { worker: '2' })).toThrow()
    expect(sampleValue(f, 'hellogate_hello_size_bytes_count')).toBe(2)
    expect(sampleValue(f, 'hellogate_hello_size_bytes_bucket', { le: '512' })).toBe(1)
    expect(sampleValue(f, 'hellogate_hello_size_bytes_sum')).toBe(900)
    expect(sampleValue(f, 'hellogate_connection_duration_seconds_bucket', { le: '1' })).toBe(0)
    expect(sampleValue(f, 'hellogate_connection_duration_seconds_bucket', { le: '5' })).toBe(1)
    expect(sampleValue(f, 'hellogate_connection_duration_seconds_sum')).toBe(1.5)
    expect(sampleValue(f, 'hellogate_route_connections_total', { route: 'a.example' })).toBe(5)
    expect(sampleValue(f, 'hellogate_route_connections_total', { route: '(default)' })).toBe(1)
    expect(sampleValue(f, 'hellogate_reloads_total', { result: 'ok' })).toBe(1)
    expect(sampleValue(f, 'hellogate_reloads_total', { result: 'error' })).toBe(2)
    expect(sampleValue(f, 'hellogate_route_table_generation')).toBe(2)
    expect(sampleValue(f, 'hellogate_route_table_routes')).toBe(4)
    expect(sampleValue(f, 'process_open_fds')).toBe(42)
    expect(sampleValue(f, 'process_max_fds')).toBe(1024)
    expect(sampleValue(f, 'process_resident_memory_bytes')).toBe(1e6)
  })

  it('reads the sources again on every scrape and never adds one scrape to the last', async () => {
    let accepted = 1
    let reads = 0
    const exporter = createMetricsExporter({
      version: '0',
      stats: () => { reads++; return snapshot({ conn_accepted: accepted }) },
      processStats: () => Promise.resolve({ openFds: null, maxFds: null, rssBytes: 1 }),
      fdGauges: false,
    })
    const first = parsePrometheusText(await exporter.metrics())
    expect(sampleValue(first, 'hellogate_conn_accepted_total')).toBe(1)
    expect(reads).toBe(1)
    accepted = 5
    const second = parsePrometheusText(await exporter.metrics())
    expect(sampleValue(second, 'hellogate_conn_accepted_total')).toBe(5)
    expect(reads).toBe(2)
    // without /proc the fd gauges are absent, not a made-up zero
    expect(() => sampleValue(second, 'process_open_fds')).toThrow()
  })

  it('counts this process\'s real open file descriptors on Linux', async () => {
    const exporter = createMetricsExporter({ version: '0', stats: () => snapshot() })
    const f = parsePrometheusText(await exporter.metrics())
    if (process.platform !== 'linux') return
    const { readdirSync } = await import('node:fs')
    const fds = readdirSync('/proc/self/fd').length - 1
    expect(Math.abs(sampleValue(f, 'process_open_fds') - fds)).toBeLessThanOrEqual(2)
    expect(sampleValue(f, 'process_resident_memory_bytes')).toBeGreaterThan(1e6)
  })
})
