/**
 * The bidirectional relay (inetaf/tcpproxy), from the moment the origin is connected (connect.ts):
 * write the prefix if any, replay the hello bytes exactly as received (the assembler's `received()`,
 * early data included), then copy both ways with backpressure and half-close.
 *
 * - Backpressure: a `write()` that returns false pauses the other socket until 'drain' — memory per
 *   connection stays bounded by the two sockets' highWaterMarks whatever the peers do.
 * - Half-close: both sockets are `allowHalfOpen`; a FIN from one side becomes `end()` on the other,
 *   and the reverse direction keeps flowing (nginx and sniproxy lose data here by default).
 * - Errors: every socket has an 'error' listener; an error or reset on one side destroys the other.
 * - Idle: no timer per connection. Each relayed chunk stamps the session (`lastActive`, a number
 *   store) with the worker's coarse clock, and one sweep per worker (`setInterval`, IDLE_TICK_MAX_MS
 *   or idle/8, whichever is shorter; running only while the worker has sessions) closes sessions whose
 *   last chunk is older than the idle timeout. A socket timer (`socket.setTimeout`) cost a Timeout per
 *   connection and a re-insert into the timer list on every read and every write of that socket
 *   (profiles/20261204-ab-idle-sweep). A session closes after between `idle` and `idle` + 2 ticks of
 *   silence; it covers the origin leg alone too, once the client has closed first.
 * - Below JavaScript: once the hello is written and Node holds no bytes of the connection, the data
 *   phase moves to the native splice(2) relay where it loaded (splice.ts); the rules above hold there too.
 * - Counting: bytes go into the worker's shared counters per chunk as they are written on (a Float64Array
 *   add), so a long transfer shows in the metrics while it runs; the session keeps its own totals for
 *   the access log.
 */
import { performance } from 'node:perf_hooks'
import { Counter } from '../metrics/counters.ts'
import { Outcome } from '../metrics/outcomes.ts'
import type { RelayContext } from './context.ts'
import { clientGone, kSession, SessionState, setOutcome, type Session, type SessionSocket } from './session.ts'
import { attachOrigin, destroyClient, clientFinRead, errnoName, spliceDue, splicedSinceLastLook, stopSplice, trySplice } from './splice.ts'

/** Coarsest idle sweep: an idle timeout is minutes in production; a second of slack is invisible there. */
export const IDLE_TICK_MAX_MS = 1000
/** Ticks per idle period for short timeouts (tests, 1 s minimum): closes within idle × (1 + 2/8). */
const IDLE_TICKS_PER_PERIOD = 8

/**
 * The bytes to replay, counted as relayed up: the ClientHello (or a plain-HTTP request head) and anything
 * that came with it, byte for byte, as received. The session lets go of them.
 */
function takeReplay (s: Session): Uint8Array {
  const hello = s.head ?? s.assembler!.received()
  s.assembler = null
  s.head = null
  s.bytesUp += hello.length
  s.ctx.counters[Counter.BytesUp]! += hello.length
  return hello
}

/** The client bytes held during the connect (holdEarly), counted as relayed up; the session lets go of them. */
function takeEarly (s: Session): Buffer | null {
  const early = s.early
  if (early === null) return null
  s.early = null
  s.bytesUp += early.length
  s.ctx.counters[Counter.BytesUp]! += early.length
  return early
}

/** The origin is connected and the session is Relaying: replay the hello and start copying. */
export function startRelay (s: Session, origin: SessionSocket): void {
  const client = s.client
  const hello = takeReplay(s)
  let helloFlushed: boolean
  const prefix = s.originPrefix
  const early = takeEarly(s)
  if (prefix === null && early === null) {
    helloFlushed = origin.write(hello)
  } else {
    // one segment for prefix + hello (+ early bytes) where the kernel allows (cork: one writev)
    origin.cork()
    if (prefix !== null) origin.write(prefix)
    helloFlushed = origin.write(hello)
    if (early !== null) helloFlushed = origin.write(early)
    origin.uncork()
  }
  s.lastActive = s.tConnect
  armIdleSweep(s.ctx)
  origin.on('data', onOriginData)
  origin.on('end', onOriginEnd)
  origin.on('drain', onOriginDrain)
  // the client's data listener (accept.ts) relays from now on, as the state says
  client.on('drain', onClientDrain)
  // a client FIN that came with the hello follows it; otherwise read on, unless the replay already
  // filled the origin socket's buffer ('drain' resumes the client then), or the client is still
  // paused by holdEarly
  if (s.clientEnded) origin.end()
  else if (!helloFlushed) client.pause()
  else if (client.isPaused()) client.resume()
  // the data phase below JavaScript where the addon runs and Node holds no bytes of the connection,
  // once the connection has relayed past the hand-over point (at once when it is 0)
  else if (spliceDue(s)) trySplice(s)
}

/**
 * The addon dialed the origin and holds the client (splice.ts holdClient), the session is Relaying: the
 * addon writes prefix + hello + early bytes (one buffer, one write where the socket takes it) and relays
 * both ways from the first byte, the client's FIN after them when Node already read it. A refused write
 * ends the session as a relay error (the client closed, the leg accounted for in its 'close').
 */
export function startNativeRelay (s: Session): void {
  const hello = takeReplay(s)
  const prefix = s.originPrefix
  const early = takeEarly(s)
  let bytes = hello
  if (prefix !== null || early !== null) {
    bytes = Buffer.concat(prefix === null ? [hello, early!] : early === null ? [prefix, hello] : [prefix, hello, early])
  }
  s.lastActive = s.tConnect
  armIdleSweep(s.ctx)
  const errno = attachOrigin(s, bytes, clientFinRead(s))
  if (errno === 0) return
  setOutcome(s, Outcome.RelayError)
  if (s.detail === null) s.detail = errnoName(errno)
  stopSplice(s)
  destroyClient(s)
}

