/**
 * Edge policy end to end, through the real CLI (its NDJSON access log) with real sockets: PROXY headers in
 * from a trusted balancer (the carried address in the log, in the access decision and in the PROXY v2 header
 * sent on, read back with proxy-protocol-js), every malformed header refused as proxy_header_invalid with
 * nothing forwarded, the same in the handoff accept model; access lists (global, per route, IPv4 and IPv6,
 * JA4) against real TLS clients; ECH and extreme JA4 inputs through the relay.
 */
import net from 'node:net'
import tls from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { IPv4ProxyAddress, IPv6ProxyAddress, V2ProxyProtocol } from 'proxy-protocol-js'
import { ja4String } from '../../src/fingerprint/index.ts'
import { buildProxyHeader, ProxyHeaderFields } from '../../src/proxyproto/index.ts'
import { buildClientHello, GREASE_EXT, tlsRecord } from '../helpers/build-hello.ts'
import { handshakeOf } from '../helpers/hello-fixtures.ts'
import { rawExchange, startCliProxy, startRecordingOrigin, startTlsOrigin, type CliProxy, type RecordingOrigin, type TlsOrigin } from '../helpers/servers.ts'

const TRUSTED = { accept: ['v1', 'v2'], from: ['127.0.0.0/8', '::1/128'] }
/** RFC 8446 alert record: fatal access_denied(49) */
const ACCESS_DENIED_ALERT = Buffer.from([21, 3, 1, 0, 2, 2, 49])
const V2_SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex')

function hello (sni: string, extra: { type: number, data?: Uint8Array | number }[] = []): Buffer {
  return tlsRecord(buildClientHello({ sni, alpn: ['h2', 'http/1.1'], extraExtensions: extra }))
}

/** A v2 header built by hand: PROXY command, family byte, address block, then raw TLV bytes. */
function v2 (family: number, addr: Buffer, tlvs: Buffer = Buffer.alloc(0), cmd = 0x21): Buffer {
  const len = Buffer.alloc(2)
  len.writeUInt16BE(addr.length + tlvs.length)
  return Buffer.concat([V2_SIG, Buffer.from([cmd, family]), len, addr, tlvs])
}

function tlv (type: number, value: string | Buffer): Buffer {
  const v = typeof value === 'string' ? Buffer.from(value, 'latin1') : value
  const h = Buffer.alloc(3)
  h[0] = type
  h.writeUInt16BE(v.length, 1)
  return Buffer.concat([h, v])
}

function tcp4 (src: string, sport: number, dst: string, dport: number): Buffer {
  const b = Buffer.alloc(12)
  src.split('.').forEach((x, i) => { b[i] = Number(x) })
  dst.split('.').forEach((x, i) => { b[4 + i] = Number(x) })
  b.writeUInt16BE(sport, 8)
  b.writeUInt16BE(dport, 10)
  return b
}

/** TLVs of a parsed v2 header, type → value */
function tlvsOf (h: V2ProxyProtocol): Map<number, Buffer> {
  const data = Buffer.from(h.data as unknown as Uint8Array)
  const out = new Map<number, Buffer>()
  for (let p = 0; p < data.length;) {
    const len = data.readUInt16BE(p + 1)
    out.set(data[p]!, data.subarray(p + 3, p + 3 + len))
    p += 3 + len
  }
  return out
}

/** The v2 header an origin received, split from what followed it. */
function splitV2 (received: Buffer): { header: V2ProxyProtocol, rest: Buffer } {
  expect(received.subarray(0, 12)).toEqual(V2_SIG)
  const total = 16 + received.readUInt16BE(14)
  return { header: V2ProxyProtocol.parse(received.subarray(0, total)), rest: received.subarray(total) }
}

function logFor (proxy: CliProxy, id: string | undefined, pred: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  return proxy.waitForLog((l) => l.evt === 'conn.close' && pred(l) && (id === undefined || l.id === id))
}

