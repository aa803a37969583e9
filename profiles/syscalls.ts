/**
 * Syscalls per new TLS connection (and per MiB relayed), hellogate next to HAProxy: a count that the
 * load on a shared machine does not move, where CPU time does.
 *
 * Usage: `node profiles/syscalls.ts [--targets hellogate,haproxy] [--conns 1000] [--mib 64]
 *         [--access-log] [--out FILE.json]`  (`HELLOGATE_CLI=/other/dist/cli.js` for another build)
 *
 * Per target: start the bench origin (bench/load/origin.ts) and the proxy (the bench:peers configs,
 * `workers: 1` / `nbthread 1`), warm up with one second of new connections, then attach
 * `strace -f -qq -o FILE -p PID` to every thread of the proxy, run exactly `--conns` new TLS
 * connections (bench/lib/tls-churn: handshake + one `GET /` + close, 8 in flight), detach, and then
 * the same for `--mib` MiB of 1 MiB keep-alive bodies. Every syscall line of the trace is counted
 * once (the `<... resumed>` half of an interrupted call is not), per thread kind (hellogate: main,
 * worker, other) and per syscall name, and divided by the connections (or MiB) completed.
 *
 * Limits: strace slows the traced process a lot, so only counts are read here, never times; a
 * background rate (timers, epoll wakeups with nothing to do) is included: it is measured on its own
 * over an idle second and printed, so it can be subtracted.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { envHeader, formatEnvHeader } from '../bench/lib/env.ts'
import { installCleanup, sleep, stopAll, stopChild } from '../bench/lib/children.ts'
import { startNodeProxy, startOrigin, type Running } from '../bench/lib/targets.ts'
import { runScenario, smoke } from '../bench/lib/phases.ts'
import { churn } from '../bench/lib/tls-churn.ts'
import { keepAlive } from '../bench/lib/cannon.ts'
import { PEERS } from '../bench/peers/peers.ts'
import { BENCH_SNI } from '../bench/lib/targets.ts'

const { values } = parseArgs({
  options: {
    targets: { type: 'string', default: 'hellogate,haproxy' },
    conns: { type: 'string', default: '1000' },
    mib: { type: 'string', default: '64' },
    'access-log': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
})

/** strace needs a moment after start to have seized every thread; load sent before that is not counted. */
const ATTACH_SETTLE_MS = 500
/** the idle window that gives the background rate */
const IDLE_MS = 1_000

type ThreadKind = 'main' | 'worker' | 'other'
interface Counted { total: number, byKind: Record<ThreadKind, number>, bySyscall: Record<string, number> }

function threadKinds (pid: number): Map<number, ThreadKind> {
  const out = new Map<number, ThreadKind>()
  for (const tid of readdirSync(`/proc/${String(pid)}/task`)) {
    let comm = ''
    try { comm = readFileSync(`/proc/${String(pid)}/task/${tid}/comm`, 'utf8').trim() } catch {}
    out.set(Number(tid), Number(tid) === pid ? 'main' : comm.startsWith('hellogate-work') ? 'worker' : 'other')
  }
  return out
}

async function traced (pid: number, file: string, work: () => Promise<void>): Promise<void> {
  const st = spawn('strace', ['-f', '-qq', '-o', file, '-p', String(pid)], { stdio: 'ignore' })
  await sleep(ATTACH_SETTLE_MS)
  try { await work() } finally {
    const gone = new Promise((resolve) => st.once('exit', resolve))
    st.kill('SIGINT')
    await gone
  }
}

function count (file: string, kinds: Map<number, ThreadKind>): Counted {
  const c: Counted = { total: 0, byKind: { main: 0, worker: 0, other: 0 }, bySyscall: {} }
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^(\d+)\s+([a-z_0-9]+)\(/.exec(line)
    if (m === null) continue // resumed halves, signals, exits
    const kind = kinds.get(Number(m[1])) ?? 'other'
    c.total++
    c.byKind[kind]++
    const name = m[2]!
    c.bySyscall[name] = (c.bySyscall[name] ?? 0) + 1
  }
  return c
}

