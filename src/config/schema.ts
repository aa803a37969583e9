/**
 * config/schema — what a config file may contain, declared once with TypeBox: every key, its type, its
 * allowed values and bounds, a description and default for editors, and `errorMessage`, the "expected …"
 * text of hellogate's own errors (VS Code's JSON and YAML language servers show the same keyword).
 *
 * Contract:
 *  - `ConfigSchema` is a JSON Schema (draft-07 keywords only, no $ref) that accepts exactly the keys of
 *    examples/hellogate.yaml; `additionalProperties: false` at every level makes any other key an error.
 *  - It says what JSON Schema can say. validate.ts checks the rest, in one pass after the schema: value
 *    syntaxes (values.ts: durations' ranges, host:port), rules across keys (balance needs handoff,
 *    maxConnections ≥ workers, routes or a default), route patterns (names/, routes/) and route targets.
 *  - `RawConfig` is the file's type after the schema accepted it (what validate.ts builds ProxyConfig from).
 *  - The same object, serialised by json-schema.ts, is the shipped hellogate.schema.json.
 *
 * Limits: the routes map is declared for editors (pattern keys, host:port values); the runtime check
 * skips its entries (validate.ts checks each route once, in the same pass that collects them), so a
 * 1M-route file costs the schema nothing per route.
 */
import Type, { type Static } from 'typebox'

import { DEFAULTS, LIMITS } from './defaults.ts'
import {
  ALPN_ID_EXPECTED, ALPN_ID_PATTERN, DEFAULT_EXPECTED, DURATION_EXPECTED, DURATION_PATTERN, formatDuration, LISTEN_EXPECTED,
  ETCD_ENDPOINT_EXPECTED, ETCD_ENDPOINT_PATTERN, ETCD_PREFIX_EXPECTED, ETCD_PREFIX_PATTERN, POOL_NAME_EXPECTED, POOL_NAME_PATTERN, ROUTES_EXPECTED, SERVER_EXPECTED, TARGET_EXPECTED,
} from './values.ts'

export const ACCEPT_MODELS = ['reuseport', 'handoff'] as const
export const BALANCES = ['leastconn', 'roundrobin'] as const
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export const POOL_BALANCES = ['roundrobin', 'leastconn', 'hash'] as const
export const HEALTH_CHECKS = ['tcp', 'tls', 'off'] as const
export const PROXY_PROTOCOLS = ['off', 'v1', 'v2'] as const
export const QUIC_UNKNOWN_VERSIONS = ['drop', 'default'] as const
/** PROXY protocol versions a listen address accepts from its load balancer */
export const PROXY_IN_VERSIONS = ['v1', 'v2'] as const

// ---- access lists ----------------------------------------------------------------------------------

const CIDR_EXPECTED = 'expected an IPv4 or IPv6 address or CIDR, e.g. 10.0.0.0/8, 192.0.2.7 or 2001:db8::/32'
/**
 * JA4 as FoxIO writes it (`t13d1516h2_8daaf6152771_e5627efa2ab1`): protocol, version, SNI flag, two counts,
 * the ALPN characters, then two 12-digit hash parts. fingerprint/ja4.ts writes exactly this shape.
 */
export const JA4_PATTERN = '^[tqd](13|12|11|10|s3|s2|d1|d2|d3|00)[di][0-9]{4}[0-9A-Za-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$'
const JA4_EXPECTED = 'expected a JA4 fingerprint like t13d1516h2_8daaf6152771_e5627efa2ab1'

/** a list of CIDRs (allow/deny, proxyProtocol.from); syntax and host bits are checked by validate.ts (access/) */
function cidrList (description: string) {
  return Type.Array(Type.String({ errorMessage: CIDR_EXPECTED }), {
    maxItems: LIMITS.accessEntriesMax,
    description,
    errorMessage: `expected a list of at most ${LIMITS.accessEntriesMax} CIDRs (${CIDR_EXPECTED.slice('expected '.length)})`,
  })
}