describe('PROXY protocol in (reuseport)', () => {
  let origin: RecordingOrigin
  let proxy: CliProxy

  beforeAll(async () => {
    origin = await startRecordingOrigin()
    proxy = await startCliProxy({ routes: {} }, undefined, {
      listen: [{ address: '127.0.0.1:0', proxyProtocol: TRUSTED }],
      workers: 1,
      upstreams: { o: { servers: ['127.0.0.1:' + String(origin.port)], proxyProtocol: 'v2', health: { check: 'off' } } },
      routes: {
        'a.example': 'o',
        'deny.example': { upstream: 'o', deny: ['203.0.113.0/24'] },
      },
      access: { deny: ['198.51.100.0/24'] },
      timeouts: { hello: '800ms', connect: '2s', idle: '10s' },
    })
  }, 30_000)

  afterAll(async () => {
    await proxy?.close()
    await origin?.close()
  })

  it('v1 from a trusted balancer: the carried address is logged and sent on in a v2 header (JA4 TLV 0xE4); the hello follows unchanged', async () => {
    const before = origin.connections
    const record = hello('a.example')
    const r = await rawExchange(proxy.port, [Buffer.from('PROXY TCP4 203.0.113.9 192.0.2.1 51000 443\r\n', 'latin1'), record], { endAfter: true })
    expect(r.data.toString()).toMatch(/^got \d+ bytes$/)
    const line = await logFor(proxy, undefined, (l) => l.client === '203.0.113.9:51000')
    expect(line.outcome).toBe('ok')
    const ja4 = ja4String(handshakeOf(record), 0, handshakeOf(record).length)
    expect(line.ja4).toBe(ja4)
    expect(line.ech).toBe(false)
    expect(origin.connections).toBe(before + 1)
    const { header, rest } = splitV2(await origin.ended(before))
    const a = header.proxyAddress as IPv4ProxyAddress
    expect([a.sourceAddress.address, a.sourcePort, a.destinationAddress.address, a.destinationPort]).toEqual([[203, 0, 113, 9], 51000, [192, 0, 2, 1], 443])
    const t = tlvsOf(header)
    expect(t.get(0x02)?.toString()).toBe('a.example')
    expect(t.get(0xe4)?.toString()).toBe(ja4)
    expect(rest).toEqual(record)
  })

  it('v2 IPv6 with TLVs: TLVs passed on except AUTHORITY/UNIQUE_ID/CRC32C (hellogate writes its own), in one segment with the hello', async () => {
    const before = origin.connections
    const src = Buffer.from('20010db8000000000000000000000007', 'hex')
    const dst = Buffer.from('20010db8000000000000000000000001', 'hex')
    const ports = Buffer.from([0xc3, 0x50, 0x01, 0xbb]) // 50000, 443
    const incoming = v2(0x21, Buffer.concat([src, dst, ports]),
      Buffer.concat([tlv(0x02, 'lb.example'), tlv(0x03, Buffer.alloc(4)), tlv(0x05, 'lb-id-1'), tlv(0xe0, 'vpce-0123'), tlv(0x04, Buffer.alloc(2))]))
    const record = hello('a.example')
    await rawExchange(proxy.port, [Buffer.concat([incoming, record])], { endAfter: true })
    const line = await logFor(proxy, undefined, (l) => l.client === '[2001:db8::7]:50000')
    expect(line.outcome).toBe('ok')
    const { header, rest } = splitV2(await origin.ended(before))
    const a = header.proxyAddress as IPv6ProxyAddress
    expect(Buffer.from(a.sourceAddress.address)).toEqual(src)
    expect(Buffer.from(a.destinationAddress.address)).toEqual(dst)
    expect([a.sourcePort, a.destinationPort]).toEqual([50000, 443])
    const t = tlvsOf(header)
    expect(t.get(0x02)?.toString()).toBe('a.example')
    expect(t.get(0x05)?.toString()).toMatch(/^1-\d+$/)
    expect(t.has(0x03)).toBe(false)
    expect(t.get(0xe0)?.toString()).toBe('vpce-0123')
    expect(t.get(0x04)).toEqual(Buffer.alloc(2))
    expect(rest).toEqual(record)
  })

  it('LOCAL and v1 UNKNOWN: the socket\'s own endpoints stand (spec §2.1, §2.2)', async () => {
    for (const header of [v2(0x00, Buffer.alloc(0), Buffer.alloc(0), 0x20), Buffer.from('PROXY UNKNOWN\r\n', 'latin1')]) {
      const before = origin.connections
      const record = hello('a.example')
      const sock = net.connect(proxy.port, '127.0.0.1')
      await new Promise((resolve) => sock.once('connect', resolve))
      const localPort = sock.localPort!
      sock.end(Buffer.concat([header, record]))
      sock.resume()
      await new Promise((resolve) => sock.once('close', resolve))
      const line = await logFor(proxy, undefined, (l) => l.client === '127.0.0.1:' + String(localPort))
      expect(line.outcome).toBe('ok')
      const { header: out } = splitV2(await origin.ended(before))
      const a = out.proxyAddress as IPv4ProxyAddress
      expect([a.sourceAddress.address, a.sourcePort]).toEqual([[127, 0, 0, 1], localPort])
    }
  })

  // every row: what the balancer sends, whether it then closes, the reason logged
  const BAD: Array<[string, Buffer, boolean, string]> = [
    ['truncated v2, then FIN', v2(0x11, tcp4('203.0.113.9', 1, '192.0.2.1', 443)).subarray(0, 20), true, 'proxy_header_truncated'],
    ['truncated v1, then silence until timeouts.hello', Buffer.from('PROXY TCP4 203.0.113.9 ', 'latin1'), false, 'proxy_header_timeout'],
    ['nothing at all within timeouts.hello', Buffer.alloc(0), false, 'proxy_header_timeout'],
    ['no header: a ClientHello straight away', hello('a.example'), true, 'proxy_header_malformed'],
    ['wrong v1 signature', Buffer.from('PROXZ TCP4 203.0.113.9 192.0.2.1 1 443\r\n', 'latin1'), true, 'proxy_header_malformed'],
    ['wrong v2 signature', Buffer.concat([Buffer.from('0d0a0d0a000d0a5155495458', 'hex'), Buffer.alloc(20)]), true, 'proxy_header_malformed'],
    ['v1 line over 107 bytes', Buffer.from('PROXY TCP6 ' + 'f'.repeat(120) + '\r\n', 'latin1'), true, 'proxy_header_too_long'],
    ['v2 length beyond the 2 KiB cap', Buffer.concat([V2_SIG, Buffer.from([0x21, 0x11, 0x08, 0x01])]), true, 'proxy_header_too_long'],
    ['v2 unknown family 0x41', v2(0x41, Buffer.alloc(12)), true, 'proxy_header_malformed'],
    ['v2 UNIX stream', v2(0x31, Buffer.alloc(216)), true, 'proxy_header_unsupported'],
    ['v2 TCP4 over UDP', v2(0x12, tcp4('203.0.113.9', 1, '192.0.2.1', 443)), true, 'proxy_header_unsupported'],
    ['v2 command 0x22', v2(0x11, tcp4('203.0.113.9', 1, '192.0.2.1', 443), Buffer.alloc(0), 0x22), true, 'proxy_header_malformed'],
    ['v2 TLV overrunning the header', v2(0x11, tcp4('203.0.113.9', 1, '192.0.2.1', 443), Buffer.from([0xe0, 0x00, 0x09, 1])), true, 'proxy_header_malformed'],
  ]

  it.each(BAD)('%s → proxy_header_invalid, nothing forwarded', async (_name, bytes, end, reason) => {
    const before = origin.connections
    const sock = net.connect(proxy.port, '127.0.0.1')
    await new Promise((resolve) => sock.once('connect', resolve))
    const localPort = sock.localPort!
    sock.on('error', () => {})
    const got: Buffer[] = []
    sock.on('data', (d: Buffer) => got.push(d))
    if (bytes.length > 0) sock.write(bytes)
    if (end) sock.end()
    await new Promise((resolve) => sock.once('close', resolve))
    const line = await logFor(proxy, undefined, (l) => l.client === '127.0.0.1:' + String(localPort))
    expect([line.outcome, line.reason]).toEqual(['proxy_header_invalid', reason])
    expect(Buffer.concat(got).length).toBe(0)
    expect(origin.connections).toBe(before)
  })

  it('the carried address is what access lists see: global deny, route deny (another route admits it)', async () => {
    const before = origin.connections
    const header = (ip: string): Buffer => Buffer.from(`PROXY TCP4 ${ip} 192.0.2.1 40000 443\r\n`, 'latin1')
    const g = await rawExchange(proxy.port, [header('198.51.100.7'), hello('a.example')], { endAfter: true })
    expect(g.data).toEqual(ACCESS_DENIED_ALERT)
    expect((await logFor(proxy, undefined, (l) => l.client === '198.51.100.7:40000')).reason).toBe('access')
    const r = await rawExchange(proxy.port, [header('203.0.113.77'), hello('deny.example')], { endAfter: true })
    expect(r.data).toEqual(ACCESS_DENIED_ALERT)
    const line = await logFor(proxy, undefined, (l) => l.client === '203.0.113.77:40000')
    expect([line.outcome, line.reason, line.route]).toEqual(['denied', 'route_access', 'deny.example'])
    expect(origin.connections).toBe(before)
    const ok = await rawExchange(proxy.port, [header('203.0.113.78'), hello('a.example')], { endAfter: true })
    expect(ok.data.toString()).toMatch(/^got \d+ bytes$/)
    expect(origin.connections).toBe(before + 1)
  })

  it('ECH: a hello with encrypted_client_hello (0xfe0d) is routed on its outer name and logged ech: true', async () => {
    const record = hello('a.example', [{ type: 0xfe0d, data: 40 }])
    await rawExchange(proxy.port, [Buffer.from('PROXY TCP4 192.0.2.200 192.0.2.1 40001 443\r\n', 'latin1'), record], { endAfter: true })
    const line = await logFor(proxy, undefined, (l) => l.client === '192.0.2.200:40001')
    expect([line.outcome, line.ech, line.sni]).toEqual(['ok', true, 'a.example'])
  })

  it('extreme JA4 inputs (600 ciphers, 300 extensions, GREASE everywhere) are fingerprinted without harm', async () => {
    const ciphers: number[] = []
    for (let i = 0; i < 600; i++) ciphers.push(i % 3 === 0 ? 0x0a0a + 0x1010 * (i % 16) : 0x1301 + i)
    const extra: { type: number, data?: number }[] = []
    for (let i = 0; i < 300; i++) extra.push({ type: 0x4000 + i, data: i % 5 })
    // every other GREASE type (grease: true adds 0x0a0a and 0x1a1a; a type twice would be a malformed hello)
    for (let g = 2; g < 16; g++) extra.push({ type: GREASE_EXT + 0x1010 * g, data: 1 })
    const hs = buildClientHello({ sni: 'a.example', cipherSuites: ciphers, extraExtensions: extra, grease: true, alpn: ['h2'] })
    const record = tlsRecord(hs)
    const r = await rawExchange(proxy.port, [Buffer.from('PROXY TCP4 192.0.2.201 192.0.2.1 40002 443\r\n', 'latin1'), record], { endAfter: true })
    expect(r.data.toString()).toMatch(/^got \d+ bytes$/)
    const line = await logFor(proxy, undefined, (l) => l.client === '192.0.2.201:40002')
    expect(line.outcome).toBe('ok')
    expect(line.ja4).toBe(ja4String(hs, 0, hs.length))
    expect(line.ja4).toMatch(/^t13d9999h2_[0-9a-f]{12}_[0-9a-f]{12}$/)
  })
})

