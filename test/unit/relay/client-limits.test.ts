/**
 * ClientLimiter bookkeeping with an explicit clock: the token bucket's lazy refill, the concurrent cap,
 * and what the bounded table does at its cap (evict the longest-idle address, never a busy one).
 * The socket-level behaviour is in test/integration/client-limits.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { ClientLimiter, LIMITED, UNTRACKED } from '../../../src/relay/index.ts'

function limiter (o: Partial<{ maxConnections: number, newPerSecond: number, burst: number, capacity: number }>): ClientLimiter {
  return new ClientLimiter({ maxConnections: Infinity, newPerSecond: Infinity, burst: Infinity, capacity: 16, ...o })
}

describe('ClientLimiter', () => {
  it('refills the bucket from the elapsed time, up to the burst', () => {
    const l = limiter({ newPerSecond: 2, burst: 2 })
    for (const t of [0, 0]) expect(l.admit('a', t)).toBeGreaterThanOrEqual(0)
    expect(l.admit('a', 100)).toBe(LIMITED)
    expect(l.admit('a', 500)).toBeGreaterThanOrEqual(0) // 0.2 + 0.8 tokens by 500 ms
    expect(l.admit('a', 600)).toBe(LIMITED)
    // a long pause refills only up to the burst
    for (const t of [60_000, 60_000]) expect(l.admit('a', t)).toBeGreaterThanOrEqual(0)
    expect(l.admit('a', 60_000)).toBe(LIMITED)
  })

  it('caps open connections per address, and a release gives the slot back', () => {
    const l = limiter({ maxConnections: 2 })
    const a = l.admit('a', 0)
    expect(l.admit('a', 0)).toBe(a)
    expect(l.admit('a', 0)).toBe(LIMITED)
    expect(l.admit('b', 0)).toBeGreaterThanOrEqual(0)
    l.release(a)
    expect(l.admit('a', 0)).toBe(a)
  })

  it('at the cap evicts the longest-idle address (forgetting its bucket) and never a busy one', () => {
    const l = limiter({ newPerSecond: 1, burst: 1, capacity: 2 })
    const a = l.admit('a', 0)
    const b = l.admit('b', 0)
    // both busy: a third address is admitted untracked rather than refused or tracked over the cap
    expect(l.admit('c', 0)).toBe(UNTRACKED)
    l.release(UNTRACKED)
    l.release(b)
    l.release(a)
    // b went idle first: c takes its slot, a keeps its (empty) bucket
    expect(l.admit('c', 0)).toBe(b)
    expect(l.admit('a', 0)).toBe(LIMITED)
    expect(l.size).toBe(2)
    // b comes back as a stranger with a full bucket, taking a's slot (the only idle one)
    expect(l.admit('b', 0)).toBe(a)
    expect(l.admit('b', 0)).toBe(LIMITED)
  })
})
