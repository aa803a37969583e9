/** The validated, frozen configuration that the rest of hellogate consumes. */

export interface HostPort {
  readonly host: string
  readonly port: number
}

export type AcceptModel = 'reuseport' | 'handoff'
export type Balance = 'leastconn' | 'roundrobin'
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

export interface RouteEntry {
  /** canonical pattern (lower-case A-labels; `*.` prefix for wildcards) */
  readonly pattern: string
  /** pattern as written in the file */
  readonly source: string
  readonly origin: HostPort
}

export interface ProxyConfig {
  /** file it came from, or '<demo>' / '<inline>' */
  readonly file: string
  readonly listen: readonly HostPort[]
  /** resolved worker count (`auto` → os.availableParallelism()) */
  readonly workers: number
  readonly accept: AcceptModel
  /** handoff only: how the main thread picks a worker */
  readonly balance: Balance
  readonly routes: readonly RouteEntry[]
  /** null = reject */
  readonly default: HostPort | null
  readonly timeouts: {
    readonly helloMs: number
    readonly connectMs: number
    readonly idleMs: number
    /** graceful shutdown: how long open connections may finish after SIGTERM */
    readonly shutdownMs: number
  }
  readonly limits: {
    readonly maxHelloBytes: number
    /** whole process, split evenly across workers */
    readonly maxConnections: number
  }
  readonly log: {
    readonly level: LogLevel
    readonly access: boolean
  }
}
