/**
 * SIGHUP reload through the real CLI: the routes are re-read and compiled off the main thread (piscina)
 * and swapped whole in every worker; an invalid file keeps the running table.
 */
import { describe, expect, it } from 'vitest'
import { readFileSync, writeFileSync } from 'node:fs'
import pino from 'pino'
import { startCliProxy, startTestProxy, startTlsOrigin, tempFile, tlsRequest, rawConfig, rawExchange, waitFor } from '../helpers/servers.ts'
import { buildClientHello, wrapRecords } from '../helpers/build-hello.ts'
import { parseConfig } from '../../src/config/index.ts'
import { closeReloadPool, startProxy } from '../../src/pool/index.ts'

const A = 'a.reload.hellogate.example'
const B = 'b.reload.hellogate.example'

describe('hellogate serve + SIGHUP', () => {
  it('swaps in new routes without dropping the listener, and keeps them on a bad file', async () => {
    const alpha = await startTlsOrigin('alpha', [A])
    const beta = await startTlsOrigin('beta', [B])
    const proxy = await startCliProxy({ workers: 2, routes: { [A]: '127.0.0.1:' + String(alpha.port) } })
    try {
      expect((await tlsRequest(proxy.port, A, alpha.cert)).body).toContain('origin alpha')
      const before = await rawExchange(proxy.port, [Buffer.from(wrapRecords(buildClientHello({ sni: B }), 1))])
      expect(before.data[0]).toBe(0x15) // alert: no route yet

      const next = rawConfig({ workers: 3, routes: { [A]: '127.0.0.1:' + String(alpha.port), [B]: '127.0.0.1:' + String(beta.port) } })
      next.log = { level: 'info', access: true }
      writeFileSync(proxy.file, JSON.stringify(next))
      process.kill(proxy.child.pid!, 'SIGHUP')
      const done = await proxy.waitForLog((l) => l.evt === 'reload')
      expect(done).toMatchObject({ routes: 2 })
      expect(done.needsRestart).toEqual(['workers'])
      // each worker logs its swap
      await proxy.waitForLog((l) => l.evt === 'routes.swap' && l.worker === 1)
      await proxy.waitForLog((l) => l.evt === 'routes.swap' && l.worker === 2)
      expect((await tlsRequest(proxy.port, B, beta.cert)).body).toContain('origin beta')

      writeFileSync(proxy.file, '{ "routes": { "bad pattern!": "x" } }')
      process.kill(proxy.child.pid!, 'SIGHUP')
      const err = await proxy.waitForLog((l) => l.evt === 'config.error')
      expect(err.kept).toBe('running routes')
      expect((await tlsRequest(proxy.port, B, beta.cert)).body).toContain('origin beta')
    } finally {
      expect(await proxy.close()).toBe(0)
      await Promise.all([alpha.close(), beta.close()])
    }
  })
})

describe('ProxyHandle.reload (what SIGHUP and an API share)', () => {
  it('reports the new table, or the config error with the running table kept', async () => {
    const alpha = await startTlsOrigin('alpha', [A])
    const beta = await startTlsOrigin('beta', [B])
    const proxy = await startTestProxy({ workers: 1, routes: { [A]: '127.0.0.1:' + String(alpha.port) } })
    try {
      const file = tempFile('next.json', JSON.stringify(rawConfig({ workers: 1, routes: { [A]: '127.0.0.1:' + String(alpha.port), [B]: '127.0.0.1:' + String(beta.port) }, timeouts: { idle: '1m' } })))
      const ok = await proxy.reload(file)
      expect(ok).toMatchObject({ ok: true, routes: 2, needsRestart: [], applied: ['timeouts.idle'] })
      expect((await tlsRequest(proxy.port, B, beta.cert)).body).toContain('origin beta')

      const bad = await proxy.reload(tempFile('bad.json', '{ "routes": { "bad pattern!": "x" } }'))
      expect(bad.ok).toBe(false)
      if (bad.ok) return
      // the error crossed from the compile thread with its code and key intact
      expect(bad.error.code).toMatch(/^HG_ERR_(CONFIG|ROUTE)_/)
      expect(bad.error.key).toBeDefined()
      expect((await tlsRequest(proxy.port, B, beta.cert)).body).toContain('origin beta')
    } finally {
      await proxy.close(500)
      await closeReloadPool()
      await Promise.all([alpha.close(), beta.close()])
    }
  })
})