describe('PROXY protocol in (handoff): each listen address keeps its own policy', () => {
  let origin: RecordingOrigin
  let proxy: CliProxy
  let ports: number[] = []

  beforeAll(async () => {
    origin = await startRecordingOrigin()
    proxy = await startCliProxy({ routes: {} }, undefined, {
      listen: ['127.0.0.1:0', { address: '127.0.0.1:0', proxyProtocol: { accept: ['v2'], from: ['127.0.0.1'] } },
        { address: '127.0.0.1:0', proxyProtocol: { accept: ['v1', 'v2'], from: ['10.0.0.0/8'] } }],
      workers: 2,
      accept: 'handoff',
      upstreams: { o: { servers: ['127.0.0.1:' + String(origin.port)], proxyProtocol: 'v1', health: { check: 'off' } } },
      routes: { 'a.example': 'o' },
      timeouts: { hello: '2s', connect: '2s', idle: '10s' },
    })
    const listening = await proxy.waitForLog((l) => l.evt === 'listening')
    ports = (listening.addresses as string[]).map((a) => Number(a.slice(a.lastIndexOf(':') + 1)))
  }, 30_000)

  afterAll(async () => {
    await proxy?.close()
    await origin?.close()
  })

  it('plain, trusted v2 (address carried into the v1 header to the origin), untrusted source, v1 where only v2 is accepted', async () => {
    const record = hello('a.example')
    let before = origin.connections
    const plain = await rawExchange(ports[0]!, [record], { endAfter: true })
    expect(plain.data.toString()).toMatch(/^got \d+ bytes$/)
    expect((await origin.ended(before)).toString('latin1')).toMatch(/^PROXY TCP4 127\.0\.0\.1 127\.0\.0\.1 \d+ \d+\r\n/)

    before = origin.connections
    const f = new ProxyHeaderFields()
    f.srcAddress = '192.0.2.50'
    f.srcPort = 1234
    f.dstAddress = '192.0.2.1'
    f.dstPort = 443
    const header = Buffer.from(buildProxyHeader(2, f) as Uint8Array)
    await rawExchange(ports[1]!, [header, record], { endAfter: true })
    const received = await origin.ended(before)
    expect(received.toString('latin1')).toBe('PROXY TCP4 192.0.2.50 192.0.2.1 1234 443\r\n' + record.toString('latin1'))
    expect((await logFor(proxy, undefined, (l) => l.client === '192.0.2.50:1234')).outcome).toBe('ok')

    before = origin.connections
    for (const [port, reason] of [[ports[2]!, 'untrusted_source'], [ports[1]!, 'proxy_header_unsupported']] as const) {
      const sock = net.connect(port, '127.0.0.1')
      await new Promise((resolve) => sock.once('connect', resolve))
      const localPort = sock.localPort!
      sock.on('error', () => {})
      sock.end(Buffer.concat([Buffer.from('PROXY TCP4 192.0.2.51 192.0.2.1 1 443\r\n'), record]))
      await new Promise((resolve) => sock.once('close', resolve))
      const line = await logFor(proxy, undefined, (l) => l.client === '127.0.0.1:' + String(localPort))
      expect([line.outcome, line.reason]).toEqual(['proxy_header_invalid', reason])
    }
    expect(origin.connections).toBe(before)
  })
})

