/**
 * The main thread: builds the route state, spawns and supervises the workers, and — in the `handoff`
 * accept model — accepts connections and transfers each socket to a worker.
 *
 * Supervision: a worker that exits unexpectedly is replaced (backoff from RESPAWN_MIN_MS doubling to
 * RESPAWN_MAX_MS) while the listeners stay open. Its counter slab is handed to the replacement, so
 * cumulative counts survive; its open connections are lost with it (they lived on its event loop).
 * In handoff mode a socket is only ever posted to a worker that is up; while none is, accepted
 * sockets wait (paused, bounded by MAX_PENDING_HANDOFF), so no accepted connection is lost.
 */
import net, { type Socket } from 'node:net'
import { Worker } from 'node:worker_threads'
import type { Logger } from 'pino'
import type { HostPort, ProxyConfig } from '../config/types.ts'
import type { RouteState } from '../relay/context.ts'
import { Counter, COUNTER_SLOTS, createCounterBuffer, outcomeSlot, sumCounters } from '../metrics/counters.ts'
import { ALL_OUTCOMES, Outcome } from '../metrics/outcomes.ts'
import { ErrorCode, ErrorSource, ProxyError } from '../errors.ts'
import { buildRouteState } from './route-state.ts'
import { formatHostPort } from '../config/index.ts'
import type { MainToWorker, WorkerData, WorkerToMain } from './messages.ts'

/** First respawn delay after a crash; doubles per consecutive crash. */
export const RESPAWN_MIN_MS = 100
/** Respawn delay ceiling: a worker that crashes at start must not spin the CPU. */
export const RESPAWN_MAX_MS = 5000
/** A worker up this long resets the backoff. */
const RESPAWN_STABLE_MS = 10_000
/**
 * Sockets accepted while no worker is up (all crashed at once, or still starting). Bounded: past it,
 * new connections are closed and counted `overloaded` rather than buffered without limit.
 */
export const MAX_PENDING_HANDOFF = 4096
/** Extra time past the drain deadline before a worker that has not reported is terminated. */
const DRAIN_SLACK_MS = 2000

export interface ProxyStats {
  /** counter name → value, summed over workers and the main thread */
  counters: Record<string, number>
  /** outcome → count */
  outcomes: Record<string, number>
  /** per worker: connections open now */
  active: number[]
  /** per worker: connections accepted so far */
  accepted: number[]
  /** worker replacements so far */
  restarts: number
}

export interface ProxyHandle {
  /** bound addresses (port resolved when 0 was asked) */
  readonly addresses: readonly HostPort[]
  readonly config: ProxyConfig
  stats: () => ProxyStats
  /** swap in a new route table (same listeners and workers) */
  updateRoutes: (state: RouteState) => void
  /** test and chaos hook: make worker i throw an uncaught exception */
  crashWorker: (i: number) => void
  /** stop accepting, let open connections finish up to graceMs, then close them */
  close: (graceMs?: number) => Promise<void>
}

class WorkerSlot {
  readonly id: number
  readonly counters: SharedArrayBuffer
  readonly view: Float64Array
  worker: Worker | null = null
  up = false
  startedAt = 0
  backoffMs = RESPAWN_MIN_MS
  respawnTimer: NodeJS.Timeout | null = null
  drained = false

  constructor (id: number) {
    this.id = id
    this.counters = createCounterBuffer()
    this.view = new Float64Array(this.counters)
  }
}

const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url)

