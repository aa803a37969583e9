/**
 * Operating a real `hellogate serve` child process: log.file reopened on SIGUSR2 (what logrotate's
 * postrotate sends after renaming the file), and the admin endpoint refusing to start off loopback
 * without a token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NODE, ROOT, rawConfig, startTlsOrigin, tlsRequest, waitFor, type TlsOrigin } from '../helpers/servers.ts'

const CLI = join(ROOT, 'dist/cli.js')
const ALPHA = 'alpha.ops.hellogate.example'

let alpha: TlsOrigin
let dir: string

beforeAll(async () => {
  alpha = await startTlsOrigin('alpha', [ALPHA])
  dir = mkdtempSync(join(tmpdir(), 'hellogate-ops-'))
})

afterAll(async () => {
  await alpha.close()
})

function lines (file: string): Array<Record<string, unknown>> {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>)
}

function run (config: Record<string, unknown>, name: string): { child: ReturnType<typeof spawn>, exit: Promise<number | null>, stderr: () => string } {
  const file = join(dir, name + '.json')
  writeFileSync(file, JSON.stringify(config))
  const child = spawn(NODE, [CLI, 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
  child.stdout!.resume()
  const exit = new Promise<number | null>((resolve) => { child.once('exit', (code) => { resolve(code) }) })
  return { child, exit, stderr: () => stderr }
}

describe('log.file', () => {
  it('is reopened on SIGUSR2: after a rename, new lines from the main thread and the workers go to the new file', async () => {
    const log = join(dir, 'hellogate.log')
    const raw = rawConfig({ workers: 2, routes: { [ALPHA]: '127.0.0.1:' + String(alpha.port) } })
    raw.log = { level: 'info', access: true, file: log }
    const p = run(raw, 'logfile')
    try {
      await waitFor(() => lines(log).some((l) => l.evt === 'listening'), 15_000)
      const addr = (lines(log).find((l) => l.evt === 'listening')!.addresses as string[])[0]!
      const port = Number(addr.slice(addr.lastIndexOf(':') + 1))
      expect((await tlsRequest(port, ALPHA, alpha.cert)).body).toContain('origin alpha')
      await waitFor(() => lines(log).some((l) => l.evt === 'conn.close'), 5000)

      // logrotate: rename, then signal
      const rotated = log + '.1'
      renameSync(log, rotated)
      process.kill(p.child.pid!, 'SIGUSR2')
      await waitFor(() => lines(log).some((l) => l.evt === 'log.reopen'), 5000)
      // a worker's line (its access log) lands in the new file too
      expect((await tlsRequest(port, ALPHA, alpha.cert)).body).toContain('origin alpha')
      await waitFor(() => lines(log).some((l) => l.evt === 'conn.close'), 5000)
      expect(lines(log).find((l) => l.evt === 'conn.close')!.worker).toBeGreaterThan(0)
      // and the old file kept what was written before the rotation, nothing after it
      expect(lines(rotated).some((l) => l.evt === 'listening')).toBe(true)
      expect(lines(rotated).some((l) => l.evt === 'log.reopen')).toBe(false)
    } finally {
      process.kill(p.child.pid!, 'SIGTERM')
      expect(await p.exit).toBe(0)
    }
    expect(lines(log).some((l) => l.evt === 'shutdown.done')).toBe(true)
  })
})

describe('admin startup checks', () => {
  it('refuses to start with admin.listen off loopback and no token (HG_ERR_ADMIN_TOKEN, exit 1)', async () => {
    const raw = rawConfig({ workers: 1, routes: { [ALPHA]: '127.0.0.1:' + String(alpha.port) } })
    raw.admin = { listen: '0.0.0.0:0' }
    const p = run(raw, 'notoken')
    expect(await p.exit).toBe(1)
    expect(p.stderr()).toContain('HG_ERR_ADMIN_TOKEN')
  })
})
