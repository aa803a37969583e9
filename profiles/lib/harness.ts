/**
 * Shared plumbing for the profile scripts (profiles/run.ts, profiles/ab.ts): the two scenarios, the
 * hellogate config they use, starting a proxy and waiting until it is *really* ready, per-thread CPU
 * time from /proc, and the monotonic clock that `.cpuprofile` timestamps use.
 *
 * Contract:
 * - Scenarios reuse bench/lib (origin, churn client, autocannon wrapper) through `runScenario`:
 *   `new-conn` = a new TLS connection per request (full handshake, GET /, Connection: close);
 *   `relay` = bench's `big` shape, keep-alive GET /1m (1 MiB bodies).
 * - `proxyConfig()` is bench's config (`workers: 1`, reuseport, one route, no access log unless
 *   asked) with the log level raised from `warn` to `info`: with `access: false` that adds only the
 *   startup lines, among them `listening`, which `waitReady()` waits for. Waiting for the port alone is not enough:
 *   the main thread logs `listening` once every worker is ready (src/pool/main.ts), while the port
 *   answers as soon as the first reuseport worker has bound it, or, in handoff mode, before any
 *   worker is up (accepted sockets then wait for one), so early connections would measure start-up.
 * - `threadCpu(pid)` reads each thread's on-CPU time (/proc/PID/task/TID/schedstat, ns; stat's
 *   utime+stime in clock ticks where schedstat is missing) and groups it: the main thread,
 *   hellogate's worker threads (named `hellogate-worker-N`, truncated to 15 characters by the
 *   kernel) and everything else (V8 GC helpers, libuv pool).
 * - `runPaced(port, rate, seconds)` is an open-loop `new-conn`: one tls-churn connection started
 *   every 1/rate s, so that A/B phases give the proxy the same arrival pattern (profiles/ab.ts).
 * - `monotonicUs()` is `process.hrtime` in µs: the same CLOCK_MONOTONIC that V8 stamps
 *   `.cpuprofile` samples with on Linux, so a profile can be cut to the measured window.
 *
 * Limits: Linux only (/proc, taskset). Without schedstat, CPU times have clock-tick resolution
 * (10 ms at CLK_TCK 100): measure for seconds.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { clockTicksPerSecond } from '../../bench/lib/env.ts'
import { processTree } from '../../bench/lib/proc.ts'
import { logTail, sleep, waitForPort, type Child } from '../../bench/lib/children.ts'
import { BENCH_SNI, proxyConfigYaml } from '../../bench/lib/targets.ts'
import { runScenario as benchScenario, type LoadShape, type PhaseResult } from '../../bench/lib/phases.ts'
import { churn } from '../../bench/lib/tls-churn.ts'
import { LatencySamples } from '../../bench/lib/stats.ts'

export const SCENARIOS = ['new-conn', 'relay'] as const
export type Scenario = typeof SCENARIOS[number]

/** What each scenario exercises, for NOTES.md. */
export const SCENARIO_TEXT: Record<Scenario, string> = {
  'new-conn': 'new-connection heavy: each client loop opens a new TLS connection (full handshake through the proxy, no resumption), sends one `GET /` with `Connection: close`, reads the 28-byte body and closes. Exercises accept → hello → route → origin connect → short relay → close.',
  relay: 'relay heavy: autocannon keep-alive connections, `GET /1m` back to back (1 MiB bodies). Exercises the byte relay (read → write with backpressure).',
}

/** How long a started proxy may take to log `listening` (clinic and 0x add seconds of preload work). */
const READY_TIMEOUT_MS = 60_000
/** Poll interval for the proxy log. */
const READY_POLL_MS = 50

/**
 * hellogate's config for the scenarios: bench's, with `info` logging so `listening` is printed, and the
 * access log off unless `accessLog` (then it is the shipped default, `log: { level: info, access: true }`).
 */
