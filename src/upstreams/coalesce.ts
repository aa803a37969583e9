/**
 * upstreams/coalesce — the coalescing warning. A browser reuses one HTTP/2 connection for every name
 * the connection's certificate covers (RFC 7540 §9.1.1, RFC 9113 §9.1.1) when the names resolve to the
 * same address, which for an SNI proxy they do. So a certificate served by pool X that also covers a
 * name hellogate routes to pool Y silently sends Y's requests to X.
 *
 * Contract:
 *  - `coalescingWarnings(routes, certificates, defaultPool)` is pure: for each certificate name,
 *    the names it covers are routed as hellogate would route them (exact beats wildcard, the longest
 *    wildcard suffix wins, nothing matched → defaultPool), and every one routed to a pool other than
 *    the certificate's is a warning: "certificate served for pool X also covers name N routed to
 *    pool Y". Each (certificate pool, name, routed pool) is reported once.
 *  - Certificate names follow RFC 6125 §6.4.3 as browsers apply it: `*.a.com` covers exactly one label
 *    in front of `a.com` (not `a.com`, not `x.y.a.com`); a `*` anywhere else (`f*.a.com`, `a.*.com`),
 *    alone, or directly over a single label (`*.com`, which browsers refuse) covers nothing.
 *  - Route patterns follow routes/compile.ts: `*.s` matches one or more labels in front of `s`.
 *    A certificate `*.t` covers the route `*.s` names exactly when t = s or t ends in `.s`; those
 *    names are reported as the pattern `*.s`.
 *  - `probeCertificates(servers, names)` completes a TLS handshake (no verification) with each server
 *    for each name as SNI and returns the certificate's DNS names, for `hellogate check --probe`.
 *    Bounded: `concurrency` handshakes at once, each within `timeoutMs`.
 * Names are compared in lower case with one trailing dot dropped.
 */
import { probeServer } from './probe.ts'
import { serverLabel } from './state.ts'
import type { ProxyProtocolMode } from './types.ts'

export interface RoutedName {
  /** route pattern: an exact name or `*.suffix` */
  name: string
  /** the pool (or `host:port` origin) it is routed to */
  pool: string
}

export interface PoolCertificate {
  /** the pool whose server served it */
  pool: string
  /** `host:port` of that server (for the message) */
  server: string
  /** the certificate's DNS names (subjectAltName) */
  names: readonly string[]
}

export interface CoalescingWarning {
  certPool: string
  server: string
  /** the certificate name that covers it */
  certName: string
  /** the covered name, or the `*.suffix` route pattern whose names it covers */
  name: string
  routedPool: string
  message: string
}

function canonical (name: string): string {
  const n = name.toLowerCase()
  return n.endsWith('.') ? n.slice(0, -1) : n
}

/** `*.t` → t when it is a wildcard browsers accept (RFC 6125 §6.4.3), '' for an exact name, null for one that covers nothing */
function wildcardBase (certName: string): string | null {
  if (!certName.includes('*')) return ''
  if (!certName.startsWith('*.')) return null
  const base = certName.slice(2)
  // browsers refuse a wildcard directly over a top-level label (`*.com`); any other `*` is literal
  if (base.includes('*') || !base.includes('.') || base.startsWith('.') || base.endsWith('.')) return null
  return base
}

class RouteIndex {
  readonly exact = new Map<string, string>()
  readonly wild = new Map<string, string>()
  /** exact route names by their parent (everything after the first label) */
  readonly children = new Map<string, string[]>()
  readonly defaultPool: string | null

  constructor (routes: readonly RoutedName[], defaultPool: string | null) {
    this.defaultPool = defaultPool
    for (const r of routes) {
      const n = canonical(r.name)
      if (n.startsWith('*.')) {
        if (!this.wild.has(n.slice(2))) this.wild.set(n.slice(2), r.pool)
        continue
      }
      if (this.exact.has(n)) continue
      this.exact.set(n, r.pool)
      const dot = n.indexOf('.')
      if (dot > 0) {
        const parent = n.slice(dot + 1)
        const list = this.children.get(parent) ?? []
        list.push(n)
        this.children.set(parent, list)
      }
    }
  }

