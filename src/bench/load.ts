/**
 * The load loops of `hellogate bench`, on node:tls only: `concurrency` slots, each owning at most one
 * TLS socket at a time.
 *
 *  - newconn: connect → full handshake (no session is ever offered, so no resumption) → `GET PATH`
 *    with `Connection: close` → read the whole response → close → next connection. One operation =
 *    one connection; its latency runs from connect() to the last response byte. With
 *    `handshakeOnly` the operation ends at the handshake.
 *  - keepalive: one connection per slot, requests one after another on it (no pipelining); a closed
 *    connection (error, `Connection: close`, origin idle timeout) is replaced. One operation = one
 *    response; its latency runs from the request write to the last response byte.
 *  - bulk: keepalive's loop; what counts is the response bytes per second.
 * Every handshake's time (connect() → secureConnect) is a sample in `handshake`; SNI names rotate
 * over the slots' connections. An HTTP status ≥ 400, a malformed response, a socket or TLS error, a
 * timeout or an early close is an error, counted by code (`ECONNREFUSED`, `HTTP_503`,
 * `ERR_SSL_TLSV1_UNRECOGNIZED_NAME`, `TIMEOUT`, ...); the slot waits ERROR_BACKOFF_MS and reconnects.
 *
 * Contract: `startLoad(spec)` starts at once and returns a `LoadRun`; `done` resolves after
 * `durationMs` (or `stop()`), when every socket has been destroyed. Operations still in flight at the
 * deadline are dropped, neither completed nor errors, so the rates cover exactly `durationMs`.
 *
 * Limits: one socket per slot; SOCKET_TIMEOUT_MS per connection of inactivity; response bodies are
 * counted, never stored (http1.ts). Socket handlers are module-level functions that find their slot
 * through `socket[kSlot]`: no closures per connection or per chunk, so the generator stays cheap
 * next to what it measures.
 */
import { performance } from 'node:perf_hooks'
import tls from 'node:tls'

import type { BenchMode } from './options.ts'
import { describeReadStatus, ReadStatus, ResponseReader } from './http1.ts'
import { Samples } from './stats.ts'

/** inactivity bound per connection: a stalled handshake or response must not hold a slot forever */
export const SOCKET_TIMEOUT_MS = 10_000
/** pause before a slot reconnects after an error: a refused target must not become a busy loop */
export const ERROR_BACKOFF_MS = 50
/** after stop(), `done` resolves at the latest this much later even if a socket never reports closed */
export const STOP_GRACE_MS = 2_000

export interface LoadSpec {
  /** address to connect to (resolved once by the caller, so DNS is not part of the measurement) */
  host: string
  port: number
  sni: readonly string[]
  mode: BenchMode
  durationMs: number
  concurrency: number
  path: string
  handshakeOnly: boolean
  /** PEM CAs: verify the certificate (and the name); null: no verification */
  ca: string | null
  /** first SNI name this run uses (load threads start at different names); default 0 */
  sniOffset?: number
}

/** What the progress line and the report read from a run, in one thread (LoadRun) or several (threads.ts). */
export interface LoadView {
  readonly spec: LoadSpec
  readonly counters: LoadCounters
  readonly handshake: Samples
  readonly latency: Samples
  readonly errorsByCode: Map<string, number>
  readonly statuses: Map<number, number>
  readonly opsPerSecond: number[]
  readonly bytesPerSecond: number[]
  readonly elapsedMs: number
  readonly unclosed: number
  readonly done: Promise<void>
  now: () => number
  stop: () => void
}

export interface LoadCounters {
  /** operations completed (connections in newconn, responses otherwise) */
  completed: number
  /** handshakes completed */
  handshakes: number
  errors: number
  /** TLS plaintext bytes received (response headers and bodies) */
  bytesIn: number
  bytesOut: number
  /** sockets open now */
  open: number
}

const kSlot = Symbol('hellogate.bench.slot')
type SlotSocket = tls.TLSSocket & { [kSlot]: Slot }

/** What a run measures: one thread's run, or the merged view of several (threads.ts). */
export class Measurements {
  readonly handshake = new Samples()
  /** per-operation latency (see the module header for where it starts) */
  readonly latency = new Samples()
  readonly errorsByCode = new Map<string, number>()
  readonly statuses = new Map<number, number>()
  /** operations completed in each second */
  readonly opsPerSecond: number[]
  /** bytes received in each second */
  readonly bytesPerSecond: number[]

  constructor (durationMs: number) {
    const seconds = Math.max(1, Math.ceil(durationMs / 1000))
    this.opsPerSecond = new Array<number>(seconds).fill(0)
    this.bytesPerSecond = new Array<number>(seconds).fill(0)
  }
}