export function proxyConfig (listenPort: number, originPort: number, accessLog = false): string {
  return proxyConfigYaml(listenPort, originPort, { level: 'info', accessLog })
}

/**
 * Wait until the proxy accepts on `port` and has logged `listening` (hellogate: all workers bound;
 * the bench stand-in proxy prints its own line once it listens).
 */
export async function waitReady (port: number, child: Child, log: string): Promise<void> {
  await waitForPort(port, child, READY_TIMEOUT_MS)
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (Date.now() < deadline) {
    let text = ''
    try { text = readFileSync(log, 'utf8') } catch { /* not created yet */ }
    // hellogate's pino line, or bench/load/standin-proxy.ts's (so ab.ts can compare against it)
    if (text.includes('"evt":"listening"') || text.startsWith('standin-proxy listening on')) return
    await sleep(READY_POLL_MS)
  }
  throw new Error(`${child.name} never logged "listening" within ${READY_TIMEOUT_MS} ms; log ${log}:\n${logTail(child)}`)
}

/**
 * The hellogate process itself: `root` when it is hellogate, else the deepest descendant running
 * `cliPath` (clinic's own command line also names `cliPath`, after its `--`).
 */
export function findProxyPid (root: number, cliPath: string): number | undefined {
  let found: number | undefined
  for (const pid of processTree(root)) {
    let cmd = ''
    try { cmd = readFileSync(`/proc/${String(pid)}/cmdline`, 'utf8') } catch { continue }
    const argv = cmd.split('\0')
    if (argv.includes(cliPath) && argv.includes('serve')) found = pid
  }
  return found
}

export interface ThreadCpu {
  /** CPU time of every live thread of the process, summed (ms) */
  processMs: number
  mainMs: number
  /** hellogate worker threads, summed */
  workerMs: number
  /** everything else: V8 GC helper threads, libuv pool, inspector… */
  otherMs: number
}

/** Worker thread names as the kernel keeps them (15 characters of `hellogate-worker-N`). */
const WORKER_COMM_PREFIX = 'hellogate-work'

function readText (file: string): string | undefined {
  try { return readFileSync(file, 'utf8') } catch { return undefined }
}

/** Thread name from /proc/PID/task/TID/stat (the part in parentheses). */
function commOf (stat: string): string {
  const open = stat.indexOf('(')
  const close = stat.lastIndexOf(')')
  return open >= 0 && close > open ? stat.slice(open + 1, close) : ''
}

/**
 * On-CPU time of one thread in ms: `sum_exec_runtime` from schedstat (ns, sched-stats(5)) when the
 * kernel has it, else utime+stime from stat (proc(5) fields 14 and 15, clock ticks).
 */
function taskCpuMs (dir: string, stat: string): number {
  const sched = readText(`${dir}/schedstat`)
  if (sched !== undefined) {
    const ns = Number(sched.split(' ')[0])
    if (Number.isFinite(ns)) return ns / 1e6
  }
  const close = stat.lastIndexOf(')')
  // after "pid (comm) ", field 3 (state) is index 0, so field N is index N - 3
  const f = stat.slice(close + 2).trim().split(' ')
  return (Number(f[11]) + Number(f[12])) * (1000 / clockTicksPerSecond())
}

/**
 * Per-thread CPU time of a process, grouped (see ThreadCpu), at nanosecond resolution where
 * /proc/PID/task/TID/schedstat exists (clock ticks of 10 ms otherwise). Threads that already exited
 * are not counted: compare two readings taken while the process is in a steady state. Zeros when
 * the pid is gone.
 */
export function threadCpu (pid: number): ThreadCpu {
  const out: ThreadCpu = { processMs: 0, mainMs: 0, workerMs: 0, otherMs: 0 }
  let tasks: string[] = []
  try { tasks = readdirSync(`/proc/${String(pid)}/task`) } catch { return out }
  for (const tid of tasks) {
    const dir = `/proc/${String(pid)}/task/${tid}`
    const stat = readText(`${dir}/stat`)
    if (stat === undefined) continue
    const ms = taskCpuMs(dir, stat)
    out.processMs += ms
    if (tid === String(pid)) out.mainMs += ms
    else if (commOf(stat).startsWith(WORKER_COMM_PREFIX)) out.workerMs += ms
    else out.otherMs += ms
  }
  return out
}

