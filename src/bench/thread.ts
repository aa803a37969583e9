/**
 * One load thread of `hellogate bench --threads N` (threads.ts starts it): runs a LoadRun on the spec
 * in workerData, reports its counters every PROGRESS_MS, stops on `{ type: 'stop' }`, and posts
 * everything it measured when the run is done (sample arrays transferred), then lets the thread end.
 */
import { parentPort, workerData } from 'node:worker_threads'

import { startLoad } from './load.ts'
import type { LoadSpec } from './load.ts'
import { PROGRESS_MS } from './threads.ts'
import type { ThreadMessage } from './threads.ts'

const port = parentPort
if (port === null) throw new Error('bench/thread.ts runs as a worker thread (threads.ts starts it)')

const run = startLoad(workerData as LoadSpec)
const progress = setInterval(() => { port.postMessage({ type: 'progress', counters: { ...run.counters } } satisfies ThreadMessage) }, PROGRESS_MS)
port.on('message', (m: { type?: unknown }) => { if (m.type === 'stop') run.stop() })

await run.done
clearInterval(progress)
const h = run.handshake.points()
const l = run.latency.points()
// copies of the views (the sample buffers are larger than what they hold), then transferred, not cloned
const arrays = [new Float64Array(h.at), new Float64Array(h.values), new Float64Array(l.at), new Float64Array(l.values)] as const
const message: ThreadMessage = {
  type: 'done',
  counters: { ...run.counters },
  elapsedMs: run.elapsedMs,
  unclosed: run.unclosed,
  handshake: { at: arrays[0], values: arrays[1], count: run.handshake.count },
  latency: { at: arrays[2], values: arrays[3], count: run.latency.count },
  errors: [...run.errorsByCode],
  statuses: [...run.statuses],
  opsPerSecond: run.opsPerSecond,
  bytesPerSecond: run.bytesPerSecond,
}
port.postMessage(message, arrays.map((a) => a.buffer))
port.close()
