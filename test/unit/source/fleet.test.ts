/**
 * source/fleet: etcd's entries merged under the file's config — same validation as the file, one bad
 * key left out with its reason, the file winning a clash — and the `source.etcd` config key.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { parseConfig } from '../../../src/config/index.ts'
import { ErrorCode, isProxyError } from '../../../src/errors.ts'
import { compileFleet, fleetEntries, parseRouteValue, RouteChecks, splitKey, type FleetInput } from '../../../src/source/fleet.ts'
import { readSnapshot, SNAPSHOT_SLICE_ENTRIES, writeSnapshot } from '../../../src/source/snapshot.ts'

const PREFIX = '/hg/prod/'
const FILE = { listen: '127.0.0.1:0', workers: 1, routes: { 'file.example.com': '127.0.0.1:1000' }, upstreams: { web: { servers: ['127.0.0.1:2000'] } } }

function input (routes: Array<[string, string]>, upstreams: Array<[string, string]> = [], raw: unknown = FILE): FleetInput {
  return { file: 'fleet.yaml', raw, prefix: PREFIX, routes: fleetEntries(routes), upstreams }
}

function pattern (c: { routes: ReadonlyArray<{ pattern: string, upstream: number }>, upstreams: ReadonlyArray<{ name: string }> }, p: string): string | undefined {
  const r = c.routes.find((x) => x.pattern === p)
  return r === undefined ? undefined : c.upstreams[r.upstream]!.name
}

describe('compileFleet', () => {
  it('merges host:port, pool names and the long form, with the file\'s syntax', () => {
    const { config, skipped } = compileFleet(input([
      ['a.example.com', '10.0.0.1:443'],
      ['b.example.com', 'web'],
      ['*.c.example.com', '{"upstream": "api", "alpn": {"h2": "web"}}'],
    ], [['api', '{"servers": ["10.0.0.9:443"], "balance": "roundrobin"}']]))
    expect(skipped).toEqual([])
    expect(pattern(config, 'a.example.com')).toBe('10.0.0.1:443')
    expect(pattern(config, 'b.example.com')).toBe('web')
    expect(pattern(config, '*.c.example.com')).toBe('api')
    expect(pattern(config, 'file.example.com')).toBe('127.0.0.1:1000')
    expect(config.routes.find((r) => r.pattern === '*.c.example.com')!.alpn.map((a) => a.protocol)).toEqual(['h2'])
  })

  it('leaves out each bad key with its etcd key and reason, and keeps the rest', () => {
    const { config, skipped } = compileFleet(input([
      ['bad pattern!', '10.0.0.1:443'],
      ['no-port.example.com', '10.0.0.1'],
      ['nopool.example.com', 'missing'],
      ['json.example.com', '{"upstream": '],
      ['longform.example.com', '{"upstream": "web", "weight": 3}'],
      ['A.example.com', '10.0.0.1:443'],
      ['a.example.com', '10.0.0.2:443'],
      ['good.example.com', '10.0.0.3:443'],
    ], [['broken', '{"servers": []}'], ['usesbroken', 'not json']]))
    expect(skipped.map((s) => s.key).sort()).toEqual([
      PREFIX + 'routes/a.example.com', PREFIX + 'routes/bad pattern!', PREFIX + 'routes/json.example.com',
      PREFIX + 'routes/longform.example.com', PREFIX + 'routes/no-port.example.com', PREFIX + 'routes/nopool.example.com',
      PREFIX + 'upstreams/broken', PREFIX + 'upstreams/usesbroken',
    ])
    const byKey = new Map(skipped.map((s) => [s.key, s]))
    expect(byKey.get(PREFIX + 'routes/nopool.example.com')!.reason).toContain("no pool named 'missing'")
    expect(byKey.get(PREFIX + 'routes/a.example.com')!.code).toBe(ErrorCode.ROUTE_DUPLICATE)
    expect(byKey.get(PREFIX + 'routes/longform.example.com')!.code).toBe(ErrorCode.CONFIG_UNKNOWN_KEY)
    expect(byKey.get(PREFIX + 'upstreams/broken')!.reason).toContain('servers')
    expect(config.routes.map((r) => r.pattern).sort()).toEqual(['a.example.com', 'file.example.com', 'good.example.com'])
    expect(pattern(config, 'a.example.com')).toBe('10.0.0.1:443')
  })

  it('lets the file win a clash (same canonical pattern, same pool name), as shadowed, not skipped', () => {
    const { config, skipped, shadowed } = compileFleet(input(
      [['FILE.example.com', '10.0.0.1:443']],
      [['web', '{"servers": ["10.9.9.9:1"]}']]))
    expect(skipped).toEqual([])
    expect(shadowed).toEqual([PREFIX + 'upstreams/web', PREFIX + 'routes/FILE.example.com'])
    expect(pattern(config, 'file.example.com')).toBe('127.0.0.1:1000')
    expect(config.upstreams.find((u) => u.name === 'web')!.servers[0]!.address).toBe('127.0.0.1:2000')
  })

  it('keeps the first key of a case or trailing-dot clash that passes its checks, in input order', () => {
    const entries: Array<[string, string]> = [
      ['b.example.com', '10.0.0.1:443'], // canonical first: the later aliases are the duplicates
      ['B.example.com.', '10.0.0.2:443'],
      ['B.EXAMPLE.COM', '10.0.0.3:443'],
      ['C.example.com', 'missing'], // an alias that fails its own check does not claim the pattern
      ['c.example.com', '10.0.0.4:443'],
      ['D.example.com', '10.0.0.5:443'], // alias first: the canonical key after it is the duplicate
      ['d.example.com', '10.0.0.6:443'],
      ['e.example.com', ' 10.0.0.7:443 '],
    ]
    const { config, skipped } = compileFleet(input(entries))
    expect(skipped.map((s) => [s.key.slice(PREFIX.length), s.code])).toEqual([
      ['routes/B.example.com.', ErrorCode.ROUTE_DUPLICATE],
      ['routes/B.EXAMPLE.COM', ErrorCode.ROUTE_DUPLICATE],
      ['routes/C.example.com', ErrorCode.CONFIG_INVALID],
      ['routes/d.example.com', ErrorCode.ROUTE_DUPLICATE],
    ])
    expect(skipped[0]!.reason).toContain(PREFIX + 'routes/b.example.com')
    expect(['b', 'c', 'd', 'e'].map((l) => pattern(config, `${l}.example.com`))).toEqual(['10.0.0.1:443', '10.0.0.4:443', '10.0.0.5:443', '10.0.0.7:443'])
  })

  it('checked a page at a time (as a read feeds them): the same result as one pass, a bad key on the second page left out once', () => {
    const fleet = input([
      ['a.example.com', 'web'],
      ['b.example.com', 'nopool'], // first page: no such pool
      ['c..example.com', '10.0.0.1:443'], // second page: not a pattern
      ['d.example.com', 'api'],
      ['f.example.com', '{"upstream": "api", "alpn": {"h2": "web"}}'],
      ['file.example.com', '10.0.0.2:443'], // the file's wins
    ], [['api', '{"servers": ["10.0.0.9:443"]}'], ['bad', '{"servers": []}']])
    const checks = new RouteChecks(fleet.raw, PREFIX, fleet.upstreams)
    const { names, texts } = fleet.routes
    checks.check({ names: names.slice(0, 2), texts: texts.slice(0, 2) }, 2)
    checks.check(fleet.routes, names.length)
    expect(checks.streamed).toBe(true)
    const paged = compileFleet(fleet, checks)
    const whole = compileFleet(fleet)
    // the page-by-page checks were used, not run again
    expect(paged.skipped).toBe(checks.skipped)
    expect(paged.skipped).toEqual(whole.skipped)
    expect(paged.shadowed).toEqual(whole.shadowed)
    expect(paged.skipped.map((s) => [s.key.slice(PREFIX.length), s.code])).toEqual([
      ['upstreams/bad', ErrorCode.CONFIG_INVALID],
      ['routes/b.example.com', ErrorCode.CONFIG_INVALID],
      ['routes/c..example.com', ErrorCode.ROUTE_INVALID],
    ])
    expect(paged.shadowed).toEqual([PREFIX + 'routes/file.example.com'])
    expect(paged.config.routes.map((r) => [r.pattern, paged.config.upstreams[r.upstream]!.name])).toEqual(whole.config.routes.map((r) => [r.pattern, whole.config.upstreams[r.upstream]!.name]))
    expect(pattern(paged.config, 'f.example.com')).toBe('api')
  })

  it('checked a page at a time with an alias on a later page: checked again knowing every alias, the same duplicate as one pass', () => {
    // 'a.example.com.' sorts after 'a.example.com' and names the same pattern: the first key wins
    const fleet = input([['a.example.com', '10.0.0.1:443'], ['a.example.com.', '10.0.0.2:443'], ['b.example.com', '10.0.0.3:443']])
    const checks = new RouteChecks(fleet.raw, PREFIX, fleet.upstreams)
    checks.check(fleet.routes, 1)
    checks.check(fleet.routes, 3)
    expect(checks.streamed).toBe(false)
    const { config, skipped } = compileFleet(fleet, checks)
    expect(skipped.map((s) => [s.key.slice(PREFIX.length), s.code])).toEqual([['routes/a.example.com.', ErrorCode.ROUTE_DUPLICATE]])
    expect(skipped[0]!.reason).toContain(PREFIX + 'routes/a.example.com ')
    expect(pattern(config, 'a.example.com')).toBe('10.0.0.1:443')
  })

  it('throws a fault of the file itself, as a reload of that file would', () => {
    let err: unknown
    try { compileFleet(input([['a.example.com', '10.0.0.1:443']], [], { ...FILE, workers: 'many' })) } catch (e) { err = e }
    expect(isProxyError(err) && err.key).toBe('workers')
  })

  it('accepts a file without routes when source.etcd is set (the table comes from etcd)', () => {
    const etcd = { endpoints: ['http://127.0.0.1:2379'], prefix: PREFIX }
    expect(parseConfig({ source: { etcd } }, 'x.yaml').routes).toEqual([])
    expect(() => parseConfig({}, 'x.yaml')).toThrow(/no routes/)
  })
})

describe('key layout', () => {
  it('splits routes/ and upstreams/ below the prefix, ignores everything else', () => {
    expect(splitKey(PREFIX, PREFIX + 'routes/a.example.com')).toEqual({ kind: 'route', name: 'a.example.com' })
    expect(splitKey(PREFIX, PREFIX + 'upstreams/web')).toEqual({ kind: 'upstream', name: 'web' })
    expect(splitKey(PREFIX, PREFIX + 'routes/')).toBeNull()
    expect(splitKey(PREFIX, PREFIX + 'other/x')).toBeNull()
    expect(splitKey(PREFIX, '/hg/production/routes/a')).toBeNull()
    expect(parseRouteValue(' web ')).toBe('web')
    expect(parseRouteValue('{"upstream":"web"}')).toEqual({ upstream: 'web' })
  })
})

describe('source.etcd config', () => {
  const ok = { endpoints: ['https://10.0.0.5:2379', 'https://10.0.0.6:2379'], prefix: '/hellogate/prod/', tls: { ca: 'ca.pem', cert: 'c.pem', key: 'k.pem' }, cache: '/var/lib/hellogate/routes.snapshot.json' }
  const load = (etcd: unknown): unknown => parseConfig({ routes: { 'a.com': '1.2.3.4:1' }, source: { etcd } }, 'x.yaml').source.etcd

  it('takes the issue\'s example', () => {
    expect(load(ok)).toEqual({ endpoints: ok.endpoints, prefix: ok.prefix, tls: ok.tls, auth: null, cache: ok.cache })
    expect(load({ endpoints: ['http://127.0.0.1:2379'], prefix: '/', username: 'u', password: 'p' })).toMatchObject({ auth: { username: 'u', password: 'p' }, tls: null, cache: null })
  })

  it.each([
    [{ ...ok, prefix: '/hellogate/prod' }, 'source.etcd.prefix', 'starts and ends with /'],
    [{ ...ok, endpoints: ['10.0.0.5:2379'] }, 'source.etcd.endpoints[0]', 'etcd URL'],
    [{ ...ok, endpoints: ['https://a:1', 'http://b:2'] }, 'source.etcd.endpoints[1]', 'same scheme'],
    [{ ...ok, endpoints: ['http://a:1'] }, 'source.etcd.tls', 'https:// endpoints only'],
    [{ ...ok, tls: { ca: 'ca.pem', cert: 'c.pem' } }, 'source.etcd.tls', 'cert and key together'],
    [{ ...ok, username: 'u' }, 'source.etcd.username', 'username and password together'],
    [{ ...ok, extra: 1 }, 'source.etcd.extra', 'unknown key'],
  ])('refuses %j at %s', (etcd, key, text) => {
    let err: unknown
    try { load(etcd) } catch (e) { err = e }
    expect(isProxyError(err) && err.key).toBe(key)
    expect((err as Error).message).toContain(text)
  })
})

describe('snapshot', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hellogate-snap-'))

  it('writes a table of several slices as the same JSON a reader takes back, escapes included', async () => {
    const file = join(dir, 'big.json')
    const n = SNAPSHOT_SLICE_ENTRIES * 2 + 7
    const names: string[] = []
    const texts: string[] = []
    for (let i = 0; i < n; i++) {
      names.push(i % 1000 === 0 ? `q"uote\\${i}\u00e9.example` : `h${i}.example`)
      texts.push(i % 777 === 0 ? '{"servers":["10.0.0.1:443"]}' : `10.0.${i >> 8 & 255}.${i & 255}:443`)
    }
    await writeSnapshot(file, { prefix: PREFIX, revision: 9, routes: { names, texts }, upstreams: [['p', '{"servers":["10.9.9.9:443"]}']] })
    const back = await readSnapshot(file, PREFIX)
    expect(back?.revision).toBe(9)
    expect(back?.upstreams).toEqual([['p', '{"servers":["10.9.9.9:443"]}']])
    expect(back?.routes).toEqual(names.map((name, i) => [name, texts[i]]))
  })

  it('round-trips, and refuses a torn, foreign or missing-field file with HG_ERR_SOURCE_SNAPSHOT', async () => {
    const file = join(dir, 's.json')
    expect(await readSnapshot(file, PREFIX)).toBeNull()
    await writeSnapshot(file, { prefix: PREFIX, revision: 7, routes: [['a.com', '1.2.3.4:1']], upstreams: [] })
    expect(await readSnapshot(file, PREFIX)).toMatchObject({ revision: 7, routes: [['a.com', '1.2.3.4:1']] })
    for (const [text, why] of [['{"version":1,"prefix":"/hg/prod/","rev', 'not JSON'], [JSON.stringify({ version: 1, prefix: '/x/', revision: 1, routes: [], upstreams: [] }), 'prefix'],
      [JSON.stringify({ version: 1, prefix: PREFIX, revision: 1, routes: [['a']], upstreams: [] }), 'pairs']] as const) {
      writeFileSync(file, text)
      await expect(readSnapshot(file, PREFIX)).rejects.toMatchObject({ code: ErrorCode.SOURCE_SNAPSHOT, message: expect.stringContaining(why) })
    }
  })
})
