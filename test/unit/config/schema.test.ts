/**
 * parseConfig: every key valid and invalid, unknown keys at each level, defaults, deep freeze, and the
 * shape of errors (file + dotted key + what was expected). Route-pattern cases go through
 * routes/normalizePattern (the real implementation).
 */
import { availableParallelism } from 'node:os'
import { describe, expect, it } from 'vitest'

import { DEFAULTS, LIMITS, formatDuration, formatKeyPath, parseConfig, parseDuration, parseHostPort } from '../../../src/config/index.ts'
import type { ProxyConfig } from '../../../src/config/index.ts'
import { ErrorCode, ErrorSource, ProxyError } from '../../../src/errors.ts'
import { configErrorOf } from '../../helpers/config.ts'

const FILE = 'test.yaml'
const ROUTES = { 'a.example.com': '10.0.0.1:443' }

function parse (extra: Record<string, unknown>): ProxyConfig {
  return parseConfig({ routes: ROUTES, ...extra }, FILE)
}

/** The ProxyError thrown by parseConfig, or fails the test. */
function errorOf (raw: unknown): ProxyError {
  return configErrorOf(raw, FILE)
}

function expectInvalid (extra: Record<string, unknown>, key: string, ...fragments: string[]): ProxyError {
  const err = errorOf({ routes: ROUTES, ...extra })
  expect(err.code).toBe(ErrorCode.CONFIG_INVALID)
  expect(err.key).toBe(key)
  expect(err.file).toBe(FILE)
  expect(err.source).toBe(ErrorSource.Config)
  expect(err.message.startsWith(`${FILE}: ${key}: `)).toBe(true)
  for (const f of fragments) expect(err.message).toContain(f)
  return err
}

/** host and port of the one server of route i's pool (a route written as host:port is a one-server pool) */
function originOf (c: ProxyConfig, i: number): { host: string, port: number } {
  const s = c.upstreams[c.routes[i]!.upstream]!.servers[0]!
  return { host: s.host, port: s.port }
}

function isDeepFrozen (v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return true
  if (!Object.isFrozen(v)) return false
  return Object.values(v).every(isDeepFrozen)
}

describe('defaults', () => {
  it('fills every optional key from DEFAULTS', () => {
    const c = parse({})
    expect(c.file).toBe(FILE)
    expect(c.listen).toEqual([{ host: '127.0.0.1', port: 8443 }])
    expect(c.workers).toBe(Math.min(availableParallelism(), LIMITS.workersMax))
    expect(c.accept).toBe('reuseport')
    expect(c.balance).toBe('leastconn')
    expect(c.default).toBeNull()
    expect(c.timeouts).toEqual({ helloMs: 5_000, connectMs: 5_000, idleMs: 300_000, shutdownMs: 30_000 })
    expect(c.limits).toEqual({ maxHelloBytes: 16_384, maxConnections: 100_000, maxPendingHellos: 10_000, perClient: null })
    expect(c.log).toEqual({ level: 'info', access: true, ja4: true, file: null })
    expect(c.access).toBeNull()
    expect(c.routes).toEqual([{ pattern: 'a.example.com', source: 'a.example.com', upstream: 0, alpn: [] }])
    expect(originOf(c, 0)).toEqual({ host: '10.0.0.1', port: 443 })
  })

  it('keeps DEFAULTS.timeouts and DEFAULTS.limits in the documented units', () => {
    expect(DEFAULTS.timeouts.helloMs).toBe(5_000)
    expect(DEFAULTS.limits.maxHelloBytes).toBeLessThanOrEqual(LIMITS.maxHelloBytesMax)
    expect(LIMITS.maxHelloBytesMax).toBe(65_536)
  })

  it('returns a deep-frozen object', () => {
    const c = parse({ listen: ['127.0.0.1:1', '127.0.0.1:2'], default: '10.0.0.9:443' })
    expect(isDeepFrozen(c)).toBe(true)
    expect(() => { (c.timeouts as { helloMs: number }).helloMs = 1 }).toThrow(TypeError)
    expect(() => { (c.routes as unknown as unknown[]).push(1) }).toThrow(TypeError)
  })
})

