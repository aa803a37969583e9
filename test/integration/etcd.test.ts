/**
 * source.etcd against a real etcd server (test/helpers/etcd.ts starts its own on a temp data dir and
 * loopback ports): `hellogate serve` reads the prefix, watches it and swaps each batch of changes into
 * its workers while clients connect; etcd killed, restarted, compacted; start from the snapshot with
 * etcd down; a corrupt snapshot. Skipped, with the reason printed, where no etcd binary runs.
 *
 * Each test uses its own prefix on the one etcd server. Figures (100 000 routes at start, the burst)
 * are printed, not asserted: speed is the benchmark's business (bench/etcd/).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import tls from 'node:tls'
import { execFile } from 'node:child_process'

import type { Etcd3 } from 'etcd3'
import { createProxy } from 'hellogate'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { COALESCE_MS, readPrefix } from '../../src/source/etcd.ts'
import { compileFleet, RouteChecks } from '../../src/source/fleet.ts'
import { haveEtcd, startEtcd, type EtcdServer } from '../helpers/etcd.ts'
import { NODE, ROOT, rawConfig, startCliProxy, startTlsOrigin, waitFor, type CliProxy, type TlsOrigin } from '../helpers/servers.ts'

const HAVE_ETCD = haveEtcd()
const FILE_ROUTE = 'file.fleet.example'
/** etcd's default limit of operations in one transaction (--max-txn-ops) */
const TXN_OPS = 128
/** transactions in flight while loading a large prefix */
const TXN_PARALLEL = 16
/** single puts in flight during the burst: a client fleet's worth, more than one compile's time apart */
const BURST_PARALLEL = 500
/** ms. Each test restarts etcd or hellogate a few times: seconds each on a loaded 2-core machine. */
const TEST_MS = 60_000
/** ms. 110 000 keys written and compiled several times. */
const HEAVY_TEST_MS = 180_000

type Seen = 'alpha' | 'beta' | 'reject' | `fail: ${string}`

/** One TLS connection through the proxy to `sni`: which origin answered, or the proxy's unrecognized_name alert. */
function probe (port: number, sni: string): Promise<Seen> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: sni, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
      s.write('GET / HTTP/1.1\r\nHost: ' + sni + '\r\n\r\n')
    })
    let body = ''
    s.setEncoding('latin1')
    s.setTimeout(5_000, () => { s.destroy(); resolve('fail: timeout') })
    s.on('data', (d: string) => { body += d })
    s.on('error', (e) => { resolve(/unrecognized.name/i.test(e.message) ? 'reject' : `fail: ${e.message}`) })
    s.on('end', () => { resolve(body.includes('origin alpha') ? 'alpha' : body.includes('origin beta') ? 'beta' : `fail: ${body.slice(0, 60)}`) })
  })
}

/** Connect to `sni` again and again (one at a time) until stopped; every answer recorded in order. */
function clientLoop (port: number, sni: string): { seen: Seen[], last: () => Seen | undefined, stop: () => Promise<void> } {
  const seen: Seen[] = []
  const state = { running: true }
  const done = (async () => { while (state.running) seen.push(await probe(port, sni)) })()
  return { seen, last: () => seen[seen.length - 1], stop: async () => { state.running = false; await done } }
}

/** consecutive repeats folded: [a, a, b, a] → [a, b, a] */
function runs<T> (xs: readonly T[]): T[] {
  return xs.filter((x, i) => i === 0 || xs[i - 1] !== x)
}

async function putMany (client: Etcd3, entries: ReadonlyArray<readonly [string, string]>): Promise<void> {
  const txns: Array<ReadonlyArray<readonly [string, string]>> = []
  for (let i = 0; i < entries.length; i += TXN_OPS) txns.push(entries.slice(i, i + TXN_OPS))
  for (let i = 0; i < txns.length; i += TXN_PARALLEL) {
    await Promise.all(txns.slice(i, i + TXN_PARALLEL).map((t) =>
      client.if(t[0]![0], 'Version', '>', -1).then(...t.map(([k, v]) => client.put(k).value(v))).commit()))
  }
}

