/**
 * config/values — the syntaxes of config values that JSON Schema cannot fully express: durations
 * (`5s` → 5000 ms) and addresses (`host:port`, `[v6]:port`, `:port`). The schema (schema.ts) checks their
 * shape where it can (a duration's pattern is DURATION_PATTERN here); validate.ts converts them with these
 * functions and checks what is left (ranges of duration strings, address parts). The CLI formats with them.
 *
 * Contract: parse functions never throw: a duration that is not one is undefined, a bad address is a
 * reason string. Host names follow names/'s rule (names/host-name.ts). The `*_EXPECTED` texts are the
 * "expected …" part of the errors about these values (the schema carries them as `errorMessage`).
 */
import { isIPv4, isIPv6 } from 'node:net'

import { checkHostNameText, describeNameStatus, NameStatus } from '../names/index.ts'
import type { HostPort } from './types.ts'

/** a port is a 16-bit unsigned number (RFC 793 §3.1) */
const MAX_PORT = 65_535

export const DURATION_EXPECTED = 'expected a duration like 5s, 250ms or 5m (a bare number is milliseconds)'
export const LISTEN_EXPECTED = 'expected host:port, [ipv6]:port or :port (all interfaces) with port 0-65535, e.g. 127.0.0.1:8443'
export const ORIGIN_EXPECTED = 'expected host:port or [ipv6]:port with port 1-65535, e.g. 10.0.0.1:443'
export const ROUTES_EXPECTED = 'expected a mapping of pattern: host:port or pool name, e.g. a.example.com: 10.0.0.1:443'
/** a route's target, an alpn value, a long form's upstream: an address or a declared pool */
export const TARGET_EXPECTED = `${ORIGIN_EXPECTED}, or the name of a pool in upstreams`
export const DEFAULT_EXPECTED = `${TARGET_EXPECTED}, or reject`
export const SERVER_EXPECTED = 'expected host:port or { address: host:port, weight: 1-256, backup: true|false }'

/**
 * A pool name: letters, digits, '.', '-', '_', starting with a letter or digit, at most
 * LIMITS.poolNameMaxChars (64). No ':', so a name never reads as host:port and an implicit pool's name
 * (its address) never collides with a declared one.
 */
export const POOL_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'
export const POOL_NAME_EXPECTED = 'expected a pool name: letters, digits, ., -, _, starting with a letter or digit, ' +
  'at most 64 characters (no ":", which would read as host:port)'
/** the value `default:` uses for "no pool": a pool may not take this name */
/** an etcd client URL: scheme, host or [v6], port; no path (etcd3 dials host:port) */
export const ETCD_ENDPOINT_PATTERN = '^https?://(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._-]+):[0-9]{1,5}$'
export const ETCD_ENDPOINT_EXPECTED = 'expected an etcd URL http://host:port or https://host:port, e.g. https://10.0.0.5:2379'
/**
 * An etcd key prefix: starts and ends with `/`, so that `/hellogate/prod/` never also matches the keys of
 * `/hellogate/production/` (etcd prefixes are byte prefixes).
 */
export const ETCD_PREFIX_PATTERN = '^/([^\\s]*/)?$'
export const ETCD_PREFIX_EXPECTED = 'expected a key prefix that starts and ends with /, e.g. /hellogate/prod/'
export const REJECT = 'reject'

/**
 * An ALPN protocol id as a config key: 1-255 visible ASCII characters (RFC 7301 §3.1 ProtocolName is
 * 1-255 bytes; every registered id is visible ASCII, so a space, a control character or non-ASCII here is
 * a typo), and not a plain number: a JSON object (and the YAML parser's output) puts integer-like keys
 * first, which would silently change the alpn map's order, and the order decides.
 */
export const ALPN_ID_PATTERN = '^(?!(0|[1-9][0-9]*)$)[\\x21-\\x7e]{1,255}$'
export const ALPN_ID_EXPECTED = 'expected an ALPN protocol id (RFC 7301): 1-255 visible ASCII characters, ' +
  'e.g. h2, http/1.1, acme-tls/1, and not a plain number (its place in the map would not be kept)'

/** A duration string: a decimal number and a unit (ms, s, m, h), spaces around allowed. */
export const DURATION_PATTERN = '^\\s*(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|h)\\s*$'
const DURATION_RE = new RegExp(DURATION_PATTERN)

/**
 * Duration → integer milliseconds, or undefined when it is not a duration.
 * Numbers are milliseconds; strings need a unit: `250ms`, `5s`, `1.5s`, `5m`, `1h`.
 */
export function parseDuration (value: unknown): number | undefined {
  let ms: number
  if (typeof value === 'number') {
    ms = value
  } else if (typeof value === 'string') {
    const m = DURATION_RE.exec(value)
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
