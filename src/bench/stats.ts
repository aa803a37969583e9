/**
 * Latency samples and their summaries for `hellogate bench`: every sample is kept (value and the time
 * it was taken, both in milliseconds) so the percentiles are exact and the chart can show latency over
 * time, up to MAX_SAMPLES per series; past that, samples are counted but no longer stored (the summary
 * says `truncated`).
 *
 * Contract: `add(atMs, valueMs)`; `summary()` → count, min, mean, p50, p90, p99, max (exact, nearest
 * rank); `perSecond(durationMs)` → one bucket per second with count, p50, p99, max.
 *
 * Limits: memory ≤ 2 × 8 B × MAX_SAMPLES per series (32 MiB). Pure: no node:* imports.
 */

/** 2M samples: a 30 s run at 60k/s; beyond that the percentiles come from the first 2M */
export const MAX_SAMPLES = 2 * 1024 * 1024
const INITIAL_CAPACITY = 4096

export interface LatencySummary {
  /** samples taken (stored or not) */
  count: number
  min: number
  mean: number
  p50: number
  p90: number
  p99: number
  max: number
  /** true when more than MAX_SAMPLES were taken and the percentiles cover the first MAX_SAMPLES only */
  truncated: boolean
}

export interface SecondBucket {
  /** second since the start (0-based) */
  second: number
  count: number
  p50: number
  p99: number
  max: number
}

export class Samples {
  private at = new Float64Array(INITIAL_CAPACITY)
  private values = new Float64Array(INITIAL_CAPACITY)
  private stored = 0
  /** samples taken, including those past MAX_SAMPLES */
  count = 0

  add (atMs: number, valueMs: number): void {
    this.count++
    if (this.stored === MAX_SAMPLES) return
    if (this.stored === this.values.length) this.grow()
    this.at[this.stored] = atMs
    this.values[this.stored] = valueMs
    this.stored++
  }

  private grow (): void {
    const size = Math.min(MAX_SAMPLES, this.values.length * 2)
    const at = new Float64Array(size)
    const values = new Float64Array(size)
    at.set(this.at)
    values.set(this.values)
    this.at = at
    this.values = values
  }

  /** Add another series' stored samples and its total count (a load thread's, at the end of a run). */
  merge (at: Float64Array, values: Float64Array, count: number): void {
    for (let i = 0; i < values.length; i++) this.add(at[i]!, values[i]!)
    // samples the other series counted but did not store
    this.count += count - values.length
  }

  /** stored samples, in the order they were taken: [time, value] views (do not keep them across add()) */
  points (): { at: Float64Array, values: Float64Array } {
    return { at: this.at.subarray(0, this.stored), values: this.values.subarray(0, this.stored) }
  }

  summary (): LatencySummary {
    const sorted = this.values.slice(0, this.stored).sort()
    const n = sorted.length
    let sum = 0
    for (let i = 0; i < n; i++) sum += sorted[i]!
    return {
      count: this.count,
      min: n === 0 ? 0 : sorted[0]!,
      mean: n === 0 ? 0 : sum / n,
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: n === 0 ? 0 : sorted[n - 1]!,
      truncated: this.count > this.stored,
    }
  }

  /** One bucket per started second of `durationMs` (empty seconds included, with zeros). */
  perSecond (durationMs: number): SecondBucket[] {
    const seconds = Math.max(1, Math.ceil(durationMs / 1000))
    const groups: number[][] = Array.from({ length: seconds }, () => [])
    for (let i = 0; i < this.stored; i++) {
      const s = Math.min(seconds - 1, Math.max(0, Math.floor(this.at[i]! / 1000)))
      groups[s]!.push(this.values[i]!)
    }
    return groups.map((g, second) => {
      const sorted = Float64Array.from(g).sort()
      return { second, count: g.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.length === 0 ? 0 : sorted[sorted.length - 1]! }
    })
  }
}

/** Nearest-rank percentile of an ascending array (0 for an empty one). */
export function percentile (sorted: Float64Array, p: number): number {
  const n = sorted.length
  if (n === 0) return 0
  const rank = Math.ceil((p / 100) * n)
  return sorted[Math.min(n - 1, Math.max(0, rank - 1))]!
}

export interface HistogramBin {
  /** lower edge, ms */
  from: number
  /** upper edge, ms (the last bin holds everything ≥ from) */
  to: number
  count: number
}

/**
 * `bins` equal-width bins from 0 to the p99 × 1.25 (so one slow outlier does not squash the shape);
 * the last bin collects everything above.
 */
export function histogram (values: Float64Array, bins: number): HistogramBin[] {
  const sorted = values.slice().sort()
  const top = Math.max(percentile(sorted, 99) * 1.25, 1e-3)
  const width = top / bins
  const out: HistogramBin[] = []
  for (let b = 0; b < bins; b++) out.push({ from: b * width, to: (b + 1) * width, count: 0 })
  for (let i = 0; i < sorted.length; i++) {
    const b = Math.min(bins - 1, Math.floor(sorted[i]! / width))
    out[b]!.count++
  }
  return out
}
