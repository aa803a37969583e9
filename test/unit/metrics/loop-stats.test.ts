/**
 * Event-loop stats slab: the sampler's resolution is subtracted (an idle loop reads ~0, not ~20 ms),
 * and a real blocked loop shows up in the slab within one interval.
 */
import { describe, expect, it } from 'vitest'
import {
  createLoopStatsBuffer, LOOP_DELAY_RESOLUTION_MS, LoopStat, publishLoopStats, readLoopStats, startLoopStats,
} from '../../../src/metrics/loop-stats.ts'

const MS = 1e6

describe('loop stats', () => {
  it('subtracts the sampling resolution and clamps at zero', () => {
    const v = new Float64Array(createLoopStatsBuffer())
    publishLoopStats(v, (LOOP_DELAY_RESOLUTION_MS + 1) * MS, (LOOP_DELAY_RESOLUTION_MS + 5) * MS, (LOOP_DELAY_RESOLUTION_MS - 3) * MS, 0.25)
    const s = readLoopStats(v)
    expect(s.delayMeanMs).toBeCloseTo(1, 9)
    expect(s.delayP99Ms).toBeCloseTo(5, 9)
    expect(s.delayMaxMs).toBe(0)
    expect(s.utilization).toBe(0.25)
    expect(s.ageMs).not.toBeNull()
  })

  it('keeps the last delays when an interval had no sample, and reports never-published slabs as such', () => {
    const v = new Float64Array(createLoopStatsBuffer())
    expect(readLoopStats(v).ageMs).toBeNull()
    publishLoopStats(v, 30 * MS, 40 * MS, 50 * MS, 0.5)
    publishLoopStats(v, NaN, 0, 0, 2)
    expect(v[LoopStat.DelayMaxMs]).toBe(50 - LOOP_DELAY_RESOLUTION_MS)
    expect(v[LoopStat.Utilization]).toBe(1)
  })

  it('publishes a blocked event loop within one interval', async () => {
    const v = new Float64Array(createLoopStatsBuffer())
    const stop = startLoopStats(v, 1000)
    try {
      await new Promise((resolve) => setTimeout(resolve, 100))
      const t = Date.now()
      while (Date.now() - t < 300) { /* block this thread's loop */ }
      const deadline = Date.now() + 3000
      while (v[LoopStat.UpdatedAt] === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
      const s = readLoopStats(v)
      expect(s.ageMs).not.toBeNull()
      expect(s.delayMaxMs).toBeGreaterThanOrEqual(250)
      expect(s.utilization).toBeGreaterThan(0.2)
    } finally {
      stop()
    }
  })
})
