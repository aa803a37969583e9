/**
 * Shared-memory histograms: Prometheus `le` semantics (a value equal to a bound falls in that bound's
 * bucket), per-worker slabs summed at merge, cumulative buckets, ms exported as seconds.
 */
import { describe, expect, it } from 'vitest'
import {
  createHistogramBuffer, HISTOGRAM_OFFSET, HISTOGRAM_SLOTS, HISTOGRAMS, HistogramId, mergeHistograms, observe,
} from '../../../src/metrics/histograms.ts'

function slab (): Float64Array {
  return new Float64Array(createHistogramBuffer())
}

describe('histogram slabs', () => {
  it('lays the histograms out back to back without overlap', () => {
    let next = 0
    for (const h of HISTOGRAMS) {
      expect(HISTOGRAM_OFFSET[h.id]).toBe(next)
      next += 2 + h.bounds.length
      expect([...h.bounds]).toEqual([...h.bounds].sort((a, b) => a - b))
    }
    expect(HISTOGRAM_SLOTS).toBe(next)
  })

  it('counts a value equal to a bound in that bound\'s bucket, above the last bound in +Inf', () => {
    const v = slab()
    observe(v, HistogramId.HelloSize, 512) // le=512
    observe(v, HistogramId.HelloSize, 513) // le=768
    observe(v, HistogramId.HelloSize, 1) // le=256
    observe(v, HistogramId.HelloSize, 70_000) // +Inf
    const m = mergeHistograms([v], HistogramId.HelloSize)
    const at = (le: number): number => m.cumulative[m.le.indexOf(le)]!
    expect(at(256)).toBe(1)
    expect(at(512)).toBe(2)
    expect(at(768)).toBe(3)
    expect(at(65536)).toBe(3)
    expect(m.cumulative[m.cumulative.length - 1]).toBe(4)
    expect(m.count).toBe(4)
    expect(m.sum).toBe(512 + 513 + 1 + 70_000)
  })

  it('touches only its own histogram\'s slots', () => {
    const v = slab()
    observe(v, HistogramId.ConnectDuration, 3)
    expect(mergeHistograms([v], HistogramId.HelloDuration).count).toBe(0)
    expect(mergeHistograms([v], HistogramId.TotalDuration).count).toBe(0)
    expect(mergeHistograms([v], HistogramId.HelloSize).count).toBe(0)
    expect(mergeHistograms([v], HistogramId.ConnectDuration).count).toBe(1)
  })

  it('sums workers and exports milliseconds as seconds with bounds that read as written', () => {
    const a = slab()
    const b = slab()
    observe(a, HistogramId.HelloDuration, 0.2) // le 0.25 ms
    observe(b, HistogramId.HelloDuration, 0.25) // le 0.25 ms
    observe(b, HistogramId.HelloDuration, 7) // le 10 ms
    const m = mergeHistograms([a, b], HistogramId.HelloDuration)
    expect(m.le.slice(0, 3)).toEqual([0.0001, 0.00025, 0.0005])
    expect(m.cumulative[m.le.indexOf(0.00025)]).toBe(2)
    expect(m.cumulative[m.le.indexOf(0.005)]).toBe(2)
    expect(m.cumulative[m.le.indexOf(0.01)]).toBe(3)
    expect(m.count).toBe(3)
    expect(m.sum).toBeCloseTo(0.00745, 12)
  })
})
