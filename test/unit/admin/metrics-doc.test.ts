/**
 * README.md "Prometheus metrics" is the contract dashboards are built on: every metric the exporter
 * registers is listed with its type and labels, and the table lists nothing the exporter lacks
 * (like test/unit/docs.test.ts does for error codes and counters).
 */
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { createMetricsExporter } from '../../../src/metrics/prometheus.ts'

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')

function readmeRows (): string[] {
  const start = readme.indexOf('\n## Prometheus metrics\n')
  expect(start).toBeGreaterThanOrEqual(0)
  const next = readme.indexOf('\n## ', start + 4)
  const rows: string[] = []
  for (const line of readme.slice(start, next === -1 ? undefined : next).split('\n')) {
    const m = /^\| `([a-z0-9_:]+)` \| (counter|gauge|histogram) \|([^|]*)\|/.exec(line)
    if (m === null) continue
    const labels = [...m[3]!.matchAll(/`([a-z_]+)`/g)].map((l) => l[1]!).sort()
    rows.push(m[1]! + ' ' + m[2]! + ' ' + labels.join(','))
  }
  return rows.sort()
}

describe('README Prometheus metrics table', () => {
  it('lists every registered metric with its type and labels, and nothing else', () => {
    const exporter = createMetricsExporter({ version: '0', stats: () => ({ counters: {}, active: [], accepted: [], restarts: 0 }), fdGauges: true })
    const registered = exporter.registry.getMetricsAsArray().map((m) => {
      const meta = m as unknown as { name: string, type: string, labelNames?: string[] }
      return meta.name + ' ' + meta.type + ' ' + [...(meta.labelNames ?? [])].sort().join(',')
    }).sort()
    expect(readmeRows()).toEqual(registered)
  })
})
