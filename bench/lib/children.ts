/**
 * Child processes for benchmarks: spawn pinned, wait until listening, stop by pid, clean up always.
 *
 * Contract:
 * - `spawnChild()` starts a process in the foreground (never daemonised), optionally wrapped as
 *   `prlimit --nofile=N:N taskset -c CPU cmd args…`. Both wrappers `exec`, so the returned pid is
 *   the real program's pid. stdout/stderr go to a log file (path in `child.log`).
 * - Every child is registered; `stopChild()` sends SIGTERM to that pid, waits, then SIGKILLs it.
 *   `installCleanup()` makes SIGINT/SIGTERM/uncaught errors/exit stop every registered child by pid
 *   (never by name), so an interrupted benchmark leaves no proxy or origin behind.
 * - `waitForPort()` polls a TCP connect to 127.0.0.1:port until it succeeds or times out.
 * - `freePort()` asks the kernel for a free port (listen on 0, close, reuse the number).
 *
 * Limits: `freePort()` is racy by nature (another process could take the port before the child
 * binds it); benchmarks run on an otherwise quiet 127.0.0.1, and a bind failure shows up as a
 * child that exits early, which `waitForPort()` reports with the log tail.
 */
import os from 'node:os'
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { closeSync, openSync, readFileSync, existsSync } from 'node:fs'
import net from 'node:net'
import { isAlive } from './proc.ts'

/** Grace period between SIGTERM and SIGKILL: long enough for nginx/haproxy to close listeners. */
const STOP_GRACE_MS = 3_000
/** Poll interval while waiting for a port or an exit. */
const POLL_MS = 50
/** Default wait for a child to start listening; haproxy/nginx start in milliseconds, Node in ~100 ms. */
const DEFAULT_READY_TIMEOUT_MS = 15_000
/** Bytes of a child's log shown when it fails to start. */
const LOG_TAIL_BYTES = 2_000

export interface SpawnOptions {
  /** Pin to this CPU with `taskset -c` (ignored when taskset is missing). */
  cpu?: number | undefined
  /** Raise RLIMIT_NOFILE (soft and hard) with `prlimit` before exec, capped by `achievableNofile()`. */
  nofile?: number | undefined
  /** Log file for stdout+stderr. */
  log: string
  env?: NodeJS.ProcessEnv | undefined
  cwd?: string | undefined
}

export interface Child {
  name: string
  pid: number
  log: string
  proc: ChildProcess
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exited: Promise<number | string>
}

const live = new Set<Child>()

let hasTasksetCache: boolean | undefined
/** True when `taskset` is installed and usable. */
export function hasTaskset (): boolean {
  hasTasksetCache ??= hasCommand('taskset')
  return hasTasksetCache
}

/** True when `cmd` resolves on PATH (uses `command -v` through sh). */
export function hasCommand (cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** Pin an already running process (all its threads) to one CPU. Returns false when not possible. */
export function pinPid (pid: number, cpu: number): boolean {
  if (!hasTaskset()) return false
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** RLIMIT_NOFILE of a process from /proc/PID/limits (`unlimited` → Infinity). */
export function nofileLimits (pid: number | 'self' = 'self'): { soft: number, hard: number } {
  const text = readFileSync(`/proc/${String(pid)}/limits`, 'utf8')
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text)
  const num = (s: string | undefined): number => s === 'unlimited' ? Number.POSITIVE_INFINITY : Number(s)
  return { soft: num(m?.[1]), hard: num(m?.[2]) }
}

/**
 * The RLIMIT_NOFILE a child can actually get: `wanted`, capped at our hard limit unless we hold
 * CAP_SYS_RESOURCE (containers often drop it even for root, so "root" is not enough).
 */
export function achievableNofile (wanted: number): number {
  const { hard } = nofileLimits()
  if (wanted <= hard) return wanted
  const capEff = /^CapEff:\s+([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0'
  const CAP_SYS_RESOURCE = 24n // linux/capability.h
  return ((BigInt(`0x${capEff}`) >> CAP_SYS_RESOURCE) & 1n) === 1n ? wanted : hard
}

/** Raise RLIMIT_NOFILE (soft and hard) of a running process as far as allowed. Returns the soft limit now in force. */
export function raiseNofile (pid: number, wanted: number): number {
  const n = achievableNofile(wanted)
  try {
    execFileSync('prlimit', ['--pid', String(pid), `--nofile=${n}:${n}`], { stdio: 'ignore' })
  } catch { /* keep whatever we have */ }
  return nofileLimits(pid).soft
}

/** Start `cmd args` as a registered child. */
export function spawnChild (name: string, cmd: string, args: readonly string[], opts: SpawnOptions): Child {
  let argv = [cmd, ...args]
  if (opts.cpu !== undefined && hasTaskset()) argv = ['taskset', '-c', String(opts.cpu), ...argv]
  if (opts.nofile !== undefined && hasCommand('prlimit')) {
    const n = achievableNofile(opts.nofile)
    if (n !== nofileLimits().soft) argv = ['prlimit', `--nofile=${n}:${n}`, ...argv]
  }
  const fd = openSync(opts.log, 'a')
  const proc = spawn(argv[0] ?? cmd, argv.slice(1), {
    stdio: ['ignore', fd, fd],
    env: opts.env ?? process.env,
    cwd: opts.cwd,
  })
  closeSync(fd)
  const pid = proc.pid
  if (pid === undefined) throw new Error(`${name}: spawn failed for ${argv.join(' ')}`)
  const exited = new Promise<number | string>((resolve) => {
    proc.once('exit', (code, signal) => {
      resolve(code ?? signal ?? 'unknown')
    })
    proc.once('error', (err) => { resolve(`spawn error: ${err.message}`) })
  })
  const child: Child = { name, pid, log: opts.log, proc, exited }
  live.add(child)
  exited.then(() => { live.delete(child) }, () => { live.delete(child) })
  return child
}

/** Last bytes of a child's log, for error messages. */
export function logTail (child: Child): string {
  if (!existsSync(child.log)) return ''
  const text = readFileSync(child.log, 'utf8')
  return text.slice(-LOG_TAIL_BYTES)
}

function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function tryConnect (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port })
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => { s.destroy(); resolve(false) })
  })
}

