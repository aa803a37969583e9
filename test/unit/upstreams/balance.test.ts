/**
 * Server choice over the shared table: nginx's smooth weighted round-robin sequence exactly (and
 * against a straight transcription of nginx's step for random weights), leastconn over the gauges,
 * Maglev's weighted distribution and how many clients move when a server is removed or goes down,
 * backups only without a usable primary, and retries that never repeat a server.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  acquireServer, createServerTable, hashClientAddress, MAX_PROBES, pickServer, recordCheck, releaseServer,
  reportConnectFailure, serverBit, swrrCycle, type PoolSpec, type ServerTable,
} from '../../../src/upstreams/index.ts'
import { pool } from '../../helpers/pools.ts'

const CLIENTS = 100_000

/** nginx ngx_http_upstream_get_peer, step by step, as the oracle */
function nginxSequence (weights: number[], picks: number): number[] {
  const current = weights.map(() => 0)
  const total = weights.reduce((a, b) => a + b, 0)
  const out: number[] = []
  for (let k = 0; k < picks; k++) {
    let best = -1
    for (let i = 0; i < weights.length; i++) {
      current[i]! += weights[i]!
      if (best === -1 || current[i]! > current[best]!) best = i
    }
    current[best]! -= total
    out.push(best)
  }
  return out
}

function picks (t: ServerTable, p: number, n: number, hash = 0, tried = 0): number[] {
  return Array.from({ length: n }, () => pickServer(t, p, hash, tried))
}

function down (t: ServerTable, s: number): void {
  while (recordCheck(t, s, false, 1, 1) !== -1) { /* fall = 1: one bad check */ }
}

/** synthetic client addresses: 10.x.y.z spread over the whole range, deterministic */
function clientHashes (n: number): Uint32Array {
  const out = new Uint32Array(n)
  for (let i = 0; i < n; i++) {
    const v = Math.imul(i + 1, 2654435761) >>> 0
    out[i] = hashClientAddress('10.' + String(v >>> 16 & 255) + '.' + String(v >>> 8 & 255) + '.' + String(v & 255))
  }
  return out
}

function hashPool (n: number, weights?: number[], name = 'h'): PoolSpec {
  return pool(name, Array.from({ length: n }, (_, i) => '10.1.0.' + String(i + 1) + ':443*' + String(weights?.[i] ?? 1)), { balance: 'hash' })
}

describe('roundrobin: smooth weighted (nginx)', () => {
  it('weights 5,1,1 give a a b a c a a, cycle after cycle', () => {
    const t = createServerTable([pool('p', ['10.0.0.1:443*5', '10.0.0.2:443', '10.0.0.3:443'])], 0)
    expect(picks(t, 0, 14).map((s) => 'abc'[s]).join(' ')).toBe('a a b a c a a a a b a c a a')
  })

  it('is nginx\'s sequence for any weights (common factors and the scale-down aside)', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 9 }), (weights) => {
      const total = weights.reduce((a, b) => a + b, 0)
      // the cycle is built from the weights divided by their gcd: the same sequence, repeated
      const cycle = [...swrrCycle(weights)]
      expect(Array.from({ length: total }, (_, i) => cycle[i % cycle.length])).toEqual(nginxSequence(weights, total))
      const t = createServerTable([pool('p', weights.map((w, i) => '10.0.0.' + String(i + 1) + ':443*' + String(w)))], 0)
      expect(picks(t, 0, 2 * total)).toEqual(nginxSequence(weights, 2 * total))
    }), { seed: 42, numRuns: 200 })
  })

  it('spreads a down server\'s turns over the others by weight, never choosing it', () => {
    const t = createServerTable([pool('p', ['10.0.0.1:443*3', '10.0.0.2:443*2', '10.0.0.3:443*1', '10.0.0.4:443*4'])], 0)
    down(t, 3)
    const counts = [0, 0, 0, 0]
    for (const s of picks(t, 0, 60_000)) counts[s]!++
    expect(counts[3]).toBe(0)
    // 3:2:1 of 60 000 is 30 000 : 20 000 : 10 000; a neighbour-takes-all skip would give 30k:20k:10k + 24k to one
    expect(counts[0]! / 30_000).toBeCloseTo(1, 1)
    expect(counts[1]! / 20_000).toBeCloseTo(1, 1)
    expect(counts[2]! / 10_000).toBeCloseTo(1, 1)
  })
})

