/**
 * Pure arithmetic and formatting for the accept-model study: one row per run from two counter
 * snapshots, medians over rounds, the console table. No I/O, so it can be checked by hand.
 *
 * Definitions (bench/README.md "Accept-model study" repeats them):
 * - conns/s: connections the load processes completed (read the origin's whole reply) inside the
 *   measured window, divided by the window's wall time.
 * - main µs/conn: the proxy main thread's CPU time (user+system) in the window, divided by the
 *   connections the proxy accepted in the window (sum of the workers' `accepted` deltas).
 * - proxy µs/conn: the same for the whole proxy process (all threads).
 * - balance: each worker's share of the accepted delta; `max dev` is the largest |share − 1/n|
 *   relative to 1/n, in percent (0 = perfectly even; 100 = one worker got twice its share or none).
 * - scaling: conns/s per worker = conns/s ÷ workers; efficiency = conns/s(W) ÷ (W × conns/s(1)), the
 *   fraction of linear; CPU efficiency = proxy µs/conn at 1 worker ÷ at W (1.0: a connection costs
 *   the proxy as much CPU at W workers as at 1).
 */
import { threadDeltas, type ThreadSample, type ThreadUse } from './threads.ts'

export const ACCEPT_MODELS = ['handoff', 'reuseport'] as const
export type AcceptModelName = typeof ACCEPT_MODELS[number]

/** One snapshot at a window edge. */
export interface Snapshot {
  /** orchestrator's clock (performance.now) at the middle of the snapshot's round trips, ms */
  atMs: number
  mainCpuUs: number
  processCpuUs: number
  /** cross-check from outside: /proc/PID/stat (all threads), ms, 10 ms ticks */
  procStatMs: number
  /** cross-check: /proc/PID/task/PID/stat (main thread), ms */
  mainStatMs: number
  /** /proc/PID/stat stime alone (all threads), ms: the kernel's share of procStatMs */
  sysStatMs: number
  /** /proc/stat softirq+irq time on the proxy's CPUs, ms (0 unpinned: then it is the load's too) */
  proxyCpuSoftirqMs: number
  accepted: number[]
  completed: number
  /** sum over load processes of completed connections' durations, ms */
  latencyMsSum: number
  /** CPU time of all load processes (clients + origin shards), ms, /proc */
  loadCpuMs: number
  /** per-thread CPU of the proxy (/proc/PID/task) */
  threads: ThreadSample[]
}

export interface RunRow {
  model: AcceptModelName
  workers: number
  round: number
  windowSec: number
  /** connections completed by the clients in the window */
  completed: number
  /** connections accepted by the proxy's workers in the window */
  accepted: number
  connsPerSec: number
  mainCpuUsPerConn: number
  processCpuUsPerConn: number
  /** /proc cross-checks of the two figures above (tick resolution) */
  procStatMainUsPerConn: number
  procStatProcessUsPerConn: number
  /** the kernel's part of procStatProcessUsPerConn (stime) */
  sysUsPerConn: number
  /** softirq+irq time on the proxy's CPUs per connection, charged to no process (NaN when not pinned apart) */
  softirqUsPerConn: number
  /** CPUs' worth of time the proxy used in the window (processCpu / wall) */
  processCpus: number
  /** the same for the main thread alone (1.0 = one CPU saturated) */
  mainCpus: number
  perWorkerAccepted: number[]
  perWorkerShare: number[]
  balanceMaxDevPct: number
  /** mean connection time seen by the clients (connect → close), ms; conns/s ≈ in-flight / this */
  meanLatencyMs: number
  /** CPUs' worth of time the load processes used in the window */
  loadCpus: number
  /** CPUs' worth of time per proxy thread group in the window (/proc, 10 ms ticks) */
  threads: ThreadUse
  /** what capped conns/s, judged from thread and process CPU (see LIMITED_BY) */
  limitedBy: string
  /** client-side failures in the whole run (warmup + window + drain), by code */
  clientErrors: Record<string, number>
  /** proxy outcomes other than `ok` in the whole run */
  proxyNonOk: Record<string, number>
  errorsTotal: number
  /** 1-minute load average just before the run */
  loadAverage1m: number
  /** why this row should not be trusted, if anything looked wrong */
  warnings: string[]
  /** taskset list the proxy ran on ('' when not pinned) */
  proxyCpuList: string
  /** proxy and load processes ran on the same CPUs */
  sharedCpus: boolean
  /** kernel TcpExt ListenOverflows / ListenDrops deltas over the window (host-wide) */
  listenOverflows: number
  listenDrops: number
}

