/**
 * config/routes — the one place a config's route patterns are normalised, checked for duplicates and
 * compiled into the lookup table, and the one mapping of routes/ RouteError codes to config errors.
 *
 * Contract:
 *  - `compileRouteTable(sources, fail)` compiles the patterns as written (routes/RouteCompiler normalises
 *    each one and finds duplicates as it inserts it into the trie: one pass) and reports the first fault
 *    through `fail` at `routes."<pattern as written>"` (`reportCompileFault`, which validate.ts's
 *    streaming build uses too): an invalid pattern (with the names/ reason when
 *    there is one), a duplicate naming both keys and the canonical form they share, too many routes.
 *    parseConfig calls it while validating, with a located `fail`, so these errors carry file:line:col.
 *  - The table parseConfig compiled is kept for the config it produced (`rememberTable`), and
 *    `compileConfigRoutes(config)` hands it over once: a load compiles its routes once, whether the caller
 *    is `hellogate check`, startup or a reload. Any later call (or a config that came through
 *    postMessage, which carries no table) compiles again, through the same function.
 *
 * Limits: the remembered table lives until it is taken or its config is collected (WeakMap). A large one
 * is already on SharedArrayBuffers (validate.ts), which pool/route-state.ts then uses as it is; a small
 * one is plain, and copied there.
 */
import { ErrorCode } from '../errors.ts'
import { checkHostNameText, describeNameStatus } from '../names/index.ts'
import { MAX_ROUTES, normalizePattern, RouteCompiler, RouteError, type CompiledRoutes, type CompileFault } from '../routes/index.ts'
import { failIn, formatKeyPath, type Fail } from './fault.ts'
import type { AlpnRoute, ProxyConfig } from './types.ts'

const PATTERN_EXPECTED = 'expected a host name (a.example.com) or a wildcard (*.example.com) as the route pattern'

/** RouteError code → its name, for messages that must name a code no config error covers. */
export function routeErrorName (code: number): string {
  return Object.entries(RouteError).find(([, v]) => v === code)?.[0] ?? String(code)
}

/** Why names/ refuses an ASCII pattern, as a parenthesised note; '' when it has nothing to add. */
function patternReason (source: string): string {
  const name = source.startsWith('*.') ? source.slice(2) : source
  if (name.includes('*')) return ' (`*` only as a whole first label: *.example.com)'
  const status = checkHostNameText(name)
  const ascii = [...name].every((ch) => ch.charCodeAt(0) < 0x80) // Unicode is judged after IDNA, not here
  return status < 0 && ascii ? ` (${describeNameStatus(status)})` : ''
}

/**
 * Compile the routes `sources` (patterns as written, in config order; route i gets target i) into the
 * lookup table, or report the first fault through `fail` at `routes."<pattern>"`.
 */
export function compileRouteTable (sources: readonly string[], fail: Fail): CompiledRoutes {
  const compiler = new RouteCompiler(sources.length)
  for (let i = 0; i < sources.length; i++) {
    const fault = compiler.add(sources[i]!, i)
    if (fault !== null) return reportCompileFault(fault, sources, fail)
  }
  return compiler.finish()
}

/**
 * A RouteCompiler fault as the config error at `routes."<pattern>"`; `sources` are the patterns as
 * written, by route index (a duplicate names the earlier one).
 */
export function reportCompileFault (fault: CompileFault, sources: readonly string[], fail: Fail): never {
  const path = ['routes', fault.pattern]
  switch (fault.error) {
    case RouteError.InvalidPattern:
      return fail(ErrorCode.CONFIG_INVALID, path, PATTERN_EXPECTED + patternReason(fault.pattern), 'key')
    case RouteError.Duplicate: {
      const first = sources[fault.duplicateOf ?? 0] ?? ''
      return fail(ErrorCode.ROUTE_DUPLICATE, path,
        `same pattern as ${formatKeyPath(['routes', first])} (both are '${normalizePattern(first) ?? first}' after normalisation)`, 'key')
    }
    case RouteError.TooMany:
      return fail(ErrorCode.CONFIG_INVALID, path,
        `the route table is full: at most ${MAX_ROUTES} routes, with labels that fit the table's memory`, 'key')
    default:
      // targets are the indexes of `sources`, always valid: anything else is a routes/ change not mapped here
      return fail(ErrorCode.ROUTE_INVALID, path, `the route table does not compile (${routeErrorName(fault.error)})`, 'key')
  }
}

/** Tables compiled by parseConfig, waiting for the config's first compileConfigRoutes call. */
const remembered = new WeakMap<ProxyConfig, CompiledRoutes>()

/**
 * What parseConfig resolved per route, as columns: the same values as `config.routes[i].upstream` and
 * `.alpn`, without a walk over a million RouteEntry objects (pool/route-state.ts reads these).
 */
export interface RouteColumns {
  /** route index → pool index (-1: a forward route); length = config.routes.length */
  readonly upstream: Int32Array
  /** route index → its alpn list, only the routes that have one, in index order */
  readonly alpn: ReadonlyMap<number, readonly AlpnRoute[]>
}

const rememberedColumns = new WeakMap<ProxyConfig, RouteColumns>()

/** Keep the table parseConfig compiled for `config`, for compileConfigRoutes to hand over once. */
export function rememberTable (config: ProxyConfig, table: CompiledRoutes, columns?: RouteColumns): void {
  remembered.set(config, table)
  if (columns !== undefined) rememberedColumns.set(config, columns)
}

/** The RouteColumns parseConfig built for `config`, once (undefined after that, or for any other config). */
export function takeRouteColumns (config: ProxyConfig): RouteColumns | undefined {
  const columns = rememberedColumns.get(config)
  rememberedColumns.delete(config)
  return columns
}

/** The table parseConfig compiled for `config`, once (undefined after that, or for any other config). */
export function takeRememberedTable (config: ProxyConfig): CompiledRoutes | undefined {
  const table = remembered.get(config)
  remembered.delete(config)
  return table
}

/**
 * The compiled route table of a validated config: the one parseConfig built for it (handed over once),
 * else compiled now. Throws ProxyError (HG_ERR_CONFIG_INVALID / HG_ERR_ROUTE_DUPLICATE /
 * HG_ERR_ROUTE_INVALID) naming the file and route when a config that never went through parseConfig
 * does not compile.
 */
export function compileConfigRoutes (config: ProxyConfig): CompiledRoutes {
  return takeRememberedTable(config) ?? compileRouteTable(config.routes.map((r) => r.source), failIn(config.file, undefined))
}
