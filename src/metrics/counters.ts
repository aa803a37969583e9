/**
 * Per-worker counters (Envoy ALL_TLS_INSPECTOR_STATS): one list, one slot each in a Float64Array that
 * lives in a SharedArrayBuffer. The worker is the only writer of its slots; the main thread only reads
 * them (stats, shutdown summary), so no message is ever sent per event.
 *
 * Float64 rather than BigUint64: integers stay exact up to 2^53 (9 PB relayed per worker) and a plain
 * `c[i]++` / `c[i] += n` on a Float64Array is the cheapest store V8 has.
 */
import { ALL_OUTCOMES, type Outcome } from './outcomes.ts'

/** Non-outcome counters; outcome counters follow them, one per Outcome, in ALL_OUTCOMES order. */
export const Counter = {
  /** connections handed to this worker (accepted or transferred) */
  ConnAccepted: 0,
  /** connections currently open (gauge: incremented on accept, decremented on close) */
  ConnActive: 1,
  /** hellos parsed complete (with or without SNI) */
  HelloOk: 2,
  /** hellos that arrived in more than one TCP segment */
  HelloSegmented: 3,
  /** hellos that spanned more than one TLS record */
  HelloMultiRecord: 4,
  /** hellos matched by a route */
  RouteHit: 5,
  /** hellos that fell to the `default` route */
  RouteDefault: 6,
  /** origin TCP connections established */
  OriginConnectOk: 7,
  /** bytes client → origin, hello included */
  BytesUp: 8,
  /** bytes origin → client */
  BytesDown: 9,
} as const
export type Counter = typeof Counter[keyof typeof Counter]

const BASE_COUNTERS = Object.keys(Counter).length

export const COUNTER_NAMES: readonly string[] = [
  'conn_accepted', 'conn_active', 'hello_ok', 'hello_segmented', 'hello_multi_record',
  'route_hit', 'route_default', 'origin_connect_ok', 'bytes_up', 'bytes_down',
  ...ALL_OUTCOMES.map((o) => 'outcome_' + o),
]

export const COUNTER_SLOTS = COUNTER_NAMES.length

const OUTCOME_SLOT = new Map<Outcome, number>(ALL_OUTCOMES.map((o, i) => [o, BASE_COUNTERS + i]))

/** Slot index of an outcome's counter. */
export function outcomeSlot (outcome: Outcome): number {
  return OUTCOME_SLOT.get(outcome) ?? 0
}

export function createCounterBuffer (): SharedArrayBuffer {
  return new SharedArrayBuffer(COUNTER_SLOTS * Float64Array.BYTES_PER_ELEMENT)
}

/** Snapshot of one or more workers' counters, summed, as name → value. */
export function sumCounters (views: readonly Float64Array[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (let i = 0; i < COUNTER_SLOTS; i++) {
    let v = 0
    for (const view of views) v += view[i] ?? 0
    out[COUNTER_NAMES[i] ?? String(i)] = v
  }
  return out
}