export interface SummaryRow {
  model: AcceptModelName
  workers: number
  rounds: number
  connsPerSec: number
  mainCpuUsPerConn: number
  processCpuUsPerConn: number
  /** medians of RunRow's sysUsPerConn and softirqUsPerConn */
  sysUsPerConn: number
  softirqUsPerConn: number
  processCpus: number
  mainCpus: number
  balanceMaxDevPct: number
  errorsTotal: number
  /** connsPerSec relative to the same model at the fewest workers measured */
  scaling: number
  /** handoff only: 1e6 / main µs per conn, the rate at which the main thread alone would be saturated */
  mainThreadCeilingConnsPerSec: number | null
  /** the most frequent `limitedBy` over the rounds */
  limitedBy: string
}

export function sumValues (m: Record<string, number>): number {
  let t = 0
  for (const v of Object.values(m)) t += v
  return t
}

/** `after − before` per key, dropping zeros. */
export function diffCounts (after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0)
    if (d !== 0) out[k] = d
  }
  return out
}

/** Largest |share − 1/n| as a percentage of 1/n. */
export function balanceMaxDevPct (shares: readonly number[]): number {
  const n = shares.length
  if (n <= 1) return 0
  let worst = 0
  for (const s of shares) worst = Math.max(worst, Math.abs(s * n - 1))
  return worst * 100
}

export function median (xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2
}

function mode (xs: readonly string[]): string {
  const n = new Map<string, number>()
  let best = ''
  let bestN = 0
  for (const x of xs) {
    const c = (n.get(x) ?? 0) + 1
    n.set(x, c)
    if (c > bestN) { best = x; bestN = c }
  }
  return best
}

export interface RowInput {
  model: AcceptModelName
  workers: number
  round: number
  /** proxy pid (its main thread's TID) */
  pid: number
  /** CPUs the proxy may run on */
  proxyCpus: number
  /** CPUs the load processes may run on */
  loadCpus: number
  a: Snapshot
  b: Snapshot
  clientErrors: Record<string, number>
  proxyNonOk: Record<string, number>
  loadAverage1m: number
  /** proxy and load processes ran on the same CPUs (the proxy CPUs' softirq time is then not the proxy's) */
  sharedCpus: boolean
}

/** A thread (or the proxy's CPU set) busier than this fraction is taken as the bottleneck. */
export const SATURATED = 0.85

/** Where the ceiling was, from the CPU figures: the first that holds wins. */
export function limitedBy (threads: ThreadUse, processCpus: number, proxyCpus: number, loadUsed: number, loadCpus: number): string {
  if (threads.main >= SATURATED) return 'main thread'
  if (threads.workers.some((w) => w >= SATURATED)) return 'worker threads'
  if (processCpus >= SATURATED * proxyCpus) return 'proxy CPUs'
  if (loadUsed >= SATURATED * loadCpus) return 'load side'
  return 'none saturated (latency: other processes on these CPUs, or context switches)'
}

/** Tolerance between client-completed and proxy-accepted counts in a window: the in-flight count plus 2 %. */
const COUNT_MISMATCH_FRACTION = 0.02

export function computeRow (r: RowInput, inflight: number): RunRow {
  const windowSec = (r.b.atMs - r.a.atMs) / 1000
  const perWorkerAccepted = r.b.accepted.map((v, i) => v - (r.a.accepted[i] ?? 0))
  const accepted = perWorkerAccepted.reduce((x, y) => x + y, 0)
  const completed = r.b.completed - r.a.completed
  const per = (us: number): number => accepted > 0 ? us / accepted : Number.NaN
  const perWorkerShare = perWorkerAccepted.map((v) => accepted > 0 ? v / accepted : 0)
  const warnings: string[] = []
  if (completed <= 0) warnings.push('no connection completed in the window')
  if (Math.abs(completed - accepted) > inflight + COUNT_MISMATCH_FRACTION * accepted) {
    warnings.push(`clients completed ${completed} but the proxy accepted ${accepted}`)
  }
  const threads = threadDeltas(r.a.threads, r.b.threads, r.pid, windowSec)
  const processCpus = (r.b.processCpuUs - r.a.processCpuUs) / 1e6 / windowSec
  const loadUsed = (r.b.loadCpuMs - r.a.loadCpuMs) / 1000 / windowSec
  const errorsTotal = sumValues(r.clientErrors) + sumValues(r.proxyNonOk)
  if (errorsTotal > 0) warnings.push(`${errorsTotal} failed connections`)
  return {
    model: r.model,
    workers: r.workers,
    round: r.round,
    windowSec,
    completed,
    accepted,
    connsPerSec: completed / windowSec,
    mainCpuUsPerConn: per(r.b.mainCpuUs - r.a.mainCpuUs),
    processCpuUsPerConn: per(r.b.processCpuUs - r.a.processCpuUs),
    procStatMainUsPerConn: per((r.b.mainStatMs - r.a.mainStatMs) * 1000),
    procStatProcessUsPerConn: per((r.b.procStatMs - r.a.procStatMs) * 1000),
    sysUsPerConn: per((r.b.sysStatMs - r.a.sysStatMs) * 1000),
    softirqUsPerConn: r.sharedCpus ? Number.NaN : per((r.b.proxyCpuSoftirqMs - r.a.proxyCpuSoftirqMs) * 1000),
    processCpus,
    mainCpus: (r.b.mainCpuUs - r.a.mainCpuUs) / 1e6 / windowSec,
    perWorkerAccepted,
    perWorkerShare,
    balanceMaxDevPct: balanceMaxDevPct(perWorkerShare),
    meanLatencyMs: completed > 0 ? (r.b.latencyMsSum - r.a.latencyMsSum) / completed : Number.NaN,
    loadCpus: loadUsed,
    threads,
    limitedBy: limitedBy(threads, processCpus, r.proxyCpus, loadUsed, r.loadCpus),
    clientErrors: r.clientErrors,
    proxyNonOk: r.proxyNonOk,
    errorsTotal,
    loadAverage1m: r.loadAverage1m,
    warnings,
    proxyCpuList: '',
    sharedCpus: r.sharedCpus,
    listenOverflows: 0,
    listenDrops: 0,
  }
}