async function getJson (url: string): Promise<{ status: number, body: Record<string, unknown> }> {
  const res = await fetch(url)
  return { status: res.status, body: await res.json() as Record<string, unknown> }
}

async function eventually (port: number, sni: string, want: Seen, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs
  let got: Seen = 'fail: not tried'
  while (Date.now() < end) {
    got = await probe(port, sni)
    if (got === want) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`${sni}: wanted ${want}, still ${got} after ${timeoutMs} ms`)
}

describe.skipIf(!HAVE_ETCD)('source.etcd with a real etcd', () => {
  let etcd: EtcdServer
  let alpha: TlsOrigin
  let beta: TlsOrigin
  const dir = mkdtempSync(join(tmpdir(), 'hellogate-etcd-test-'))
  const running: CliProxy[] = []

  beforeAll(async () => {
    ;[etcd, alpha, beta] = await Promise.all([startEtcd(), startTlsOrigin('alpha', ['*.fleet.example']), startTlsOrigin('beta', ['*.fleet.example'])])
  })
  afterAll(async () => {
    for (const p of running) await p.close()
    await Promise.all([etcd?.stop(), alpha?.close(), beta?.close()])
  })

  const at = (o: TlsOrigin): string => '127.0.0.1:' + String(o.port)

  /** `hellogate serve` with a file route to alpha and source.etcd at `prefix` (plus the admin endpoint) */
  async function serve (prefix: string, cache: string | null, workers = 2, startTimeoutMs = 15_000): Promise<CliProxy & { admin: string }> {
    const raw = {
      ...rawConfig({ workers, routes: { [FILE_ROUTE]: at(alpha) } }),
      admin: { listen: '127.0.0.1:0' },
      source: { etcd: { endpoints: [etcd.endpoint], prefix, ...(cache === null ? {} : { cache }) } },
    }
    const proxy = await startCliProxy({ routes: {} }, undefined, raw, startTimeoutMs)
    running.push(proxy)
    const admin = await proxy.waitForLog((l) => l.evt === 'admin.listening')
    return Object.assign(proxy, { admin: String(admin.url) })
  }

  async function stop (proxy: CliProxy): Promise<void> {
    running.splice(running.indexOf(proxy), 1)
    expect(await proxy.close()).toBe(0)
  }

  it('follows puts and deletes while a client loop connects (zero failures), leaves out a bad key, lets the file win', async () => {
    const prefix = '/t1/'
    const cache = join(dir, 't1.snapshot.json')
    await etcd.client.put(prefix + 'routes/bad key!').value(at(alpha))
    const proxy = await serve(prefix, cache)
    const skip = await proxy.waitForLog((l) => l.evt === 'source.skip')
    expect(skip).toMatchObject({ key: prefix + 'routes/bad key!', code: 'HG_ERR_ROUTE_INVALID' })

    const name = 'live.fleet.example'
    const loop = clientLoop(proxy.port, name)
    await waitFor(() => loop.last() === 'reject', 10_000)
    await etcd.client.put(prefix + 'routes/' + name).value(at(alpha))
    await waitFor(() => loop.last() === 'alpha', 10_000)
    await etcd.client.put(prefix + 'routes/' + name).value(at(beta))
    await waitFor(() => loop.last() === 'beta', 10_000)
    await etcd.client.delete().key(prefix + 'routes/' + name)
    await waitFor(() => loop.last() === 'reject', 10_000)
    await loop.stop()
    // the first compile after start is full (the start's ran on this thread; a new origin numbers a new
    // pool); the reload thread keeps it, so a put naming an origin already in the table is compiled from
    // the changed key alone (fleet-delta.ts)
    expect(proxy.logs.find((l) => l.evt === 'source.applied')).toMatchObject({ compile: 'full' })
    await etcd.client.put(prefix + 'routes/incr.fleet.example').value(at(alpha))
    await proxy.waitForLog((l) => l.evt === 'source.applied' && l.compile === 'incremental')
    expect(await probe(proxy.port, 'incr.fleet.example')).toBe('alpha')
    console.log(`client loop: ${loop.seen.length} connections, tables seen in order: ${runs(loop.seen).join(' → ')}`)
    expect(loop.seen.filter((s) => s.startsWith('fail'))).toEqual([])
    expect(runs(loop.seen)).toEqual(['reject', 'alpha', 'beta', 'reject'])

    // the file wins a clash; the etcd key is logged as shadowed
    await etcd.client.put(prefix + 'routes/' + FILE_ROUTE).value(at(beta))
    await proxy.waitForLog((l) => l.evt === 'source.shadowed' && l.key === prefix + 'routes/' + FILE_ROUTE)
    expect(await probe(proxy.port, FILE_ROUTE)).toBe('alpha')

    const ready = await getJson(proxy.admin + '/readyz')
    expect(ready.status).toBe(200)
    expect(String((ready.body.details as string[])[0])).toContain('1 skipped')
    const metrics = await (await fetch(proxy.admin + '/metrics')).text()
    expect(metrics).toMatch(/^hellogate_source_etcd_skipped_keys 1$/m)
    expect(metrics).toMatch(/^hellogate_source_etcd_from_etcd 1$/m)
    expect(metrics).toMatch(/^hellogate_source_etcd_incremental_compiles_total [1-9]/m)
    const revision = Number((await etcd.client.get('/probe').exec()).header.revision)
    await waitFor(() => { try { return JSON.parse(readFileSync(cache, 'utf8')).revision === revision } catch { return false } }, 5_000)
    await stop(proxy)
  }, TEST_MS)

  it('etcd killed and restarted: traffic unaffected, changes made after it came back arrive', async () => {
    const prefix = '/t3/'
    await etcd.client.put(prefix + 'routes/a.fleet.example').value(at(alpha))
    const proxy = await serve(prefix, null)
    expect(await probe(proxy.port, 'a.fleet.example')).toBe('alpha')

    await etcd.kill()
    await proxy.waitForLog((l) => l.evt === 'source.disconnected')
    for (let i = 0; i < 5; i++) expect(await probe(proxy.port, 'a.fleet.example')).toBe('alpha')
    expect((await getJson(proxy.admin + '/readyz')).status).toBe(200) // the table in force is still etcd's

    await etcd.restart()
    await etcd.client.put(prefix + 'routes/b.fleet.example').value(at(beta))
    await eventually(proxy.port, 'b.fleet.example', 'beta')
    // the watch broken again between two puts
    await etcd.restart()
    await etcd.client.put(prefix + 'routes/c.fleet.example').value(at(alpha))
    await eventually(proxy.port, 'c.fleet.example', 'alpha')
    expect(await probe(proxy.port, 'a.fleet.example')).toBe('alpha')
    await stop(proxy)
  }, TEST_MS)

  it('compaction past the watched revision: a full re-read brings every change', async () => {
    const prefix = '/t4/'
    await etcd.client.put(prefix + 'routes/x.fleet.example').value(at(alpha))
    const proxy = await serve(prefix, null)
    expect(await probe(proxy.port, 'x.fleet.example')).toBe('alpha')
    const pid = proxy.child.pid!
    // hellogate frozen while etcd restarts and moves on: its watch resumes from a revision compacted away
    process.kill(pid, 'SIGSTOP')
    try {
      await etcd.restart()
      await etcd.client.put(prefix + 'routes/y.fleet.example').value(at(beta))
      await etcd.client.put(prefix + 'routes/z.fleet.example').value(at(beta))
      const rev = (await etcd.client.get('/probe').exec()).header.revision
      await etcd.client.kv.compact({ revision: rev, physical: true })
    } finally {
      process.kill(pid, 'SIGCONT')
    }
    await proxy.waitForLog((l) => l.evt === 'source.connected' && l.how === 'full re-read' && l.why === 'compacted', 20_000)
    await eventually(proxy.port, 'y.fleet.example', 'beta')
    await eventually(proxy.port, 'z.fleet.example', 'beta')
    await stop(proxy)
  }, TEST_MS)

  it('starts from the snapshot while etcd is down (not ready), and becomes ready once etcd answers', async () => {
    const prefix = '/t5/'
    const cache = join(dir, 't5.snapshot.json')
    await etcd.client.put(prefix + 'routes/s.fleet.example').value(at(beta))
    const first = await serve(prefix, cache)
    await waitFor(() => { try { return JSON.parse(readFileSync(cache, 'utf8')).routes.length === 1 } catch { return false } }, 5_000)
    await stop(first)

    await etcd.kill()
    const proxy = await serve(prefix, cache)
    expect(proxy.logs.find((l) => l.evt === 'source.not_ready')).toMatchObject({ code: 'HG_ERR_SOURCE_ETCD', from: 'snapshot' })
    expect(await probe(proxy.port, 's.fleet.example')).toBe('beta')
    const down = await getJson(proxy.admin + '/readyz')
    expect(down.status).toBe(503)
    expect(String((down.body.reasons as string[]).join())).toContain('not ready from etcd')

    await etcd.restart()
    await proxy.waitForLog((l) => l.evt === 'source.connected' && l.how === 'full re-read', 20_000)
    await waitFor(() => proxy.logs.some((l) => l.evt === 'source.applied' && l.from === 'etcd'), 10_000)
    expect((await getJson(proxy.admin + '/readyz')).status).toBe(200)
    await stop(proxy)
  }, TEST_MS)

  it('a corrupt snapshot with etcd down: a coded error, the file\'s routes only, not ready; no crash', async () => {
    const prefix = '/t6/'
    const cache = join(dir, 't6.snapshot.json')
    await etcd.client.put(prefix + 'routes/e.fleet.example').value(at(beta))
    writeFileSync(cache, '{"version":1,"prefix":"/t6/","revision":12,"routes":[["e.fleet.exa')
    await etcd.kill()
    try {
      const proxy = await serve(prefix, cache)
      expect(proxy.logs.find((l) => l.evt === 'source.snapshot_error')).toMatchObject({ code: 'HG_ERR_SOURCE_SNAPSHOT', kept: 'file routes only' })
      expect(proxy.logs.find((l) => l.evt === 'source.not_ready')).toMatchObject({ from: 'file' })
      expect(await probe(proxy.port, FILE_ROUTE)).toBe('alpha')
      expect(await probe(proxy.port, 'e.fleet.example')).toBe('reject')
      expect((await getJson(proxy.admin + '/readyz')).status).toBe(503)
      await stop(proxy)
    } finally {
      await etcd.restart()
    }
  }, TEST_MS)
  // last: etcd restarts replay its log, which this one makes long
  it('hellogate routes put|get|list|rm edits the keys serve reads, refusing what the file would refuse', async () => {
    const prefix = '/t7/'
    const file = join(dir, 't7.json')
    writeFileSync(file, JSON.stringify({ routes: { [FILE_ROUTE]: at(alpha) }, source: { etcd: { endpoints: [etcd.endpoint], prefix } } }))
    await etcd.client.put(prefix + 'upstreams/web').value(JSON.stringify({ servers: [at(beta)] }))
    const routes = async (...args: string[]): Promise<{ code: number, out: string, err: string }> =>
      await new Promise((resolve) => {
        execFile(NODE, [join(ROOT, 'dist/cli.js'), 'routes', ...args, '--config', file], (error, out, err) => {
          resolve({ code: error === null ? 0 : Number(error.code), out, err })
        })
      })
    expect(await routes('put', 'p.fleet.example', 'web')).toMatchObject({ code: 0, out: `put ${prefix}routes/p.fleet.example\n` })
    expect(await routes('put', 'q.fleet.example', '{"upstream": "web", "alpn": {"h2": "' + at(alpha) + '"}}')).toMatchObject({ code: 0 })
    const refused = await routes('put', 'r.fleet.example', 'nopool')
    expect(refused.code).toBe(1)
    expect(refused.err).toContain("no pool named 'nopool'")
    expect((await routes('put', 'bad pattern', at(alpha))).code).toBe(1)
    expect((await routes('put', 'x.fleet.example', '10.0.0.1')).err).toContain("no pool named '10.0.0.1'")
    expect(await routes('get', 'p.fleet.example')).toMatchObject({ code: 0, out: 'web\n' })
    expect((await routes('list')).out).toBe('p.fleet.example web\nq.fleet.example {"upstream": "web", "alpn": {"h2": "' + at(alpha) + '"}}\n')
    expect(await routes('rm', 'p.fleet.example')).toMatchObject({ code: 0 })
    expect((await routes('rm', 'p.fleet.example')).code).toBe(1)
    expect((await routes('get', 'p.fleet.example')).code).toBe(1)
    expect((await etcd.client.getAll().prefix(prefix + 'routes/').keys())).toEqual([prefix + 'routes/q.fleet.example'])
  }, TEST_MS)

  it('coalesces a burst of 10 000 puts into at most one compile per COALESCE_MS', async () => {
    const prefix = '/t8/'
    const BURST = 10_000
    const proxy = await serve(prefix, null, 1)
    const before = proxy.logs.filter((l) => l.evt === 'source.applied').length
    const b0 = Date.now()
    const keys = Array.from({ length: BURST }, (_, i) => `${prefix}routes/b${i}.fleet.example`)
    for (let i = 0; i < keys.length; i += BURST_PARALLEL) await Promise.all(keys.slice(i, i + BURST_PARALLEL).map((k) => etcd.client.put(k).value(at(beta))))
    const burstMs = Date.now() - b0
    await proxy.waitForLog((l) => l.evt === 'source.applied' && l.routes === BURST + 1, 60_000)
    const tookMs = Date.now() - b0
    const compiles = proxy.logs.filter((l) => l.evt === 'source.applied').length - before
    console.log(`burst of ${BURST} puts in ${burstMs} ms: ${compiles} compiles, all in force after ${tookMs} ms`)
    // one compile per COALESCE_MS at most (plus the one already waiting when the burst began)
    expect(compiles).toBeLessThanOrEqual(Math.ceil(tookMs / COALESCE_MS) + 1)
    expect(compiles).toBeLessThan(BURST / 20)
    expect(await probe(proxy.port, `b${BURST - 1}.fleet.example`)).toBe('beta')
    await stop(proxy)
  }, HEAVY_TEST_MS)

  it('reads a prefix in pages at one revision: the same keys as one read, nothing past the prefix', async () => {
    const prefix = '/t10/'
    const names = Array.from({ length: 20 }, (_, i) => `p${i}.fleet.example`)
    await putMany(etcd.client, [...names.map((n) => [prefix + 'routes/' + n, at(alpha)] as const), [prefix + 'upstreams/web', '{"servers":["127.0.0.1:1"]}']])
    await etcd.client.put('/t10/routes0').value('not ours')
    await etcd.client.put('/t100/routes/after.fleet.example').value('not ours')
    const paged = await readPrefix(etcd.client, prefix, undefined, 7)
    const whole = await readPrefix(etcd.client, prefix)
    expect([...paged.routes.keys()].sort()).toEqual([...names].sort())
    expect([...paged.routes]).toEqual([...whole.routes])
    expect([...paged.upstreams.keys()]).toEqual(['web'])
    expect(paged.revision).toBe(whole.revision)
  }, TEST_MS)

  it('a read gives the pools first, then checks each page of routes as it comes: a pool keyed after the routes resolves, a bad key on the second page is left out once', async () => {
    const prefix = '/t11/'
    // upstreams/ sorts after routes/: a read in key order would give the pool after every route naming it
    await putMany(etcd.client, [
      [prefix + 'routes/a.fleet.example', 'web'],
      [prefix + 'routes/b.fleet.example', at(alpha)],
      [prefix + 'routes/c..fleet.example', at(alpha)], // second page: not a pattern
      [prefix + 'routes/d.fleet.example', 'web'],
      [prefix + 'routes/e.fleet.example', '{"upstream": "web"}'],
      [prefix + 'upstreams/web', JSON.stringify({ servers: [at(beta)] })],
    ])
    const raw = rawConfig({ workers: 1, routes: { [FILE_ROUTE]: at(alpha) } })
    let checks: RouteChecks | undefined
    const calls: string[] = []
    const state = await readPrefix(etcd.client, prefix, undefined, 2, {
      upstreams: (s) => {
        calls.push(`upstreams ${[...s.upstreams.keys()].join(',')}, ${s.routes.size} routes`)
        checks = new RouteChecks(raw, prefix, [...s.upstreams])
      },
      routes: (routes) => {
        calls.push(`routes ${routes.names.length}, ${checks!.skipped.length} skipped`)
        checks!.check(routes, routes.names.length)
      },
    })
    // pages of 2: the pool before any route, each page of routes checked before the next is applied
    expect(calls).toEqual(['upstreams web, 0 routes', 'routes 2, 0 skipped', 'routes 4, 0 skipped', 'routes 5, 1 skipped'])
    const input = { file: 'fleet.yaml', raw, prefix, routes: state.routes.columns(), upstreams: [...state.upstreams] }
    const { config, skipped } = compileFleet(input, checks)
    expect(skipped).toBe(checks!.skipped)
    expect(skipped.map((k) => [k.key, k.code])).toEqual([[prefix + 'routes/c..fleet.example', 'HG_ERR_ROUTE_INVALID']])
    const upstreamOf = (p: string): string | undefined => config.upstreams[config.routes.find((r) => r.pattern === p)?.upstream ?? -1]?.name
    expect(['a', 'b', 'd', 'e'].map((l) => upstreamOf(`${l}.fleet.example`))).toEqual(['web', at(alpha), 'web', 'web'])
    expect(config.routes).toHaveLength(5) // the file's route too
  }, TEST_MS)

  it('createProxy with source.etcd serves etcd\'s routes, follows a put, and a reload keeps them', async () => {
    const prefix = '/t9/'
    await etcd.client.put(prefix + 'routes/lib.fleet.example').value(at(beta))
    const config = { ...rawConfig({ workers: 1, routes: { [FILE_ROUTE]: at(alpha) } }), source: { etcd: { endpoints: [etcd.endpoint], prefix } } }
    const proxy = createProxy(config, { logger: pino({ level: 'silent' }) })
    try {
      await proxy.start()
      const port = proxy.addresses[0]!.port
      expect(await probe(port, 'lib.fleet.example')).toBe('beta')
      expect(await probe(port, FILE_ROUTE)).toBe('alpha')
      await etcd.client.put(prefix + 'routes/later.fleet.example').value(at(alpha))
      await eventually(port, 'later.fleet.example', 'alpha')
      // a new inline config is merged with etcd's entries, not served alone
      const r = await proxy.reload({ ...config, routes: { 'other.fleet.example': at(beta) } })
      expect(r).toMatchObject({ ok: true, routes: 3 })
      expect(await probe(port, 'lib.fleet.example')).toBe('beta')
      expect(await probe(port, FILE_ROUTE)).toBe('reject')
    } finally {
      await proxy.close({ deadline: 0 })
    }
  }, TEST_MS)

  // last: an etcd restart replays its log, which this test makes long
  it('loads 100 000 routes at start', async () => {
    const prefix = '/t2/'
    const N = 100_000
    const t0 = performance.now()
    await putMany(etcd.client, Array.from({ length: N }, (_, i) => [`${prefix}routes/r${i}.fleet.example`, at(alpha)] as const))
    const putMs = performance.now() - t0
    const t1 = performance.now()
    const proxy = await serve(prefix, null, 1, HEAVY_TEST_MS / 3)
    const startMs = performance.now() - t1
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${proxy.child.pid!}/status`, 'utf8'))
    console.log(`${N} routes: put in ${Math.round(putMs)} ms; hellogate serve to listening ${Math.round(startMs)} ms, ` +
      `peak RSS ${hwm === null ? '?' : Math.round(Number(hwm[1]) / 1024)} MiB`)
    expect(proxy.logs.find((l) => l.evt === 'source.applied')).toMatchObject({ routes: N + 1, from: 'etcd' })
    expect(await probe(proxy.port, `r${N - 1}.fleet.example`)).toBe('alpha')

    await stop(proxy)
  }, HEAVY_TEST_MS)
})