function ja4List (description: string) {
  return Type.Array(Type.String({ pattern: JA4_PATTERN, errorMessage: JA4_EXPECTED }), {
    maxItems: LIMITS.ja4EntriesMax,
    description,
    errorMessage: `expected a list of at most ${LIMITS.ja4EntriesMax} JA4 fingerprints`,
  })
}

/** `access:` — the global lists, checked for every connection once it is routed. */
const Access = Type.Object({
  allow: Type.Optional(cidrList('Client addresses admitted; when not empty, only these (deny still wins).')),
  deny: Type.Optional(cidrList('Client addresses refused (TLS alert access_denied, outcome denied); wins over allow.')),
}, {
  additionalProperties: false,
  description: 'Client address allow/deny lists for every route. Behind a load balancer the address is the one its PROXY header carries.',
})

/**
 * A route pattern as editors check it: a name or `*.` + a name, in letters, digits, `-`, `_`, `.` or any
 * non-ASCII character (Unicode names are converted to A-labels). The full rule is names/'s, applied by
 * validate.ts; this pattern only catches what is plainly wrong while typing.
 */
const ROUTE_PATTERN_SHAPE = '^(\\*\\.)?[^*\\s:/\\[\\]@%]+$'

/** a description with its default appended, for editors' hover text */
function withDefault (description: string, def: string | number | boolean): string {
  return `${description} Default: ${String(def)}.`
}

/**
 * A duration key: integer milliseconds or a string with a unit. The range (`minMs` to the timer limit)
 * cannot be written for strings in JSON Schema; validate.ts checks it and the description says it.
 */
function duration (description: string, defaultMs: number | string, minMs: number) {
  const def = typeof defaultMs === 'number' ? formatDuration(defaultMs) : defaultMs
  return Type.Union([
    Type.Integer({ minimum: 0 }),
    Type.String({ pattern: DURATION_PATTERN }),
  ], {
    description: `${withDefault(description, def)} At least ${formatDuration(minMs)}.`,
    ...(typeof defaultMs === 'number' ? { default: def } : {}),
    errorMessage: DURATION_EXPECTED,
  })
}

/** an integer key with its bounds, default and the "expected …" text that names them */
function integer (description: string, def: number, min: number, max: number, what: string) {
  return Type.Integer({
    minimum: min,
    maximum: max,
    description: withDefault(description, def),
    default: def,
    errorMessage: `expected an integer ${what} between ${min} and ${max}`,
  })
}

/** a TCP port key (1-65535) */
function port (description: string) {
  return Type.Integer({ minimum: 1, maximum: 65535, description, errorMessage: 'expected a port number between 1 and 65535' })
}

/** Where connections go: a pool declared in upstreams, by name, or one server's host:port. */
const Target = Type.String({
  description: 'A pool from upstreams, by name, or one server: host:port / [ipv6]:port (quote IPv6 in YAML).',
  errorMessage: `${TARGET_EXPECTED} (as a string)`,
})

// ---- upstreams -------------------------------------------------------------------------------------

const U = DEFAULTS.upstream

const Server = Type.Union([
  Type.String({ description: 'host:port of a server with weight 1.', errorMessage: SERVER_EXPECTED }),
  Type.Object({
    address: Type.String({ description: 'host:port or [ipv6]:port', errorMessage: `${SERVER_EXPECTED} (address as a string)` }),
    weight: Type.Optional(Type.Integer({
      minimum: LIMITS.weightMin,
      maximum: LIMITS.weightMax,
      description: withDefault('Share of new connections relative to the other servers.', LIMITS.weightMin),
      default: LIMITS.weightMin,
      errorMessage: `expected an integer weight between ${LIMITS.weightMin} and ${LIMITS.weightMax} ` +
        '(to take a server out of rotation, remove it or mark it backup: true)',
    })),
    backup: Type.Optional(Type.Boolean({
      description: 'Takes connections only while no primary server of the pool is healthy. Default: false.',
      default: false,
      errorMessage: 'expected true or false',
    })),
  }, { additionalProperties: false }),
], { errorMessage: SERVER_EXPECTED })