describe('reload applies timeouts, limits and log level live', () => {
  it('a shorter hello timeout and a smaller maxHelloBytes take effect; listen and workers are reported, not applied', async () => {
    const alpha = await startTlsOrigin('alpha', [A])
    const routes = { [A]: '127.0.0.1:' + String(alpha.port) }
    const proxy = await startTestProxy({ workers: 2, routes, timeouts: { hello: '20s' } })
    try {
      // before: a silent client is still open after 1 s (the running hello timeout is 20 s)
      const before = await rawExchange(proxy.port, [], { timeoutMs: 1000 })
      expect(before.closedMs).toBeGreaterThanOrEqual(900)
      expect(proxy.stats().outcomes.hello_timeout).toBe(0)

      const next = rawConfig({ workers: 1, routes, timeouts: { hello: '300ms' }, limits: { maxHelloBytes: 512 } })
      next.listen = '127.0.0.1:1'
      const r = await proxy.reload(tempFile('live.json', JSON.stringify(next)))
      expect(r).toMatchObject({ ok: true, needsRestart: ['listen', 'workers'], applied: ['timeouts.hello', 'limits.maxHelloBytes'] })
      // the same file again: nothing new to apply, the restart-only keys still differ from what runs
      const again = await proxy.reload(tempFile('live.json', JSON.stringify(next)))
      expect(again).toMatchObject({ ok: true, needsRestart: ['listen', 'workers'], applied: [] })

      // after: the same silent client is closed by the new 300 ms deadline, counted hello_timeout
      const after = await rawExchange(proxy.port, [], { timeoutMs: 5000 })
      expect(after.closedMs).toBeLessThan(2000)
      await waitFor(() => proxy.stats().outcomes.hello_timeout === 1)
      // a real ClientHello (hundreds of bytes with Node's key shares) is now over the 512-byte cap
      await tlsRequest(proxy.port, A, alpha.cert).catch(() => null)
      await waitFor(() => proxy.stats().outcomes.too_large === 1)
      // and the listener and worker count are the running ones
      expect(proxy.stats().up).toEqual([true, true])
    } finally {
      await proxy.close(500)
      await closeReloadPool()
      await alpha.close()
    }
  })
})

describe('access log `route` across a reload', () => {
  it('names the canonical pattern of the route in force (exact, IDNA A-label, wildcard), rebuilt by the workers from the shared table', async () => {
    const origin = await startTlsOrigin('any', ['any.log.example'])
    const to = '127.0.0.1:' + String(origin.port)
    const file = tempFile('access.log', '')
    const raw = (routes: Record<string, string>): Record<string, unknown> => ({ ...rawConfig({ workers: 2, routes }), log: { level: 'info', access: true, file } })
    const proxy = await startProxy(parseConfig(raw({ 'Exact.Log.Example': to, 'bücher.log.example': to, '*.w.log.example': to }), '<test>'), pino({ level: 'silent' }))
    const names = ['exact.log.example', 'xn--bcher-kva.log.example', 'a.b.w.log.example']
    try {
      const port = proxy.addresses[0]!.port
      for (const n of names) expect((await tlsRequest(port, n, origin.cert, { rejectUnauthorized: false })).body).toContain('origin any')
      await waitFor(() => proxy.stats().outcomes.ok === 3)
      // the same names under a table whose route indexes all moved: the log must follow the new table
      const next = tempFile('next.json', JSON.stringify(raw({ '*.log.example': to, 'a.b.w.log.example': to, 'bücher.log.example': to })))
      expect(await proxy.reload(next)).toMatchObject({ ok: true, routes: 3 })
      for (const n of names) expect((await tlsRequest(port, n, origin.cert, { rejectUnauthorized: false })).body).toContain('origin any')
      await waitFor(() => proxy.stats().outcomes.ok === 6)
    } finally {
      await proxy.close(500)
      await closeReloadPool()
      await origin.close()
    }
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('"conn.close"')).map((l) => JSON.parse(l) as Record<string, unknown>)
    // two workers write their lines in their own order: compare as sorted pairs
    expect(lines.map((l) => String(l.sni) + ' → ' + String(l.route)).sort()).toEqual([
      'a.b.w.log.example → *.w.log.example',
      'a.b.w.log.example → a.b.w.log.example',
      'exact.log.example → *.log.example',
      'exact.log.example → exact.log.example',
      'xn--bcher-kva.log.example → xn--bcher-kva.log.example',
      'xn--bcher-kva.log.example → xn--bcher-kva.log.example',
    ])
  })
})
