/**
 * `hellogate serve` with the admin endpoint, as a real child process, driven by the real CLI clients
 * (`hellogate status`, `reload`, `top` as child processes too): the token comes from the environment
 * through `${HELLOGATE_ADMIN_TOKEN}`; SIGHUP and POST /reload share one reload and one ledger (the table
 * generation counts both); /readyz turns 503 "draining" once SIGTERM begins the drain.
 */
/* eslint-disable no-template-curly-in-string -- the config file's env substitution syntax, literally */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import tls from 'node:tls'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { NODE, ROOT, rawConfig, startCliProxy, startTlsOrigin, tlsRequest, type CliProxy, type TlsOrigin } from '../helpers/servers.ts'

const CLI = join(ROOT, 'dist/cli.js')
const ALPHA = 'alpha.serve-admin.hellogate.example'
const BETA = 'beta.serve-admin.hellogate.example'
const TOKEN = 'serve-admin-token-0123456789'

let alpha: TlsOrigin
let beta: TlsOrigin
let proxy: CliProxy
let addr: string

function cli (args: string[], env: Record<string, string> = { HELLOGATE_ADMIN_TOKEN: TOKEN }): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(NODE, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.once('exit', (code) => { resolve({ code, stdout, stderr }) })
  })
}

interface Status { phase: string, table: { generation: number, routes: number }, reloads: { ok: number, error: number }, counters: Record<string, number> }

async function status (): Promise<Status> {
  const r = await cli(['status', '--admin', addr, '--json'])
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  return JSON.parse(r.stdout) as Status
}

beforeAll(async () => {
  alpha = await startTlsOrigin('alpha', [ALPHA])
  beta = await startTlsOrigin('beta', [BETA])
  process.env.HELLOGATE_ADMIN_TOKEN = TOKEN
  try {
    proxy = await startCliProxy({
      workers: 2,
      routes: { [ALPHA]: '127.0.0.1:' + String(alpha.port) },
      timeouts: { shutdown: '5s' },
      admin: { listen: '127.0.0.1:0', token: '${HELLOGATE_ADMIN_TOKEN}' },
    })
  } finally {
    delete process.env.HELLOGATE_ADMIN_TOKEN
  }
  const listening = await proxy.waitForLog((l) => l.evt === 'admin.listening')
  expect(listening.auth).toBe(true)
  addr = String(listening.url).slice('http://'.length)
})

afterAll(async () => {
  await proxy.close()
  await Promise.all([alpha.close(), beta.close()])
})