const Upstream = Type.Object({
  servers: Type.Array(Server, {
    minItems: 1,
    maxItems: LIMITS.serversPerPoolMax,
    description: 'The pool\'s servers: host:port, or { address, weight, backup }.',
    errorMessage: `expected a list of 1 to ${LIMITS.serversPerPoolMax} servers (host:port or { address, weight, backup })`,
  }),
  balance: Type.Optional(Type.Enum(POOL_BALANCES, {
    description: withDefault('How a server is chosen per connection: roundrobin (smooth weighted), leastconn ' +
      '(fewest open connections, weighted, across all workers), hash (consistent hash of the client address).', U.balance),
    default: U.balance,
  })),
  health: Type.Optional(Type.Object({
    check: Type.Optional(Type.Enum(HEALTH_CHECKS, {
      description: withDefault('Active check, once per process: tcp (connect), tls (a ClientHello with SNI ' +
        'health.name must be answered by a ServerHello), off.', U.health.check),
      default: U.health.check,
    })),
    name: Type.Optional(Type.String({
      description: 'SNI of the tls check. Default: the first exact route that uses the pool.',
      errorMessage: 'expected a host name (the SNI the tls check sends), e.g. health.shop.example',
    })),
    interval: Type.Optional(duration('Time between two checks of a server.', U.health.intervalMs, LIMITS.healthIntervalMinMs)),
    timeout: Type.Optional(duration('A check slower than this failed; at most the interval.', U.health.timeoutMs, LIMITS.healthTimeoutMinMs)),
    rise: Type.Optional(integer('Good checks in a row that bring a down server back.', U.health.rise, 1, LIMITS.riseFallMax, 'number of checks')),
    fall: Type.Optional(integer('Failed checks in a row that mark a server down.', U.health.fall, 1, LIMITS.riseFallMax, 'number of checks')),
  }, { additionalProperties: false })),
  passive: Type.Optional(Type.Object({
    failures: Type.Optional(integer('Consecutive connect failures that eject a server (0: never).', U.passive.failures, 0,
      LIMITS.passiveFailuresMax, 'number of failures')),
    eject: Type.Optional(duration('First ejection; longer on each repeated ejection.', U.passive.ejectMs, LIMITS.ejectMinMs)),
  }, { additionalProperties: false })),
  connect: Type.Optional(Type.Object({
    timeout: Type.Optional(duration('TCP connect to a server.', 'timeouts.connect', LIMITS.connectMinMs)),
    retries: Type.Optional(integer('Further attempts on another server after a failed connect, before any byte ' +
      'goes to the client.', U.connect.retries, 0, LIMITS.connectRetriesMax, 'number of retries')),
  }, { additionalProperties: false })),
  proxyProtocol: Type.Optional(Type.Enum(PROXY_PROTOCOLS, {
    description: withDefault('PROXY protocol header to the servers (they must expect it): off, v1 (text), v2 (binary, ' +
      'with the SNI and the connection id).', U.proxyProtocol),
    default: U.proxyProtocol,
  })),
  httpPort: Type.Optional(port('Port of the servers for plain-HTTP connections (http: listener). Default: http.originPort.')),
}, { additionalProperties: false, required: ['servers'] })

/** `upstreams:` — named pools. */
const Upstreams = Type.Unsafe<Record<string, Static<typeof Upstream>>>({
  type: 'object',
  propertyNames: { pattern: POOL_NAME_PATTERN, errorMessage: POOL_NAME_EXPECTED },
  additionalProperties: Upstream,
  description: 'Named pools of servers; routes and default refer to them by name, many routes may share one.',
})

// ---- routes ----------------------------------------------------------------------------------------

