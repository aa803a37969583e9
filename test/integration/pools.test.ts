/**
 * Upstream pools end to end, in-process with real worker threads: real origins on 127.0.0.1:0, real
 * TLS clients (node:tls, openssl s_client), raw hellos for byte-exact checks. Balancing, failover with
 * dead and black-holed servers, active checks taking a server out and bringing it back, backups,
 * no_healthy_origin, ALPN routing, and PROXY v1/v2 headers read back by an independent parser.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import net from 'node:net'
import tls from 'node:tls'
import { execFile } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { IPv4ProxyAddress, V1ProxyProtocol, V2ProxyProtocol } from 'proxy-protocol-js'
import { buildClientHello, wrapRecords } from '../helpers/build-hello.ts'
import { generateSelfSignedCert } from '../../src/demo/cert.ts'
import { swrrCycle } from '../../src/upstreams/index.ts'
import {
  closedPort, rawConfig, rawExchange, startBlackholeOrigin, tempFile, startRecordingOrigin, startTestProxy, startTlsOrigin,
  tlsRequest, waitFor, type RecordingOrigin,
} from '../helpers/servers.ts'
import { startProxyProtocolOrigin } from '../helpers/upstream-origins.ts'
import { haveTool } from '../helpers/tools.ts'

const NAME = 'pool.test.hellogate.example'
const HELLO = Buffer.from(wrapRecords(buildClientHello({ sni: NAME }), 1))
const addr = (port: number): string => '127.0.0.1:' + String(port)

/** One raw connection with the hello, FIN after it; resolves once the origin's answer came back. */
async function oneConnection (port: number, localAddress?: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    const c = net.connect({ port, host: '127.0.0.1', localAddress, allowHalfOpen: false })
    let data = ''
    c.on('data', (d: Buffer) => { data += d.toString() })
    c.on('error', reject)
    c.on('close', () => { resolve(data) })
    c.end(HELLO)
  })
}

/** Which of the origins got the newest connection (by their connection counts before and after). */
function whichGotOne (origins: readonly RecordingOrigin[], before: readonly number[]): number {
  const moved = origins.map((o, i) => o.connections - before[i]!)
  expect(moved.reduce((a, b) => a + b, 0)).toBe(1)
  return moved.indexOf(1)
}

