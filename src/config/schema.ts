/**
 * Config validation: a parsed YAML/JSON value in, a deep-frozen ProxyConfig out, or a ProxyError.
 *
 * Contract:
 *  - `parseConfig(raw, file, locate?)` accepts exactly the keys documented in examples/hellogate.yaml
 *    (listen, workers, accept, balance, routes, default, timeouts.{hello,connect,idle,shutdown},
 *    limits.{maxHelloBytes,maxConnections}, log.{level,access}); any other key, at any level, is
 *    HG_ERR_CONFIG_UNKNOWN_KEY.
 *  - Every error message names the file, the dotted key (`timeouts.hello`, `listen[1]`,
 *    `routes."*.example.net"`) and what was expected, e.g.
 *    `hellogate.yaml:7:10: timeouts.hello: expected a duration like 5s, 250ms or 5m, got 'x'`.
 *    The `line:col` part is present when the caller passes a locator (load.ts does for YAML and JSON).
 *  - Route patterns are normalised, checked for duplicates (HG_ERR_ROUTE_DUPLICATE) and compiled once,
 *    by config/routes.ts; the table is kept for the returned config (compileConfigRoutes hands it over).
 *  - Origin host names follow names/'s host-name rule, the one SNI and route patterns follow.
 *  - Defaults and bounds come from defaults.ts; nothing is clamped silently.
 *
 * Limits: runs once at startup (or `hellogate check`), so it favours clear messages over speed; the
 * only size-dependent work is one pass over the routes.
 */
import { isIPv4, isIPv6 } from 'node:net'
import { availableParallelism } from 'node:os'

import { ErrorCode } from '../errors.ts'
import { checkHostNameText, describeNameStatus, NameStatus } from '../names/index.ts'
import { DEFAULTS, LIMITS } from './defaults.ts'
import { configError, type KeyPath, type Locator } from './fault.ts'
import { compileRouteTable, rememberTable } from './routes.ts'
import type { AcceptModel, Balance, HostPort, LogLevel, ProxyConfig, RouteEntry } from './types.ts'

export { formatKeyPath, type KeyPath, type Locator } from './fault.ts'

const ACCEPT_MODELS: readonly AcceptModel[] = ['reuseport', 'handoff']
const BALANCES: readonly Balance[] = ['leastconn', 'roundrobin']
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

const TOP_KEYS = ['listen', 'workers', 'accept', 'balance', 'routes', 'default', 'timeouts', 'limits', 'log'] as const
const TIMEOUT_KEYS = ['hello', 'connect', 'idle', 'shutdown'] as const
const LIMIT_KEYS = ['maxHelloBytes', 'maxConnections'] as const
const LOG_KEYS = ['level', 'access'] as const

/** longest value quoted back in an error message; longer ones are cut with an ellipsis */
const MAX_SHOWN_VALUE_CHARS = 60
/** a port is a 16-bit unsigned number (RFC 793 §3.1) */
const MAX_PORT = 65_535

const DURATION_EXPECTED = 'expected a duration like 5s, 250ms or 5m (a bare number is milliseconds)'
const LISTEN_EXPECTED = 'expected host:port, [ipv6]:port or :port (all interfaces) with port 0-65535, e.g. 127.0.0.1:8443'
const ORIGIN_EXPECTED = 'expected host:port or [ipv6]:port with port 1-65535, e.g. 10.0.0.1:443'

// ---------------------------------------------------------------------------------------------------
// Public helpers (also used by the CLI summary and tests)
// ---------------------------------------------------------------------------------------------------

/**
 * Duration → integer milliseconds, or undefined when it is not a duration.
 * Numbers are milliseconds; strings need a unit: `250ms`, `5s`, `1.5s`, `5m`, `1h`.
 */
export function parseDuration (value: unknown): number | undefined {
  let ms: number
  if (typeof value === 'number') {
    ms = value
  } else if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(value)
    if (m === null) return undefined
    const unit = m[2] === 'ms' ? 1 : m[2] === 's' ? 1_000 : m[2] === 'm' ? 60_000 : 3_600_000
    ms = Number(m[1]) * unit
  } else {
    return undefined
  }
  if (!Number.isFinite(ms) || ms < 0) return undefined
  const rounded = Math.round(ms)
  // 1.1s * 1000 = 1100.0000000000002: accept float noise, refuse real sub-millisecond values
  if (Math.abs(ms - rounded) > 1e-6) return undefined
  return rounded
}