describe('top level', () => {
  it.each([
    [null, 'the file is empty'],
    [undefined, 'the file is empty'],
    [['a'], 'expected a mapping'],
    ['routes', 'expected a mapping'],
    [42, 'expected a mapping'],
  ])('rejects %j', (raw, fragment) => {
    const err = errorOf(raw)
    expect(err.code).toBe(ErrorCode.CONFIG_INVALID)
    expect(err.message).toContain(fragment)
    expect(err.message).toContain(FILE)
  })

  it('rejects a config that would refuse everything (no routes, default reject)', () => {
    const err = errorOf({})
    expect(err.key).toBe('routes')
    expect(err.message).toContain('no routes and default: reject')
    // but no routes with a default origin is fine
    expect(parseConfig({ default: '10.0.0.9:443' }, FILE).routes).toEqual([])
    expect(parseConfig({ routes: null, default: '10.0.0.9:443' }, FILE).routes).toEqual([])
  })
})

describe('unknown keys are errors at every level', () => {
  it.each([
    [{ timeout: { hello: '5s' } }, 'timeout', "did you mean 'timeouts'"],
    [{ Listen: '127.0.0.1:1' }, 'Listen', "did you mean 'listen'"],
    [{ extra: 1 }, 'extra', 'allowed here: listen, workers, accept, balance, upstreams, routes, default, timeouts, limits, log'],
    [{ timeouts: { helo: '5s' } }, 'timeouts.helo', "did you mean 'hello'"],
    [{ timeouts: { read: '5s' } }, 'timeouts.read', 'allowed here: hello, connect, idle, shutdown'],
    [{ limits: { maxHelloSize: 1 } }, 'limits.maxHelloSize', "did you mean 'maxHelloBytes'"],
    [{ limits: { max_connections: 1 } }, 'limits.max_connections', 'allowed here: maxHelloBytes, maxConnections, maxPendingHellos, perClient'],
    [{ limits: { perClient: { rate: 1 } } }, 'limits.perClient.rate', 'allowed here: maxConnections, newPerSecond, burst'],
    [{ log: { format: 'json' } }, 'log.format', 'allowed here: level, access'],
    [{ log: { 'access-log': true } }, 'log."access-log"', 'allowed here'],
  ])('%j', (extra, key, fragment) => {
    const err = errorOf({ routes: ROUTES, ...extra })
    expect(err.code).toBe(ErrorCode.CONFIG_UNKNOWN_KEY)
    expect(err.key).toBe(key)
    expect(err.message).toContain(`${FILE}: ${key}: unknown key`)
    expect(err.message).toContain(fragment)
  })

  it.each(['timeouts', 'limits', 'log'])('%s must be a mapping', (section) => {
    expectInvalid({ [section]: '5s' }, section, 'expected a mapping with keys', "got '5s'")
    expectInvalid({ [section]: [] }, section, 'got a list')
  })
})

describe('listen', () => {
  it.each([
    ['127.0.0.1:8443', [{ host: '127.0.0.1', port: 8443 }]],
    ['[::1]:8443', [{ host: '::1', port: 8443 }]],
    [':8443', [{ host: '', port: 8443 }]],
    ['0.0.0.0:0', [{ host: '0.0.0.0', port: 0 }]],
    ['LocalHost:80', [{ host: 'localhost', port: 80 }]],
    ['[::]:65535', [{ host: '::', port: 65535 }]],
    [['127.0.0.1:1', '[::1]:1'], [{ host: '127.0.0.1', port: 1 }, { host: '::1', port: 1 }]],
    [['127.0.0.1:0', '127.0.0.1:0'], [{ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: 0 }]],
  ])('%j', (listen, expected) => {
    expect(parse({ listen }).listen).toEqual(expected)
  })

  it.each([
    ['127.0.0.1', 'listen', 'missing :port'],
    ['::1:8443', 'listen', 'an IPv6 address needs brackets: [::1]:8443'],
    ['[::1]8443', 'listen', 'an IPv6 address must be written [addr]:port'],
    ['[fe80::zz]:1', 'listen', 'is not an IPv6 address'],
    ['127.0.0.1:65536', 'listen', 'port 65536 is out of range 0-65535'],
    ['127.0.0.1:-1', 'listen', "port '-1' is not a number"],
    ['127.0.0.1:', 'listen', "port '' is not a number"],
    ['1.2.3.4.5:80', 'listen', 'not a valid IPv4 address'],
    ['bad host:80', 'listen', 'not a valid host name'],
    [8443, 'listen', '(as a string)'],
    [['127.0.0.1:1', 'nope'], 'listen[1]', 'missing :port'],
    [null, 'listen', 'got null'],
  ])('rejects %j', (listen, key, fragment) => {
    expectInvalid({ listen }, key, 'expected host:port', fragment)
  })

  it('rejects an empty list and duplicates', () => {
    expectInvalid({ listen: [] }, 'listen', 'expected 1 to 64 addresses')
    expectInvalid({ listen: ['127.0.0.1:1', '127.0.0.1:1'] }, 'listen[1]', "duplicate of listen[0], got '127.0.0.1:1'")
  })

  it('rejects more than LIMITS.listenMax addresses', () => {
    const listen = Array.from({ length: LIMITS.listenMax + 1 }, (_, i) => `127.0.0.1:${i + 1}`)
    expectInvalid({ listen }, 'listen', `expected 1 to ${LIMITS.listenMax} addresses`)
  })
})

