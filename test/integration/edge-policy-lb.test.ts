/**
 * Behind a load balancer every connection comes from the balancer's address: limits.perClient and
 * `balance: hash` must key on the address the PROXY header carries, not on the socket's. Real CLI, real
 * sockets; the balancer is this test writing v1 headers from 127.0.0.1.
 */
import { writeFileSync } from 'node:fs'
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildClientHello, tlsRecord } from '../helpers/build-hello.ts'
import { rawExchange, startCliProxy, startRecordingOrigin, type CliProxy, type RecordingOrigin } from '../helpers/servers.ts'

function header (ip: string, port: number): Buffer {
  return Buffer.from(`PROXY TCP4 ${ip} 192.0.2.1 ${port} 443\r\n`, 'latin1')
}

describe('limits and hash balancing on the carried address', () => {
  let a: RecordingOrigin
  let b: RecordingOrigin
  let proxy: CliProxy
  const record = tlsRecord(buildClientHello({ sni: 'h.example' }))

  beforeAll(async () => {
    // origins that hold a connection until its FIN, then answer and close
    a = await startRecordingOrigin()
    b = await startRecordingOrigin()
    proxy = await startCliProxy({ routes: {} }, undefined, {
      listen: [{ address: '127.0.0.1:0', proxyProtocol: { accept: ['v1'], from: ['127.0.0.1'] } }],
      workers: 1,
      upstreams: { h: { servers: ['127.0.0.1:' + String(a.port), '127.0.0.1:' + String(b.port)], balance: 'hash', health: { check: 'off' } } },
      routes: { 'h.example': 'h' },
      limits: { perClient: { maxConnections: 2 } },
      timeouts: { hello: '2s', connect: '2s', idle: '10s' },
    })
  }, 30_000)

  afterAll(async () => {
    await proxy?.close()
    await a?.close()
    await b?.close()
  })

  it('two open connections per carried address: a third from the same address is client_limited, another address passes', async () => {
    const held: net.Socket[] = []
    for (const port of [1000, 1003]) {
      const s = net.connect(proxy.port, '127.0.0.1')
      s.on('error', () => {})
      s.write(Buffer.concat([header('203.0.113.1', port), record]))
      held.push(s)
    }
    await new Promise<void>((resolve) => {
      const t = setInterval(() => { if (a.connections + b.connections >= 2) { clearInterval(t); resolve() } }, 20)
    })
    const second = await rawExchange(proxy.port, [header('203.0.113.1', 1001), record], { timeoutMs: 5000 })
    expect(second.data.length).toBe(0)
    const limited = await proxy.waitForLog((l) => l.evt === 'conn.close' && l.client === '203.0.113.1:1001')
    expect(limited.outcome).toBe('client_limited')
    const other = net.connect(proxy.port, '127.0.0.1')
    other.on('error', () => {})
    other.write(Buffer.concat([header('203.0.113.2', 1002), record]))
    await new Promise<void>((resolve) => {
      const t = setInterval(() => { if (a.connections + b.connections >= 3) { clearInterval(t); resolve() } }, 20)
    })
    for (const s of held) s.destroy()
    other.destroy()
  })

  it('balance: hash spreads carried addresses over both servers, and one address always lands on the same one', async () => {
    const before = [a.connections, b.connections]
    const socks: net.Socket[] = []
    const open = async (ip: string, port: number): Promise<void> => {
      const s = net.connect(proxy.port, '127.0.0.1')
      s.on('error', () => {})
      socks.push(s)
      const n = a.connections + b.connections
      s.write(Buffer.concat([header(ip, port), record]))
      await new Promise<void>((resolve) => {
        const t = setInterval(() => { if (a.connections + b.connections > n) { clearInterval(t); resolve() } }, 10)
      })
      // FIN, and wait for the whole relay to close, so the address's one allowed connection is free again
      s.end()
      s.resume()
      await new Promise((resolve) => s.once('close', resolve))
    }
    for (let i = 0; i < 24; i++) await open(`198.51.100.${10 + i}`, 2000 + i)
    expect(a.connections - before[0]!).toBeGreaterThan(0)
    expect(b.connections - before[1]!).toBeGreaterThan(0)
    // the same carried address three times: three connections to one server
    const mid = [a.connections, b.connections]
    for (let i = 0; i < 3; i++) await open('198.51.100.99', 3000 + i)
    const gotA = a.connections - mid[0]!
    const gotB = b.connections - mid[1]!
    expect([gotA, gotB].sort()).toEqual([0, 3])
  })
})

describe('access lists reload live (SIGHUP), with the table', () => {
  it('a deny added by a reload refuses the next connection; a bad CIDR in the new file keeps the running lists', async () => {
    const origin = await startRecordingOrigin()
    const raw = (deny: string[]): Record<string, unknown> => ({
      listen: '127.0.0.1:0',
      workers: 2,
      routes: { 'h.example': { upstream: '127.0.0.1:' + String(origin.port), deny } },
      timeouts: { hello: '2s', connect: '2s', idle: '10s' },
      log: { level: 'info', access: true },
    })
    const proxy = await startCliProxy({ routes: {} }, undefined, raw(['192.0.2.0/24']))
    const record = tlsRecord(buildClientHello({ sni: 'h.example' }))
    try {
      expect((await rawExchange(proxy.port, [record], { endAfter: true })).data.toString()).toMatch(/^got \d+ bytes$/)
      writeFileSync(proxy.file, JSON.stringify(raw(['127.0.0.0/8'])))
      process.kill(proxy.child.pid!, 'SIGHUP')
      await proxy.waitForLog((l) => l.evt === 'reload')
      await proxy.waitForLog((l) => l.evt === 'routes.swap' && l.worker === 1)
      await proxy.waitForLog((l) => l.evt === 'routes.swap' && l.worker === 2)
      // both workers: reuseport spreads these over them
      for (let i = 0; i < 4; i++) {
        expect((await rawExchange(proxy.port, [record], { endAfter: true })).data).toEqual(Buffer.from([21, 3, 1, 0, 2, 2, 49]))
      }
      writeFileSync(proxy.file, JSON.stringify(raw(['127.0.0.0/33'])))
      process.kill(proxy.child.pid!, 'SIGHUP')
      const err = await proxy.waitForLog((l) => l.evt === 'config.error')
      expect(String(err.message ?? err.error ?? JSON.stringify(err))).toContain('routes."h.example".deny[0]')
      expect((await rawExchange(proxy.port, [record], { endAfter: true })).data).toEqual(Buffer.from([21, 3, 1, 0, 2, 2, 49]))
    } finally {
      await proxy.close()
      await origin.close()
    }
  }, 40_000)
})
