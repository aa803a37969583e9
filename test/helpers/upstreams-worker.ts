/**
 * Worker thread for test/unit/upstreams/threads.test.ts: receives a ServerTable (shared memory) and
 * does what the test asks, as a relay worker would: pick servers, or hold connections in the gauges.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { acquireServer, pickServer, releaseServer, type ServerTable } from '../../src/upstreams/index.ts'

interface Job { table: ServerTable, op: 'pick' | 'hold', count: number, start: Int32Array, out: Int32Array, offset: number, server: number }
const job = workerData as Job

// start together with the other workers, so their picks interleave on the shared cursor:
// start[1] counts the workers ready, start[0] turns 1 when the test lets them go
Atomics.add(job.start, 1, 1)
Atomics.wait(job.start, 0, 0)
if (job.op === 'pick') {
  for (let i = 0; i < job.count; i++) job.out[job.offset + i] = pickServer(job.table, 0, 0, 0)
  parentPort!.postMessage('done')
} else {
  for (let i = 0; i < job.count; i++) acquireServer(job.table, job.server)
  parentPort!.postMessage('held')
  parentPort!.once('message', () => {
    for (let i = 0; i < job.count; i++) releaseServer(job.table, job.server)
    parentPort!.postMessage('released')
  })
}
