/**
 * End to end through the worker pool, in both accept models: real node:tls origins with their own
 * certificates, real TLS clients, raw TCP for byte-exact and hostile cases. Everything on 127.0.0.1:0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import net from 'node:net'
import { buildClientHello, wrapRecords } from '../helpers/build-hello.ts'
import {
  closedPort, rawExchange, startBlackholeOrigin, startRecordingOrigin, startTestProxy, startTlsOrigin,
  tlsRequest, waitFor, type RecordingOrigin, type TlsOrigin,
} from '../helpers/servers.ts'
import { crashWorker } from '../../src/pool/index.ts'

const ALPHA = 'alpha.test.hellogate.example'
const BETA = 'x.beta.test.hellogate.example'
const RAW = 'raw.test.hellogate.example'
const UNRECOGNIZED_NAME_ALERT = Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 112])
const DECODE_ERROR_ALERT = Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 50])

function record (hs: Uint8Array): Buffer {
  return Buffer.from(wrapRecords(hs, 1))
}

describe.each(['reuseport', 'handoff'] as const)('relay, accept=%s', (accept) => {
  let alpha: TlsOrigin
  let beta: TlsOrigin
  let raw: RecordingOrigin
  let proxy: Awaited<ReturnType<typeof startTestProxy>>

  beforeAll(async () => {
    alpha = await startTlsOrigin('alpha', [ALPHA])
    beta = await startTlsOrigin('beta', ['*.beta.test.hellogate.example'])
    raw = await startRecordingOrigin()
    proxy = await startTestProxy({
      accept,
      workers: 2,
      routes: {
        [ALPHA]: '127.0.0.1:' + String(alpha.port),
        '*.beta.test.hellogate.example': '127.0.0.1:' + String(beta.port),
        [RAW]: '127.0.0.1:' + String(raw.port),
      },
      timeouts: { hello: '600ms' },
    })
  })

  afterAll(async () => {
    await proxy.close(1000)
    await Promise.all([alpha.close(), beta.close(), raw.close()])
  })

  it('completes the handshake with each origin\'s own certificate and gets its response', async () => {
    const a = await tlsRequest(proxy.port, ALPHA, alpha.cert)
    expect(a.authorized).toBe(true)
    expect(a.fingerprint).toBe(alpha.fingerprint)
    expect(a.body).toContain('origin alpha')
    const b = await tlsRequest(proxy.port, BETA, beta.cert)
    expect(b.fingerprint).toBe(beta.fingerprint)
    expect(b.body).toContain('origin beta')
    expect(alpha.servernames).toContain(ALPHA)
    expect(beta.servernames).toContain(BETA)
  })

  it('matches names case-insensitively with one trailing dot ignored', async () => {
    const hs = buildClientHello({ sni: 'RAW.Test.HelloGate.Example.' })
    const before = raw.connections
    const res = await rawExchange(proxy.port, [record(hs)], { endAfter: true })
    expect(res.data.toString()).toMatch(/^got \d+ bytes$/)
    expect(raw.connections).toBe(before + 1)
  })

  it('forwards the hello byte for byte, split over TCP segments and TLS records, with the bytes after it', async () => {
    const hs = buildClientHello({ sni: RAW, alpn: ['h2', 'http/1.1'], padding: 600 })
    const wire = Buffer.from(wrapRecords(hs, 4))
    const tail = Buffer.from('early-data-and-more')
    const all = Buffer.concat([wire, tail])
    const chunks = [all.subarray(0, 3), all.subarray(3, 100), all.subarray(100, 101), all.subarray(101)]
    const before = raw.connections
    const res = await rawExchange(proxy.port, chunks, { endAfter: true, gapMs: 15 })
    expect(res.data.toString()).toBe('got ' + String(all.length) + ' bytes')
    expect(raw.connections).toBe(before + 1)
    expect(Buffer.compare(raw.received[before]!, all)).toBe(0)
  })

  it('relays after a client half-close: the client FIN reaches the origin and the reply still arrives', async () => {
    const hs = record(buildClientHello({ sni: RAW }))
    const body = Buffer.alloc(300_000, 7)
    const before = raw.connections
    const res = await rawExchange(proxy.port, [hs, body], { endAfter: true })
    expect(res.error).toBeNull()
    expect(res.data.toString()).toBe('got ' + String(hs.length + body.length) + ' bytes')
    expect(raw.received[before]!.length).toBe(hs.length + body.length)
  })

  it('relays after an origin half-close: the origin FIN reaches the client, which can still send', async () => {
    const origin = await startRecordingOrigin({
      onConnection: (s) => {
        // origin speaks and half-closes first, then waits for the client to finish
        s.end('origin-first')
        s.on('end', () => { /* client FIN arrived after its late bytes */ })
      },
    })
    const p2 = await startTestProxy({ accept, workers: 1, routes: { [RAW]: '127.0.0.1:' + String(origin.port) } })
    try {
      const hs = record(buildClientHello({ sni: RAW }))
      const got = await new Promise<{ data: string, sawEnd: boolean }>((resolve, reject) => {
        const c = net.connect({ port: p2.port, host: '127.0.0.1', allowHalfOpen: true })
        let data = ''
        c.on('error', reject)
        c.on('data', (d: Buffer) => { data += d.toString() })
        c.on('end', () => {
          // the origin is done talking; we still send, then close
          c.end('late-client-bytes')
          resolve({ data, sawEnd: true })
        })
        c.write(hs)
      })
      expect(got).toEqual({ data: 'origin-first', sawEnd: true })
      const all = await origin.ended(0)
      expect(all.subarray(hs.length).toString()).toBe('late-client-bytes')
    } finally {
      await p2.close(500)
      await origin.close()
    }
  })

  it('adds relayed bytes to the counters as they flow, before the connection closes', async () => {
    const down = Buffer.alloc(50_000, 1)
    const origin = await startRecordingOrigin({ onConnection: (s) => { s.write(down); s.on('end', () => { s.end() }) } })
    const p2 = await startTestProxy({ accept, workers: 1, routes: { [RAW]: '127.0.0.1:' + String(origin.port) } })
    const c = net.connect({ port: p2.port, host: '127.0.0.1', allowHalfOpen: true })
    try {
      let got = 0
      c.on('data', (d: Buffer) => { got += d.length })
      const hs = record(buildClientHello({ sni: RAW }))
      const body = Buffer.alloc(100_000, 2)
      c.write(Buffer.concat([hs, body]))
      await waitFor(() => got === down.length && origin.received[0]?.length === hs.length + body.length)
      // both sockets still open: the relay has not finished, yet the counters have the bytes
      await waitFor(() => p2.stats().counters.bytes_up === hs.length + body.length)
      expect(p2.stats().counters.bytes_down).toBe(down.length)
      expect(p2.stats().active[0]).toBe(1)
      c.end()
      await waitFor(() => p2.stats().outcomes.ok === 1)
      // and nothing more is added when it closes
      expect(p2.stats().counters.bytes_up).toBe(hs.length + body.length)
      expect(p2.stats().counters.bytes_down).toBe(down.length)
    } finally {
      c.destroy()
      await p2.close(500)
      await origin.close()
    }
  })

  it('closes a non-TLS client (HTTP) with not_tls and forwards nothing', async () => {
    const before = raw.connections
    const notTls = proxy.stats().outcomes.not_tls!
    const res = await rawExchange(proxy.port, [Buffer.from('GET / HTTP/1.1\r\nHost: ' + RAW + '\r\n\r\n')])
    expect(res.data.length).toBe(0)
    await waitFor(() => proxy.stats().outcomes.not_tls === notTls + 1)
    expect(raw.connections).toBe(before)
  })

  it('counts an empty connection as not_tls', async () => {
    const notTls = proxy.stats().outcomes.not_tls!
    const res = await rawExchange(proxy.port, [], { endAfter: true })
    expect(res.data.length).toBe(0)
    await waitFor(() => proxy.stats().outcomes.not_tls === notTls + 1)
  })

  it('answers an unknown name with an unrecognized_name alert and forwards nothing', async () => {
    const before = raw.connections
    const n = proxy.stats().outcomes.no_route!
    const res = await rawExchange(proxy.port, [record(buildClientHello({ sni: 'nobody.example.org' }))])
    expect(res.data).toEqual(UNRECOGNIZED_NAME_ALERT)
    await waitFor(() => proxy.stats().outcomes.no_route === n + 1)
    expect(raw.connections).toBe(before)
  })

  it('closes a hello without SNI when there is no default (no_sni)', async () => {
    const n = proxy.stats().outcomes.no_sni!
    const res = await rawExchange(proxy.port, [record(buildClientHello({}))])
    expect(res.data.subarray(0, 5)).toEqual(UNRECOGNIZED_NAME_ALERT.subarray(0, 5))
    await waitFor(() => proxy.stats().outcomes.no_sni === n + 1)
  })

  it('rejects a malformed hello (duplicate extension) with a decode_error alert', async () => {
    const before = raw.connections
    const n = proxy.stats().outcomes.malformed!
    const res = await rawExchange(proxy.port, [record(buildClientHello({ sni: RAW, duplicateExtension: true }))])
    expect(res.data).toEqual(DECODE_ERROR_ALERT)
    await waitFor(() => proxy.stats().outcomes.malformed === n + 1)
    expect(raw.connections).toBe(before)
  })

  it('rejects a truncated hello followed by FIN as malformed', async () => {
    const n = proxy.stats().outcomes.malformed!
    const wire = record(buildClientHello({ sni: RAW }))
    const res = await rawExchange(proxy.port, [wire.subarray(0, wire.length - 10)], { endAfter: true })
    expect(res.data).toEqual(DECODE_ERROR_ALERT)
    await waitFor(() => proxy.stats().outcomes.malformed === n + 1)
  })

  it('closes a hello larger than maxHelloBytes with too_large', async () => {
    const n = proxy.stats().outcomes.too_large!
    const wire = Buffer.from(wrapRecords(buildClientHello({ sni: RAW, padding: 20_000 }), 2))
    const res = await rawExchange(proxy.port, [wire])
    expect(res.data.length).toBe(0)
    await waitFor(() => proxy.stats().outcomes.too_large === n + 1)
  })

  it('times out a silent client and a trickling one (hello_timeout)', async () => {
    const n = proxy.stats().outcomes.hello_timeout!
    const wire = record(buildClientHello({ sni: RAW }))
    const trickle = Array.from({ length: 40 }, (_, i) => wire.subarray(i, i + 1))
    const [silent, slow] = await Promise.all([
      rawExchange(proxy.port, []),
      rawExchange(proxy.port, trickle, { gapMs: 50 }),
    ])
    expect(silent.closedMs).toBeGreaterThanOrEqual(500)
    expect(silent.closedMs).toBeLessThan(5000)
    expect(slow.closedMs).toBeLessThan(5000)
    await waitFor(() => proxy.stats().outcomes.hello_timeout === n + 2)
  })

  it('closes the client promptly when the origin refuses (origin_connect_failed)', async () => {
    const port = await closedPort()
    const p2 = await startTestProxy({ accept, workers: 1, routes: { [RAW]: '127.0.0.1:' + String(port) } })
    try {
      const res = await rawExchange(p2.port, [record(buildClientHello({ sni: RAW }))])
      expect(res.closedMs).toBeLessThan(2000)
      await waitFor(() => p2.stats().outcomes.origin_connect_failed === 1)
    } finally {
      await p2.close(500)
    }
  })

  it('closes the client when the origin does not answer in time (origin_connect_timeout)', async () => {
    const hole = await startBlackholeOrigin()
    const p2 = await startTestProxy({ accept, workers: 1, routes: { [RAW]: '127.0.0.1:' + String(hole.port) }, timeouts: { connect: '300ms' } })
    try {
      const res = await rawExchange(p2.port, [record(buildClientHello({ sni: RAW }))])
      expect(res.closedMs).toBeGreaterThanOrEqual(250)
      expect(res.closedMs).toBeLessThan(3000)
      await waitFor(() => p2.stats().outcomes.origin_connect_timeout === 1)
    } finally {
      await p2.close(500)
      await hole.close()
    }
  })
})

