/**
 * PoolSpec builders for upstreams/ tests: `pool('shop', ['10.0.0.1:443', '10.0.0.2:443*3', '10.0.0.9:443!'])`
 * — `*n` is a weight, a trailing `!` marks a backup. Everything else takes a test-friendly default
 * (checks off, passive ejection off) unless overridden.
 */
import type { PoolSpec, ServerSpec } from '../../src/upstreams/index.ts'

export function server (text: string): ServerSpec {
  let t = text
  const backup = t.endsWith('!')
  if (backup) t = t.slice(0, -1)
  let weight = 1
  const star = t.indexOf('*')
  if (star >= 0) { weight = Number(t.slice(star + 1)); t = t.slice(0, star) }
  const colon = t.lastIndexOf(':')
  return { host: t.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(t.slice(colon + 1)), weight, backup }
}

export function pool (name: string, servers: string[], over: Partial<PoolSpec> = {}): PoolSpec {
  return {
    name,
    servers: servers.map(server),
    balance: 'roundrobin',
    health: { check: 'off', name: '', intervalMs: 1000, timeoutMs: 500, rise: 2, fall: 3 },
    passive: { failures: 0, ejectMs: 30_000 },
    connect: { timeoutMs: 2000, retries: 2 },
    proxyProtocol: 'off',
    ...over,
  }
}
