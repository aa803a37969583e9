/**
 * Plain-HTTP listeners end to end: real node:http origins and raw TCP clients on 127.0.0.1, the worker
 * pool in between. Routing by Host to two origins, the head forwarded byte for byte however it is split,
 * and every refused head answered with its status and counted under its outcome, with nothing reaching
 * any origin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import http from 'node:http'
import net from 'node:net'
import { readFileSync } from 'node:fs'
import pino from 'pino'
import { parseConfig } from '../../src/config/index.ts'
import { startProxy, type ProxyHandle } from '../../src/pool/index.ts'
import { rawConfig, rawExchange, startRecordingOrigin, tempFile, waitFor, type RecordingOrigin } from '../helpers/servers.ts'

interface HttpOrigin {
  port: number
  /** Host header of each request received */
  hosts: string[]
  close: () => Promise<void>
}

async function startHttpOrigin (name: string): Promise<HttpOrigin> {
  const hosts: string[] = []
  const server = http.createServer((req, res) => {
    hosts.push(req.headers.host ?? '')
    res.setHeader('Connection', 'close')
    res.end('origin ' + name + ' ' + (req.url ?? '') + '\n')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    hosts,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => { resolve() }) }),
  }
}

function get (port: number, host: string, path = '/'): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers: { Host: host }, agent: false }, (res) => {
      let body = ''
      res.setEncoding('latin1')
      res.on('data', (d: string) => { body += d })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
    })
    req.on('error', reject)
    req.end()
  })
}

