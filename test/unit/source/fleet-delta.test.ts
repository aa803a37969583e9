/**
 * source/fleet-delta and the reload task's etcd path: the cases the property test (test/property/
 * fleet-delta.prop.test.ts) reaches too rarely to guard — an implicit pool whose first user changes
 * spelling, a delta the thread holds no base for, and the DeltaLog's record of moved keys and its bound.
 */
import { describe, expect, it } from 'vitest'

import reloadTask from '../../../src/pool/reload-task.ts'
import { DeltaLog, deltaPays, MAX_DELTA_KEYS } from '../../../src/source/fleet-delta.ts'
import { fleetEntries, type FleetInput } from '../../../src/source/fleet.ts'

const RAW = { listen: '127.0.0.1:0', workers: 1, routes: { 'file.example.com': '10.0.0.9:443' } }

function input (routes: Array<[string, string]>): FleetInput {
  return { file: 'fleet.json', raw: RAW, prefix: '/d/', routes: fleetEntries(routes), upstreams: [] }
}

describe('incremental etcd compile', () => {
  it('compiles in full when an implicit pool\'s first user goes (its server keeps that route\'s spelling)', async () => {
    const first = await reloadTask(input([['a.example.com', '[FD00::A]:443'], ['b.example.com', '[fd00::a]:443'], ['c.example.com', '[FD00::A]:443']]))
    if (!first.ok) throw new Error('full compile failed')
    expect(first.config.upstreams.find((u) => u.implicit && u.name === '[fd00::a]:443')!.servers[0]!.host).toBe('FD00::A')
    const log = new DeltaLog()
    log.restart()
    log.delete('a.example.com')
    const next = await reloadTask({ delta: log.delta(first.token!)! })
    if (!next.ok) throw new Error('delta compile failed')
    expect(next.incremental).toBe(false)
    expect(next.config.upstreams.find((u) => u.implicit && u.name === '[fd00::a]:443')!.servers[0]!.host).toBe('fd00::a')
    // a change that keeps every first user is incremental
    log.restart()
    log.put('d.example.com', '[fd00::a]:443', false)
    const third = await reloadTask({ delta: log.delta(next.token!)! })
    expect(third).toMatchObject({ ok: true, incremental: true })
  })

  it('answers a miss to a delta against a compile it does not hold', async () => {
    await reloadTask(input([['a.example.com', '10.0.0.1:443']]))
    const log = new DeltaLog()
    log.restart()
    log.put('b.example.com', '10.0.0.1:443', false)
    expect(await reloadTask({ delta: log.delta('0.0')! })).toEqual({ ok: false, miss: true })
  })

  it('records the last op per key, moving a re-inserted key to the end, and drops the record past MAX_DELTA_KEYS', () => {
    const log = new DeltaLog()
    expect(log.delta('t')).toBeNull() // nothing recorded yet: only a whole input describes the state
    log.restart()
    log.put('a', '1', true)
    log.delete('b')
    log.put('b', '2', false)
    log.put('a', '3', true)
    expect(log.delta('t')).toEqual({ base: 't', names: ['a', 'b'], texts: ['3', '2'], moved: [false, true] })
    // a key inserted, deleted and inserted again goes after one inserted in between (as the Map has them)
    log.put('x', '4', false)
    log.put('y', '5', false)
    log.delete('x')
    log.put('x', '6', false)
    expect(log.delta('t')!.names).toEqual(['a', 'b', 'y', 'x'])
    for (let i = 0; i < MAX_DELTA_KEYS; i++) log.put('k' + String(i), 'v', false)
    expect(log.unknown).toBe(true)
    expect(deltaPays(1, 0)).toBe(true)
    expect(deltaPays(2, 4)).toBe(false)
    expect(deltaPays(2, 8)).toBe(true)
  })
})