export class LoadRun extends Measurements implements LoadView {
  readonly counters: LoadCounters = { completed: 0, handshakes: 0, errors: 0, bytesIn: 0, bytesOut: 0, open: 0 }
  readonly startedAt: number
  readonly done: Promise<void>
  stopped = false
  /** elapsed ms when the run stopped (durationMs unless stopped early) */
  elapsedMs = 0
  readonly spec: LoadSpec
  /** one prebuilt request per SNI name */
  readonly requests: Buffer[]
  private readonly slots: Slot[] = []
  private sniNext = 0
  private readonly timer: NodeJS.Timeout
  private resolveDone!: () => void
  private openSlots = 0

  constructor (spec: LoadSpec) {
    super(spec.durationMs)
    this.spec = spec
    const connection = spec.mode === 'newconn' ? 'close' : 'keep-alive'
    this.requests = spec.sni.map((name) => Buffer.from(`GET ${spec.path} HTTP/1.1\r\nHost: ${name}\r\nUser-Agent: hellogate-bench\r\nAccept: */*\r\nConnection: ${connection}\r\n\r\n`, 'latin1'))
    this.done = new Promise((resolve) => { this.resolveDone = resolve })
    this.sniNext = (spec.sniOffset ?? 0) % spec.sni.length
    this.startedAt = performance.now()
    this.timer = setTimeout(stopRun, spec.durationMs, this)
    for (let i = 0; i < spec.concurrency; i++) {
      const slot = new Slot(this)
      this.slots.push(slot)
      this.openSlots++
      slot.connect()
    }
  }

  /** ms since the start */
  now (): number { return performance.now() - this.startedAt }

  nextSni (): number {
    const i = this.sniNext
    this.sniNext = (i + 1) % this.spec.sni.length
    return i
  }

  /** index of the second `t` falls in, clamped to the run */
  second (t: number): number {
    return Math.min(this.opsPerSecond.length - 1, Math.max(0, Math.floor(t / 1000)))
  }

  error (code: string): void {
    this.counters.errors++
    this.errorsByCode.set(code, (this.errorsByCode.get(code) ?? 0) + 1)
  }

  /**
   * Stop now: drop what is in flight, destroy every socket; `done` resolves once they are all gone,
   * or after STOP_GRACE_MS with `unclosed` saying how many slots never reported their socket closed.
   */
  stop (): void {
    if (this.stopped) return
    this.stopped = true
    this.elapsedMs = Math.min(this.now(), this.spec.durationMs)
    clearTimeout(this.timer)
    for (const slot of this.slots) slot.halt()
    if (this.openSlots > 0) setTimeout(resolveLate, STOP_GRACE_MS, this).unref()
  }

  /** slots whose socket had not reported closed when `done` resolved (0 normally) */
  get unclosed (): number { return this.openSlots }

  slotEnded (): void {
    if (--this.openSlots === 0) this.resolveDone()
  }

  /** STOP_GRACE_MS after stop(): resolve whatever is still open */
  resolveLate (): void { this.resolveDone() }
}

function stopRun (run: LoadRun): void { run.stop() }
function resolveLate (run: LoadRun): void { run.resolveLate() }

const PHASE_IDLE = 0
const PHASE_HANDSHAKE = 1
const PHASE_REQUEST = 2
/** the operation ended and the socket is being closed on purpose */
const PHASE_CLOSING = 3

class Slot {
  socket: SlotSocket | null = null
  phase = PHASE_IDLE
  readonly reader = new ResponseReader()
  connectAt = 0
  requestAt = 0
  sni = 0
  /** the last connection ended in an error: back off before the next */
  failed = false
  retryTimer: NodeJS.Timeout | null = null
  ended = false
  readonly run: LoadRun

  constructor (run: LoadRun) { this.run = run }

  connect (): void {
    this.retryTimer = null
    const run = this.run
    if (run.stopped) { this.end(); return }
    const spec = run.spec
    this.sni = run.nextSni()
    this.failed = false
    this.phase = PHASE_HANDSHAKE
    this.connectAt = run.now()
    const socket = tls.connect({
      host: spec.host,
      port: spec.port,
      servername: spec.sni[this.sni],
      ALPNProtocols: spec.handshakeOnly ? undefined : ['http/1.1'],
      rejectUnauthorized: spec.ca !== null,
      ...(spec.ca === null ? {} : { ca: spec.ca }),
    }) as SlotSocket
    socket[kSlot] = this
    this.socket = socket
    run.counters.open++
    socket.setNoDelay(true)
    socket.setTimeout(SOCKET_TIMEOUT_MS)
    socket.on('secureConnect', onSecureConnect)
    socket.on('data', onData)
    socket.on('error', onError)
    socket.on('timeout', onTimeout)
    socket.on('close', onClose)
  }

