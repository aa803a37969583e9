import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/config/index.ts'
import { parseConfigText } from '../../../src/config/load.ts'
import { configErrorOf } from '../../helpers/config.ts'

const FWD = { suffixes: ['.fwd.example'] }

describe('config: http', () => {
  it('reads one address or a list, the origin port (default 80), and route / pool httpPort', () => {
    const c = parseConfig({
      routes: { 'a.example': { upstream: '10.0.0.1:443', httpPort: 8080 }, 'b.example': 'p' },
      upstreams: { p: { servers: ['10.0.0.2:443'], httpPort: 8081 } },
      http: { listen: ':80' },
    }, 'h.yaml')
    expect(c.http).toEqual({ listen: [{ host: '', port: 80 }], originPort: 80 })
    expect(c.routes[0]!.httpPort).toBe(8080)
    expect(c.upstreams.find((u) => u.name === 'p')!.httpPort).toBe(8081)
    expect(parseConfig({ routes: { 'a.example': '10.0.0.1:443' } }, 'h.yaml').http ?? null).toBeNull()
    expect(parseConfig({ routes: { 'a.example': '10.0.0.1:443' }, http: { listen: ['127.0.0.1:80', '[::1]:80'], originPort: 8000 } }, 'h.yaml').http)
      .toEqual({ listen: [{ host: '127.0.0.1', port: 80 }, { host: '::1', port: 80 }], originPort: 8000 })
  })

  it.each([
    [{ http: { listen: '127.0.0.1:8443' } }, 'http.listen: already a TLS listen address'],
    [{ http: { listen: ['127.0.0.1:80', '127.0.0.1:80'] } }, 'http.listen[1]: duplicate of http.listen[0]'],
    [{ http: { listen: 'nope' } }, 'http.listen: expected host:port'],
    [{ http: { listen: ':80', originPort: 0 } }, 'http.originPort: expected a port number between 1 and 65535'],
    [{ http: { originPort: 80 } }, "http: missing key 'listen'"],
    [{ http: { listen: ':80' }, routes: { 'a.example': { upstream: '10.0.0.1:443', httpPort: 70000 } } }, 'routes."a.example".httpPort: expected a port number'],
  ])('refuses %j', (extra, message) => {
    const e = configErrorOf({ listen: '127.0.0.1:8443', routes: { 'a.example': '10.0.0.1:443' }, ...extra }, 'h.yaml')
    expect(e.message).toContain(message)
  })
})

describe('config: forward', () => {
  it('reads the fence with its defaults; a forward route has upstream -1', () => {
    const c = parseConfig({ routes: { '*.fwd.example': { forward: true }, 'a.x.fwd.example': { forward: true } }, forward: { suffixes: ['FWD.example.', '.b.example'] } }, 'f.yaml')
    expect(c.forward).toEqual({ suffixes: ['.fwd.example', '.b.example'], port: 443, httpPort: 80, allow: [], resolvers: [], timeoutMs: 2000 })
    expect(c.routes.map((r) => [r.upstream, r.forward])).toEqual([[-1, true], [-1, true]])
  })

  it.each([
    [{ routes: { '*.fwd.example': { forward: true } } }, 'routes."*.fwd.example": forward: true needs a forward: block'],
    [{ routes: { '*.other.example': { forward: true } }, forward: FWD }, 'routes."*.other.example": a forward route must lie under one of forward.suffixes (.fwd.example)'],
    [{ routes: { 'fwd.example': { forward: true } }, forward: FWD }, 'must lie under one of forward.suffixes'],
    [{ routes: { '*.example': { forward: true } }, forward: FWD }, 'must lie under one of forward.suffixes'],
    [{ routes: { '*.fwd.example': { forward: true, upstream: '10.0.0.1:443' } }, forward: FWD }, 'routes."*.fwd.example".upstream: a forward route has no upstream'],
    [{ routes: { '*.fwd.example': { forward: true, httpPort: 80 } }, forward: FWD }, 'a forward route has no upstream, alpn or httpPort'],
    [{ routes: { 'a.example': {} } }, "routes.\"a.example\": missing key 'upstream' (or forward: true)"],
    [{ routes: { 'a.example': '10.0.0.1:443' }, forward: { suffixes: ['.com'] } }, 'forward.suffixes[0]: expected a domain suffix like .example.net (a single label'],
    [{ routes: { 'a.example': '10.0.0.1:443' }, forward: { suffixes: ['*.example.net'] } }, 'forward.suffixes[0]: expected a domain suffix'],
    [{ routes: { 'a.example': '10.0.0.1:443' }, forward: { suffixes: [] } }, 'forward.suffixes: expected a list of 1 to'],
    [{ routes: { 'a.example': '10.0.0.1:443' }, forward: { ...FWD, allow: ['10.0.0.0/8', '10.0.0.1/8'] } }, 'forward.allow[1]: expected a CIDR'],
    [{ routes: { 'a.example': '10.0.0.1:443' }, forward: { ...FWD, resolvers: ['dns.example:53'] } }, 'forward.resolvers[0]: expected a DNS server as ip:port'],
    [{ routes: { 'a.example': '10.0.0.1:443' }, forward: { ...FWD, timeout: '5ms' } }, 'forward.timeout: expected a duration between'],
    [{ routes: { 'a.example': '10.0.0.1:443' }, forward: { ...FWD, suffix: [] } }, 'forward.suffix: unknown key'],
  ])('refuses %j', (raw, message) => {
    expect(configErrorOf(raw, 'f.yaml').message).toContain(message)
  })

  it('points at file:line of the offending forward route', () => {
    const text = 'forward:\n  suffixes: [.fwd.example]\nroutes:\n  a.example: 10.0.0.1:443\n  "*.evil.example": { forward: true }\n'
    expect(() => parseConfigText(text, 'f.yaml')).toThrow(/f\.yaml:5:\d+: routes\."\*\.evil\.example": a forward route must lie under/)
  })
})
