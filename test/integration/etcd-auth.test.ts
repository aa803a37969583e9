/**
 * source.etcd's `tls` and `username`/`password` against a real etcd (test/helpers/etcd.ts): one etcd
 * serving clients over https that wants a client certificate (`--client-cert-auth`, a CA and certificates
 * made by test/helpers/certs.ts issueTestPki), one with auth enabled (user root). Through each,
 * `hellogate serve` reads the prefix and watches it (a client through the proxy sees the origin's own
 * certificate), and `hellogate routes` edits it; what etcd refuses (a CA that did not sign its certificate,
 * no client certificate, a wrong password) is a coded not-ready start serving the file's routes, not a
 * crash. Skipped, with the reason printed, where no etcd or openssl binary runs.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { issueTestPki, type TestPki } from '../helpers/certs.ts'
import { haveEtcd, startEtcd, type EtcdOptions, type EtcdServer } from '../helpers/etcd.ts'
import { NODE, ROOT, rawConfig, startCliProxy, startTlsOrigin, tlsRequest, type CliProxy, type TlsOrigin } from '../helpers/servers.ts'
import { haveTool } from '../helpers/tools.ts'

const HAVE_ETCD = haveEtcd()
const HAVE_OPENSSL = HAVE_ETCD && haveTool('openssl', ['version'], 'the etcd TLS tests make their CA and certificates with openssl 3')
const FILE_ROUTE = 'file.fleet.example'
const PASSWORD = 'root-secret'
/** ms. A test starts hellogate once or twice and etcd at most once: seconds each on a loaded 2-core machine. */
const TEST_MS = 30_000
/** ms. A put is in force well within this (the etcd test's figures: ~10 ms; a restart's reconnect ~1 s). */
const ROUTED_MS = 10_000

/** Connect through the proxy to `sni` until the origin answering is `want` (its certificate seen by the client). */
async function routedTo (port: number, sni: string, want: TlsOrigin): Promise<void> {
  const end = Date.now() + ROUTED_MS
  let last = 'not tried'
  while (Date.now() < end) {
    try {
      const r = await tlsRequest(port, sni, want.cert)
      if (r.fingerprint === want.fingerprint && r.body.includes('origin ' + want.name)) return
      last = r.fingerprint
    } catch (err) {
      last = (err as Error).message
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`${sni}: wanted origin ${want.name}, still ${last} after ${ROUTED_MS} ms`)
}

async function readyz (admin: string): Promise<{ status: number, text: string }> {
  const res = await fetch(admin + '/readyz')
  return { status: res.status, text: await res.text() }
}

interface Fleet {
  readonly etcd: () => EtcdServer
  readonly origin: () => TlsOrigin
  readonly serve: (prefix: string, etcdConfig: Record<string, unknown>) => Promise<CliProxy & { admin: string }>
  readonly stop: (p: CliProxy) => Promise<void>
}

/** One etcd (started with `opts`), an origin, and `hellogate serve` runs against them, all stopped after. */
function fleet (opts: () => EtcdOptions): Fleet {
  let etcd: EtcdServer
  let origin: TlsOrigin
  const running: CliProxy[] = []
  beforeAll(async () => { [etcd, origin] = await Promise.all([startEtcd(opts()), startTlsOrigin('alpha', ['*.fleet.example'])]) })
  afterAll(async () => {
    for (const p of running) await p.close()
    await Promise.all([etcd?.stop(), origin?.close()])
  })
  return {
    etcd: () => etcd,
    origin: () => origin,
    /** `hellogate serve` with a file route to the origin, the admin endpoint, and source.etcd: this etcd, `prefix`, `etcdConfig` */
    serve: async (prefix, etcdConfig) => {
      const raw = {
        ...rawConfig({ workers: 1, routes: { [FILE_ROUTE]: '127.0.0.1:' + String(origin.port) } }),
        admin: { listen: '127.0.0.1:0' },
        source: { etcd: { endpoints: [etcd.endpoint], prefix, ...etcdConfig } },
      }
      const proxy = await startCliProxy({ routes: {} }, undefined, raw)
      running.push(proxy)
      const admin = await proxy.waitForLog((l) => l.evt === 'admin.listening')
      return Object.assign(proxy, { admin: String(admin.url) })
    },
    stop: async (proxy) => {
      running.splice(running.indexOf(proxy), 1)
      expect(await proxy.close()).toBe(0)
    },
  }
}

/**
 * `hellogate serve` with `etcdConfig` reads a route put before it started (the start's read) and one put
 * after (the watch), each connection answered by the origin; the running proxy.
 */
async function readsAndWatches (f: Fleet, prefix: string, etcdConfig: Record<string, unknown>): Promise<CliProxy & { admin: string }> {
  const at = '127.0.0.1:' + String(f.origin().port)
  await f.etcd().client.put(prefix + 'routes/pre.fleet.example').value(at)
  const proxy = await f.serve(prefix, etcdConfig)
  expect(proxy.logs.find((l) => l.evt === 'source.applied')).toMatchObject({ from: 'etcd', routes: 2 })
  await routedTo(proxy.port, 'pre.fleet.example', f.origin())
  await f.etcd().client.put(prefix + 'routes/live.fleet.example').value(at)
  await routedTo(proxy.port, 'live.fleet.example', f.origin())
  return proxy
}

/** etcd refused hellogate: the start logged why, serves the file's routes, and says not ready; still running */
async function expectNotReady (proxy: CliProxy & { admin: string }, reason: RegExp): Promise<void> {
  expect(proxy.logs.find((l) => l.evt === 'source.not_ready')).toMatchObject({ code: 'HG_ERR_SOURCE_ETCD', from: 'file', reason: expect.stringMatching(reason) })
  const r = await readyz(proxy.admin)
  expect(r.status).toBe(503)
  expect(r.text).toContain('not ready from etcd')
  expect((await tlsRequest(proxy.port, FILE_ROUTE, '', { rejectUnauthorized: false })).body).toContain('origin alpha')
  expect(proxy.child.exitCode).toBeNull()
}

describe.skipIf(!HAVE_OPENSSL)('source.etcd over TLS with a client certificate (--client-cert-auth)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hellogate-etcd-tls-'))
  const pki: TestPki = issueTestPki(dir)
  const f = fleet(() => ({ tls: { pki, clientCertAuth: true } }))
  const good = { tls: { ca: pki.ca, cert: pki.client.cert, key: pki.client.key } }
  afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

  it('serve reads the prefix and follows a live put (the watch over TLS); the client sees the origin\'s certificate', async () => {
    const proxy = await readsAndWatches(f, '/tls1/', good)
    expect((await readyz(proxy.admin)).status).toBe(200)
    await f.stop(proxy)
  }, TEST_MS)

  it('hellogate routes put|get|list|rm --config FILE over TLS', async () => {
    const prefix = '/tls2/'
    const at = '127.0.0.1:' + String(f.origin().port)
    const file = join(dir, 'routes.json')
    writeFileSync(file, JSON.stringify({ routes: {}, source: { etcd: { endpoints: [f.etcd().endpoint], prefix, ...good } } }))
    expect(await routes(file, 'put', 'p.fleet.example', at)).toMatchObject({ code: 0, out: `put ${prefix}routes/p.fleet.example\n` })
    expect(await routes(file, 'get', 'p.fleet.example')).toMatchObject({ code: 0, out: at + '\n' })
    expect(await routes(file, 'list')).toMatchObject({ code: 0, out: `p.fleet.example ${at}\n` })
    expect(await routes(file, 'rm', 'p.fleet.example')).toMatchObject({ code: 0 })
    expect(await f.etcd().client.getAll().prefix(prefix).keys()).toEqual([])
    // a CA that did not sign etcd's certificate: a coded failure with the handshake's reason, exit 1
    const wrong = join(dir, 'wrong-ca.json')
    writeFileSync(wrong, JSON.stringify({ routes: {}, source: { etcd: { endpoints: [f.etcd().endpoint], prefix, tls: { ...good.tls, ca: pki.otherCa } } } }))
    // (it fails at the first call, in under a second here, not at the 30 s call deadline)
    const refused = await routes(wrong, 'list')
    expect(refused).toMatchObject({ code: 1, out: '', err: expect.stringMatching(/HG_ERR_SOURCE_ETCD.*unable to verify the first certificate/) })
  }, TEST_MS)

  it('a CA that did not sign etcd\'s certificate, or no client certificate: not ready (HG_ERR_SOURCE_ETCD, why), the file\'s routes served', async () => {
    const [wrongCa, noCert] = await Promise.all([
      f.serve('/tls3/', { tls: { ca: pki.otherCa, cert: pki.client.cert, key: pki.client.key } }),
      f.serve('/tls4/', { tls: { ca: pki.ca } }),
    ])
    // grpc-js' words: the handshake's own failure (Node's verify error; etcd's alert 42 bad_certificate)
    await expectNotReady(wrongCa, /UNAVAILABLE.*unable to verify the first certificate/)
    await expectNotReady(noCert, /UNAVAILABLE.*alert bad certificate/)
    await Promise.all([f.stop(wrongCa), f.stop(noCert)])
  }, TEST_MS)
})

