/**
 * Connection limits and graceful shutdown, in-process with real worker threads.
 */
import { describe, expect, it } from 'vitest'
import net from 'node:net'
import { buildClientHello, wrapRecords } from '../helpers/build-hello.ts'
import { rawExchange, startRecordingOrigin, startTestProxy, waitFor } from '../helpers/servers.ts'
import { crashWorker } from '../../src/pool/index.ts'

const NAME = 'limits.test.hellogate.example'
const HELLO = Buffer.from(wrapRecords(buildClientHello({ sni: NAME }), 1))

function open (port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => { resolve(s) })
    s.on('error', reject)
  })
}

describe('limits.maxConnections', () => {
  it('closes connections beyond the limit at once and counts them as overloaded', async () => {
    const origin = await startRecordingOrigin()
    const proxy = await startTestProxy({ workers: 1, routes: { [NAME]: '127.0.0.1:' + String(origin.port) }, limits: { maxConnections: 1 } })
    try {
      const held = await open(proxy.port)
      await waitFor(() => proxy.stats().active[0] === 1)
      const refused = await rawExchange(proxy.port, [HELLO])
      expect(refused.data.length).toBe(0)
      expect(refused.closedMs).toBeLessThan(1000)
      await waitFor(() => proxy.stats().outcomes.overloaded === 1)
      expect(origin.connections).toBe(0)
      held.destroy()
      await waitFor(() => proxy.stats().active[0] === 0)
      const ok = await rawExchange(proxy.port, [HELLO], { endAfter: true })
      expect(ok.data.toString()).toBe('got ' + String(HELLO.length) + ' bytes')
    } finally {
      await proxy.close(500)
      await origin.close()
    }
  })
})

describe.each(['reuseport', 'handoff'] as const)('graceful shutdown, accept=%s', (accept) => {
  it('stops accepting, lets open relays run until the deadline, then closes them (shutdown)', async () => {
    const origin = await startRecordingOrigin({ onConnection: () => { /* keep the relay open */ } })
    const proxy = await startTestProxy({ accept, workers: 1, routes: { [NAME]: '127.0.0.1:' + String(origin.port) } })
    const client = await open(proxy.port)
    let closedAt = 0
    client.on('end', () => { closedAt = Date.now(); client.destroy() })
    client.write(HELLO)
    await waitFor(() => origin.connections === 1)
    const t0 = Date.now()
    const closing = proxy.close(800)
    // still relaying during the drain
    await new Promise((resolve) => setTimeout(resolve, 200))
    client.write('during-drain')
    await waitFor(() => origin.received[0]!.includes('during-drain'))
    // no new connections: the listeners are closed, so the connect itself is refused and nothing is relayed
    const accepted = proxy.stats().counters.conn_accepted
    const refused = await new Promise<string>((resolve) => {
      const s = net.connect({ port: proxy.port, host: '127.0.0.1' })
      s.on('error', (e: NodeJS.ErrnoException) => { resolve(e.code ?? 'error') })
      s.on('connect', () => { s.on('close', () => { resolve('connected') }); s.write(HELLO) })
    })
    expect(refused).toBe('ECONNREFUSED')
    expect(origin.connections).toBe(1)
    expect(proxy.stats().counters.conn_accepted).toBe(accepted)
    await closing
    expect(closedAt).toBeGreaterThan(0)
    expect(closedAt - t0).toBeGreaterThanOrEqual(700)
    expect(proxy.stats().outcomes.shutdown).toBe(1)
    await origin.close()
  })
})

describe.each(['reuseport', 'handoff'] as const)('shutdown with nothing open, accept=%s', (accept) => {
  it('returns as soon as the workers have drained, not at the grace deadline', async () => {
    const proxy = await startTestProxy({ accept, workers: 2, routes: { [NAME]: '127.0.0.1:1' } })
    const t0 = Date.now()
    // the deadline (grace + slack) would be past 22 s; the workers have nothing to wait for
    await proxy.close(20_000)
    expect(Date.now() - t0).toBeLessThan(10_000)
  })
})

describe('handoff with no worker up', () => {
  it('queues accepted sockets while the only worker restarts, serves them after, and close() still returns', async () => {
    const origin = await startRecordingOrigin()
    const proxy = await startTestProxy({ accept: 'handoff', workers: 1, routes: { [NAME]: '127.0.0.1:' + String(origin.port) } })
    try {
      expect(proxy.stats().pendingMax).toBe(0)
      crashWorker(proxy, 0)
      await waitFor(() => proxy.stats().restarts === 1, 5000, 2)
      // accepted by the main thread during the respawn backoff: waits, then reaches the new worker
      const res = await rawExchange(proxy.port, [HELLO], { endAfter: true })
      expect(res.data.toString()).toBe('got ' + String(HELLO.length) + ' bytes')
      // it really waited in the queue (the only worker was down), and the queue is empty again
      expect(proxy.stats().pendingMax).toBeGreaterThanOrEqual(1)
      expect(proxy.stats().pending).toBe(0)
      crashWorker(proxy, 0)
      await waitFor(() => proxy.stats().restarts === 2, 5000, 2)
      const held = await open(proxy.port)
      held.on('error', () => {})
      const t0 = Date.now()
      await proxy.close(300)
      expect(Date.now() - t0).toBeLessThan(5000)
      held.destroy()
    } finally {
      await proxy.close(300)
      await origin.close()
    }
  })
})

describe('timeouts.idle', () => {
  it('closes both sides of a relay with no traffic either way (idle_timeout), and traffic keeps it open', async () => {
    const origin = await startRecordingOrigin({ onConnection: () => { /* silent origin */ } })
    const proxy = await startTestProxy({ workers: 1, routes: { [NAME]: '127.0.0.1:' + String(origin.port) }, timeouts: { idle: '1s' } })
    try {
      const client = await open(proxy.port)
      let endedAt = 0
      client.on('end', () => { endedAt = Date.now(); client.destroy() })
      const t0 = Date.now()
      client.write(HELLO)
      // traffic every 400 ms for 1.6 s keeps the relay alive past one idle period
      for (let i = 0; i < 4; i++) {
        await new Promise((resolve) => setTimeout(resolve, 400))
        client.write('ping')
      }
      expect(endedAt).toBe(0)
      await waitFor(() => endedAt > 0, 5000)
      expect(endedAt - t0).toBeGreaterThanOrEqual(2400)
      await waitFor(() => proxy.stats().outcomes.idle_timeout === 1)
    } finally {
      await proxy.close(300)
      await origin.close()
    }
  })
})
