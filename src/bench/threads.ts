/**
 * `hellogate bench --threads N`: the load spread over N worker threads, each a LoadRun (load.ts) with
 * its share of the connections, so the generator can use as many client cores as it has. One Node
 * thread saturates one core at a few thousand TLS handshakes per second: without this the client, not
 * the edge, would be what a newconn run measures on a many-core host.
 *
 * Contract: `startThreadedLoad(spec, threads)` returns a LoadView at once. Each thread reports its
 * counters every PROGRESS_MS (the view's `counters` is their sum, so the progress line stays live) and,
 * once its run is done, everything it measured: samples (transferred, not copied), errors, statuses,
 * per-second counts; the view merges them and `done` resolves. `stop()` stops every thread. A thread
 * that dies counts as one `THREAD_FAILED` error and adds nothing else.
 *
 * Limits: samples per thread as in stats.ts (MAX_SAMPLES), merged into one series up to MAX_SAMPLES.
 * Per-second counts are indexed from each thread's own start (threads start within milliseconds).
 */
import { performance } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'

import { Measurements } from './load.ts'
import type { LoadCounters, LoadSpec, LoadView } from './load.ts'

/** how often a thread reports its counters: the progress line's refresh rate on a terminal */
export const PROGRESS_MS = 250

const THREAD_URL = new URL(import.meta.url.endsWith('.ts') ? './thread.ts' : './thread.js', import.meta.url)

/** thread → main messages */
export type ThreadMessage =
  | { type: 'progress', counters: LoadCounters }
  | {
    type: 'done'
    counters: LoadCounters
    elapsedMs: number
    unclosed: number
    handshake: { at: Float64Array, values: Float64Array, count: number }
    latency: { at: Float64Array, values: Float64Array, count: number }
    errors: Array<[string, number]>
    statuses: Array<[number, number]>
    opsPerSecond: number[]
    bytesPerSecond: number[]
  }

/** Split `total` into `parts` shares that differ by at most one. */
export function shares (total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0))
}

function zeroCounters (): LoadCounters {
  return { completed: 0, handshakes: 0, errors: 0, bytesIn: 0, bytesOut: 0, open: 0 }
}

class ThreadedRun extends Measurements implements LoadView {
  readonly spec: LoadSpec
  elapsedMs = 0
  unclosed = 0
  readonly done: Promise<void>
  private readonly startedAt = performance.now()
  private readonly workers: Worker[] = []
  /** latest counters per thread */
  private readonly live: LoadCounters[]
  private readonly final: LoadCounters[] = []
  private failed = 0

  constructor (spec: LoadSpec, threads: number) {
    super(spec.durationMs)
    this.spec = spec
    const conc = shares(spec.concurrency, threads)
    this.live = conc.map(zeroCounters)
    const finished: Array<Promise<void>> = []
    conc.forEach((concurrency, i) => {
      const worker = new Worker(THREAD_URL, {
        workerData: { ...spec, concurrency, sniOffset: (spec.sniOffset ?? 0) + i } satisfies LoadSpec,
        name: `hellogate-bench-${i}`,
      })
      this.workers.push(worker)
      finished.push(new Promise<void>((resolve) => {
        worker.on('message', (m: ThreadMessage) => {
          if (m.type === 'progress') { this.live[i] = m.counters; return }
          this.absorb(i, m)
          resolve()
        })
        worker.once('error', () => { this.failed++; resolve() })
        worker.once('exit', () => { resolve() })
      }))
    })
    this.done = Promise.all(finished).then(() => {
      if (this.failed > 0) this.errorsByCode.set('THREAD_FAILED', this.failed)
    })
  }

  get counters (): LoadCounters {
    const sum = zeroCounters()
    for (const c of this.final.length === this.live.length ? this.final : this.live) {
      sum.completed += c.completed
      sum.handshakes += c.handshakes
      sum.errors += c.errors
      sum.bytesIn += c.bytesIn
      sum.bytesOut += c.bytesOut
      sum.open += c.open
    }
    sum.errors += this.failed
    return sum
  }

  now (): number { return performance.now() - this.startedAt }

  stop (): void {
    for (const w of this.workers) w.postMessage({ type: 'stop' })
  }

  private absorb (i: number, m: Extract<ThreadMessage, { type: 'done' }>): void {
    this.live[i] = m.counters
    this.final.push(m.counters)
    this.elapsedMs = Math.max(this.elapsedMs, m.elapsedMs)
    this.unclosed += m.unclosed
    this.handshake.merge(m.handshake.at, m.handshake.values, m.handshake.count)
    this.latency.merge(m.latency.at, m.latency.values, m.latency.count)
    for (const [k, v] of m.errors) this.errorsByCode.set(k, (this.errorsByCode.get(k) ?? 0) + v)
    for (const [k, v] of m.statuses) this.statuses.set(k, (this.statuses.get(k) ?? 0) + v)
    m.opsPerSecond.forEach((v, s) => { if (s < this.opsPerSecond.length) this.opsPerSecond[s]! += v })
    m.bytesPerSecond.forEach((v, s) => { if (s < this.bytesPerSecond.length) this.bytesPerSecond[s]! += v })
  }
}

export function startThreadedLoad (spec: LoadSpec, threads: number): LoadView {
  return new ThreadedRun(spec, threads)
}