describe('workers', () => {
  it.each([[1, 1], [256, 256], [3, 3]])('%j', (workers, expected) => {
    expect(parse({ workers, limits: { maxConnections: 1000 } }).workers).toBe(expected)
  })

  it('auto resolves to availableParallelism()', () => {
    expect(parse({ workers: 'auto' }).workers).toBe(Math.min(availableParallelism(), LIMITS.workersMax))
  })

  it.each([0, -1, 257, 1.5, '4', 'AUTO', null, true])('rejects %j', (workers) => {
    expectInvalid({ workers }, 'workers', 'expected auto or an integer between 1 and 256')
  })
})

describe('accept and balance', () => {
  it('accepts both models and both balancers (handoff)', () => {
    expect(parse({ accept: 'reuseport' }).accept).toBe('reuseport')
    expect(parse({ accept: 'handoff' }).balance).toBe('leastconn')
    expect(parse({ accept: 'handoff', balance: 'roundrobin' }).balance).toBe('roundrobin')
    expect(parse({ accept: 'handoff', balance: 'leastconn' }).balance).toBe('leastconn')
  })

  it('rejects unknown values', () => {
    expectInvalid({ accept: 'cluster' }, 'accept', 'expected one of reuseport, handoff', "got 'cluster'")
    expectInvalid({ accept: 'handoff', balance: 'random' }, 'balance', 'expected one of leastconn, roundrobin')
  })

  it('rejects balance without handoff (it would be silently ignored)', () => {
    expectInvalid({ balance: 'roundrobin' }, 'balance', 'only applies with accept: handoff')
  })
})

describe('routes', () => {
  it('normalises patterns (case, trailing dot, IDNA) and keeps the source', () => {
    const c = parseConfig({
      routes: {
        'A.Example.COM.': '10.0.0.1:443',
        '*.Example.net': '10.0.0.2:8443',
        'bücher.example.org': '[2001:db8::10]:443',
        'api.internal': 'Origin.Internal:8443',
      },
    }, FILE)
    expect(c.routes.map(r => r.pattern)).toEqual(['a.example.com', '*.example.net', 'xn--bcher-kva.example.org', 'api.internal'])
    expect(c.routes.map(r => r.source)).toEqual(['A.Example.COM.', '*.Example.net', 'bücher.example.org', 'api.internal'])
    expect(c.routes.map((_, i) => originOf(c, i))).toEqual([
      { host: '10.0.0.1', port: 443 },
      { host: '10.0.0.2', port: 8443 },
      { host: '2001:db8::10', port: 443 },
      { host: 'origin.internal', port: 8443 },
    ])
  })

  it.each(['a..example.com', '*', 'a.*.example.com', '*example.com', '1.2.3.4', '[::1]', '', 'a b.com', '-'.repeat(64) + '.com'])(
    'rejects pattern %j naming routes."<pattern>"', (pattern) => {
      const err = errorOf({ routes: { [pattern]: '10.0.0.1:443' } })
      expect(err.code).toBe(ErrorCode.CONFIG_INVALID)
      expect(err.key).toBe(formatKeyPath(['routes', pattern]))
      expect(err.message).toContain(`routes.${JSON.stringify(pattern)}: expected a host name`)
    })

  it('rejects duplicates after normalisation, naming both', () => {
    const err = errorOf({ routes: { 'a.example.com': '10.0.0.1:443', 'A.EXAMPLE.com.': '10.0.0.2:443' } })
    expect(err.code).toBe(ErrorCode.ROUTE_DUPLICATE)
    expect(err.key).toBe('routes."A.EXAMPLE.com."')
    expect(err.message).toContain('same pattern as routes."a.example.com"')
    const idn = errorOf({ routes: { 'bücher.example': '10.0.0.1:443', 'xn--bcher-kva.example': '10.0.0.1:443' } })
    expect(idn.code).toBe(ErrorCode.ROUTE_DUPLICATE)
  })

  it.each([
    ['10.0.0.1:0', 'port 0 is out of range 1-65535'],
    ['10.0.0.1:65536', 'out of range'],
    ['10.0.0.1', 'missing :port'],
    [':443', 'missing host'],
    ['2001:db8::1:443', 'needs brackets'],
    [443, '(as a string)'],
    [['::1'], 'quote IPv6 origins in YAML'],
    [null, 'got null'],
  ])('rejects origin %j', (origin, fragment) => {
    const err = errorOf({ routes: { 'a.example.com': origin } })
    expect(err.code).toBe(ErrorCode.CONFIG_INVALID)
    expect(err.key).toBe('routes."a.example.com"')
    expect(err.message).toContain('expected host:port or [ipv6]:port with port 1-65535')
    expect(err.message).toContain(fragment)
  })

  it('rejects a non-mapping', () => {
    const err = errorOf({ routes: ['a.example.com'] })
    expect(err.key).toBe('routes')
    expect(err.message).toContain('expected a mapping of pattern: host:port')
  })
})

