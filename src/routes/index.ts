/**
 * routes/ — the compiled domain→origin table (PURE: imports nothing outside routes/ but node:url in
 * normalize.ts). Config load calls normalizePattern / compileRoutes once; the resulting CompiledRoutes keeps
 * its pattern strings on the main thread, and its RouteTable (shareTable: numbers and typed arrays on
 * SharedArrayBuffers) is posted to workers and swapped whole; the relay calls matchServerName on the SNI
 * bytes of each hello, and patternOf when it logs a connection's route.
 *
 * Semantics and layout: compile.ts header. Hot-path costs: match.ts header.
 */
export type { CompiledRoutes, RouteSpec, RouteTable } from './types.ts'
export type { CompileFault, CompileResult } from './compile.ts'
export {
  /** Route compile failure codes: InvalidPattern, Duplicate, InvalidTarget, TooMany. */
  RouteError,
  /** RouteSpec[] → { ok: true, table } | { ok: false, error, index, pattern, duplicateOf? }; never throws. */
  compileRoutes,
  /** Streaming compile: add(pattern, target) per route in order (null or its fault), then finish(shared?). */
  RouteCompiler,
  /** { exact, wildcard, nodes, bytes } of a table, for `hellogate check` (bytes = typed arrays only). */
  describeTable,
  /** Integrity check of a table received from elsewhere (postMessage); true when safe to match against. */
  verifyTable,
  /** The RouteTable of a table (no pattern strings) on SharedArrayBuffers, shared rather than copied by postMessage. */
  shareTable,
} from './compile.ts'
export {
  /** Target of the winning route for the name in buf[start, end), or -1. Allocation-free. */
  matchServerName,
  /** Index (into patterns/targets) of the winning route for buf[start, end), or -1. Allocation-free. */
  matchRouteIndex,
} from './match.ts'
export {
  /** Route i's canonical pattern rebuilt from the table (null outside it); allocates: logged connections only. */
  patternOf,
  /** Patterns of the first N routes (bounded label sets). */
  leadingPatterns,
} from './patterns.ts'
export {
  /** Canonical pattern (A-labels, lower-case, no trailing dot, `*.` kept) or null when invalid. */
  normalizePattern,
} from './normalize.ts'
export {
  /** Format version carried in CompiledRoutes.version; a worker must reject any other. */
  ROUTES_FORMAT_VERSION,
  /** Most routes one table holds. */
  MAX_ROUTES,
} from './constants.ts'
export { matchAlpn, routePool, type AlpnEntries, type RoutePools } from './alpn.ts'
