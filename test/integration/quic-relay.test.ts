/**
 * QUIC flows through a real proxy (worker threads, real UDP sockets on 127.0.0.1) with client Initials
 * built by test/helpers/quic-initial.ts and two recording UDP origins: what reaches which origin, in
 * which order and byte for byte, and every kind of bad input dropped and counted by reason without
 * a crash, a datagram to the wrong origin or an unbounded buffer. The real QUIC stacks are in
 * quic-ngtcp2.test.ts and quic-chromium.test.ts.
 */
import dgram from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { buildClientHello } from '../helpers/build-hello.ts'
import { V1, cryptoFrame, helloDatagrams, protectInitial, varint } from '../helpers/quic-initial.ts'
import { startTestProxy, waitFor } from '../helpers/servers.ts'
import type { ProxyHandle } from '../../src/pool/index.ts'

interface UdpEnd {
  socket: dgram.Socket
  port: number
  got: Array<{ data: Buffer, port: number }>
  close: () => Promise<void>
}

async function udpEnd (): Promise<UdpEnd> {
  const socket = dgram.createSocket('udp4')
  const got: Array<{ data: Buffer, port: number }> = []
  socket.on('message', (data, rinfo) => { got.push({ data, port: rinfo.port }) })
  await new Promise<void>((resolve) => { socket.bind(0, '127.0.0.1', resolve) })
  return { socket, port: socket.address().port, got, close: () => new Promise((resolve) => { socket.close(() => { resolve() }) }) }
}

async function send (from: UdpEnd, port: number, ...datagrams: Buffer[]): Promise<void> {
  for (const d of datagrams) {
    await new Promise<void>((resolve, reject) => { from.socket.send(d, port, '127.0.0.1', (err) => { if (err) reject(err); else resolve() }) })
  }
}

/** a hello (post-quantum sized: two datagrams) split at byte 900, with its own DCID */
function twoDatagramHello (sni: string): Buffer[] {
  const hello = buildClientHello({ sni, alpn: ['h3'], keyShareBytes: 1216 })
  return helloDatagrams(hello, [[{ offset: 0, length: 900 }], [{ offset: 900, length: hello.length - 900 }]], V1, randomBytes(8))
}

function oneDatagramHello (sni: string): Buffer {
  const hello = buildClientHello({ sni, alpn: ['h3'] })
  return helloDatagrams(hello, [[{ offset: 0, length: hello.length }]], V1, randomBytes(8))[0]!
}

/** a v1 0-RTT packet (type 0b01) of `size` bytes: a long header the decoder delimits but does not open */
function zeroRtt (size: number, dcid?: Buffer): Buffer {
  return protectInitial({ version: V1, type: 0x10, dcid, pn: 0, frames: Buffer.from([0x01]), padTo: size })
}