/**
 * Most bytes a client may send during the origin connect before it is paused (the rest waits in
 * the kernel): a TLS 1.3 0-RTT flight is bounded by the origin's max_early_data, and browsers send
 * nothing before the ServerHello; one maxHelloBytes-sized allowance (16 KiB) covers real clients.
 */
export const EARLY_HOLD_BYTES = 16 * 1024

/** Client bytes while the origin connect is in progress: kept for startRelay, pausing past the bound. */
export function holdEarly (s: Session, client: SessionSocket, chunk: Buffer): void {
  const held = s.early === null ? chunk : Buffer.concat([s.early, chunk])
  s.early = held
  if (held.length >= EARLY_HOLD_BYTES) client.pause()
}

/** One client chunk while relaying: count it and write it to the origin, pausing on backpressure. */
export function relayUp (s: Session, client: SessionSocket, chunk: Buffer): void {
  const n = chunk.length
  const ctx = s.ctx
  s.bytesUp += n
  s.lastActive = ctx.idleNow
  ctx.counters[Counter.BytesUp]! += n
  if (!s.origin!.write(chunk)) client.pause()
  else if (spliceDue(s)) trySplice(s)
}

function onOriginDrain (this: SessionSocket): void {
  this[kSession].client.resume()
}

function onOriginData (this: SessionSocket, chunk: Buffer): void {
  const s = this[kSession]
  const n = chunk.length
  const ctx = s.ctx
  s.bytesDown += n
  s.lastActive = ctx.idleNow
  ctx.counters[Counter.BytesDown]! += n
  if (!s.client.write(chunk)) this.pause()
  else if (spliceDue(s)) trySplice(s)
}

function onClientDrain (this: SessionSocket): void {
  this[kSession].origin?.resume()
}

/** Origin FIN: pass it on; the client may still be sending (half-close). */
function onOriginEnd (this: SessionSocket): void {
  forwardFin(this[kSession].client)
}

/**
 * Send our FIN on `to` because its peer leg ended. When `to`'s own peer already sent its FIN (both
 * directions are done) and nothing waits in Node's write queue, `close(2)` alone sends the FIN, after
 * whatever the kernel still holds: no `shutdown(2)` and no write-side `finish` round trip, one syscall
 * fewer per connection (HAProxy closes the same way; profiles/20261204-syscalls). Nothing is unread on
 * `to` after its FIN, so the close cannot turn into a reset. Otherwise a half-close: `end()`.
 */
export function forwardFin (to: SessionSocket): void {
  if (to.readableEnded && to.writableLength === 0) to.destroy()
  else to.end()
}

function idleTick (idleMs: number): number {
  return Math.max(1, Math.min(IDLE_TICK_MAX_MS, Math.floor(idleMs / IDLE_TICKS_PER_PERIOD)))
}

/** Start the worker's idle sweep if it is not running (module header); its clock starts now. */
function armIdleSweep (ctx: RelayContext): void {
  if (ctx.idleSweep !== null) return
  ctx.idleNow = performance.now()
  ctx.idleTickMs = idleTick(ctx.options.idleMs)
  ctx.idleSweep = setInterval(sweepIdle, ctx.idleTickMs, ctx)
  ctx.idleSweep.unref()
}

/**
 * One tick: advance the coarse clock and close relaying sessions silent for longer than the idle
 * timeout plus one tick (a stamp may be up to one tick old). Stops when the worker has no sessions,
 * re-arms when a reload changed the tick. Destroying only schedules the sockets' 'close', so the set
 * is not changed while it is walked.
 */
function sweepIdle (ctx: RelayContext): void {
  const now = performance.now()
  ctx.idleNow = now
  const idleMs = ctx.options.idleMs
  if (ctx.sessions.size === 0 || idleTick(idleMs) !== ctx.idleTickMs) {
    clearInterval(ctx.idleSweep!)
    ctx.idleSweep = null
    if (ctx.sessions.size > 0) armIdleSweep(ctx)
    return
  }
  const limit = idleMs + ctx.idleTickMs
  for (const s of ctx.sessions) {
    if (s.state !== SessionState.Relaying) continue
    // a session in the splice relay is stamped here, by the addon's byte count, once per tick
    if (s.splice >= 0) splicedSinceLastLook(s, now)
    if (now - s.lastActive >= limit) closeSession(s, Outcome.IdleTimeout)
  }
}

/**
 * Close a session from JS whatever phase it is in (idle timeout, drain deadline): every such close goes
 * through here, so that the splice relay lets go of the fds before Node closes them (splice.ts).
 */
export function closeSession (s: Session, outcome: Outcome): void {
  setOutcome(s, outcome)
  stopSplice(s)
  destroyClient(s)
  s.origin?.destroy()
}

/** An origin socket error once relaying (connect errors are connect.ts's). */
export function originErrored (s: Session, err: NodeJS.ErrnoException): void {
  setOutcome(s, Outcome.RelayError)
  if (s.detail === null) s.detail = err.code ?? 'origin_error'
}

/** The origin socket closed once relaying: close the client after it (abruptly if the origin failed). */
export function originClosed (s: Session, hadError: boolean): void {
  if (clientGone(s)) return
  const client = s.client
  if (hadError) client.destroy()
  else if (!client.writableEnded) client.end()
}