/** The long form of a route's value; later keys (per-route options) join `upstream` and `alpn` here. */
const RouteObject = Type.Object({
  upstream: Type.Optional(Target),
  alpn: Type.Optional(Type.Unsafe<Record<string, string>>({
    type: 'object',
    propertyNames: { pattern: ALPN_ID_PATTERN, errorMessage: ALPN_ID_EXPECTED },
    additionalProperties: Target,
    description: 'ALPN protocol id → target. The first entry (in this order) that the client offers wins; ' +
      'no match → upstream.',
  })),
  allow: Type.Optional(cidrList('Client addresses this route admits; when not empty, only these (deny still wins). Applies after the global access lists.')),
  deny: Type.Optional(cidrList('Client addresses this route refuses; wins over allow.')),
  allowJa4: Type.Optional(ja4List('JA4 fingerprints this route admits; when not empty, only these (denyJa4 still wins).')),
  denyJa4: Type.Optional(ja4List('JA4 fingerprints this route refuses (TLS alert access_denied, outcome denied).')),
  httpPort: Type.Optional(port('Port of the route\'s origin for plain-HTTP connections (http: listener). Default: its pool\'s httpPort, else http.originPort.')),
  forward: Type.Optional(Type.Boolean({
    description: 'true: no upstream; connect to the name the client asked for (SNI or Host), resolved by DNS and fenced ' +
      'by forward: (the pattern must lie under one of forward.suffixes). Default: false.',
    errorMessage: 'expected true or false',
  })),
}, { additionalProperties: false })

/** a count of QUIC flows per worker (quic.maxFlows, quic.maxPendingFlows) */
function flowCount (description: string, def: number) {
  return Type.Integer({
    minimum: LIMITS.quicFlowsMin,
    maximum: LIMITS.quicFlowsMax,
    description: withDefault(description, def),
    default: def,
    errorMessage: `expected an integer number of flows between ${LIMITS.quicFlowsMin} and ${LIMITS.quicFlowsMax}`,
  })
}

const listenAddress = Type.String({ errorMessage: `${LISTEN_EXPECTED} (as a string)` })

/** A listen address's long form: where, and whether a load balancer in front sends PROXY headers. */
const ListenObject = Type.Object({
  address: listenAddress,
  proxyProtocol: Type.Optional(Type.Object({
    accept: Type.Array(Type.Enum(PROXY_IN_VERSIONS), {
      minItems: 1,
      maxItems: PROXY_IN_VERSIONS.length,
      uniqueItems: true,
      description: 'PROXY protocol versions accepted: v1 (text), v2 (binary).',
      errorMessage: 'expected a list of v1, v2 (each once)',
    }),
    from: Type.Array(Type.String({ errorMessage: CIDR_EXPECTED }), {
      minItems: 1,
      maxItems: LIMITS.accessEntriesMax,
      description: 'Load balancer addresses trusted to send the header (CIDRs). Connections from anywhere else are refused (proxy_header_invalid).',
      errorMessage: 'expected a non-empty list of CIDRs (the load balancers\' addresses)',
    }),
  }, {
    additionalProperties: false,
    required: ['accept', 'from'],
    description: 'Every connection must start with a PROXY header from a trusted address; its client address replaces the socket\'s ' +
      '(logs, limits.perClient, access lists, hash balancing, the PROXY header to origins).',
  })),
}, { additionalProperties: false, required: ['address'] })

const listenEntry = Type.Union([listenAddress, ListenObject], {
  errorMessage: `${LISTEN_EXPECTED}, or { address, proxyProtocol }`,
})

/** The value of one route: a target, or the long form. */
const RouteTarget = Type.Union([Target, RouteObject], {
  errorMessage: `${TARGET_EXPECTED}, or { upstream, alpn, httpPort, allow, deny, allowJa4, denyJa4 }, or { forward: true }`,
})

/**
 * The `routes` map: pattern → target. Written out rather than with Type.Record, which would allow keys
 * that miss its pattern (patternProperties) instead of flagging them (propertyNames).
 */
const Routes = Type.Unsafe<Record<string, Static<typeof RouteTarget>>>({
  type: 'object',
  propertyNames: { pattern: ROUTE_PATTERN_SHAPE },
  additionalProperties: RouteTarget,
  description: 'SNI → target (a pool name, host:port, or { upstream, alpn }). Exact names win over wildcards; "*.example.net" matches any name below example.net ' +
    '(quote patterns starting with * in YAML). Unicode names are converted to A-labels (IDNA).',
})

// ---- source ----------------------------------------------------------------------------------------

