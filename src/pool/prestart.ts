/**
 * Worker threads started before the config is compiled, so that their start (a thread, an isolate and
 * the relay's modules: ~0.3–0.5 s of CPU each) runs on the other cores while the main thread is still
 * reading and compiling the route table, instead of after it.
 *
 * Contract:
 *  - `start(n)` spawns n workers with no workerData; each loads its modules and waits for one `init`
 *    message carrying its WorkerData (worker.ts). Only the first call starts any: a config load that
 *    falls back to its slow path reports the worker count a second time.
 *  - `take(name)` hands the next one still alive to the Supervisor, which posts its `init` and attaches
 *    its own handlers; null when none is left (or the one left died while loading: it is discarded and
 *    the Supervisor spawns a fresh worker, whose failure then reports the usual way).
 *  - `close()` terminates the ones never taken (the config turned out invalid, or asked for fewer).
 *    Until taken, a worker's 'error' and 'exit' are caught here: an error while loading would otherwise
 *    be an unhandled 'error' event on the main thread.
 *
 * Limits: at most LIMITS.workersMax (the config's own bound), the same count the config asks for.
 */
import { Worker } from 'node:worker_threads'

import { LIMITS } from '../config/defaults.ts'

const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url)

/** the thread name a worker of slot `id` runs under (process listings, inspector) */
export function workerName (id: number): string {
  return 'hellogate-worker-' + String(id)
}

/** a worker with WorkerData (spawned for a slot) or without (prestarted: its data comes in `init`) */
export function newWorker (id: number, workerData?: unknown): Worker {
  return new Worker(WORKER_URL, { workerData: workerData ?? null, name: workerName(id) })
}

interface Waiting {
  readonly worker: Worker
  /** died (error or exit) before it was taken */
  dead: boolean
  readonly onError: () => void
  readonly onExit: () => void
}

export class WorkerPrestart {
  #waiting: Waiting[] = []
  #started = false
  #closed = false

  /** Spawn `n` workers that wait for their data (module header); later calls do nothing. */
  start (n: number): void {
    if (this.#started || this.#closed) return
    this.#started = true
    const count = Math.max(0, Math.min(n, LIMITS.workersMax))
    for (let i = 0; i < count; i++) {
      const worker = newWorker(i)
      const w: Waiting = {
        worker,
        dead: false,
        onError: () => { w.dead = true },
        onExit: () => { w.dead = true },
      }
      worker.on('error', w.onError)
      worker.on('exit', w.onExit)
      this.#waiting.push(w)
    }
  }

  /** The next prestarted worker still alive, its early handlers removed; null when none is left. */
  take (): Worker | null {
    for (;;) {
      const w = this.#waiting.shift()
      if (w === undefined) return null
      w.worker.off('error', w.onError)
      w.worker.off('exit', w.onExit)
      if (!w.dead) return w.worker
      w.worker.terminate().catch(ignore)
    }
  }

  /** Terminate the workers never taken (resolves with their exit codes once they have stopped); no more start. */
  async close (): Promise<number[]> {
    this.#closed = true
    const left = this.#waiting
    this.#waiting = []
    return await Promise.all(left.map((w) => w.worker.terminate().catch(() => -1)))
  }
}

function ignore (): void {}