export function diffCpu (a: ThreadCpu, b: ThreadCpu): ThreadCpu {
  return { processMs: b.processMs - a.processMs, mainMs: b.mainMs - a.mainMs, workerMs: b.workerMs - a.workerMs, otherMs: b.otherMs - a.otherMs }
}

/** CLOCK_MONOTONIC in µs, the time base of `.cpuprofile` `startTime`/`timeDeltas` on Linux. */
export function monotonicUs (): number {
  return Number(process.hrtime.bigint() / 1000n)
}

export interface ScenarioShape {
  /** concurrent connect loops (new-conn) */
  concurrency: number
  /** keep-alive connections (relay) */
  connections: number
}

/** Drive `port` with a scenario for `seconds` (progress line on stderr). */
export async function runScenario (scenario: Scenario, port: number, seconds: number, label: string, shape: ScenarioShape): Promise<PhaseResult> {
  const bench: LoadShape = { connections: shape.connections, bigConnections: shape.connections, churnConcurrency: shape.concurrency }
  return await benchScenario(scenario === 'relay' ? 'big' : 'new-conn', port, seconds, label, bench)
}

/** Connections a paced run may have in flight before it skips arrivals (the target is overloaded). */
const PACED_MAX_IN_FLIGHT = 64

/**
 * Open-loop `new-conn`: start one connection (tls-churn, one request, full handshake) every
 * 1/`rate` s whatever the previous ones are doing. Unlike the closed loop of `runScenario`, the
 * proxy then sees the same arrival pattern in every phase, so its CPU per connection does not move
 * with the load generator's speed (a faster client means more events per wakeup, hence fewer µs per
 * connection). Arrivals that find PACED_MAX_IN_FLIGHT connections open are skipped and counted as
 * errors.
 */
export async function runPaced (port: number, rate: number, seconds: number): Promise<PhaseResult> {
  const samples = new LatencySamples()
  const periodMs = 1000 / rate
  const t0 = performance.now()
  const end = t0 + seconds * 1000
  let completed = 0
  let errors = 0
  let bytes = 0
  let inFlight = 0
  let firstError: string | undefined
  const pending: Array<Promise<void>> = []
  for (let i = 0; ; i++) {
    const due = t0 + i * periodMs
    if (due >= end) break
    const wait = due - performance.now()
    if (wait > 0) await sleep(wait)
    if (inFlight >= PACED_MAX_IN_FLIGHT) { errors++; firstError ??= 'paced: too many connections in flight'; continue }
    inFlight++
    const start = performance.now()
    pending.push(churn({ host: '127.0.0.1', port, servername: BENCH_SNI, path: '/', concurrency: 1, durationMs: seconds * 1000, maxConnections: 1, bailoutErrors: 1 }).done.then((r) => {
      inFlight--
      completed += r.completed
      errors += r.errors
      bytes += r.bytes
      if (r.completed === 1) samples.add(performance.now() - start)
      firstError ??= r.firstError
    }))
  }
  await Promise.all(pending)
  const elapsedSec = (performance.now() - t0) / 1000
  return { requestsPerSec: completed / elapsedSec, requests: completed, bytes, errors, firstError, latency: samples.summary(), elapsedSec }
}

/** Short git sha of the working tree (plus whether tracked files differ from it), or `nogit`. */
export function gitShort (cwd: string): { sha: string, dirty: boolean } {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short=7', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    const st = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    return { sha, dirty: st.trim().length > 0 }
  } catch {
    return { sha: 'nogit', dirty: false }
  }
}

export function median (xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  if (s.length === 0) return Number.NaN
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] ?? Number.NaN) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2
}