  /** the longest wildcard route whose suffix `name` ends in (name ≠ suffix): [pattern, pool] */
  wildcardFor (name: string): [string, string] | null {
    for (let i = name.indexOf('.'); i >= 0; i = name.indexOf('.', i + 1)) {
      const suffix = name.slice(i + 1)
      const pool = this.wild.get(suffix)
      if (pool !== undefined) return ['*.' + suffix, pool]
    }
    return null
  }

  /** how an exact name is routed: [what to report, pool] or null */
  route (name: string): [string, string] | null {
    const pool = this.exact.get(name)
    if (pool !== undefined) return [name, pool]
    const w = this.wildcardFor(name)
    if (w !== null) return [name, w[1]]
    return this.defaultPool === null ? null : [name, this.defaultPool]
  }
}

/** Warnings for every name a pool's certificate covers that is routed to another pool (module header). */
export function coalescingWarnings (routes: readonly RoutedName[], certificates: readonly PoolCertificate[], defaultPool: string | null = null): CoalescingWarning[] {
  const index = new RouteIndex(routes, defaultPool)
  const out: CoalescingWarning[] = []
  const seen = new Set<string>()
  const warn = (cert: PoolCertificate, certName: string, name: string, routedPool: string): void => {
    if (routedPool === cert.pool) return
    const key = cert.pool + '\n' + name + '\n' + routedPool
    if (seen.has(key)) return
    seen.add(key)
    out.push({
      certPool: cert.pool,
      server: cert.server,
      certName,
      name,
      routedPool,
      message: 'certificate served for pool ' + cert.pool + ' (' + cert.server + ', name ' + certName + ') also covers name ' + name + ' routed to pool ' + routedPool,
    })
  }
  for (const cert of certificates) {
    for (const raw of cert.names) {
      const certName = canonical(raw)
      const base = wildcardBase(certName)
      if (base === null) continue
      if (base === '') {
        const r = index.route(certName)
        if (r !== null) warn(cert, raw, r[0], r[1])
        continue
      }
      // exact routes one label below the base: each is routed on its own
      for (const child of index.children.get(base) ?? []) warn(cert, raw, child, index.exact.get(child)!)
      // every other one-label name below the base follows the longest wildcard route over it
      const other = index.wildcardFor('x.' + base)
      if (other !== null) warn(cert, raw, other[0], other[1])
      else if (defaultPool !== null) warn(cert, raw, '*.' + base, defaultPool)
    }
  }
  return out
}

export interface ProbeTarget {
  host: string
  port: number
  proxyProtocol?: ProxyProtocolMode
}

export interface CertificateProbe {
  /** `host:port` */
  server: string
  /** the SNI the handshake sent */
  name: string
  /** the certificate's DNS names, or null when no handshake completed */
  names: string[] | null
  /** why there is no certificate (probe reason and detail), or null */
  error: string | null
}

/** Handshake with every server for every name; the certificates' DNS names (module header). */
export async function probeCertificates (servers: readonly ProbeTarget[], names: readonly string[], options: { timeoutMs?: number, concurrency?: number } = {}): Promise<CertificateProbe[]> {
  const jobs: Array<{ target: ProbeTarget, name: string }> = []
  for (const target of servers) for (const name of names) jobs.push({ target, name })
  const out = new Array<CertificateProbe>(jobs.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++
      const { target, name } = jobs[i]!
      const r = await probeServer({
        host: target.host,
        port: target.port,
        check: 'tls',
        timeoutMs: options.timeoutMs ?? 5000,
        servername: name,
        proxyProtocol: target.proxyProtocol ?? 'off',
        certificate: true,
      })
      out[i] = {
        server: serverLabel(target.host, target.port),
        name,
        names: r.names,
        error: r.names !== null ? null : r.ok ? 'handshake not completed' : r.reason + (r.detail === null ? '' : ' (' + r.detail + ')'),
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 8, jobs.length)) }, worker))
  return out
}
