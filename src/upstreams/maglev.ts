/**
 * upstreams/maglev — the Maglev lookup table (Eisenbud et al., "Maglev: A Fast and Reliable Software
 * Network Load Balancer", NSDI '16, §3.4), built once per config load on the main thread.
 *
 * Contract: `buildMaglev(keys, weights, size)` returns an Int32Array of `size` entries, each an index
 * into `keys`; every key with weight > 0 owns about weight/Σweights of the entries. A client is mapped
 * to entry `hash mod size`. Pure, deterministic (hash.ts), no node:*.
 *
 * Populate (paper, Pseudocode 1): server i walks its own permutation of the entries,
 * p_i(j) = (offset_i + j × skip_i) mod M with offset = h1(key) mod M and skip = h2(key) mod (M−1) + 1
 * (M prime, so every skip is coprime with M and each permutation visits every entry), and takes the
 * first entry still free each time it has a turn, until the table is full.
 *
 * Weights (the paper's Maglev is unweighted): turns are given in rounds, and in round r server i takes
 * a turn only while count_i × w_max < r × w_i, so the heaviest server has a turn every round and one
 * of half its weight every other round. That is how Envoy's MaglevTable weighs hosts; it keeps the
 * paper's property that a server's entries come from its own permutation, so removing one server
 * frees only its entries (plus a small reshuffle, measured in test/unit/upstreams/balance.test.ts).
 *
 * Size: M must be prime and well above the server count (the paper uses M ≫ 100 × N for a share
 * imbalance of at most ~1%); maglevSize(n) picks the smallest listed prime ≥ 100 × n, from 65537.
 * Build cost is O(M log M) on average: a few ms for M = 65537.
 */
import { hashString } from './hash.ts'

/** Primes for the table size: 65537 (2^16+1) covers pools up to 655 servers at 100 entries each. */
export const MAGLEV_PRIMES: readonly number[] = [65537, 131071, 262147, 524287]
/** Entries per server the size is chosen for (paper §3.4: M ≫ 100·N keeps the imbalance near 1%). */
export const MAGLEV_ENTRIES_PER_SERVER = 100
/** seeds of the two independent hashes (offset, skip) */
const SEED_OFFSET = 0x4d41474c // 'MAGL'
const SEED_SKIP = 0x45560000 // 'EV'

/** Table size for n servers: the smallest listed prime ≥ 100·n (the largest listed beyond that). */
export function maglevSize (n: number): number {
  for (const p of MAGLEV_PRIMES) if (p >= n * MAGLEV_ENTRIES_PER_SERVER) return p
  return MAGLEV_PRIMES[MAGLEV_PRIMES.length - 1]!
}

/**
 * Fill a table of `size` (prime) entries with indexes into `keys`. Weights must be ≥ 1 (RangeError
 * otherwise: a programmer error, the table builder validates them first); no keys → a table of -1.
 */
export function buildMaglev (keys: readonly string[], weights: readonly number[], size: number): Int32Array {
  const n = keys.length
  const table = new Int32Array(size).fill(-1)
  if (n === 0) return table
  const pos = new Float64Array(n)
  const skip = new Float64Array(n)
  const count = new Float64Array(n)
  let wmax = 0
  for (let i = 0; i < n; i++) {
    // a weight below 1 never gets a turn: with all of them so, the fill loop would never end
    if (!(weights[i]! >= 1)) throw new RangeError('upstreams: Maglev weights must be ≥ 1')
    pos[i] = hashString(keys[i]!, SEED_OFFSET) % size
    skip[i] = (hashString(keys[i]!, SEED_SKIP) % (size - 1)) + 1
    wmax = Math.max(wmax, weights[i]!)
  }
  let filled = 0
  for (let round = 1; filled < size; round++) {
    for (let i = 0; i < n && filled < size; i++) {
      if (count[i]! * wmax >= round * weights[i]!) continue
      let c = pos[i]!
      while (table[c]! >= 0) c = (c + skip[i]!) % size
      table[c] = i
      pos[i] = (c + skip[i]!) % size
      count[i]!++
      filled++
    }
  }
  return table
}
