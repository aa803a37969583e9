/**
 * Forward routes end to end: hellogate resolves the SNI (or Host) through a real DNS server on
 * 127.0.0.1 (test/helpers/dns-server.ts; forward.resolvers points c-ares at it) and dials it only when the
 * fence allows. The origins listen on 127.0.0.1, which is loopback: without `allow: [127.0.0.0/8]` no name
 * can reach them, whatever it resolves to; with it, only names under the suffix do, and only at the
 * address the fence checked. The DNS server's question log shows which names were ever looked up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pino from 'pino'
import { parseConfig } from '../../src/config/index.ts'
import { startProxy, type ProxyHandle } from '../../src/pool/index.ts'
import { buildClientHello, wrapRecords } from '../helpers/build-hello.ts'
import { startDnsServer, type DnsServer } from '../helpers/dns-server.ts'
import { closedPort, rawConfig, rawExchange, startRecordingOrigin, waitFor, type RecordingOrigin } from '../helpers/servers.ts'

function hello (sni: string): Buffer {
  return Buffer.from(wrapRecords(buildClientHello({ sni }), 1))
}

interface Setup { proxy: ProxyHandle, port: number, httpPort: number }

async function start (dns: DnsServer, origin: RecordingOrigin, allow: string[] | undefined, listen = '127.0.0.1:0'): Promise<Setup> {
  const config = parseConfig({
    ...rawConfig({ workers: 1, routes: { '*.fwd.example': { forward: true }, 'fixed.example': '127.0.0.1:9' } }),
    listen,
    http: { listen: '127.0.0.1:0' },
    forward: {
      suffixes: ['.fwd.example'],
      port: origin.port,
      httpPort: origin.port,
      ...(allow === undefined ? {} : { allow }),
      resolvers: ['127.0.0.1:' + String(dns.port)],
      timeout: '300ms',
    },
  }, '<test>')
  const proxy = await startProxy(config, pino({ level: 'silent' }))
  return { proxy, port: proxy.addresses[0]!.port, httpPort: proxy.httpAddresses![0]!.port }
}

const TABLE = {
  'ok.fwd.example': { a: ['127.0.0.1'] },
  'ok6.fwd.example': { aaaa: ['::1'] },
  'private.fwd.example': { a: ['10.0.0.1'] },
  'meta.fwd.example': { a: ['169.254.169.254'] },
  'mixed.fwd.example': { a: ['127.0.0.1', '192.168.0.10'] },
  'mapped.fwd.example': { aaaa: ['::ffff:a00:1'] }, // ::ffff:10.0.0.1
  'gone.fwd.example': { nxdomain: true },
  'slow.fwd.example': { silent: true },
  'x.notfwd.example': { a: ['127.0.0.1'] },
}

describe('forward routes', () => {
  let dns: DnsServer
  let origin: RecordingOrigin
  let fenced: Setup
  let open: Setup

  beforeAll(async () => {
    dns = await startDnsServer(TABLE)
    origin = await startRecordingOrigin()
    fenced = await start(dns, origin, undefined)
    open = await start(dns, origin, ['127.0.0.0/8'])
  })

  afterAll(async () => {
    await Promise.all([fenced.proxy.close(500), open.proxy.close(500)])
    await Promise.all([dns.close(), origin.close()])
  })

  async function outcomeOf (setup: Setup, sni: string, outcome: string): Promise<void> {
    const before = setup.proxy.stats().outcomes[outcome] ?? 0
    const conns = origin.connections
    await rawExchange(setup.port, [hello(sni)], { endAfter: true, timeoutMs: 3000 })
    await waitFor(() => (setup.proxy.stats().outcomes[outcome] ?? 0) === before + 1)
    expect(origin.connections).toBe(conns)
  }

  it('with 127.0.0.0/8 allowed, reaches the local origin at the address it resolved, hello unchanged', async () => {
    const wire = hello('ok.fwd.example')
    const before = origin.connections
    const res = await rawExchange(open.port, [wire], { endAfter: true })
    expect(res.data.toString()).toBe('got ' + String(wire.length) + ' bytes')
    expect(origin.connections).toBe(before + 1)
    expect(origin.received[before]!.equals(wire)).toBe(true)
  })

  it('forwards plain HTTP by Host the same way (forward.httpPort)', async () => {
    const wire = Buffer.from('GET / HTTP/1.1\r\nHost: ok.fwd.example\r\n\r\n')
    const before = origin.connections
    const res = await rawExchange(open.httpPort, [wire], { endAfter: true })
    expect(res.data.toString()).toBe('got ' + String(wire.length) + ' bytes')
    expect(origin.received[before]!.equals(wire)).toBe(true)
  })

  it('without an allow list, no name reaches loopback, even one under the suffix that resolves there', async () => {
    await outcomeOf(fenced, 'ok.fwd.example', 'forward_refused')
    await outcomeOf(fenced, 'ok6.fwd.example', 'forward_refused')
    const before = origin.connections
    const res = await rawExchange(fenced.httpPort, [Buffer.from('GET / HTTP/1.1\r\nHost: ok.fwd.example\r\n\r\n')])
    expect(res.data.toString('latin1')).toMatch(/^HTTP\/1\.1 403 /)
    expect(origin.connections).toBe(before)
  })

  it.each(['private', 'meta', 'mixed', 'mapped', 'ok6'])('refuses %s.fwd.example although 127.0.0.0/8 is allowed', async (label) => {
    await outcomeOf(open, label + '.fwd.example', 'forward_refused')
  })

  it('fails names that do not resolve, or not in time: origin_connect_failed', async () => {
    await outcomeOf(open, 'gone.fwd.example', 'origin_connect_failed')
    await outcomeOf(open, 'slow.fwd.example', 'origin_connect_failed')
  })

  it('never looks up a name outside the suffixes: no_route, and no DNS question for it', async () => {
    await outcomeOf(open, 'x.notfwd.example', 'no_route')
    await outcomeOf(open, 'fwd.example', 'no_route')
    expect(dns.questions.filter((q) => q.includes('notfwd') || q.startsWith('fwd.example'))).toEqual([])
    expect(dns.questions).toContain('ok.fwd.example A')
  })
})

describe('forward routes: loop guard', () => {
  it('never dials its own listener, even with its address allowed', async () => {
    const dns = await startDnsServer({ 'self.fwd.example': { a: ['127.0.0.1'] } })
    const port = await closedPort()
    // the origin "port" is the proxy's own TLS port
    const self = { port } as unknown as RecordingOrigin
    const setup = await start(dns, self, ['127.0.0.0/8'], '127.0.0.1:' + String(port))
    try {
      const before = setup.proxy.stats().outcomes.forward_refused ?? 0
      await rawExchange(setup.port, [hello('self.fwd.example')], { endAfter: true, timeoutMs: 3000 })
      await waitFor(() => (setup.proxy.stats().outcomes.forward_refused ?? 0) === before + 1)
      expect(setup.proxy.stats().counters.conn_accepted).toBe(1)
    } finally {
      await setup.proxy.close(500)
      await dns.close()
    }
  })
})

describe('forward routes: the runtime checks the name again', () => {
  it('refuses a name its suffixes do not cover even when a config that skipped validation routes it (no lookup)', async () => {
    const dns = await startDnsServer({ 'ok.fwd.example': { a: ['127.0.0.1'] } })
    const origin = await startRecordingOrigin()
    const valid = parseConfig({
      ...rawConfig({ workers: 1, routes: { '*.fwd.example': { forward: true } } }),
      forward: { suffixes: ['.fwd.example'], port: origin.port, allow: ['127.0.0.0/8'], resolvers: ['127.0.0.1:' + String(dns.port)] },
    }, '<test>')
    // a table whose forward route is not under the suffixes: parseConfig refuses this, startProxy is given it anyway
    const config = { ...valid, forward: { ...valid.forward!, suffixes: ['.other.example'] } }
    const proxy = await startProxy(config, pino({ level: 'silent' }))
    try {
      await rawExchange(proxy.addresses[0]!.port, [hello('ok.fwd.example')], { endAfter: true, timeoutMs: 3000 })
      await waitFor(() => (proxy.stats().outcomes.forward_refused ?? 0) === 1)
      expect(dns.questions).toEqual([])
      expect(origin.connections).toBe(0)
    } finally {
      await proxy.close(500)
      await Promise.all([dns.close(), origin.close()])
    }
  })
})
