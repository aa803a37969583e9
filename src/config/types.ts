/**
 * The validated, frozen configuration that the rest of hellogate consumes (validate.ts builds it).
 *
 * Origins are pools: `upstreams` lists every pool the routes and the default can reach, and everything
 * else refers to a pool by its index there (its id). A pool declared under `upstreams:` keeps its name;
 * a bare `host:port` (a route's value, an `alpn` value, the default) becomes an implicit one-server pool
 * named by that address, one per distinct address however many routes use it. So the runtime never
 * resolves a name or parses an address: a route is a pool id, a pool is a list of servers.
 */

export interface HostPort {
  readonly host: string
  readonly port: number
}

/** PROXY protocol in on a listen address: versions accepted and the load balancers trusted to send it. */
export interface ProxyInConfig {
  /** at least one of 'v1', 'v2', each once */
  readonly accept: readonly ('v1' | 'v2')[]
  /** CIDRs as written (checked at load); connections from other addresses are refused */
  readonly from: readonly string[]
}

/** One listen address; without `proxyProtocol` (the short form) clients connect directly. */
export interface ListenConfig extends HostPort {
  readonly proxyProtocol?: ProxyInConfig
}

/** Client address lists as written (CIDRs checked at load; relay/policy.ts compiles them). */
export interface AccessConfig {
  readonly allow: readonly string[]
  readonly deny: readonly string[]
}

/** A route's own lists: addresses and JA4 fingerprints (36-character strings, checked at load). */
export interface RouteAccessConfig extends AccessConfig {
  readonly allowJa4: readonly string[]
  readonly denyJa4: readonly string[]
}

export type AcceptModel = 'reuseport' | 'handoff'
/** how the main thread picks a worker (accept: handoff) */
export type Balance = 'leastconn' | 'roundrobin'
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
/** how a pool picks a server: smooth weighted round robin, fewest open connections (weighted), consistent hash of the client address */
export type PoolBalance = 'roundrobin' | 'leastconn' | 'hash'
/** active health check: TCP connect, TLS ClientHello answered by a ServerHello, or none */
export type HealthCheck = 'tcp' | 'tls' | 'off'
/** PROXY protocol header written to the origin before the hello (HAProxy proxy-protocol.txt) */
export type ProxyProtocol = 'off' | 'v1' | 'v2'

/** One server of a pool. */
export interface ServerConfig {
  /** host to connect to: an IP address (IPv6 without brackets) or a host name in lower case */
  readonly host: string
  /** TCP port, 1-65535 */
  readonly port: number
  /** `host:port` as printed (IPv6 in brackets): the server's name in logs and `check`, unique within its pool */
  readonly address: string
  /** share of new connections relative to the pool's other servers, LIMITS.weightMin-weightMax (default 1) */
  readonly weight: number
  /** true: takes connections only while no primary (non-backup) server of the pool is healthy */
  readonly backup: boolean
}

/** Active health checking of a pool's servers (run once per process). */
export interface HealthConfig {
  readonly check: HealthCheck
  /**
   * SNI of the `tls` check (A-label, lower case): `health.name` as written, else the first exact route
   * (in config order) whose upstream or one of whose alpn entries is this pool; null when neither exists
   * (allowed only when check is not `tls`).
   */
  readonly name: string | null
  /** ms between checks of one server */
  readonly intervalMs: number
  /** ms a check may take before it counts as failed; ≤ intervalMs */
  readonly timeoutMs: number
  /** good checks in a row that bring a down server back */
  readonly rise: number
  /** failed checks in a row that mark a server down */
  readonly fall: number
}

/** Passive ejection: consecutive connect failures take a server out for a while, longer each time. */
export interface PassiveConfig {
  /** consecutive connect failures that eject a server; 0 = never eject */
  readonly failures: number
  /** ms of the first ejection (the runtime grows it on repeated ejections) */
  readonly ejectMs: number
}

/** Connecting to the pool's servers. */
export interface ConnectConfig {
  /** ms a connect may take (default: the global timeouts.connect) */
  readonly timeoutMs: number
  /** further attempts on another server after a failed connect, before any byte goes to the client */
  readonly retries: number
}

/** A pool: ProxyConfig.upstreams[id]. */
export interface UpstreamConfig {
  /** the key under `upstreams:`, or for an implicit pool its server's `host:port` (never both: pool names have no ':') */
  readonly name: string
  /** true for a one-server pool made from a bare host:port: no health checks, no ejection, no retries (a single origin) */
  readonly implicit: boolean
  /** at least one, at least one of them not a backup; addresses unique */
  readonly servers: readonly ServerConfig[]
  readonly balance: PoolBalance
  readonly health: HealthConfig
  readonly passive: PassiveConfig
  readonly connect: ConnectConfig
  readonly proxyProtocol: ProxyProtocol
  /** port of the servers for plain-HTTP connections (`http:` listener); absent: http.originPort */
  readonly httpPort?: number
}

/** One entry of a route's `alpn` map. */
export interface AlpnRoute {
  /** ALPN protocol id as the client sends it (1-255 visible ASCII characters, RFC 7301), e.g. `h2`, `acme-tls/1` */
  readonly protocol: string
  /** pool id for connections that offer this protocol */
  readonly upstream: number
}

