/**
 * Pools in the config (src/config/pools.ts, validate.ts): `upstreams:`, routes that name a pool or an
 * address, the long form `{ upstream, alpn }`, `default:` as a pool, the normalised model (pool ids,
 * implicit one-server pools) and one error per fault the pools interface can have.
 */
import { describe, expect, it } from 'vitest'

import { DEFAULTS, describeUpstreams, formatKeyPath, parseConfig, parseConfigText } from '../../../src/config/index.ts'
import type { ProxyConfig } from '../../../src/config/index.ts'
import { ErrorCode, type ProxyError } from '../../../src/errors.ts'
import { configErrorOf } from '../../helpers/config.ts'
import { buildRouteState } from '../../../src/pool/index.ts'

const FILE = 'pools.yaml'
const SHOP = { servers: ['10.0.1.1:443', { address: '10.0.1.2:443', weight: 3 }, { address: '10.0.9.9:443', backup: true }] }

function parse (raw: Record<string, unknown>): ProxyConfig {
  return parseConfig(raw, FILE)
}

function errorOf (raw: Record<string, unknown>): ProxyError {
  return configErrorOf(raw, FILE)
}

function expectInvalid (raw: Record<string, unknown>, key: string, ...fragments: string[]): void {
  const err = errorOf(raw)
  expect([err.code, err.key]).toEqual([ErrorCode.CONFIG_INVALID, key])
  expect(err.message.startsWith(`${FILE}: ${key}: `)).toBe(true)
  for (const f of fragments) expect(err.message).toContain(f)
}

function isDeepFrozen (v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return true
  return Object.isFrozen(v) && Object.values(v).every(isDeepFrozen)
}

describe('the short form keeps working', () => {
  it('a route host:port is an implicit one-server pool, one per distinct address', () => {
    const c = parse({
      routes: { 'a.example.com': '10.0.0.1:443', 'b.example.com': '10.0.0.2:443', 'c.example.com': '10.0.0.1:443', 'd.example.com': 'Origin.Internal:443', 'e.example.com': 'origin.internal:443' },
      default: '10.0.0.2:443',
    })
    expect(c.upstreams.map((p) => p.name)).toEqual(['10.0.0.1:443', '10.0.0.2:443', 'origin.internal:443'])
    expect(c.routes.map((r) => r.upstream)).toEqual([0, 1, 0, 2, 2])
    expect(c.default).toBe(1)
    expect(c.routes.every((r) => r.alpn.length === 0)).toBe(true)
    expect(c.upstreams[0]).toEqual({
      name: '10.0.0.1:443',
      implicit: true,
      servers: [{ host: '10.0.0.1', port: 443, address: '10.0.0.1:443', weight: 1, backup: false }],
      balance: DEFAULTS.upstream.balance,
      // a single origin, as before pools: no checks, no ejection, no retries, the global connect timeout
      health: expect.objectContaining({ check: 'off', name: null }) as unknown,
      passive: expect.objectContaining({ failures: 0 }) as unknown,
      connect: { timeoutMs: DEFAULTS.timeouts.connectMs, retries: 0 },
      proxyProtocol: 'off',
    })
  })

  it('routes as before: each route is an implicit one-server pool of the address it names (route tables)', () => {
    const c = parse({ routes: { 'a.example.com': '10.0.0.1:443', '*.b.example': '[2001:db8::1]:8443' }, default: '10.0.0.9:443' })
    const s = buildRouteState(c)
    const servers = [...s.routeUpstream].map((p) => s.pools[p]!.servers.map((x) => [x.host, x.port]))
    expect(servers).toEqual([[['10.0.0.1', 443]], [['2001:db8::1', 8443]]])
    expect(s.pools[s.defaultUpstream]!.servers.map((x) => [x.host, x.port])).toEqual([['10.0.0.9', 443]])
  })

  it('a route to a declared pool carries the whole pool, backups marked, alpn entries in config order (route tables)', () => {
    const c = parse({
      upstreams: { shop: { servers: [{ address: '10.0.9.9:443', backup: true }, '10.0.1.1:443', '10.0.1.2:443'] } },
      routes: { 'a.example': { upstream: 'shop', alpn: { 'acme-tls/1': '127.0.0.1:8444', h2: 'shop' } } },
      default: 'shop',
    })
    const s = buildRouteState(c)
    const shop = s.routeUpstream[0]!
    expect(s.pools[shop]!.servers.map((x) => [x.host, x.backup])).toEqual([['10.0.9.9', true], ['10.0.1.1', false], ['10.0.1.2', false]])
    expect(s.defaultUpstream).toBe(shop)
    expect([s.alpnFirst[0], s.alpnCount[0]]).toEqual([0, 2])
    const proto = (e: number): string => Buffer.from(s.alpnProto.subarray(s.alpnProtoStart[e]!, s.alpnProtoStart[e + 1]!)).toString()
    expect([proto(0), proto(1)]).toEqual(['acme-tls/1', 'h2'])
    expect(s.pools[s.alpnUpstream[0]!]!.name).toBe('127.0.0.1:8444')
    expect(s.alpnUpstream[1]).toBe(shop)
  })

  it('IPv6 addresses differing only in case are one implicit pool', () => {
    const c = parse({ routes: { 'a.example': '[2001:DB8::1]:443', 'b.example': '[2001:db8::1]:443' } })
    expect(c.upstreams).toHaveLength(1)
  })
})