describe('leastconn', () => {
  it('sends new connections away from servers holding long connections', () => {
    const t = createServerTable([pool('p', ['10.0.0.1:443', '10.0.0.2:443', '10.0.0.3:443'], { balance: 'leastconn' })], 0)
    // three long connections land one per server, then a's stay open
    const long = picks(t, 0, 1)
    acquireServer(t, long[0]!)
    for (let i = 0; i < 2; i++) acquireServer(t, long[0]!)
    // short connections (open, close) never go to the busy server, and alternate between the idle two
    const seen: number[] = []
    for (let i = 0; i < 10; i++) {
      const s = pickServer(t, 0, 0, 0)
      seen.push(s)
      acquireServer(t, s)
      releaseServer(t, s)
    }
    expect(seen).not.toContain(long[0])
    expect(new Set(seen).size).toBe(2)
    // a burst of concurrent connections fills the idle servers up to the busy one's level first
    const burst: number[] = []
    for (let i = 0; i < 6; i++) { const s = pickServer(t, 0, 0, 0); burst.push(s); acquireServer(t, s) }
    expect(burst.filter((s) => s === long[0]).length).toBe(0)
    const next = pickServer(t, 0, 0, 0)
    expect([0, 1, 2]).toContain(next)
  })

  it('weighs the gauges: active / weight, ties rotate', () => {
    const t = createServerTable([pool('p', ['10.0.0.1:443*2', '10.0.0.2:443'], { balance: 'leastconn' })], 0)
    acquireServer(t, 0)
    acquireServer(t, 0)
    acquireServer(t, 1)
    // 2/2 = 1/1: a tie, so both are chosen in turn
    expect(new Set(picks(t, 0, 4))).toEqual(new Set([0, 1]))
    acquireServer(t, 1)
    // 2/2 < 2/1
    expect(new Set(picks(t, 0, 4))).toEqual(new Set([0]))
  })
})

describe('hash: weighted Maglev on the client address', () => {
  const hashes = clientHashes(CLIENTS)

  it('the same client always gets the same server', () => {
    const t = createServerTable([hashPool(5)], 0)
    for (let i = 0; i < 1000; i++) expect(pickServer(t, 0, hashes[i]!, 0)).toBe(pickServer(t, 0, hashes[i]!, 0))
  })

  it('shares clients in proportion to the weights (within 0.5 points)', () => {
    const weights = [1, 2, 3, 4, 10]
    const t = createServerTable([hashPool(5, weights)], 0)
    const counts = [0, 0, 0, 0, 0]
    for (const h of hashes) counts[pickServer(t, 0, h, 0)]!++
    const total = weights.reduce((a, b) => a + b, 0)
    const shares = counts.map((c) => c / CLIENTS)
    console.log('maglev weighted shares (1,2,3,4,10):', shares.map((s) => s.toFixed(4)).join(' '), 'expected', weights.map((w) => (w / total).toFixed(4)).join(' '))
    weights.forEach((w, i) => { expect(Math.abs(shares[i]! - w / total)).toBeLessThan(0.005) })
  })

  it('removing one of N servers moves about 1/N of the clients', () => {
    for (const n of [5, 10, 20]) {
      const before = createServerTable([hashPool(n)], 0)
      const spec = hashPool(n)
      const removed = 3
      const after = createServerTable([{ ...spec, servers: spec.servers.filter((_, i) => i !== removed) }], 0)
      let moved = 0
      let ofRemoved = 0
      for (const h of hashes) {
        const a = before.serverLabels[pickServer(before, 0, h, 0)]
        const b = after.serverLabels[pickServer(after, 0, h, 0)]
        if (a !== b) moved++
        if (a === before.serverLabels[removed]) ofRemoved++
      }
      const share = moved / CLIENTS
      console.log('maglev: removed 1 of ' + String(n) + ': ' + (100 * share).toFixed(2) + '% of clients moved (' + (100 * ofRemoved / CLIENTS).toFixed(2) + '% were on it; 1/N = ' + (100 / n).toFixed(2) + '%)')
      // the removed server's clients must move; the paper's Maglev moves a few % of the others with them
      expect(share).toBeGreaterThanOrEqual(ofRemoved / CLIENTS)
      expect(share).toBeLessThan(1.3 / n)
    }
  })

  it('a down server\'s clients, and only those, move — spread by weight — and come back when it does', () => {
    const weights = [1, 2, 3, 4, 5, 1, 2, 3, 4, 5]
    const t = createServerTable([hashPool(10, weights)], 0)
    const first = Array.from(hashes, (h) => pickServer(t, 0, h, 0))
    down(t, 4)
    const moved = weights.map(() => 0)
    let othersMoved = 0
    hashes.forEach((h, i) => {
      const s = pickServer(t, 0, h, 0)
      if (first[i] !== 4) othersMoved += s === first[i] ? 0 : 1
      else moved[s]!++
    })
    expect(othersMoved).toBe(0)
    const total = moved.reduce((a, b) => a + b, 0)
    const others = weights.reduce((a, b) => a + b, 0) - weights[4]!
    console.log('maglev: server down: ' + (100 * total / CLIENTS).toFixed(2) + '% of clients moved, spread', moved.join(' '))
    expect(moved[4]).toBe(0)
    // within a quarter of its weight's share each (a fixed fallback order would give one server them all)
    weights.forEach((w, s) => { if (s !== 4) expect(Math.abs(moved[s]! / total - w / others)).toBeLessThan(0.25 * w / others) })
    recordCheck(t, 4, true, 1, 1)
    let back = 0
    hashes.forEach((h, i) => { back += pickServer(t, 0, h, 0) === first[i] ? 1 : 0 })
    expect(back).toBe(CLIENTS)
  })

  it('finds the one usable server even when probing misses (linear scan after MAX_PROBES)', () => {
    const t = createServerTable([hashPool(40)], 0)
    for (let s = 0; s < 40; s++) if (s !== 17) down(t, s)
    for (let i = 0; i < 2000; i++) expect(pickServer(t, 0, hashes[i]!, 0)).toBe(17)
    expect(MAX_PROBES).toBeLessThan(40)
  })
})