describe('default', () => {
  it('reject or host:port', () => {
    expect(parse({ default: 'reject' }).default).toBeNull()
    const c = parse({ default: '[::1]:9443' })
    expect(c.upstreams[c.default!]).toMatchObject({ name: '[::1]:9443', implicit: true, servers: [{ host: '::1', port: 9443 }] })
  })

  it.each(['drop', 'origin', 0, '1.2.3.4:0'])('rejects %j', (def) => {
    expectInvalid({ default: def }, 'default', 'expected host:port')
  })
})

describe('durations', () => {
  it.each([
    [0, 0], [250, 250], ['250ms', 250], ['5s', 5_000], ['1.5s', 1_500], ['1.1s', 1_100], ['5m', 300_000],
    ['1h', 3_600_000], [' 5s ', 5_000], ['0s', 0], ['2.5m', 150_000],
  ])('parseDuration(%j) = %d', (v, ms) => {
    expect(parseDuration(v)).toBe(ms)
  })

  it.each(['5', '5 sec', '-1s', '1.5ms', 'x', '', '5S', '1d', '1e3ms', null, true, Number.NaN, Number.POSITIVE_INFINITY, -5, 1.5, {}])(
    'parseDuration(%j) is not a duration', (v) => {
      expect(parseDuration(v)).toBeUndefined()
    })

  it.each([[0, '0ms'], [250, '250ms'], [1_500, '1500ms'], [5_000, '5s'], [300_000, '5m'], [3_600_000, '1h'], [90_000, '90s']])(
    'formatDuration(%d) = %s and parses back', (ms, text) => {
      expect(formatDuration(ms)).toBe(text)
      expect(parseDuration(text)).toBe(ms)
    })

  it('reads every timeout', () => {
    const c = parse({ timeouts: { hello: '250ms', connect: 2000, idle: '10m', shutdown: 0 } })
    expect(c.timeouts).toEqual({ helloMs: 250, connectMs: 2_000, idleMs: 600_000, shutdownMs: 0 })
  })

  it.each([
    ['hello', 'x', "expected a duration like 5s, 250ms or 5m (a bare number is milliseconds), got 'x'"],
    ['hello', '5', "got '5'"],
    ['hello', '50ms', 'expected a duration between 100ms and'],
    ['connect', 99, 'between 100ms and'],
    ['idle', '500ms', 'between 1s and'],
    ['shutdown', '-1s', 'expected a duration like'],
    ['hello', '25d', 'expected a duration like'],
    ['idle', '600h', 'between 1s and 2147483647ms'],
  ])('timeouts.%s = %j is rejected', (k, v, fragment) => {
    expectInvalid({ timeouts: { [k]: v } }, `timeouts.${k}`, fragment)
  })
})