export async function startProxy (config: ProxyConfig, logger: Logger): Promise<ProxyHandle> {
  let state = buildRouteState(config)
  const handoff = config.accept === 'handoff'
  const mainCounters = new Float64Array(createCounterBuffer())
  const slots: WorkerSlot[] = []
  for (let i = 0; i < config.workers; i++) slots.push(new WorkerSlot(i))
  const pending: Socket[] = []
  let closing = false
  let restarts = 0
  let rr = 0

  // ---- listeners -------------------------------------------------------------------------------
  // handoff: the main thread owns the listeners. reuseport: the workers own them and the main thread
  // never binds (a listener here would take a share of the connections and have to drop them); port 0
  // is resolved by starting worker 0 first and giving its ports to the others.
  const servers: net.Server[] = []
  let addresses: HostPort[] = config.listen.map((a) => ({ host: a.host, port: a.port }))
  if (handoff) {
    addresses = []
    for (const addr of config.listen) {
      const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, onMainConnection)
      await listen(server, addr)
      // accept errors after listening (EMFILE/ENFILE when fds run out) must not take the process down
      server.on('error', onAcceptError)
      addresses.push({ host: addr.host, port: (server.address() as net.AddressInfo).port })
      servers.push(server)
    }
  }

  function onAcceptError (err: NodeJS.ErrnoException): void {
    logger.warn({ evt: 'accept.error', code: err.code, message: err.message }, 'accept.error')
  }

  // ---- workers ---------------------------------------------------------------------------------
  function spawn (slot: WorkerSlot): void {
    const data: WorkerData = { id: slot.id, config, state, counters: slot.counters, listen: handoff ? [] : addresses }
    const worker = new Worker(WORKER_URL, { workerData: data, name: 'hellogate-worker-' + String(slot.id) })
    slot.worker = worker
    slot.up = false
    slot.startedAt = Date.now()
    worker.on('message', (msg: WorkerToMain) => { onWorkerMessage(slot, msg) })
    worker.on('error', (err) => {
      // stop dispatching at once: 'exit' follows, and sockets posted in between would be lost
      slot.up = false
      logger.error({ evt: 'worker.error', worker: slot.id, err }, 'worker.error')
    })
    worker.on('exit', (code) => { onWorkerExit(slot, worker, code) })
  }

  const ready = new Map<number, () => void>()
  const failed = new Map<number, (e: Error) => void>()

  function onWorkerMessage (slot: WorkerSlot, msg: WorkerToMain): void {
    switch (msg.type) {
      case 'ready':
        slot.up = true
        if (!handoff && slot.id === 0) addresses = msg.addresses.map((a) => ({ host: a.host, port: a.port }))
        ready.get(slot.id)?.()
        flushPending()
        return
      case 'fatal':
        logger.error({ evt: 'worker.fatal', worker: slot.id, code: msg.code, message: msg.message }, 'worker.fatal')
        failed.get(slot.id)?.(msg.address === undefined
          ? new ProxyError(ErrorCode.WORKER_START, 'worker ' + String(slot.id) + ': ' + msg.message, { source: ErrorSource.Internal })
          // same shape as the main thread's own bind failures (handoff): code LISTEN, errno code as cause
          : new ProxyError(ErrorCode.LISTEN, 'cannot listen on ' + msg.address + ': ' + msg.code, { cause: { code: msg.code, message: msg.message }, source: ErrorSource.Internal }))
        return
      case 'drained':
        slot.drained = true
    }
  }

  function onWorkerExit (slot: WorkerSlot, worker: Worker, code: number): void {
    if (slot.worker !== worker) return
    slot.worker = null
    slot.up = false
    const starting = failed.get(slot.id)
    if (starting !== undefined) {
      // died before it was ever ready (bad build, corrupt table): fail startProxy, do not respawn in a loop
      starting(new ProxyError(ErrorCode.WORKER_START, 'worker ' + String(slot.id) + ' exited with code ' + String(code) + ' before it was ready', { source: ErrorSource.Internal }))
      return
    }
    // its connections died with its event loop: the gauge must not count them any more
    slot.view[Counter.ConnActive] = 0
    if (closing) return
    restarts++
    if (Date.now() - slot.startedAt > RESPAWN_STABLE_MS) slot.backoffMs = RESPAWN_MIN_MS
    const delay = slot.backoffMs
    slot.backoffMs = Math.min(RESPAWN_MAX_MS, slot.backoffMs * 2)
    logger.warn({ evt: 'worker.exit', worker: slot.id, code, respawnInMs: delay }, 'worker.exit')
    slot.respawnTimer = setTimeout(() => {
      slot.respawnTimer = null
      if (closing) return
      logger.info({ evt: 'worker.restart', worker: slot.id }, 'worker.restart')
      spawn(slot)
    }, delay)
  }

  // ---- handoff dispatch ------------------------------------------------------------------------
  function pickWorker (): WorkerSlot | null {
    const n = slots.length
    if (config.balance === 'roundrobin') {
      for (let k = 0; k < n; k++) {
        const slot = slots[(rr + k) % n]!
        if (slot.up) { rr = (rr + k + 1) % n; return slot }
      }
      return null
    }
    // leastconn: read each worker's live gauge straight from shared memory; ties rotate
    let best: WorkerSlot | null = null
    let bestActive = Infinity
    for (let k = 0; k < n; k++) {
      const slot = slots[(rr + k) % n]!
      if (!slot.up) continue
      const active = slot.view[Counter.ConnActive]!
      if (active < bestActive) { best = slot; bestActive = active }
    }
    rr = (rr + 1) % n
    return best
  }

  const Dispatch = { Sent: 0, NoWorker: 1, Failed: 2 } as const
  type Dispatch = typeof Dispatch[keyof typeof Dispatch]

  function dispatch (socket: Socket): Dispatch {
    const slot = pickWorker()
    if (slot === null || slot.worker === null) return Dispatch.NoWorker
    try {
      slot.worker.postMessage({ type: 'conn', socket } satisfies MainToWorker, [socket as never])
      return Dispatch.Sent
    } catch (err) {
      // the socket itself cannot be moved (e.g. ERR_WORKER_HANDLE_NOT_TRANSFERABLE): retrying cannot help
      logger.warn({ evt: 'handoff.error', worker: slot.id, err }, 'handoff.error')
      return Dispatch.Failed
    }
  }

  function refuse (socket: Socket): void {
    mainCounters[Counter.ConnAccepted]!++
    mainCounters[outcomeSlot(Outcome.Overloaded)]!++
    socket.destroy()
  }

  function onMainConnection (socket: Socket): void {
    if (closing) { socket.destroy(); return }
    if (pending.length > 0) flushPending()
    if (pending.length === 0) {
      const result = dispatch(socket)
      if (result === Dispatch.Sent) return
      if (result === Dispatch.Failed) { refuse(socket); return }
    }
    if (pending.length >= MAX_PENDING_HANDOFF || socket.destroyed) { refuse(socket); return }
    socket.on('error', ignore)
    pending.push(socket)
  }

  /** Send queued sockets, oldest first, while a worker is up. */
  function flushPending (): void {
    while (pending.length > 0) {
      const socket = pending[0]!
      if (socket.destroyed) { pending.shift(); continue }
      socket.removeListener('error', ignore)
      const result = dispatch(socket)
      if (result === Dispatch.NoWorker) { socket.on('error', ignore); return }
      pending.shift()
      if (result === Dispatch.Failed) refuse(socket)
    }
  }

  // ---- start -----------------------------------------------------------------------------------
  function start (slot: WorkerSlot): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      ready.set(slot.id, resolve)
      failed.set(slot.id, reject)
      spawn(slot)
    })
  }
  try {
    const resolvePorts = !handoff && addresses.some((a) => a.port === 0)
    if (resolvePorts) await start(slots[0]!)
    await Promise.all(slots.slice(resolvePorts ? 1 : 0).map(start))
  } catch (err) {
    closing = true
    for (const slot of slots) await slot.worker?.terminate()
    for (const server of servers) server.close()
    throw err
  } finally {
    ready.clear()
    failed.clear()
  }
  logger.info({
    evt: 'listening',
    addresses: addresses.map((a) => formatHostPort(a)),
    workers: config.workers,
    accept: config.accept,
    routes: config.routes.length,
    default: config.default === null ? 'reject' : config.upstreams[config.default]!.name,
  }, 'listening')

  // ---- handle ----------------------------------------------------------------------------------
  function stats (): ProxyStats {
    const views = [mainCounters, ...slots.map((s) => s.view)]
    const counters = sumCounters(views)
    const outcomes: Record<string, number> = {}
    for (const o of ALL_OUTCOMES) outcomes[o] = counters['outcome_' + o] ?? 0
    return {
      counters,
      outcomes,
      active: slots.map((s) => s.view[Counter.ConnActive] ?? 0),
      accepted: slots.map((s) => s.view[Counter.ConnAccepted] ?? 0),
      restarts,
    }
  }

  function updateRoutes (next: RouteState): void {
    state = next
    for (const slot of slots) slot.worker?.postMessage({ type: 'routes', state: next } satisfies MainToWorker)
  }

  function crashWorker (i: number): void {
    slots[i]?.worker?.postMessage({ type: 'crash' } satisfies MainToWorker)
  }

  let closed: Promise<void> | null = null
  function close (graceMs = config.timeouts.shutdownMs): Promise<void> {
    closed ??= (async () => {
      closing = true
      logger.info({ evt: 'shutdown.begin', graceMs }, 'shutdown.begin')
      // queued handoff sockets count as the server's connections: close them first or close() waits forever
      for (const socket of pending) socket.destroy()
      pending.length = 0
      for (const slot of slots) {
        if (slot.respawnTimer !== null) { clearTimeout(slot.respawnTimer); slot.respawnTimer = null }
      }
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => { s.close(() => { resolve() }) })))
      await Promise.all(slots.map((slot) => drainWorker(slot, graceMs)))
      logger.info({ evt: 'shutdown.done', outcomes: stats().outcomes }, 'shutdown.done')
    })()
    return closed
  }

  return { addresses, config, stats, updateRoutes, crashWorker, close }
}

async function drainWorker (slot: WorkerSlot, graceMs: number): Promise<void> {
  const worker = slot.worker
  if (worker === null) return
  const exited = new Promise<void>((resolve) => { worker.once('exit', () => { resolve() }) })
  worker.postMessage({ type: 'drain', graceMs } satisfies MainToWorker)
  const deadline = setTimeout(() => { worker.terminate().catch(ignore) }, graceMs + DRAIN_SLACK_MS)
  const poll = setInterval(() => { if (slot.drained) worker.terminate().catch(ignore) }, 20)
  await exited
  clearTimeout(deadline)
  clearInterval(poll)
}

function listen (server: net.Server, addr: HostPort): Promise<void> {
  return new Promise((resolve, reject) => {
    function onError (err: NodeJS.ErrnoException): void {
      reject(new ProxyError(ErrorCode.LISTEN, 'cannot listen on ' + formatHostPort(addr) + ': ' + (err.code ?? err.message), { cause: err, source: ErrorSource.Internal }))
    }
    server.once('error', onError)
    server.listen({ host: addr.host, port: addr.port, backlog: 4096 }, () => {
      server.removeListener('error', onError)
      resolve()
    })
  })
}

function ignore (): void {}

export { COUNTER_SLOTS }
