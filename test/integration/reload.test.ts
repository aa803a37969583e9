/**
 * SIGHUP reload through the real CLI: the routes are re-read and compiled off the main thread (piscina)
 * and swapped whole in every worker; an invalid file keeps the running table.
 */
import { describe, expect, it } from 'vitest'
import { writeFileSync } from 'node:fs'
import { startCliProxy, startTestProxy, startTlsOrigin, tempFile, tlsRequest, rawConfig, rawExchange } from '../helpers/servers.ts'
import { buildClientHello, wrapRecords } from '../helpers/build-hello.ts'
import { closeReloadPool } from '../../src/pool/index.ts'

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
      expect(ok).toMatchObject({ ok: true, routes: 2, needsRestart: ['timeouts'] })
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