describe('hellogate serve with admin.listen', () => {
  it('status: running, generation 1, counters of the traffic; a wrong token is refused with exit 1', async () => {
    expect((await tlsRequest(proxy.port, ALPHA, alpha.cert)).body).toContain('origin alpha')
    const s = await status()
    expect(s.phase).toBe('running')
    expect(s.table).toMatchObject({ generation: 1, routes: 1 })
    expect(s.counters.route_hit).toBe(1)
    const text = await cli(['status', '--admin', addr])
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/running/)
    const wrong = await cli(['status', '--admin', addr, '--token', 'not-the-token-at-all'])
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toContain('HG_ERR_ADMIN_REQUEST')
    const usage = await cli(['status'])
    expect(usage.code).toBe(2)
    expect(usage.stderr).toContain('status needs --admin ADDR')
  })

  it('SIGHUP and `hellogate reload` run the same tracked reload; a broken file is refused with exit 1', async () => {
    const next = rawConfig({ workers: 2, routes: { [ALPHA]: '127.0.0.1:' + String(alpha.port), [BETA]: '127.0.0.1:' + String(beta.port) }, timeouts: { shutdown: '5s' } })
    next.admin = { listen: '127.0.0.1:0', token: '${HELLOGATE_ADMIN_TOKEN}' }
    next.log = { level: 'info', access: true }
    writeFileSync(proxy.file, JSON.stringify(next))
    process.kill(proxy.child.pid!, 'SIGHUP')
    await proxy.waitForLog((l) => l.evt === 'reload')
    let s = await status()
    for (let i = 0; i < 50 && s.table.generation < 2; i++) s = await status()
    expect(s.table).toMatchObject({ generation: 2, routes: 2 })
    expect((await tlsRequest(proxy.port, BETA, beta.cert)).body).toContain('origin beta')

    const ok = await cli(['reload', '--admin', addr])
    expect(ok.code).toBe(0)
    expect(ok.stdout).toMatch(/2 routes/)
    expect((await status()).table.generation).toBe(3)

    writeFileSync(proxy.file, '{ "routes": { "bad pattern": "127.0.0.1:1" } }')
    const refused = await cli(['reload', '--admin', addr])
    expect(refused.code).toBe(1)
    expect(refused.stdout).toContain('reload refused, the running routes are kept')
    s = await status()
    expect(s.table.generation).toBe(3)
    expect(s.reloads).toEqual(expect.objectContaining({ ok: 2, error: 1 }))
    writeFileSync(proxy.file, JSON.stringify(next))
  })

  it('top draws the asked number of frames and exits 0', async () => {
    expect((await tlsRequest(proxy.port, ALPHA, alpha.cert)).body).toContain('origin alpha')
    const r = await cli(['top', '--admin', addr, '--iterations', '2'])
    expect(r.code).toBe(0)
    expect(r.stdout.match(/^--- /gm)).toHaveLength(2)
    expect(r.stdout).toContain(ALPHA)

    // without --iterations it runs until Ctrl-C, which ends it between frames with status 0
    const child = spawn(NODE, [CLI, 'top', '--admin', addr], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', HELLOGATE_ADMIN_TOKEN: TOKEN } })
    let out = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    const exited = new Promise<number | null>((resolve) => { child.once('exit', (code) => { resolve(code) }) })
    for (let i = 0; i < 100 && !out.includes('WORKER'); i++) await new Promise((resolve) => setTimeout(resolve, 50))
    expect(out).toContain('WORKER')
    process.kill(child.pid!, 'SIGINT')
    expect(await exited).toBe(0)
  })

  it('POST /debug/gc answers 409 with the reason when node runs without --expose-gc, and needs the token', async () => {
    const r = await gcRequest(addr, TOKEN)
    expect(r.status).toBe(409)
    expect(r.body).toMatchObject({ ok: false })
    expect(String(r.body.reason)).toContain('--expose-gc')
    expect((await gcRequest(addr, 'not-the-token-at-all')).status).toBe(401)
  })

  it('/readyz is 200 while running and 503 "draining" once SIGTERM began the drain', async () => {
    expect((await fetch('http://' + addr + '/readyz')).status).toBe(200)
    // an open relay keeps the drain going
    const held = tls.connect({ host: '127.0.0.1', port: proxy.port, servername: ALPHA, ca: alpha.cert })
    await new Promise<void>((resolve, reject) => { held.once('secureConnect', resolve); held.once('error', reject) })
    process.kill(proxy.child.pid!, 'SIGTERM')
    let body: { ready: boolean, reasons: string[] } | null = null
    for (let i = 0; i < 100 && body === null; i++) {
      const res = await fetch('http://' + addr + '/readyz')
      const b = await res.json() as { ready: boolean, reasons: string[] }
      if (res.status === 503) { body = b; break }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    // 'draining' comes first; a worker that has already finished its drain and exited may follow it
    // ('worker N not listening'), which is true as well
    expect(body?.ready).toBe(false)
    expect(body?.reasons[0]).toBe('draining')
    held.destroy()
    await proxy.waitForLog((l) => l.evt === 'shutdown.done')
  })
})

describe('hellogate serve under node --expose-gc', () => {
  it('POST /debug/gc runs a full GC in the main thread and in every worker', async () => {
    process.env.NODE_OPTIONS = '--expose-gc'
    process.env.HELLOGATE_ADMIN_TOKEN = TOKEN
    let gcProxy: CliProxy
    try {
      gcProxy = await startCliProxy({
        workers: 3,
        routes: { [ALPHA]: '127.0.0.1:' + String(alpha.port) },
        admin: { listen: '127.0.0.1:0', token: '${HELLOGATE_ADMIN_TOKEN}' },
      })
    } finally {
      delete process.env.NODE_OPTIONS
      delete process.env.HELLOGATE_ADMIN_TOKEN
    }
    try {
      const listening = await gcProxy.waitForLog((l) => l.evt === 'admin.listening')
      const r = await gcRequest(String(listening.url).slice('http://'.length), TOKEN)
      expect(r.status).toBe(200)
      // the main thread and each of the 3 workers
      expect(r.body).toMatchObject({ ok: true, threads: 4 })
      expect((await tlsRequest(gcProxy.port, ALPHA, alpha.cert)).body).toContain('origin alpha')
      // heapUsedBytes is the heaps' live bytes: IDLE connections held open through the proxy raise it
      const held = await openIdleTls(gcProxy.port, ALPHA, alpha.cert, IDLE)
      try {
        const after = await gcRequest(String(listening.url).slice('http://'.length), TOKEN)
        const perConnection = (Number(after.body.heapUsedBytes) - Number(r.body.heapUsedBytes)) / IDLE
        expect(perConnection).toBeGreaterThan(IDLE_MIN_BYTES)
        expect(perConnection).toBeLessThan(IDLE_MAX_BYTES)
        // where the native addon is built, malloc's figure counts the connections' native side too
        if (existsSync(join(ROOT, 'dist/native/splice.node'))) {
          const nativePerConnection = (Number(after.body.mallocInUseBytes) - Number(r.body.mallocInUseBytes)) / IDLE
          expect(nativePerConnection).toBeGreaterThan(NATIVE_MIN_BYTES)
          expect(nativePerConnection).toBeLessThan(IDLE_MAX_BYTES)
        }
      } finally {
        for (const s of held) s.destroy()
      }
    } finally {
      await gcProxy.close()
    }
  })
})

/** idle connections opened for the heap figure, and the bounds on what one holds in the proxy's heaps */
const IDLE = 200
/** a Session, two net.Sockets and their handles cannot take less (measured: ~2-3 KiB) */
const IDLE_MIN_BYTES = 500
/** two libuv TCP handles and two socket wraps are malloc'd per connection: a few hundred bytes at least */
const NATIVE_MIN_BYTES = 200
/** nor anywhere near a 64 KiB read buffer each */
const IDLE_MAX_BYTES = 64 * 1024

/** `n` TLS connections through the proxy, handshake complete, left open (no request sent). */
async function openIdleTls (port: number, servername: string, ca: string | Buffer, n: number): Promise<tls.TLSSocket[]> {
  const out: tls.TLSSocket[] = []
  for (let i = 0; i < n; i++) {
    out.push(await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, servername, ca }, () => { resolve(s) })
      s.once('error', reject)
    }))
  }
  return out
}

async function gcRequest (admin: string, token: string): Promise<{ status: number, body: Record<string, unknown> }> {
  const res = await fetch('http://' + admin + '/debug/gc', { method: 'POST', headers: { authorization: 'Bearer ' + token } })
  return { status: res.status, body: await res.json() as Record<string, unknown> }
}
