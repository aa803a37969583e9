/**
 * `hellogate top` view model: rates are differences between two /status snapshots over their time
 * difference; the first frame, and a frame after the proxy restarted, show totals without rates.
 */
import { describe, expect, it } from 'vitest'
import { computeTop, renderTop, TOP_ROWS } from '../../../src/admin/top.ts'
import type { StatusJson } from '../../../src/admin/target.ts'

function snap (over: { time: number, pid?: number, counters: Record<string, number>, routes?: Array<[string, number]>, accepted?: number[] }): StatusJson {
  const accepted = over.accepted ?? [0, 0]
  return {
    version: '1.0.0',
    pid: over.pid ?? 100,
    node: 'v24.21.0',
    time: over.time,
    uptimeSeconds: 3725,
    phase: 'running',
    ready: { ready: true, reasons: [] },
    workers: accepted.map((a, i) => ({
      id: i + 1,
      up: i === 0,
      active: i,
      accepted: a,
      counters: null,
      loop: i === 0 ? { delayMeanMs: 1, delayP99Ms: 2.5, delayMaxMs: 4, utilization: 0.31, ageMs: 100 } : null,
    })),
    restarts: 0,
    table: { generation: 3, routes: 12, loadedAt: '2026-01-01T00:00:00.000Z' },
    reloads: { ok: 2, error: 1, last: null },
    counters: over.counters,
    routes: (over.routes ?? []).map(([route, connections]) => ({ route, connections })),
  }
}

describe('computeTop', () => {
  it('turns two snapshots into per-second rates', () => {
    const prev = snap({ time: 10_000, counters: { conn_accepted: 100, conn_active: 5, bytes_up: 1000, bytes_down: 5000, outcome_ok: 90, outcome_no_route: 4 }, routes: [['a.example', 50], ['b.example', 40]], accepted: [60, 40] })
    const next = snap({ time: 12_000, counters: { conn_accepted: 300, conn_active: 7, bytes_up: 3048, bytes_down: 2_102_152, outcome_ok: 280, outcome_no_route: 4 }, routes: [['a.example', 60], ['b.example', 220], ['c.example', 2]], accepted: [160, 140] })
    const v = computeTop(prev, next, 2000)
    expect(v.connPerSec).toBe(100)
    expect(v.active).toBe(7)
    expect(v.accepted).toBe(300)
    expect(v.bytesUpPerSec).toBe(1024)
    expect(v.bytesDownPerSec).toBe(1_048_576)
    expect(v.outcomes).toEqual([{ name: 'ok', perSec: 95, total: 280 }, { name: 'no_route', perSec: 0, total: 4 }])
    expect(v.routes.map((r) => [r.name, r.perSec])).toEqual([['b.example', 90], ['a.example', 5], ['c.example', 1]])
    expect(v.workers).toEqual([
      { id: 1, up: true, active: 0, acceptedPerSec: 50, loopP99Ms: 2.5, utilization: 0.31 },
      { id: 2, up: false, active: 1, acceptedPerSec: 50, loopP99Ms: null, utilization: null },
    ])
    expect(v.title).toContain('up 1h 2m 5s')
    expect(v.title).toContain('table gen 3 (12 routes)')
  })

  it('shows totals without rates on the first frame and after a restart (new pid, counters back to low values)', () => {
    const first = computeTop(null, snap({ time: 1, counters: { conn_accepted: 10 } }), 0)
    expect(first.connPerSec).toBeNull()
    expect(first.accepted).toBe(10)
    const before = snap({ time: 1000, pid: 1, counters: { conn_accepted: 1000 } })
    const after = snap({ time: 2000, pid: 2, counters: { conn_accepted: 3 } })
    const v = computeTop(before, after, 1000)
    expect(v.connPerSec).toBeNull()
    expect(v.workers[0]!.acceptedPerSec).toBeNull()
  })

  it('never shows a negative rate and keeps at most TOP_ROWS routes, busiest first', () => {
    const routes: Array<[string, number]> = Array.from({ length: TOP_ROWS + 5 }, (_, i) => ['r' + String(i), i])
    const prev = snap({ time: 0, counters: { conn_accepted: 10 }, routes })
    const next = snap({ time: 1000, counters: { conn_accepted: 5 }, routes: routes.map(([r, n]) => [r, n * 2]) })
    const v = computeTop(prev, next, 1000)
    expect(v.connPerSec).toBe(0)
    expect(v.routes).toHaveLength(TOP_ROWS)
    expect(v.routes[0]).toEqual({ name: 'r' + String(TOP_ROWS + 4), perSec: TOP_ROWS + 4, total: (TOP_ROWS + 4) * 2 })
  })
})

describe('renderTop', () => {
  it('prints the figures, one row per outcome, route and worker', () => {
    const prev = snap({ time: 0, counters: { conn_accepted: 0, bytes_up: 0, bytes_down: 0, outcome_ok: 0 }, routes: [['a.example', 0]] })
    const next = snap({ time: 1000, counters: { conn_accepted: 250, conn_active: 3, bytes_up: 2048, bytes_down: 3 * 1024 * 1024, outcome_ok: 249 }, routes: [['a.example', 250]], accepted: [200, 50] })
    const text = renderTop(computeTop(prev, next, 1000)).join('\n')
    expect(text).toMatch(/conns\/s 250 {3}active 3 {3}accepted 250 {3}up 2\.0 KiB\/s {3}down 3\.0 MiB\/s/)
    expect(text).toMatch(/\nok {2,}249 {2,}249\n/)
    expect(text).toMatch(/\na\.example {2,}250 {2,}250\n/)
    expect(text).toMatch(/\n#1 {6}up {5,}0 +200 +2\.5 ms +31%\n/)
    expect(text).toMatch(/\n#2 {6}DOWN {3,}1 +50\.0 +- +-$/)
  })
})
