/**
 * source/fleet-delta: an etcd change compiled from the delta (the reload task keeping its last compile,
 * the main thread's DeltaLog over PrefixEntries, as source/etcd.ts drives them) must give exactly what a
 * fresh compileFleet + buildRouteState of the same input gives — config, tables (every typed array),
 * skipped, shadowed, route counter labels, and the route each name reaches (target, pool, server) — and
 * the same error when the full compile refuses the input.
 *
 * Tables: exact and `*.` names, mixed case (duplicates after case folding), names the file also routes
 * (shadowed), host:port targets with repeats and with a host written two ways (an implicit pool's server
 * keeps its first user's spelling), the file's and etcd's pools (one with check: tls, named by its first
 * exact route), long forms (ALPN, access lists, one the full parse refuses), invalid values, an implicit
 * default. Batches: 1–4 random puts and deletes; now and then a whole input instead of a delta.
 * Fixed seed (bounded loop); FUZZ=1 runs 20× more tables.
 */
import { describe, expect, it } from 'vitest'

import { ErrorCode, isProxyError } from '../../src/errors.ts'
import { MAX_ROUTE_SERIES } from '../../src/metrics/route-counters.ts'
import { buildRouteState } from '../../src/pool/index.ts'
import reloadTask, { type CompiledConfig } from '../../src/pool/reload-task.ts'
import { leadingPatterns, matchServerName } from '../../src/routes/index.ts'
import { PrefixEntries } from '../../src/source/etcd.ts'
import { DeltaLog } from '../../src/source/fleet-delta.ts'
import { compileFleet, type FleetInput } from '../../src/source/fleet.ts'
import { FUZZ, SEED, TIMEOUT_MS } from '../helpers/prop-runs.ts'
import { prng } from '../../bench/micro/names.ts'

const TABLES = FUZZ ? 800 : 40
const BATCHES = 12
const PREFIX = '/p/'

const LABELS = ['a', 'b', 'B', 'c1', 'www', 'x2', 'y', 'Z', 'api', 'shop', 'mail', 'm']
const DOMAINS = ['fleet.example', 'Fleet.example', 'shared.example', 'deep.fleet.example']
const GOOD_VALUES = ['10.0.0.1:443', '10.0.0.2:443', '10.0.0.3:8443', 'Origin.Example:443', 'origin.example:443', '[::1]:443', '10.0.0.7:443', 'web', 'api', ' web ']
/** one IPv6 origin written two ways: the implicit pool's server keeps its first user's spelling */
const IPV6_SPELLINGS = ['[FD00::A]:443', '[fd00::a]:443']
const LONG_VALUES = [
  '{"upstream": "web", "alpn": {"h2": "10.0.0.4:443"}}',
  '{"upstream": "api", "allow": ["10.0.0.0/8"]}',
  '{"upstream": "10.0.0.5:443"}',
]
const BAD_VALUES = ['10.0.0.1:0', '10.0.0.9', 'nopool', 'broken', '{"upstream": ', '10.0.0.1:0', '10.0.0.9', 'nopool', 'broken', '{"upstream": ',
  '{"upstream": "web", "weight": 3}']

