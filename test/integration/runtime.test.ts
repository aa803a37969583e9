/**
 * The runtime feature probes (src/pool/runtime.ts) that startProxy runs before listening: they pass on
 * this runtime, and an older Node.js — a real one, the system `node` when it predates socket transfer —
 * fails `hellogate serve` at start with HG_ERR_UNSUPPORTED_RUNTIME instead of starting and refusing
 * every connection.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { probeReusePort, probeSocketTransfer } from '../../src/pool/index.ts'
import { ROOT, rawConfig, tempFile } from '../helpers/servers.ts'

/** first release whose accepted sockets can be moved to a worker thread */
const TRANSFER_SINCE = [24, 20]

/**
 * A `node` on PATH older than TRANSFER_SINCE, or null (then the old-runtime cases are skipped, with the
 * reason printed). npm puts the pinned Node 24 first on PATH (node_modules/.bin); the system's comes after.
 */
function findOldNode (): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const bin = join(dir, 'node')
    if (dir.includes('node_modules') || !existsSync(bin)) continue
    const r = spawnSync(bin, ['-p', 'process.versions.node'], { encoding: 'utf8' })
    if (r.status !== 0) continue
    const [major = 0, minor = 0] = r.stdout.trim().split('.').map(Number)
    if (major < TRANSFER_SINCE[0]! || (major === TRANSFER_SINCE[0]! && minor < TRANSFER_SINCE[1]!)) return bin
  }
  return null
}

const OLD_NODE = findOldNode()
if (OLD_NODE === null) process.stdout.write('runtime.test.ts: no Node.js older than 24.20 on PATH; the old-runtime cases are skipped\n')

describe('runtime probes', () => {
  it('find socket transfer and reusePort on this runtime', async () => {
    expect(await probeSocketTransfer()).toBeNull()
    expect(await probeReusePort()).toBeNull()
  })

  it.skipIf(OLD_NODE === null).each(['handoff', 'reuseport'] as const)('an older Node.js fails serve (accept=%s) at start with HG_ERR_UNSUPPORTED_RUNTIME', (accept) => {
    const raw = rawConfig({ accept, workers: 1, routes: { 'a.runtime.hellogate.example': '127.0.0.1:1' } })
    const file = tempFile('config.json', JSON.stringify(raw))
    const r = spawnSync(OLD_NODE!, [join(ROOT, 'dist/cli.js'), 'serve', '--config', file], { encoding: 'utf8', timeout: 15_000 })
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('HG_ERR_UNSUPPORTED_RUNTIME')
    expect(r.stderr).toContain(accept === 'handoff' ? 'a socket cannot be transferred to a worker thread' : 'cannot share a port with reusePort')
  })
})
