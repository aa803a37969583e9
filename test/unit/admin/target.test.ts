/**
 * AdminTarget semantics that the endpoint relies on: readiness names each reason it is not ready,
 * reload outcomes are recorded once (a refused concurrent reload is not a failure), /status reports
 * what the sources hold.
 */
import { describe, expect, it } from 'vitest'
import { createAdminTarget, Phase, readiness, trackReloads, type ReloadOutcome } from '../../../src/admin/target.ts'
import { ReloadLedger } from '../../../src/metrics/reloads.ts'
import { createLoopStatsBuffer, publishLoopStats } from '../../../src/metrics/loop-stats.ts'
import { ErrorCode, ProxyError } from '../../../src/errors.ts'

describe('readiness', () => {
  it('is ready only when running, every worker listening and a table loaded', () => {
    expect(readiness(Phase.Running, [true, true], 1)).toEqual({ ready: true, reasons: [] })
    expect(readiness(Phase.Starting, [true], 1)).toEqual({ ready: false, reasons: ['starting'] })
    expect(readiness(Phase.Draining, [true], 3)).toEqual({ ready: false, reasons: ['draining'] })
    expect(readiness(Phase.Running, [true, false, false], 1)).toEqual({ ready: false, reasons: ['worker 2 not listening', 'worker 3 not listening'] })
    expect(readiness(Phase.Running, [], 1).ready).toBe(false)
    expect(readiness(Phase.Running, [true], 0)).toEqual({ ready: false, reasons: ['no route table loaded'] })
  })

  it('adds a route source: its first detail is the reason while it is not ready, its details always', () => {
    const down = { ready: false, details: ['not ready from etcd: connection refused', 'etcd revision 7'] }
    expect(readiness(Phase.Running, [true], 1, down)).toEqual({ ready: false, reasons: ['not ready from etcd: connection refused'], details: down.details })
    expect(readiness(Phase.Running, [true], 1, { ready: true, details: ['etcd revision 8'] })).toEqual({ ready: true, reasons: [], details: ['etcd revision 8'] })
  })
})

describe('trackReloads', () => {
  it('records successes (new generation), failures and thrown errors once each; not a refused concurrent reload', async () => {
    const ledger = new ReloadLedger(2)
    const answers: Array<ReloadOutcome | Error> = [
      { ok: true, routes: 5, ms: 12, needsRestart: ['workers'] },
      { ok: false, error: { code: ErrorCode.CONFIG_SYNTAX, message: 'bad yaml' } },
      new ProxyError(ErrorCode.CONFIG_READ, 'gone', { file: '/x.yaml' }),
      { ok: false, error: { code: ErrorCode.RELOAD_BUSY, message: 'busy' } },
    ]
    const reload = trackReloads(ledger, () => {
      const a = answers.shift()!
      return a instanceof Error ? Promise.reject(a) : Promise.resolve(a)
    })
    expect((await reload()).ok).toBe(true)
    expect(ledger.snapshot()).toMatchObject({ ok: 1, error: 0, generation: 2, routes: 5, last: { ok: true, needsRestart: ['workers'] } })
    expect(await reload()).toMatchObject({ ok: false, error: { code: ErrorCode.CONFIG_SYNTAX } })
    const thrown = await reload()
    expect(thrown).toEqual({ ok: false, error: { code: ErrorCode.CONFIG_READ, message: 'gone', key: undefined, file: '/x.yaml' } })
    await reload()
    expect(ledger.snapshot()).toMatchObject({ ok: 1, error: 2, generation: 2, routes: 5, last: { ok: false, code: ErrorCode.CONFIG_READ } })
  })
})

describe('createAdminTarget().status()', () => {
  it('reports workers (up, load, loop stats), the table, reloads, counters and routes by count', () => {
    const loop = new Float64Array(createLoopStatsBuffer())
    publishLoopStats(loop, 21e6, 23e6, 30e6, 0.4)
    const ledger = new ReloadLedger(7, Date.UTC(2026, 0, 2))
    const target = createAdminTarget({
      version: '1.2.3',
      phase: () => Phase.Running,
      stats: () => ({ counters: { conn_accepted: 10, conn_active: 3 }, active: [1, 2], accepted: [4, 6], restarts: 2 }),
      workersUp: () => [true, false],
      loopStats: () => [loop, null],
      routes: () => new Map([['a.example', 1], ['b.example', 9], ['(other)', 0]]),
      reloads: () => ledger.snapshot(),
      reload: () => Promise.resolve({ ok: true, routes: 7, ms: 1, needsRestart: [] }),
    })
    const s = target.status()
    expect(s.version).toBe('1.2.3')
    expect(s.pid).toBe(process.pid)
    expect(s.phase).toBe('running')
    expect(s.ready).toEqual({ ready: false, reasons: ['worker 2 not listening'] })
    expect(s.workers).toHaveLength(2)
    expect(s.workers[0]).toMatchObject({ id: 1, up: true, active: 1, accepted: 4, counters: null })
    expect(s.workers[0]!.loop?.delayP99Ms).toBeCloseTo(3, 9)
    expect(s.workers[1]).toMatchObject({ id: 2, up: false, active: 2, accepted: 6, loop: null })
    expect(s.restarts).toBe(2)
    expect(s.table).toEqual({ generation: 1, routes: 7, loadedAt: '2026-01-02T00:00:00.000Z' })
    expect(s.counters.conn_accepted).toBe(10)
    expect(s.routes).toEqual([{ route: 'b.example', connections: 9 }, { route: 'a.example', connections: 1 }])
    expect(target.ready().reasons).toEqual(['worker 2 not listening'])
    expect(JSON.parse(JSON.stringify(s))).toEqual(s)
  })
})
