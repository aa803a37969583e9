/**
 * Control-plane messages between the main thread and the workers. Never one per event: the only
 * per-connection message is the socket transfer of the `handoff` accept model, which carries the
 * socket itself and expects no reply (no round trip on the connection path).
 */
import type { Socket } from 'node:net'
import type { ProxyConfig, HostPort } from '../config/types.ts'
import type { RouteState } from '../relay/context.ts'

export interface WorkerData {
  readonly id: number
  readonly config: ProxyConfig
  readonly state: RouteState
  /** SharedArrayBuffer of COUNTER_SLOTS Float64 slots, written by this worker only */
  readonly counters: SharedArrayBuffer
  /** reuseport: addresses (ports resolved) this worker binds with reusePort; empty in handoff */
  readonly listen: readonly HostPort[]
}

export type MainToWorker =
  | { readonly type: 'conn', readonly socket: Socket }
  | { readonly type: 'routes', readonly state: RouteState }
  | { readonly type: 'drain', readonly graceMs: number }
  | { readonly type: 'crash' }

export type WorkerToMain =
  /** listening (reuseport: with the ports its listeners got, which resolves port 0 for the others) */
  | { readonly type: 'ready', readonly addresses: readonly HostPort[] }
  /** startup failed; `address` is set when a listener could not bind */
  | { readonly type: 'fatal', readonly code: string, readonly message: string, readonly address?: string }
  | { readonly type: 'drained' }
