/**
 * Shared harness of the microbenchmarks (bench/micro/*.bench.ts): runs tasks with tinybench, turns the
 * samples into per-operation figures, prints them, and hands them to bench/run-micro.ts.
 *
 * Contract:
 *  - A `MicroTask` performs `batch` operations per timed call (`run(batch)`), each one checked against
 *    its known answer (a wrong answer throws, which fails the run: a broken fast path cannot "win" and
 *    the result cannot be dead code, STYLE C.7). Sub-microsecond operations are batched so that one
 *    sample lasts several microseconds, far above the timer's grain and its ~50 ns call cost
 *    (tinybench FAQ); every figure reported here is the sample divided by `batch`, which the table
 *    and the JSON state. No timer-overhead subtraction (it is < 1% of a batched sample).
 *  - Each task gets its own tinybench `Bench` (hrtime clock, warmup on, throws on error), run
 *    synchronously. tinybench's `'warning'` (timer saturation) reason and `detectedResolution` are kept
 *    per task and shown.
 *  - `finish(file, results)`: in a child of run-micro.ts, sends the results over the IPC channel and
 *    disconnects; run standalone (`node bench/micro/x.bench.ts`), prints the table.
 *  - ops/s is 1e9 / (mean ns per op); ±rme is tinybench's relative margin of error of the mean of the
 *    samples (95%), which batching leaves unchanged.
 *
 * Limits: tasks must be synchronous. One process runs one bench file (run-micro.ts starts a fresh
 * process per file), so JIT state never leaks from one file into another.
 */
import { Bench, type BenchOptions } from 'tinybench'

/** Default time budget per task (ms): ~1 s gives 10^4–10^5 batched samples for sub-µs operations. */
const TIME_MS = 1_000
/** Default warmup per task (ms): enough for V8 to reach its optimising tier on these small functions. */
const WARMUP_MS = 250
/** --quick: a smoke run, still long enough for the optimising tier. */
const QUICK_TIME_MS = 200
const QUICK_WARMUP_MS = 50
/** Minimum samples per task, whatever the time budget (tinybench `iterations`). */
const MIN_SAMPLES = 64

export interface MicroTask {
  /** stable identifier (`group/variant/...`): the compare script and run-micro's target checks parse it */
  name: string
  /** one line: what one operation is */
  what: string
  /** operations per timed call; figures are divided by it */
  batch: number
  /** perform `n` operations, checking each; throw on a wrong answer */
  run: (n: number) => void
  /** per-task overrides of the Bench options (e.g. 3 iterations, no warmup, for a multi-second task) */
  options?: BenchOptions
  /** untimed hooks around each timed call (e.g. gc + heap reading) */
  beforeEach?: () => void
  afterEach?: () => void
  /** extra figures read after the run (e.g. heap bytes per name) */
  extra?: () => Record<string, number | string>
}

export interface MicroResult {
  file: string
  name: string
  what: string
  /** operations per sample */
  batch: number
  samples: number
  /** per operation, nanoseconds */
  meanNs: number
  p50Ns: number
  p99Ns: number
  minNs: number
  maxNs: number
  opsPerSec: number
  /** relative margin of error of the mean, percent */
  rmePct: number
  /** tinybench's resolution estimate for one SAMPLE (not per op), ns; null when unknown */
  sampleResolutionNs: number | null
  /** tinybench timer-saturation warning reason, or null */
  warning: string | null
  extra?: Record<string, number | string>
}

export interface MicroFileResult {
  type: 'micro-result'
  file: string
  quick: boolean
  notes: string[]
  tasks: MicroResult[]
}

/** `--quick` anywhere on the command line */
export function isQuick (argv: readonly string[] = process.argv): boolean {
  return argv.includes('--quick')
}

function baseOptions (quick: boolean): BenchOptions {
  return {
    time: quick ? QUICK_TIME_MS : TIME_MS,
    warmupTime: quick ? QUICK_WARMUP_MS : WARMUP_MS,
    iterations: MIN_SAMPLES,
    warmup: true,
    throws: true,
    timestampProvider: 'hrtimeNow',
  }
}

const NS_PER_MS = 1e6

