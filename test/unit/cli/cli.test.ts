/**
 * The `hellogate` CLI as a child process (`node src/cli.ts`, Node 24 strips the types): exit codes and
 * output of --help, --version, usage errors, `check`, and short `serve` / `demo` runs that relay a real
 * TLS request and stop on a signal. Every child is killed by pid (on timeout, and in afterAll if a test
 * failed and left it running).
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { once } from 'node:events'
import { request } from 'node:https'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { startDemoOrigin } from '../../../src/demo/index.ts'
import type { DemoOrigin } from '../../../src/demo/index.ts'

const ROOT = new URL('../../../', import.meta.url).pathname
const NODE = join(ROOT, 'node_modules/.bin/node')
const CLI = join(ROOT, 'src/cli.ts')
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version
/** ms. Upper bound for one short CLI run (node start + type stripping + work) on a loaded 2-core box. */
const RUN_TIMEOUT_MS = 15_000

interface Result { code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }

// afterAll, not afterEach: the usage tests run concurrently, and each run() already kills its own child on timeout
const children = new Set<ChildProcess>()
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) process.kill(c.pid, 'SIGKILL')
  children.clear()
})

function start (args: string[]): { child: ChildProcess, out: { stdout: string, stderr: string }, done: Promise<Result> } {
  const child = spawn(NODE, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  const out = { stdout: '', stderr: '' }
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out.stdout += d })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { out.stderr += d })
  const done = new Promise<Result>((resolve) => {
    child.on('close', (code, signal) => { resolve({ code, signal, ...out }) })
  })
  return { child, out, done }
}

async function run (args: string[]): Promise<Result> {
  const { child, done } = start(args)
  const timer = setTimeout(() => { if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL') }, RUN_TIMEOUT_MS)
  try {
    return await done
  } finally {
    clearTimeout(timer)
  }
}

/** Poll `out.stdout` until `re` matches (bounded). */
async function waitFor (out: { stdout: string }, re: RegExp, what: string): Promise<RegExpMatchArray> {
  const deadline = Date.now() + RUN_TIMEOUT_MS
  for (;;) {
    const m = re.exec(out.stdout)
    if (m !== null) return m
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stdout so far:\n${out.stdout}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

function httpsGet (port: number, servername: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, servername, ca, path: '/', agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { body += d })
      res.on('end', () => { resolve(body) })
    })
    req.on('error', reject)
    req.end()
  })
}

let dir: string
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'hellogate-cli-test-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

