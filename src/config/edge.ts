/**
 * config/edge — the `http:` and `forward:` blocks and the route keys that go with them (`httpPort`,
 * `forward: true`), checked after the schema accepted their shape. validate.ts calls in here; nothing here
 * runs after load.
 *
 * Contract:
 *  - `buildHttp`: listen addresses (one or a list, duplicates refused as for `listen:`; none may equal a
 *    TLS listen address with a fixed port) and the origin port. They are bound as the TLS ones are: by every
 *    worker (`accept: reuseport`) or by the main thread, which hands each socket over marked as HTTP (`handoff`).
 *  - `buildForward`: suffixes (lower case, a leading dot added when missing, a valid host name of at least
 *    two labels: a one-label suffix would open a whole top-level domain), the allow CIDRs (compiled with
 *    access/ so a bad one fails here with its index), resolvers as ip:port (IP addresses only: the
 *    resolver's own name would need resolving), the lookup timeout.
 *  - `checkForwardRoutes`: a forward route needs a `forward:` block, and its pattern must lie under one of
 *    the suffixes (`*.a.example.net` and `a.example.net` under `.example.net`); the runtime checks the
 *    name it dials again (forward/fence.ts), so an allowlist change can never be bypassed by a route.
 */
import { isIP } from 'node:net'
import { AccessList, compileAccessList } from '../access/index.ts'
import { checkHostNameText, describeNameStatus } from '../names/index.ts'
import { ErrorCode } from '../errors.ts'
import { DEFAULTS, LIMITS } from './defaults.ts'
import type { Report } from './report.ts'
import type { RawConfig } from './schema.ts'
import type { ForwardConfig, HostPort, HttpConfig, ProxyConfig, RouteEntry } from './types.ts'
import { formatDuration, formatHostPort, parseHostPort } from './values.ts'

type RawHttp = NonNullable<RawConfig['http']>
type RawForward = NonNullable<RawConfig['forward']>

export function buildHttp (r: Report, raw: RawHttp | undefined, tlsListen: readonly HostPort[]): HttpConfig | null {
  if (raw === undefined) return null
  const list = Array.isArray(raw.listen) ? raw.listen : [raw.listen]
  const seen = new Map<string, number>()
  for (const a of tlsListen) if (a.port !== 0) seen.set(formatHostPort(a), -1)
  const listen = list.map((a, i) => {
    const at = Array.isArray(raw.listen) ? ['http', 'listen', i] : ['http', 'listen']
    const hp = r.listenAddress(at, a)
    const k = formatHostPort(hp)
    const first = seen.get(k)
    if (first !== undefined && hp.port !== 0) r.invalid(at, first < 0 ? 'already a TLS listen address' : `duplicate of http.listen[${first}]`, a)
    seen.set(k, i)
    return Object.freeze({ host: hp.host, port: hp.port })
  })
  return Object.freeze({ listen: Object.freeze(listen), originPort: raw.originPort ?? DEFAULTS.http.originPort })
}

/** `.Example.NET` / `example.net` → `.example.net`, or a reason it is not a usable suffix. */
function normalizeSuffix (s: string): string {
  const lower = s.trim().toLowerCase()
  const name = lower.startsWith('.') ? lower.slice(1) : lower
  const end = checkHostNameText(name)
  if (end < 0) return 'not a domain: ' + describeNameStatus(end)
  const bare = name.slice(0, end)
  if (!bare.includes('.')) return 'a single label would open a whole top-level domain; give at least two labels, e.g. .example.net'
  return '.' + bare
}

export function buildForward (r: Report, raw: RawForward | undefined): ForwardConfig | null {
  if (raw === undefined) return null
  const suffixes = raw.suffixes.map((s, i) => {
    const n = normalizeSuffix(s)
    if (!n.startsWith('.')) r.invalid(['forward', 'suffixes', i], `expected a domain suffix like .example.net (${n})`, s)
    return n
  })
  const allow = raw.allow ?? []
  const compiled = compileAccessList(allow, [])
  if (!(compiled instanceof AccessList)) {
    r.invalid(['forward', 'allow', compiled.index], `expected a CIDR like 10.1.0.0/16 or an address (${compiled.reason})`, compiled.entry)
  }
  const resolvers = (raw.resolvers ?? []).map((v, i) => {
    const hp = parseHostPort(v.trim(), { minPort: 1, allowAnyHost: false })
    if (typeof hp === 'string' || isIP(hp.host) === 0) r.invalid(['forward', 'resolvers', i], 'expected a DNS server as ip:port, e.g. 10.0.0.2:53', v)
    const ok = hp as HostPort
    return isIP(ok.host) === 6 ? '[' + ok.host + ']:' + String(ok.port) : ok.host + ':' + String(ok.port)
  })
  return Object.freeze({
    suffixes: Object.freeze(suffixes),
    port: raw.port ?? DEFAULTS.forward.port,
    httpPort: raw.httpPort ?? DEFAULTS.forward.httpPort,
    allow: Object.freeze([...allow]),
    resolvers: Object.freeze(resolvers),
    timeoutMs: r.duration(['forward', 'timeout'], raw.timeout, DEFAULTS.forward.timeoutMs, LIMITS.forwardTimeoutMinMs),
  })
}

/** True when `name` (lower case, no trailing dot) is under `suffix` (`.example.net`) and longer than it. */
export function underSuffix (name: string, suffix: string): boolean {
  return name.length > suffix.length && name.endsWith(suffix)
}

export function checkForwardRoutes (r: Report, routes: readonly RouteEntry[], forward: ForwardConfig | null): void {
  for (const route of routes) {
    if (route.forward !== true) continue
    const at = ['routes', route.source]
    if (forward === null) r.fail(ErrorCode.CONFIG_INVALID, at, 'forward: true needs a forward: block (suffixes: the names it may dial)', 'key')
    const name = route.pattern.startsWith('*.') ? route.pattern.slice(2) : route.pattern
    // `*.example.net` dials names below example.net: allowed when example.net itself is a suffix or under one
    const ok = forward.suffixes.some((s) => underSuffix(name, s) || (route.pattern.startsWith('*.') && '.' + name === s))
    if (!ok) {
      r.fail(ErrorCode.CONFIG_INVALID, at, `a forward route must lie under one of forward.suffixes (${forward.suffixes.join(', ')})`, 'key')
    }
  }
}

/** `hellogate check` lines for the http: and forward: blocks (none when they are off). */
export function describeEdge (config: ProxyConfig): string[] {
  const lines: string[] = []
  const http = config.http ?? null
  if (http !== null) lines.push(`  http      ${http.listen.map(formatHostPort).join(', ')} → servers' port ${http.originPort} unless a pool or route says httpPort`)
  const f = config.forward ?? null
  if (f !== null) {
    const routes = config.routes.filter((r) => r.forward === true).map((r) => r.pattern)
    lines.push(`  forward   ${routes.length} route(s) under ${f.suffixes.join(', ')}; port ${f.port}, httpPort ${f.httpPort}; ` +
      `allow ${f.allow.length === 0 ? 'none' : f.allow.join(', ')}; resolvers ${f.resolvers.length === 0 ? 'system' : f.resolvers.join(', ')}; timeout ${formatDuration(f.timeoutMs)}`)
  }
  return lines
}
