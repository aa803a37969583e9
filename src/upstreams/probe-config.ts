/**
 * `hellogate check --probe`: the coalescing warning for a whole config, before it serves. Each pool's
 * servers are sent a TLS handshake (no verification: only the certificate's names are read) for every
 * name routed to the pool — exact names as they are, a wildcard route `*.s` as `hellogate-probe.s` — and
 * every certificate name that also covers a name routed to another pool is a warning (coalesce.ts says
 * why browsers then send that name's requests to the wrong origin).
 *
 * Limits: bounded by coalesce.ts's probeCertificates (a few handshakes at a time, each with a deadline);
 * at most PROBE_NAMES_PER_POOL names per pool are sent, since one certificate usually serves them all.
 */
import type { ProxyConfig } from '../config/types.ts'
import { coalescingWarnings, probeCertificates, type CertificateProbe, type CoalescingWarning, type PoolCertificate, type RoutedName } from './coalesce.ts'

/** Names sent per pool: a pool's certificate rarely differs by name, and each name is a handshake per server. */
export const PROBE_NAMES_PER_POOL = 8
/** ms a probe handshake may take. */
export const PROBE_TIMEOUT_MS = 5_000
/** the label put in front of a wildcard route's suffix to probe it */
const WILDCARD_PROBE_LABEL = 'hellogate-probe'

export interface ConfigProbeReport {
  /** one per pool, server and name that was sent */
  probes: Array<CertificateProbe & { pool: string }>
  warnings: CoalescingWarning[]
}

/** Routed names by pool name (route upstreams and alpn entries), as coalesce.ts reads them. */
export function routedNames (config: ProxyConfig): RoutedName[] {
  const out: RoutedName[] = []
  // forward routes (upstream -1) have no pool
  for (const r of config.routes) if (r.upstream >= 0) out.push({ name: r.pattern, pool: config.upstreams[r.upstream]!.name })
  return out
}

export async function probeConfig (config: ProxyConfig): Promise<ConfigProbeReport> {
  const names = config.upstreams.map(() => new Set<string>())
  for (const r of config.routes) {
    const probeName = r.pattern.startsWith('*.') ? WILDCARD_PROBE_LABEL + r.pattern.slice(1) : r.pattern
    for (const pool of [r.upstream, ...r.alpn.map((a) => a.upstream)]) {
      if (pool < 0) continue // a forward route
      const set = names[pool]!
      if (set.size < PROBE_NAMES_PER_POOL) set.add(probeName)
    }
  }
  const probes: ConfigProbeReport['probes'] = []
  const certificates: PoolCertificate[] = []
  for (let i = 0; i < config.upstreams.length; i++) {
    const pool = config.upstreams[i]!
    const sent = [...names[i]!]
    if (sent.length === 0) continue
    const results = await probeCertificates(pool.servers.map((s) => ({ host: s.host, port: s.port, proxyProtocol: pool.proxyProtocol })), sent, { timeoutMs: PROBE_TIMEOUT_MS })
    for (const r of results) {
      probes.push({ ...r, pool: pool.name })
      if (r.names !== null) certificates.push({ pool: pool.name, server: r.server, names: r.names })
    }
  }
  const defaultPool = config.default === null ? null : config.upstreams[config.default]!.name
  return { probes, warnings: coalescingWarnings(routedNames(config), certificates, defaultPool) }
}
