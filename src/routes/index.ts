/**
 * routes/ — the compiled domain→origin table (PURE: imports nothing outside routes/ but node:url in
 * normalize.ts). Config load calls normalizePattern / compileRoutes once; the resulting CompiledRoutes is
 * posted to workers (structured clone: numbers, typed arrays, one string array) and swapped whole; the
 * relay calls matchServerName on the SNI bytes of each hello.
 *
 * Semantics and layout: compile.ts header. Hot-path costs: match.ts header.
 */
export type { CompiledRoutes, RouteSpec } from './types.ts'
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
  /** Copy of a table on SharedArrayBuffers (nodes and nodeBytes on one), shared rather than copied by postMessage. */
  shareTable,
} from './compile.ts'
export {
  /** Target of the winning route for the name in buf[start, end), or -1. Allocation-free. */
  matchServerName,
  /** Index (into patterns/targets) of the winning route for buf[start, end), or -1. Allocation-free. */
  matchRouteIndex,
} from './match.ts'
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