describe.skipIf(!HAVE_ETCD)('source.etcd with username/password (etcd auth enabled)', () => {
  const f = fleet(() => ({ rootPassword: PASSWORD }))

  it('serve logs in, reads and watches the prefix; after etcd restarts (its tokens gone) a put is still routed', async () => {
    const prefix = '/auth1/'
    const proxy = await readsAndWatches(f, prefix, { username: 'root', password: PASSWORD })
    // the watch resumes with the token etcd forgot: etcd refuses it, hellogate reads the prefix again
    await f.etcd().restart()
    await proxy.waitForLog((l) => l.evt === 'source.disconnected' && /invalid auth token/.test(String(l.reason)))
    await proxy.waitForLog((l) => l.evt === 'source.connected' && l.how === 'full re-read' && l.why === 'watch refused')
    // and watches again: a put made after the re-read arrives through the new watch
    await f.etcd().client.put(prefix + 'routes/after.fleet.example').value('127.0.0.1:' + String(f.origin().port))
    await routedTo(proxy.port, 'after.fleet.example', f.origin())
    expect((await readyz(proxy.admin)).status).toBe(200)
    await f.stop(proxy)
  }, TEST_MS)

  it('a wrong password: not ready (HG_ERR_SOURCE_ETCD, authentication failed), the file\'s routes served', async () => {
    const proxy = await f.serve('/auth2/', { username: 'root', password: 'wrong' })
    await expectNotReady(proxy, /authentication failed, invalid user ID or password/)
    await f.stop(proxy)
  }, TEST_MS)
})

/** `hellogate routes ARGS --config FILE`: exit status and output */
async function routes (file: string, ...args: string[]): Promise<{ code: number, out: string, err: string }> {
  return await new Promise((resolve) => {
    execFile(NODE, [join(ROOT, 'dist/cli.js'), 'routes', ...args, '--config', file], (error, out, err) => {
      resolve({ code: error === null ? 0 : Number(error.code), out, err })
    })
  })
}
