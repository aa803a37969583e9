/**
 * Active health checks against real servers on 127.0.0.1: each fault the issue names (refused,
 * black-holed, accepts TCP but never answers a hello, alert, not TLS, flapping, requires a PROXY
 * header) drives the shared table the way rise/fall say, a real node:tls origin passes with the
 * check's SNI, the first good TLS check reports the certificate's names, a probe is never doubled up,
 * and stop() leaves no socket behind.
 */
import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { pino } from 'pino'
import { V2ProxyProtocol } from 'proxy-protocol-js'
import {
  coalescingWarnings, createServerTable, probeCertificates, probeServer, serverStats, serverUsable, UpstreamMonitor, type CertificateEvent, type PoolSpec,
  type ServerTable,
} from '../../src/upstreams/index.ts'
import { closedPort, startBlackholeOrigin, startTlsOrigin, waitFor } from '../helpers/servers.ts'
import { startProxyProtocolOrigin, startScriptedOrigin, startSilentOrigin } from '../helpers/upstream-origins.ts'
import { pool } from '../helpers/pools.ts'

const NAME = 'health.shop.example'
const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => { for (const c of cleanup.splice(0).reverse()) await c() })

interface Run { table: ServerTable, monitor: UpstreamMonitor, logs: Array<Record<string, unknown>>, certs: CertificateEvent[] }

function monitor (pools: PoolSpec[]): Run {
  const logs: Array<Record<string, unknown>> = []
  const logger = pino({ level: 'debug' }, { write: (line: string) => { logs.push(JSON.parse(line) as Record<string, unknown>) } })
  const table = createServerTable(pools, 1)
  const certs: CertificateEvent[] = []
  const m = new UpstreamMonitor(table, pools, { logger, onCertificate: (e) => { certs.push(e) }, sweepMs: 50 })
  m.start()
  cleanup.push(() => m.stop())
  return { table, monitor: m, logs, certs }
}

function health (check: 'tcp' | 'tls', over: Partial<PoolSpec['health']> = {}): Pick<PoolSpec, 'health'> {
  return { health: { check, name: NAME, intervalMs: 40, timeoutMs: 300, rise: 2, fall: 2, ...over } }
}

function checks (r: Run, s: number): { ok: number, failed: number } {
  const c = serverStats(r.table, Date.now())[s]!.counters
  return { ok: c.checks_ok!, failed: c.checks_failed! }
}

describe('tcp check', () => {
  it('takes a refusing server down after `fall` checks and leaves a listening one up', async () => {
    const dead = await closedPort()
    const live = await startSilentOrigin()
    cleanup.push(live.close)
    const r = monitor([pool('p', ['127.0.0.1:' + String(dead), '127.0.0.1:' + String(live.port)], health('tcp'))])
    await waitFor(() => !serverUsable(r.table, 0), 3000)
    const down = r.logs.find((l) => l.evt === 'upstream.down')
    expect(down).toMatchObject({ pool: 'p', server: '127.0.0.1:' + String(dead), reason: 'refused', checks: 2 })
    expect(checks(r, 0).failed).toBeGreaterThanOrEqual(2)
    await waitFor(() => checks(r, 1).ok >= 3, 3000)
    expect(serverUsable(r.table, 1)).toBe(true)
  })

  it('times out on a black-holed server (its SYNs are dropped) and takes it down', async () => {
    // test/helpers/servers.ts startBlackholeOrigin: a stopped process's listener with a full accept
    // queue; Linux drops further SYNs instead of refusing them, so a connect just hangs
    const hole = await startBlackholeOrigin()
    cleanup.push(hole.close)
    const r = monitor([pool('p', ['127.0.0.1:' + String(hole.port)], health('tcp', { timeoutMs: 200 }))])
    await waitFor(() => !serverUsable(r.table, 0), 5000)
    expect(r.logs.find((l) => l.evt === 'upstream.down')).toMatchObject({ reason: 'timeout' })
  })
})