// independent short runs: concurrently, so node start-up latency overlaps
describe.concurrent('help, version, usage', () => {
  it('--help and help print usage on stdout, exit 0', async () => {
    const variants = [['--help'], ['-h'], ['help'], ['check', '--help']]
    const results = await Promise.all(variants.map(async args => await run(args)))
    for (const [i, r] of results.entries()) {
      expect(r.code, variants[i]!.join(' ')).toBe(0)
      expect(r.stdout).toContain('Usage: hellogate <command> [options]')
      expect(r.stdout).toContain('serve --config FILE')
      expect(r.stderr).toBe('')
    }
  }, 60_000)

  it('--version prints package.json version', async () => {
    for (const r of await Promise.all([run(['--version']), run(['-V'])])) {
      expect(r.code).toBe(0)
      expect(r.stdout).toBe(VERSION + '\n')
    }
  }, 30_000)

  it.each([
    [[], 'missing command'],
    [['frobnicate'], "unknown command 'frobnicate'"],
    [['check'], 'check needs --config FILE'],
    [['serve'], 'serve needs --config FILE'],
    [['serve', '--config'], "Option '-c, --config <value>' argument missing"],
    [['check', '--config', 'a.yaml', 'extra'], "unexpected argument 'extra'"],
    [['check', '--bogus'], "Unknown option '--bogus'"],
    [['check', '--config', 'a.yaml', '--port', '1'], '--port applies to demo only'],
    [['demo', '--port', 'abc'], "--port expects a number 0-65535, got 'abc'"],
    [['demo', '--port', '70000'], '--port expects a number 0-65535'],
    [['demo', '--config', 'a.yaml'], 'demo takes no --config'],
    [['status'], 'status needs --admin ADDR'],
    [['top', '--admin', ':9901', '--iterations', '0'], '--iterations expects a number of frames'],
    [['reload', '--admin', ':9901', '--json'], '--json applies to status only'],
    [['status', '--admin', ':9901', '--iterations', '2'], '--iterations applies to top only'],
    [['reload', '--config', 'a.yaml', '--admin', ':9901'], 'give --admin ADDR, not --config'],
    [['serve', '--config', 'a.yaml', '--admin', ':9901'], '--admin applies to status, reload and top only'],
    [['status', '--admin', 'nowhere'], '--admin expects host:port'],
    [['routes', '--config', 'a.yaml'], 'routes needs one of get, put, rm, list'],
    [['routes', 'add', 'a.com', '--config', 'a.yaml'], "routes needs one of get, put, rm, list, got 'add'"],
    [['routes', 'put', 'a.com', '--config', 'a.yaml'], 'routes put takes PATTERN VALUE'],
    [['routes', 'list'], 'routes needs --config FILE'],
    [['routes', 'list', '--config', 'a.yaml', '--admin', ':9901'], '--admin does not apply to routes'],
  ])('%j is a usage error (exit 2)', async (args, fragment) => {
    const r = await run(args)
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain(fragment)
    expect(r.stderr).toContain('HG_ERR_CLI_USAGE: ')
    expect(r.stderr).toContain("Run 'hellogate --help' for usage.")
  }, RUN_TIMEOUT_MS)
})

