/**
 * bench/stats.ts and bench/svg.ts: exact percentiles in order, and a chart that is one well-formed
 * SVG document whatever text the user put in the names.
 */
import { describe, expect, it } from 'vitest'

import { Samples, histogram, percentile } from '../../../src/bench/stats.ts'
import { MAX_DOTS, renderChart } from '../../../src/bench/svg.ts'
import { checkXml } from '../../helpers/xml.ts'

describe('Samples', () => {
  it('gives exact nearest-rank percentiles, in order, and per-second buckets', () => {
    const s = new Samples()
    for (let i = 1; i <= 1000; i++) s.add(i, i / 10)
    const sum = s.summary()
    expect(sum).toMatchObject({ count: 1000, min: 0.1, p50: 50, p90: 90, p99: 99, max: 100, truncated: false })
    expect(sum.mean).toBeCloseTo(50.05, 6)
    const secs = s.perSecond(2000)
    expect(secs.map((b) => b.count)).toEqual([999, 1])
    expect(secs[0]!.p99).toBeLessThanOrEqual(secs[0]!.max)
    expect(percentile(new Float64Array(0), 50)).toBe(0)
  })

  it('sorts numerically, not as strings', () => {
    const s = new Samples()
    for (const v of [10, 9, 100, 2]) s.add(0, v)
    expect(s.summary()).toMatchObject({ min: 2, p50: 9, max: 100 })
  })

  it('histogram: the last bin holds everything above p99 × 1.25', () => {
    const v = Float64Array.from({ length: 1000 }, (_, i) => (i === 999 ? 1e6 : i))
    const h = histogram(v, 10)
    expect(h.reduce((t, b) => t + b.count, 0)).toBe(1000)
    expect(h[9]!.count).toBeGreaterThan(0)
    expect(h[9]!.to).toBeLessThan(2000)
  })
})

describe('renderChart', () => {
  it('writes one well-formed <svg> document, escapes user text, thins the dots', () => {
    const s = new Samples()
    for (let i = 0; i < 10_000; i++) s.add(i / 5, 1 + (i % 100) / 10)
    const p = s.points()
    const svg = renderChart({
      title: 'bench <a&b> "x"',
      subtitle: "it's",
      latencyLabel: 'TLS handshake',
      rate: { unit: 'conn/s', perSecond: [5000, 4000] },
      latency: { at: p.at, values: p.values, summary: s.summary(), perSecond: s.perSecond(2000) },
      histogram: histogram(p.values, 40),
      durationMs: 2000,
    })
    expect(checkXml(svg)).toBe('svg')
    expect(svg).toContain('bench &lt;a&amp;b&gt; &quot;x&quot;')
    const dots = (/<path d="([^"]*)" class="dots"/.exec(svg)?.[1] ?? '').split('M').length - 1
    expect(dots).toBeGreaterThan(0)
    expect(dots).toBeLessThanOrEqual(MAX_DOTS)
  })

  it('draws an empty run (no samples, all errors) without NaN', () => {
    const s = new Samples()
    const p = s.points()
    const svg = renderChart({
      title: 't',
      subtitle: 's',
      latencyLabel: 'request',
      rate: { unit: 'req/s', perSecond: [0] },
      latency: { at: p.at, values: p.values, summary: s.summary(), perSecond: s.perSecond(1000) },
      histogram: histogram(p.values, 40),
      durationMs: 1000,
    })
    expect(checkXml(svg)).toBe('svg')
    expect(svg).not.toMatch(/NaN|Infinity/)
  })
})
