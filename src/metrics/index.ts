/** metrics/ — outcome names and per-worker shared counters. */
export { Outcome, ALL_OUTCOMES } from './outcomes.ts'
export { Counter, BASE_COUNTERS, COUNTER_NAMES, COUNTER_SLOTS, outcomeSlot, createCounterBuffer, sumCounters } from './counters.ts'
// worker-side slabs (no dependency beyond node:perf_hooks); prometheus.ts and reloads.ts are main-thread
// only and deliberately not re-exported here, so a worker importing metrics/ never loads prom-client
export { HistogramId, HISTOGRAMS, createHistogramBuffer, observe } from './histograms.ts'
export { LoopStat, createLoopStatsBuffer, startLoopStats } from './loop-stats.ts'
export { createRouteSlab, countRoute, TARGET_DEFAULT, type RouteSlab } from './route-counters.ts'
