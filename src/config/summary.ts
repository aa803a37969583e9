/**
 * config/summary — the pools part of `hellogate check`: every declared pool with its settings, servers
 * and the routes that use it, then the implicit pools (a route's bare host:port) with theirs.
 *
 * Contract: `describeUpstreams(config)` returns the lines to print (indented under `check`'s summary).
 * Lists are cut where a big table would drown the answer: at most `maxImplicit` implicit pools and
 * `maxUses` users per pool are named, each cut says how many it left out. One pass over the routes.
 */
import type { ProxyConfig, UpstreamConfig } from './types.ts'
import { formatDuration } from './values.ts'

export interface SummaryLimits {
  /** implicit pools listed by name (a 1M-route table may have 1M of them) */
  readonly maxImplicit: number
  /** users (routes, alpn entries, default) named per pool */
  readonly maxUses: number
}

const DEFAULT_LIMITS: SummaryLimits = { maxImplicit: 10, maxUses: 8 }

function settings (p: UpstreamConfig): string {
  const h = p.health
  const health = h.check === 'off'
    ? 'health off'
    : `health ${h.check}${h.check === 'tls' ? ` ${h.name ?? '?'}` : ''} every ${formatDuration(h.intervalMs)} ` +
      `(timeout ${formatDuration(h.timeoutMs)}, rise ${h.rise}, fall ${h.fall})`
  const passive = p.passive.failures === 0
    ? 'passive off'
    : `passive ${p.passive.failures} failures, eject ${formatDuration(p.passive.ejectMs)}`
  const retries = `${p.connect.retries} ${p.connect.retries === 1 ? 'retry' : 'retries'}`
  return `${p.balance}; ${health}; ${passive}; connect ${formatDuration(p.connect.timeoutMs)}, ${retries}; ` +
    `proxyProtocol ${p.proxyProtocol}`
}

/** Lines describing the pools of `config` (see the module header). */
export function describeUpstreams (config: ProxyConfig, limits: SummaryLimits = DEFAULT_LIMITS): string[] {
  const n = config.upstreams.length
  const useCount = new Int32Array(n)
  // names are kept only for the pools that will be listed (declared ones and the first implicit ones):
  // listed[id] is the index of the pool's list in `names`, or -1
  const listed = new Int32Array(n).fill(-1)
  const names: string[][] = []
  let implicitListed = 0
  config.upstreams.forEach((p, id) => {
    if (!p.implicit || implicitListed++ < limits.maxImplicit) listed[id] = names.push([]) - 1
  })
  const use = (pool: number, what: string): void => {
    const slot = listed[pool]!
    if (useCount[pool]!++ < limits.maxUses && slot >= 0) names[slot]!.push(what)
  }
  for (const r of config.routes) {
    if (r.upstream < 0) continue // a forward route: no pool
    use(r.upstream, r.pattern)
    for (const a of r.alpn) use(a.upstream, `${r.pattern} (alpn ${a.protocol})`)
  }
  if (config.default !== null) use(config.default, 'default')

  const usedBy = (id: number): string => {
    const list = names[listed[id]!] ?? []
    const more = useCount[id]! - list.length
    if (useCount[id] === 0) return '      used by nothing'
    return `      used by ${list.join(', ')}${more > 0 ? ` and ${more} more` : ''}`
  }

  const declared = config.upstreams.filter((p) => !p.implicit).length
  const lines = [`${declared} declared, ${n - declared} implicit (a route's or default's host:port)`]
  let implicitShown = 0
  config.upstreams.forEach((p, id) => {
    if (p.implicit) {
      if (implicitShown++ >= limits.maxImplicit) return
      lines.push(`    ${p.name} (implicit)`, usedBy(id))
      return
    }
    lines.push(`    ${p.name}: ${settings(p)}`)
    for (const s of p.servers) {
      lines.push(`      server ${s.address}${s.weight !== 1 ? ` weight ${s.weight}` : ''}${s.backup ? ' backup' : ''}`)
    }
    lines.push(usedBy(id))
  })
  const hidden = n - declared - Math.min(implicitShown, limits.maxImplicit)
  if (hidden > 0) lines.push(`    … and ${hidden} more implicit pools`)
  return lines
}
