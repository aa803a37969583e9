/**
 * `npm run bench:policy`: what the edge policy costs per connection — a PROXY header in front of every
 * hello, and a 100 000-prefix access list checked for every connection — as proxy CPU per connection and
 * connections per second, each as a ratio to the same proxy without it, from one run.
 *
 * Usage: `node bench/policy/run.ts [--duration 10] [--slices 10] [--warmup 1] [--concurrency 16]
 *         [--prefixes 100000] [--variants plain,proxy-in,acl,proxy-in+acl] [--no-pin]`
 *
 * Each variant is its own `hellogate serve` (dist/cli.js, one worker, access log off) in front of a plain TCP
 * origin in this process. All of them run for the whole benchmark and are measured in turn, in `--slices`
 * short slices (plain, proxy-in, acl, proxy-in+acl, plain, …) adding up to `--duration` seconds each, so
 * that a change in the machine's load during the run falls on every variant alike. Clients open a TCP connection, send [a PROXY v2 header +] Chromium's captured
 * ClientHello and FIN; the origin answers `ok` and closes. No TLS crypto on either side, so the proxy's own work per
 * connection (accept, header, hello, route, access check, connect, relay, close) is what the CPU column
 * shows. Variants:
 *  - plain: listen without proxyProtocol, no access lists (the baseline)
 *  - proxy-in: `listen: [{ address, proxyProtocol: { accept: [v2], from: [127.0.0.0/8] } }]`; every client sends a
 *    28-byte v2 header (TCP4, varying source address); limits, log and rules see that address
 *  - acl: `access: { deny: [100 000 /24s] }` (random, none covering the client); every connection is looked up
 *  - proxy-in+acl: both, the list checked against the carried address
 *  - acl-10: the first 10 prefixes of that list only (same lookup path, a list that fits in L1)
 *
 * A variant may be named twice (`--variants plain,proxy-in,acl,proxy-in+acl,plain`): the two `plain` lines are an
 * A/A control, and their difference is how much of any ratio is the machine rather than the proxy.
 *
 * Output: env header, one line per variant, JSON at bench/results/policy-<timestamp>.json + policy-latest.json.
 * Placement as bench:load: with taskset and ≥ 2 CPUs the proxy runs alone on the last CPU, the origin and
 * the clients (this process) on CPU 0. One run of each variant: ratios from one run, not a distribution;
 * lengthen --duration for figures you intend to quote.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { envHeader, formatEnvHeader } from '../lib/env.ts'
import { treeCpuTimeMs } from '../lib/proc.ts'
import { freePort, installCleanup, planCpus, sleep, spawnChild, stopChild, waitForPort, type Child } from '../lib/children.ts'
import { HELLOGATE_CLI, NODE } from '../lib/targets.ts'
import { REPO_ROOT, writeResults } from '../lib/results.ts'
import { loadHello } from '../micro/hellos.ts'

const VARIANTS = ['plain', 'proxy-in', 'acl', 'proxy-in+acl', 'acl-10'] as const
/** the variants a plain `npm run bench:policy` measures (acl-10 is there to separate list size from lookup) */
const DEFAULT_VARIANTS = ['plain', 'proxy-in', 'acl', 'proxy-in+acl', 'plain']
type Variant = typeof VARIANTS[number]

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    slices: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '16' },
    prefixes: { type: 'string', default: '100000' },
    variants: { type: 'string', default: DEFAULT_VARIANTS.join(',') },
    'no-pin': { type: 'boolean', default: false },
  },
})
const durationMs = Number(values.duration) * 1000
const slices = Math.max(1, Number(values.slices))
const warmupMs = Number(values.warmup) * 1000
const concurrency = Math.max(1, Number(values.concurrency))
const prefixes = Math.max(1, Number(values.prefixes))
const variants = values.variants.split(',').map((v) => v.trim()).filter((v): v is Variant => (VARIANTS as readonly string[]).includes(v))