function per (c: Counted, n: number): Counted {
  const f = (x: number): number => Math.round((x / n) * 100) / 100
  const bySyscall: Record<string, number> = {}
  for (const [k, v] of Object.entries(c.bySyscall).sort((a, b) => b[1] - a[1])) bySyscall[k] = f(v)
  return { total: f(c.total), byKind: { main: f(c.byKind.main), worker: f(c.byKind.worker), other: f(c.byKind.other) }, bySyscall }
}

async function measure (name: string, running: Running, dir: string): Promise<Record<string, unknown>> {
  const pid = running.child.pid
  await smoke(running.port, `via ${name}`, running.child)
  await runScenario('new-conn', running.port, 1, `${name} warmup`, { connections: 1, bigConnections: 4, churnConcurrency: 8 })
  await sleep(300)
  const kinds = threadKinds(pid)
  const idleFile = path.join(dir, `${name}-idle.strace`)
  await traced(pid, idleFile, () => sleep(IDLE_MS))
  const idle = count(idleFile, kinds)
  const n = Number(values.conns)
  let done = 0
  let errors = 0
  const ncFile = path.join(dir, `${name}-newconn.strace`)
  const t0 = Date.now()
  await traced(pid, ncFile, async () => {
    const r = await churn({ host: '127.0.0.1', port: running.port, servername: BENCH_SNI, path: '/', concurrency: 8, durationMs: 600_000, maxConnections: n }).done
    done = r.completed
    errors = r.errors
  })
  const ncMs = Date.now() - t0
  const nc = count(ncFile, kinds)
  const bigFile = path.join(dir, `${name}-big.strace`)
  let mib = 0
  await traced(pid, bigFile, async () => {
    // autocannon runs for a duration: size it for roughly --mib MiB at the traced speed, then count what came
    const r = await keepAlive({ url: `https://127.0.0.1:${running.port}/1m`, servername: BENCH_SNI, connections: 4, durationSec: 3 }).done
    mib = r.bytes / (1024 * 1024)
  })
  const big = count(bigFile, kinds)
  const out = {
    name,
    connections: done,
    errors,
    newConnTracedMs: ncMs,
    idlePerSecond: per(idle, IDLE_MS / 1000),
    perConnection: per(nc, done),
    mibRelayed: Math.round(mib * 10) / 10,
    perMiB: per(big, mib),
  }
  console.log(`\n## ${name}: ${done} connections (${errors} errors), ${out.mibRelayed} MiB`)
  console.log(`   per connection: ${out.perConnection.total} syscalls (main ${out.perConnection.byKind.main}, worker ${out.perConnection.byKind.worker}, other ${out.perConnection.byKind.other}); idle background ${out.idlePerSecond.total}/s`)
  console.log(`   ${Object.entries(out.perConnection.bySyscall).slice(0, 16).map(([k, v]) => `${k} ${v}`).join(', ')}`)
  console.log(`   per MiB: ${out.perMiB.total} syscalls: ${Object.entries(out.perMiB.bySyscall).slice(0, 10).map(([k, v]) => `${k} ${v}`).join(', ')}`)
  return out
}

async function main (): Promise<void> {
  installCleanup()
  const env = envHeader('not pinned (counts, not times)')
  console.log(formatEnvHeader(env))
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hellogate-syscalls-'))
  const origin = await startOrigin({ cpu: undefined, nofile: undefined, dir })
  const results: Array<Record<string, unknown>> = []
  for (const t of values.targets.split(',')) {
    let running: Running | undefined
    try {
      if (t === 'hellogate') running = await startNodeProxy('hellogate', { originPort: origin.port, cpu: undefined, nofile: undefined, dir, accessLog: values['access-log'] })
      else if (t === 'haproxy') running = await PEERS.haproxy.start({ dir, originPort: origin.port, cpu: undefined, nofile: 4096, maxConn: 1000 })
      else throw new Error(`unknown target ${t}`)
      results.push(await measure(t, running, dir))
    } finally {
      if (running !== undefined) await stopChild(running.child)
    }
  }
  await stopAll()
  if (values.out !== undefined) writeFileSync(values.out, JSON.stringify({ env, options: values, results }, null, 2) + '\n')
  rmSync(dir, { recursive: true, force: true })
}

main().catch(async (err: unknown) => {
  process.stderr.write(`syscalls failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  await stopAll()
  process.exit(1)
})