/** Wait until 127.0.0.1:port accepts, failing early (with the log tail) if `child` exits. */
export async function waitForPort (port: number, child: Child, timeoutMs = DEFAULT_READY_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let exited: number | string | undefined
  child.exited.then((c) => { exited = c }, () => { exited = 'unknown' })
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new Error(`${child.name} exited (${String(exited)}) before listening on ${port}; log ${child.log}:\n${logTail(child)}`)
    if (await tryConnect(port)) return
    await sleep(POLL_MS)
  }
  throw new Error(`${child.name} did not listen on ${port} within ${timeoutMs} ms; log ${child.log}:\n${logTail(child)}`)
}

/** SIGTERM the pid, wait up to STOP_GRACE_MS, then SIGKILL. Idempotent. */
export async function stopChild (child: Child): Promise<void> {
  if (!live.has(child)) return
  try { process.kill(child.pid, 'SIGTERM') } catch { /* already gone */ }
  const deadline = Date.now() + STOP_GRACE_MS
  while (Date.now() < deadline && live.has(child) && isAlive(child.pid)) await sleep(POLL_MS)
  if (live.has(child) && isAlive(child.pid)) {
    try { process.kill(child.pid, 'SIGKILL') } catch { /* already gone */ }
  }
  await Promise.race([child.exited, sleep(STOP_GRACE_MS)])
  live.delete(child)
}

/** Stop every registered child, newest first. */
export async function stopAll (): Promise<void> {
  for (const c of [...live].reverse()) await stopChild(c)
}

let installed = false
/**
 * Stop all children on SIGINT/SIGTERM (then exit 130/143), on uncaught errors (exit 1), and — as a
 * last resort, synchronously — SIGKILL any survivor on process exit.
 */
export function installCleanup (): void {
  if (installed) return
  installed = true
  const onSignal = (sig: NodeJS.Signals, code: number): void => {
    process.stderr.write(`\n${sig}: stopping ${live.size} child process(es)\n`)
    stopAll().finally(() => process.exit(code)).catch(() => process.exit(code))
  }
  process.once('SIGINT', () => { onSignal('SIGINT', 130) })
  process.once('SIGTERM', () => { onSignal('SIGTERM', 143) })
  process.on('uncaughtException', (err) => {
    process.stderr.write(`uncaught: ${err.stack ?? String(err)}\n`)
    stopAll().finally(() => process.exit(1)).catch(() => process.exit(1))
  })
  process.on('exit', () => {
    for (const c of live) {
      try { process.kill(c.pid, 'SIGKILL') } catch { /* gone */ }
    }
  })
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      srv.close(() => { resolve(port) })
    })
  })
}

export { sleep }

/** Where a benchmark runs: the proxy alone on the last CPU, origin + load (this process) on CPU 0. */
export interface CpuPlan {
  pin: boolean
  proxyCpu: number | undefined
  loadCpu: number | undefined
}

/**
 * Decide the CPU split (pinning only with taskset and at least 2 CPUs, unless `noPin`) and, when
 * `pinSelf`, move this process onto the load CPU.
 */
export function planCpus (noPin: boolean, pinSelf: boolean): CpuPlan {
  const cpus = os.availableParallelism()
  const pin = !noPin && hasTaskset() && cpus >= 2
  const plan = { pin, proxyCpu: pin ? cpus - 1 : undefined, loadCpu: pin ? 0 : undefined }
  if (pinSelf && plan.loadCpu !== undefined) pinPid(process.pid, plan.loadCpu)
  return plan
}
