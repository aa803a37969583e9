/**
 * Per-worker relay state: the current route state (swapped whole on reload), the timeouts and limits,
 * the worker's counters and logger, and the set of open sessions (for draining on shutdown).
 * One RelayContext per worker thread; every Session points at it.
 */
import type { Logger } from 'pino'
import type { RouteTable } from '../routes/index.ts'
import type { ForwardConfig } from '../config/types.ts'
import type { PoolSpec, ServerTable } from '../upstreams/index.ts'
import type { Session } from './session.ts'
import { buildConnector, type Connect } from './connect.ts'
import { ClientLimiter, RefusalLog, type ClientLimitOptions } from './client-limits.ts'
import { createHistogramBuffer } from '../metrics/histograms.ts'
import type { RouteSlab } from '../metrics/route-counters.ts'
import type { AccessTables } from './policy.ts'

/**
 * The route side of a table, built from a validated config off the connection path (route-state.ts,
 * in the reload thread for reloads): plain data and typed arrays on SharedArrayBuffers.
 *
 * ALPN entries of route r are `alpnFirst[r] .. alpnFirst[r] + alpnCount[r] - 1`, in config order; entry
 * e's protocol is `alpnProto[alpnProtoStart[e] .. alpnProtoStart[e + 1])` and its pool `alpnUpstream[e]`.
 */
export interface RouteTables {
  /** the compiled trie; a route's canonical pattern (access log) is routes/ patternOf(routes, index) */
  readonly routes: RouteTable
  /** pool id (index into `pools` and the server table) by route index */
  readonly routeUpstream: Int32Array
  readonly alpnFirst: Int32Array
  readonly alpnCount: Int32Array
  readonly alpnProtoStart: Int32Array
  readonly alpnProto: Uint8Array
  readonly alpnUpstream: Int32Array
  /** `default:` pool id, or -1 to reject */
  readonly defaultUpstream: number
  /** the pools, index = pool id: what the main thread builds the server table from (empty in a worker: route-state.ts workerState) */
  readonly pools: readonly PoolSpec[]
  /** access lists, global and per route (policy.ts) */
  readonly access: AccessTables
  /** plain-HTTP ports (http/relay.ts); absent or null when the config has no `http:` */
  readonly http?: HttpPorts | null
  /** forward routes' fence (forward/dial.ts); absent or null when the config has no `forward:` */
  readonly forward?: ForwardConfig | null
}

/** Where a plain-HTTP connection of route r and pool p goes: route's httpPort, else pool's, else originPort. */
export interface HttpPorts {
  readonly originPort: number
  /** by route index, 0 = none; null when no route sets one */
  readonly routePort: Int32Array | null
  /** by pool id, 0 = none */
  readonly poolPort: Int32Array
}

/**
 * Everything a lookup needs, as one immutable object: a reload builds a new one and assigns it to
 * `RelayContext.state`; sessions that already picked an origin keep the server table they picked from
 * (`Session.table`), so a swap never touches them (sniproxy's table refcount). `servers` is created on
 * the main thread (it carries health state over from the running table) and shared by every worker.
 */
export interface RouteState extends RouteTables {
  readonly servers: ServerTable
}

export interface RelayOptions {
  readonly helloMs: number
  readonly connectMs: number
  readonly idleMs: number
  readonly maxHelloBytes: number
  /** this worker's share of limits.maxConnections */
  readonly maxConnections: number
  /** this worker's share of limits.maxPendingHellos */
  readonly maxPendingHellos: number
  /** limits.perClient as this worker enforces it (client-limits.ts); null: off */
  readonly perClient: ClientLimitOptions | null
  readonly accessLog: boolean
  /** `ja4` in the access log: log.ja4 with log.access on */
  readonly logJa4: boolean
  /** this worker's counter row in the server table (1 + worker id; row 0 is the main thread's) */
  readonly row: number
}

export class RelayContext {
  state: RouteState
  /** replaced whole by a reload (pool/worker.ts); a session reads it when it reaches each phase */
  options: RelayOptions
  readonly counters: Float64Array
  readonly logger: Logger
  /** opens every origin connect attempt (connect.ts), with this worker's connect timeout; rebuilt when a reload changes it */
  connect: Connect
  /** open sessions; iterated only on shutdown (drain) and by the idle sweep once per tick, never per connection */
  readonly sessions = new Set<Session>()
  /** connections numbered per worker: with `row`, the connection id in the access log and PROXY v2 */
  nextId = 0
  /** per-client admission table; null when limits.perClient is off */
  readonly clientLimiter: ClientLimiter | null
  /** sessions accepted and still waiting for their hello (capped by options.maxPendingHellos) */
  pendingHellos = 0
  /** bounded-rate log of limit refusals */
  readonly refusals: RefusalLog
  /** set on shutdown: new connections are refused, open ones finish */
  draining = false
  /** called once the last session closes while draining */
  onDrained: () => void = noop
  /** this worker's histogram slab (metrics/histograms.ts observe); a private one until the pool gives its shared one */
  histograms: Float64Array = new Float64Array(createHistogramBuffer())
  /** per-route counts of the table in force (metrics/route-counters.ts countRoute): view, this worker's row, tracked */
  routeCounts: Float64Array = NO_ROUTE_COUNTS
  routeBase = 0
  routeTracked = 0
  /** the idle sweep (pipe.ts): its interval while the worker has sessions, its period, and its coarse clock */
  idleSweep: NodeJS.Timeout | null = null
  idleTickMs = 0
  idleNow = 0

  constructor (state: RouteState, options: RelayOptions, counters: Float64Array, logger: Logger) {
    this.state = state
    this.options = options
    this.counters = counters
    this.logger = logger
    this.connect = buildConnector({ timeoutMs: options.connectMs })
    this.clientLimiter = options.perClient === null ? null : new ClientLimiter(options.perClient)
    this.refusals = new RefusalLog(logger)
  }

  /** Count routed connections into `slab` (a new one comes with each table), in worker `worker`'s row. */
  setRouteSlab (slab: RouteSlab, worker: number): void {
    this.routeCounts = new Float64Array(slab.buffer)
    this.routeBase = worker * slab.stride
    this.routeTracked = slab.tracked
  }
}

/** Before a slab is set: an empty view, whose out-of-range writes typed arrays ignore. */
const NO_ROUTE_COUNTS = new Float64Array(0)

function noop (): void {}
