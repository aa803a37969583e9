/**
 * The coalescing warning, end to end: a certificate served for one pool that also covers a name routed
 * to another pool is reported by `hellogate check --probe` and, once per pool, by `serve` after the
 * pool's first successful TLS check. Real node:tls origins with their own certificates, the real CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { NODE, ROOT, rawConfig, startCliProxy, startTlsOrigin, tempFile, type TlsOrigin } from '../helpers/servers.ts'

const A = 'a.coalesce.hellogate.example'
const B = 'b.other.hellogate.example'

describe('coalescing warning', () => {
  let wide: TlsOrigin
  let narrow: TlsOrigin
  let config: Record<string, unknown>

  beforeAll(async () => {
    // pool "wide" serves a certificate that also covers *.other.hellogate.example, where B is routed to "narrow"
    wide = await startTlsOrigin('wide', [A, '*.other.hellogate.example'])
    narrow = await startTlsOrigin('narrow', [B])
    config = rawConfig({
      workers: 1,
      upstreams: {
        wide: { servers: ['127.0.0.1:' + String(wide.port)], health: { check: 'tls', interval: '1s', timeout: '500ms' } },
        narrow: { servers: ['127.0.0.1:' + String(narrow.port)], health: { check: 'tls', interval: '1s', timeout: '500ms' } },
      },
      routes: { [A]: 'wide', [B]: 'narrow' },
    })
  })
  afterAll(async () => { await Promise.all([wide.close(), narrow.close()]) })

  it('check --probe prints each certificate and warns name by name', async () => {
    const file = tempFile('probe.json', JSON.stringify(config))
    const out = await new Promise<{ code: number | null, stdout: string }>((resolve) => {
      const child = execFile(NODE, [join(ROOT, 'dist/cli.js'), 'check', '--config', file, '--probe'], { timeout: 20_000 }, (err, stdout) => {
        resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, stdout })
      })
      child.stdin?.end()
    })
    expect(out.code).toBe(0)
    expect(out.stdout).toContain('wide 127.0.0.1:' + String(wide.port) + ' ' + A + ': ' + A + ', *.other.hellogate.example')
    expect(out.stdout).toMatch(new RegExp('warning: certificate served for pool wide .*also covers name ' + B.replaceAll('.', '\\.') + ' routed to pool narrow'))
    // the narrow pool's certificate covers only its own name: no warning about it
    expect(out.stdout).not.toMatch(/certificate served for pool narrow/)
  })

  it('serve logs the same warning once, after the pool\'s first successful TLS check', async () => {
    const proxy = await startCliProxy({ workers: 1, routes: {} }, undefined, config)
    try {
      const line = await proxy.waitForLog((l) => l.evt === 'upstream.coalesce', 10_000)
      expect(line.pool).toBe('wide')
      expect((line.warnings as string[]).join('\n')).toContain('also covers name ' + B + ' routed to pool narrow')
      await new Promise((resolve) => setTimeout(resolve, 2500))
      expect(proxy.logs.filter((l) => l.evt === 'upstream.coalesce')).toHaveLength(1)
    } finally {
      await proxy.close()
    }
  })
})
