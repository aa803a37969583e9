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
  DURATION_EXPECTED, DURATION_PATTERN, formatDuration, LISTEN_EXPECTED, ORIGIN_EXPECTED, ROUTES_EXPECTED,
} from './values.ts'

export const ACCEPT_MODELS = ['reuseport', 'handoff'] as const
export const BALANCES = ['leastconn', 'roundrobin'] as const
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

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
function duration (description: string, defaultMs: number, minMs: number) {
  return Type.Union([
    Type.Integer({ minimum: 0 }),
    Type.String({ pattern: DURATION_PATTERN }),
  ], {
    description: `${withDefault(description, formatDuration(defaultMs))} At least ${formatDuration(minMs)}.`,
    default: formatDuration(defaultMs),
    errorMessage: DURATION_EXPECTED,
  })
}

const listenAddress = Type.String({ errorMessage: `${LISTEN_EXPECTED} (as a string)` })

/** The value of one route. */
const RouteTarget = Type.String({
  description: 'The origin for this name: host:port or [ipv6]:port (quote IPv6 in YAML).',
  errorMessage: `${ORIGIN_EXPECTED} (as a string)`,
})

/**
 * The `routes` map: pattern → target. Written out rather than with Type.Record, which would allow keys
 * that miss its pattern (patternProperties) instead of flagging them (propertyNames).
 */
const Routes = Type.Unsafe<Record<string, Static<typeof RouteTarget>>>({
  type: 'object',
  propertyNames: { pattern: ROUTE_PATTERN_SHAPE },
  additionalProperties: RouteTarget,
  description: 'SNI → origin. Exact names win over wildcards; "*.example.net" matches any name below example.net ' +
    '(quote patterns starting with * in YAML). Unicode names are converted to A-labels (IDNA).',
})

export const ConfigSchema = Type.Object({
  listen: Type.Optional(Type.Union([
    listenAddress,
    Type.Array(listenAddress, {
      minItems: 1,
      maxItems: LIMITS.listenMax,
      errorMessage: `expected 1 to ${LIMITS.listenMax} addresses`,
    }),
  ], {
    description: withDefault('Where to accept TLS connections: one address or a list. "127.0.0.1:8443", ' +
      '"[::1]:8443" (quote IPv6 in YAML), ":8443" (all interfaces); port 0 = any free port.', DEFAULTS.listen),
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
  routes: Type.Optional(Type.Union([Routes, Type.Null()], { errorMessage: ROUTES_EXPECTED })),
  default: Type.Optional(Type.String({
    description: withDefault('No route for the SNI (or no SNI): reject (TLS alert unrecognized_name) or ' +
      'forward to host:port.', DEFAULTS.default),
    default: DEFAULTS.default,
    errorMessage: `${ORIGIN_EXPECTED} (as a string)`,
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
  }, { additionalProperties: false })),
}, {
  additionalProperties: false,
  title: 'hellogate config',
  description: 'hellogate: SNI-routing TLS passthrough proxy. Reference: README.md "Config reference".',
})

/** A config file's content once ConfigSchema accepted it. */
export type RawConfig = Static<typeof ConfigSchema>