export interface ScalingRow {
  model: AcceptModelName
  workers: number
  connsPerSec: number
  connsPerSecPerWorker: number
  /** conns/s(W) ÷ (W × conns/s(1)) */
  efficiency: number
  /** proxy µs/conn at 1 worker ÷ at W */
  cpuEfficiency: number
  /** proxy µs/conn split: user (JavaScript, V8, GC), sys (kernel, charged to the proxy), and softirq on its CPUs */
  userUsPerConn: number
  sysUsPerConn: number
  softirqUsPerConn: number
  proxyCpus: number
  sharedCpus: boolean
  listenOverflows: number
  balanceMaxDevPct: number
  limitedBy: string
}

/** Per model: each worker count against the same model at 1 worker (rows without a 1-worker run are left out). */
export function scaling (summary: readonly SummaryRow[], rows: readonly RunRow[]): ScalingRow[] {
  const out: ScalingRow[] = []
  for (const s of summary) {
    const base = summary.find((o) => o.model === s.model && o.workers === 1)
    if (base === undefined) continue
    const runs = rows.filter((r) => r.model === s.model && r.workers === s.workers)
    out.push({
      model: s.model,
      workers: s.workers,
      connsPerSec: s.connsPerSec,
      connsPerSecPerWorker: s.connsPerSec / s.workers,
      efficiency: s.connsPerSec / (s.workers * base.connsPerSec),
      cpuEfficiency: base.processCpuUsPerConn / s.processCpuUsPerConn,
      userUsPerConn: s.processCpuUsPerConn - s.sysUsPerConn,
      sysUsPerConn: s.sysUsPerConn,
      softirqUsPerConn: s.softirqUsPerConn,
      proxyCpus: s.processCpus,
      sharedCpus: runs.some((r) => r.sharedCpus),
      listenOverflows: runs.reduce((t, r) => t + r.listenOverflows, 0),
      balanceMaxDevPct: s.balanceMaxDevPct,
      limitedBy: s.limitedBy,
    })
  }
  return out
}

export function scalingTable (rows: readonly ScalingRow[]): string {
  return table(
    ['model', 'workers', 'conns/s', 'per worker', 'efficiency', 'CPU efficiency', 'user µs/conn', 'sys µs/conn', 'softirq µs/conn', 'proxy CPUs', 'max dev %', 'listen overflows', 'shared CPUs', 'limited by'],
    rows.map((s) => [
      s.model, String(s.workers), fmt(s.connsPerSec), fmt(s.connsPerSecPerWorker), fmt(s.efficiency * 100) + ' %', fmt(s.cpuEfficiency * 100) + ' %',
      fmt(s.userUsPerConn, 1), fmt(s.sysUsPerConn, 1), fmt(s.softirqUsPerConn, 1),
      fmt(s.proxyCpus, 2), fmt(s.balanceMaxDevPct, 1), String(s.listenOverflows), s.sharedCpus ? 'yes' : 'no', s.limitedBy,
    ]),
  )
}