describe('check', () => {
  it('valid config: summary of the compiled table, exit 0', async () => {
    const r = await run(['check', '--config', join(ROOT, 'examples/hellogate.yaml')])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`config OK: ${join(ROOT, 'examples/hellogate.yaml')}`)
    expect(r.stdout).toMatch(/^ {2}listen {4}127\.0\.0\.1:8443$/m)
    expect(r.stdout).toMatch(/^ {2}accept {4}reuseport$/m)
    expect(r.stdout).toMatch(/^ {2}routes {4}3 \(2 exact, 1 wildcard\); compiled table \d+ nodes, \d+ bytes$/m)
    expect(r.stdout).toMatch(/^ {2}default {3}reject$/m)
    expect(r.stdout).toMatch(/^ {2}timeouts {2}hello 5s, connect 5s, idle 5m, shutdown 30s$/m)
    expect(r.stdout).toMatch(/^ {2}workers {3}\d+$/m)
  }, RUN_TIMEOUT_MS)

  it('JSON example with handoff and a default origin', async () => {
    const r = await run(['check', '-c', join(ROOT, 'examples/handoff.json')])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('accept    handoff (balance roundrobin)')
    expect(r.stdout).toContain('default   10.0.0.9:443')
    expect(r.stdout).toContain('listen    127.0.0.1:8443, [::1]:8443')
  }, RUN_TIMEOUT_MS)

  it('shows log.file and admin; refuses an admin endpoint off loopback without a token (HG_ERR_ADMIN_TOKEN, exit 1)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hellogate-cli-admin-'))
    try {
      const ok = join(dir, 'ok.yaml')
      await writeFile(ok, 'routes: { a.example.com: 127.0.0.1:443 }\nlog: { file: /var/log/hg.log }\nadmin: { listen: 127.0.0.1:9901 }\n')
      const r = await run(['check', '--config', ok])
      expect(r.code).toBe(0)
      expect(r.stdout).toMatch(/^ {2}log {7}level info, access on, to \/var\/log\/hg\.log$/m)
      expect(r.stdout).toMatch(/^ {2}admin {5}127\.0\.0\.1:9901, no token$/m)
      const open = join(dir, 'open.yaml')
      await writeFile(open, 'routes: { a.example.com: 127.0.0.1:443 }\nadmin: { listen: 0.0.0.0:9901 }\n')
      const bad = await run(['check', '--config', open])
      expect(bad.code).toBe(1)
      expect(bad.stderr).toContain('HG_ERR_ADMIN_TOKEN: admin.listen 0.0.0.0:9901 is not a loopback address')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }, RUN_TIMEOUT_MS)

  it('every shipped example passes check', async () => {
    const files = readdirSync(join(ROOT, 'examples')).filter((f) => /\.(ya?ml|json)$/.test(f))
    expect(files).toEqual(expect.arrayContaining(['pools.yaml', 'acme-tls-alpn.yaml', 'hellogate.yaml']))
    const results = await Promise.all(files.map(async (f) => await run(['check', '-c', join(ROOT, 'examples', f)])))
    results.forEach((r, i) => { expect([files[i], r.code, r.stderr]).toEqual([files[i], 0, '']) })
  }, RUN_TIMEOUT_MS)

  it('prints pools, their servers and the routes that use each', async () => {
    const r = await run(['check', '-c', join(ROOT, 'examples/pools.yaml')])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^ {2}default {3}shop$/m)
    expect(r.stdout).toMatch(/^ {2}upstreams 2 declared, 1 implicit/m)
    expect(r.stdout).toMatch(/^ {4}shop: leastconn; health tls health\.shop\.example every 5s \(timeout 2s, rise 2, fall 3\); passive 3 failures, eject 30s; connect 2s, 2 retries; proxyProtocol v2$/m)
    expect(r.stdout).toContain('      server 10.0.1.2:443 weight 3\n      server 10.0.9.9:443 backup\n      used by *.shop.example, b.example.com, default\n')
    expect(r.stdout).toContain('      used by b.example.com (alpn h2)\n')
    expect(r.stdout).toContain('    10.0.0.1:443 (implicit)\n      used by a.example.com\n')
  }, RUN_TIMEOUT_MS)

  it('invalid config: the error (file:line:col key expected) on stderr, exit 1', async () => {
    const file = join(dir, 'bad.yaml')
    await writeFile(file, 'routes:\n  a.example.com: 10.0.0.1:443\ntimeouts:\n  hello: soon\n')
    const r = await run(['check', '--config', file])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe(`hellogate: ${file}:4:10: timeouts.hello: expected a duration like 5s, 250ms or 5m (a bare number is milliseconds), got 'soon'\n`)
  }, RUN_TIMEOUT_MS)

  it('missing file: exit 1', async () => {
    const r = await run(['check', '--config', join(dir, 'missing.yaml')])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('cannot read config file: no such file')
  }, RUN_TIMEOUT_MS)
})

