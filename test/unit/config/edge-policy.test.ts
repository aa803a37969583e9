/**
 * Config keys of the edge policy: `listen` long form with proxyProtocol, `access`, a route's allow/deny/
 * allowJa4/denyJa4, log.ja4. Bad CIDRs and JA4 strings are errors at their file:line:col; overlapping
 * CIDRs are accepted (merged; deny wins over allow) and the compiled lists say so.
 */
import { describe, expect, it } from 'vitest'
import { parseConfigText } from '../../../src/config/index.ts'
import { compileConfigAccess } from '../../../src/config/access.ts'
import { AccessVerdict, checkAccessText } from '../../../src/access/index.ts'
import { ErrorCode, ProxyError } from '../../../src/errors.ts'
import { buildAccessTables, NO_ACCESS } from '../../../src/relay/policy.ts'
import { buildProxyInPolicies } from '../../../src/relay/proxy-in.ts'

const FILE = 'edge.yaml'
const JA4 = 't13d1516h2_8daaf6152771_e5627efa2ab1'

function errorOf (yaml: string): ProxyError {
  try {
    parseConfigText(yaml, FILE)
  } catch (err) {
    expect(err).toBeInstanceOf(ProxyError)
    return err as ProxyError
  }
  throw new Error('expected a config error')
}

describe('listen long form', () => {
  it('keeps the short form, adds { address, proxyProtocol } with compiled trusted sources', () => {
    const c = parseConfigText([
      'listen:',
      '  - 127.0.0.1:8443',
      '  - address: 0.0.0.0:443',
      '    proxyProtocol: { accept: [v1, v2], from: [10.0.0.0/8, "fd00::/8"] }',
      'routes: { a.example: 10.0.0.1:443 }',
    ].join('\n'), FILE)
    expect(c.listen).toEqual([
      { host: '127.0.0.1', port: 8443 },
      { host: '0.0.0.0', port: 443, proxyProtocol: { accept: ['v1', 'v2'], from: ['10.0.0.0/8', 'fd00::/8'] } },
    ])
    const policies = buildProxyInPolicies(c)
    expect(policies[0]).toBeNull()
    expect(policies[1]!.accept).toBe(3)
    expect(checkAccessText(policies[1]!.trusted, '10.9.8.7')).toBe(AccessVerdict.Allow)
    expect(checkAccessText(policies[1]!.trusted, 'fd12::1')).toBe(AccessVerdict.Allow)
    expect(checkAccessText(policies[1]!.trusted, '192.0.2.1')).toBe(AccessVerdict.Deny)
  })

  it.each([
    ['from: [10.0.0.1/8]', 'listen[0].proxyProtocol.from[0]', '3:', 'bits are set after the prefix'],
    ['from: []', 'listen[0].proxyProtocol.from', '3:', 'non-empty list of CIDRs'],
    ['accept: [v3], from: [10.0.0.0/8]', 'listen[0].proxyProtocol.accept[0]', '3:', 'v1, v2'],
    ['accept: [v1, v1], from: [10.0.0.0/8]', 'listen[0].proxyProtocol.accept', '3:', 'each once'],
  ])('%s → error at %s', (pp, key, line, fragment) => {
    const yaml = ['listen:', '  - address: 0.0.0.0:443', `    proxyProtocol: { ${pp.includes('accept') ? pp : 'accept: [v2], ' + pp} }`, 'routes: { a.example: 10.0.0.1:443 }'].join('\n')
    const err = errorOf(yaml)
    expect(err.key).toBe(key)
    expect(err.message).toMatch(new RegExp(`^${FILE}:${line}\\d+: `))
    expect(err.message).toContain(fragment)
  })

  it('proxyProtocol needs from (no "trust everyone" default)', () => {
    const err = errorOf('listen: { address: 0.0.0.0:443, proxyProtocol: { accept: [v2] } }\nroutes: { a.example: 10.0.0.1:443 }\n')
    expect(err.message).toContain("missing key 'from'")
  })
})

