/**
 * Builds the immutable RouteState from a validated config, with the table's typed arrays re-homed on
 * SharedArrayBuffers (routes/ shareTable) so that N workers share one copy (structured clone of a
 * typed array over a SharedArrayBuffer shares the memory instead of copying it). The table is never written after
 * compile; a reload builds a new one and workers swap the reference.
 */
import { compileConfigRoutes } from '../config/index.ts'
import type { ProxyConfig } from '../config/types.ts'
import { shareTable, type CompiledRoutes } from '../routes/index.ts'
import type { RouteState } from '../relay/context.ts'

/**
 * Compile the config's routes inline (config/compileConfigRoutes: the table parseConfig already built, or
 * a new compile) and build the state; reloads run this in the piscina thread of reload-task.ts.
 */
export function buildRouteState (config: ProxyConfig): RouteState {
  return routeStateFromTable(config, compileConfigRoutes(config))
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
