/**
 * The package's library entry, imported by its package name as an application would (`exports` →
 * dist/index.js, so `npm run build` first): createProxy in front of real TLS origins, a real TLS client
 * through it, a reload with a new config object (and a refused one), stats, close({ deadline }). Also:
 * importing the package starts nothing (a child process that imports it exits on its own at once).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import pino from 'pino'
import { createProxy, ErrorCode, VERSION, type HellogateProxy } from 'hellogate'
import { NODE, ROOT, startTlsOrigin, tlsRequest, type TlsOrigin } from '../helpers/servers.ts'

const ALPHA = 'alpha.library.hellogate.example'
const BETA = 'beta.library.hellogate.example'

let alpha: TlsOrigin
let beta: TlsOrigin

beforeAll(async () => {
  alpha = await startTlsOrigin('alpha', [ALPHA])
  beta = await startTlsOrigin('beta', [BETA])
})

afterAll(async () => {
  await Promise.all([alpha.close(), beta.close()])
})

function config (routes: Record<string, string>): Record<string, unknown> {
  return { listen: '127.0.0.1:0', workers: 2, routes, admin: { listen: '127.0.0.1:0' }, log: { level: 'silent' } }
}

describe("import { createProxy } from 'hellogate'", () => {
  it('importing the package starts nothing; VERSION is the package version', () => {
    const r = spawnSync(NODE, ['--input-type=module', '-e',
      "const m = await import('hellogate'); console.log(typeof m.createProxy, process.getActiveResourcesInfo().filter((x) => x !== 'TTYWrap').length)"],
    { cwd: ROOT, encoding: 'utf8', timeout: 10_000 })
    expect(r.stderr).toBe('')
    expect(r.stdout.trim()).toBe('function 0')
    expect(VERSION).toBe((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version)
  })

  it('embeds the proxy: start, relay real TLS, reload a config object, stats, close({ deadline })', async () => {
    const proxy: HellogateProxy = createProxy(config({ [ALPHA]: '127.0.0.1:' + String(alpha.port) }), { logger: pino({ level: 'silent' }) })
    expect(proxy.addresses).toEqual([])
    await proxy.start()
    try {
      const port = proxy.addresses[0]!.port
      expect((await tlsRequest(port, ALPHA, alpha.cert)).body).toContain('origin alpha')
      await expect(tlsRequest(port, BETA, beta.cert)).rejects.toThrow()

      const ok = await proxy.reload(config({ [ALPHA]: '127.0.0.1:' + String(alpha.port), [BETA]: '127.0.0.1:' + String(beta.port) }))
      expect(ok).toMatchObject({ ok: true, routes: 2, needsRestart: [] })
      expect((await tlsRequest(port, BETA, beta.cert)).body).toContain('origin beta')

      const refused = await proxy.reload({ routes: { [BETA]: 'not-an-address' } })
      expect(refused.ok).toBe(false)
      if (!refused.ok) {
        expect(refused.error.code).toBe(ErrorCode.CONFIG_INVALID)
        expect(refused.error.message).toContain('<inline>')
      }
      // the refused config changed nothing
      expect((await tlsRequest(port, BETA, beta.cert)).body).toContain('origin beta')

      const s = proxy.stats()
      expect(s.counters.route_hit).toBe(3)
      expect(s.outcomes.no_route).toBe(1)
      expect(s.up).toEqual([true, true])
      // the admin endpoint of the embedded proxy saw both reloads
      const status = await (await fetch(proxy.adminUrl! + '/status')).json() as { table: { generation: number }, reloads: { ok: number, error: number } }
      expect(status.table.generation).toBe(2)
      expect(status.reloads).toMatchObject({ ok: 1, error: 1 })
    } finally {
      await proxy.close({ deadline: 1000 })
    }
    await expect(fetch(proxy.adminUrl! + '/healthz')).rejects.toThrow()
    await proxy.close()
  })
})