describe('tls check', () => {
  it('passes against a real node:tls origin, sending health.name as SNI', async () => {
    const origin = await startTlsOrigin('shop', [NAME])
    cleanup.push(origin.close)
    const r = monitor([pool('p', ['127.0.0.1:' + String(origin.port)], health('tls'))])
    await waitFor(() => checks(r, 0).ok >= 3, 3000)
    expect(checks(r, 0).failed).toBe(0)
    expect(new Set(origin.servernames)).toEqual(new Set([NAME]))
    // no name (or an IP, which RFC 6066 §3 does not allow as SNI): a hello without server_name
    const before = origin.servernames.length
    for (const servername of ['', '127.0.0.1']) {
      const r2 = await probeServer({ host: '127.0.0.1', port: origin.port, check: 'tls', timeoutMs: 2000, servername, proxyProtocol: 'off' })
      expect(r2).toMatchObject({ ok: true, reason: 'ok' })
    }
    expect(origin.servernames.length).toBe(before)
  })

  it('fails a server that accepts TCP but never answers the hello, with at most one probe in flight', async () => {
    const silent = await startSilentOrigin()
    cleanup.push(silent.close)
    // interval (40 ms) much shorter than the timeout (250 ms): probes must still not overlap
    const r = monitor([pool('p', ['127.0.0.1:' + String(silent.port)], health('tls', { timeoutMs: 250 }))])
    await waitFor(() => !serverUsable(r.table, 0), 3000)
    expect(r.logs.find((l) => l.evt === 'upstream.down')).toMatchObject({ reason: 'timeout' })
    expect(silent.peak).toBe(1)
  })

  it('fails a server that answers with an alert, or with something that is not TLS', async () => {
    // a server that answers any hello with a fatal unrecognized_name alert, byte for byte what
    // OpenSSL sends (RFC 8446 §6: record type 21, TLS 1.2 record version, length 2, fatal(2), 112)
    const refusing = net.createServer((s) => { s.on('error', () => {}); s.once('data', () => s.end(Buffer.from([21, 3, 3, 0, 2, 2, 112]))) })
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve))
    cleanup.push(() => new Promise((resolve) => refusing.close(resolve)))
    const http = net.createServer((s) => { s.on('error', () => {}); s.once('data', () => s.end('HTTP/1.1 400 Bad Request\r\n\r\n')) })
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    cleanup.push(() => new Promise((resolve) => http.close(resolve)))
    const alert = await probeServer({ host: '127.0.0.1', port: (refusing.address() as net.AddressInfo).port, check: 'tls', timeoutMs: 2000, servername: NAME, proxyProtocol: 'off' })
    expect(alert).toMatchObject({ ok: false, reason: 'alert', detail: '112' })
    const notTls = await probeServer({ host: '127.0.0.1', port: (http.address() as net.AddressInfo).port, check: 'tls', timeoutMs: 2000, servername: NAME, proxyProtocol: 'off' })
    expect(notTls).toMatchObject({ ok: false, reason: 'not_tls' })
  })

  it('follows rise/fall on a flapping server', async () => {
    // each connection's fate, in order: alternating results never take it down (fall 2), two bad in a
    // row do, one good is not enough to return (rise 2), two are
    const script = [true, false, true, false, true, false, false, true, false, true, true, true]
    const flappy = await startScriptedOrigin([NAME], [...script, ...Array<boolean>(1000).fill(true)])
    cleanup.push(flappy.close)
    const r = monitor([pool('p', ['127.0.0.1:' + String(flappy.port)], health('tls'))])
    const states: boolean[] = []
    const seen = (): number => checks(r, 0).ok + checks(r, 0).failed
    for (let i = 1; i <= script.length; i++) {
      await waitFor(() => seen() >= i, 3000, 2)
      states.push(serverUsable(r.table, 0))
    }
    // the state after each check:   T  F  T  F  T  F  F  T  F  T  T  T
    expect(states).toEqual([true, true, true, true, true, true, false, false, false, false, true, true])
    expect(r.logs.filter((l) => l.evt === 'upstream.down' || l.evt === 'upstream.up').map((l) => l.evt)).toEqual(['upstream.down', 'upstream.up'])
  })

  it('reports the certificate\'s names once per pool, from the first good check', async () => {
    const origin = await startTlsOrigin('shop', [NAME, '*.shop.example', 'shop.example'])
    cleanup.push(origin.close)
    const r = monitor([pool('shop', ['127.0.0.1:' + String(origin.port)], health('tls'))])
    await waitFor(() => checks(r, 0).ok >= 3, 3000)
    expect(r.certs).toEqual([{ pool: 'shop', poolIndex: 0, server: '127.0.0.1:' + String(origin.port), names: [NAME, '*.shop.example', 'shop.example'] }])
  })
})

