/**
 * Per-route connection counts: bounded labels, per-worker rows on separate cache lines, totals that
 * survive a reload for patterns that stay and drop for patterns that leave.
 */
import { describe, expect, it } from 'vitest'
import {
  countRoute, createRouteSlab, MAX_ROUTE_SERIES, ROUTE_LABEL_DEFAULT, ROUTE_LABEL_OTHER, ROUTE_SLAB_SETTLE_MS,
  RouteCounterBook, TARGET_DEFAULT,
} from '../../../src/metrics/route-counters.ts'

describe('route slabs', () => {
  it('gives each worker its own whole cache lines', () => {
    const slab = createRouteSlab(['a', 'b', 'c'], 3)
    expect(slab.stride % 8).toBe(0)
    expect(slab.stride).toBeGreaterThanOrEqual(5)
    expect(slab.buffer.byteLength).toBe(slab.stride * 3 * 8)
  })

  it('counts targets by pattern, default under (default), and targets past the cap under (other)', () => {
    const patterns = Array.from({ length: MAX_ROUTE_SERIES + 5 }, (_, i) => 'r' + String(i) + '.example')
    const slab = createRouteSlab(patterns, 2)
    expect(slab.tracked).toBe(MAX_ROUTE_SERIES)
    const view = new Float64Array(slab.buffer)
    countRoute(view, 0, slab.tracked, 0)
    countRoute(view, slab.stride, slab.tracked, 0)
    countRoute(view, slab.stride, slab.tracked, 7)
    countRoute(view, 0, slab.tracked, MAX_ROUTE_SERIES + 3)
    countRoute(view, 0, slab.tracked, TARGET_DEFAULT)
    const totals = new RouteCounterBook(slab).totals()
    expect(totals.get('r0.example')).toBe(2)
    expect(totals.get('r7.example')).toBe(1)
    expect(totals.get(ROUTE_LABEL_OTHER)).toBe(1)
    expect(totals.get(ROUTE_LABEL_DEFAULT)).toBe(1)
    expect(totals.has('r' + String(MAX_ROUTE_SERIES + 3) + '.example')).toBe(false)
    expect(totals.size).toBe(MAX_ROUTE_SERIES + 2)
  })

  it('carries a pattern\'s count across reloads (before and after the old slab settles) and drops removed patterns', () => {
    const t0 = 1_000_000
    const gen1 = createRouteSlab(['a', 'b'], 1)
    const book = new RouteCounterBook(gen1)
    const v1 = new Float64Array(gen1.buffer)
    countRoute(v1, 0, gen1.tracked, 0) // a
    countRoute(v1, 0, gen1.tracked, 1) // b
    const gen2 = createRouteSlab(['c', 'a'], 1) // a moved to target 1, b removed
    book.install(gen2, t0)
    const v2 = new Float64Array(gen2.buffer)
    countRoute(v2, 0, gen2.tracked, 1) // a
    countRoute(v1, 0, gen1.tracked, 0) // a, by a worker still on the old table
    const settling = book.totals(t0 + 1)
    expect(settling.get('a')).toBe(3)
    expect(settling.get('c')).toBe(0)
    expect(settling.has('b')).toBe(false)
    const settled = book.totals(t0 + ROUTE_SLAB_SETTLE_MS)
    expect(settled.get('a')).toBe(3)
    expect(settled.has('b')).toBe(false)
    countRoute(v2, 0, gen2.tracked, 0) // c
    expect(book.totals(t0 + ROUTE_SLAB_SETTLE_MS + 1).get('c')).toBe(1)
    expect(book.slab).toBe(gen2)
  })
})