describe('backups, retries, nothing usable', () => {
  it.each(['roundrobin', 'leastconn', 'hash'] as const)('%s: backups only while no primary is usable', (balance) => {
    const t = createServerTable([pool('p', ['10.0.0.1:443', '10.0.0.2:443*2', '10.0.0.8:443!', '10.0.0.9:443!'], { balance })], 0)
    const hashes = clientHashes(200)
    const run = (): Set<number> => new Set(Array.from(hashes, (h) => pickServer(t, 0, h, 0)))
    expect(run()).toEqual(balance === 'hash' ? new Set([0, 1]) : new Set([0, 1]))
    down(t, 0)
    expect(run()).toEqual(new Set([1]))
    down(t, 1)
    expect(run()).toEqual(new Set([2, 3]))
    down(t, 2)
    expect(run()).toEqual(new Set([3]))
    down(t, 3)
    expect(run()).toEqual(new Set([-1]))
    recordCheck(t, 1, true, 1, 1)
    expect(run()).toEqual(new Set([1]))
  })

  it.each(['roundrobin', 'leastconn', 'hash'] as const)('%s: a retry never returns a server already tried', (balance) => {
    const t = createServerTable([pool('p', ['10.0.0.1:443', '10.0.0.2:443*3', '10.0.0.3:443', '10.0.0.9:443!'], { balance })], 0)
    for (const h of clientHashes(300)) {
      let tried = 0
      const order: number[] = []
      for (let attempt = 0; attempt < 5; attempt++) {
        const s = pickServer(t, 0, h, tried)
        order.push(s)
        if (s < 0) break
        tried |= serverBit(t, s)
      }
      // three primaries in some order, then the backup, then nothing
      expect(order.slice(0, 3).sort()).toEqual([0, 1, 2])
      expect(order.slice(3)).toEqual([3, -1])
    }
  })

  it('an ejected server is skipped like a down one', () => {
    const t = createServerTable([pool('p', ['10.0.0.1:443', '10.0.0.2:443'], { passive: { failures: 1, ejectMs: 60_000 } })], 1)
    expect(reportConnectFailure(t, 1, 0, Date.now())).toBe(60_000)
    expect(new Set(picks(t, 0, 10))).toEqual(new Set([1]))
  })

  it('answers -1 for an unknown pool or a pool without servers', () => {
    const t = createServerTable([pool('empty', [])], 0)
    expect(pickServer(t, 0, 0, 0)).toBe(-1)
    expect(pickServer(t, 1, 0, 0)).toBe(-1)
    expect(pickServer(t, -1, 0, 0)).toBe(-1)
  })
})
