/**
 * The admin endpoint over real HTTP on 127.0.0.1:0: each bad request gets its precise status and
 * message (401, 404, 405 + Allow, 409, 413, 422, 431, 500, 503) and leaves the server answering.
 * The target is the real createAdminTarget over plain sources; reload is a function the test gates.
 */
import { afterEach, describe, expect, it } from 'vitest'
import net from 'node:net'
import { ADMIN_MAX_BODY_BYTES, ADMIN_MAX_CONNECTIONS, checkAdminOptions, isLoopback, startAdminServer } from '../../../src/admin/server.ts'
import { Phase, type AdminTarget } from '../../../src/admin/target.ts'
import { ErrorCode } from '../../../src/errors.ts'
import { parsePrometheusText, sampleValue } from '../../helpers/prom-text.ts'
import { closeTestAdmins, rawHttp, startTestAdmin, TEST_ADMIN_TOKEN, type TestAdmin as Rig } from '../../helpers/admin.ts'

afterEach(closeTestAdmins)

async function call (r: Rig, path: string, init: { method?: string, token?: string | null } = {}): Promise<{ status: number, headers: Headers, body: string, json: () => Record<string, unknown> }> {
  const headers: Record<string, string> = {}
  if (init.token != null) headers.authorization = 'Bearer ' + init.token
  const res = await fetch('http://127.0.0.1:' + String(r.port) + path, { method: init.method ?? 'GET', headers })
  const body = await res.text()
  return { status: res.status, headers: res.headers, body, json: () => JSON.parse(body) as Record<string, unknown> }
}

describe('admin endpoint: auth', () => {
  it('answers 401 without a token, with a wrong token, or with a prefix of the right one; 200 with it', async () => {
    const r = await startTestAdmin(TEST_ADMIN_TOKEN)
    for (const token of [null, 'wrong', TEST_ADMIN_TOKEN.slice(0, -1), TEST_ADMIN_TOKEN + 'x', TEST_ADMIN_TOKEN.toUpperCase()]) {
      const res = await call(r, '/metrics', { token })
      expect(res.status).toBe(401)
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="hellogate"')
      expect(res.json().error).toBe('missing or wrong bearer token')
    }
    expect((await call(r, '/status', { token: 'nope' })).status).toBe(401)
    expect((await call(r, '/reload', { method: 'POST', token: 'nope' })).status).toBe(401)
    const ok = await call(r, '/metrics', { token: TEST_ADMIN_TOKEN })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    expect(sampleValue(parsePrometheusText(ok.body), 'hellogate_conn_accepted_total')).toBe(7)
    expect(r.ledger.snapshot().ok).toBe(0) // the refused POST /reload did not run
  })

  it('leaves /healthz and /readyz open for probes, and everything open without a token on loopback', async () => {
    const r = await startTestAdmin(TEST_ADMIN_TOKEN)
    expect((await call(r, '/healthz')).status).toBe(200)
    expect((await call(r, '/readyz')).status).toBe(200)
    const open = await startTestAdmin(null)
    expect((await call(open, '/status')).status).toBe(200)
  })
})