describe('incremental etcd compile = full compile', () => {
  it('gives the same result as compileFleet for random tables and batches', async () => {
    const rnd = prng(SEED)
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!
    // half the tables calm (what a fleet mostly sees: valid short-form edits, few clashes), half hostile
    let calm = false
    const name = (): string => {
      if (!calm && rnd() < 0.03) return 'bad name!'
      const label = calm ? pick(LABELS) + String(Math.floor(rnd() * 20)) : pick(LABELS)
      return (rnd() < 0.3 ? '*.' : '') + label + '.' + pick(DOMAINS)
    }
    const value = (): string => {
      const r = rnd()
      if (calm) return pick(GOOD_VALUES.filter((v) => v !== 'Origin.Example:443'))
      return r < 0.65 ? pick(GOOD_VALUES) : r < 0.8 ? pick(IPV6_SPELLINGS) : r < 0.9 ? pick(LONG_VALUES) : pick(BAD_VALUES)
    }
    let incremental = 0
    let compiles = 0
    for (let t = 0; t < TABLES; t++) {
      calm = rnd() < 0.5
      const raw = {
        listen: '127.0.0.1:0',
        workers: 1,
        routes: { 'a.shared.example': '10.0.0.1:443', '*.shared.example': 'web' },
        upstreams: { web: { servers: ['127.0.0.1:2000'] } },
        ...(rnd() < 0.5 ? { default: '10.0.0.7:443' } : {}),
        source: { etcd: { endpoints: ['http://127.0.0.1:2379'], prefix: PREFIX } },
      }
      const api = rnd() < 0.3 ? '{"servers": ["10.1.0.1:443"], "health": {"check": "tls"}}' : '{"servers": ["10.1.0.1:443"]}'
      const upstreams: Array<[string, string]> = [['api', api], ['broken', '{"servers": []}']]
      const entries = new PrefixEntries()
      for (let i = 10 + Math.floor(rnd() * 50); i > 0; i--) entries.set(name(), value())
      const log = new DeltaLog()
      const input = (): FleetInput => ({ file: 'fleet.json', raw, prefix: PREFIX, routes: entries.columns(), upstreams })
      let base: string | null = null
      for (let b = 0; b <= BATCHES; b++) {
        if (b > 0) {
          for (let k = 1 + Math.floor(rnd() * 4); k > 0; k--) {
            const keys = [...entries.keys()]
            if (keys.length > 0 && rnd() < 0.3) {
              const n = pick(keys)
              entries.delete(n)
              log.delete(n)
            } else {
              // mostly keys the table has (updates), else new ones
              const n = keys.length > 0 && rnd() < 0.4 ? pick(keys) : name()
              const v = value()
              log.put(n, v, entries.has(n))
              entries.set(n, v)
            }
          }
        }
        const delta = base !== null && rnd() < 0.9 ? log.delta(base) : null
        const sent = delta === null ? input() : null
        log.restart()
        const got = await reloadTask(delta === null ? sent! : { delta })
        const want = fullCompile(input())
        expect(got, `table ${t} batch ${b}`).not.toHaveProperty('miss')
        same(got, want, `table ${t} batch ${b}`)
        compiles++
        if (got.ok && got.incremental === true) incremental++
        base = got.ok ? got.token! : null
      }
    }
    console.log(`${compiles} compiles, ${incremental} incremental`)
    // the property says something only if the incremental path ran often
    expect(incremental).toBeGreaterThan(compiles / 4)
  }, TIMEOUT_MS * 2)
})

type Full = { ok: true, r: ReturnType<typeof compileFleet>, state: ReturnType<typeof buildRouteState> } | { ok: false, code: ErrorCode }

function fullCompile (input: FleetInput): Full {
  try {
    const r = compileFleet(input)
    return { ok: true, r, state: buildRouteState(r.config) }
  } catch (err) {
    if (!isProxyError(err)) throw err
    return { ok: false, code: err.code }
  }
}

/** typed arrays as plain arrays, recursively: compared element for element */
function plain (v: unknown): unknown {
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>)
  if (Array.isArray(v)) return v.map(plain)
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
  return v
}

function same (got: CompiledConfig, want: Full, at: string): void {
  if (!want.ok) {
    expect(got.ok, at).toBe(false)
    expect(got.ok === false && 'error' in got ? got.error.code : undefined, at).toBe(want.code)
    return
  }
  if (!got.ok) throw new Error(`${at}: the task failed where the full compile did not: ${JSON.stringify(got)}`)
  expect(got.skipped, at).toEqual(want.r.skipped)
  expect(got.shadowed, at).toEqual(want.r.shadowed)
  expect(got.config, at).toEqual({ ...want.r.config, routes: [] })
  expect(got.state.routes.size, at).toBe(want.r.config.routes.length)
  expect(plain(got.state), at).toEqual(plain(want.state))
  expect(leadingPatterns(got.state.routes, MAX_ROUTE_SERIES), at).toEqual(leadingPatterns(want.state.routes, MAX_ROUTE_SERIES))
  // what a connection reaches: every route's name (a wildcard's as a name under it) and some that miss
  const names = want.r.config.routes.map((r) => r.pattern.replace(/^\*\./, 'x.'))
  names.push('a.fleet.example', 'z.deep.fleet.example', 'A.Shared.Example', 'nothing.example')
  for (const n of names) {
    expect(reach(got.state, n), `${at} ${n}`).toEqual(reach(want.state, n))
  }
}

function reach (state: ReturnType<typeof buildRouteState>, name: string): unknown {
  const bytes = Buffer.from(name)
  const target = matchServerName(state.routes, bytes, 0, bytes.length)
  const pool = target < 0 ? state.defaultUpstream : state.routeUpstream[target]!
  const spec = pool < 0 ? null : state.pools[pool]!
  return { target, pool: spec?.name ?? null, servers: spec?.servers.map((s) => `${s.host}:${s.port}`) ?? null }
}
