/**
 * source/fleet — the etcd key layout, and the merge of etcd's routes and pools into the file's config.
 * No I/O: text in, a validated ProxyConfig (or the keys it had to leave out) out. It runs where a
 * table is compiled: at start on the main thread (nothing listens yet), on a change in the reload pool
 * thread (pool/reload-task.ts), so that compiling 100 000 routes never stalls the connection path.
 *
 * Contract:
 *  - Key layout: `PREFIX + 'routes/' + pattern` holds one route, `PREFIX + 'upstreams/' + name` one pool.
 *    A route's value has the file's syntax: `host:port`, a pool name, or the long form as JSON
 *    (`{"upstream": "web", "alpn": {"h2": "h2pool"}}`); a pool's value is the JSON of a file pool.
 *  - `compileFleet(input)` validates the merged config with the file's own validator, so a
 *    key is accepted exactly when the same route or pool written in the file would be. The file wins a
 *    clash (same canonical pattern, same pool name): the etcd key is `shadowed`, not an error.
 *  - One bad key never takes the table down: it is left out and reported in `skipped` (its etcd key, the
 *    error code and the reason); the rest compiles. A fault in the file itself still throws, as a reload
 *    of that file would (the running table stays).
 *  - Cheap checks first (pattern, value syntax, pool names; each pool once through parseConfig; a
 *    read may run them a page at a time as the routes arrive: RouteChecks), then
 *    one parseConfigWithRoutes of the whole, the file's routes and then etcd's streamed into the
 *    compiler (no merged routes object: at a million routes that object alone cost hundreds of MB);
 *    whatever that still refuses in an etcd key is left out and the whole is parsed again, at most
 *    MAX_COMPILE_PASSES times.
 *
 * Limits: the routes are two arrays, names and texts (cheap to structured-clone into the pool thread);
 * the pools are [name, text] pairs (a handful).
 */
import { ErrorCode, isProxyError, ProxyError, ErrorSource } from '../errors.ts'
import { formatKeyPath } from '../config/fault.ts'
import { parseConfig, parseConfigWithRoutes } from '../config/validate.ts'
import type { ProxyConfig } from '../config/types.ts'
import { parseHostPort, TARGET_EXPECTED } from '../config/values.ts'
import { normalizePattern } from '../routes/index.ts'

/** key segment of routes under the prefix */
export const ROUTES_DIR = 'routes/'
/** key segment of pools under the prefix */
export const UPSTREAMS_DIR = 'upstreams/'

/**
 * Whole-config parses per compile. The cheap checks catch every fault seen so far; a fault only the
 * full parse sees costs one more parse of the whole table (~1 s at 100 000 routes), so past 8 the
 * revision is refused (the running table stays) rather than spending minutes on a table full of them.
 */
export const MAX_COMPILE_PASSES = 8

/** A host name no real route uses: gives a pool checked alone the route a tls health check needs. */
const POOL_CHECK_ROUTE = 'pool-check.hellogate.invalid'

export type FleetEntry = readonly [name: string, text: string]

/**
 * etcd's routes as two columns, index for index, each name once: a million routes are two arrays
 * (read by index, structured-cloned as two arrays into the reload thread), not a million pairs.
 */
export interface FleetEntries {
  readonly names: readonly string[]
  readonly texts: readonly string[]
}

/** [name, text] pairs as FleetEntries */
export function fleetEntries (pairs: Iterable<FleetEntry>): FleetEntries {
  const names: string[] = []
  const texts: string[] = []
  for (const [name, text] of pairs) { names.push(name); texts.push(text) }
  return { names, texts }
}

/** What one compile reads: the file's value and etcd's entries at one revision. */
export interface FleetInput {
  /** the config file (names it in messages) */
  readonly file: string
  /** the file's parsed value, environment substituted (loadConfigValue) */
  readonly raw: unknown
  /** the etcd prefix, to name keys in `skipped` */
  readonly prefix: string
  /** pattern (key below PREFIX/routes/) → value text, in key order */
  readonly routes: FleetEntries
  /** pool name (key below PREFIX/upstreams/) → JSON text */
  readonly upstreams: readonly FleetEntry[]
}

/** An etcd key left out of the table, and why. */
export interface SkippedKey {
  readonly key: string
  readonly code: ErrorCode
  readonly reason: string
}

export interface FleetResult {
  readonly config: ProxyConfig
  readonly skipped: readonly SkippedKey[]
  /** etcd keys whose route or pool the file also defines (the file's is used) */
  readonly shadowed: readonly string[]
  /**
   * whole-config parses this compile took: 1 when the full validation refused no etcd key (every
   * skipped key is the cheap checks'); fleet-delta.ts only builds on such a compile
   */
  readonly passes: number
}