/** Median per (model, workers) over rounds, with scaling relative to the fewest workers. */
export function summarize (rows: readonly RunRow[]): SummaryRow[] {
  const keys = new Map<string, RunRow[]>()
  for (const r of rows) {
    const k = `${r.model}/${String(r.workers)}`
    const list = keys.get(k)
    if (list === undefined) keys.set(k, [r])
    else list.push(r)
  }
  const out: SummaryRow[] = []
  for (const list of keys.values()) {
    const first = list[0]
    if (first === undefined) continue
    const main = median(list.map((r) => r.mainCpuUsPerConn))
    out.push({
      model: first.model,
      workers: first.workers,
      rounds: list.length,
      connsPerSec: median(list.map((r) => r.connsPerSec)),
      mainCpuUsPerConn: main,
      processCpuUsPerConn: median(list.map((r) => r.processCpuUsPerConn)),
      sysUsPerConn: median(list.map((r) => r.sysUsPerConn)),
      softirqUsPerConn: median(list.map((r) => r.softirqUsPerConn)),
      processCpus: median(list.map((r) => r.processCpus)),
      mainCpus: median(list.map((r) => r.mainCpus)),
      balanceMaxDevPct: median(list.map((r) => r.balanceMaxDevPct)),
      errorsTotal: list.reduce((t, r) => t + r.errorsTotal, 0),
      scaling: 1,
      mainThreadCeilingConnsPerSec: first.model === 'handoff' && main > 0 ? 1e6 / main : null,
      limitedBy: mode(list.map((r) => r.limitedBy)),
    })
  }
  out.sort((x, y) => x.workers - y.workers || x.model.localeCompare(y.model))
  for (const s of out) {
    const base = out.find((o) => o.model === s.model)
    if (base !== undefined && base.connsPerSec > 0) s.scaling = s.connsPerSec / base.connsPerSec
  }
  return out
}

function fmt (x: number, digits = 0): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '-'
}

/** Render rows as a fixed-width text table. */
export function table (header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const last = header.length - 1
  const line = (cells: readonly string[]): string => cells.map((c, i) => i === last ? c : c.padStart(widths[i] ?? 0)).join('  ').trimEnd()
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

export function runTable (rows: readonly RunRow[]): string {
  return table(
    ['model', 'workers', 'round', 'conns/s', 'main µs/conn', 'proxy µs/conn', 'proxy CPUs', 'main CPUs', 'worker CPUs', 'load CPUs', 'ms/conn', 'max dev %', 'shares %', 'errors', 'limited by'],
    rows.map((r) => [
      r.model, String(r.workers), String(r.round), fmt(r.connsPerSec), fmt(r.mainCpuUsPerConn, 1), fmt(r.processCpuUsPerConn, 1),
      fmt(r.processCpus, 2), fmt(r.mainCpus, 2), r.threads.workers.map((w) => fmt(w, 2)).join('/'),
      fmt(r.loadCpus, 2), fmt(r.meanLatencyMs, 2), fmt(r.balanceMaxDevPct, 1),
      r.perWorkerShare.map((s) => fmt(s * 100, 1)).join('/'), String(r.errorsTotal), r.limitedBy,
    ]),
  )
}

export function summaryTable (rows: readonly SummaryRow[]): string {
  return table(
    ['model', 'workers', 'rounds', 'conns/s', 'scaling', 'main µs/conn', 'proxy µs/conn', 'proxy CPUs', 'main CPUs', 'max dev %', 'handoff ceiling/s', 'errors', 'limited by'],
    rows.map((s) => [
      s.model, String(s.workers), String(s.rounds), fmt(s.connsPerSec), fmt(s.scaling, 2) + 'x', fmt(s.mainCpuUsPerConn, 1),
      fmt(s.processCpuUsPerConn, 1), fmt(s.processCpus, 2), fmt(s.mainCpus, 2), fmt(s.balanceMaxDevPct, 1),
      s.mainThreadCeilingConnsPerSec === null ? '' : fmt(s.mainThreadCeilingConnsPerSec), String(s.errorsTotal), s.limitedBy,
    ]),
  )
}

/** reuseport ÷ handoff, per worker count measured with both. */
export function comparisons (summary: readonly SummaryRow[]): Array<{ workers: number, connsRatio: number, processCpuRatio: number, handoffMainUs: number }> {
  const out: Array<{ workers: number, connsRatio: number, processCpuRatio: number, handoffMainUs: number }> = []
  for (const h of summary) {
    if (h.model !== 'handoff') continue
    const r = summary.find((s) => s.model === 'reuseport' && s.workers === h.workers)
    if (r === undefined) continue
    out.push({
      workers: h.workers,
      connsRatio: r.connsPerSec / h.connsPerSec,
      processCpuRatio: r.processCpuUsPerConn / h.processCpuUsPerConn,
      handoffMainUs: h.mainCpuUsPerConn,
    })
  }
  return out
}