/** Run one task to completion (synchronously) and return its per-operation figures. */
export function runTask (file: string, task: MicroTask, quick: boolean): MicroResult {
  if (!Number.isInteger(task.batch) || task.batch < 1) throw new RangeError(`${task.name}: batch must be a positive integer`)
  const bench = new Bench({ ...baseOptions(quick), ...task.options, name: task.name })
  let warning: string | null = null
  bench.addEventListener('warning', (evt) => { warning = evt.reason ?? 'unspecified' })
  const batch = task.batch
  const run = task.run
  bench.add(task.name, () => { run(batch) }, {
    ...(task.beforeEach ? { beforeEach: task.beforeEach } : {}),
    ...(task.afterEach ? { afterEach: task.afterEach } : {}),
  })
  const [t] = bench.runSync()
  const r = t?.result
  if (t === undefined || r === undefined) throw new Error(`${task.name}: tinybench returned no task`)
  if (r.state === 'errored') throw r.error
  if (r.state !== 'completed') throw new Error(`${task.name}: tinybench state ${r.state}`)
  const lat = r.latency
  const perOp = (ms: number): number => ms * NS_PER_MS / batch
  const res = t.detectedResolution
  const out: MicroResult = {
    file,
    name: task.name,
    what: task.what,
    batch,
    samples: lat.samplesCount,
    meanNs: perOp(lat.mean),
    p50Ns: perOp(lat.p50),
    p99Ns: perOp(lat.p99),
    minNs: perOp(lat.min),
    maxNs: perOp(lat.max),
    opsPerSec: lat.mean > 0 ? 1e3 * batch / lat.mean : 0,
    rmePct: lat.rme,
    sampleResolutionNs: res === undefined ? null : res * NS_PER_MS,
    warning,
  }
  if (task.extra) out.extra = task.extra()
  return out
}

/** Run every task in order, printing one progress line per task on stderr. */
export function runTasks (file: string, tasks: readonly MicroTask[], quick: boolean): MicroResult[] {
  const names = new Set<string>()
  const results: MicroResult[] = []
  for (const task of tasks) {
    if (names.has(task.name)) throw new Error(`duplicate task name ${task.name}`)
    names.add(task.name)
    const r = runTask(file, task, quick)
    process.stderr.write(`  ${r.name.padEnd(44)} ${fmtTime(r.p50Ns).padStart(10)}/op p50  ±${r.rmePct.toFixed(2)}%  n=${r.samples}${r.warning ? `  [tinybench warning: ${r.warning}]` : ''}\n`)
    results.push(r)
  }
  return results
}

/** ns → `123.4 ns` / `12.35 µs` / `1.234 ms` / `1.234 s` */
export function fmtTime (ns: number): string {
  if (!Number.isFinite(ns)) return String(ns)
  if (ns < 1e3) return `${ns.toFixed(1)} ns`
  if (ns < 1e6) return `${(ns / 1e3).toFixed(2)} µs`
  if (ns < 1e9) return `${(ns / 1e6).toFixed(3)} ms`
  return `${(ns / 1e9).toFixed(3)} s`
}

/** 12345678 → `12,345,678`; small rates keep 3 significant digits (0.399) */
export function fmtOps (ops: number): string {
  return ops < 100 ? ops.toPrecision(3) : Math.round(ops).toLocaleString('en-US')
}

/** Console table: task, mean/op, p50/op, ops/s, ±rme, samples × batch, warning. */
export function formatTable (rows: readonly MicroResult[]): string {
  const head = ['task', 'mean/op', 'p50/op', 'ops/s', '±rme', 'samples×batch', 'note']
  const body = rows.map((r) => [
    r.name,
    fmtTime(r.meanNs),
    fmtTime(r.p50Ns),
    fmtOps(r.opsPerSec),
    `±${r.rmePct.toFixed(2)}%`,
    `${r.samples}×${r.batch}`,
    r.warning ? `timer warning: ${r.warning}` : '',
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)))
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd()
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n')
}

/** Hand results to run-micro.ts (IPC) or, standalone, print them. */
export function finish (file: string, quick: boolean, tasks: MicroResult[], notes: string[] = []): void {
  const msg: MicroFileResult = { type: 'micro-result', file, quick, notes, tasks }
  if (process.send !== undefined) {
    process.send(msg, () => { process.disconnect() })
    return
  }
  process.stdout.write(`${formatTable(tasks)}\n`)
  for (const n of notes) process.stdout.write(`# ${n}\n`)
}

/** `globalThis.gc` (node --expose-gc), or a clear error. */
export function requireGc (): () => void {
  const gc = (globalThis as { gc?: () => void }).gc
  if (typeof gc !== 'function') throw new Error('this benchmark needs node --expose-gc (bench/run-micro.ts passes it)')
  return gc
}
