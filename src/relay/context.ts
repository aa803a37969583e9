/**
 * Per-worker relay state: the current route state (swapped whole on reload), the timeouts and limits,
 * the worker's counters and logger, and the set of open sessions (for draining on shutdown).
 * One RelayContext per worker thread; every Session points at it.
 */
import type { Logger } from 'pino'
import type { CompiledRoutes } from '../routes/index.ts'
import type { HostPort } from '../config/types.ts'
import type { Session } from './session.ts'
import { buildConnector, type Connect } from './connect.ts'
import { createHistogramBuffer } from '../metrics/histograms.ts'
import type { RouteSlab } from '../metrics/route-counters.ts'

/**
 * Everything a lookup needs, as one immutable object: a reload builds a new one and assigns it to
 * `RelayContext.state`; sessions that already picked an origin are unaffected (sniproxy's table refcount).
 */
export interface RouteState {
  readonly routes: CompiledRoutes
  /** origin host by route target (index into the config's routes) */
  readonly originHost: readonly string[]
  /** origin port by route target */
  readonly originPort: Int32Array
  /** canonical pattern by route target, for the access log */
  readonly pattern: readonly string[]
  /** `default:` origin, or null to reject */
  readonly defaultOrigin: HostPort | null
}

export interface RelayOptions {
  readonly helloMs: number
  readonly connectMs: number
  readonly idleMs: number
  readonly maxHelloBytes: number
  /** this worker's share of limits.maxConnections */
  readonly maxConnections: number
  readonly accessLog: boolean
}

export class RelayContext {
  state: RouteState
  /** replaced whole by a reload (pool/worker.ts); a session reads it when it reaches each phase */
  options: RelayOptions
  readonly counters: Float64Array
  readonly logger: Logger
  /** opens every origin connect attempt (connect.ts), with this worker's connect timeout; rebuilt when a reload changes it */
  connect: Connect
  /** open sessions; used only to drain on shutdown, never iterated per connection */
  readonly sessions = new Set<Session>()
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

  constructor (state: RouteState, options: RelayOptions, counters: Float64Array, logger: Logger) {
    this.state = state
    this.options = options
    this.counters = counters
    this.logger = logger
    this.connect = buildConnector({ timeoutMs: options.connectMs })
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