/** A TLS client from `localAddress` (v4 or v6) to `host:port`: 'ok' with the body, or the error's message. */
function tlsTry (host: string, port: number, servername: string, ca: string, localAddress?: string): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({ host, port, servername, ca, ALPNProtocols: ['http/1.1'], ...(localAddress === undefined ? {} : { localAddress }) }, () => {
      s.write('GET / HTTP/1.1\r\nHost: ' + servername + '\r\n\r\n')
    })
    let body = ''
    s.setEncoding('latin1')
    s.on('data', (d: string) => { body += d })
    s.on('error', (e) => { resolve('error: ' + e.message) })
    s.on('end', () => { resolve(body.includes('200 OK') ? 'ok' : 'empty') })
  })
}

/** The JA4 of node:tls's ClientHello for these options, computed from the bytes a plain TCP server receives. */
async function nodeClientJa4 (servername: string): Promise<string> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const got = new Promise<Buffer>((resolve) => {
    server.once('connection', (c) => { c.once('data', (d: Buffer) => { resolve(d); c.destroy() }) })
  })
  const s = tls.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, servername, ALPNProtocols: ['http/1.1'], rejectUnauthorized: false })
  s.on('error', () => {})
  const wire = await got
  s.destroy()
  await new Promise((resolve) => server.close(resolve))
  const hs = handshakeOf(wire)
  return ja4String(hs, 0, hs.length)!
}

