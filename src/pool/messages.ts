/**
 * Control-plane messages between the main thread and the workers. Never one per event: the only
 * per-connection message is the socket transfer of the `handoff` accept model, which carries the
 * socket itself and expects no reply (no round trip on the connection path).
 */
import type { Socket } from 'node:net'
import type { ProxyConfig, HostPort, LogLevel } from '../config/types.ts'
import type { RouteState } from '../relay/context.ts'
import type { ProxyErrorJSON } from '../errors.ts'
import type { RouteSlab } from '../metrics/route-counters.ts'

/**
 * The settings a reload applies to running workers (the rest of a config shapes listeners and threads and
 * needs a restart: pool/reload.ts restartOnlyChanges). Given at spawn and with every route table swap.
 */
export interface LiveSettings {
  readonly helloMs: number
  readonly connectMs: number
  readonly idleMs: number
  readonly maxHelloBytes: number
  /** this worker's share of limits.maxConnections */
  readonly maxConnections: number
  readonly level: LogLevel
  readonly accessLog: boolean
  /** log.ja4 */
  readonly logJa4: boolean
}

export interface WorkerData {
  readonly id: number
  /** the config, without routes and upstreams (empty): `state` carries what workers route by */
  readonly config: ProxyConfig
  readonly state: RouteState
  /** SharedArrayBuffer of COUNTER_SLOTS Float64 slots, written by this worker only */
  readonly counters: SharedArrayBuffer
  /** reuseport: addresses (ports resolved) this worker binds with reusePort; empty in handoff */
  readonly listen: readonly HostPort[]
  /** `quic.listen` (ports resolved by worker 0): UDP addresses this worker binds with reusePort, in both accept models */
  readonly quicListen: readonly HostPort[]
  /** SharedArrayBuffer of HISTOGRAM_SLOTS Float64 slots (metrics/histograms.ts), written by this worker only */
  readonly histograms: SharedArrayBuffer
  /** SharedArrayBuffer of LOOP_STAT_SLOTS Float64 slots (metrics/loop-stats.ts), written by this worker only */
  readonly loopStats: SharedArrayBuffer
  /** per-route counts of the table in `state` (this worker writes row `id`) */
  readonly routeSlab: RouteSlab
  /** timeouts, limits and log level in force (the last reload's, for a worker respawned after one) */
  readonly live: LiveSettings
}

export type MainToWorker =
  /**
   * a socket accepted by the main thread (handoff). `listener`: index of the listen address that accepted it
   * (its proxyProtocol policy); `http`: from an `http:` listener (a request head, not a hello)
   */
  | { readonly type: 'conn', readonly socket: Socket, readonly listener: number, readonly http?: true }
  | { readonly type: 'routes', readonly state: RouteState, readonly slab: RouteSlab, readonly live: LiveSettings }
  /** a prestarted worker's data (pool/prestart.ts): the first message it gets, and only it */
  | { readonly type: 'init', readonly data: WorkerData }
  | { readonly type: 'drain', readonly graceMs: number }
  /** SIGUSR2: reopen log.file by name (logrotate renamed it) */
  | { readonly type: 'reopen' }
  /** test hook (pool/main.ts crashWorker): raise an uncaught error, as a bug would */
  | { readonly type: 'crash' }
  /** measurement hook (POST /debug/gc): one full GC now, when node runs with --expose-gc; answered by `gc-done` */
  | { readonly type: 'gc' }

export type WorkerToMain =
  /** listening (reuseport: with the ports its listeners got, which resolves port 0 for the others) */
  | { readonly type: 'ready', readonly addresses: readonly HostPort[], readonly quicAddresses: readonly HostPort[] }
  /** startup failed (HG_ERR_LISTEN when a listener could not bind); rebuilt with ProxyError.fromJSON */
  | { readonly type: 'fatal', readonly error: ProxyErrorJSON }
  /** after 'drain': every session closed and the log flushed; the main thread may terminate the worker */
  | { readonly type: 'drained' }
  /** after 'gc': the full collection ran (false: node runs without --expose-gc), and this heap's live bytes after it */
  | { readonly type: 'gc-done', readonly collected: boolean, readonly heapUsedBytes: number }
