/**
 * Builds the route side of a table (RouteTables) from a validated config, with the compiled trie's typed
 * arrays and the per-route arrays on SharedArrayBuffers (routes/ shareTable), so that N workers share one
 * copy (structured clone of a typed array over a SharedArrayBuffer shares the memory instead of copying
 * it). The server side (upstreams/ ServerTable) is added on the main thread by `attachServers`, because
 * it carries the health state of the running table over. Nothing here is written after it is built; a
 * reload builds a new one and workers swap the reference.
 */
import { compileConfigRoutes, takeRouteColumns, type RouteColumns } from '../config/index.ts'
import type { AlpnRoute, ProxyConfig, UpstreamConfig } from '../config/types.ts'
import { shareTable, type CompiledRoutes } from '../routes/index.ts'
import type { RouteState, RouteTables } from '../relay/context.ts'
import { buildAccessTables } from '../relay/policy.ts'
import { carryOver, createServerTable, type PoolSpec, type ServerTable } from '../upstreams/index.ts'

/**
 * Compile the config's routes inline (config/compileConfigRoutes: the table parseConfig already built, or
 * a new compile) and build the route tables; reloads run this in the piscina thread of reload-task.ts.
 */
export function buildRouteState (config: ProxyConfig): RouteTables {
  const table = compileConfigRoutes(config)
  return routeStateFromTable(config, table, takeRouteColumns(config))
}

/** a zeroed Int32Array of `n` (at least 1) on a SharedArrayBuffer */
function sharedInt32Of (n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(Math.max(1, n) * 4))
}

function sharedInt32 (values: readonly number[]): Int32Array {
  const a = sharedInt32Of(values.length)
  a.set(values)
  return a
}

/** The upstreams/ input for one validated pool (the two models differ only where config says more). */
export function poolSpec (u: UpstreamConfig): PoolSpec {
  return {
    name: u.name,
    servers: u.servers.map((s) => ({ host: s.host, port: s.port, weight: s.weight, backup: s.backup })),
    balance: u.balance,
    health: {
      check: u.health.check,
      name: u.health.name ?? '',
      intervalMs: u.health.intervalMs,
      timeoutMs: u.health.timeoutMs,
      rise: u.health.rise,
      fall: u.health.fall,
    },
    passive: { failures: u.passive.failures, ejectMs: u.passive.ejectMs },
    connect: { timeoutMs: u.connect.timeoutMs, retries: u.connect.retries },
    proxyProtocol: u.proxyProtocol,
  }
}

/**
 * `columns`: what parseConfig resolved for this config (config/ takeRouteColumns), read instead of the
 * RouteEntry objects: at a million routes the walk over them is ~0.2 s of cache misses at start.
 */
export function routeStateFromTable (config: ProxyConfig, table: CompiledRoutes, columns?: RouteColumns): RouteTables {
  // per-route arrays written straight into shared memory; the ALPN ones grow with long-form routes only
  const routes = config.routes
  const routeUpstream = sharedInt32Of(routes.length)
  const alpnFirst = sharedInt32Of(routes.length)
  const alpnCount = sharedInt32Of(routes.length)
  const alpnProtoStart: number[] = [0]
  const alpnUpstream: number[] = []
  const protoBytes: number[] = []
  const addAlpn = (i: number, alpn: readonly AlpnRoute[]): void => {
    alpnFirst[i] = alpnUpstream.length
    alpnCount[i] = alpn.length
    for (const a of alpn) {
      // validated: 1-255 visible ASCII characters, so one byte each
      for (let j = 0; j < a.protocol.length; j++) protoBytes.push(a.protocol.charCodeAt(j))
      alpnProtoStart.push(protoBytes.length)
      alpnUpstream.push(a.upstream)
    }
  }
  if (columns !== undefined && columns.upstream.length === routes.length) {
    routeUpstream.set(columns.upstream)
    // a route without alpn starts where the next list would (as the walk below writes it)
    let from = 0
    for (const [i, alpn] of columns.alpn) {
      alpnFirst.fill(alpnUpstream.length, from, i)
      addAlpn(i, alpn)
      from = i + 1
    }
    alpnFirst.fill(alpnUpstream.length, from)
  } else {
    for (let i = 0; i < routes.length; i++) {
      const r = routes[i]!
      routeUpstream[i] = r.upstream
      addAlpn(i, r.alpn)
    }
  }
  const alpnProto = new Uint8Array(new SharedArrayBuffer(Math.max(1, protoBytes.length)))
  alpnProto.set(protoBytes)
  return {
    // typed arrays only: the pattern strings stay with the config on this thread, and a worker rebuilds
    // the one it logs from the shared trie (routes/ patternOf), so no worker holds a string per route
    routes: shareTable(table),
    routeUpstream,
    alpnFirst,
    alpnCount,
    alpnProtoStart: sharedInt32(alpnProtoStart),
    alpnProto,
    alpnUpstream: sharedInt32(alpnUpstream),
    defaultUpstream: config.default ?? -1,
    pools: config.upstreams.map(poolSpec),
    access: buildAccessTables(config),
    ...edgeTables(config),
  }
}

/** `http:` ports and the `forward:` fence config, only when the config has them (a plain TLS table pays nothing). */
function edgeTables (config: ProxyConfig): Pick<RouteTables, 'http' | 'forward'> {
  const http = config.http ?? null
  const forward = config.forward ?? null
  if (http === null && forward === null) return {}
  return {
    http: http === null
      ? null
      : {
          originPort: http.originPort,
          routePort: config.routes.some((r) => r.httpPort !== undefined) ? sharedInt32(config.routes.map((r) => r.httpPort ?? 0)) : null,
          poolPort: sharedInt32(config.upstreams.map((u) => u.httpPort ?? 0)),
        },
    forward,
  }
}

/** workers get this in place of `pools`: they route through the server table, never the specs */
const NO_POOLS: readonly PoolSpec[] = Object.freeze([])

/**
 * The state as posted to a worker: everything but `pools`, the PoolSpec objects the main thread builds the
 * server table and the health checks from. Those are plain objects (a servers array and four sub-objects
 * per pool), so a structured clone would give every worker its own copy, O(pools), of data it never reads.
 */
export function workerState (state: RouteState): RouteState {
  return { ...state, pools: NO_POOLS }
}

/**
 * Main thread: give route tables their server table, for `workers` worker threads. With `running`, the
 * health, ejection and counters of every server that is still there (same pool name and address) carry
 * over, so a reload neither resurrects a dead server nor forgets a live one.
 */
export function attachServers (tables: RouteTables, workers: number, running: ServerTable | null): RouteState {
  const servers = createServerTable(tables.pools, workers)
  if (running !== null) carryOver(running, servers)
  return { ...tables, servers }
}
