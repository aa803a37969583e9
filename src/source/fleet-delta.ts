/**
 * source/fleet-delta — the incremental compile of an etcd change. The reload thread keeps what its last
 * compile of the prefix read and produced (KeptFleet); the main thread records the route keys put and
 * deleted since (DeltaLog) and sends only those; the thread applies them to what it kept and builds the
 * new table with one RouteCompiler pass over the routes it already validated, instead of compileFleet's
 * pre-checks and full validation of every route (at 100 000 routes ~63 ms against ~0.5 s:
 * profiles/20261204-incremental-compile/NOTES.md). No I/O.
 *
 * Contract:
 *  - The result is exactly compileFleet's for the same input (config, tables, skipped, shadowed), or
 *    there is none: `apply` answers null whenever the outcome depends on more than the changed keys, and
 *    the caller compiles the kept input (which has the change applied either way) with compileFleet.
 *  - The incremental result is built only when: the kept compile took one parse (no key refused by the
 *    full validation: where such a refusal is a table limit, MAX_ROUTES or LIMITS.poolsMax, it depends on
 *    route order); every changed key has a valid pattern, and none shares its canonical pattern with a
 *    key left out, skipped or shadowed (a duplicate's "first" would change; a key left out before is so
 *    left to the full compile, which reports it again); a
 *    put is the short form (not JSON) naming a declared pool or exactly the name of an implicit pool
 *    already in the table (a new host:port would number a new pool: pools are numbered by first use in
 *    route order); the new routes compile (no duplicate after case folding, a clash with a file route
 *    included, no table limit); the table is not empty; and every pool keeps its first user: each implicit
 *    pool first used by the same RouteEntry object (a changed or moved route is a new object, and the
 *    first user's text gives the pool's server host as written) in the same order, each declared pool
 *    the same first exact route pattern (its health.name when none is set).
 *  - Route order is the etcd keys' order in the main thread's PrefixEntries Map: DeltaLog records per key
 *    whether the key was (re)inserted (`moved`: a Map appends it) and `apply` replays that on its own Map.
 *
 * Limits: the kept state holds the prefix's texts and the table's RouteEntry objects for as long as the
 * reload thread lives (pool/reload.ts RELOAD_POOL_IDLE_MS): two Maps of one entry per route.
 */
import { rememberTable } from '../config/routes.ts'
import type { AlpnRoute, ProxyConfig, RouteEntry } from '../config/types.ts'
import { SHARED_TABLE_MIN_ROUTES } from '../config/validate.ts'
import { normalizePattern, RouteCompiler } from '../routes/index.ts'
import { isObject, ROUTES_DIR, targetFault, type FleetEntry, type FleetInput, type FleetResult, type SkippedKey } from './fleet.ts'

/**
 * Changed keys the main thread records between two compiles. Past it the record is dropped and the whole
 * input sent: a burst that large is a bulk load, compiled in full anyway (below), and the record stays a
 * bounded Map (~1 MB of names and texts) however long the compile in flight takes.
 */
export const MAX_DELTA_KEYS = 10_000

/**
 * More than one changed key is sent as a delta only while changed keys × this ≤ the routes in the
 * table. A batch that rewrites a large share of the table is a bulk edit: the more keys change, the
 * likelier one of them needs the whole table (any one sends the compile to compileFleet), and the delta's
 * clone approaches the input's. One key always goes as a delta: nothing smaller can be sent.
 */
export const DELTA_TABLE_SHARE = 4

/** One changed key since the kept compile: its text (null: deleted), and whether a Map appended it. */
interface DeltaOp {
  readonly text: string | null
  readonly moved: boolean
}

/** The change sent to the reload thread in place of the whole input: columns, index for index. */
export interface FleetDelta {
  /** the token of the kept compile it applies to */
  readonly base: string
  readonly names: readonly string[]
  /** null: the key was deleted */
  readonly texts: ReadonlyArray<string | null>
  /** the key was (re)inserted after the base (the main thread's Map moved it to the end) */
  readonly moved: readonly boolean[]
}

/** Does a delta of `changes` keys pay against a table of `routes` (MAX_DELTA_KEYS, DELTA_TABLE_SHARE)? */
export function deltaPays (changes: number, routes: number): boolean {
  return changes <= 1 || (changes <= MAX_DELTA_KEYS && changes * DELTA_TABLE_SHARE <= routes)
}

/**
 * Main thread: the route keys put and deleted since the input of the last compile sent, one op per key
 * (the last), in the order that replays the Map's (module header). `unknown` once the record was dropped
 * (MAX_DELTA_KEYS, a pool changed, a re-read): then only a whole input will do, until `restart`.
 */
export class DeltaLog {
  #ops: Map<string, DeltaOp> | null = null

