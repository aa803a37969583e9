/**
 * Builds the immutable RouteState from a validated config, with the table's typed arrays re-homed on
 * SharedArrayBuffers (routes/ shareTable) so that N workers share one copy (structured clone of a
 * typed array over a SharedArrayBuffer shares the memory instead of copying it). The table is never written after
 * compile; a reload builds a new one and workers swap the reference.
 */
import type { ProxyConfig } from '../config/types.ts'
import { compileRoutes, RouteError, shareTable, type CompiledRoutes, type RouteSpec } from '../routes/index.ts'
import type { RouteState } from '../relay/context.ts'
import { ErrorCode, ErrorSource, ProxyError } from '../errors.ts'

const ROUTE_ERROR_NAMES: Record<number, string> = Object.fromEntries(Object.entries(RouteError).map(([name, code]) => [code, name]))

export function routeSpecs (config: ProxyConfig): RouteSpec[] {
  return config.routes.map((r, i) => ({ pattern: r.pattern, target: i }))
}

/** Compile the config's routes inline (a reload compiles off the main thread instead: reload.ts). */
export function buildRouteState (config: ProxyConfig): RouteState {
  const result = compileRoutes(routeSpecs(config))
  if (!result.ok) {
    throw new ProxyError(ErrorCode.ROUTE_INVALID, config.file + ': routes."' + result.pattern + '": cannot compile (' + ROUTE_ERROR_NAMES[result.error] + ')', { source: ErrorSource.Config, file: config.file, key: 'routes' })
  }
  return routeStateFromTable(config, result.table)
}

export function routeStateFromTable (config: ProxyConfig, table: CompiledRoutes): RouteState {
  const originPort = new Int32Array(new SharedArrayBuffer(Math.max(1, config.routes.length) * 4))
  config.routes.forEach((r, i) => { originPort[i] = r.origin.port })
  return {
    routes: shareTable(table),
    originHost: config.routes.map((r) => r.origin.host),
    originPort,
    pattern: config.routes.map((r) => r.pattern),
    defaultOrigin: config.default,
  }
}
