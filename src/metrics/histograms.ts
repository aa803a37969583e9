/**
 * Per-worker histograms in shared memory: hello size, hello duration, origin connect duration and total
 * connection duration. Each worker owns one Float64Array on a SharedArrayBuffer and is its only writer;
 * the main thread sums the workers' slabs at scrape time (prometheus.ts), so nothing is ever sent per
 * observation and no lock is taken.
 *
 * Contract:
 *  - `observe(view, id, value)` is a linear bucket search over at most 16 fixed bounds and two adds:
 *    no allocation, no branch on the metric's name, safe on the per-connection path.
 *  - Values are observed in the unit the relay already has (bytes, milliseconds from performance.now()
 *    differences); the export converts milliseconds to Prometheus' base unit, seconds.
 *  - Bucket counts are stored per bucket (not cumulative): one add per observation instead of up to 16.
 *    `mergeHistograms` makes them cumulative, as the exposition format wants.
 *
 * Layout of one worker's slab, per histogram h at HISTOGRAM_OFFSET[h]:
 *   [sum, count(v ≤ b0), count(b0 < v ≤ b1), …, count(v > b_last)]   (Prometheus `le` semantics)
 * The count is the sum of the buckets, so it needs no slot of its own.
 *
 * Limits: Float64 counts stay exact up to 2^53 observations per bucket per worker; the bounds are fixed
 * at build time (changing them changes the series a dashboard sees, so it is an interface change).
 */

export const HistogramId = {
  /** ClientHello handshake message size, bytes */
  HelloSize: 0,
  /** accept → complete hello, ms */
  HelloDuration: 1,
  /** complete hello → origin TCP connected, ms */
  ConnectDuration: 2,
  /** accept → both sockets closed, ms */
  TotalDuration: 3,
} as const
export type HistogramId = typeof HistogramId[keyof typeof HistogramId]

export interface HistogramDef {
  readonly id: HistogramId
  /** Prometheus metric name (base unit in the suffix) */
  readonly name: string
  readonly help: string
  /** upper bounds in the observed unit, ascending; +Inf is implicit */
  readonly bounds: readonly number[]
  /** observed unit → exported unit (ms → s = 0.001) */
  readonly scale: number
}

/**
 * Bounds. Hello sizes: real hellos are 250 B (no extensions) to ~2 KB (post-quantum key shares), the
 * cap is limits.maxHelloBytes ≤ 64 KiB. Durations: sub-millisecond on loopback up to the 5 s default
 * hello/connect timeouts; total duration spans short requests to hour-long tunnels.
 */
export const HISTOGRAMS: readonly HistogramDef[] = [
  {
    id: HistogramId.HelloSize,
    name: 'hellogate_hello_size_bytes',
    help: 'Size of complete ClientHello handshake messages.',
    bounds: [256, 512, 768, 1024, 1536, 2048, 4096, 8192, 16384, 32768, 65536],
    scale: 1,
  },
  {
    id: HistogramId.HelloDuration,
    name: 'hellogate_hello_duration_seconds',
    help: 'Time from accept until the ClientHello was complete.',
    bounds: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
    scale: 0.001,
  },
  {
    id: HistogramId.ConnectDuration,
    name: 'hellogate_origin_connect_duration_seconds',
    help: 'Time from the complete ClientHello until the origin TCP connection was established.',
    bounds: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
    scale: 0.001,
  },
  {
    id: HistogramId.TotalDuration,
    name: 'hellogate_connection_duration_seconds',
    help: 'Time from accept until both sockets of the connection were closed.',
    bounds: [1, 5, 10, 50, 100, 500, 1000, 5000, 10_000, 30_000, 60_000, 300_000, 900_000, 3_600_000],
    scale: 0.001,
  },
]

/** Bounds as typed arrays, indexed by HistogramId: the hot loop reads numbers, never objects. */
const BOUNDS: readonly Float64Array[] = HISTOGRAMS.map((h) => Float64Array.from(h.bounds))

/** First slot (the sum) of each histogram in a worker's slab, indexed by HistogramId. */
export const HISTOGRAM_OFFSET: Int32Array = (() => {
  const offsets = new Int32Array(HISTOGRAMS.length)
  let next = 0
  for (const h of HISTOGRAMS) {
    offsets[h.id] = next
    next += 1 + h.bounds.length + 1
  }
  return offsets
})()

/** Float64 slots in one worker's histogram slab. */
export const HISTOGRAM_SLOTS = HISTOGRAMS.reduce((n, h) => n + 2 + h.bounds.length, 0)

export function createHistogramBuffer (): SharedArrayBuffer {
  return new SharedArrayBuffer(HISTOGRAM_SLOTS * Float64Array.BYTES_PER_ELEMENT)
}

/** Record one observation in this worker's slab: find the bucket, add 1 to it and `value` to the sum. */
export function observe (view: Float64Array, id: HistogramId, value: number): void {
  const bounds = BOUNDS[id]!
  const n = bounds.length
  let i = 0
  while (i < n && value > bounds[i]!) i++
  const base = HISTOGRAM_OFFSET[id]!
  view[base + 1 + i]!++
  view[base]! += value
}

export interface MergedHistogram {
  /** upper bounds in the exported unit, ascending, without +Inf */
  readonly le: readonly number[]
  /** cumulative counts, one per `le`, then the +Inf bucket (= count) */
  readonly cumulative: readonly number[]
  /** sum in the exported unit */
  readonly sum: number
  readonly count: number
}

/** Sum one histogram over every worker's slab, as cumulative buckets in the exported unit. */
export function mergeHistograms (views: readonly Float64Array[], id: HistogramId): MergedHistogram {
  const def = HISTOGRAMS[id]!
  const base = HISTOGRAM_OFFSET[id]!
  const buckets = def.bounds.length + 1
  const cumulative: number[] = new Array<number>(buckets).fill(0)
  let sum = 0
  for (const view of views) {
    sum += view[base] ?? 0
    for (let i = 0; i < buckets; i++) cumulative[i]! += view[base + 1 + i] ?? 0
  }
  for (let i = 1; i < buckets; i++) cumulative[i]! += cumulative[i - 1]!
  return {
    le: def.bounds.map((b) => roundScaled(b * def.scale)),
    cumulative,
    sum: sum * def.scale,
    count: cumulative[buckets - 1]!,
  }
}

/** 0.25 * 0.001 is 0.00025000000000000006 in binary floating point; `le` labels should read as written. */
function roundScaled (x: number): number {
  return Number(x.toPrecision(12))
}