  get size (): number { return this.#ops?.size ?? 0 }
  get unknown (): boolean { return this.#ops === null }

  /** `existed`: the key was in the Map before this put (else the Map appends it) */
  put (name: string, text: string, existed: boolean): void {
    const ops = this.#ops
    if (ops === null) return
    if (existed) {
      ops.set(name, { text, moved: ops.get(name)?.moved ?? false })
    } else {
      ops.delete(name)
      ops.set(name, { text, moved: true })
    }
    if (ops.size > MAX_DELTA_KEYS) this.#ops = null
  }

  /** a key the Map held was deleted */
  delete (name: string): void {
    const ops = this.#ops
    if (ops === null) return
    ops.set(name, { text: null, moved: false })
    if (ops.size > MAX_DELTA_KEYS) this.#ops = null
  }

  /** the record no longer describes the change (module header) */
  drop (): void { this.#ops = null }

  /** a compile of the Map as it is now was sent: record from empty */
  restart (): void { this.#ops = new Map() }

  /** the ops as a FleetDelta against `base` (null when unknown) */
  delta (base: string): FleetDelta | null {
    const ops = this.#ops
    if (ops === null) return null
    const names: string[] = []
    const texts: Array<string | null> = []
    const moved: boolean[] = []
    for (const [name, op] of ops) { names.push(name); texts.push(op.text); moved.push(op.moved) }
    return { base, names, texts, moved }
  }
}

const NO_ALPN: readonly AlpnRoute[] = Object.freeze([])
const NO_POOLS: ReadonlySet<string> = new Set()

/** What the routes decide about the pools (Pools numbers implicit ones by first use; finish names declared ones). */
interface PoolUses {
  /** implicit pool ids in order of first use (a route's upstream, then its alpn entries) */
  readonly implicitOrder: readonly number[]
  /** the RouteEntry of each first use, index for index */
  readonly firstUser: readonly RouteEntry[]
  /** per declared pool: the pattern of the first exact route naming it, or null */
  readonly exactName: ReadonlyArray<string | null>
}

function poolUses (routes: readonly RouteEntry[], declared: number, pools: number): PoolUses {
  const implicitOrder: number[] = []
  const firstUser: RouteEntry[] = []
  const exactName: Array<string | null> = new Array<string | null>(declared).fill(null)
  const seen = new Uint8Array(pools)
  const use = (route: RouteEntry, id: number, exact: boolean): void => {
    if (id >= declared) {
      if (seen[id] === 0) { seen[id] = 1; implicitOrder.push(id); firstUser.push(route) }
    } else if (id >= 0 && exact && exactName[id] === null) {
      exactName[id] = route.pattern
    }
  }
  for (const route of routes) {
    const exact = !route.pattern.startsWith('*.')
    use(route, route.upstream, exact)
    for (const a of route.alpn) use(route, a.upstream, exact)
  }
  return { implicitOrder, firstUser, exactName }
}

function sameUses (a: PoolUses, b: PoolUses): boolean {
  if (a.implicitOrder.length !== b.implicitOrder.length) return false
  for (let i = 0; i < a.implicitOrder.length; i++) {
    if (a.implicitOrder[i] !== b.implicitOrder[i] || a.firstUser[i] !== b.firstUser[i]) return false
  }
  return a.exactName.every((name, i) => name === b.exactName[i])
}

/**
 * Reload thread: the input and result of the last etcd compile, and what `apply` needs to redo it for a
 * change (module header). `token` names it to the main thread.
 */
export class KeptFleet {
  token: string
  readonly #file: string
  readonly #raw: unknown
  readonly #prefix: string
  readonly #upstreams: readonly FleetEntry[]
  /** the prefix's routes, name → text, in the main thread's Map order */
  readonly #texts: Map<string, string>
  /** the etcd keys in the table → their route */
  readonly #entries: Map<string, RouteEntry>
  /** the full compile's config, routes included */
  #config: ProxyConfig
  readonly #fileRoutes: number
  readonly #skipped: readonly SkippedKey[]
  readonly #shadowed: readonly string[]
  readonly #passes: number
  /** canonical patterns of the route keys left out (skipped or shadowed) */
  readonly #contested = new Set<string>()
  readonly #implicit = new Map<string, number>()
  readonly #declared = new Map<string, number>()
  #uses: PoolUses

  private constructor (input: FleetInput, result: FleetResult, token: string, fileRoutes: number, texts: Map<string, string>, entries: Map<string, RouteEntry>) {
    this.token = token
    this.#file = input.file
    this.#raw = input.raw
    this.#prefix = input.prefix
    this.#upstreams = input.upstreams
    this.#texts = texts
    this.#entries = entries
    this.#config = result.config
    this.#fileRoutes = fileRoutes
    this.#skipped = result.skipped
    this.#shadowed = result.shadowed
    this.#passes = result.passes
    const routesAt = input.prefix + ROUTES_DIR
    for (const key of [...result.skipped.map((s) => s.key), ...result.shadowed]) {
      if (!key.startsWith(routesAt)) continue
      const canonical = normalizePattern(key.slice(routesAt.length))
      if (canonical !== null) this.#contested.add(canonical)
    }
    result.config.upstreams.forEach((u, id) => { (u.implicit ? this.#implicit : this.#declared).set(u.name, id) })
    this.#uses = poolUses(result.config.routes, this.#declared.size, result.config.upstreams.length)
  }

  /** `result`: compileFleet's of `input` (its config with the routes); null when they do not line up */
  static from (input: FleetInput, result: FleetResult, token: string): KeptFleet | null {
    const { names, texts } = input.routes
    const fileValue = isObject(input.raw) ? input.raw.routes : undefined
    const fileRoutes = isObject(fileValue) ? Object.keys(fileValue).length : 0
    const routes = result.config.routes
    const byName = new Map<string, string>()
    const entries = new Map<string, RouteEntry>()
    let j = fileRoutes
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!
      byName.set(name, texts[i]!)
      // the etcd routes in the table are the keys not left out, in key order (names are distinct)
      if (j < routes.length && routes[j]!.source === name) entries.set(name, routes[j++]!)
    }
    if (j !== routes.length || byName.size !== names.length) return null
    return new KeptFleet(input, result, token, fileRoutes, byName, entries)
  }

  /** the input as it is now (after `apply`, with the change in): what a full compile reads */
  input (): FleetInput {
    return {
      file: this.#file,
      raw: this.#raw,
      prefix: this.#prefix,
      routes: { names: [...this.#texts.keys()], texts: [...this.#texts.values()] },
      upstreams: this.#upstreams,
    }
  }

  /**
   * Apply `delta` (made against this.token) to the kept input, and compile it incrementally: the same
   * FleetResult compileFleet would give, kept here under `token`; or null when only a full compile can
   * tell (module header) — the kept input has the change either way and this state is stale until rebuilt.
   */
  apply (delta: FleetDelta, token: string): FleetResult | null {
    const { names, texts, moved } = delta
    const entries = this.#entries
    const changed = new Map<string, RouteEntry | null>()
    // a key the full parse refused may depend on route order (a table limit: MAX_ROUTES, LIMITS.poolsMax)
    let incremental = this.#passes === 1
    for (let i = 0; i < names.length && incremental; i++) {
      const name = names[i]!
      const text = texts[i]!
      const canonical = normalizePattern(name)
      // a key left out before is either patternless or has its canonical pattern in #contested
      if (canonical === null || this.#contested.has(canonical)) incremental = false
      else if (text === null) changed.set(name, null)
      else {
        const upstream = this.#target(text)
        if (upstream < 0) incremental = false
        else changed.set(name, Object.freeze({ pattern: canonical, source: name, upstream, alpn: NO_ALPN, access: undefined }))
      }
    }
    // the input, always: the keys replayed as the main thread's Map took them
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!
      const text = texts[i]!
      if (text === null) this.#texts.delete(name)
      else {
        if (moved[i] === true) this.#texts.delete(name)
        this.#texts.set(name, text)
      }
    }
    if (!incremental) return null
    for (const [name, entry] of changed) {
      if (entry === null) entries.delete(name)
      else entries.set(name, entry)
    }
    const routes = this.#config.routes.slice(0, this.#fileRoutes)
    for (const name of this.#texts.keys()) {
      const entry = entries.get(name)
      if (entry !== undefined) routes.push(entry)
    }
    if (routes.length === 0) return null
    const uses = poolUses(routes, this.#declared.size, this.#config.upstreams.length)
    if (!sameUses(this.#uses, uses)) return null
    const compiler = new RouteCompiler(routes.length)
    const upstream = new Int32Array(routes.length)
    const alpn = new Map<number, readonly AlpnRoute[]>()
    for (let i = 0; i < routes.length; i++) {
      const route = routes[i]!
      if (compiler.add(route.pattern, i) !== null) return null
      upstream[i] = route.upstream
      if (route.alpn.length > 0) alpn.set(i, route.alpn)
    }
    const config: ProxyConfig = Object.freeze({ ...this.#config, routes: Object.freeze(routes) })
    rememberTable(config, compiler.finish(routes.length >= SHARED_TABLE_MIN_ROUTES), { upstream, alpn })
    this.#config = config
    this.#uses = uses
    this.token = token
    return { config, skipped: this.#skipped, shadowed: this.#shadowed, passes: 1 }
  }

  /** the pool id a short-form value names, as Pools.resolve would give it; -1 when it may not resolve that way */
  #target (text: string): number {
    const v = text.trim()
    if (v.startsWith('{')) return -1
    if (v.includes(':') || v.startsWith('[')) {
      // exactly an implicit pool's name (its address key) and an address the cheap checks pass
      const id = this.#implicit.get(v)
      return id === undefined || targetFault(v, NO_POOLS) !== null ? -1 : id
    }
    return this.#declared.get(v) ?? -1
  }
}
