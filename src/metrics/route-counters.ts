/**
 * Connections per route, with a bounded label set: the label is the route's pattern from the config
 * (never the client's SNI, which an attacker chooses), and at most MAX_ROUTE_SERIES patterns get a
 * series of their own; the rest share `(other)`. Hellos sent to `default:` count under `(default)`.
 * Parentheses cannot occur in a host name, so neither special label can collide with a pattern.
 *
 * Storage: one SharedArrayBuffer per route table generation, one row per worker:
 *   slab[worker * stride + slot]   slot = route target (< tracked) | OTHER (= tracked) | DEFAULT (= tracked + 1)
 * Each worker writes only its own row, so a plain `++` is race-free; the stride is padded to a whole
 * 64-byte cache line so two workers never write the same line (no false sharing).
 *
 * Reload: the table's targets are indexes into the new config's routes, so a new table needs a new slab.
 * RouteCounterBook (main thread) keeps the current slab and, for a settling period, the slabs it
 * replaced (a worker may still route a hello with the old table until it processes the swap message),
 * then folds them into per-pattern carried totals. A pattern's count therefore survives reloads as long
 * as the pattern stays in the config; series of patterns removed from the config disappear.
 *
 * Limits: MAX_ROUTE_SERIES × workers × 8 bytes per generation (≈ 64 KiB at 8 workers).
 */

/**
 * Patterns with a series of their own. Prometheus' own guidance keeps a metric's label set in the low
 * thousands; a 1 000 000-route table must not become a million series (or a 64 MB slab per reload).
 */
export const MAX_ROUTE_SERIES = 1000
/** Label for route targets past MAX_ROUTE_SERIES. */
export const ROUTE_LABEL_OTHER = '(other)'
/** Label for hellos sent to the `default:` origin. */
export const ROUTE_LABEL_DEFAULT = '(default)'
/** A replaced slab is folded into the carried totals this long after the swap (workers swap in ms). */
export const ROUTE_SLAB_SETTLE_MS = 10_000
/** Float64 slots per 64-byte cache line. */
const LINE_SLOTS = 8

/** A session's or flow's `routeIndex` when no route matched yet (or none will). */
export const TARGET_NONE = -1
/** A session's or flow's `routeIndex` when it was sent to the `default:` origin. */
export const TARGET_DEFAULT = -2

export interface RouteSlab {
  /** patterns with their own slot, in target order (at most MAX_ROUTE_SERIES) */
  readonly patterns: readonly string[]
  /** patterns.length: targets ≥ this count as `(other)` */
  readonly tracked: number
  /** Float64 slots per worker row */
  readonly stride: number
  readonly workers: number
  readonly buffer: SharedArrayBuffer
}

/** A slab for a route table whose targets are `patterns` (config order), for `workers` workers. */
export function createRouteSlab (patterns: readonly string[], workers: number): RouteSlab {
  const tracked = Math.min(patterns.length, MAX_ROUTE_SERIES)
  const stride = Math.ceil((tracked + 2) / LINE_SLOTS) * LINE_SLOTS
  return {
    patterns: patterns.slice(0, tracked),
    tracked,
    stride,
    workers,
    buffer: new SharedArrayBuffer(stride * workers * Float64Array.BYTES_PER_ELEMENT),
  }
}

/**
 * Worker side: count one routed connection. `base` is `workerId * slab.stride` (computed once per
 * table swap), `target` the route target, or TARGET_DEFAULT. No allocation, two compares, one add.
 */
export function countRoute (view: Float64Array, base: number, tracked: number, target: number): void {
  const slot = target === TARGET_DEFAULT ? tracked + 1 : (target < tracked ? target : tracked)
  view[base + slot]!++
}

interface Retiring {
  readonly slab: RouteSlab
  readonly view: Float64Array
  readonly retiredAt: number
}

/** Main thread: per-pattern totals across workers and reloads. */
export class RouteCounterBook {
  private current: RouteSlab
  private view: Float64Array
  private retiring: Retiring[] = []
  /** totals folded from settled slabs, by label */
  private readonly carried = new Map<string, number>()

  constructor (initial: RouteSlab) {
    this.current = initial
    this.view = new Float64Array(initial.buffer)
  }

  /** The slab of the table in force (what workers should be writing). */
  get slab (): RouteSlab {
    return this.current
  }

  /** A new table is in force: keep the old slab until it settles, count into the new one. */
  install (next: RouteSlab, now = Date.now()): void {
    this.retiring.push({ slab: this.current, view: this.view, retiredAt: now })
    this.current = next
    this.view = new Float64Array(next.buffer)
    this.settle(now)
  }

  /** Connections per label (patterns of the table in force, then `(other)` and `(default)`), in that order. */
  totals (now = Date.now()): Map<string, number> {
    this.settle(now)
    const out = new Map<string, number>()
    for (const p of this.current.patterns) out.set(p, this.carried.get(p) ?? 0)
    out.set(ROUTE_LABEL_OTHER, this.carried.get(ROUTE_LABEL_OTHER) ?? 0)
    out.set(ROUTE_LABEL_DEFAULT, this.carried.get(ROUTE_LABEL_DEFAULT) ?? 0)
    for (const r of this.retiring) addSlab(out, r.slab, r.view, false)
    addSlab(out, this.current, this.view, false)
    return out
  }

  private settle (now: number): void {
    if (this.retiring.length === 0) return
    const keep: Retiring[] = []
    for (const r of this.retiring) {
      if (now - r.retiredAt >= ROUTE_SLAB_SETTLE_MS) addSlab(this.carried, r.slab, r.view, true)
      else keep.push(r)
    }
    this.retiring = keep
    // a pattern that left the config loses its carried total: the label set stays that of the config
    const live = new Set<string>([...this.current.patterns, ROUTE_LABEL_OTHER, ROUTE_LABEL_DEFAULT])
    for (const r of keep) for (const p of r.slab.patterns) live.add(p)
    for (const label of this.carried.keys()) if (!live.has(label)) this.carried.delete(label)
  }
}

/** Add a slab's per-label sums over all worker rows into `into` (only labels already present unless `create`). */
function addSlab (into: Map<string, number>, slab: RouteSlab, view: Float64Array, create: boolean): void {
  const labels = [...slab.patterns, ROUTE_LABEL_OTHER, ROUTE_LABEL_DEFAULT]
  for (let slot = 0; slot < labels.length; slot++) {
    let sum = 0
    for (let w = 0; w < slab.workers; w++) sum += view[w * slab.stride + slot] ?? 0
    const label = labels[slot]!
    const had = into.get(label)
    if (had !== undefined) into.set(label, had + sum)
    else if (create) into.set(label, sum)
  }
}
