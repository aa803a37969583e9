/**
 * Per-worker event-loop health in a small shared slab: each worker samples its own loop on a coarse
 * timer and writes the figures into its slab; the main thread reads the slabs when it is scraped or
 * asked for /status. No message crosses threads, and a worker that is stuck simply stops updating
 * (its `updatedAt` goes stale, which is itself the signal).
 *
 * Sampling (worker side, `startLoopStats`):
 *  - delay: perf_hooks.monitorEventLoopDelay at LOOP_DELAY_RESOLUTION_MS. Its samples are the time
 *    between two timer ticks, so they include the resolution itself (a perfectly idle loop reads
 *    ≈ 20 ms at resolution 20); we subtract it, as Elastic's APM agent does (nodejs/node#34661,
 *    open-telemetry/opentelemetry-js-contrib#2794). The histogram is reset every interval, so the
 *    figures describe the last interval only.
 *  - utilisation: performance.eventLoopUtilization() delta over the interval (0 = idle, 1 = busy).
 *  - interval LOOP_STATS_INTERVAL_MS ≥ 1 s, timer unref'd: it must never keep a draining worker alive,
 *    and sampling more often than Prometheus scrapes buys nothing.
 *
 * Layout of one slab (Float64, LOOP_STAT_SLOTS slots, one slab per worker; the worker is the only writer):
 */
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks'

export const LoopStat = {
  /** mean event-loop delay over the last interval, ms (resolution subtracted, ≥ 0) */
  DelayMeanMs: 0,
  /** 99th percentile of the delay over the last interval, ms */
  DelayP99Ms: 1,
  /** largest delay over the last interval, ms */
  DelayMaxMs: 2,
  /** event-loop utilisation over the last interval, 0–1 */
  Utilization: 3,
  /** Date.now() of the last update; 0 = never updated */
  UpdatedAt: 4,
} as const
export type LoopStat = typeof LoopStat[keyof typeof LoopStat]

export const LOOP_STAT_SLOTS = Object.keys(LoopStat).length

/** Sampling timer resolution: 20 ms keeps the sampler's own cost negligible (50 wake-ups/s). */
export const LOOP_DELAY_RESOLUTION_MS = 20
/** How often a worker publishes: coarser than any useful scrape interval is pointless, finer costs. */
export const LOOP_STATS_INTERVAL_MS = 1000

export function createLoopStatsBuffer (): SharedArrayBuffer {
  return new SharedArrayBuffer(LOOP_STAT_SLOTS * Float64Array.BYTES_PER_ELEMENT)
}

const NS_PER_MS = 1e6

/**
 * Start sampling this thread's event loop into `view` every `intervalMs` (clamped to ≥ 1 s).
 * Returns a function that stops the sampler. Call it once per worker at startup.
 */
export function startLoopStats (view: Float64Array, intervalMs = LOOP_STATS_INTERVAL_MS): () => void {
  const delay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS })
  delay.enable()
  let last: EventLoopUtilization = performance.eventLoopUtilization()
  const timer = setInterval(() => {
    const elu = performance.eventLoopUtilization(last)
    last = performance.eventLoopUtilization()
    publishLoopStats(view, delay.count > 0 ? delay.mean : NaN, delay.percentile(99), delay.max, elu.utilization)
    delay.reset()
  }, Math.max(LOOP_STATS_INTERVAL_MS, intervalMs))
  timer.unref()
  return () => {
    clearInterval(timer)
    delay.disable()
  }
}

/**
 * Write one interval's figures (delays in ns, as perf_hooks reports them; `meanNs` NaN when no sample
 * completed in the interval) into the slab. Split out so that the arithmetic — resolution subtracted,
 * clamped at 0 — is testable without waiting on timers.
 */
export function publishLoopStats (view: Float64Array, meanNs: number, p99Ns: number, maxNs: number, utilization: number): void {
  // no completed sample (the sampler's tick and ours raced at an interval edge): keep the last delays
  if (!Number.isNaN(meanNs)) {
    view[LoopStat.DelayMeanMs] = delayMs(meanNs)
    view[LoopStat.DelayP99Ms] = delayMs(p99Ns)
    view[LoopStat.DelayMaxMs] = delayMs(maxNs)
  }
  view[LoopStat.Utilization] = Math.min(1, Math.max(0, utilization))
  view[LoopStat.UpdatedAt] = Date.now()
}

function delayMs (ns: number): number {
  return Math.max(0, ns / NS_PER_MS - LOOP_DELAY_RESOLUTION_MS)
}

export interface LoopStatsSnapshot {
  readonly delayMeanMs: number
  readonly delayP99Ms: number
  readonly delayMaxMs: number
  readonly utilization: number
  /** ms since the worker last published; null if it never has */
  readonly ageMs: number | null
}

/** Read one worker's slab (main thread). */
export function readLoopStats (view: Float64Array, now = Date.now()): LoopStatsSnapshot {
  const updatedAt = view[LoopStat.UpdatedAt] ?? 0
  return {
    delayMeanMs: view[LoopStat.DelayMeanMs] ?? 0,
    delayP99Ms: view[LoopStat.DelayP99Ms] ?? 0,
    delayMaxMs: view[LoopStat.DelayMaxMs] ?? 0,
    utilization: view[LoopStat.Utilization] ?? 0,
    ageMs: updatedAt === 0 ? null : Math.max(0, now - updatedAt),
  }
}