/** Chromium's captured hello (test/fixtures/hello/): a real browser's size and extension mix; its SNI is routed */
const CHROMIUM = loadHello('chromium.bin')
const SNI = CHROMIUM.sni
const RECORD = CHROMIUM.wire

/** `prefixes` distinct /24s in 1.0.0.0–126.255.255.0 (a fixed LCG: same list every run), none covering 127/8 or 198.51.100/24. */
function denyList (n: number): string[] {
  const out = new Set<string>()
  let x = 12345
  while (out.size < n) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    const a = 1 + ((x >>> 8) % 126)
    const b = (x >>> 16) & 0xff
    const c = (Math.imul(x, 2654435761) >>> 24) & 0xff
    out.add(`${a}.${b}.${c}.0/24`)
  }
  return [...out]
}

function configFor (variant: Variant, port: number, originPort: number, deny: string[]): Record<string, unknown> {
  const proxied = variant.startsWith('proxy-in')
  return {
    listen: proxied ? [{ address: `127.0.0.1:${port}`, proxyProtocol: { accept: ['v2'], from: ['127.0.0.0/8'] } }] : `127.0.0.1:${port}`,
    workers: 1,
    accept: 'reuseport',
    routes: { [SNI]: `127.0.0.1:${originPort}` },
    timeouts: { hello: '5s', connect: '5s', idle: '5m' },
    limits: { maxConnections: 100000, maxPendingHellos: 100000 },
    log: { level: 'warn', access: false },
    ...(variant.endsWith('acl') ? { access: { deny } } : {}),
    ...(variant === 'acl-10' ? { access: { deny: deny.slice(0, 10) } } : {}),
  }
}

/** v2 PROXY header, TCP4 198.51.100.<i>:<port> → 192.0.2.1:443 (28 bytes). */
function v2Header (i: number): Buffer {
  const b = Buffer.alloc(28)
  Buffer.from('0d0a0d0a000d0a515549540a', 'hex').copy(b, 0)
  b[12] = 0x21
  b[13] = 0x11
  b.writeUInt16BE(12, 14)
  b.set([198, 51, 100, 1 + (i % 250)], 16)
  b.set([192, 0, 2, 1], 20)
  b.writeUInt16BE(1024 + (i % 60000), 24)
  b.writeUInt16BE(443, 26)
  return b
}

/** Plain TCP origin: reads until FIN, answers `ok`, closes. */
async function startOrigin (): Promise<{ port: number, close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    s.on('error', () => {})
    s.resume()
    s.on('end', () => { s.end('ok') })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise((resolve) => { for (const s of sockets) s.destroy(); server.close(() => { resolve() }) }),
  }
}

interface LoadResult { done: number, failed: number }

/** `concurrency` loops of one connection after another until `untilMs` (Date.now()). */
function load (port: number, proxied: boolean, untilMs: number): Promise<LoadResult> {
  const r: LoadResult = { done: 0, failed: 0 }
  let seq = 0
  const one = (): Promise<void> => new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' })
    let got = 0
    s.on('connect', () => {
      s.end(proxied ? Buffer.concat([v2Header(seq++), RECORD]) : RECORD)
    })
    s.on('data', (d: Buffer) => { got += d.length })
    s.on('error', () => {})
    s.on('close', () => {
      if (got === 2) r.done++
      else r.failed++
      resolve()
    })
  })
  const loop = async (): Promise<void> => { while (Date.now() < untilMs) await one() }
  return Promise.all(Array.from({ length: concurrency }, loop)).then(() => r)
}

interface VariantResult {
  variant: Variant
  connections: number
  failed: number
  connPerSec: number
  proxyCpuUsPerConn: number
}

interface Running {
  variant: Variant
  port: number
  child: Child
  done: number
  failed: number
  cpuMs: number
  wallMs: number
}

