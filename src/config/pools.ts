/**
 * config/pools — `upstreams:` and every target that names a pool or an address, resolved to pool ids.
 *
 * Contract (validate.ts drives it, in this order):
 *  1. `declare(name, raw)` for each pool under `upstreams:` (shape already checked by the schema): servers
 *     parsed, unique within the pool (HG_ERR_CONFIG_INVALID "duplicate of servers[i]"), at least one
 *     primary; durations in range, health.timeout ≤ health.interval; defaults from DEFAULTS.upstream.
 *  2. `resolve(path, text)` for each route target, alpn value and the default: a name → that pool's id
 *     (unknown → error with "did you mean"), a host:port → the implicit one-server pool of that address,
 *     created on first use and shared by every later use (one pool per distinct address).
 *  3. `finish(routes)` fills each declared pool's health.name (explicit, else the first exact route that
 *     uses the pool), refuses `check: tls` without one, and returns the frozen pool list (index = pool id).
 *
 * Limits: one Map lookup per target (an address already seen as written is not parsed again); implicit pools share their (frozen) health/passive/connect objects, so
 * a 1M-route table with a distinct address per route costs one small pool object per address.
 */
import { ErrorCode } from '../errors.ts'
import { normalizePattern } from '../routes/index.ts'
import { DEFAULTS, LIMITS } from './defaults.ts'
import { didYouMean, type KeyPath } from './fault.ts'
import type { Report } from './report.ts'
import type { RawConfig } from './schema.ts'
import type { ConnectConfig, HealthConfig, HostPort, PassiveConfig, RouteEntry, ServerConfig, UpstreamConfig } from './types.ts'
import { formatHostPort, REJECT, SERVER_EXPECTED, TARGET_EXPECTED } from './values.ts'

type RawUpstream = NonNullable<RawConfig['upstreams']>[string]
type RawServer = RawUpstream['servers'][number]

/** What an implicit pool (a bare host:port) does: exactly what a single origin did, nothing more. */
const IMPLICIT_HEALTH: HealthConfig = Object.freeze({
  check: 'off',
  name: null,
  intervalMs: DEFAULTS.upstream.health.intervalMs,
  timeoutMs: DEFAULTS.upstream.health.timeoutMs,
  rise: DEFAULTS.upstream.health.rise,
  fall: DEFAULTS.upstream.health.fall,
})
const IMPLICIT_PASSIVE: PassiveConfig = Object.freeze({ failures: 0, ejectMs: DEFAULTS.upstream.passive.ejectMs })

/**
 * The key two addresses are compared by, which is also the address as printed: `host:port` with the
 * host lower-cased (names already are; IPv6 may not be). When `text` is already written that way (the
 * common `10.0.0.1:443`), `text` itself is the key: no new string per route, which a table of a million
 * distinct addresses notices (formatting and hashing fresh strings was a third of its load time).
 */
function addressKey (hp: HostPort, text: string): string {
  const port = String(hp.port)
  if (text.length === hp.host.length + 1 + port.length && text.startsWith(hp.host) && !hp.host.includes(':')) return text
  return formatHostPort({ host: hp.host.toLowerCase(), port: hp.port })
}

function freezeServer (hp: HostPort, address: string, weight: number, backup: boolean): ServerConfig {
  return Object.freeze({ host: hp.host, port: hp.port, address, weight, backup })
}

/** a declared pool before finish(): health.name may still come from the routes */
interface Pending {
  readonly pool: Omit<UpstreamConfig, 'health'>
  readonly health: Omit<HealthConfig, 'name'>
  readonly explicitName: string | null
}

export class Pools {
  readonly #r: Report
  readonly #implicitConnect: ConnectConfig
  readonly #connectMs: number
  readonly #declared: Pending[] = []
  readonly #implicit: UpstreamConfig[] = []
  readonly #byName = new Map<string, number>()
  readonly #byAddress = new Map<string, number>()

  constructor (report: Report, connectMs: number) {
    this.#r = report
    this.#connectMs = connectMs
    this.#implicitConnect = Object.freeze({ timeoutMs: connectMs, retries: 0 })
  }

