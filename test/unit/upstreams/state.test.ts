/**
 * The shared server table's bookkeeping: rise/fall on active checks, passive ejection with growing
 * backoff and its expiry, per-writer counters, what a reload carries over, and refusing specs the
 * table cannot hold.
 */
import { describe, expect, it } from 'vitest'
import {
  acquireServer, carryOver, createServerTable, ejectionMs, MAX_EJECT_MS, recordCheck, reportConnectFailure,
  reportConnectOk, serverStats, serverUsable, sweepEjections, Transition,
} from '../../../src/upstreams/index.ts'
import { pool } from '../../helpers/pools.ts'

describe('active checks: rise and fall', () => {
  it('goes down after `fall` bad checks in a row and back after `rise` good ones', () => {
    const t = createServerTable([pool('p', ['10.0.0.1:443'])], 0)
    const rise = 2
    const fall = 3
    const seq = (oks: boolean[]): number[] => oks.map((ok) => recordCheck(t, 0, ok, rise, fall))
    // a good check between bad ones restarts the count
    expect(seq([false, false, true, false, false])).toEqual([0, 0, 0, 0, 0])
    expect(serverUsable(t, 0)).toBe(true)
    expect(seq([false])).toEqual([Transition.Down])
    expect(serverUsable(t, 0)).toBe(false)
    expect(seq([false, true, false, true])).toEqual([0, 0, 0, 0])
    expect(serverUsable(t, 0)).toBe(false)
    expect(seq([true])).toEqual([Transition.Up])
    expect(serverUsable(t, 0)).toBe(true)
    const c = serverStats(t, 0)[0]!.counters
    expect(c).toMatchObject({ checks_ok: 4, checks_failed: 7, transitions: 2 })
  })
})

describe('passive ejection', () => {
  const spec = pool('p', ['10.0.0.1:443', '10.0.0.2:443'], { passive: { failures: 3, ejectMs: 1000 } })

  it('ejects after `failures` connect failures in a row, once, and a success resets the run', () => {
    const t = createServerTable([spec], 2)
    expect(reportConnectFailure(t, 1, 0, 0)).toBe(0)
    expect(reportConnectFailure(t, 2, 0, 0)).toBe(0)
    reportConnectOk(t, 1, 0)
    expect(reportConnectFailure(t, 1, 0, 0)).toBe(0)
    expect(reportConnectFailure(t, 2, 0, 0)).toBe(0)
    expect(serverUsable(t, 0)).toBe(true)
    expect(reportConnectFailure(t, 1, 0, 100)).toBe(1000)
    expect(serverUsable(t, 0)).toBe(false)
    // failures of connections already in flight do not eject it again
    expect(reportConnectFailure(t, 2, 0, 150)).toBe(0)
    expect(serverStats(t, 600)[0]).toMatchObject({ state: 'ejected', ejectedForMs: 500, counters: { connect_failures: 6, ejections: 1, connections: 1 } })
  })

  it('returns the server when the sweep passes its end; a repeat soon after doubles, a quiet spell resets', () => {
    const t = createServerTable([spec], 1)
    const fail3 = (now: number): number => { reportConnectFailure(t, 1, 1, now); reportConnectFailure(t, 1, 1, now); return reportConnectFailure(t, 1, 1, now) }
    expect(fail3(0)).toBe(1000)
    const back: number[] = []
    expect(sweepEjections(t, 999, (s) => back.push(s))).toBe(0)
    expect(sweepEjections(t, 1000, (s) => back.push(s))).toBe(1)
    expect(back).toEqual([1])
    expect(serverUsable(t, 1)).toBe(true)
    // fails again within its last ejection's length: twice as long, then four times
    expect(fail3(1500)).toBe(2000)
    sweepEjections(t, 3500)
    expect(fail3(4000)).toBe(4000)
    sweepEjections(t, 8000)
    // stays in longer than its last ejection lasted (4 s): the streak starts over
    expect(fail3(8000 + 4001)).toBe(1000)
  })

  it('caps the backoff at MAX_EJECT_MS (or the configured base when that is longer)', () => {
    expect(ejectionMs(1000, 1)).toBe(1000)
    expect(ejectionMs(1000, 4)).toBe(8000)
    expect(ejectionMs(1000, 40)).toBe(MAX_EJECT_MS)
    expect(ejectionMs(600_000, 3)).toBe(600_000)
  })

  it('is off with failures: 0', () => {
    const t = createServerTable([pool('p', ['10.0.0.1:443'])], 1)
    for (let i = 0; i < 100; i++) expect(reportConnectFailure(t, 1, 0, 0)).toBe(0)
    expect(serverUsable(t, 0)).toBe(true)
  })
})

describe('reload: carryOver', () => {
  it('carries health, ejection, runs and totals of servers with the same pool and address, not the gauge', () => {
    const old = createServerTable([
      pool('shop', ['10.0.0.1:443', '10.0.0.2:443', '[2001:db8::1]:443'], { passive: { failures: 1, ejectMs: 5000 } }),
      pool('api', ['10.0.0.1:443']),
    ], 2)
    recordCheck(old, 0, false, 2, 1) // shop 10.0.0.1 down
    recordCheck(old, 0, true, 2, 1) // one good check of the two it needs
    reportConnectFailure(old, 2, 1, 100) // shop 10.0.0.2 ejected until 5100
    reportConnectOk(old, 1, 2)
    reportConnectOk(old, 2, 2)
    acquireServer(old, 2)
    const next = createServerTable([
      pool('shop', ['[2001:db8::1]:443', '10.0.0.2:443', '10.0.0.1:443', '10.0.0.3:443']),
      pool('api2', ['10.0.0.1:443']),
    ], 3)
    expect(carryOver(old, next)).toBe(3)
    const stats = serverStats(next, 1100)
    expect(stats.map((s) => [s.pool, s.server, s.state, s.active, s.counters.connections])).toEqual([
      ['shop', '[2001:db8::1]:443', 'up', 0, 2],
      ['shop', '10.0.0.2:443', 'ejected', 0, 0],
      ['shop', '10.0.0.1:443', 'down', 0, 0],
      ['shop', '10.0.0.3:443', 'up', 0, 0],
      ['api2', '10.0.0.1:443', 'up', 0, 0], // a renamed pool is a new pool
    ])
    expect(stats[1]!.ejectedForMs).toBe(4000)
    expect(stats[1]!.counters.ejections).toBe(1)
    // the rise run carried: one more good check brings it up
    expect(recordCheck(next, 2, true, 2, 1)).toBe(Transition.Up)
    expect(sweepEjections(next, 5100)).toBe(1)
  })
})

describe('createServerTable refuses what it cannot hold', () => {
  it.each([
    ['weight 0', [pool('p', ['10.0.0.1:443*0'])], /weight/],
    ['negative weight', [pool('p', ['10.0.0.1:443*-1'])], /weight/],
    ['weight over 256', [pool('p', ['10.0.0.1:443*257'])], /weight/],
    ['duplicate server', [pool('p', ['10.0.0.1:443', '10.0.0.1:443'])], /twice/],
    ['duplicate pool', [pool('p', ['10.0.0.1:443']), pool('p', ['10.0.0.2:443'])], /twice/],
    ['port 0', [pool('p', ['10.0.0.1:0'])], /port/],
  ])('%s', (_, pools, message) => {
    expect(() => createServerTable(pools, 1)).toThrow(message)
  })
})