describe('balancing', () => {
  let origins: RecordingOrigin[] = []
  afterAll(async () => { await Promise.all(origins.map((o) => o.close())) })

  it('roundrobin is nginx\'s smooth weighted sequence, exactly (weights 5, 1, 1)', async () => {
    origins = await Promise.all([startRecordingOrigin(), startRecordingOrigin(), startRecordingOrigin()])
    const proxy = await startTestProxy({
      workers: 1,
      upstreams: {
        rr: {
          servers: [{ address: addr(origins[0]!.port), weight: 5 }, addr(origins[1]!.port), addr(origins[2]!.port)],
          balance: 'roundrobin',
          health: { check: 'off' },
        },
      },
      routes: { [NAME]: 'rr' },
    })
    try {
      const seen: number[] = []
      for (let i = 0; i < 21; i++) {
        const before = origins.map((o) => o.connections)
        expect(await oneConnection(proxy.port)).toMatch(/^got \d+ bytes$/)
        seen.push(whichGotOne(origins, before))
      }
      const cycle = [...swrrCycle([5, 1, 1])]
      expect(cycle).toHaveLength(7)
      // the shared cursor may start anywhere in the cycle: the sequence is the cycle, rotated
      const start = cycle.findIndex((_, k) => cycle.every((_, j) => cycle[(k + j) % 7] === seen[j]))
      expect(start).toBeGreaterThanOrEqual(0)
      for (let i = 0; i < seen.length; i++) expect(seen[i]).toBe(cycle[(start + i) % 7])
    } finally {
      await proxy.close(500)
    }
  })

  it('leastconn follows long connections, process-wide across workers', async () => {
    const [a, b] = await Promise.all([
      // held open until the client goes; then the origin closes its side too and the session ends
      startRecordingOrigin({ onConnection: (s) => { s.on('end', () => s.end()) } }),
      startRecordingOrigin({ onConnection: (s) => { s.on('end', () => s.end()) } }),
    ])
    const proxy = await startTestProxy({
      workers: 2,
      upstreams: { lc: { servers: [addr(a.port), addr(b.port)], balance: 'leastconn', health: { check: 'off' } } },
      routes: { [NAME]: 'lc' },
    })
    const held: Array<{ socket: net.Socket, server: number }> = []
    try {
      /** a long connection, opened once the previous one reached its origin; which origin it reached */
      const openHeld = async (): Promise<void> => {
        const before = [a.connections, b.connections]
        const socket = net.connect({ port: proxy.port, host: '127.0.0.1' })
        socket.on('error', () => {})
        socket.write(HELLO)
        await waitFor(() => a.connections + b.connections === before[0]! + before[1]! + 1)
        held.push({ socket, server: whichGotOne([a, b], before) })
      }
      for (let i = 0; i < 4; i++) await openHeld()
      // ties alternate, so two long connections each
      expect(held.filter((h) => h.server === 0)).toHaveLength(2)
      // close the two on the first server; the gauges drop; new connections now all go there
      for (const h of held.filter((x) => x.server === 0)) h.socket.destroy()
      await waitFor(() => proxy.stats().counters.conn_active === 2)
      for (let i = 0; i < 2; i++) await openHeld()
      expect(held.slice(4).map((h) => h.server)).toEqual([0, 0])
    } finally {
      for (const h of held) h.socket.destroy()
      await proxy.close(500)
      await Promise.all([a.close(), b.close()])
    }
  })

  it('hash keeps each client address on one server and spreads addresses over all of them', async () => {
    const os = await Promise.all([startRecordingOrigin(), startRecordingOrigin(), startRecordingOrigin()])
    const proxy = await startTestProxy({
      workers: 2,
      upstreams: { h: { servers: os.map((o) => addr(o.port)), balance: 'hash', health: { check: 'off' } } },
      routes: { [NAME]: 'h' },
    })
    try {
      const first = new Map<string, number>()
      for (let round = 0; round < 2; round++) {
        for (let i = 2; i < 26; i++) {
          const local = '127.0.0.' + String(i)
          const before = os.map((o) => o.connections)
          await oneConnection(proxy.port, local)
          const got = whichGotOne(os, before)
          if (round === 0) first.set(local, got)
          else expect(got, local).toBe(first.get(local))
        }
      }
      expect(new Set(first.values()).size).toBe(3)
    } finally {
      await proxy.close(500)
      await Promise.all(os.map((o) => o.close()))
    }
  })
})

describe('failover', () => {
  it('retries a refusing and a black-holed server on the healthy one: no client failure in a loop of new connections', async () => {
    const good = await startTlsOrigin('good', [NAME])
    const hole = await startBlackholeOrigin()
    const dead = await closedPort()
    const proxy = await startTestProxy({
      workers: 1,
      upstreams: {
        shop: {
          servers: [addr(dead), addr(hole.port), addr(good.port)],
          balance: 'roundrobin',
          health: { check: 'off' },
          passive: { failures: 0 },
          connect: { timeout: '300ms', retries: 2 },
        },
      },
      routes: { [NAME]: 'shop' },
    })
    try {
      for (let i = 0; i < 9; i++) {
        const r = await tlsRequest(proxy.port, NAME, good.cert)
        expect(r.fingerprint).toBe(good.fingerprint)
        expect(r.body).toContain('origin good')
      }
      await waitFor(() => proxy.stats().outcomes.ok === 9)
      const st = proxy.stats()
      // each server is first in turn: 3 start on the dead one (1 retry), 3 on the black hole (1 retry),
      // and the 3 that start on the dead one… whatever the rotation, retries happened and none failed
      expect(st.counters.origin_retry).toBeGreaterThanOrEqual(6)
      expect(st.outcomes.origin_connect_failed).toBe(0)
      expect(st.outcomes.origin_connect_timeout).toBe(0)
    } finally {
      await proxy.close(500)
      await Promise.all([good.close(), hole.close()])
    }
  })

  it('without retries left, the connect failure is the outcome and nothing reaches the client', async () => {
    const dead = await closedPort()
    const proxy = await startTestProxy({
      workers: 1,
      upstreams: { one: { servers: [addr(dead)], health: { check: 'off' }, passive: { failures: 0 }, connect: { retries: 2 } } },
      routes: { [NAME]: 'one' },
    })
    try {
      const res = await rawExchange(proxy.port, [HELLO])
      expect(res.data.length).toBe(0)
      await waitFor(() => proxy.stats().outcomes.origin_connect_failed === 1)
      // a pool of one has no other server to retry on
      expect(proxy.stats().counters.origin_retry).toBe(0)
    } finally {
      await proxy.close(500)
    }
  })
})