describe('upstreams', () => {
  it('builds a declared pool with its servers, settings and defaults; routes, alpn and default use it by id', () => {
    const c = parse({
      upstreams: {
        shop: {
          ...SHOP,
          balance: 'hash',
          health: { check: 'tls', name: 'Health.Shop.Example', interval: '5s', timeout: '2s', rise: 2, fall: 3 },
          passive: { failures: 3, eject: '30s' },
          connect: { timeout: '2s', retries: 2 },
          proxyProtocol: 'v2',
        },
        'shop-h2': { servers: ['10.0.2.1:443'] },
      },
      routes: {
        'a.example.com': '10.0.0.1:443',
        '*.shop.example': 'shop',
        'b.example.com': { upstream: 'shop', alpn: { 'acme-tls/1': '127.0.0.1:8444', h2: 'shop-h2' } },
      },
      default: 'shop',
    })
    expect(c.upstreams.map((p) => [p.name, p.implicit])).toEqual([['shop', false], ['shop-h2', false], ['10.0.0.1:443', true], ['127.0.0.1:8444', true]])
    const shop = c.upstreams[0]!
    expect(shop.servers).toEqual([
      { host: '10.0.1.1', port: 443, address: '10.0.1.1:443', weight: 1, backup: false },
      { host: '10.0.1.2', port: 443, address: '10.0.1.2:443', weight: 3, backup: false },
      { host: '10.0.9.9', port: 443, address: '10.0.9.9:443', weight: 1, backup: true },
    ])
    expect(shop.balance).toBe('hash')
    expect(shop.health).toEqual({ check: 'tls', name: 'health.shop.example', intervalMs: 5_000, timeoutMs: 2_000, rise: 2, fall: 3 })
    expect(shop.passive).toEqual({ failures: 3, ejectMs: 30_000 })
    expect(shop.connect).toEqual({ timeoutMs: 2_000, retries: 2 })
    expect(shop.proxyProtocol).toBe('v2')
    expect(c.routes.map((r) => r.upstream)).toEqual([2, 0, 0])
    expect(c.routes[2]!.alpn).toEqual([{ protocol: 'acme-tls/1', upstream: 3 }, { protocol: 'h2', upstream: 1 }])
    expect(c.default).toBe(0)
    // shop-h2: every default, connect.timeout from timeouts.connect
    const d = DEFAULTS.upstream
    expect(c.upstreams[1]).toMatchObject({
      balance: d.balance,
      health: { check: d.health.check, name: 'b.example.com', intervalMs: d.health.intervalMs, timeoutMs: d.health.timeoutMs, rise: d.health.rise, fall: d.health.fall },
      passive: { failures: d.passive.failures, ejectMs: d.passive.ejectMs },
      connect: { timeoutMs: DEFAULTS.timeouts.connectMs, retries: d.connect.retries },
      proxyProtocol: d.proxyProtocol,
    })
    expect(isDeepFrozen(c)).toBe(true)
  })

  it('keeps the alpn map in config order', () => {
    const c = parse({ routes: { 'a.example': { upstream: '10.0.0.1:443', alpn: { 'http/1.1': '10.0.0.3:443', h2: '10.0.0.2:443', 'acme-tls/1': '10.0.0.4:443' } } } })
    expect(c.routes[0]!.alpn.map((a) => a.protocol)).toEqual(['http/1.1', 'h2', 'acme-tls/1'])
    const y = parseConfigText('routes:\n  a.example:\n    upstream: 10.0.0.1:443\n    alpn:\n      x-last: 10.0.0.2:443\n      a-first: 10.0.0.3:443\n', FILE)
    expect(y.routes[0]!.alpn.map((a) => a.protocol)).toEqual(['x-last', 'a-first'])
  })

  it('health.name defaults to the first exact route that uses the pool (wildcards skipped, alpn uses count)', () => {
    const c = parse({
      upstreams: { a: { servers: ['10.0.0.1:443'], health: { check: 'tls' } }, b: { servers: ['10.0.0.2:443'], health: { check: 'tls' } } },
      routes: { '*.x.example': 'a', 'Www.X.Example': { upstream: '10.0.0.9:443', alpn: { h2: 'a' } }, 'y.example': 'a', 'z.example': 'b' },
    })
    expect(c.upstreams[0]!.health.name).toBe('www.x.example')
    expect(c.upstreams[1]!.health.name).toBe('z.example')
  })

  it('upstreams and routes may be empty when a default pool is set', () => {
    const c = parse({ upstreams: { shop: SHOP }, routes: null, default: 'shop' })
    expect([c.routes.length, c.default]).toEqual([0, 0])
    expect(parse({ upstreams: null, default: '10.0.0.1:443' }).upstreams).toHaveLength(1)
  })
})