function counter (proxy: ProxyHandle, name: string): number {
  return proxy.stats().counters[name] ?? 0
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** ms: long enough for a datagram on loopback through a worker; what must not arrive has had this long */
const SETTLE_MS = 300

describe('QUIC flows: routing, order and relay', () => {
  let a: UdpEnd
  let b: UdpEnd
  let proxy: ProxyHandle & { port: number }
  let port = 0

  beforeAll(async () => {
    a = await udpEnd()
    b = await udpEnd()
    proxy = await startTestProxy({
      workers: 1,
      routes: { 'a.example': '127.0.0.1:' + String(a.port), 'b.example': '127.0.0.1:' + String(b.port) },
      timeouts: { hello: '500ms' },
      quic: { listen: '127.0.0.1:0', idleTimeout: '1s', maxPendingBytes: 6000 },
    })
    port = proxy.quicAddresses[0]!.port
  })

  beforeEach(() => {
    a.got.length = 0
    b.got.length = 0
  })

  afterAll(async () => {
    await proxy?.close(100)
    await a?.close()
    await b?.close()
  })

  it('a two-datagram hello with 0-RTT in between reaches its origin in arrival order, byte for byte, then both ways unchanged', async () => {
    const c = await udpEnd()
    const [d1, d2] = twoDatagramHello('a.example')
    const early = zeroRtt(400)
    const multiBefore = counter(proxy, 'quic_hello_multi_datagram')
    await send(c, port, d1!, early, d2!)
    await waitFor(() => a.got.length >= 3)
    expect(a.got.map((g) => g.data.toString('hex'))).toEqual([d1!, early, d2!].map((d) => d.toString('hex')))
    expect(counter(proxy, 'quic_hello_multi_datagram')).toBe(multiBefore + 1)
    // later datagrams (a short header: 1-RTT) go up unchanged; the origin's answers come back unchanged
    const short = Buffer.concat([Buffer.from([0x41]), randomBytes(60)])
    await send(c, port, short)
    await waitFor(() => a.got.length >= 4)
    expect(a.got[3]!.data.equals(short)).toBe(true)
    const reply = randomBytes(1300)
    await new Promise<void>((resolve) => { a.socket.send(reply, a.got[3]!.port, '127.0.0.1', () => { resolve() }) })
    await waitFor(() => c.got.length >= 1)
    expect(c.got[0]!.data.equals(reply)).toBe(true)
    // every datagram of the flow went through one origin socket
    expect(new Set(a.got.map((g) => g.port)).size).toBe(1)
    expect(b.got).toHaveLength(0)
    await c.close()
  })

  it('each name reaches its own origin', async () => {
    const c = await udpEnd()
    const hello = oneDatagramHello('b.example')
    await send(c, port, hello)
    await waitFor(() => b.got.length >= 1)
    expect(b.got[0]!.data.equals(hello)).toBe(true)
    await sleep(SETTLE_MS)
    expect(a.got).toHaveLength(0)
    await c.close()
  })

  it('a name without a route reaches no origin; retransmits are dropped; the flow ends no_route', async () => {
    const c = await udpEnd()
    const before = { noRoute: counter(proxy, 'outcome_no_route'), refused: counter(proxy, 'quic_drop_refused') }
    const hello = oneDatagramHello('nowhere.example')
    await send(c, port, hello, hello)
    await waitFor(() => counter(proxy, 'outcome_no_route') === before.noRoute + 1, 3000)
    expect(counter(proxy, 'quic_drop_refused')).toBe(before.refused + 1)
    expect(a.got.length + b.got.length).toBe(0)
    await c.close()
  })

  it('a flipped AEAD tag bit and a packet of another version inside a pending flow are dropped without touching it', async () => {
    const c = await udpEnd()
    const [d1, d2] = twoDatagramHello('a.example')
    const flipped = Buffer.from(d2!)
    flipped[flipped.length - 1]! ^= 0x01
    // the flow is v1: a v2 Initial with its DCID cannot belong to it (RFC 9000 §7.2: same DCID, same version)
    const otherVersion = Buffer.from(d2!)
    otherVersion.writeUInt32BE(0x6b3343cf, 1)
    otherVersion[0] = (otherVersion[0]! & ~0x30) | 0x10
    const before = { decrypt: counter(proxy, 'quic_drop_decrypt'), unreadable: counter(proxy, 'quic_drop_unreadable') }
    await send(c, port, d1!, flipped, otherVersion, d2!)
    await waitFor(() => a.got.length >= 2)
    await sleep(SETTLE_MS)
    expect(a.got.map((g) => g.data.toString('hex'))).toEqual([d1!, d2!].map((d) => d.toString('hex')))
    expect(counter(proxy, 'quic_drop_decrypt')).toBe(before.decrypt + 1)
    expect(counter(proxy, 'quic_drop_unreadable')).toBe(before.unreadable + 1)
    await c.close()
  })

  it('datagrams that cannot start a flow are dropped and counted by reason, and leave no flow behind', async () => {
    const c = await udpEnd()
    const good = oneDatagramHello('a.example')
    const names = ['quic_drop_unreadable', 'quic_drop_small', 'quic_drop_oversized', 'quic_drop_decrypt', 'quic_drop_version', 'quic_flows_opened']
    const before = Object.fromEntries(names.map((n) => [n, counter(proxy, n)]))
    const flipped = Buffer.from(good)
    flipped[flipped.length - 1]! ^= 0x80
    // a v1 Initial relabelled v2 (version and v2 Initial type bits): the v2 salt gives other keys
    const wrongSalt = Buffer.from(good)
    wrongSalt.writeUInt32BE(0x6b3343cf, 1)
    wrongSalt[0] = (wrongSalt[0]! & ~0x30) | 0x10
    const draft29 = Buffer.from(good)
    draft29.writeUInt32BE(0xff00001d, 1)
    const vn = Buffer.from(good)
    vn.writeUInt32BE(0, 1)
    await send(c, port,
      good.subarray(0, 20), // a long header cut inside its DCID
      Buffer.from([0x40, 1, 2, 3]), // a short header with no flow
      protectInitial({ frames: cryptoFrame(0, buildClientHello({ sni: 'a.example' })), padTo: 1199 }), // RFC 9000 §14.1
      protectInitial({ frames: cryptoFrame(0, buildClientHello({ sni: 'a.example' })), padTo: 9000 }), // above any Initial
      flipped, wrongSalt, draft29, vn)
    await waitFor(() => counter(proxy, 'quic_drop_version') === before.quic_drop_version! + 2)
    expect(counter(proxy, 'quic_drop_unreadable')).toBe(before.quic_drop_unreadable! + 2)
    expect(counter(proxy, 'quic_drop_small')).toBe(before.quic_drop_small! + 1)
    expect(counter(proxy, 'quic_drop_oversized')).toBe(before.quic_drop_oversized! + 1)
    expect(counter(proxy, 'quic_drop_decrypt')).toBe(before.quic_drop_decrypt! + 2)
    expect(counter(proxy, 'quic_flows_opened')).toBe(before.quic_flows_opened)
    // the same 4-tuple then starts a flow as if nothing had happened
    await send(c, port, good)
    await waitFor(() => a.got.length >= 1)
    expect(a.got.map((g) => g.data.toString('hex'))).toEqual([good.toString('hex')])
    await c.close()
  })

  it('CRYPTO offsets beyond maxHelloBytes refuse the flow (too_large); nothing is forwarded', async () => {
    const c = await udpEnd()
    const before = counter(proxy, 'outcome_too_large')
    const far = protectInitial({ dcid: randomBytes(8), frames: Buffer.concat([Buffer.from([0x06]), varint(2 ** 40, 8), varint(1), Buffer.from([1])]) })
    await send(c, port, far, oneDatagramHello('a.example'))
    await waitFor(() => counter(proxy, 'outcome_too_large') === before + 1, 3000)
    expect(a.got.length + b.got.length).toBe(0)
    await c.close()
  })

  it('a hello that never completes ends hello_timeout; its held datagrams stop at maxPendingBytes and go nowhere', async () => {
    const c = await udpEnd()
    const [d1] = twoDatagramHello('a.example')
    const before = { timeout: counter(proxy, 'outcome_hello_timeout'), bytes: counter(proxy, 'quic_drop_pending_bytes') }
    // 1200 + 4 × 1000 held (5200 ≤ 6000); the fifth and sixth 0-RTT datagrams would pass the cap
    await send(c, port, d1!, ...Array.from({ length: 6 }, () => zeroRtt(1000)))
    await waitFor(() => counter(proxy, 'quic_drop_pending_bytes') === before.bytes + 2)
    await waitFor(() => counter(proxy, 'outcome_hello_timeout') === before.timeout + 1, 3000)
    expect(a.got.length + b.got.length).toBe(0)
    await c.close()
  })

  it('an origin datagram for a flow that idled out never reaches the client, and the proxy carries on', async () => {
    const c = await udpEnd()
    const hello = oneDatagramHello('a.example')
    await send(c, port, hello)
    await waitFor(() => a.got.length >= 1)
    const flowPort = a.got[0]!.port
    const okBefore = counter(proxy, 'outcome_ok') + counter(proxy, 'outcome_origin_connect_timeout')
    // idleTimeout 1 s: the flow is forgotten and its origin socket closed
    await waitFor(() => counter(proxy, 'outcome_ok') + counter(proxy, 'outcome_origin_connect_timeout') === okBefore + 1, 3000)
    expect(counter(proxy, 'quic_flows_active')).toBe(0)
    await new Promise<void>((resolve) => { a.socket.send(randomBytes(100), flowPort, '127.0.0.1', () => { resolve() }) })
    await sleep(SETTLE_MS)
    expect(c.got).toHaveLength(0)
    // the same client starts again: a new flow, a new origin socket
    a.got.length = 0
    await send(c, port, hello)
    await waitFor(() => a.got.length >= 1)
    expect(a.got[0]!.port).not.toBe(flowPort)
    await c.close()
  })
})

/**
 * One hellogate with a QUIC listener in front of one UDP origin for a describe block: `config` gets the
 * origin's port; started in beforeAll, stopped in afterAll.
 */
function quicRig (config: (origin: number) => Parameters<typeof startTestProxy>[0]): { a: UdpEnd, proxy: ProxyHandle & { port: number }, port: number } {
  const rig = { a: undefined as unknown as UdpEnd, proxy: undefined as unknown as ProxyHandle & { port: number }, port: 0 }
  beforeAll(async () => {
    rig.a = await udpEnd()
    rig.proxy = await startTestProxy(config(rig.a.port))
    rig.port = rig.proxy.quicAddresses[0]!.port
  })
  afterAll(async () => {
    await rig.proxy?.close(100)
    await rig.a?.close()
  })
  return rig
}

describe('QUIC flows: a flood of new 4-tuples meets the flow caps', () => {
  const rig = quicRig((origin) => ({
    workers: 1,
    routes: { 'a.example': '127.0.0.1:' + String(origin) },
    timeouts: { hello: '300ms' },
    quic: { listen: '127.0.0.1:0', idleTimeout: '1s', maxFlows: 3, maxPendingFlows: 2 },
  }))

  it('pending flows past maxPendingFlows and flows past maxFlows are dropped and counted; the admitted ones work', async () => {
    const clients = await Promise.all(Array.from({ length: 5 }, () => udpEnd()))
    // half hellos from 5 addresses: 2 may wait, 3 are dropped
    for (const c of clients) await send(c, rig.port, twoDatagramHello('a.example')[0]!)
    await waitFor(() => counter(rig.proxy, 'quic_drop_pending_limit') === 3)
    expect(counter(rig.proxy, 'quic_flows_opened')).toBe(2)
    await waitFor(() => counter(rig.proxy, 'outcome_hello_timeout') === 2, 3000)
    // whole hellos from 5 addresses: 3 flows, 2 dropped
    const others = await Promise.all(Array.from({ length: 5 }, () => udpEnd()))
    for (const c of others) await send(c, rig.port, oneDatagramHello('a.example'))
    await waitFor(() => counter(rig.proxy, 'quic_drop_flow_limit') === 2)
    await sleep(SETTLE_MS)
    expect(rig.a.got).toHaveLength(3)
    expect(counter(rig.proxy, 'quic_flows_active')).toBe(3)
    for (const c of [...clients, ...others]) await c.close()
  })
})

describe('QUIC flows: quic.unknownVersion: default', () => {
  const rig = quicRig((origin) => ({
    workers: 1,
    routes: { 'x.example': '127.0.0.1:' + String(origin) },
    default: '127.0.0.1:' + String(origin),
    quic: { listen: '127.0.0.1:0', unknownVersion: 'default' },
  }))

  it('relays a flow of a version it cannot read to the default pool, unless its first datagram is under 1200 bytes', async () => {
    const c = await udpEnd()
    const draft29 = Buffer.from(oneDatagramHello('x.example'))
    draft29.writeUInt32BE(0xff00001d, 1)
    await send(c, rig.port, draft29.subarray(0, 1000), draft29)
    await waitFor(() => rig.a.got.length >= 1)
    await sleep(SETTLE_MS)
    expect(rig.a.got.map((g) => g.data.toString('hex'))).toEqual([draft29.toString('hex')])
    expect(counter(rig.proxy, 'quic_drop_version')).toBe(1)
    expect(counter(rig.proxy, 'route_default')).toBe(1)
    await c.close()
  })
})

describe('QUIC flows: the access lists, as on TCP', () => {
  const rig = quicRig((origin) => ({
    workers: 1,
    routes: {
      'open.example': '127.0.0.1:' + String(origin),
      'closed.example': { upstream: '127.0.0.1:' + String(origin), deny: ['127.0.0.0/8'] },
      'ja4.example': { upstream: '127.0.0.1:' + String(origin), allowJa4: ['t13d1516h2_8daaf6152771_02713d6af862'] },
    },
    quic: { listen: '127.0.0.1:0' },
  }))

  it('refuses a flow whose client a route denies, or whose QUIC JA4 its allowJa4 list lacks (denied, nothing forwarded); admits the open route', async () => {
    // one client address and port per flow: a second hello on a refused flow's 4-tuple is dropped with it
    const c = await udpEnd()
    const e = await udpEnd()
    await send(c, rig.port, oneDatagramHello('closed.example'))
    await send(e, rig.port, oneDatagramHello('ja4.example'))
    await waitFor(() => counter(rig.proxy, 'outcome_denied') === 2)
    await sleep(SETTLE_MS)
    expect(rig.a.got).toHaveLength(0)
    await c.close()
    await e.close()
    const d = await udpEnd()
    await send(d, rig.port, oneDatagramHello('open.example'))
    await waitFor(() => rig.a.got.length >= 1)
    expect(counter(rig.proxy, 'outcome_denied')).toBe(2)
    await d.close()
  })
})