describe('PROXY protocol to origins that require it', () => {
  it.each([2, 1] as const)('v%s: passes only when the pool sends the header', async (version) => {
    const origin = await startProxyProtocolOrigin(version, [NAME])
    cleanup.push(origin.close)
    const label = '127.0.0.1:' + String(origin.port)
    const r = monitor([
      pool('with', [label], { ...health('tls'), proxyProtocol: version === 2 ? 'v2' : 'v1' }),
      pool('without', [label], health('tls')),
    ])
    await waitFor(() => checks(r, 0).ok >= 2 && !serverUsable(r.table, 1), 3000)
    expect(checks(r, 0).failed).toBe(0)
    expect(origin.refused).toBeGreaterThanOrEqual(2)
    expect(origin.servernames).toContain(NAME)
    const h = origin.headers[0]!
    if (version === 2) {
      // §2.2 LOCAL, UNSPEC, no address: a health check, not a relayed client
      expect(h).toBeInstanceOf(V2ProxyProtocol)
      expect((h as V2ProxyProtocol).command).toBe(0x0)
      expect((h as V2ProxyProtocol).addressFamilyType).toBe(0x00)
    } else {
      // §2.1: the probe's own getsockname()/getpeername() pair
      expect(h).toMatchObject({ inetProtocol: 'TCP4', source: { ipAddress: '127.0.0.1' }, destination: { ipAddress: '127.0.0.1', port: origin.port } })
    }
  })
})

describe('stop()', () => {
  it('cancels probes in flight and opens no connection afterwards', async () => {
    const silent = await startSilentOrigin()
    cleanup.push(silent.close)
    const r = monitor([pool('p', ['127.0.0.1:' + String(silent.port)], health('tls', { timeoutMs: 10_000 }))])
    await waitFor(() => silent.open() === 1, 3000)
    const t0 = Date.now()
    await r.monitor.stop()
    expect(Date.now() - t0).toBeLessThan(1000)
    await waitFor(() => silent.open() === 0, 2000)
    const accepted = silent.accepted
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(silent.accepted).toBe(accepted)
    expect(checks(r, 0)).toEqual({ ok: 0, failed: 0 })
  })
})

describe('probeCertificates (hellogate check --probe)', () => {
  it('reads each server\'s certificate names per SNI, through PROXY when needed, and feeds the warning', async () => {
    const x = await startTlsOrigin('x', ['*.shop.example'])
    const y = await startProxyProtocolOrigin(2, ['api.shop.example'])
    const dead = await closedPort()
    cleanup.push(x.close, y.close)
    const probes = await probeCertificates([
      { host: '127.0.0.1', port: x.port },
      { host: '127.0.0.1', port: y.port, proxyProtocol: 'v2' },
      { host: '127.0.0.1', port: dead },
    ], ['www.shop.example'], { timeoutMs: 2000 })
    expect(probes).toEqual([
      { server: '127.0.0.1:' + String(x.port), name: 'www.shop.example', names: ['*.shop.example'], error: null },
      { server: '127.0.0.1:' + String(y.port), name: 'www.shop.example', names: ['api.shop.example'], error: null },
      { server: '127.0.0.1:' + String(dead), name: 'www.shop.example', names: null, error: 'refused (ECONNREFUSED)' },
    ])
    expect(x.servernames).toEqual(['www.shop.example'])
    const warnings = coalescingWarnings(
      [{ name: '*.shop.example', pool: 'shop' }, { name: 'api.shop.example', pool: 'api' }],
      [{ pool: 'shop', server: probes[0]!.server, names: probes[0]!.names! }, { pool: 'api', server: probes[1]!.server, names: probes[1]!.names! }],
    )
    expect(warnings.map((w) => w.message)).toEqual([
      'certificate served for pool shop (' + probes[0]!.server + ', name *.shop.example) also covers name api.shop.example routed to pool api',
    ])
  })
})
