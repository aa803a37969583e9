/**
 * Origin connection and the bidirectional relay (inetaf/tcpproxy): connect with a deadline, replay the
 * hello bytes exactly as received (the assembler's `received()`, early data included), then copy both
 * ways with backpressure and half-close.
 *
 * - Backpressure: a `write()` that returns false pauses the other socket until 'drain' — memory per
 *   connection stays bounded by the two sockets' highWaterMarks whatever the peers do.
 * - Half-close: both sockets are `allowHalfOpen`; a FIN from one side becomes `end()` on the other,
 *   and the reverse direction keeps flowing (nginx and sniproxy lose data here by default).
 * - Errors: every socket has an 'error' listener; an error or reset on one side destroys the other.
 * - Idle: one activity timer per session, on the client socket (`setTimeout`). Node refreshes a
 *   socket's timer on each of its reads and writes, and every byte read from the origin is written
 *   to the client, so the client's timer sees the traffic of both legs; a second timer on the origin
 *   socket cost a bound closure, a Timeout and a 'timeout' listener per connection plus a refresh
 *   per chunk, for nothing (profiles/20261126-de9fe5e-cpu-new-conn/NOTES.md). The origin gets its
 *   own timer only when the client closes first and leaves it open (`watchOriginIdle`).
 */
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import { Counter } from '../metrics/counters.ts'
import { Outcome } from '../metrics/outcomes.ts'
import { kSession, SessionState, type Session, type SessionSocket } from './session.ts'
import { setOutcome, socketClosed } from './accept.ts'

/** Open the origin connection for a session whose hello is complete and whose origin is chosen. */
export function connectOrigin (s: Session): void {
  s.openSockets++
  const origin = net.connect({
    host: s.originHost,
    port: s.originPort,
    allowHalfOpen: true,
    noDelay: true,
    // no SO_KEEPALIVE: two setsockopt calls per connection, and dead peers are already found by the
    // idle timeout; HAProxy (`option srvtcpka` off) and nginx (`proxy_socket_keepalive off`) default
    // the same way
    keepAlive: false,
  }) as SessionSocket
  origin[kSession] = s
  s.origin = origin
  origin.once('connect', onOriginConnect)
  origin.on('error', onOriginError)
  origin.on('close', onOriginClose)
  s.connectTimer = setTimeout(onConnectTimeout, s.ctx.options.connectMs, s)
}

function onConnectTimeout (s: Session): void {
  s.connectTimer = null
  if (s.state !== SessionState.Connecting) return
  setOutcome(s, Outcome.OriginConnectTimeout)
  s.origin?.destroy()
  s.client.destroy()
}

function onOriginConnect (this: SessionSocket): void {
  const s = this[kSession]
  if (s.connectTimer !== null) { clearTimeout(s.connectTimer); s.connectTimer = null }
  const client = s.client
  if (client.destroyed || s.state !== SessionState.Connecting) {
    this.destroy()
    return
  }
  if (s.ctx.options.accessLog) s.tConnect = performance.now()
  s.ctx.counters[Counter.OriginConnectOk]!++
  s.state = SessionState.Relaying
  // replay the ClientHello (and anything that came with it) byte for byte
  const hello = s.assembler!.received()
  s.assembler = null
  s.bytesUp += hello.length
  const helloFlushed = this.write(hello)
  const idleMs = s.ctx.options.idleMs
  client.setTimeout(idleMs, onIdleTimeout)
  // no timer on the origin socket: the client's sees the traffic of both legs (module header)
  this.on('data', onOriginData)
  this.on('end', onOriginEnd)
  this.on('drain', onOriginDrain)
  client.on('data', onClientData)
  client.on('drain', onClientDrain)
  // a client FIN that came with the hello follows it; otherwise read on, unless the replay already
  // filled the origin socket's buffer ('drain' resumes the client then)
  if (s.clientEnded) this.end()
  else if (helloFlushed) client.resume()
}

function onClientData (this: SessionSocket, chunk: Buffer): void {
  const s = this[kSession]
  s.bytesUp += chunk.length
  if (!s.origin!.write(chunk)) this.pause()
}

function onOriginDrain (this: SessionSocket): void {
  this[kSession].client.resume()
}

function onOriginData (this: SessionSocket, chunk: Buffer): void {
  const s = this[kSession]
  s.bytesDown += chunk.length
  if (!s.client.write(chunk)) this.pause()
}

function onClientDrain (this: SessionSocket): void {
  this[kSession].origin?.resume()
}

/** Origin FIN: pass it on; the client may still be sending (half-close). */
function onOriginEnd (this: SessionSocket): void {
  this[kSession].client.end()
}

/** The client is gone but the origin socket stays open (half-closed): give it its own idle deadline. */
export function watchOriginIdle (s: Session): void {
  s.origin?.setTimeout(s.ctx.options.idleMs, onIdleTimeout)
}

function onIdleTimeout (this: SessionSocket): void {
  const s = this[kSession]
  setOutcome(s, Outcome.IdleTimeout)
  s.client.destroy()
  s.origin?.destroy()
}

function onOriginError (this: SessionSocket, err: NodeJS.ErrnoException): void {
  const s = this[kSession]
  if (s.state === SessionState.Connecting) {
    setOutcome(s, Outcome.OriginConnectFailed)
  } else {
    setOutcome(s, Outcome.RelayError)
  }
  if (s.detail === null) s.detail = err.code ?? 'origin_error'
}

function onOriginClose (this: SessionSocket, hadError: boolean): void {
  const s = this[kSession]
  const client = s.client
  if (s.state === SessionState.Connecting) {
    // refused, reset or timed out before connecting: close the client promptly, forward nothing
    if (s.connectTimer !== null) { clearTimeout(s.connectTimer); s.connectTimer = null }
    setOutcome(s, Outcome.OriginConnectFailed)
    client.destroy()
  } else if (!client.destroyed) {
    if (hadError) client.destroy()
    else if (!client.writableEnded) client.end()
  }
  socketClosed(s)
}