describe('admin endpoint: bad requests', () => {
  it('answers 404 for an unknown path and ignores query strings on known ones', async () => {
    const r = await startTestAdmin(null)
    const res = await call(r, '/admin/secret')
    expect(res.status).toBe(404)
    expect(res.json()).toMatchObject({ error: 'not found: /admin/secret', endpoints: ['/healthz', '/readyz', '/metrics', '/status', '/reload', '/debug/gc'] })
    expect((await call(r, '/metrics?name[]=x')).status).toBe(200)
  })

  it('answers 405 with Allow for the wrong method', async () => {
    const r = await startTestAdmin(null)
    const get = await call(r, '/reload')
    expect(get.status).toBe(405)
    expect(get.headers.get('allow')).toBe('POST')
    const post = await call(r, '/metrics', { method: 'POST' })
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toBe('GET')
    expect((await call(r, '/status', { method: 'DELETE' })).headers.get('allow')).toBe('GET')
  })

  it('answers 413 to a declared body over the cap without reading it, and to a chunked one once it passes the cap', async () => {
    const r = await startTestAdmin(null)
    const declared = await rawHttp(r.port, ['POST /reload HTTP/1.1\r\nHost: x\r\nContent-Length: ' + String(ADMIN_MAX_BODY_BYTES + 1) + '\r\n\r\n', 'x'.repeat(100)])
    expect(declared).toMatch(/^HTTP\/1\.1 413 /)
    expect(declared).toContain('request body over ' + String(ADMIN_MAX_BODY_BYTES) + ' bytes')
    const chunk = 'x'.repeat(1000)
    const chunks = Array.from({ length: 6 }, () => '3e8\r\n' + chunk + '\r\n')
    const chunked = await rawHttp(r.port, ['POST /reload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', ...chunks], 10)
    expect(chunked).toMatch(/^HTTP\/1\.1 413 /)
    expect(r.ledger.snapshot()).toMatchObject({ ok: 0, error: 0 }) // no reload ran
    // a small body is fine (clients that send `{}`), and the server still answers
    const small = await rawHttp(r.port, ['POST /reload HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}'])
    expect(small).toMatch(/^HTTP\/1\.1 200 /)
  })

  it('answers 431 to oversized headers', async () => {
    const r = await startTestAdmin(null)
    const res = await rawHttp(r.port, ['GET /status HTTP/1.1\r\nHost: x\r\nX-Big: ' + 'y'.repeat(20_000) + '\r\n\r\n'])
    expect(res).toMatch(/^HTTP\/1\.1 431 /)
    expect((await call(r, '/healthz')).status).toBe(200)
  })

  it('answers 409 to a second reload while the first is compiling, then runs the next one', async () => {
    const r = await startTestAdmin(null)
    const release = r.gateReload({ ok: true, routes: 3, ms: 40, needsRestart: [] })
    const first = call(r, '/reload', { method: 'POST' })
    await new Promise((resolve) => setTimeout(resolve, 50))
    const second = await call(r, '/reload', { method: 'POST' })
    expect(second.status).toBe(409)
    expect(second.json()).toMatchObject({ ok: false, error: { code: ErrorCode.RELOAD_BUSY } })
    release()
    const done = await first
    expect(done.status).toBe(200)
    expect(done.json()).toMatchObject({ ok: true, routes: 3, needsRestart: [], table: { generation: 2, routes: 3 } })
    expect((await call(r, '/reload', { method: 'POST' })).status).toBe(200)
    expect(r.ledger.snapshot()).toMatchObject({ ok: 2, error: 0, generation: 3 })
  })

  it('answers 422 with the config error for a broken file, and keeps the generation', async () => {
    const r = await startTestAdmin(null)
    r.gateReload({ ok: false, error: { code: ErrorCode.CONFIG_SYNTAX, message: 'x.yaml:3:1: invalid YAML', file: 'x.yaml' } })()
    const res = await call(r, '/reload', { method: 'POST' })
    expect(res.status).toBe(422)
    expect(res.json()).toEqual({ ok: false, error: { code: ErrorCode.CONFIG_SYNTAX, message: 'x.yaml:3:1: invalid YAML', file: 'x.yaml' } })
    expect(r.ledger.snapshot()).toMatchObject({ ok: 0, error: 1, generation: 1 })
  })

  it('answers 500 when the target fails, and stays up', async () => {
    const r = await startTestAdmin(null, { metrics: () => Promise.reject(new Error('collector bug')) })
    const res = await call(r, '/metrics')
    expect(res.status).toBe(500)
    expect(res.json().error).toBe('internal error: collector bug')
    expect((await call(r, '/healthz')).status).toBe(200)
  })

  it('sheds connections past ADMIN_MAX_CONNECTIONS and serves again once they go', async () => {
    const r = await startTestAdmin(null)
    const idle: net.Socket[] = []
    for (let i = 0; i < ADMIN_MAX_CONNECTIONS; i++) {
      const s = net.connect(r.port, '127.0.0.1')
      s.on('error', () => {})
      await new Promise((resolve) => s.once('connect', resolve))
      idle.push(s)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
    const shed = await rawHttp(r.port, ['GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'])
    expect(shed).toBe('')
    for (const s of idle) s.destroy()
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect((await call(r, '/healthz')).status).toBe(200)
  })
})

describe('admin endpoint: lifecycle', () => {
  it('/readyz says why it is not ready: 503 while starting or draining, 200 when running', async () => {
    const r = await startTestAdmin(null)
    r.setPhase(Phase.Starting)
    const starting = await call(r, '/readyz')
    expect(starting.status).toBe(503)
    expect(starting.json()).toEqual({ ready: false, reasons: ['starting'] })
    r.setPhase(Phase.Running)
    expect(await call(r, '/readyz').then((x) => x.status)).toBe(200)
    r.setPhase(Phase.Draining)
    expect((await call(r, '/readyz')).json()).toEqual({ ready: false, reasons: ['draining'] })
    // still scrapeable while draining; no reload while draining
    expect((await call(r, '/metrics')).status).toBe(200)
    const reload = await call(r, '/reload', { method: 'POST' })
    expect(reload.status).toBe(503)
    expect(reload.json()).toMatchObject({ ok: false, error: { message: 'not reloading while draining' } })
  })

  it('finishes a request in flight when close() begins, with Connection: close, then stops listening', async () => {
    const r = await startTestAdmin(null)
    const release = r.gateReload({ ok: true, routes: 1, ms: 1, needsRestart: [] })
    const reply = rawHttp(r.port, ['POST /reload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n'])
    await new Promise((resolve) => setTimeout(resolve, 60))
    const t0 = Date.now()
    const closed = r.server.close()
    release()
    const text = await reply
    expect(text).toMatch(/^HTTP\/1\.1 200 /)
    expect(text.toLowerCase()).toContain('connection: close')
    await closed
    // the connection ended with its answer, not when the close deadline cut it
    expect(Date.now() - t0).toBeLessThan(1000)
    await expect(fetch('http://127.0.0.1:' + String(r.port) + '/healthz')).rejects.toThrow()
  })

  it('answers 503 "shutting down" to a scrape whose collection fails because the proxy is going away', async () => {
    let fail!: (e: Error) => void
    const r = await startTestAdmin(null, { metrics: () => new Promise<string>((_resolve, reject) => { fail = reject }) })
    const reply = rawHttp(r.port, ['GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'])
    await new Promise((resolve) => setTimeout(resolve, 60))
    const closed = r.server.close()
    fail(new Error('worker terminated'))
    const text = await reply
    expect(text).toMatch(/^HTTP\/1\.1 503 /)
    expect(text).toContain('{"error":"shutting down"}')
    await closed
  })
})

describe('admin options', () => {
  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1']) expect(isLoopback(h)).toBe(true)
    for (const h of ['', '0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com', '::ffff:10.0.0.1']) expect(isLoopback(h)).toBe(false)
  })

  it('refuses to listen off loopback without a token, or with a short one, before binding anything', async () => {
    const target = {} as AdminTarget
    await expect(startAdminServer({ listen: { host: '0.0.0.0', port: 0 }, token: null }, target)).rejects.toMatchObject({ code: ErrorCode.ADMIN_TOKEN })
    await expect(startAdminServer({ listen: { host: '', port: 0 }, token: '' }, target)).rejects.toMatchObject({ code: ErrorCode.ADMIN_TOKEN })
    expect(() => { checkAdminOptions({ listen: { host: '127.0.0.1', port: 9901 }, token: 'short' }) }).toThrow(/at least 16/)
    expect(() => { checkAdminOptions({ listen: { host: '0.0.0.0', port: 9901 }, token: TEST_ADMIN_TOKEN }) }).not.toThrow()
    expect(() => { checkAdminOptions({ listen: { host: '127.0.0.1', port: 9901 }, token: null }) }).not.toThrow()
  })
})