/** `source.etcd:` — routes (and pools) read from etcd v3 and watched (src/source/). */
const EtcdSource = Type.Object({
  endpoints: Type.Array(Type.String({ pattern: ETCD_ENDPOINT_PATTERN, errorMessage: ETCD_ENDPOINT_EXPECTED }), {
    minItems: 1,
    maxItems: LIMITS.etcdEndpointsMax,
    description: 'etcd v3 client URLs: http://host:port or https://host:port (all of one scheme).',
    errorMessage: `expected a list of 1 to ${LIMITS.etcdEndpointsMax} etcd URLs, e.g. [https://10.0.0.5:2379]`,
  }),
  prefix: Type.String({
    pattern: ETCD_PREFIX_PATTERN,
    description: 'Key prefix, ending in /: routes under PREFIX/routes/<pattern>, pools under PREFIX/upstreams/<name>.',
    errorMessage: ETCD_PREFIX_EXPECTED,
  }),
  tls: Type.Optional(Type.Object({
    ca: Type.String({ minLength: 1, description: 'PEM file of the CA that signed the etcd servers\' certificates.', errorMessage: 'expected a file path (as a string)' }),
    cert: Type.Optional(Type.String({ minLength: 1, description: 'PEM client certificate (with key) for etcd\'s client-cert auth.', errorMessage: 'expected a file path (as a string)' })),
    key: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key of cert.', errorMessage: 'expected a file path (as a string)' })),
  }, { additionalProperties: false, description: 'TLS to etcd (https endpoints only); cert and key together or neither.' })),
  username: Type.Optional(Type.String({ minLength: 1, description: 'etcd user (with password).', errorMessage: 'expected a user name (as a string)' })),
  password: Type.Optional(Type.String({
    // eslint-disable-next-line no-template-curly-in-string -- the config file's env substitution syntax, literally
    description: 'Password of username; write ${ETCD_PASSWORD} to read it from the environment.',
    errorMessage: 'expected a password (as a string)',
  })),
  cache: Type.Optional(Type.String({
    minLength: 1,
    description: 'Snapshot file of the last table applied from etcd (written atomically after each applied revision); ' +
      'served at start while etcd is unreachable. Default: none.',
    errorMessage: 'expected a file path (as a string)',
  })),
}, { additionalProperties: false, required: ['endpoints', 'prefix'] })