describe('access lists against real TLS clients', () => {
  let origin: TlsOrigin
  let proxy: CliProxy
  let v4 = 0
  let v6 = 0
  let ja4 = ''
  const NAMES = ['a.example', 'b.example', 'c.example', 'j.example', 'k.example']

  beforeAll(async () => {
    origin = await startTlsOrigin('o', NAMES)
    ja4 = await nodeClientJa4('j.example')
    const target = '127.0.0.1:' + String(origin.port)
    proxy = await startCliProxy({ routes: {} }, undefined, {
      listen: ['127.0.0.1:0', '[::1]:0'],
      workers: 1,
      routes: {
        'a.example': target,
        'b.example': { upstream: target, allow: ['127.0.0.3/32', '::1'] },
        'c.example': { upstream: target, deny: ['::1/128'] },
        'j.example': { upstream: target, denyJa4: [ja4] },
        'k.example': { upstream: target, allowJa4: ['t13d0000h2_000000000000_000000000000'] },
      },
      access: { allow: ['127.0.0.0/8', '::/0'], deny: ['127.0.0.2'] },
      timeouts: { hello: '2s', connect: '2s', idle: '10s' },
    })
    const listening = await proxy.waitForLog((l) => l.evt === 'listening')
    const ports = (listening.addresses as string[]).map((a) => Number(a.slice(a.lastIndexOf(':') + 1)))
    v4 = ports[0]!
    v6 = ports[1]!
  }, 30_000)

  afterAll(async () => {
    await proxy?.close()
    await origin?.close()
  })

  it('global deny wins over global allow; per-route allow admits only its members; IPv6 per-route deny', async () => {
    const ca = origin.cert
    expect(await tlsTry('127.0.0.1', v4, 'a.example', ca)).toBe('ok')
    expect(await tlsTry('127.0.0.1', v4, 'a.example', ca, '127.0.0.2')).toMatch(/access denied/i)
    expect(await tlsTry('127.0.0.1', v4, 'b.example', ca)).toMatch(/access denied/i)
    expect(await tlsTry('127.0.0.1', v4, 'b.example', ca, '127.0.0.3')).toBe('ok')
    expect(await tlsTry('::1', v6, 'b.example', ca)).toBe('ok')
    expect(await tlsTry('::1', v6, 'c.example', ca)).toMatch(/access denied/i)
    expect(await tlsTry('127.0.0.1', v4, 'c.example', ca)).toBe('ok')
    for (const [sni, reason] of [['a.example', 'access'], ['b.example', 'route_access'], ['c.example', 'route_access']]) {
      await logFor(proxy, undefined, (l) => l.outcome === 'denied' && l.sni === sni && l.reason === reason)
    }
  })

  it('denyJa4 refuses the node:tls client whose JA4 was computed from its captured hello; allowJa4 without it refuses too', async () => {
    const ca = origin.cert
    expect(await tlsTry('127.0.0.1', v4, 'j.example', ca)).toMatch(/access denied/i)
    const line = await logFor(proxy, undefined, (l) => l.sni === 'j.example')
    expect([line.outcome, line.reason, line.ja4]).toEqual(['denied', 'ja4', ja4])
    expect(await tlsTry('127.0.0.1', v4, 'k.example', ca)).toMatch(/access denied/i)
    expect(await tlsTry('127.0.0.1', v4, 'a.example', ca)).toBe('ok')
  })
})
