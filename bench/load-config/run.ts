/**
 * `npm run bench:config`: how long loading a large route table takes, and how much memory, for
 * `hellogate check` (read, parse, validate, compile, exit) and for a `serve` start (the same plus the
 * shared tables and the worker threads, until the listener accepts).
 *
 * Usage: `node bench/load-config/run.ts [--cases json:1000000,json:300000,yaml:300000]
 *         [--origins distinct|N] [--modes check,serve] [--rounds 1] [--workers 2] [--impl dist|src] [--cli PATH] [--keep]`
 *         (`--cli` runs another build's cli.js / cli.ts, e.g. a checkout of the commit before a change)
 *
 * Method: each case's file is generated into a temporary directory (generate.ts: route i →
 * `n<i>.c<i%1000>.example.com`, one in 20 a wildcard, to 10.a.b.c:443 of origin i % origins; by default
 * a distinct origin per route, the worst case for implicit pools). Then, per mode and round, a fresh
 * `node dist/cli.js check|serve --config FILE` child runs. `check`: exit-usage.ts, preloaded, writes
 * the process's own peak RSS (all threads) and CPU time at exit; wall time is spawn → exit. `serve`:
 * wall time is spawn → the `listening` log line (every worker up) and the listen port accepting a TCP
 * connect; peak RSS (VmHWM) and CPU time are read
 * from /proc then (Linux), and the child is stopped by pid (SIGTERM, shutdown 0).
 * Each figure is the median over rounds. CPU time is printed next to wall time because on a shared
 * 2-vCPU machine wall time also counts other processes' turns; the load average is recorded.
 *
 * Output: a table, and JSON at bench/results/load-config-<timestamp>.json + load-config-latest.json.
 *
 * Limits: the 1M-route JSON file is ~50 MB and the run needs ~1 GB free; one child at a time.
 * The target (issue 8, "Large tables"): 1 000 000 routes in ≤ 5 s with ≤ 600 MB peak RSS.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { envHeader, formatEnvHeader } from '../lib/env.ts'
import { cpuTimeMs } from '../lib/proc.ts'
import { REPO_ROOT, writeResults } from '../lib/results.ts'
import { writeRoutesFile, type Format } from './generate.ts'

/** a serve start that is not listening after this long has failed (the 1M case takes seconds) */
const READY_TIMEOUT_MS = 120_000
/** poll interval for the listen port */
const POLL_MS = 20
const MIB = 1024
/** serve's log line once every worker is up (pool/main.ts, LogEvent.Listening) */
const LISTENING = '"evt":"listening"'
/** stdout kept while waiting for that line */
const LOG_KEEP_CHARS = 4096

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: 'json:1000000,json:300000,yaml:300000' },
    origins: { type: 'string', default: '10000' },
    modes: { type: 'string', default: 'check,serve' },
    rounds: { type: 'string', default: '1' },
    // worker threads of the served config: each one costs whatever per-worker copy of the table there is
    workers: { type: 'string', default: '2' },
    impl: { type: 'string', default: 'dist' },
    cli: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
})

interface Sample { wallS: number, cpuS: number, peakMiB: number }
interface CaseResult { format: Format, routes: number, origins: number, fileMiB: number, mode: string, samples: Sample[], median: Sample }

const CLI = values.cli ?? (values.impl === 'src' ? path.join(REPO_ROOT, 'src', 'cli.ts') : path.join(REPO_ROOT, 'dist', 'cli.js'))
const HOOK = path.join(REPO_ROOT, 'bench', 'load-config', 'exit-usage.ts')

function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo
      s.close(() => { resolve(port) })
    }).on('error', reject)
  })
}

