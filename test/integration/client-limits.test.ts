/**
 * Per-client-address limits and the pending-hello cap, in-process with a real worker thread, real TLS
 * clients and a second client address (127.0.0.2, a loopback address Linux answers without setup).
 */
import { describe, expect, it } from 'vitest'
import net from 'node:net'
import { startTestProxy, startTlsOrigin, tlsRequest, waitFor } from '../helpers/servers.ts'

const NAME = 'client-limits.test.hellogate.example'
const OTHER_CLIENT = '127.0.0.2'

/** A TCP connection that says nothing (a slowloris, or a client holding a slot). */
function silent (port: number, localAddress = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress }, () => { resolve(s) })
    s.on('error', reject)
  })
}

/** 'ok' when a real TLS request through the proxy got the origin's answer, else the client's error. */
async function attempt (port: number, ca: string, localAddress = '127.0.0.1'): Promise<string> {
  try {
    const r = await tlsRequest(port, NAME, ca, { localAddress })
    if (r.body.includes('origin limited')) return 'ok'
    // a FIN before the handshake ends the TLS socket without an error
    return r.body === '' ? 'refused: closed before the handshake' : 'unexpected answer: ' + r.body
  } catch (err) {
    return 'refused: ' + String((err as NodeJS.ErrnoException).code ?? err)
  }
}

/** Resolves once the server closed the socket (or after `ms`, with false); `ms` stays below timeouts.hello (2 s). */
function closedWithin (s: net.Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (s.destroyed) { resolve(true); return }
    const t = setTimeout(() => { resolve(false) }, ms)
    s.on('error', () => {})
    s.once('close', () => { clearTimeout(t); resolve(true) })
  })
}

describe('limits.perClient', () => {
  it('refuses an address over its open connections while another address is served', async () => {
    const origin = await startTlsOrigin('limited', [NAME])
    const proxy = await startTestProxy({ workers: 1, routes: { [NAME]: '127.0.0.1:' + String(origin.port) }, limits: { perClient: { maxConnections: 2 } } })
    const held: net.Socket[] = []
    try {
      held.push(await silent(proxy.port), await silent(proxy.port))
      await waitFor(() => proxy.stats().active[0] === 2)
      const third = await silent(proxy.port)
      expect(await closedWithin(third, 1000)).toBe(true)
      expect(await attempt(proxy.port, origin.cert)).toMatch(/^refused/)
      expect(proxy.stats().outcomes.client_limited).toBe(2)
      // another address is untouched by the first one's limit
      expect(await attempt(proxy.port, origin.cert, OTHER_CLIENT)).toBe('ok')
      // a slot freed is a slot back
      held.pop()!.destroy()
      await waitFor(() => proxy.stats().active[0] === 1)
      expect(await attempt(proxy.port, origin.cert)).toBe('ok')
      expect(proxy.stats().outcomes.client_limited).toBe(2)
    } finally {
      for (const s of held) s.destroy()
      await proxy.close(500)
      await origin.close()
    }
  })

  it('refuses a burst over newPerSecond, then admits the address again once its bucket refilled', async () => {
    const origin = await startTlsOrigin('limited', [NAME])
    // 1 token per second, 3 back to back: three fast requests pass, the fourth finds the bucket empty
    const proxy = await startTestProxy({ workers: 1, routes: { [NAME]: '127.0.0.1:' + String(origin.port) }, limits: { perClient: { newPerSecond: 1, burst: 3 } } })
    try {
      const t0 = Date.now()
      const burst = [await attempt(proxy.port, origin.cert), await attempt(proxy.port, origin.cert), await attempt(proxy.port, origin.cert)]
      const fourth = await attempt(proxy.port, origin.cert)
      // the refusal is only certain while less than one token could have refilled
      if (Date.now() - t0 < 900) expect(fourth).toMatch(/^refused/)
      expect(burst).toEqual(['ok', 'ok', 'ok'])
      expect(await attempt(proxy.port, origin.cert, OTHER_CLIENT)).toBe('ok')
      await new Promise((resolve) => setTimeout(resolve, 1100))
      expect(await attempt(proxy.port, origin.cert)).toBe('ok')
      expect(proxy.stats().outcomes.client_limited).toBeGreaterThanOrEqual(1)
    } finally {
      await proxy.close(500)
      await origin.close()
    }
  })
})

describe('limits.maxPendingHellos', () => {
  it('refuses connections beyond the cap while silent ones hold it, and serves a real client once a slot frees', async () => {
    const origin = await startTlsOrigin('limited', [NAME])
    const proxy = await startTestProxy({ workers: 1, routes: { [NAME]: '127.0.0.1:' + String(origin.port) }, limits: { maxPendingHellos: 2 } })
    const held: net.Socket[] = []
    try {
      held.push(await silent(proxy.port), await silent(proxy.port))
      await waitFor(() => proxy.stats().active[0] === 2)
      const beyond = await silent(proxy.port, OTHER_CLIENT)
      expect(await closedWithin(beyond, 1000)).toBe(true)
      expect(await attempt(proxy.port, origin.cert)).toMatch(/^refused/)
      expect(proxy.stats().outcomes.pending_limited).toBe(2)
      held.pop()!.destroy()
      await waitFor(() => proxy.stats().active[0] === 1)
      // the relayed connection left the hello phase, so it does not hold a pending slot
      expect(await attempt(proxy.port, origin.cert)).toBe('ok')
      expect(await attempt(proxy.port, origin.cert)).toBe('ok')
      expect(proxy.stats().outcomes.pending_limited).toBe(2)
    } finally {
      for (const s of held) s.destroy()
      await proxy.close(500)
      await origin.close()
    }
  })
})
