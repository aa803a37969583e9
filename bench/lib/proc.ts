/**
 * /proc sampling of a process (or process tree): CPU time and resident memory. Linux only.
 *
 * Contract:
 * - `cpuTimeMs(pid)` is utime+stime from /proc/PID/stat, fields 14 and 15 (proc(5)). Those are
 *   per *thread group*, so they already sum every thread of the process, live and exited: worker
 *   threads, the libuv pool and V8's GC threads are all counted.
 * - `treeCpuTimeMs(root)` and `treeRssKiB(root)` add every live descendant process (nginx
 *   master+worker, a multi-process proxy). A descendant that exits between two samples takes its time
 *   with it, so sample while the tree is stable.
 * - `threadCpuTimeMs(pid, tid)` is the same for one thread (/proc/PID/task/TID/stat); TID == PID is
 *   the main thread.
 * - `rssKiB(pid)` is VmRSS from /proc/PID/status.
 *
 * Limits: resolution is one clock tick (1/CLK_TCK s, 10 ms at the usual 100 Hz), so measure for
 * seconds, not milliseconds. A vanished pid reads as 0 rather than throwing, so a sampler never
 * takes a benchmark down; the caller checks liveness separately.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { clockTicksPerSecond } from './env.ts'

/** proc(5) /proc/PID/stat: 1-based field numbers, counted from the start of the line. */
const STAT_FIELD = {
  ppid: 4, // ppid
  utime: 14, // utime, clock ticks
  stime: 15, // stime, clock ticks
} as const

/**
 * Parse /proc/PID/stat into fields indexed by their proc(5) number. The comm field (2) is in
 * parentheses and may contain spaces, so split after the last ')'.
 */
function readStat (pid: number, tid?: number): string[] | undefined {
  let text: string
  try {
    text = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  const close = text.lastIndexOf(')')
  if (close < 0) return undefined
  // fields[3] is field 3 (state); fill 0..2 so indices match the man page numbering.
  return ['', '', '', ...text.slice(close + 2).trim().split(' ')]
}

/** utime+stime of the whole process (all threads), in milliseconds; 0 when the pid is gone. */
export function cpuTimeMs (pid: number): number {
  const f = readStat(pid)
  if (f === undefined) return 0
  const ticks = Number(f[STAT_FIELD.utime]) + Number(f[STAT_FIELD.stime])
  return (ticks * 1000) / clockTicksPerSecond()
}

/**
 * utime+stime of one thread, from /proc/PID/task/TID/stat, in milliseconds; 0 when it is gone.
 * The main thread's TID is the PID. (Added for bench/accept: main-thread CPU of the proxy.)
 */
export function threadCpuTimeMs (pid: number, tid: number): number {
  const f = readStat(pid, tid)
  if (f === undefined) return 0
  const ticks = Number(f[STAT_FIELD.utime]) + Number(f[STAT_FIELD.stime])
  return (ticks * 1000) / clockTicksPerSecond()
}

/**
 * stime alone of the whole process (all threads), in milliseconds; 0 when the pid is gone: the part of
 * cpuTimeMs spent in the kernel on the process's behalf (syscalls, and the softirq work the kernel
 * charges to the task that was running: on loopback, much of the peer's receive path).
 */
export function sysTimeMs (pid: number): number {
  const f = readStat(pid)
  if (f === undefined) return 0
  return (Number(f[STAT_FIELD.stime]) * 1000) / clockTicksPerSecond()
}

/**
 * /proc/stat time of a set of CPUs, in milliseconds, summed over them (proc(5): the cpuN lines, in
 * clock ticks): what ran there whoever it belonged to. `softirq` (+ `irq`) is kernel work the
 * scheduler charged to no process — the loopback receive path when it runs from ksoftirqd or an
 * interrupt's tail — which a process's own utime/stime misses.
 */
export interface CpuSetTimes { user: number, system: number, softirq: number, idle: number }

export function cpuSetTimesMs (cpus: readonly number[]): CpuSetTimes {
  const out = { user: 0, system: 0, softirq: 0, idle: 0 }
  let text: string
  try {
    text = readFileSync('/proc/stat', 'utf8')
  } catch {
    return out
  }
  const want = new Set(cpus)
  const tick = 1000 / clockTicksPerSecond()
  for (const line of text.split('\n')) {
    const m = /^cpu(\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)/.exec(line)
    if (m === null || !want.has(Number(m[1]))) continue
    // user nice system idle iowait irq softirq
    out.user += (Number(m[2]) + Number(m[3])) * tick
    out.system += Number(m[4]) * tick
    out.idle += (Number(m[5]) + Number(m[6])) * tick
    out.softirq += (Number(m[7]) + Number(m[8])) * tick
  }
  return out
}

/** VmRSS of the process in KiB; 0 when the pid is gone. */
export function rssKiB (pid: number): number {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8')
  } catch {
    return 0
  }
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(text)
  return m === null ? 0 : Number(m[1])
}

/** `root` and every live descendant, found by scanning /proc/<n>/stat ppid links. Root first. */
export function processTree (root: number): number[] {
  const children = new Map<number, number[]>()
  for (const name of readdirSync('/proc')) {
    const pid = Number(name)
    if (!Number.isInteger(pid)) continue
    const f = readStat(pid)
    if (f === undefined) continue
    const ppid = Number(f[STAT_FIELD.ppid])
    const list = children.get(ppid)
    if (list === undefined) children.set(ppid, [pid])
    else list.push(pid)
  }
  const out = [root]
  for (let i = 0; i < out.length; i++) {
    for (const c of children.get(out[i] ?? -1) ?? []) out.push(c)
  }
  return out
}

/** CPU time of a set of pids, summed (ms). */
export function sumCpuTimeMs (pids: readonly number[]): number {
  let t = 0
  for (const p of pids) t += cpuTimeMs(p)
  return t
}

/** RSS of a set of pids, summed (KiB). */
export function sumRssKiB (pids: readonly number[]): number {
  let t = 0
  for (const p of pids) t += rssKiB(p)
  return t
}

/** CPU time of `root` and its live descendants (ms). */
export function treeCpuTimeMs (root: number): number {
  return sumCpuTimeMs(processTree(root))
}

/** RSS of `root` and its live descendants (KiB). */
export function treeRssKiB (root: number): number {
  return sumRssKiB(processTree(root))
}

/** True while /proc/PID exists and the process is not a zombie. */
export function isAlive (pid: number): boolean {
  const f = readStat(pid)
  return f !== undefined && f[3] !== 'Z'
}
