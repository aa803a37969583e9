/**
 * pool/route-state.ts builds the workers' per-route arrays (upstream, ALPN lists) from the columns
 * parseConfig kept (config/ takeRouteColumns) instead of walking config.routes. For random tables of short-
 * and long-form routes (pools, addresses, ALPN maps of 0–3 protocols, duplicates after case folding
 * dropped), both ways must give the same arrays, element for element.
 * Fixed seed; FUZZ=1 multiplies the runs.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

import { parseConfig } from '../../src/config/index.ts'
import { buildRouteState, routeStateFromTable } from '../../src/pool/index.ts'
import { normalizePattern } from '../../src/routes/index.ts'
import { runs, TIMEOUT_MS } from '../helpers/prop-runs.ts'

const TARGETS = ['web', 'api', '10.0.0.1:443', '10.0.0.2:8443', '[::1]:443']
const PROTOCOLS = ['h2', 'http/1.1', 'acme-tls/1']

const valueArb = fc.oneof(
  fc.constantFrom(...TARGETS),
  fc.record({
    upstream: fc.constantFrom(...TARGETS),
    alpn: fc.subarray(PROTOCOLS).chain((ps) => fc.tuple(...ps.map(() => fc.constantFrom(...TARGETS))).map((ts) => Object.fromEntries(ps.map((p, i) => [p, ts[i]!])))),
  }),
)
const patternArb = fc.tuple(fc.boolean(), fc.array(fc.constantFrom('a', 'b', 'A', 'x1', 'y-z'), { minLength: 1, maxLength: 3 }))
  .map(([wild, labels]) => (wild ? '*.' : '') + labels.join('.') + '.example.com')

/** a routes map with distinct canonical patterns (parseConfig refuses duplicates after case folding) */
const routesArb = fc.array(fc.tuple(patternArb, valueArb), { maxLength: 60 }).map((entries) => {
  const seen = new Set<string>()
  const routes: Record<string, unknown> = {}
  for (const [p, v] of entries) {
    const c = normalizePattern(p)
    if (c === null || seen.has(c)) continue
    seen.add(c)
    routes[p] = v
  }
  return routes
})

const KEYS = ['routeUpstream', 'alpnFirst', 'alpnCount', 'alpnProtoStart', 'alpnProto', 'alpnUpstream'] as const

describe('route arrays from parseConfig\'s columns', () => {
  it('equal the ones read from config.routes, for random tables', { timeout: TIMEOUT_MS }, () => {
    fc.assert(fc.property(routesArb, (routes) => {
      const config = parseConfig({
        listen: '127.0.0.1:0',
        default: 'web',
        upstreams: { web: { servers: ['10.9.0.1:443'] }, api: { servers: ['10.9.0.2:443'] } },
        routes,
      }, '<prop>')
      const fromColumns = buildRouteState(config)
      const fromRoutes = routeStateFromTable(config, { ...fromColumns.routes, patterns: config.routes.map((r) => r.pattern) })
      for (const k of KEYS) expect([...fromColumns[k]], k).toEqual([...fromRoutes[k]])
    }), runs(300))
  })
})