describe('default route', () => {
  it('sends hellos without SNI and unknown names to the default origin', async () => {
    const origin = await startRecordingOrigin()
    const proxy = await startTestProxy({ workers: 1, routes: { 'known.example': '127.0.0.1:1' }, default: '127.0.0.1:' + String(origin.port) })
    try {
      const a = await rawExchange(proxy.port, [record(buildClientHello({}))], { endAfter: true })
      const b = await rawExchange(proxy.port, [record(buildClientHello({ sni: 'other.example' }))], { endAfter: true })
      expect(a.data.toString()).toMatch(/^got \d+ bytes$/)
      expect(b.data.toString()).toMatch(/^got \d+ bytes$/)
      expect(origin.connections).toBe(2)
      await waitFor(() => proxy.stats().counters.route_default === 2)
    } finally {
      await proxy.close(500)
      await origin.close()
    }
  })
})

describe.each(['reuseport', 'handoff'] as const)('supervision, accept=%s', (accept) => {
  it('replaces a crashed worker and keeps serving', async () => {
    const origin = await startTlsOrigin('alpha', [ALPHA])
    const proxy = await startTestProxy({ accept, workers: 2, routes: { [ALPHA]: '127.0.0.1:' + String(origin.port) } })
    try {
      expect((await tlsRequest(proxy.port, ALPHA, origin.cert)).body).toContain('origin alpha')
      crashWorker(proxy, 0)
      await waitFor(() => proxy.stats().restarts === 1, 5000, 2)
      // every connection made while a worker is down or restarting still succeeds; count the ones
      // that began and ended while worker 0 was down, so that the claim is checked, not assumed
      let whileDown = 0
      for (let i = 0; i < 10; i++) {
        const downBefore = !proxy.stats().up[0]!
        expect((await tlsRequest(proxy.port, ALPHA, origin.cert)).body).toContain('origin alpha')
        if (downBefore && !proxy.stats().up[0]!) whileDown++
      }
      expect(whileDown).toBeGreaterThanOrEqual(1)
      await waitFor(() => proxy.stats().up[0] === true)
      await new Promise((resolve) => setTimeout(resolve, 300))
      for (let i = 0; i < 6; i++) {
        expect((await tlsRequest(proxy.port, ALPHA, origin.cert)).body).toContain('origin alpha')
      }
    } finally {
      await proxy.close(500)
      await origin.close()
    }
  })
})