describe('faults', () => {
  it.each([
    [{ routes: { 'a.example': 'shopp' } }, 'routes."a.example"'],
    [{ routes: { 'a.example': { upstream: 'shopp' } } }, 'routes."a.example".upstream'],
    [{ routes: { 'a.example': { upstream: 'shop', alpn: { h2: 'shopp' } } } }, 'routes."a.example".alpn.h2'],
    [{ routes: { 'a.example': 'shop' }, default: 'shopp' }, 'default'],
  ])('a pool name that does not exist: %j', (extra, key) => {
    expectInvalid({ upstreams: { shop: SHOP }, ...extra }, key, "no pool in upstreams is named 'shopp' (did you mean 'shop'?)")
  })

  it('a pool name with no pools declared says so', () => {
    expectInvalid({ routes: { 'a.example': 'shop' } }, 'routes."a.example"', 'upstreams declares no pools', 'expected host:port')
  })

  it.each([0, -1, 1.5, 257, '3'])('weight %j', (weight) => {
    expectInvalid({ upstreams: { shop: { servers: [{ address: '10.0.0.1:443', weight }] } }, routes: { 'a.example': 'shop' } },
      'upstreams.shop.servers[0].weight', 'expected an integer weight between 1 and 256')
  })

  it.each([
    [['10.0.0.1:443', '10.0.0.1:443'], 'servers[1]', 'duplicate of servers[0], 10.0.0.1:443'],
    [['a.example:443', { address: 'A.Example:443', backup: true }], 'servers[1]', 'duplicate of servers[0], a.example:443'],
    [['[2001:db8::1]:443', '[2001:DB8::1]:443'], 'servers[1]', 'duplicate of servers[0]'],
  ])('duplicate server %j', (servers, key, fragment) => {
    expectInvalid({ upstreams: { shop: { servers } }, routes: { 'a.example': 'shop' } }, `upstreams.shop.${key}`, fragment)
  })

  it.each([
    ['', 'empty'],
    ['x'.repeat(256), 'over 255 bytes'],
    ['h 2', 'a space'],
    ['h2\u0000', 'a control character'],
    ['h\u00e9', 'non-ASCII'],
    ['123', 'a plain number (would be reordered)'],
  ])('invalid alpn key %j (%s)', (protocol) => {
    const err = errorOf({ routes: { 'a.example': { upstream: '10.0.0.1:443', alpn: { [protocol]: '10.0.0.2:443' } } } })
    expect([err.code, err.key]).toEqual([ErrorCode.CONFIG_INVALID, formatKeyPath(['routes', 'a.example', 'alpn', protocol])])
    expect(err.message).toContain('expected an ALPN protocol id (RFC 7301): 1-255 visible ASCII characters')
  })

  it('accepts an alpn key of 255 bytes and the registered ids', () => {
    const alpn = { ['x'.repeat(255)]: '10.0.0.2:443', 'http/1.1': '10.0.0.2:443', h2: '10.0.0.2:443', 'acme-tls/1': '10.0.0.3:443', h2c: '10.0.0.2:443' }
    expect(parse({ routes: { 'a.example': { upstream: '10.0.0.1:443', alpn } } }).routes[0]!.alpn).toHaveLength(5)
  })

  it('unknown balance', () => {
    expectInvalid({ upstreams: { shop: { ...SHOP, balance: 'random' } }, routes: { 'a.example': 'shop' } },
      'upstreams.shop.balance', 'expected one of roundrobin, leastconn, hash', "got 'random'")
  })

  it.each([
    [{ shop: { ...SHOP, healthcheck: {} } }, 'upstreams.shop.healthcheck', "did you mean 'health'"],
    [{ shop: { ...SHOP, health: { intervall: '5s' } } }, 'upstreams.shop.health.intervall', "did you mean 'interval'"],
    [{ shop: { server: ['10.0.0.1:443'] } }, 'upstreams.shop.server', "did you mean 'servers'"],
  ])('unknown keys in a pool: %j', (upstreams, key, fragment) => {
    const err = errorOf({ upstreams, routes: { 'a.example': 'shop' } })
    expect([err.code, err.key]).toEqual([ErrorCode.CONFIG_UNKNOWN_KEY, key])
    expect(err.message).toContain(fragment)
  })

  it('unknown key in the long form', () => {
    const err = errorOf({ routes: { 'a.example': { upstrem: '10.0.0.1:443' } } })
    expect(err.code).toBe(ErrorCode.CONFIG_UNKNOWN_KEY)
    expect(err.key).toBe('routes."a.example".upstrem')
    expect(err.message).toContain("did you mean 'upstream'")
  })

  it.each([
    [{ shop: {} }, 'upstreams.shop', "missing key 'servers'"],
    [{ shop: { servers: [] } }, 'upstreams.shop.servers', 'expected a list of 1 to 1024 servers'],
    [{ shop: { servers: [{ weight: 2 }] } }, 'upstreams.shop.servers[0]', "missing key 'address'"],
    [{ shop: { servers: ['10.0.0.1'] } }, 'upstreams.shop.servers[0]', 'missing :port'],
    [{ shop: { servers: [{ address: '10.0.0.1:443', backup: true }] } }, 'upstreams.shop.servers', 'at least one server without backup: true'],
    [{ shop: { ...SHOP, health: { check: 'http' } } }, 'upstreams.shop.health.check', 'expected one of tcp, tls, off'],
    [{ shop: { ...SHOP, health: { interval: '2s', timeout: '3s' } } }, 'upstreams.shop.health.timeout', 'at most health.interval'],
    [{ shop: { ...SHOP, health: { interval: '100ms' } } }, 'upstreams.shop.health.interval', 'between 1s and'],
    [{ shop: { ...SHOP, health: { name: '*.shop.example' } } }, 'upstreams.shop.health.name', 'expected a host name'],
    [{ shop: { ...SHOP, health: { rise: 0 } } }, 'upstreams.shop.health.rise', 'expected an integer number of checks between 1 and 100'],
    [{ shop: { ...SHOP, passive: { failures: -1 } } }, 'upstreams.shop.passive.failures', 'between 0 and 100'],
    [{ shop: { ...SHOP, connect: { retries: 11 } } }, 'upstreams.shop.connect.retries', 'between 0 and 10'],
    [{ shop: { ...SHOP, proxyProtocol: 'v3' } }, 'upstreams.shop.proxyProtocol', 'expected one of off, v1, v2'],
    [{ 'shop:1': SHOP }, 'upstreams."shop:1"', 'expected a pool name'],
  ])('%j', (upstreams, key, fragment) => {
    expectInvalid({ upstreams, routes: { 'a.example': '10.0.0.1:443' } }, key, fragment)
  })

  it('reject is not a pool name', () => {
    expectInvalid({ upstreams: { reject: SHOP }, routes: { 'a.example': '10.0.0.1:443' } }, 'upstreams.reject', "'reject' is what default: says")
  })

  it('check: tls with no name to send', () => {
    expectInvalid({ upstreams: { shop: { ...SHOP, health: { check: 'tls' } } }, routes: { '*.shop.example': 'shop' } },
      'upstreams.shop.health', 'check: tls sends a ClientHello with SNI health.name', 'set health.name')
  })

  it('a route value that is neither a target nor the long form', () => {
    expectInvalid({ routes: { 'a.example': true } }, 'routes."a.example"', 'or { upstream, alpn }', 'got true')
  })

  it('errors inside upstreams carry file:line:col', () => {
    const text = 'upstreams:\n  shop:\n    servers:\n      - 10.0.0.1:443\n      - { address: 10.0.0.2:443, weight: 0 }\nroutes:\n  a.example: shop\n'
    expect(() => parseConfigText(text, 'p.yaml')).toThrow(/^p\.yaml:5:42: upstreams\.shop\.servers\[1\]\.weight: expected an integer weight/)
  })
})