  /** Step 1: a pool declared under `upstreams:` as `name`. Call for every one before any resolve(). */
  declare (name: string, raw: RawUpstream): void {
    const r = this.#r
    const at = ['upstreams', name]
    if (name === REJECT) {
      r.fail(ErrorCode.CONFIG_INVALID, at, `'${REJECT}' is what default: says for "no pool"; name the pool otherwise`, 'key')
    }
    const servers = this.#servers([...at, 'servers'], raw.servers)
    const h = raw.health ?? {}
    const U = DEFAULTS.upstream
    const health = {
      check: h.check ?? U.health.check,
      intervalMs: r.duration([...at, 'health', 'interval'], h.interval, U.health.intervalMs, LIMITS.healthIntervalMinMs),
      timeoutMs: r.duration([...at, 'health', 'timeout'], h.timeout, U.health.timeoutMs, LIMITS.healthTimeoutMinMs),
      rise: h.rise ?? U.health.rise,
      fall: h.fall ?? U.health.fall,
    }
    if (health.timeoutMs > health.intervalMs) {
      r.invalid([...at, 'health', 'timeout'],
        `expected at most health.interval (${String(health.intervalMs)}ms), so that checks of a server never overlap`, h.timeout ?? health.timeoutMs)
    }
    let explicitName: string | null = null
    if (h.name !== undefined) {
      explicitName = normalizePattern(h.name)
      if (explicitName === null || explicitName.startsWith('*.')) {
        r.invalid([...at, 'health', 'name'], 'expected a host name (the SNI the tls check sends), e.g. health.shop.example', h.name)
      }
    }
    const p = raw.passive ?? {}
    const c = raw.connect ?? {}
    this.#byName.set(name, this.#declared.length)
    this.#declared.push({
      pool: {
        name,
        implicit: false,
        servers,
        balance: raw.balance ?? U.balance,
        passive: Object.freeze({
          failures: p.failures ?? U.passive.failures,
          ejectMs: r.duration([...at, 'passive', 'eject'], p.eject, U.passive.ejectMs, LIMITS.ejectMinMs),
        }),
        connect: Object.freeze({
          timeoutMs: r.duration([...at, 'connect', 'timeout'], c.timeout, this.#connectMs, LIMITS.connectMinMs),
          retries: c.retries ?? U.connect.retries,
        }),
        proxyProtocol: raw.proxyProtocol ?? U.proxyProtocol,
        ...(raw.httpPort === undefined ? {} : { httpPort: raw.httpPort }),
      },
      health,
      explicitName,
    })
  }

  #servers (at: KeyPath, raw: readonly RawServer[]): readonly ServerConfig[] {
    const seen = new Map<string, number>()
    const servers = raw.map((s, i) => {
      const text = typeof s === 'string' ? s : s.address
      const hp = this.#r.address([...at, i], text, SERVER_EXPECTED)
      const key = addressKey(hp, text.trim())
      const first = seen.get(key)
      if (first !== undefined) this.#r.invalid([...at, i], `a server listed once (duplicate of servers[${first}], ${key})`, text)
      seen.set(key, i)
      return typeof s === 'string'
        ? freezeServer(hp, formatHostPort(hp), LIMITS.weightMin, false)
        : freezeServer(hp, formatHostPort(hp), s.weight ?? LIMITS.weightMin, s.backup ?? false)
    })
    if (servers.every((s) => s.backup)) {
      this.#r.invalid(at, 'at least one server without backup: true (backup servers take connections only when no primary server is healthy)', raw)
    }
    return Object.freeze(servers)
  }

  /**
   * Step 2: the pool id for a target as written at `path`: a declared pool's name, or host:port (the
   * implicit pool of that address). `text` has passed the schema (a string).
   */
  resolve (path: KeyPath, text: string): number {
    const v = text.trim()
    if (v.includes(':') || v.startsWith('[')) {
      // an address written exactly as an earlier one's key (the common case in a large table: many
      // routes to one origin) is that key: parsing it again would give the same key
      const seen = this.#byAddress.get(v)
      if (seen !== undefined) return seen
      const hp = this.#r.address(path, text, TARGET_EXPECTED)
      const key = addressKey(hp, v)
      let id = this.#byAddress.get(key)
      if (id === undefined) {
        id = this.#declared.length + this.#implicit.length
        if (id >= LIMITS.poolsMax) {
          return this.#r.invalid(path, `at most ${LIMITS.poolsMax} distinct origins in all (pools plus host:port targets, each its own one-server pool); put servers behind named upstreams`, text)
        }
        this.#byAddress.set(key, id)
        this.#implicit.push(Object.freeze({
          name: key,
          implicit: true,
          servers: Object.freeze([freezeServer(hp, key, LIMITS.weightMin, false)]),
          balance: DEFAULTS.upstream.balance,
          health: IMPLICIT_HEALTH,
          passive: IMPLICIT_PASSIVE,
          connect: this.#implicitConnect,
          proxyProtocol: 'off',
        }))
      }
      return id
    }
    const id = this.#byName.get(v)
    if (id !== undefined) return id
    const why = this.#byName.size === 0
      ? 'missing :port, and upstreams declares no pools'
      : `missing :port, and no pool in upstreams is named '${v}'${didYouMean(v, this.#byName.keys())}`
    return this.#r.invalid(path, `${TARGET_EXPECTED} (${why})`, text)
  }

  /** Step 3: health names from the routes; every pool, frozen, index = pool id. */
  finish (routes: readonly RouteEntry[]): readonly UpstreamConfig[] {
    const declared = this.#declared.length
    // the first exact route (config order) naming each declared pool, as its upstream or in its alpn map
    const firstExact = new Int32Array(declared).fill(-1)
    let unnamed = this.#declared.filter((d) => d.explicitName === null).length
    for (let i = 0; i < routes.length && unnamed > 0; i++) {
      const route = routes[i]!
      if (route.pattern.startsWith('*.')) continue
      for (const id of [route.upstream, ...route.alpn.map((a) => a.upstream)]) {
        if (id < declared && firstExact[id] === -1 && this.#declared[id]!.explicitName === null) {
          firstExact[id] = i
          unnamed--
        }
      }
    }
    const pools = this.#declared.map((d, id): UpstreamConfig => {
      const first = firstExact[id]!
      const name = d.explicitName ?? (first >= 0 ? routes[first]!.pattern : null)
      if (d.health.check === 'tls' && name === null) {
        this.#r.fail(ErrorCode.CONFIG_INVALID, ['upstreams', d.pool.name, 'health'],
          'check: tls sends a ClientHello with SNI health.name, and no exact route uses this pool to take the name from: set health.name')
      }
      return Object.freeze({ ...d.pool, health: Object.freeze({ ...d.health, name }) })
    })
    return Object.freeze([...pools, ...this.#implicit])
  }
}
