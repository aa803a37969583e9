/**
 * IPC messages between the accept-study orchestrator (run.ts), the proxy process (proxy-child.ts)
 * and the load processes (client.ts). Types only, plus the origin's reply bytes both sides check.
 *
 * Contract: every message is a plain JSON object with a `type`; each question has exactly one reply
 * type. No message is sent per connection: the counters travel only at the window's two edges.
 */

/** What the origin writes back before it ends; the client counts a connection only if it read exactly this. */
export const ORIGIN_REPLY = Buffer.from('hellogate-accept-bench ok\n', 'latin1')

/** Proxy's counters as ProxyHandle.stats() gives them (structural copy: bench must not need dist types). */
export interface ProxyStatsSnapshot {
  counters: Record<string, number>
  outcomes: Record<string, number>
  active: number[]
  accepted: number[]
  restarts: number
}

// ---- proxy-child.ts ---------------------------------------------------------------------------

export interface ProxyReady {
  type: 'ready'
  port: number
  pid: number
  /** where mainCpuUs comes from: `process.threadCpuUsage` or `/proc/PID/task/PID/stat` */
  mainCpuSource: string
}

export interface ProxyStatsQuestion { type: 'stats' }

export interface ProxyStatsReply {
  type: 'stats'
  stats: ProxyStatsSnapshot
  /** main thread, user+system, µs */
  mainCpuUs: number
  /** whole process (main + workers + libuv + GC threads), user+system, µs (getrusage RUSAGE_SELF) */
  processCpuUs: number
}

export interface ProxyStop { type: 'stop' }

/** Reload the route table from `file` (ProxyHandle.reload, what SIGHUP does); answered once it is done. */
export interface ProxyReloadQuestion { type: 'reload', file: string }

export interface ProxyReloadReply {
  type: 'reload'
  ok: boolean
  /** the new table's routes (ok) */
  routes?: number
  /** the config error's code (not ok) */
  code?: string
}

// ---- client.ts --------------------------------------------------------------------------------

export interface ClientReady { type: 'ready', pid: number }

export interface ClientStart { type: 'start', port: number }

export interface ClientSnapQuestion { type: 'snap' }

export interface ClientCounts {
  /** connections that read the whole ORIGIN_REPLY and closed cleanly */
  completed: number
  /** failed connections by error code (`ECONNRESET`, `timeout`, `short_reply`, …) */
  errors: Record<string, number>
  /** origin-side socket errors by code (the origin shard in this process) */
  originErrors: Record<string, number>
  /** origin connections this shard accepted */
  originAccepted: number
  /** sum of completed connections' durations (connect call → close), ms; mean = latencyMsSum / completed */
  latencyMsSum: number
}

export interface ClientSnapReply extends ClientCounts { type: 'snap' }

/** Stop opening connections; reply `drained` when the in-flight ones are done (or the bound passes). */
export interface ClientStopLoad { type: 'stop-load' }

export interface ClientDrained extends ClientCounts {
  type: 'drained'
  /** connections still open when the drain bound passed (destroyed, counted as `drain_timeout`) */
  leftOpen: number
}

/** Close the origin shard and exit. */
export interface ClientExit { type: 'exit' }