export interface RouteEntry {
  /** canonical pattern (lower-case A-labels; `*.` prefix for wildcards) */
  readonly pattern: string
  /** pattern as written in the file */
  readonly source: string
  /** pool id (index into ProxyConfig.upstreams) for connections no alpn entry claims */
  readonly upstream: number
  /** in config order: the first entry whose protocol the client offers wins; empty for the short form */
  readonly alpn: readonly AlpnRoute[]
  /** the long form's allow/deny/allowJa4/denyJa4; undefined when it has none (and for the short form) */
  readonly access: RouteAccessConfig | undefined
  /** port of the route's origin for plain-HTTP connections; absent: its pool's, else http.originPort */
  readonly httpPort?: number
  /** true: a forward route (`upstream` is -1): dial the requested name, fenced by ProxyConfig.forward */
  readonly forward?: boolean
}

/** `http:` — plain-HTTP listeners routed by Host (http/). */
export interface HttpConfig {
  readonly listen: readonly HostPort[]
  /** port on a route's servers for plain HTTP, unless its pool or route says httpPort */
  readonly originPort: number
}

/** `forward:` — the fence around forward routes (forward/). */
export interface ForwardConfig {
  /** lower case, with the leading dot: a forward route's pattern and every dialed name lie under one */
  readonly suffixes: readonly string[]
  /** port dialed for TLS connections */
  readonly port: number
  /** port dialed for plain-HTTP connections */
  readonly httpPort: number
  /** CIDRs exempt from the address fence (as written; validated) */
  readonly allow: readonly string[]
  /** DNS servers as ip:port; empty: the system's */
  readonly resolvers: readonly string[]
  /** ms a lookup may take */
  readonly timeoutMs: number
}

/** `limits.perClient`, resolved: a null field is not limited. */
export interface PerClientLimits {
  /** open connections per address */
  readonly maxConnections: number | null
  /** new connections per second per address (token bucket refill rate) */
  readonly newPerSecond: number | null
  /** token bucket size: connections back to back (0 when newPerSecond is null) */
  readonly burst: number
}

export interface ProxyConfig {
  /** file it came from, or '<demo>' / '<inline>' */
  readonly file: string
  readonly listen: readonly ListenConfig[]
  /** resolved worker count (`auto` → os.availableParallelism()) */
  readonly workers: number
  readonly accept: AcceptModel
  /** handoff only: how the main thread picks a worker */
  readonly balance: Balance
  /** every pool, index = pool id: the declared ones in config order, then implicit ones in order of first use */
  readonly upstreams: readonly UpstreamConfig[]
  readonly routes: readonly RouteEntry[]
  /** pool id for hellos without SNI or without a route; null = reject */
  readonly default: number | null
  /** `access:` for every connection; null when absent */
  readonly access: AccessConfig | null
  readonly timeouts: {
    readonly helloMs: number
    /** the default of every declared pool's connect.timeoutMs, and the connect timeout of implicit pools */
    readonly connectMs: number
    readonly idleMs: number
    /** graceful shutdown: how long open connections may finish after SIGTERM */
    readonly shutdownMs: number
  }
  readonly limits: {
    readonly maxHelloBytes: number
    /** whole process, split evenly across workers */
    readonly maxConnections: number
    /** whole process, split evenly across workers: connections still waiting for their ClientHello */
    readonly maxPendingHellos: number
    /** per client address, enforced by each worker (relay/client-limits.ts says why); null: off */
    readonly perClient: PerClientLimits | null
  }
  readonly log: {
    readonly level: LogLevel
    readonly access: boolean
    /** `ja4` in conn.close lines (with `access` only) */
    readonly ja4: boolean
    /** log file (appended, reopened on SIGUSR2); null = stdout */
    readonly file: string | null
  }
  /** the admin endpoint; null = off */
  readonly admin: AdminConfig | null
  /** where routes come from besides the file (src/source/) */
  readonly source: SourceConfig
  /** plain-HTTP listeners; null or absent = off */
  readonly http?: HttpConfig | null
  /** forward mode's fence; null or absent = off (then no route may be a forward route) */
  readonly forward?: ForwardConfig | null
  /** QUIC passthrough (`quic:`); null = off */
  readonly quic: QuicConfig | null
}

/** `quic:` — UDP listeners and the limits of the flow table (per worker). */
export interface QuicConfig {
  readonly listen: readonly HostPort[]
  /** a version we cannot decode: drop it, or relay the flow to the default pool */
  readonly unknownVersion: 'drop' | 'default'
  readonly idleMs: number
  /** per worker */
  readonly maxFlows: number
  /** per worker */
  readonly maxPendingFlows: number
  /** per flow */
  readonly maxPendingBytes: number
}

/** `source:` — route sources besides the file. */
export interface SourceConfig {
  /** routes and pools read from etcd and watched; null = the file only */
  readonly etcd: EtcdSourceConfig | null
}

/** `source.etcd:`, validated (paths as written, relative to the working directory like log.file). */
export interface EtcdSourceConfig {
  /** client URLs, all http:// or all https:// */
  readonly endpoints: readonly string[]
  /** starts and ends with `/`; routes under PREFIX + 'routes/', pools under PREFIX + 'upstreams/' */
  readonly prefix: string
  /** TLS files (https endpoints only); null = plain, or https with the system's CAs */
  readonly tls: { readonly ca: string, readonly cert: string | null, readonly key: string | null } | null
  /** etcd user and password, both or neither */
  readonly auth: { readonly username: string, readonly password: string } | null
  /** snapshot file of the last applied table; null = none */
  readonly cache: string | null
}

/** `admin:` — where the admin endpoint listens and its bearer token (environment already substituted). */
export interface AdminConfig {
  readonly listen: HostPort
  /** null = none, which only a loopback listen address allows (checked when the endpoint starts) */
  readonly token: string | null
}