describe('access lists', () => {
  const routes = (extra: string): string => [
    'routes:',
    '  a.example: 10.0.0.1:443',
    '  b.example:',
    '    upstream: 10.0.0.2:443',
    extra,
  ].join('\n')

  it.each([
    ['global deny, bad syntax', 'access:\n  deny:\n    - 10.0.0.0/8\n    - 10.0.0.300\nroutes: { a.example: 10.0.0.1:443 }', 'access.deny[1]', 4, 'not an IPv4 or IPv6 address'],
    ['global allow, host bits', 'access:\n  allow: [192.0.2.1/24]\nroutes: { a.example: 10.0.0.1:443 }', 'access.allow[0]', 2, 'bits are set after the prefix'],
    ['global allow, prefix length', 'access: { allow: ["2001:db8::/129"] }\nroutes: { a.example: 10.0.0.1:443 }', 'access.allow[0]', 1, 'prefix length'],
    ['zone id', 'access: { deny: ["fe80::1%eth0"] }\nroutes: { a.example: 10.0.0.1:443 }', 'access.deny[0]', 1, 'no zone ids'],
    ['route deny', routes('    deny: [10.0.0.0/8, "::1/200"]'), 'routes."b.example".deny[1]', 5, 'prefix length'],
    ['route denyJa4', routes('    denyJa4: [t13d1516h2_8daaf6152771]'), 'routes."b.example".denyJa4[0]', 5, 'JA4 fingerprint'],
    ['unknown route key', routes('    denyJA4: []'), 'routes."b.example".denyJA4', 5, "did you mean 'denyJa4'"],
  ])('%s → config error at file:line', (_name, yaml, key, line, fragment) => {
    const err = errorOf(yaml)
    expect(err.code === ErrorCode.CONFIG_INVALID || err.code === ErrorCode.CONFIG_UNKNOWN_KEY).toBe(true)
    expect(err.key).toBe(key)
    expect(err.message).toMatch(new RegExp(`^${FILE}:${line}:\\d+: `))
    expect(err.message).toContain(fragment)
  })

  it('overlapping CIDRs are accepted: merged within a list, and deny carves holes in allow', () => {
    const c = parseConfigText([
      'access:',
      '  allow: [10.0.0.0/8, 10.1.0.0/16, 10.1.2.3, "::/0", "2001:db8::/32"]',
      '  deny: [10.6.0.0/16, 10.6.7.0/24]',
      'routes:',
      '  a.example: { upstream: 10.0.0.1:443, deny: [10.1.0.0/16, 10.1.0.0/16], denyJa4: [' + JA4 + '] }',
    ].join('\n'), FILE)
    const compiled = compileConfigAccess(c)
    const g = compiled.global!
    expect(g.rangeCount()).toBe(3) // 10/8 (the two inside it merged), ::/0, 10.6/16
    expect(checkAccessText(g, '10.1.2.3')).toBe(AccessVerdict.Allow)
    expect(checkAccessText(g, '10.6.7.8')).toBe(AccessVerdict.Deny)
    expect(checkAccessText(g, '192.0.2.1')).toBe(AccessVerdict.Deny)
    expect(checkAccessText(g, '2001:db8::5')).toBe(AccessVerdict.Allow)
    expect(checkAccessText(compiled.routes.get(0)!, '10.1.9.9')).toBe(AccessVerdict.Deny)
    // handed over once: a second call compiles again (same answer)
    expect(checkAccessText(compileConfigAccess(c).global!, '10.6.0.1')).toBe(AccessVerdict.Deny)
  })

  it('runtime tables: none when no list exists; per-route rules indexed by route', () => {
    const none = parseConfigText('routes: { a.example: 10.0.0.1:443 }\n', FILE)
    expect(buildAccessTables(none)).toBe(NO_ACCESS)
    const c = parseConfigText([
      'routes:',
      '  a.example: 10.0.0.1:443',
      '  b.example: { upstream: 10.0.0.2:443, allowJa4: [' + JA4 + '] }',
    ].join('\n'), FILE)
    const t = buildAccessTables(c)
    expect(t.global).toBeNull()
    expect([...t.routeRule]).toEqual([-1, 0])
    expect(t.rules[0]!.cidr).toBeNull()
    expect(t.rules[0]!.allowJa4?.has(JA4)).toBe(true)
  })

  it('log.ja4 defaults to on and can be turned off', () => {
    expect(parseConfigText('routes: { a.example: 10.0.0.1:443 }\n', FILE).log.ja4).toBe(true)
    expect(parseConfigText('routes: { a.example: 10.0.0.1:443 }\nlog: { ja4: false }\n', FILE).log.ja4).toBe(false)
  })
})
