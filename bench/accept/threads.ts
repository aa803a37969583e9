/**
 * Per-thread CPU time of a process, grouped the way the accept study reads it: the main thread, each
 * hellogate worker thread, and everything else (V8 GC/compiler threads, libuv pool). Linux /proc only.
 *
 * Contract: `threadTimes(pid)` lists every live thread with its comm and utime+stime in ms
 * (bench/lib/proc.ts `threadCpuTimeMs`, 10 ms ticks); `threadDeltas(a, b, pid, sec)` turns two
 * samples into CPUs' worth of time per group over `sec` seconds. Worker threads are recognised by
 * their comm, which Node sets from the Worker `name` (`hellogate-worker-N`, truncated to 15 bytes).
 *
 * Limits: a thread that exits between the samples is missing from the second one and is ignored;
 * the proxy keeps its threads for the whole window, so that only drops short-lived helper threads.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { threadCpuTimeMs } from '../lib/proc.ts'

/** comm prefix of hellogate's worker threads (`name: 'hellogate-worker-' + id` in src/pool/supervisor.ts, cut to 15 bytes). */
const WORKER_COMM_PREFIX = 'hellogate-work'

export interface ThreadSample {
  tid: number
  comm: string
  ms: number
}

export function threadTimes (pid: number): ThreadSample[] {
  let tids: string[]
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return []
  }
  const out: ThreadSample[] = []
  for (const t of tids) {
    const tid = Number(t)
    let comm = ''
    try { comm = readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim() } catch { continue }
    out.push({ tid, comm, ms: threadCpuTimeMs(pid, tid) })
  }
  return out
}

export interface ThreadUse {
  /** main thread, CPUs (1.0 = one CPU busy all window) */
  main: number
  /** each worker thread, CPUs, in thread-id order */
  workers: number[]
  /** all other threads together (GC, compiler, libuv pool), CPUs */
  other: number
  /** the busiest single thread, CPUs */
  busiest: number
}

export function threadDeltas (a: readonly ThreadSample[], b: readonly ThreadSample[], pid: number, sec: number): ThreadUse {
  const before = new Map(a.map((s) => [s.tid, s.ms]))
  const use: ThreadUse = { main: 0, workers: [], other: 0, busiest: 0 }
  for (const s of [...b].sort((x, y) => x.tid - y.tid)) {
    const prev = before.get(s.tid)
    if (prev === undefined) continue
    const cpus = (s.ms - prev) / 1000 / sec
    use.busiest = Math.max(use.busiest, cpus)
    if (s.tid === pid) use.main = cpus
    else if (s.comm.startsWith(WORKER_COMM_PREFIX)) use.workers.push(cpus)
    else use.other += cpus
  }
  return use
}