async function startVariant (variant: Variant, originPort: number, deny: string[], dir: string, cpu: number | undefined): Promise<Running> {
  const port = await freePort()
  const file = path.join(dir, `${variant}.json`)
  writeFileSync(file, JSON.stringify(configFor(variant, port, originPort, deny)))
  const child = spawnChild(`hellogate-${variant}`, NODE, [HELLOGATE_CLI, 'serve', '--config', file], { cpu, log: path.join(dir, `${variant}.log`), cwd: REPO_ROOT })
  await waitForPort(port, child, 60_000)
  return { variant, port, child, done: 0, failed: 0, cpuMs: 0, wallMs: 0 }
}

/** One measured slice of `ms` on one variant: its connections and the proxy's CPU time in it. */
async function slice (r: Running, ms: number): Promise<void> {
  const proxied = r.variant.startsWith('proxy-in')
  const cpu0 = treeCpuTimeMs(r.child.pid)
  const t0 = Date.now()
  const got = await load(r.port, proxied, t0 + ms)
  r.wallMs += Date.now() - t0
  r.cpuMs += treeCpuTimeMs(r.child.pid) - cpu0
  r.done += got.done
  r.failed += got.failed
}

function resultOf (r: Running): VariantResult {
  return {
    variant: r.variant,
    connections: r.done,
    failed: r.failed,
    connPerSec: r.done / (r.wallMs / 1000),
    proxyCpuUsPerConn: r.done === 0 ? NaN : r.cpuMs * 1000 / r.done,
  }
}

async function main (): Promise<void> {
  installCleanup()
  const plan = planCpus(values['no-pin'], true)
  const pinning = plan.pin ? `proxy on CPU ${String(plan.proxyCpu)}, origin + clients on CPU ${String(plan.loadCpu)}` : 'not pinned'
  const env = envHeader(pinning)
  process.stdout.write(formatEnvHeader(env) + '\n')
  process.stdout.write(`# ${variants.join(', ')}: ${values.duration}s each in ${slices} interleaved slices after ${values.warmup}s warm-up, ${concurrency} clients, ACL of ${prefixes} /24 prefixes\n`)
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hellogate-bench-policy-'))
  const origin = await startOrigin()
  const deny = denyList(prefixes)
  const running: Running[] = []
  const results: VariantResult[] = []
  try {
    for (const v of variants) running.push(await startVariant(v, origin.port, deny, dir, plan.proxyCpu))
    for (const r of running) await load(r.port, r.variant.startsWith('proxy-in'), Date.now() + warmupMs)
    for (let k = 0; k < slices; k++) {
      for (const r of running) await slice(r, durationMs / slices)
      await sleep(50)
    }
    for (const r of running) {
      const res = resultOf(r)
      results.push(res)
      const base = results[0]!
      process.stdout.write(`${r.variant.padEnd(14)} ${res.connPerSec.toFixed(0).padStart(7)} conn/s (×${(res.connPerSec / base.connPerSec).toFixed(3)})  ` +
        `proxy CPU ${res.proxyCpuUsPerConn.toFixed(1).padStart(6)} µs/conn (×${(res.proxyCpuUsPerConn / base.proxyCpuUsPerConn).toFixed(3)})  ` +
        `${res.connections} ok, ${res.failed} failed\n`)
    }
  } finally {
    for (const r of running) await stopChild(r.child)
    await origin.close()
    rmSync(dir, { recursive: true, force: true })
  }
  const base = results[0]
  const out = writeResults('policy', {
    env,
    options: { duration: values.duration, slices, warmup: values.warmup, concurrency, prefixes },
    results: results.map((r) => ({ ...r, ratioConnPerSec: base === undefined ? null : r.connPerSec / base.connPerSec, ratioCpuPerConn: base === undefined ? null : r.proxyCpuUsPerConn / base.proxyCpuUsPerConn })),
  })
  process.stdout.write(`# results: ${path.relative(REPO_ROOT, out.archive)}\n`)
}

main().catch((err: unknown) => {
  process.stderr.write(String(err instanceof Error ? err.stack : err) + '\n')
  process.exit(1)
})
