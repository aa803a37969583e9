/** metrics/ — outcome names and per-worker shared counters. */
export { Outcome, ALL_OUTCOMES } from './outcomes.ts'
export { Counter, BASE_COUNTERS, COUNTER_NAMES, COUNTER_SLOTS, outcomeSlot, createCounterBuffer, sumCounters } from './counters.ts'
