/**
 * upstreams/types — the input this folder needs, as plain data. It mirrors the validated `upstreams:`
 * config (one PoolSpec per pool; its index in the array is the pool id) without importing config/, so
 * the config and this runtime can change apart; the caller maps one to the other.
 */

export const Balance = {
  /** smooth weighted round-robin (nginx ngx_http_upstream_get_peer), process-wide */
  RoundRobin: 'roundrobin',
  /** fewest open connections per unit of weight, process-wide gauges */
  LeastConn: 'leastconn',
  /** consistent hash of the client address (Maglev) */
  Hash: 'hash',
} as const
export type Balance = typeof Balance[keyof typeof Balance]

export type HealthCheckKind = 'tcp' | 'tls' | 'off'
export type ProxyProtocolMode = 'off' | 'v1' | 'v2'

export interface ServerSpec {
  readonly host: string
  readonly port: number
  /** positive integer; share of new connections relative to the pool's other servers */
  readonly weight: number
  /** used only while no primary server of the pool is usable */
  readonly backup: boolean
}

export interface HealthSpec {
  readonly check: HealthCheckKind
  /** SNI of the `tls` check's ClientHello; '' sends none (the caller fills the default route name) */
  readonly name: string
  readonly intervalMs: number
  readonly timeoutMs: number
  /** good checks in a row that bring a down server back */
  readonly rise: number
  /** bad checks in a row that take an up server down */
  readonly fall: number
}

export interface PoolSpec {
  /** the pool's name in config; with a server's address it identifies the server across reloads */
  readonly name: string
  readonly servers: readonly ServerSpec[]
  readonly balance: Balance
  readonly health: HealthSpec
  /** `failures` consecutive connect failures eject a server for `ejectMs` (doubling per repeat); failures 0 = off */
  readonly passive: { readonly failures: number, readonly ejectMs: number }
  /** per attempt; `retries` further attempts on other servers after a failed connect */
  readonly connect: { readonly timeoutMs: number, readonly retries: number }
  readonly proxyProtocol: ProxyProtocolMode
}