describe('serve', () => {
  let origin: DemoOrigin
  beforeAll(async () => { origin = await startDemoOrigin({ label: 'cli', names: ['cli.test'] }) })
  afterAll(async () => { await origin.close() })

  it('invalid config: exit 1 before listening, config.error logged', async () => {
    const file = join(dir, 'serve-bad.yaml')
    await writeFile(file, 'routes:\n  a.example.com: 10.0.0.1:443\nworkers: lots\n')
    const r = await run(['serve', '--config', file])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`${file}:3:10: workers: expected auto or an integer`)
    const events = r.stdout.trim().split('\n').map(l => JSON.parse(l) as { evt: string, key?: string })
    expect(events.map(e => e.evt)).toEqual(['config.error'])
    expect(events[0]!.key).toBe('workers')
  }, RUN_TIMEOUT_MS)

  it('listen failure: exit 1 with the reason on stderr', async () => {
    const blocker = createServer()
    blocker.listen(0, '127.0.0.1')
    await once(blocker, 'listening')
    try {
      const port = (blocker.address() as AddressInfo).port
      const file = join(dir, 'serve-busy.yaml')
      await writeFile(file, `listen: 127.0.0.1:${port}\nworkers: 1\nroutes: { cli.test: "127.0.0.1:${origin.port}" }\n`)
      const r = await run(['serve', '--config', file])
      expect(r.code).toBe(1)
      expect(r.stderr).toContain(`cannot listen on 127.0.0.1:${port}`)
      expect(r.stderr).toContain('EADDRINUSE')
    } finally {
      blocker.close()
    }
  }, RUN_TIMEOUT_MS)

  it('relays a TLS request to the origin, then drains on SIGTERM and exits 0', async () => {
    const file = join(dir, 'serve.yaml')
    await writeFile(file, [
      'listen: 127.0.0.1:0',
      'workers: 1',
      'routes:',
      `  cli.test: 127.0.0.1:${origin.port}`,
      'timeouts: { shutdown: 1s }',
      'log: { level: info }',
      '',
    ].join('\n'))
    const { child, out, done } = start(['serve', '--config', file])
    const m = await waitFor(out, /"evt":"listening","addresses":\["127\.0\.0\.1:(\d+)"\]/, 'listening')
    const port = Number(m[1])
    expect(await httpsGet(port, 'cli.test', origin.cert.cert)).toBe('hello from origin cli (cli.test)\n')
    process.kill(child.pid!, 'SIGTERM')
    const r = await done
    expect(r.code).toBe(0)
    const events = r.stdout.trim().split('\n').map(l => (JSON.parse(l) as { evt: string }).evt)
    expect(events[0]).toBe('startup')
    for (const e of ['listening', 'conn.close', 'signal', 'shutdown.begin', 'shutdown.done']) expect(events).toContain(e)
  }, 30_000)
})

describe('demo', () => {
  it('prints instructions; the origins answer through the proxy with their own certs; SIGINT stops it', async () => {
    const { child, out, done } = start(['demo', '--port', '0'])
    await waitFor(out, /Press Ctrl-C to stop\./, 'demo instructions')
    const port = Number((/proxy on 127\.0\.0\.1:(\d+)/.exec(out.stdout) ?? [])[1])
    const alphaPem = (/curl --cacert (\S+alpha\.pem)/.exec(out.stdout) ?? [])[1] ?? ''
    const betaPem = (/curl --cacert (\S+beta\.pem)/.exec(out.stdout) ?? [])[1] ?? ''
    expect(port).toBeGreaterThan(0)
    expect(await httpsGet(port, 'alpha.demo.hellogate.test', readFileSync(alphaPem, 'utf8')))
      .toBe('hello from origin alpha (alpha.demo.hellogate.test)\n')
    expect(await httpsGet(port, 'www.beta.demo.hellogate.test', readFileSync(betaPem, 'utf8')))
      .toBe('hello from origin beta (www.beta.demo.hellogate.test)\n')
    // alpha's name with beta's cert as the only trust anchor: the handshake really is alpha's
    await expect(httpsGet(port, 'alpha.demo.hellogate.test', readFileSync(betaPem, 'utf8'))).rejects.toThrow()
    // no route: rejected
    await expect(httpsGet(port, 'nope.example', readFileSync(alphaPem, 'utf8'))).rejects.toThrow()
    // the admin endpoint is on, its address printed; its scrape counts the demo's routes
    const adminUrl = (/Admin endpoint: (http:\/\/127\.0\.0\.1:\d+)/.exec(out.stdout) ?? [])[1] ?? ''
    expect(adminUrl).not.toBe('')
    expect((await fetch(adminUrl + '/readyz')).status).toBe(200)
    const metrics = await (await fetch(adminUrl + '/metrics')).text()
    expect(metrics).toMatch(/hellogate_route_connections_total\{route="alpha\.demo\.hellogate\.test"\} 2/)
    // and `hellogate top` draws frames from it
    const top = await run(['top', '--admin', adminUrl.slice('http://'.length), '--iterations', '2'])
    expect(top.code).toBe(0)
    expect(top.stdout).toContain('alpha.demo.hellogate.test')
    process.kill(child.pid!, 'SIGINT')
    const r = await done
    expect(r.code).toBe(0)
    expect(existsSync(alphaPem)).toBe(false)
  }, 30_000)
})