describe('describeUpstreams (hellogate check)', () => {
  it('lists declared pools with settings, servers and users, then implicit pools, cutting long lists', () => {
    const routes: Record<string, string> = { 'a.example': 'shop' }
    for (let i = 0; i < 15; i++) routes[`r${i}.example`] = `10.0.0.${i}:443`
    for (let i = 0; i < 12; i++) routes[`s${i}.example`] = 'shop'
    const lines = describeUpstreams(parse({ upstreams: { shop: SHOP, idle: { servers: ['10.0.3.1:443'] } }, routes, default: 'shop' }),
      { maxImplicit: 3, maxUses: 4 })
    expect(lines[0]).toBe("2 declared, 15 implicit (a route's or default's host:port)")
    expect(lines).toContain('      server 10.0.1.2:443 weight 3')
    expect(lines).toContain('      server 10.0.9.9:443 backup')
    expect(lines).toContain('      used by a.example, s0.example, s1.example, s2.example and 10 more')
    expect(lines).toContain('      used by nothing')
    expect(lines).toContain('    10.0.0.2:443 (implicit)')
    expect(lines).not.toContain('    10.0.0.3:443 (implicit)')
    expect(lines.at(-1)).toBe('    … and 12 more implicit pools')
  })
})

describe('the number of distinct origins', () => {
  it('is capped where the shared server table stops (LIMITS.poolsMax = MAX_POOLS): one more is a config error at its route', async () => {
    const { LIMITS } = await import('../../../src/config/defaults.ts')
    const { MAX_POOLS } = await import('../../../src/upstreams/state.ts')
    expect(LIMITS.poolsMax).toBe(MAX_POOLS)
    const routes: Record<string, string> = {}
    // 10.a.b.c:443, each its own implicit one-server pool
    for (let i = 0; i <= LIMITS.poolsMax; i++) routes[`r${i}.example`] = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:443`
    const last = `r${LIMITS.poolsMax}.example`
    expectInvalid({ listen: ':443', routes }, `routes."${last}"`, 'distinct origins')
    delete routes[last]
    expect(parse({ listen: ':443', routes }).upstreams.length).toBe(LIMITS.poolsMax)
  })
})
