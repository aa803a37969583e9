/**
 * The `handoff` accept model's main-thread side: listeners with `pauseOnConnect`, and a dispatcher
 * that transfers each accepted socket to a worker that is up (`postMessage({ type: 'conn', socket },
 * [socket])`, no reply expected), chosen by `balance`.
 *
 * While no worker is up (all crashed at once, or still starting), accepted sockets wait in a FIFO queue,
 * paused, bounded by MAX_PENDING_HANDOFF; they are sent oldest first as soon as a worker is ready, so no
 * accepted connection is lost to a restart. Past the bound, or when a socket cannot be moved at all, the
 * connection is closed and counted `overloaded` in the main thread's own counter slab. The queue's length
 * now and its high-water mark since start are in ProxyStats (`pending`, `pendingMax`).
 */
import net, { type Socket } from 'node:net'
import type { Logger } from 'pino'
import type { Balance, HostPort } from '../config/types.ts'
import { Counter, outcomeSlot } from '../metrics/counters.ts'
import { Outcome } from '../metrics/outcomes.ts'
import { LogEvent } from '../log/index.ts'
import { boundAddress, closeServers, listenOn } from './listen.ts'
import type { MainToWorker } from './messages.ts'
import type { WorkerSlot } from './supervisor.ts'

/**
 * Sockets accepted while no worker is up (all crashed at once, or still starting). Bounded: past it,
 * new connections are closed and counted `overloaded` rather than buffered without limit.
 */
export const MAX_PENDING_HANDOFF = 4096

const Dispatch = { Sent: 0, NoWorker: 1, Failed: 2 } as const

/** set on sockets accepted by an `http:` listener, so that the worker reads a request head instead of a hello */
const kHttp = Symbol('hellogate.http')
type HttpMarked = Socket & { [kHttp]?: true }
type Dispatch = typeof Dispatch[keyof typeof Dispatch]

export class HandoffDispatcher {
  /** accepted sockets waiting for a worker, oldest first */
  readonly pending: Socket[] = []
  /** most sockets ever waiting at once */
  pendingMax = 0
  /** shutting down: accepted sockets are closed */
  closing = false
  private readonly slots: readonly WorkerSlot[]
  private readonly balance: Balance
  /** the main thread's counter slab (accepts it refuses itself) */
  private readonly counters: Float64Array
  private readonly logger: Logger
  /** rotation start for the next pick */
  private rr = 0

  constructor (slots: readonly WorkerSlot[], balance: Balance, counters: Float64Array, logger: Logger) {
    this.slots = slots
    this.balance = balance
    this.counters = counters
    this.logger = logger
  }

  /** The plain-HTTP (`http:`) listeners' 'connection' handler: marks the socket, then as onConnection. */
  readonly onHttpConnection = (socket: Socket): void => {
    (socket as HttpMarked)[kHttp] = true
    this.onConnection(socket)
  }

  /** The listeners' 'connection' handler (bound once). */
  readonly onConnection = (socket: Socket): void => {
    if (this.closing) { socket.destroy(); return }
    const pending = this.pending
    if (pending.length > 0) this.flush()
    if (pending.length === 0) {
      const result = this.dispatch(socket)
      if (result === Dispatch.Sent) return
      if (result === Dispatch.Failed) { this.refuse(socket); return }
    }
    if (pending.length >= MAX_PENDING_HANDOFF || socket.destroyed) { this.refuse(socket); return }
    socket.on('error', ignore)
    pending.push(socket)
    if (pending.length > this.pendingMax) this.pendingMax = pending.length
  }

  /** Send queued sockets, oldest first, while a worker is up. */
  flush (): void {
    const pending = this.pending
    while (pending.length > 0) {
      const socket = pending[0]!
      if (socket.destroyed) { pending.shift(); continue }
      socket.removeListener('error', ignore)
      const result = this.dispatch(socket)
      if (result === Dispatch.NoWorker) { socket.on('error', ignore); return }
      pending.shift()
      if (result === Dispatch.Failed) this.refuse(socket)
    }
  }

  /** Shutdown: close the queued sockets (a server's close() waits for them otherwise) and refuse new ones. */
  close (): void {
    this.closing = true
    for (const socket of this.pending) socket.destroy()
    this.pending.length = 0
  }

  private pickWorker (): WorkerSlot | null {
    const slots = this.slots
    const n = slots.length
    if (this.balance === 'roundrobin') {
      for (let k = 0; k < n; k++) {
        const slot = slots[(this.rr + k) % n]!
        if (slot.up) { this.rr = (this.rr + k + 1) % n; return slot }
      }
      return null
    }
    // leastconn: read each worker's live gauge straight from shared memory; ties rotate
    let best: WorkerSlot | null = null
    let bestActive = Infinity
    for (let k = 0; k < n; k++) {
      const slot = slots[(this.rr + k) % n]!
      if (!slot.up) continue
      const active = slot.view[Counter.ConnActive]!
      if (active < bestActive) { best = slot; bestActive = active }
    }
    this.rr = (this.rr + 1) % n
    return best
  }

  private dispatch (socket: Socket): Dispatch {
    const slot = this.pickWorker()
    if (slot === null || slot.worker === null) return Dispatch.NoWorker
    try {
      const listener = (socket as Partial<TaggedSocket>)[kListener] ?? 0
      const msg: MainToWorker = (socket as HttpMarked)[kHttp] === true ? { type: 'conn', socket, listener, http: true } : { type: 'conn', socket, listener }
      slot.worker.postMessage(msg, [socket as never])
      return Dispatch.Sent
    } catch (err) {
      // the socket itself cannot be moved (e.g. ERR_WORKER_HANDLE_NOT_TRANSFERABLE): retrying cannot help
      this.logger.warn({ evt: LogEvent.HandoffError, worker: slot.id, err }, LogEvent.HandoffError)
      return Dispatch.Failed
    }
  }

  private refuse (socket: Socket): void {
    const counters = this.counters
    counters[Counter.ConnAccepted]!++
    counters[outcomeSlot(Outcome.Overloaded)]!++
    socket.destroy()
  }
}

/**
 * Bind the main thread's listeners, each sending its connections to `onConnection`. If one cannot bind,
 * those already bound are closed and the LISTEN error is thrown.
 */
export async function openHandoffListeners (listen: readonly HostPort[], onConnection: (socket: Socket) => void, logger: Logger): Promise<{ servers: net.Server[], addresses: HostPort[] }> {
  const servers: net.Server[] = []
  const addresses: HostPort[] = []
  function onAcceptError (err: NodeJS.ErrnoException): void {
    logger.warn({ evt: LogEvent.AcceptError, code: err.code, message: err.message }, LogEvent.AcceptError)
  }
  try {
    for (const [i, addr] of listen.entries()) {
      // the worker applies this listen address's PROXY policy (relay/proxy-in.ts): tag the socket with it
      const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true },
        i === 0 ? onConnection : (socket: Socket) => { (socket as TaggedSocket)[kListener] = i; onConnection(socket) })
      servers.push(server)
      await listenOn(server, addr, false)
      // accept errors after listening (EMFILE/ENFILE when fds run out) must not take the process down
      server.on('error', onAcceptError)
      addresses.push(boundAddress(server, addr))
    }
  } catch (err) {
    await closeServers(servers.filter((s) => s.listening))
    throw err
  }
  return { servers, addresses }
}

function ignore (): void {}

/** Index of the listen address that accepted a socket, when it is not the first (read by `dispatch`). */
const kListener = Symbol('hellogate.listener')
interface TaggedSocket extends Socket { [kListener]: number }