/** Milliseconds → the shortest exact duration string (`300000` → `5m`, `1500` → `1500ms`). */
export function formatDuration (ms: number): string {
  if (ms !== 0) {
    if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`
    if (ms % 60_000 === 0) return `${ms / 60_000}m`
    if (ms % 1_000 === 0) return `${ms / 1_000}s`
  }
  return `${ms}ms`
}

/** `{ host, port }` → `host:port`, bracketing IPv6 and writing all-interfaces as `:port`. */
export function formatHostPort (hp: HostPort): string {
  return `${hp.host.includes(':') ? `[${hp.host}]` : hp.host}:${hp.port}`
}

/**
 * Parse `host:port`, `[v6]:port` or (when `allowAnyHost`) `:port`. Returns a reason string on failure.
 * IPv6 hosts come back without brackets, host names lower-cased; `:port` comes back with host ''
 * (net.Server#listen treats an empty host as "all interfaces": `::` with IPv4 fallback).
 */
export function parseHostPort (s: string, opts: { minPort: number, allowAnyHost: boolean }): HostPort | string {
  let host: string
  let portText: string
  if (s.startsWith('[')) {
    const close = s.indexOf(']')
    if (close < 0 || s[close + 1] !== ':') return 'an IPv6 address must be written [addr]:port'
    host = s.slice(1, close)
    portText = s.slice(close + 2)
    if (!isIPv6(host)) return `'${host}' is not an IPv6 address`
  } else {
    const colon = s.lastIndexOf(':')
    if (colon < 0) return 'missing :port'
    host = s.slice(0, colon)
    portText = s.slice(colon + 1)
    if (host.includes(':')) return `an IPv6 address needs brackets: [${host}]:${portText}`
    if (host === '') {
      if (!opts.allowAnyHost) return 'missing host'
    } else if (!isIPv4(host)) {
      // names/ host-name rule, the one SNI and route patterns follow
      const status = checkHostNameText(host)
      if (status === NameStatus.EndsInNumber) return `'${host}' is not a valid IPv4 address (${describeNameStatus(status)})`
      if (status < 0) return `'${host}' is not a valid host name (${describeNameStatus(status)})`
      host = host.toLowerCase()
    }
  }
  if (!/^\d{1,5}$/.test(portText)) return `port '${portText}' is not a number`
  const port = Number(portText)
  if (port < opts.minPort || port > MAX_PORT) return `port ${port} is out of range ${opts.minPort}-${MAX_PORT}`
  return { host, port }
}

// ---------------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------------

type Obj = Record<string, unknown>

function isObject (v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** The value as an error message shows it: strings quoted, containers named. */
function show (v: unknown): string {
  if (typeof v === 'string') {
    const s = v.length > MAX_SHOWN_VALUE_CHARS ? `${v.slice(0, MAX_SHOWN_VALUE_CHARS)}…` : v
    return `'${s}'`
  }
  if (v === null) return 'null (an empty value)'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  return String(v)
}

/** Levenshtein distance, for "did you mean" on unknown keys (tiny inputs only). */
function editDistance (a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.length]!
}

class Checker {
  readonly file: string
  readonly locate: Locator | undefined

  constructor (file: string, locate: Locator | undefined) {
    this.file = file
    this.locate = locate
  }

  fail (code: ErrorCode, path: KeyPath, detail: string, target: 'key' | 'value' = 'value'): never {
    throw configError(this.file, this.locate, code, path, detail, target)
  }

  invalid (path: KeyPath, expected: string, got: unknown): never {
    return this.fail(ErrorCode.CONFIG_INVALID, path, `${expected}, got ${show(got)}`)
  }

  mapping (path: KeyPath, v: unknown, known: readonly string[]): Obj {
    if (!isObject(v)) return this.invalid(path, `expected a mapping with keys ${known.join(', ')}`, v)
    for (const k of Object.keys(v)) {
      if (known.includes(k)) continue
      // a typo or a near-synonym (maxHelloSize → maxHelloBytes): up to a third of the key's length in edits
      const near = known.find(c => c.toLowerCase() === k.toLowerCase() || editDistance(c, k) <= Math.max(2, Math.floor(k.length / 3)))
      const hint = near === undefined ? '' : ` (did you mean '${near}'?)`
      this.fail(ErrorCode.CONFIG_UNKNOWN_KEY, [...path, k],
        `unknown key${hint}; allowed here: ${known.join(', ')}`, 'key')
    }
    return v
  }

  duration (path: KeyPath, v: unknown, minMs: number): number {
    const ms = parseDuration(v)
    if (ms === undefined) return this.invalid(path, DURATION_EXPECTED, v)
    if (ms < minMs || ms > LIMITS.durationMaxMs) {
      return this.invalid(path, `expected a duration between ${formatDuration(minMs)} and ${formatDuration(LIMITS.durationMaxMs)}`, v)
    }
    return ms
  }

  integer (path: KeyPath, v: unknown, min: number, max: number, unit: string, why = ''): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      return this.invalid(path, `expected an integer ${unit} between ${min} and ${max}${why}`, v)
    }
    return v
  }

  oneOf<T extends string> (path: KeyPath, v: unknown, allowed: readonly T[]): T {
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      return this.invalid(path, `expected one of ${allowed.join(', ')}`, v)
    }
    return v as T
  }

  listenAddress (path: KeyPath, v: unknown): HostPort {
    if (typeof v !== 'string') return this.invalid(path, `${LISTEN_EXPECTED} (as a string)`, v)
    const r = parseHostPort(v.trim(), { minPort: 0, allowAnyHost: true })
    if (typeof r === 'string') return this.invalid(path, `${LISTEN_EXPECTED} (${r})`, v)
    return r
  }

  origin (path: KeyPath, v: unknown): HostPort {
    if (typeof v !== 'string') {
      const yamlHint = Array.isArray(v) ? '; quote IPv6 origins in YAML: "[::1]:443"' : ''
      return this.invalid(path, `${ORIGIN_EXPECTED} (as a string)${yamlHint}`, v)
    }
    const r = parseHostPort(v.trim(), { minPort: 1, allowAnyHost: false })
    if (typeof r === 'string') return this.invalid(path, `${ORIGIN_EXPECTED} (${r})`, v)
    return r
  }
}

/** An absent key takes its default; an explicit null (`key:` with no value in YAML) is validated, not defaulted. */
function orDefault<T> (v: unknown, def: T): unknown {
  return v === undefined ? def : v
}

function freezeHostPort (hp: HostPort): HostPort {
  return Object.freeze({ host: hp.host, port: hp.port })
}

/**
 * Validate a parsed config value and build the deep-frozen ProxyConfig.
 * `file` names the source in error messages ('<demo>', '<inline>' for generated configs).
 * Throws ProxyError (HG_ERR_CONFIG_INVALID, HG_ERR_CONFIG_UNKNOWN_KEY, HG_ERR_ROUTE_DUPLICATE).
 */
export function parseConfig (raw: unknown, file: string, locate?: Locator): ProxyConfig {
  // explicit type: TypeScript only narrows after `never`-returning calls through explicitly typed references
  const c: Checker = new Checker(file, locate)
  if (raw === null || raw === undefined) {
    return c.fail(ErrorCode.CONFIG_INVALID, [], 'the file is empty; expected a mapping with at least `routes`')
  }
  const top = c.mapping([], raw, TOP_KEYS)

  // listen: one address or a list of them
  const listenRaw = orDefault(top.listen, DEFAULTS.listen)
  const listen: HostPort[] = []
  if (Array.isArray(listenRaw)) {
    if (listenRaw.length === 0 || listenRaw.length > LIMITS.listenMax) {
      c.invalid(['listen'], `expected 1 to ${LIMITS.listenMax} addresses`, listenRaw)
    }
    const seen = new Map<string, number>()
    listenRaw.forEach((a: unknown, i) => {
      const hp = c.listenAddress(['listen', i], a)
      const k = formatHostPort(hp)
      const first = seen.get(k)
      if (first !== undefined && hp.port !== 0) c.invalid(['listen', i], `duplicate of listen[${first}]`, a)
      seen.set(k, i)
      listen.push(hp)
    })
  } else {
    listen.push(c.listenAddress(['listen'], listenRaw))
  }

  // workers
  const workersRaw = orDefault(top.workers, DEFAULTS.workers)
  let workers: number
  if (workersRaw === 'auto') {
    workers = Math.max(1, Math.min(availableParallelism(), LIMITS.workersMax))
  } else if (typeof workersRaw === 'number' && Number.isInteger(workersRaw) && workersRaw >= 1 && workersRaw <= LIMITS.workersMax) {
    workers = workersRaw
  } else {
    c.invalid(['workers'], `expected auto or an integer between 1 and ${LIMITS.workersMax}`, workersRaw)
  }

  // accept / balance
  const accept = c.oneOf(['accept'], orDefault(top.accept, DEFAULTS.accept), ACCEPT_MODELS)
  if (top.balance !== undefined && accept !== 'handoff') {
    c.fail(ErrorCode.CONFIG_INVALID, ['balance'],
      `only applies with accept: handoff (accept is ${accept}; with reuseport the kernel balances)`)
  }
  const balance = c.oneOf(['balance'], orDefault(top.balance, DEFAULTS.balance), BALANCES)

  // routes
  // `routes:` left empty (null) is an empty table: legitimate with a default origin
  const routesRaw = top.routes ?? {}
  if (!isObject(routesRaw)) {
    c.invalid(['routes'], 'expected a mapping of pattern: host:port, e.g. a.example.com: 10.0.0.1:443', routesRaw)
  }
  const sources = Object.keys(routesRaw)
  const origins = sources.map((source) => freezeHostPort(c.origin(['routes', source], routesRaw[source])))
  // patterns are normalised and duplicates found once, by the compile (config/routes.ts)
  const table = compileRouteTable(sources, (code, path, detail, target) => c.fail(code, path, detail, target))
  const routes: RouteEntry[] = sources.map((source, i) =>
    Object.freeze({ pattern: table.patterns[i]!, source, origin: origins[i]! }))

  // default
  const defRaw = orDefault(top.default, DEFAULTS.default)
  const def = defRaw === 'reject' ? null : c.origin(['default'], defRaw)
  if (routes.length === 0 && def === null) {
    c.fail(ErrorCode.CONFIG_INVALID, ['routes'],
      'no routes and default: reject would refuse every connection; add routes or set default: host:port')
  }

  // timeouts
  const t = top.timeouts === undefined ? {} : c.mapping(['timeouts'], top.timeouts, TIMEOUT_KEYS)
  const timeouts = Object.freeze({
    helloMs: t.hello === undefined ? DEFAULTS.timeouts.helloMs : c.duration(['timeouts', 'hello'], t.hello, LIMITS.helloMinMs),
    connectMs: t.connect === undefined ? DEFAULTS.timeouts.connectMs : c.duration(['timeouts', 'connect'], t.connect, LIMITS.connectMinMs),
    idleMs: t.idle === undefined ? DEFAULTS.timeouts.idleMs : c.duration(['timeouts', 'idle'], t.idle, LIMITS.idleMinMs),
    shutdownMs: t.shutdown === undefined ? DEFAULTS.timeouts.shutdownMs : c.duration(['timeouts', 'shutdown'], t.shutdown, LIMITS.shutdownMinMs),
  })

  // limits
  const l = top.limits === undefined ? {} : c.mapping(['limits'], top.limits, LIMIT_KEYS)
  const maxHelloBytes = l.maxHelloBytes === undefined
    ? DEFAULTS.limits.maxHelloBytes
    : c.integer(['limits', 'maxHelloBytes'], l.maxHelloBytes, LIMITS.maxHelloBytesMin, LIMITS.maxHelloBytesMax,
      'number of bytes', ' (64 KiB cap as in rustls: larger hellos are a denial-of-service vector)')
  const maxConnections = l.maxConnections === undefined
    ? DEFAULTS.limits.maxConnections
    : c.integer(['limits', 'maxConnections'], l.maxConnections, LIMITS.maxConnectionsMin, LIMITS.maxConnectionsMax,
      'number of connections')
  if (maxConnections < workers) {
    c.invalid(['limits', 'maxConnections'], `expected at least one connection per worker (workers: ${workers})`, maxConnections)
  }

  // log
  const g = top.log === undefined ? {} : c.mapping(['log'], top.log, LOG_KEYS)
  const level = c.oneOf(['log', 'level'], orDefault(g.level, DEFAULTS.log.level), LOG_LEVELS)
  const accessRaw = orDefault(g.access, DEFAULTS.log.access)
  if (typeof accessRaw !== 'boolean') c.invalid(['log', 'access'], 'expected true or false', accessRaw)

  const config: ProxyConfig = Object.freeze({
    file,
    listen: Object.freeze(listen.map(freezeHostPort)),
    workers,
    accept,
    balance,
    routes: Object.freeze(routes),
    default: def === null ? null : freezeHostPort(def),
    timeouts,
    limits: Object.freeze({ maxHelloBytes, maxConnections }),
    log: Object.freeze({ level, access: accessRaw }),
  })
  rememberTable(config, table)
  return config
}