describe('health', () => {
  it('an active check takes a dead server out (no attempt goes to it) and brings it back once it answers', async () => {
    const a = await startRecordingOrigin()
    const b = await startRecordingOrigin()
    const aPort = a.port
    const proxy = await startTestProxy({
      workers: 1,
      upstreams: {
        p: {
          servers: [addr(a.port), addr(b.port)],
          balance: 'roundrobin',
          health: { check: 'tcp', interval: '1s', timeout: '500ms', rise: 1, fall: 1 },
          passive: { failures: 0 },
          connect: { retries: 0 },
        },
      },
      routes: { [NAME]: 'p' },
    })
    let a2: net.Server | null = null
    try {
      const stateOfA = (): string | undefined => proxy.stats().upstreams.find((u) => u.server === addr(aPort))?.state
      expect(stateOfA()).toBe('up')
      await a.close()
      // after one failed check (≤ interval + timeout), it is down and no connection is tried on it
      await waitFor(() => stateOfA() === 'down', 4000)
      for (let i = 0; i < 6; i++) expect(await oneConnection(proxy.port)).toMatch(/^got \d+ bytes$/)
      expect(proxy.stats().outcomes.origin_connect_failed).toBe(0)
      // back on the same port: after one good check it takes connections again
      let aConnections = 0
      a2 = net.createServer((s) => { aConnections++; s.on('error', () => {}); s.resume(); s.on('end', () => s.end('got a')) })
      await new Promise<void>((resolve) => a2!.listen(aPort, '127.0.0.1', resolve))
      await waitFor(() => stateOfA() === 'up', 4000)
      const checksSoFar = aConnections
      for (let i = 0; i < 6; i++) await oneConnection(proxy.port)
      expect(aConnections - checksSoFar).toBeGreaterThanOrEqual(2)
    } finally {
      await proxy.close(500)
      await b.close()
      await new Promise((resolve) => { if (a2 === null) resolve(null); else a2.close(resolve) })
    }
  })

  it('a backup takes connections only while no primary is up; all down and no backup is no_healthy_origin', async () => {
    const backup = await startRecordingOrigin()
    const dead = await closedPort()
    const dead2 = await closedPort()
    const check = { check: 'tcp', interval: '1s', timeout: '500ms', rise: 1, fall: 1 }
    const proxy = await startTestProxy({
      workers: 1,
      upstreams: {
        withBackup: { servers: [addr(dead), { address: addr(backup.port), backup: true }], health: check },
        none: { servers: [addr(dead2)], health: check },
      },
      routes: { [NAME]: 'withBackup', ['down.' + NAME]: 'none' },
    })
    try {
      await new Promise((resolve) => setTimeout(resolve, 2500))
      expect(await oneConnection(proxy.port)).toMatch(/^got \d+ bytes$/)
      // the backup's other connections are its own health checks, which send nothing
      expect(backup.received.filter((b) => b.length > 0)).toHaveLength(1)
      const res = await rawExchange(proxy.port, [Buffer.from(wrapRecords(buildClientHello({ sni: 'down.' + NAME }), 1))])
      expect(res.data.length).toBe(0)
      expect(res.closedMs).toBeLessThan(1000)
      await waitFor(() => proxy.stats().outcomes.no_healthy_origin === 1)
    } finally {
      await proxy.close(500)
      await backup.close()
    }
  })
})