  request (): void {
    const run = this.run
    const req = run.requests[this.sni]!
    this.phase = PHASE_REQUEST
    this.reader.reset(false)
    this.requestAt = run.now()
    run.counters.bytesOut += req.length
    this.socket!.write(req)
  }

  /** An operation completed at `t` (ms since start). */
  complete (t: number, latency: number): void {
    const run = this.run
    run.counters.completed++
    run.opsPerSecond[run.second(t)]!++
    run.latency.add(t, latency)
  }

  /** The current connection failed: count it once, close it; onClose reconnects after a pause. */
  fail (code: string): void {
    if (this.phase === PHASE_CLOSING || this.run.stopped) return
    this.run.error(code)
    this.failed = true
    this.phase = PHASE_CLOSING
    this.socket?.destroy()
  }

  /** Close on purpose (operation done, or the origin asked to close); onClose reconnects at once. */
  finish (): void {
    this.phase = PHASE_CLOSING
    this.socket?.destroy()
  }

  /** the run stopped */
  halt (): void {
    if (this.retryTimer !== null) { clearTimeout(this.retryTimer); this.retryTimer = null; this.end(); return }
    if (this.socket === null) { this.end(); return }
    this.phase = PHASE_CLOSING
    this.socket.destroy()
  }

  end (): void {
    if (this.ended) return
    this.ended = true
    this.run.slotEnded()
  }
}

function onSecureConnect (this: SlotSocket): void {
  const slot = this[kSlot]
  const run = slot.run
  if (run.stopped) return
  const t = run.now()
  run.counters.handshakes++
  run.handshake.add(t, t - slot.connectAt)
  if (run.spec.handshakeOnly) {
    slot.complete(t, t - slot.connectAt)
    slot.finish()
    return
  }
  slot.request()
}

function onData (this: SlotSocket, chunk: Buffer): void {
  const slot = this[kSlot]
  const run = slot.run
  if (run.stopped || slot.phase !== PHASE_REQUEST) return
  const t = run.now()
  run.counters.bytesIn += chunk.length
  run.bytesPerSecond[run.second(t)]! += chunk.length
  const r = slot.reader.feed(chunk, 0, chunk.length)
  if (r === ReadStatus.More) return
  if (r < 0) { slot.fail(describeReadStatus(r)); return }
  // one request at a time: bytes past the end of the response mean the framing was misread
  if (r < chunk.length) { slot.fail('HTTP_EXTRA_BYTES'); return }
  responseDone(slot, t)
}

function responseDone (slot: Slot, t: number): void {
  const run = slot.run
  const status = slot.reader.status
  run.statuses.set(status, (run.statuses.get(status) ?? 0) + 1)
  if (status >= 400) { slot.fail(`HTTP_${status}`); return }
  if (run.spec.mode === 'newconn') {
    slot.complete(t, t - slot.connectAt)
    slot.finish()
    return
  }
  slot.complete(t, t - slot.requestAt)
  if (slot.reader.close) slot.finish()
  else slot.request()
}

function onError (this: SlotSocket, err: NodeJS.ErrnoException): void {
  this[kSlot].fail(err.code ?? 'ERROR')
}

function onTimeout (this: SlotSocket): void {
  this[kSlot].fail('TIMEOUT')
}

function onClose (this: SlotSocket): void {
  const slot = this[kSlot]
  const run = slot.run
  run.counters.open--
  if (slot.socket !== this) return
  slot.socket = null
  if (!run.stopped && slot.phase === PHASE_REQUEST && slot.reader.eof()) {
    // a body delimited by the connection's close (no Content-Length, not chunked)
    responseDone(slot, run.now())
    slot.phase = PHASE_CLOSING
  } else if (slot.phase === PHASE_HANDSHAKE) {
    slot.fail('CLOSED_IN_HANDSHAKE')
  } else if (slot.phase === PHASE_REQUEST) {
    slot.fail('CLOSED_EARLY')
  }
  slot.phase = PHASE_IDLE
  if (run.stopped) { slot.end(); return }
  if (slot.failed) slot.retryTimer = setTimeout(reconnect, ERROR_BACKOFF_MS, slot)
  else setImmediate(reconnect, slot)
}

function reconnect (slot: Slot): void {
  if (slot.run.stopped) { slot.end(); return }
  slot.connect()
}

/** Start the load; see the module header. */
export function startLoad (spec: LoadSpec): LoadRun {
  return new LoadRun(spec)
}