describe('limits', () => {
  it('accepts the bounds', () => {
    expect(parse({ limits: { maxHelloBytes: 512 } }).limits.maxHelloBytes).toBe(512)
    expect(parse({ limits: { maxHelloBytes: 65_536 } }).limits.maxHelloBytes).toBe(65_536)
    expect(parse({ workers: 1, limits: { maxConnections: 1 } }).limits.maxConnections).toBe(1)
    expect(parse({ limits: { maxConnections: LIMITS.maxConnectionsMax } }).limits.maxConnections).toBe(LIMITS.maxConnectionsMax)
  })

  it.each([511, 65_537, 1.5, '16k', null])('rejects maxHelloBytes %j', (v) => {
    expectInvalid({ limits: { maxHelloBytes: v } }, 'limits.maxHelloBytes', 'between 512 and 65536', 'rustls')
  })

  it.each([0, -1, LIMITS.maxConnectionsMax + 1, '100k'])('rejects maxConnections %j', (v) => {
    expectInvalid({ limits: { maxConnections: v } }, 'limits.maxConnections', 'expected an integer number of connections')
  })

  it('needs at least one connection per worker', () => {
    expectInvalid({ workers: 4, limits: { maxConnections: 3 } }, 'limits.maxConnections', 'at least one connection per worker (workers: 4)')
  })

  it('maxPendingHellos: at least 1', () => {
    expect(parse({ limits: { maxPendingHellos: 1 } }).limits.maxPendingHellos).toBe(1)
    expectInvalid({ limits: { maxPendingHellos: 0 } }, 'limits.maxPendingHellos', 'expected an integer number of connections')
  })

  it('perClient: each limit alone, the burst defaulting to one second of the rate', () => {
    expect(parse({ limits: { perClient: { maxConnections: 8 } } }).limits.perClient).toEqual({ maxConnections: 8, newPerSecond: null, burst: 0 })
    expect(parse({ limits: { perClient: { newPerSecond: 2.5 } } }).limits.perClient).toEqual({ maxConnections: null, newPerSecond: 2.5, burst: 3 })
    expect(parse({ limits: { perClient: { newPerSecond: 0.1 } } }).limits.perClient!.burst).toBe(1)
    expect(parse({ limits: { perClient: { newPerSecond: 10, burst: 40 } } }).limits.perClient!.burst).toBe(40)
  })

  it('perClient: rejects an empty block, a burst without a rate, and out-of-range values', () => {
    expectInvalid({ limits: { perClient: {} } }, 'limits.perClient', 'expected maxConnections or newPerSecond')
    expectInvalid({ limits: { perClient: { maxConnections: 4, burst: 4 } } }, 'limits.perClient.burst', 'needs newPerSecond')
    expectInvalid({ limits: { perClient: { maxConnections: 0 } } }, 'limits.perClient.maxConnections', 'expected an integer number of connections')
    expectInvalid({ limits: { perClient: { newPerSecond: 0 } } }, 'limits.perClient.newPerSecond', 'above 0')
    expectInvalid({ limits: { perClient: { newPerSecond: 1, burst: 0.5 } } }, 'limits.perClient.burst', 'expected an integer number of connections')
  })
})

describe('log', () => {
  it.each(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])('level %s', (level) => {
    expect(parse({ log: { level } }).log.level).toBe(level)
  })

  it('access', () => {
    expect(parse({ log: { access: false } }).log.access).toBe(false)
  })

  it('rejects bad values', () => {
    expectInvalid({ log: { level: 'loud' } }, 'log.level', 'expected one of fatal, error, warn, info, debug, trace, silent', "got 'loud'")
    expectInvalid({ log: { level: 'INFO' } }, 'log.level', 'expected one of')
    expectInvalid({ log: { access: 'yes' } }, 'log.access', "expected true or false, got 'yes'")
    expectInvalid({ log: { access: 1 } }, 'log.access', 'expected true or false, got 1')
  })
})

describe('helpers', () => {
  it('formatKeyPath quotes what is not an identifier', () => {
    expect(formatKeyPath(['timeouts', 'hello'])).toBe('timeouts.hello')
    expect(formatKeyPath(['listen', 2])).toBe('listen[2]')
    expect(formatKeyPath(['routes', '*.example.net'])).toBe('routes."*.example.net"')
    expect(formatKeyPath([])).toBe('')
  })

  it('parseHostPort', () => {
    expect(parseHostPort('[::ffff:1.2.3.4]:1', { minPort: 1, allowAnyHost: false })).toEqual({ host: '::ffff:1.2.3.4', port: 1 })
    expect(parseHostPort('origin.:443', { minPort: 1, allowAnyHost: false })).toEqual({ host: 'origin.', port: 443 })
    expect(parseHostPort('my_svc:443', { minPort: 1, allowAnyHost: false })).toEqual({ host: 'my_svc', port: 443 })
    expect(typeof parseHostPort(':443', { minPort: 1, allowAnyHost: false })).toBe('string')
    expect(typeof parseHostPort('a'.repeat(64) + '.com:1', { minPort: 1, allowAnyHost: false })).toBe('string')
  })

  it('long values are cut in messages', () => {
    const err = errorOf({ routes: ROUTES, accept: 'x'.repeat(500) })
    expect(err.message.length).toBeLessThan(200)
    expect(err.message).toContain('…')
  })
})