function accepts (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1')
    c.once('connect', () => { c.destroy(); resolve(true) })
    c.once('error', () => { resolve(false) })
  })
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** One child run; `port` set: a serve, ready when the port accepts. */
async function runOnce (mode: string, file: string, dir: string, port: number): Promise<Sample> {
  const usageFile = path.join(dir, 'usage.json')
  rmSync(usageFile, { force: true })
  const t0 = performance.now()
  const child = spawn(process.execPath, ['--import', HOOK, CLI, mode, '--config', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HG_BENCH_USAGE: usageFile },
  })
  let stderr = ''
  let stdout = ''
  let listening = false
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  child.stdout.on('data', (d: Buffer) => {
    stdout = (stdout + d.toString()).slice(-LOG_KEEP_CHARS)
    if (stdout.includes(LISTENING)) listening = true
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { resolve(code) }))
  let wallMs: number
  if (mode === 'serve') {
    let done = false
    exited.then(() => { done = true }, () => { done = true })
    for (;;) {
      if (done) throw new Error(`serve exited before listening: ${stderr.slice(-2000)}`)
      if (listening && await accepts(port)) break
      if (performance.now() - t0 > READY_TIMEOUT_MS) { child.kill('SIGKILL'); throw new Error('serve did not listen in time') }
      await sleep(POLL_MS)
    }
    wallMs = performance.now() - t0
    // sampled now rather than at exit: SIGTERM may land before the signal handlers are installed
    const peakKiB = Number(/^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${String(child.pid)}/status`, 'utf8'))?.[1])
    const cpuMs = cpuTimeMs(child.pid!)
    child.kill('SIGTERM')
    await exited
    return { wallS: wallMs / 1000, cpuS: cpuMs / 1000, peakMiB: peakKiB / MIB }
  } else {
    const code = await exited
    wallMs = performance.now() - t0
    if (code !== 0) throw new Error(`check failed (${String(code)}): ${stderr.slice(-2000)}`)
  }
  if (!existsSync(usageFile)) throw new Error(`${mode}: no usage written: ${stderr.slice(-2000)}`)
  const u = JSON.parse(readFileSync(usageFile, 'utf8')) as { maxRssKiB: number, userMs: number, systemMs: number }
  return { wallS: wallMs / 1000, cpuS: (u.userMs + u.systemMs) / 1000, peakMiB: u.maxRssKiB / MIB }
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor((s.length - 1) / 2)]!
}

async function main (): Promise<void> {
  const header = envHeader('none (one child at a time)')
  console.log(formatEnvHeader(header))
  const rounds = Number(values.rounds)
  const modes = values.modes.split(',')
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hg-load-config-'))
  const results: CaseResult[] = []
  try {
    for (const spec of values.cases.split(',')) {
      const [format, n] = spec.split(':') as [Format, string]
      const routes = Number(n)
      const origins = values.origins === 'distinct' ? routes : Number(values.origins)
      const port = await freePort()
      const file = path.join(dir, `routes-${routes}.${format}`)
      const bytes = writeRoutesFile(file, format, routes, origins, `127.0.0.1:${port}`, Number(values.workers))
      for (const mode of modes) {
        const samples: Sample[] = []
        for (let r = 0; r < rounds; r++) samples.push(await runOnce(mode, file, dir, port))
        const med = { wallS: median(samples.map((s) => s.wallS)), cpuS: median(samples.map((s) => s.cpuS)), peakMiB: median(samples.map((s) => s.peakMiB)) }
        results.push({ format, routes, origins, fileMiB: bytes / 1048576, mode, samples, median: med })
        console.log(`${format.padEnd(4)} ${String(routes).padStart(8)} routes, ${String(origins).padStart(8)} origins, ${values.workers} workers  ${mode.padEnd(5)}` +
          `  ${med.wallS.toFixed(2).padStart(6)} s wall  ${med.cpuS.toFixed(2).padStart(6)} s cpu  ${med.peakMiB.toFixed(0).padStart(5)} MiB peak RSS`)
      }
      if (!values.keep) rmSync(file, { force: true })
    }
  } finally {
    if (!values.keep) rmSync(dir, { recursive: true, force: true })
    else console.log(`files kept in ${dir}`)
  }
  const { latest } = writeResults('load-config', { env: { ...header, loadAverage1mEnd: os.loadavg()[0] }, cli: CLI, origins: values.origins, workers: Number(values.workers), results })
  console.log(`results: ${latest}`)
}

await main()