describe('passive ejection and reload', () => {
  it('consecutive connect failures eject a server: later connections do not try it', async () => {
    const good = await startRecordingOrigin()
    const dead = await closedPort()
    const proxy = await startTestProxy({
      workers: 1,
      upstreams: {
        p: {
          servers: [addr(dead), addr(good.port)],
          balance: 'roundrobin',
          health: { check: 'off' },
          passive: { failures: 1, eject: '30s' },
          connect: { retries: 1 },
        },
      },
      routes: { [NAME]: 'p' },
    })
    try {
      for (let i = 0; i < 2; i++) expect(await oneConnection(proxy.port)).toMatch(/^got \d+ bytes$/)
      const retries = proxy.stats().counters.origin_retry!
      expect(retries).toBe(1)
      expect(proxy.stats().upstreams.find((u) => u.server === addr(dead))?.state).toBe('ejected')
      for (let i = 0; i < 6; i++) expect(await oneConnection(proxy.port)).toMatch(/^got \d+ bytes$/)
      expect(proxy.stats().counters.origin_retry).toBe(retries)
    } finally {
      await proxy.close(500)
      await good.close()
    }
  })

  it('a reload keeps the health state of the servers that stay, and serves the new pools', async () => {
    const good = await startRecordingOrigin()
    const other = await startRecordingOrigin()
    const dead = await closedPort()
    const check = { check: 'tcp', interval: '1s', timeout: '500ms', rise: 3, fall: 1 }
    const opts = {
      workers: 1,
      upstreams: { p: { servers: [addr(dead), addr(good.port)], health: check } } as Record<string, unknown>,
      routes: { [NAME]: 'p' } as Record<string, string>,
    }
    const proxy = await startTestProxy(opts)
    try {
      const stateOf = (a: string): string | undefined => proxy.stats().upstreams.find((u) => u.server === a)?.state
      await waitFor(() => stateOf(addr(dead)) === 'down', 4000)
      const file = tempFile('reload.json', JSON.stringify(rawConfig({
        ...opts,
        upstreams: { ...opts.upstreams, q: { servers: [addr(other.port)], health: { check: 'off' } } },
        routes: { ...opts.routes, ['q.' + NAME]: 'q' },
      })))
      const r = await proxy.reload(file)
      expect(r.ok).toBe(true)
      // a new table, but the dead server stays down: it would need rise (3) good checks to come back
      expect(stateOf(addr(dead))).toBe('down')
      expect(stateOf(addr(other.port))).toBe('up')
      const hs = Buffer.from(wrapRecords(buildClientHello({ sni: 'q.' + NAME }), 1))
      let got = ''
      for (let i = 0; i < 20 && other.connections === 0; i++) got = (await rawExchange(proxy.port, [hs], { endAfter: true })).data.toString()
      expect(got).toMatch(/^got \d+ bytes$/)
    } finally {
      await proxy.close(500)
      await Promise.all([good.close(), other.close()])
    }
  })
})

