/**
 * Environment header for benchmark output (STYLE C.7, like pino `benchmarks/utils/runbench.js`).
 *
 * Contract: `envHeader()` returns a plain JSON-able object describing where the numbers came from
 * (OS, arch, CPU model, cores, Node version, git sha and dirty flag, CPU pinning, clock tick);
 * `formatEnvHeader()` renders it as a few `# key: value` lines for the console.
 *
 * Limits: git and `getconf` are optional; when they are missing the fields say `unknown` instead of
 * failing the benchmark. Synchronous by design: it runs once per benchmark process, before any load.
 */
import { execFileSync } from 'node:child_process'
import os from 'node:os'

/** Seconds to wait for `git`/`getconf` before giving up: they are local and should answer instantly. */
const TOOL_TIMEOUT_MS = 5_000

/** Linux USER_HZ fallback when `getconf CLK_TCK` is unavailable (it has been 100 on every mainstream arch). */
const DEFAULT_CLK_TCK = 100

export interface EnvHeader {
  date: string
  os: string
  arch: string
  cpuModel: string
  cores: number
  memoryMiB: number
  node: string
  gitSha: string
  gitDirty: boolean
  clockTicksPerSecond: number
  pinning: string
  /** 1-minute load average when the run started; above ~0.5 × cores, other work is competing. */
  loadAverage1m: number
}

/** Warn when the 1-minute load average exceeds this fraction of the CPUs: someone else is busy. */
const BUSY_LOAD_FRACTION = 0.5

function tryExec (cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: TOOL_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return undefined
  }
}

let clkTck: number | undefined

/** `sysconf(_SC_CLK_TCK)`: the unit of utime/stime in /proc/PID/stat. Cached. */
export function clockTicksPerSecond (): number {
  if (clkTck === undefined) {
    const n = Number(tryExec('getconf', ['CLK_TCK']))
    clkTck = Number.isInteger(n) && n > 0 ? n : DEFAULT_CLK_TCK
  }
  return clkTck
}

/** Git sha of the working tree the benchmark ran from, or `unknown`. */
export function gitSha (): { sha: string, dirty: boolean } {
  const sha = tryExec('git', ['rev-parse', 'HEAD']) ?? 'unknown'
  const status = tryExec('git', ['status', '--porcelain', '--untracked-files=no'])
  return { sha, dirty: status !== undefined && status.length > 0 }
}

/** Build the header. `pinning` is a free-text description of the CPU placement the caller chose. */
export function envHeader (pinning: string): EnvHeader {
  const cpus = os.cpus()
  const git = gitSha()
  return {
    date: new Date().toISOString(),
    os: `${os.type()} ${os.release()}`,
    arch: os.arch(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length, // not availableParallelism(): that shrinks to 1 once the harness pins itself
    memoryMiB: Math.round(os.totalmem() / 1048576),
    node: process.version,
    gitSha: git.sha,
    gitDirty: git.dirty,
    clockTicksPerSecond: clockTicksPerSecond(),
    pinning,
    loadAverage1m: os.loadavg()[0] ?? 0,
  }
}

/** Console rendering: one `# key: value` line per field. */
export function formatEnvHeader (h: EnvHeader): string {
  return [
    `# date: ${h.date}`,
    `# os: ${h.os} ${h.arch}, cpu: ${h.cpuModel} x${h.cores}, memory: ${h.memoryMiB} MiB`,
    `# node: ${h.node}, git: ${h.gitSha.slice(0, 12)}${h.gitDirty ? ' (dirty)' : ''}, CLK_TCK: ${h.clockTicksPerSecond}`,
    `# pinning: ${h.pinning}`,
    h.loadAverage1m > BUSY_LOAD_FRACTION * h.cores
      ? `# WARNING: load average ${h.loadAverage1m.toFixed(2)} on ${h.cores} CPUs before starting: other processes are competing, numbers will be noisy`
      : `# load average: ${h.loadAverage1m.toFixed(2)}`,
  ].join('\n')
}
