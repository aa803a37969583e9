/**
 * The CLI's admin clients against a real admin endpoint on 127.0.0.1:0: address forms, token from the
 * flag or the environment, a clear HG_ERR_ADMIN_REQUEST when the endpoint is unreachable or refuses the
 * token, the exit status of `reload`, and `top` frames computed from successive /status snapshots.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Writable } from 'node:stream'
import { closedPort } from '../../helpers/servers.ts'
import { closeTestAdmins, startTestAdmin, TEST_ADMIN_TOKEN } from '../../helpers/admin.ts'
import {
  ADMIN_TOKEN_ENV, fetchStatus, parseAdminAddress, resolveToken, runReload, runStatus,
} from '../../../src/admin/client.ts'
import { runTop } from '../../../src/admin/top.ts'
import { ErrorCode } from '../../../src/errors.ts'

afterEach(closeTestAdmins)

function sink (): Writable & { text: () => string } {
  const parts: string[] = []
  const w = new Writable({ write (chunk: Buffer, _enc, cb) { parts.push(chunk.toString()); cb() } })
  return Object.assign(w, { text: () => parts.join('') })
}

describe('parseAdminAddress', () => {
  it('accepts host:port, [v6]:port, :port (loopback) and http:// URLs', () => {
    expect(parseAdminAddress('127.0.0.1:9901').href).toBe('http://127.0.0.1:9901/')
    expect(parseAdminAddress('[::1]:9901').href).toBe('http://[::1]:9901/')
    expect(parseAdminAddress(':9901').href).toBe('http://127.0.0.1:9901/')
    expect(parseAdminAddress('http://admin.internal:9901/ignored/path').href).toBe('http://admin.internal:9901/')
  })

  it('rejects anything else as a usage error', () => {
    for (const bad of ['9901', 'host', 'https://x:1', '127.0.0.1:99999', 'http://']) {
      expect(() => parseAdminAddress(bad)).toThrow(expect.objectContaining({ code: ErrorCode.CLI_USAGE }) as Error)
    }
  })
})

describe('resolveToken', () => {
  it('prefers --token, then HELLOGATE_ADMIN_TOKEN; empty means none', () => {
    expect(resolveToken('flag', { [ADMIN_TOKEN_ENV]: 'env' })).toBe('flag')
    expect(resolveToken(undefined, { [ADMIN_TOKEN_ENV]: 'env' })).toBe('env')
    expect(resolveToken(undefined, {})).toBeNull()
    expect(resolveToken('', { [ADMIN_TOKEN_ENV]: 'env' })).toBeNull()
  })
})

describe('admin clients', () => {
  it('fetch /status with the token and print a summary', async () => {
    const r = await startTestAdmin(TEST_ADMIN_TOKEN)
    const admin = '127.0.0.1:' + String(r.port)
    const status = await fetchStatus({ admin, token: TEST_ADMIN_TOKEN })
    expect(status).toMatchObject({ version: '0.0.0-test', phase: 'running', counters: { conn_accepted: 7 } })
    const out = sink()
    expect(await runStatus({ admin, token: TEST_ADMIN_TOKEN, out })).toBe(0)
    expect(out.text()).toMatch(/^hellogate 0\.0\.0-test \(pid \d+, node v\d+/)
    expect(out.text()).toContain('  conns     1 active, 7 accepted; restarts 0')
    expect(out.text()).toContain('    #1 up    active 1, accepted 7, loop n/a')
    const json = sink()
    await runStatus({ admin, token: TEST_ADMIN_TOKEN, out: json, json: true })
    expect(JSON.parse(json.text())).toMatchObject({ version: '0.0.0-test' })
  })

  it('say the token was refused (401) and how to pass one', async () => {
    const r = await startTestAdmin(TEST_ADMIN_TOKEN)
    const err = await fetchStatus({ admin: '127.0.0.1:' + String(r.port), token: 'wrong-token' }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: ErrorCode.ADMIN_REQUEST })
    expect((err as Error).message).toContain('refused the token (401): pass --token or set HELLOGATE_ADMIN_TOKEN')
  })

  it('say the endpoint cannot be reached, with the errno, when nothing listens', async () => {
    const port = await closedPort()
    const err = await fetchStatus({ admin: '127.0.0.1:' + String(port), token: null }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: ErrorCode.ADMIN_REQUEST })
    expect((err as Error).message).toContain('cannot reach the admin endpoint at 127.0.0.1:' + String(port) + ': ECONNREFUSED')
  })

  it('reload: exit 0 with the new table, 1 with the config error (the running routes kept)', async () => {
    const r = await startTestAdmin(null)
    const admin = '127.0.0.1:' + String(r.port)
    r.gateReload({ ok: true, routes: 4, ms: 12.4, needsRestart: ['workers'] })()
    const ok = sink()
    expect(await runReload({ admin, out: ok })).toBe(0)
    expect(ok.text()).toBe('reload ok: 4 routes in 12 ms (generation 2)\n  changed but needs a restart (running values kept): workers\n')
    r.gateReload({ ok: false, error: { code: ErrorCode.CONFIG_SYNTAX, message: 'x.yaml:1:1: invalid YAML' } })()
    const bad = sink()
    expect(await runReload({ admin, out: bad })).toBe(1)
    expect(bad.text()).toBe('reload refused, the running routes are kept: HG_ERR_CONFIG_SYNTAX: x.yaml:1:1: invalid YAML\n')
  })

  it('top: draws one frame per poll, rates from the second frame on', async () => {
    const r = await startTestAdmin(null)
    const out = sink()
    expect(await runTop({ admin: '127.0.0.1:' + String(r.port), out, intervalMs: 100, iterations: 2 })).toBe(0)
    const frames = out.text().split(/^--- \d{4}-\d\d-\d\dT[\d:.]+Z\n/m).filter((f) => f !== '')
    expect(frames).toHaveLength(2)
    expect(frames[0]).toMatch(/conns\/s - {3}active 1 {3}accepted 7/)
    expect(frames[1]).toMatch(/conns\/s 0\.0 {3}active 1 {3}accepted 7/)
  })

  it('top: fails at once when the first poll fails', async () => {
    const port = await closedPort()
    await expect(runTop({ admin: '127.0.0.1:' + String(port), out: sink(), iterations: 3 })).rejects.toMatchObject({ code: ErrorCode.ADMIN_REQUEST })
  })
})