/** An etcd key below `prefix` → which map it belongs to and its name; null for any other key. */
export function splitKey (prefix: string, key: string): { kind: 'route' | 'upstream', name: string } | null {
  if (!key.startsWith(prefix)) return null
  const rest = key.slice(prefix.length)
  if (rest.startsWith(ROUTES_DIR) && rest.length > ROUTES_DIR.length) return { kind: 'route', name: rest.slice(ROUTES_DIR.length) }
  if (rest.startsWith(UPSTREAMS_DIR) && rest.length > UPSTREAMS_DIR.length) return { kind: 'upstream', name: rest.slice(UPSTREAMS_DIR.length) }
  return null
}

/** A route's value text → the value the file would hold: the long form when it is a JSON object, else the text. */
export function parseRouteValue (text: string): unknown {
  const t = text.trim()
  if (!t.startsWith('{')) return t
  try {
    return JSON.parse(t) as unknown
  } catch (err) {
    return new ProxyError(ErrorCode.CONFIG_SYNTAX, `invalid JSON in the long form: ${(err as Error).message}`, { source: ErrorSource.Config })
  }
}

type JsonObject = Record<string, unknown>

export function isObject (v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** A target string that cannot resolve: not host:port, and not a pool in `pools`; null when it may. */
export function targetFault (text: unknown, pools: ReadonlySet<string>): string | null {
  if (typeof text !== 'string') return `${TARGET_EXPECTED} (as a string)`
  const v = text.trim()
  if (v.includes(':') || v.startsWith('[')) {
    const hp = parseHostPort(v, { minPort: 1, allowAnyHost: false })
    return typeof hp === 'string' ? `${TARGET_EXPECTED} (${hp}), got '${v}'` : null
  }
  return pools.has(v) ? null : `${TARGET_EXPECTED}: no pool named '${v}'`
}

/**
 * targetFault, remembered per target text: a large table names few distinct targets (a handful of pools
 * and origins), so each is checked once instead of once per route.
 */
class TargetChecks {
  readonly #pools: ReadonlySet<string>
  readonly #seen = new Map<string, string | null>()
  constructor (pools: ReadonlySet<string>) { this.#pools = pools }
  fault (text: unknown): string | null {
    if (typeof text !== 'string') return targetFault(text, this.#pools)
    let f = this.#seen.get(text)
    if (f === undefined) {
      f = targetFault(text, this.#pools)
      this.#seen.set(text, f)
    }
    return f
  }
}

/** The cheap checks of one route value: its targets (the long form's shape is parseConfig's). */
function routeFault (value: unknown, pools: TargetChecks): string | null {
  if (!isObject(value)) return pools.fault(value)
  const own = pools.fault(value.upstream)
  if (own !== null) return own
  if (isObject(value.alpn)) {
    for (const t of Object.values(value.alpn)) {
      const f = pools.fault(t)
      if (f !== null) return f
    }
  }
  return null
}

/** The file's value as a mapping (parseConfig reports anything else when the merge is parsed). */
function fileMap (raw: unknown, key: string): JsonObject {
  if (!isObject(raw)) return {}
  const v = raw[key]
  return isObject(v) ? v : {}
}

/** Does an error's key path lie at or below `path` (`routes."a.com"` covers `routes."a.com".alpn.h2`)? */
function under (errorKey: string | undefined, path: string): boolean {
  return errorKey !== undefined && (errorKey === path || errorKey.startsWith(path + '.') || errorKey.startsWith(path + '['))
}

/**
 * The cheap checks of compileFleet (module header), before the full parse: each pool alone, then each
 * route's pattern, clash with the file, value syntax and targets, in key order. `check` takes the routes
 * a range at a time, so that a read can check each page while the next is in flight (source/etcd.ts);
 * the result is the same as one pass over all of them except where two keys share a canonical pattern
 * (a duplicate is only known once every key is seen): then `streamed` is false and compileFleet checks
 * the whole again, knowing every alias first (today's order, today's reasons).
 */
export class RouteChecks {
  readonly skipped: SkippedKey[] = []
  readonly shadowed: string[] = []
  /** the file's pools and the etcd pools that passed */
  readonly pools: JsonObject
  readonly etcdPools = new Set<string>()
  readonly fileRoutes: JsonObject
  /** the etcd routes left out (skipped or shadowed), and the long-form values parsed */
  readonly left = new Set<string>()
  readonly parsed = new Map<string, unknown>()
  /** routes checked so far (the first `checked` of the entries) */
  checked = 0
  readonly #prefix: string
  readonly #targets: TargetChecks
  readonly #filePatterns = new Set<string>()
  /**
   * canonical forms of non-canonical keys: two etcd keys clash only when one of them is not canonical
   * (etcd keys are distinct), so only these are tracked, not every pattern (at a million keys ~100 MB)
   */
  readonly #aliased: Set<string>
  readonly #seen = new Map<string, string>()
  readonly #streamed: boolean

  /** `routes`: every entry, to learn their aliases first; absent, the routes come a range at a time */
  constructor (raw: unknown, prefix: string, upstreams: readonly FleetEntry[], routes?: FleetEntries) {
    this.#prefix = prefix
    this.fileRoutes = fileMap(raw, 'routes')
    const filePools = fileMap(raw, 'upstreams')
    // pools: each one checked alone, by the file's validator (a handful, however many routes use them)
    this.pools = { ...filePools }
    for (const [name, text] of upstreams) {
      if (Object.hasOwn(filePools, name)) { this.shadowed.push(this.poolKey(name)); continue }
      let value: unknown
      try {
        value = JSON.parse(text)
        parseConfig({ upstreams: { [name]: value }, routes: { [POOL_CHECK_ROUTE]: name } }, this.poolKey(name))
      } catch (err) {
        this.skip(this.poolKey(name), isProxyError(err) ? err.code : ErrorCode.CONFIG_SYNTAX, (err as Error).message)
        continue
      }
      this.pools[name] = value
      this.etcdPools.add(name)
    }
    this.#targets = new TargetChecks(new Set(Object.keys(this.pools)))
    for (const source of Object.keys(this.fileRoutes)) this.#filePatterns.add(normalizePattern(source) ?? source)
    this.#aliased = new Set()
    this.#streamed = routes === undefined
    if (routes === undefined) return
    for (const name of routes.names) {
      const canonical = normalizePattern(name)
      if (canonical !== null && canonical !== name) this.#aliased.add(canonical)
    }
  }

  /** checked a range at a time, with no two keys of one canonical pattern: the same as one pass knowing all */
  get streamed (): boolean {
    return this.#streamed && this.#aliased.size === 0
  }

  skip (key: string, code: ErrorCode, reason: string): void { this.skipped.push({ key, code, reason }) }
  routeKey (name: string): string { return this.#prefix + ROUTES_DIR + name }
  poolKey (name: string): string { return this.#prefix + UPSTREAMS_DIR + name }

  /** the routes [checked, to) of `routes` (the same entries each call, grown by a read) */
  check (routes: FleetEntries, to: number): void {
    const { names, texts } = routes
    const aliased = this.#aliased
    const seen = this.#seen
    const left = this.left
    for (let i = this.checked; i < to; i++) {
      const name = names[i]!
      const key = this.routeKey(name)
      const canonical = normalizePattern(name)
      if (canonical === null) { left.add(name); this.skip(key, ErrorCode.ROUTE_INVALID, `'${name}' is not a host name or *.wildcard route pattern`); continue }
      if (this.#streamed && canonical !== name) aliased.add(canonical)
      if (this.#filePatterns.has(canonical)) { left.add(name); this.shadowed.push(key); continue }
      const first = aliased.has(canonical) ? seen.get(canonical) : undefined
      if (first !== undefined) { left.add(name); this.skip(key, ErrorCode.ROUTE_DUPLICATE, `same pattern as ${this.routeKey(first)} (both are '${canonical}')`); continue }
      const value = parseRouteValue(texts[i]!)
      if (value instanceof ProxyError) { left.add(name); this.skip(key, value.code, value.message); continue }
      const fault = routeFault(value, this.#targets)
      if (fault !== null) { left.add(name); this.skip(key, ErrorCode.CONFIG_INVALID, fault); continue }
      if (aliased.has(canonical)) seen.set(canonical, name)
      if (typeof value !== 'string') this.parsed.set(name, value)
    }
    this.checked = Math.max(this.checked, to)
  }
}

/**
 * Merge etcd's entries into the file's value and validate the whole (module header). `checked`: the
 * cheap checks already run on these entries a page at a time (RouteChecks); used when complete and
 * `streamed`, else they are run here. Throws the ProxyError of a fault in the file itself, or
 * HG_ERR_CONFIG_INVALID when MAX_COMPILE_PASSES is spent.
 */
export function compileFleet (input: FleetInput, checked?: RouteChecks): FleetResult {
  let c = checked
  if (c === undefined || !c.streamed || c.checked !== input.routes.names.length) {
    c = new RouteChecks(input.raw, input.prefix, input.upstreams, input.routes)
    c.check(input.routes, input.routes.names.length)
  }
  const { skipped, shadowed, left, parsed, pools, etcdPools, fileRoutes } = c
  const skip = (key: string, code: ErrorCode, reason: string): void => { c.skip(key, code, reason) }
  const routeKey = (name: string): string => c.routeKey(name)
  const poolKey = (name: string): string => c.poolKey(name)
  const etcdRoutes = new EtcdRoutes(input.routes, left, parsed)

  // the whole, once, the routes streamed in (the file's first, then etcd's: no merged million-key
  // object); what it still refuses in an etcd key is left out and the whole parsed again
  const raw = { ...(isObject(input.raw) ? input.raw : {}), upstreams: pools }
  for (let pass = 1; ; pass++) {
    try {
      return { config: parseConfigWithRoutes(raw, input.file, mergedRoutes(fileRoutes, etcdRoutes)), skipped, shadowed, passes: pass }
    } catch (err) {
      if (!isProxyError(err)) throw err
      const culprit = blame(err, etcdRoutes, etcdPools)
      if (culprit === null) throw err
      if (pass >= MAX_COMPILE_PASSES) {
        throw new ProxyError(ErrorCode.CONFIG_INVALID, `etcd ${input.prefix}: more than ${MAX_COMPILE_PASSES - 1} keys only the full ` +
          `validation refuses; the last: ${err.message}`, { source: ErrorSource.Config, file: input.file })
      }
      if (culprit.kind === 'route') {
        left.add(culprit.name)
        skip(routeKey(culprit.name), err.code, err.message)
      } else {
        // a pool the full parse refuses takes the routes that name it along (each would fail next)
        delete pools[culprit.name]
        etcdPools.delete(culprit.name)
        skip(poolKey(culprit.name), err.code, err.message)
        const remaining = new TargetChecks(new Set(Object.keys(pools)))
        for (const [name, value] of etcdRoutes) {
          if (routeFault(value, remaining) !== null) {
            left.add(name)
            skip(routeKey(name), ErrorCode.CONFIG_INVALID, `names pool '${culprit.name}', which was left out`)
          }
        }
      }
    }
  }
}

/**
 * etcd's routes that passed the cheap checks, as [name, value] in input order: the input's entries less
 * those `left` out, each value the text (trimmed, as parseRouteValue gives it) or its parsed long form.
 * A view, not a copy: a million routes stay the input's two arrays.
 */
class EtcdRoutes implements Iterable<readonly [string, unknown]> {
  readonly #entries: FleetEntries
  readonly #left: ReadonlySet<string>
  readonly #parsed: ReadonlyMap<string, unknown>
  constructor (entries: FleetEntries, left: ReadonlySet<string>, parsed: ReadonlyMap<string, unknown>) {
    this.#entries = entries
    this.#left = left
    this.#parsed = parsed
  }

  * [Symbol.iterator] (): Generator<readonly [string, unknown]> {
    const { names, texts } = this.#entries
    const left = this.#left
    const parsed = this.#parsed
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!
      if (left.size !== 0 && left.has(name)) continue
      yield [name, parsed.size !== 0 && parsed.has(name) ? parsed.get(name) : texts[i]!.trim()]
    }
  }

  /** is `name` one of these routes (a linear search: only when a compile failed) */
  has (name: string): boolean {
    return !this.#left.has(name) && this.#entries.names.includes(name)
  }
}

/** The routes as parseConfigWithRoutes reads them: the file's in its order, then etcd's in key order. */
function * mergedRoutes (file: JsonObject, etcd: EtcdRoutes): Generator<readonly [string, unknown]> {
  for (const name of Object.keys(file)) yield [name, file[name]]
  yield * etcd
}

/** The etcd entry an error's key path points at, or null when the fault is the file's. */
function blame (err: ProxyError, routes: EtcdRoutes, pools: ReadonlySet<string>): { kind: 'route' | 'upstream', name: string } | null {
  for (const name of pools) if (under(err.key, formatKeyPath(['upstreams', name]))) return { kind: 'upstream', name }
  // the duplicate and invalid-pattern faults are keyed at the pattern too
  const m = err.key === undefined ? null : /^routes\.(".*?"|[A-Za-z_][A-Za-z0-9_]*)/.exec(err.key)
  if (m === null) return null
  const name = m[1]!.startsWith('"') ? JSON.parse(m[1]!) as string : m[1]!
  return routes.has(name) ? { kind: 'route', name } : null
}
