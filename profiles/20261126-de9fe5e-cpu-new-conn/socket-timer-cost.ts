/**
 * What proposal.patch removes, measured in isolation: the cost of arming and clearing a socket idle
 * timer (`socket.setTimeout(ms, cb)` … destroy), and of the refresh Node does on every read and
 * write of a socket that has one (`_unrefTimer`). The end-to-end A/B of the patch is below the
 * noise of this 2-core machine (NOTES.md), so this is the precise figure for the saving.
 *
 * Usage: `node profiles/20261126-de9fe5e-cpu-new-conn/socket-timer-cost.ts`
 *
 * Contract: one connected loopback socket pair is made once; each task works on the client side.
 * - `arm+clear`: `setTimeout(IDLE_MS, onIdle)` then `setTimeout(0, onIdle)` — what a connection pays
 *   for one idle timer: a bound `_onTimeout`, a Timeout in the unref list, a `once('timeout')` wrapper
 *   and listener, and their removal (destroy does `clearTimeout`; the listener dies with the socket).
 * - `refresh (timer armed)`: `_unrefTimer()` with a timer armed, i.e. what every read, write and
 *   write completion costs per socket with a timer (node:net `_unrefTimer` → `Timeout.refresh`).
 * - `refresh (no timer)`: the same call on a socket without one (the origin socket after the patch).
 * Each task asserts its effect (timer present/absent) so nothing is optimised away.
 *
 * Limits: a microbenchmark: no I/O, warm JIT, no GC pressure from the rest of a connection.
 */
import net from 'node:net'
import { Bench } from 'tinybench'

/** hellogate's default idle timeout (config/defaults.ts `idleMs`), so the timer lands in the same list. */
const IDLE_MS = 300_000
/** Calls per timed sample: one call is far below the timer's grain. */
const BATCH = 1_000

function onIdle (): void {}

const server = net.createServer()
await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
const port = (server.address() as net.AddressInfo).port
const peer = new Promise<net.Socket>((resolve) => { server.once('connection', resolve) })
const client = net.connect({ host: '127.0.0.1', port })
await new Promise<void>((resolve) => { client.once('connect', resolve) })
const other = await peer

const kTimeout = Object.getOwnPropertySymbols(client).find((s) => s.description === 'timeout')
if (kTimeout === undefined) throw new Error('node:net internals changed: no Symbol(timeout) on the socket')
const hasTimer = (s: net.Socket): boolean => (s as unknown as Record<symbol, { _destroyed?: boolean } | null>)[kTimeout]?._destroyed === false
const unrefTimer = (client as unknown as { _unrefTimer: () => void })._unrefTimer.bind(client)

const bench = new Bench({ time: 1_000, warmupTime: 250 })
bench.add('arm+clear', () => {
  for (let i = 0; i < BATCH; i++) {
    client.setTimeout(IDLE_MS, onIdle)
    client.setTimeout(0, onIdle)
  }
  if (hasTimer(client) || client.listenerCount('timeout') !== 0) throw new Error('timer or listener left behind')
})
bench.add('refresh (timer armed)', () => {
  for (let i = 0; i < BATCH; i++) unrefTimer()
  if (!hasTimer(client)) throw new Error('no timer armed')
}, {
  beforeAll: () => { client.setTimeout(IDLE_MS, onIdle) },
  afterAll: () => { client.setTimeout(0, onIdle) },
})
bench.add('refresh (no timer)', () => {
  for (let i = 0; i < BATCH; i++) unrefTimer()
  if (hasTimer(client)) throw new Error('timer armed')
})
await bench.run()

console.log(`node ${process.version}; ns per call (mean of ${String(BATCH)}-call samples, ±rme)`)
for (const t of bench.tasks) {
  const r = t.result
  if (r === undefined || !('latency' in r)) throw new Error(`${t.name}: no result`)
  console.log(`${t.name.padEnd(24)} ${(r.latency.mean * 1e6 / BATCH).toFixed(1).padStart(8)} ns  ±${r.latency.rme.toFixed(1)}%  (${String(r.latency.samplesCount)} samples)`)
}
client.destroy()
other.destroy()
server.close()