export const ConfigSchema = Type.Object({
  listen: Type.Optional(Type.Union([
    listenAddress,
    ListenObject,
    Type.Array(listenEntry, {
      minItems: 1,
      maxItems: LIMITS.listenMax,
      errorMessage: `expected 1 to ${LIMITS.listenMax} addresses`,
    }),
  ], {
    description: withDefault('Where to accept TLS connections: one address or a list. "127.0.0.1:8443", ' +
      '"[::1]:8443" (quote IPv6 in YAML), ":8443" (all interfaces); port 0 = any free port. Long form: ' +
      '{ address, proxyProtocol: { accept: [v1, v2], from: [CIDR, …] } } behind a load balancer.', DEFAULTS.listen),
    default: DEFAULTS.listen,
    errorMessage: `${LISTEN_EXPECTED} (as a string)`,
  })),
  workers: Type.Optional(Type.Union([
    Type.Literal('auto'),
    Type.Integer({ minimum: 1, maximum: LIMITS.workersMax }),
  ], {
    description: withDefault(`Worker threads: auto (one per core the process may use) or 1-${LIMITS.workersMax}.`, DEFAULTS.workers),
    default: DEFAULTS.workers,
    errorMessage: `expected auto or an integer between 1 and ${LIMITS.workersMax}`,
  })),
  accept: Type.Optional(Type.Enum(ACCEPT_MODELS, {
    description: withDefault('reuseport: every worker binds the port and the kernel spreads connections; ' +
      'handoff: the main thread accepts and hands each socket to a worker.', DEFAULTS.accept),
    default: DEFAULTS.accept,
  })),
  balance: Type.Optional(Type.Enum(BALANCES, {
    description: withDefault('accept: handoff only: how the main thread picks a worker.', DEFAULTS.balance),
    default: DEFAULTS.balance,
  })),
  upstreams: Type.Optional(Type.Union([Upstreams, Type.Null()], { errorMessage: 'expected a mapping of pool name: { servers, … }' })),
  routes: Type.Optional(Type.Union([Routes, Type.Null()], { errorMessage: ROUTES_EXPECTED })),
  default: Type.Optional(Type.String({
    description: withDefault('No route for the SNI (or no SNI): reject (TLS alert unrecognized_name), a pool ' +
      'name, or host:port.', DEFAULTS.default),
    default: DEFAULTS.default,
    errorMessage: `${DEFAULT_EXPECTED} (as a string)`,
  })),
  timeouts: Type.Optional(Type.Object({
    hello: Type.Optional(duration('The whole ClientHello must arrive within this.', DEFAULTS.timeouts.helloMs, LIMITS.helloMinMs)),
    connect: Type.Optional(duration('TCP connect to the origin.', DEFAULTS.timeouts.connectMs, LIMITS.connectMinMs)),
    idle: Type.Optional(duration('No bytes either way for this long closes the relay.', DEFAULTS.timeouts.idleMs, LIMITS.idleMinMs)),
    shutdown: Type.Optional(duration('On SIGTERM/SIGINT: drain open relays this long, then close them.', DEFAULTS.timeouts.shutdownMs, LIMITS.shutdownMinMs)),
  }, {
    additionalProperties: false,
    description: 'Durations: a number is milliseconds; strings take ms, s, m or h.',
  })),
  limits: Type.Optional(Type.Object({
    maxHelloBytes: Type.Optional(Type.Integer({
      minimum: LIMITS.maxHelloBytesMin,
      maximum: LIMITS.maxHelloBytesMax,
      description: withDefault('Largest ClientHello handshake message accepted, in bytes.', DEFAULTS.limits.maxHelloBytes),
      default: DEFAULTS.limits.maxHelloBytes,
      errorMessage: `expected an integer number of bytes between ${LIMITS.maxHelloBytesMin} and ${LIMITS.maxHelloBytesMax}` +
        ' (64 KiB cap as in rustls: larger hellos are a denial-of-service vector)',
    })),
    maxConnections: Type.Optional(Type.Integer({
      minimum: LIMITS.maxConnectionsMin,
      maximum: LIMITS.maxConnectionsMax,
      description: withDefault('Open connections, whole process (split evenly across workers).', DEFAULTS.limits.maxConnections),
      default: DEFAULTS.limits.maxConnections,
      errorMessage: `expected an integer number of connections between ${LIMITS.maxConnectionsMin} and ${LIMITS.maxConnectionsMax}`,
    })),
    maxPendingHellos: Type.Optional(Type.Integer({
      minimum: LIMITS.maxPendingHellosMin,
      maximum: LIMITS.maxConnectionsMax,
      description: withDefault('Connections still waiting for their ClientHello, whole process (split evenly across ' +
        'workers); beyond it new connections are closed (pending_limited).', DEFAULTS.limits.maxPendingHellos),
      default: DEFAULTS.limits.maxPendingHellos,
      errorMessage: `expected an integer number of connections between ${LIMITS.maxPendingHellosMin} and ${LIMITS.maxConnectionsMax}`,
    })),
    perClient: Type.Optional(Type.Object({
      maxConnections: Type.Optional(Type.Integer({
        minimum: LIMITS.perClientConnectionsMin,
        maximum: LIMITS.maxConnectionsMax,
        description: 'Open connections per client address, in each worker.',
        errorMessage: `expected an integer number of connections between ${LIMITS.perClientConnectionsMin} and ${LIMITS.maxConnectionsMax}`,
      })),
      newPerSecond: Type.Optional(Type.Number({
        exclusiveMinimum: 0,
        maximum: LIMITS.perClientRateMax,
        description: 'New connections per second per client address, in each worker (token bucket refill rate).',
        errorMessage: `expected a number of connections per second above 0 and at most ${LIMITS.perClientRateMax}`,
      })),
      burst: Type.Optional(Type.Integer({
        minimum: LIMITS.perClientBurstMin,
        maximum: LIMITS.perClientBurstMax,
        description: 'Token bucket size: new connections a client address may open back to back. Default: ceil(newPerSecond).',
        errorMessage: `expected an integer number of connections between ${LIMITS.perClientBurstMin} and ${LIMITS.perClientBurstMax}`,
      })),
    }, {
      additionalProperties: false,
      description: 'Per client address limits, enforced by each worker (off when absent); breaches are closed at once (client_limited).',
    })),
  }, { additionalProperties: false })),
  log: Type.Optional(Type.Object({
    level: Type.Optional(Type.Enum(LOG_LEVELS, {
      description: withDefault('pino log level.', DEFAULTS.log.level),
      default: DEFAULTS.log.level,
    })),
    access: Type.Optional(Type.Boolean({
      description: withDefault('One conn.close line per connection.', DEFAULTS.log.access),
      default: DEFAULTS.log.access,
      errorMessage: 'expected true or false',
    })),
    ja4: Type.Optional(Type.Boolean({
      description: withDefault('Add the client\'s JA4 TLS fingerprint to each conn.close line (computed from the hello, ~1 µs).', DEFAULTS.log.ja4),
      default: DEFAULTS.log.ja4,
      errorMessage: 'expected true or false',
    })),
    file: Type.Optional(Type.String({
      minLength: 1,
      description: 'Write the log to this file (appended) instead of stdout; reopened on SIGUSR2, for logrotate. Default: stdout.',
      errorMessage: 'expected a file path (as a string)',
    })),
  }, { additionalProperties: false })),
  http: Type.Optional(Type.Object({
    listen: Type.Union([
      listenAddress,
      Type.Array(listenAddress, { minItems: 1, maxItems: LIMITS.listenMax, errorMessage: `expected 1 to ${LIMITS.listenMax} addresses` }),
    ], {
      description: 'Where to accept plain-HTTP connections (one address or a list, as listen:), e.g. "0.0.0.0:80".',
      errorMessage: `${LISTEN_EXPECTED} (as a string)`,
    }),
    originPort: Type.Optional(port(withDefault('Port on the route\'s servers that plain-HTTP connections go to (a pool\'s or a route\'s ' +
      'httpPort overrides it).', DEFAULTS.http.originPort))),
  }, {
    additionalProperties: false,
    required: ['listen'],
    description: 'Plain-HTTP listeners: the first request head is read (bounded, timeouts.hello), routed by its Host through ' +
      'the same routes, and forwarded unchanged. Off unless set.',
  })),
  forward: Type.Optional(Type.Object({
    suffixes: Type.Array(Type.String({ errorMessage: 'expected a domain suffix like .example.net (as a string)' }), {
      minItems: 1,
      maxItems: LIMITS.forwardSuffixesMax,
      description: 'The only names forward routes may dial: names under one of these (".example.net"; two labels at least).',
      errorMessage: `expected a list of 1 to ${LIMITS.forwardSuffixesMax} domain suffixes like .example.net`,
    }),
    port: Type.Optional(port(withDefault('Port forward routes dial for TLS connections.', DEFAULTS.forward.port))),
    httpPort: Type.Optional(port(withDefault('Port forward routes dial for plain-HTTP connections.', DEFAULTS.forward.httpPort))),
    allow: Type.Optional(Type.Array(Type.String({ errorMessage: 'expected a CIDR like 10.1.0.0/16 (as a string)' }), {
      maxItems: LIMITS.forwardAllowMax,
      description: 'CIDRs forward routes may dial although they are loopback, private, link-local, CGNAT, multicast, ' +
        'reserved or this host\'s own addresses (all refused otherwise). Default: none.',
      errorMessage: `expected a list of at most ${LIMITS.forwardAllowMax} CIDRs`,
    })),
    resolvers: Type.Optional(Type.Array(Type.String({ errorMessage: 'expected a DNS server as ip:port (as a string)' }), {
      minItems: 1,
      maxItems: LIMITS.forwardResolversMax,
      description: 'DNS servers (host:port, IP addresses) to resolve forward names with. Default: the system\'s (/etc/resolv.conf).',
      errorMessage: `expected a list of 1 to ${LIMITS.forwardResolversMax} DNS servers as ip:port`,
    })),
    timeout: Type.Optional(duration('A forward name must resolve within this.', DEFAULTS.forward.timeoutMs, LIMITS.forwardTimeoutMinMs)),
  }, {
    additionalProperties: false,
    required: ['suffixes'],
    description: 'Forward mode: routes with forward: true dial the requested name itself, fenced by these rules. Off unless set.',
  })),
  admin: Type.Optional(Type.Object({
    listen: Type.String({
      description: 'Address of the admin endpoint (/metrics, /healthz, /readyz, /status, /reload), e.g. 127.0.0.1:9901; port 0 = any free port.',
      errorMessage: `${LISTEN_EXPECTED} (as a string)`,
    }),
    token: Type.Optional(Type.String({
      description: 'Bearer token for /metrics, /status and /reload (at least 16 characters); required when listen is not a ' +
        // eslint-disable-next-line no-template-curly-in-string -- the config file's env substitution syntax, literally
        'loopback address. Write ${HELLOGATE_ADMIN_TOKEN} to read it from the environment.',
      errorMessage: 'expected a token (as a string)',
    })),
  }, {
    additionalProperties: false,
    required: ['listen'],
    description: 'The admin HTTP endpoint; off unless set.',
  })),
  quic: Type.Optional(Type.Object({
    listen: Type.Union([
      listenAddress,
      Type.Array(listenAddress, {
        minItems: 1,
        maxItems: LIMITS.listenMax,
        errorMessage: `expected 1 to ${LIMITS.listenMax} addresses`,
      }),
    ], {
      description: 'UDP addresses for QUIC (HTTP/3): one or a list, as for listen, e.g. "0.0.0.0:443"; port 0 = any free port. ' +
        'Each client flow is routed by the SNI of its Initial and relayed to the same host and port of the chosen server, over UDP.',
      errorMessage: `${LISTEN_EXPECTED} (as a string)`,
    }),
    unknownVersion: Type.Optional(Type.Enum(QUIC_UNKNOWN_VERSIONS, {
      description: withDefault('A QUIC version hellogate cannot read (no SNI to route by): drop its datagrams, or relay the ' +
        'flow to the default pool.', DEFAULTS.quic.unknownVersion),
      default: DEFAULTS.quic.unknownVersion,
    })),
    idleTimeout: Type.Optional(duration('No datagram either way for this long ends a flow and closes its origin socket.', DEFAULTS.quic.idleMs, LIMITS.quicIdleMinMs)),
    maxFlows: Type.Optional(flowCount('Flows per worker; datagrams that would start another are dropped.', DEFAULTS.quic.maxFlows)),
    maxPendingFlows: Type.Optional(flowCount('Flows per worker still waiting for their ClientHello; datagrams that would start another are dropped.', DEFAULTS.quic.maxPendingFlows)),
    maxPendingBytes: Type.Optional(Type.Integer({
      minimum: LIMITS.quicPendingBytesMin,
      maximum: LIMITS.quicPendingBytesMax,
      description: withDefault('Bytes of datagrams one flow may have held until its hello routes it; later ones are dropped.', DEFAULTS.quic.maxPendingBytes),
      default: DEFAULTS.quic.maxPendingBytes,
      errorMessage: `expected an integer number of bytes between ${LIMITS.quicPendingBytesMin} and ${LIMITS.quicPendingBytesMax}`,
    })),
  }, {
    additionalProperties: false,
    required: ['listen'],
    description: 'QUIC (HTTP/3) passthrough routed by SNI; off unless set. Uses routes, default, timeouts.hello and limits.maxHelloBytes as TCP does.',
  })),
  access: Type.Optional(Access),
  source: Type.Optional(Type.Object({
    etcd: Type.Optional(EtcdSource),
  }, {
    additionalProperties: false,
    description: 'Where routes come from besides this file: etcd (watched live; file routes win on a clash).',
  })),
}, {
  additionalProperties: false,
  title: 'hellogate config',
  description: 'hellogate: SNI-routing TLS passthrough proxy. Reference: README.md "Config reference".',
})

/** A config file's content once ConfigSchema accepted it. */
export type RawConfig = Static<typeof ConfigSchema>