describe.each(['reuseport', 'handoff'] as const)('http: listener routed by Host, accept=%s', (accept) => {
  let a: HttpOrigin
  let b: HttpOrigin
  let raw: RecordingOrigin
  let rawAlt: RecordingOrigin
  let proxy: ProxyHandle
  let port: number

  beforeAll(async () => {
    a = await startHttpOrigin('a')
    b = await startHttpOrigin('b')
    raw = await startRecordingOrigin()
    rawAlt = await startRecordingOrigin()
    // the routes name the TLS ports (9, never dialed here); plain HTTP goes to each origin's httpPort
    const config = parseConfig({
      ...rawConfig({
        accept,
        workers: 2,
        routes: {
          'a.http.example': { upstream: '127.0.0.1:9', httpPort: a.port },
          '*.b.http.example': { upstream: 'bpool' },
          'raw.http.example': { upstream: '127.0.0.1:9', httpPort: raw.port },
          // the client of these tests is 127.0.0.1: refused on this route only
          'denied.http.example': { upstream: '127.0.0.1:9', httpPort: raw.port, deny: ['127.0.0.0/8'] },
        },
        upstreams: { bpool: { servers: ['127.0.0.1:9'], httpPort: b.port, health: { check: 'off' } } },
        timeouts: { hello: '400ms' },
      }),
      http: { listen: ['127.0.0.1:0'], originPort: rawAlt.port },
    }, '<test>')
    proxy = await startProxy(config, pino({ level: 'silent' }))
    port = proxy.httpAddresses![0]!.port
  })

  afterAll(async () => {
    await proxy.close(500)
    await Promise.all([a.close(), b.close(), raw.close(), rawAlt.close()])
  })

  function outcomes (): Record<string, number> {
    return proxy.stats().outcomes
  }

  it('routes each Host to its origin (route httpPort, pool httpPort), case and port ignored', async () => {
    expect(await get(port, 'a.http.example', '/one')).toEqual({ status: 200, body: 'origin a /one\n' })
    expect(await get(port, 'X.B.Http.Example:8080', '/two')).toEqual({ status: 200, body: 'origin b /two\n' })
    expect(a.hosts).toEqual(['a.http.example'])
    // the origin sees the Host exactly as the client sent it: the head is forwarded unchanged
    expect(b.hosts).toEqual(['X.B.Http.Example:8080'])
  })

  it('forwards the head byte for byte when it arrives one byte per segment, body included', async () => {
    const wire = Buffer.from('POST /up HTTP/1.1\r\nHost: raw.http.example\r\nX-Odd:  spaced  \r\nContent-Length: 4\r\n\r\nbody', 'latin1')
    const chunks = [...wire].map((byte) => Buffer.from([byte]))
    const before = raw.connections
    const res = await rawExchange(port, chunks, { endAfter: true, gapMs: 1 })
    expect(res.data.toString()).toBe('got ' + String(wire.length) + ' bytes')
    expect(raw.connections).toBe(before + 1)
    expect(raw.received[before]!.equals(wire)).toBe(true)
    expect(proxy.stats().counters.hello_segmented).toBeGreaterThan(0)
  })

  it('answers 421 and counts no_route for a Host no route serves (no default)', async () => {
    const before = { ...outcomes() }
    const res = await rawExchange(port, [Buffer.from('GET / HTTP/1.1\r\nHost: nowhere.example\r\n\r\n')])
    expect(res.data.toString('latin1')).toMatch(/^HTTP\/1\.1 421 Misdirected Request\r\n/)
    await waitFor(() => outcomes().no_route === (before.no_route ?? 0) + 1)
  })

  it('has no name to route an address-literal Host by: the default, here none, so 421 (not 400)', async () => {
    for (const host of ['127.0.0.1', '[::1]:80']) {
      const res = await rawExchange(port, [Buffer.from('GET / HTTP/1.1\r\nHost: ' + host + '\r\n\r\n')])
      expect(res.data.toString('latin1')).toMatch(/^HTTP\/1\.1 421 /)
    }
  })

  it('applies a route\'s access lists as the TLS port does: 403, outcome denied, nothing forwarded', async () => {
    const before = outcomes().denied ?? 0
    const conns = raw.connections
    const res = await rawExchange(port, [Buffer.from('GET / HTTP/1.1\r\nHost: denied.http.example\r\n\r\n')])
    expect(res.data.toString('latin1').split('\r\n')[0]).toBe('HTTP/1.1 403 Forbidden')
    await waitFor(() => (outcomes().denied ?? 0) === before + 1)
    expect(raw.connections).toBe(conns)
  })

  const BAD: Array<[string, string, string]> = [
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: raw.http.example\r\nX-A: 1\r\n folded\r\n\r\n', '400'],
    ['NUL', 'GET / HTTP/1.1\r\nHost: raw.http.example\r\nX-A: \u0000\r\n\r\n', '400'],
    ['bare CR', 'GET / HTTP/1.1\r\nX-A: 1\rHost: a.http.example\r\nHost: raw.http.example\r\n\r\n', '400'],
    ['bare LF', 'GET / HTTP/1.1\r\nX-A: 1\nHost: a.http.example\r\n\r\n', '400'],
    ['userinfo', 'GET / HTTP/1.1\r\nHost: a.http.example@raw.http.example\r\n\r\n', '400'],
    ['bad port', 'GET / HTTP/1.1\r\nHost: raw.http.example:99999\r\n\r\n', '400'],
    ['two Hosts', 'GET / HTTP/1.1\r\nHost: a.http.example\r\nHost: raw.http.example\r\n\r\n', '400'],
    ['missing Host', 'GET / HTTP/1.1\r\nAccept: */*\r\n\r\n', '400'],
    ['invalid Host', 'GET / HTTP/1.1\r\nHost: raw..http.example\r\n\r\n', '400'],
    ['absolute-form target', 'GET http://a.http.example/ HTTP/1.1\r\nHost: raw.http.example\r\n\r\n', '400'],
    ['TLS on the HTTP port', '\u0016\u0003\u0001\u0000\u0005hello', '400'],
    ['oversized head', 'GET / HTTP/1.1\r\nHost: raw.http.example\r\n' + ('X-Pad: ' + 'p'.repeat(1000) + '\r\n').repeat(20) + '\r\n', '431'],
  ]

  it.each(BAD)('refuses %s: status, outcome, nothing forwarded', async (_what, text, status) => {
    const outcome = status === '431' ? 'too_large' : 'http_bad_request'
    const before = { ...outcomes() }
    const conns = raw.connections + rawAlt.connections + a.hosts.length + b.hosts.length
    const res = await rawExchange(port, [Buffer.from(text, 'latin1')])
    expect(res.data.toString('latin1').split('\r\n')[0]).toMatch(new RegExp('^HTTP/1\\.1 ' + status + ' '))
    await waitFor(() => (outcomes()[outcome] ?? 0) === (before[outcome] ?? 0) + 1)
    expect(raw.connections + rawAlt.connections + a.hosts.length + b.hosts.length).toBe(conns)
  })

  it('closes a head that does not complete within timeouts.hello: hello_timeout, nothing forwarded', async () => {
    const before = { ...outcomes() }
    const conns = raw.connections
    const res = await rawExchange(port, [Buffer.from('GET / HTTP/1.1\r\nHost: raw.http.example\r\n')], { timeoutMs: 5000 })
    expect(res.data.length).toBe(0)
    expect(res.closedMs).toBeGreaterThanOrEqual(350)
    expect(res.closedMs).toBeLessThan(4000)
    await waitFor(() => outcomes().hello_timeout === (before.hello_timeout ?? 0) + 1)
    expect(raw.connections).toBe(conns)
  })

  it('answers 400 to a head cut short by the client\'s FIN', async () => {
    const before = { ...outcomes() }
    const res = await rawExchange(port, [Buffer.from('GET / HTTP/1.1\r\nHost: raw')], { endAfter: true })
    expect(res.data.toString('latin1')).toMatch(/^HTTP\/1\.1 400 /)
    await waitFor(() => outcomes().http_bad_request === (before.http_bad_request ?? 0) + 1)
  })

  it('still serves TLS on the TLS listener (a ClientHello is not read as HTTP there)', () => {
    expect(proxy.addresses.length).toBe(1)
    expect(proxy.addresses[0]!.port).not.toBe(port)
  })
})

describe('http: access log', () => {
  it('writes one conn.close line per connection with the Host as host (sni null) and the refusal reason', async () => {
    const origin = await startHttpOrigin('logged')
    const file = tempFile('access.log', '')
    const config = parseConfig({
      ...rawConfig({ workers: 1, routes: { 'log.http.example': { upstream: '127.0.0.1:9', httpPort: origin.port } } }),
      log: { level: 'info', access: true, file },
      http: { listen: '127.0.0.1:0' },
    }, '<test>')
    const proxy = await startProxy(config, pino({ level: 'silent' }))
    try {
      const port = proxy.httpAddresses![0]!.port
      expect((await get(port, 'Log.Http.Example')).status).toBe(200)
      await rawExchange(port, [Buffer.from('GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n')])
      await waitFor(() => proxy.stats().outcomes.http_bad_request === 1 && proxy.stats().outcomes.ok === 1)
    } finally {
      await proxy.close(500)
      await origin.close()
    }
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('"conn.close"')).map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines.map((l) => [l.outcome, l.sni, l.host, l.route, l.origin, l.reason])).toEqual([
      ['ok', null, 'Log.Http.Example', 'log.http.example', '127.0.0.1:' + String(origin.port), null],
      ['http_bad_request', null, undefined, null, null, 'two_hosts'],
    ])
  })
})
