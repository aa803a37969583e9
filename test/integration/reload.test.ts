/**
 * SIGHUP reload through the real CLI: the routes are re-read and compiled off the main thread (piscina)
 * and swapped whole in every worker; an invalid file keeps the running table.
 */
import { describe, expect, it } from 'vitest'
import { writeFileSync } from 'node:fs'
import { startCliProxy, startTlsOrigin, tlsRequest, rawConfig, rawExchange } from '../helpers/servers.ts'
import { buildClientHello, wrapRecords } from '../helpers/build-hello.ts'

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
