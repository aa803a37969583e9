/**
 * Builds the immutable RouteState from a validated config, with the table's typed arrays re-homed on
 * SharedArrayBuffers (routes/ shareTable) so that N workers share one copy (structured clone of a
 * typed array over a SharedArrayBuffer shares the memory instead of copying it). The table is never written after
 * compile; a reload builds a new one and workers swap the reference.
 */
import { compileConfigRoutes } from '../config/index.ts'
import type { HostPort, ProxyConfig } from '../config/types.ts'
import { shareTable, type CompiledRoutes } from '../routes/index.ts'
import type { RouteState } from '../relay/context.ts'

/**
 * Compile the config's routes inline (config/compileConfigRoutes: the table parseConfig already built, or
 * a new compile) and build the state; reloads run this in the piscina thread of reload-task.ts.
 */
export function buildRouteState (config: ProxyConfig): RouteState {
  return routeStateFromTable(config, compileConfigRoutes(config))
}

/**
 * The one server a route's pool stands for until the relay chooses among a pool's servers: its first
 * primary (non-backup) server. For a route written as host:port (an implicit one-server pool) that is
 * exactly the origin it names, so routing is what it was before pools; alpn entries are not used yet.
 */
function firstServer (config: ProxyConfig, pool: number): HostPort {
  const servers = config.upstreams[pool]!.servers
  return servers.find((s) => !s.backup) ?? servers[0]!
}

export function routeStateFromTable (config: ProxyConfig, table: CompiledRoutes): RouteState {
  const originPort = new Int32Array(new SharedArrayBuffer(Math.max(1, config.routes.length) * 4))
  const origins = config.routes.map((r) => firstServer(config, r.upstream))
  origins.forEach((o, i) => { originPort[i] = o.port })
  const def = config.default === null ? null : firstServer(config, config.default)
  return {
    routes: shareTable(table),
    originHost: origins.map((o) => o.host),
    originPort,
    pattern: config.routes.map((r) => r.pattern),
    defaultOrigin: def === null ? null : { host: def.host, port: def.port },
  }
}
