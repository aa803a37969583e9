/**
 * upstreams/balance — choose a server for one connection: a few typed-array reads on the shared
 * table (state.ts), no allocation, no message, no lock. Any thread may call it.
 *
 * Contract: `pickServer(table, pool, clientHash, tried)` returns a global server id, or -1 when no
 * server of the pool is usable (the caller's outcome: no_healthy_origin). Usable = not down by the
 * active check, not ejected, and not in `tried`.
 *  - Backups: the backup tier is consulted only when no primary is usable (so a retry whose primaries
 *    have all been tried moves on to a backup). Within a tier, the pool's balance applies.
 *  - `tried` is a bitmask of servers this connection already tried: `tried |= serverBit(t, s)` after
 *    each failed attempt. Bits are positions in the pool modulo 32, so in pools over 32 servers a
 *    retry may also skip the (few) servers that share a bit with a tried one; it never picks a tried one.
 *  - `clientHash` (hash.ts hashClientAddress) is read only by `hash` pools; pass 0 otherwise.
 *
 * roundrobin: nginx's smooth weighted round-robin, precomputed as one cycle per tier (swrr.ts) and
 *   walked by a shared cursor advanced with compare-and-swap, so all workers together produce the
 *   exact nginx sequence (5,1,1 → a a b a c a a). When the entry's server is unusable, pseudo-random
 *   positions of the cycle are drawn (up to MAX_PROBES) until one is usable, which spreads a down
 *   server's turns over the others in proportion to their weights, instead of handing them all to its
 *   neighbour in the cycle.
 * leastconn: the fewest open connections per unit of weight (active/weight, compared as
 *   active_a × w_b < active_b × w_a, no division) over the process-wide gauges; the scan starts at a
 *   shared rotating offset, so ties go round.
 * hash: Maglev (maglev.ts): entry clientHash mod M. When that server is unusable the client probes
 *   further entries at a stride derived from its own hash, so it lands on a usable server chosen in
 *   proportion to the weights, always the same one while the pool's state is the same, and clients
 *   of healthy servers never move.
 * After MAX_PROBES unusable probes (most of a tier is down) a linear scan of the tier decides.
 */
import {
  BalanceCode, CURSOR_ROTATE, CURSOR_RR, CURSOR_STRIDE, SRV_ACTIVE, SRV_FLAGS, SRV_STRIDE, type ServerTable,
} from './state.ts'
import { fmix32 } from './hash.ts'

/**
 * Probes past unusable entries before the linear scan. With half a tier unusable, 16 probes all miss
 * with probability 2^-16; each probe is two array reads.
 */
export const MAX_PROBES = 16
/** 2^32 / φ: consecutive multiples are spread evenly over 32 bits (Fibonacci hashing) */
const GOLDEN = 0x9e3779b9

/** s is up, not ejected, and not yet tried by this connection */
function usable (t: ServerTable, s: number, first: number, tried: number): boolean {
  return t.srv[s * SRV_STRIDE + SRV_FLAGS] === 0 && (tried & (1 << ((s - first) & 31))) === 0
}

/** Take the tier's round-robin position and advance it, wrapping at the cycle's length (lock-free). */
function nextPosition (c: Int32Array, at: number, length: number): number {
  for (;;) {
    const cur = Atomics.load(c, at)
    const next = cur + 1 >= length ? 0 : cur + 1
    if (Atomics.compareExchange(c, at, cur, next) === cur) return cur
  }
}

/** First usable member of tier k from position `from` on, or -1. */
function scanTier (t: ServerTable, k: number, from: number, first: number, tried: number): number {
  const base = t.tierStart[k]!
  const n = t.tierCount[k]!
  for (let j = 0; j < n; j++) {
    const s = t.members[base + ((from + j) % n)]!
    if (usable(t, s, first, tried)) return s
  }
  return -1
}

function pickRoundRobin (t: ServerTable, k: number, first: number, tried: number): number {
  const length = t.cycleLength[k]!
  const start = t.cycleStart[k]!
  const i = nextPosition(t.cursors, k * CURSOR_STRIDE + CURSOR_RR, length)
  let s = t.cycle[start + i]!
  if (usable(t, s, first, tried)) return s
  // rejection sampling: pseudo-random cycle positions, so each usable server is hit in proportion to
  // its entries (its weight); a fixed stride would hand a down server's turns to whoever follows it
  const r = Atomics.add(t.cursors, k * CURSOR_STRIDE + CURSOR_ROTATE, 1)
  for (let probe = 1; probe < MAX_PROBES; probe++) {
    s = t.cycle[start + fmix32(r + Math.imul(probe, GOLDEN)) % length]!
    if (usable(t, s, first, tried)) return s
  }
  return scanTier(t, k, i, first, tried)
}

function pickLeastConn (t: ServerTable, k: number, first: number, tried: number): number {
  const base = t.tierStart[k]!
  const n = t.tierCount[k]!
  const from = (Atomics.add(t.cursors, k * CURSOR_STRIDE + CURSOR_ROTATE, 1) >>> 0) % n
  let best = -1
  let bestActive = 0
  let bestWeight = 1
  for (let j = 0; j < n; j++) {
    const s = t.members[base + ((from + j) % n)]!
    if (!usable(t, s, first, tried)) continue
    const active = t.srv[s * SRV_STRIDE + SRV_ACTIVE]!
    const weight = t.serverWeight[s]!
    // active/weight < bestActive/bestWeight, strictly: the first of equals (from the rotating start) wins
    if (best < 0 || active * bestWeight < bestActive * weight) {
      best = s
      bestActive = active
      bestWeight = weight
    }
  }
  return best
}

function pickHash (t: ServerTable, k: number, first: number, tried: number, clientHash: number): number {
  const size = t.maglevSize[k]!
  const start = t.maglevStart[k]!
  let e = (clientHash >>> 0) % size
  let s = t.maglev[start + e]!
  if (usable(t, s, first, tried)) return s
  // size is prime, so any stride in [1, size) visits every entry
  const step = (fmix32(clientHash ^ GOLDEN) % (size - 1)) + 1
  for (let probe = 1; probe < MAX_PROBES; probe++) {
    e = (e + step) % size
    s = t.maglev[start + e]!
    if (usable(t, s, first, tried)) return s
  }
  return scanTier(t, k, (clientHash >>> 0) % t.tierCount[k]!, first, tried)
}

function pickTier (t: ServerTable, k: number, balance: number, first: number, tried: number, clientHash: number): number {
  if (t.tierCount[k] === 0) return -1
  if (balance === BalanceCode.RoundRobin) return pickRoundRobin(t, k, first, tried)
  if (balance === BalanceCode.LeastConn) return pickLeastConn(t, k, first, tried)
  return pickHash(t, k, first, tried, clientHash)
}

/**
 * A server of `pool` for a new connection (or a retry), or -1 when none is usable. See the module
 * header for each balance and for `tried`.
 */
export function pickServer (t: ServerTable, pool: number, clientHash: number, tried: number): number {
  if (!(pool >= 0 && pool < t.pools)) return -1
  const balance = t.poolBalance[pool]!
  const first = t.poolFirst[pool]!
  const s = pickTier(t, 2 * pool, balance, first, tried, clientHash)
  return s >= 0 ? s : pickTier(t, 2 * pool + 1, balance, first, tried, clientHash)
}
