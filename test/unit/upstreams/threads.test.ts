/**
 * The table is process-wide: worker threads share it through structured clone (SharedArrayBuffer),
 * so round-robin is exact over all workers together and leastconn sees every thread's connections.
 */
import { Worker } from 'node:worker_threads'
import { afterEach, describe, expect, it } from 'vitest'
import { createServerTable, pickServer, serverStats, type ServerTable } from '../../../src/upstreams/index.ts'
import { pool } from '../../helpers/pools.ts'

const WORKER = new URL('../../helpers/upstreams-worker.ts', import.meta.url)
const workers: Worker[] = []

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()))
})

function spawn (data: Record<string, unknown>): Worker {
  const w = new Worker(WORKER, { workerData: data })
  workers.push(w)
  return w
}

function next (w: Worker): Promise<unknown> {
  return new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject) })
}

describe('one table, many threads', () => {
  it('round-robin stays exact when four threads pick at once', async () => {
    const table = createServerTable([pool('p', ['10.0.0.1:443*5', '10.0.0.2:443', '10.0.0.3:443'])], 4)
    const per = 175_000 // 4 × 175 000 = 700 000 picks = 100 000 cycles of 7, long enough to overlap
    const start = new Int32Array(new SharedArrayBuffer(8))
    const out = new Int32Array(new SharedArrayBuffer(4 * per * 4))
    const ws = [0, 1, 2, 3].map((i) => spawn({ table, op: 'pick', count: per, start, out, offset: i * per }))
    for (let i = 0; i < 500 && Atomics.load(start, 1) < 4; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(Atomics.load(start, 1)).toBe(4)
    const done = ws.map(next)
    Atomics.store(start, 0, 1)
    Atomics.notify(start, 0)
    await Promise.all(done)
    const counts = [0, 0, 0]
    for (const s of out) counts[s]!++
    expect(counts).toEqual([500_000, 100_000, 100_000])
  })

  it('leastconn sees connections held by another thread', async () => {
    const table: ServerTable = createServerTable([pool('p', ['10.0.0.1:443', '10.0.0.2:443'], { balance: 'leastconn' })], 1)
    const start = new Int32Array(new SharedArrayBuffer(8))
    Atomics.store(start, 0, 1)
    const w = spawn({ table, op: 'hold', count: 3, start, server: 0 })
    await next(w)
    expect(serverStats(table, Date.now())[0]!.active).toBe(3)
    for (let i = 0; i < 5; i++) expect(pickServer(table, 0, 0, 0)).toBe(1)
    w.postMessage('release')
    await next(w)
    expect(serverStats(table, Date.now())[0]!.active).toBe(0)
    expect(new Set([0, 1, 2, 3].map(() => pickServer(table, 0, 0, 0)))).toEqual(new Set([0, 1]))
  })
})