describe('ALPN routing', () => {
  interface AlpnOrigin { fingerprint: string, port: number, close: () => Promise<void> }
  const origins: AlpnOrigin[] = []
  let proxy: Awaited<ReturnType<typeof startTestProxy>>

  async function alpnOrigin (): Promise<AlpnOrigin> {
    const { cert, key } = generateSelfSignedCert({ names: [NAME] })
    const server = tls.createServer({ cert, key, ALPNProtocols: ['acme-tls/1', 'h2', 'http/1.1'] }, (s) => { s.on('error', () => {}); s.end() })
    server.on('tlsClientError', () => {})
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return {
      fingerprint: new X509Certificate(cert).fingerprint256,
      port: (server.address() as net.AddressInfo).port,
      close: () => new Promise((resolve) => { server.close(() => { resolve() }) }),
    }
  }

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) origins.push(await alpnOrigin())
    proxy = await startTestProxy({
      workers: 1,
      upstreams: { web: { servers: [addr(origins[0]!.port)], health: { check: 'off' } } },
      routes: { [NAME]: { upstream: 'web', alpn: { 'acme-tls/1': addr(origins[1]!.port), h2: addr(origins[2]!.port) } } },
    })
  })
  afterAll(async () => {
    await proxy.close(500)
    await Promise.all(origins.map((o) => o.close()))
  })

  /** openssl s_client through the proxy; the certificate it saw, as a fingerprint */
  function sClient (alpn: string): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile('openssl', ['s_client', '-connect', '127.0.0.1:' + String(proxy.port), '-servername', NAME, '-alpn', alpn],
        { timeout: 10_000 }, (err, stdout) => {
          const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(stdout)
          if (pem === null) { reject(err ?? new Error('no certificate in s_client output')); return }
          resolve(new X509Certificate(pem[0]).fingerprint256)
        }).stdin?.end()
    })
  }

  it.skipIf(!haveTool('openssl', ['version'], 'ALPN routing through openssl s_client'))('the first alpn entry (config order) the client offers picks the pool; none → the route\'s upstream', async () => {
    expect(await sClient('acme-tls/1')).toBe(origins[1]!.fingerprint)
    expect(await sClient('h2,http/1.1')).toBe(origins[2]!.fingerprint)
    // the client's order does not matter, the config's does: acme-tls/1 is listed first
    expect(await sClient('h2,acme-tls/1')).toBe(origins[1]!.fingerprint)
    expect(await sClient('http/1.1')).toBe(origins[0]!.fingerprint)
  })
})

describe('PROXY protocol to the origin', () => {
  it.each([1, 2] as const)('v%i: the origin reads the client\'s address (and in v2 the SNI and connection id) before the TLS bytes', async (version) => {
    const origin = await startProxyProtocolOrigin(version, [NAME])
    const proxy = await startTestProxy({
      workers: 1,
      upstreams: { pp: { servers: [addr(origin.port)], health: { check: 'off' }, proxyProtocol: 'v' + String(version) } },
      routes: { [NAME]: 'pp' },
    })
    try {
      const { port: clientPort } = await new Promise<{ port: number }>((resolve, reject) => {
        const c = tls.connect({ host: '127.0.0.1', port: proxy.port, servername: NAME, rejectUnauthorized: false }, () => {
          const local = c.localPort!
          c.end()
          resolve({ port: local })
        })
        c.on('error', reject)
      })
      expect(origin.refused).toBe(0)
      expect(origin.servernames).toEqual([NAME])
      const h = origin.headers[0]!
      if (version === 1) {
        const v1 = h as V1ProxyProtocol
        expect([v1.source.ipAddress, v1.source.port, v1.destination.ipAddress, v1.destination.port]).toEqual(['127.0.0.1', clientPort, '127.0.0.1', proxy.port])
      } else {
        const v2 = h as V2ProxyProtocol
        const a = v2.proxyAddress as IPv4ProxyAddress
        expect([a.sourceAddress.address, a.sourcePort, a.destinationPort]).toEqual([[127, 0, 0, 1], clientPort, proxy.port])
        const data = Buffer.from(v2.data as unknown as Uint8Array)
        const tlvs = new Map<number, string>()
        for (let p = 0; p < data.length;) {
          const len = data.readUInt16BE(p + 1)
          tlvs.set(data[p]!, data.subarray(p + 3, p + 3 + len).toString('latin1'))
          p += 3 + len
        }
        expect(tlvs.get(0x02)).toBe(NAME) // PP2_TYPE_AUTHORITY
        expect(tlvs.get(0x05)).toMatch(/^1-\d+$/) // PP2_TYPE_UNIQUE_ID: worker row 1, sequence
      }
    } finally {
      await proxy.close(500)
      await origin.close()
    }
  })
})
