/**
 * upstreams/swrr — smooth weighted round-robin (nginx, ngx_http_upstream_get_peer in
 * src/http/ngx_http_upstream_round_robin.c), unrolled into one full cycle at config load.
 *
 * nginx's step: every server's current weight grows by its weight; the largest (the first on a tie)
 * is chosen and loses the total. After Σw steps every current weight is back to 0, so the choices
 * repeat with period Σw. Weights 5,1,1 give `a a b a c a a`.
 *
 * Why a precomputed cycle instead of running the step per connection: the step mutates per-server
 * state, so doing it process-wide would need a lock shared by every worker thread. The cycle is
 * read-only; a shared cursor (one atomic compare-and-swap per pick, balance.ts) walks it, so all
 * workers together produce nginx's exact sequence, and a pick is O(1) instead of O(servers).
 *
 * Size: weights are divided by their greatest common divisor first (the step is scale-invariant:
 * the cycle of k·w is the cycle of w repeated k times), and if Σw still exceeds MAX_SWRR_CYCLE they
 * are scaled down proportionally (each at least 1) — the only case where the cycle approximates the
 * configured ratio instead of being exact. Build cost: O(Σw × servers) once.
 */

/** Longest cycle kept per pool tier (entries of 4 bytes: 256 KiB), bounding build time and memory. */
export const MAX_SWRR_CYCLE = 65_536

function gcd (a: number, b: number): number {
  while (b !== 0) { const t = a % b; a = b; b = t }
  return a
}

/** The weights the cycle is built from: reduced by their gcd, scaled into MAX_SWRR_CYCLE if needed. */
export function cycleWeights (weights: readonly number[]): number[] {
  let g = 0
  for (const w of weights) g = gcd(w, g)
  let reduced = weights.map((w) => w / Math.max(g, 1))
  const total = reduced.reduce((a, b) => a + b, 0)
  if (total > MAX_SWRR_CYCLE) {
    const scale = (MAX_SWRR_CYCLE - weights.length) / total
    reduced = reduced.map((w) => Math.max(1, Math.floor(w * scale)))
  }
  return reduced
}

/** One full cycle of nginx's smooth weighted round-robin, as indexes into `weights`. */
export function swrrCycle (weights: readonly number[]): Int32Array {
  const w = cycleWeights(weights)
  const n = w.length
  let total = 0
  for (const x of w) total += x
  const out = new Int32Array(total)
  const current = new Float64Array(n)
  for (let step = 0; step < total; step++) {
    let best = -1
    for (let i = 0; i < n; i++) {
      current[i] = current[i]! + w[i]!
      if (best < 0 || current[i]! > current[best]!) best = i
    }
    current[best] = current[best]! - total
    out[step] = best
  }
  return out
}
