/**
 * Connection intake: a freshly accepted (or transferred) client socket gets a Session, a hello
 * deadline and the hello-phase listeners. Bytes are fed to the HelloAssembler as they arrive; the
 * three outcomes of the reader (need more / complete / refused) are the only branches (nginx
 * ssl_preread, Envoy tls_inspector onData).
 *
 * A complete hello is routed here (the route recorded in the session) and handed to connect.ts; a refusal
 * gets its alert and a linger deadline. Sessions end through session.ts.
 *
 * Hot path rules: module-level named listeners, state via `this[kSession]`, no closures, the hello
 * bytes are never copied here (the assembler keeps them; pipe.ts forwards them unchanged).
 */
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { HelloStatus, sniToString, alpnToStrings } from '../hello/index.ts'
import { matchAlpn, matchServerName } from '../routes/index.ts'
import { Counter, outcomeSlot } from '../metrics/counters.ts'
import { HistogramId, observe } from '../metrics/histograms.ts'
import { countRoute } from '../metrics/route-counters.ts'
import { Outcome } from '../metrics/outcomes.ts'
import { alertFor } from './reject.ts'
import type { RelayContext } from './context.ts'
import { kSession, ROUTE_DEFAULT, Session, SessionState, setOutcome, socketClosed, type SessionSocket } from './session.ts'
import { connectOrigin } from './connect.ts'
import { forwardFin, holdEarly, relayUp } from './pipe.ts'
import { LIMITED } from './client-limits.ts'

/**
 * How long a refused client may take to read our alert and close before we destroy the socket.
 * Long enough for a real TLS stack to read the alert and send its own close; short enough that
 * refused clients cannot pin sockets (sniproxy never times them out).
 */
export const REJECT_LINGER_MS = 2000

/**
 * Take ownership of an accepted client socket. Never throws. Admission comes first, before any hello
 * work: the worker's connection share (`overloaded`), its share of connections waiting for a hello
 * (`pending_limited`), then the client address's limits (`client_limited`, one table lookup). A refused
 * socket is destroyed at once and never gets a Session.
 */
export function handleConnection (ctx: RelayContext, socket: Socket): void {
  const counters = ctx.counters
  counters[Counter.ConnAccepted]!++
  const client = socket as SessionSocket
  if (ctx.draining || counters[Counter.ConnActive]! >= ctx.options.maxConnections) {
    refuseAtAccept(ctx, client, Outcome.Overloaded)
    return
  }
  if (ctx.pendingHellos >= ctx.options.maxPendingHellos) {
    refuseAtAccept(ctx, client, Outcome.PendingLimited)
    return
  }
  let slot = -1
  const limiter = ctx.clientLimiter
  if (limiter !== null) {
    // the one clock read per accept that refills the address's bucket (no timer per entry)
    slot = limiter.admit(client.remoteAddress ?? '', performance.now())
    if (slot === LIMITED) {
      refuseAtAccept(ctx, client, Outcome.ClientLimited)
      return
    }
  }
  counters[Counter.ConnActive]!++
  ctx.pendingHellos++
  // one clock read per phase (accept, hello, connect, close) feeds the histograms and the access log
  const session = new Session(ctx, client, performance.now())
  session.clientSlot = slot
  session.helloPending = true
  client[kSession] = session
  ctx.sessions.add(session)
  // the peer address is gone once the socket closes: read it now, and only when it will be logged
  if (ctx.options.accessLog) session.clientAddr = formatPeer(client)
  client.setNoDelay(true)
  client.on('data', onClientData)
  client.on('end', onClientEnd)
  client.on('error', onClientError)
  client.on('close', onClientClose)
  session.helloTimer = setTimeout(onHelloTimeout, ctx.options.helloMs, session)
  // a transferred socket arrives paused (pauseOnConnect); a listener-accepted one is flowing already
  client.resume()
}

/** Close a socket refused at admission: counted under its outcome, no Session, nothing read or sent. */
function refuseAtAccept (ctx: RelayContext, client: SessionSocket, outcome: Outcome): void {
  ctx.counters[outcomeSlot(outcome)]!++
  if (outcome !== Outcome.Overloaded) ctx.refusals.refused(outcome === Outcome.ClientLimited, performance.now())
  client.on('error', onIgnoredError)
  client.destroy()
}

function onIgnoredError (): void {}

/**
 * The client's one 'data' listener, for the whole connection: the hello while it is assembled, then the
 * bytes that arrive during the origin connect (held, pipe.ts `holdEarly`), then the relay (`relayUp`),
 * or nothing after a refusal. One listener and a branch on the state instead of a listener swap and a
 * pause()/resume() round trip per connection (profiles/20261204-ab-one-listener).
 */
function onClientData (this: SessionSocket, chunk: Buffer): void {
  const s = this[kSession]
  switch (s.state) {
    case SessionState.Relaying: relayUp(s, this, chunk); return
    case SessionState.Connecting: holdEarly(s, this, chunk); return
    case SessionState.Rejecting: return
  }
  const asm = s.assembler
  if (asm === null) return
  s.helloChunks++
  const status = asm.push(chunk)
  if (status === HelloStatus.NeedMore) return
  clearHelloTimer(s)
  switch (status) {
    case HelloStatus.Ok:
    case HelloStatus.NoSni:
      routeHello(s, status)
      return
    case HelloStatus.NotTls:
      rejectClient(s, Outcome.NotTls)
      return
    case HelloStatus.TooLarge:
      rejectClient(s, Outcome.TooLarge)
      return
    default:
      rejectClient(s, Outcome.Malformed)
  }
}

/** A complete hello: pick the route (a match, else default, else refuse) and connect. */
function routeHello (s: Session, status: HelloStatus): void {
  const asm = s.assembler!
  const ctx = s.ctx
  const counters = ctx.counters
  const state = ctx.state
  const info = asm.info
  s.tHello = performance.now()
  observe(ctx.histograms, HistogramId.HelloSize, asm.hs.length)
  observe(ctx.histograms, HistogramId.HelloDuration, s.tHello - s.tAccept)
  counters[Counter.HelloOk]!++
  if (info.records > 1) counters[Counter.HelloMultiRecord]!++
  if (s.helloChunks > 1) counters[Counter.HelloSegmented]!++
  if (ctx.options.accessLog) {
    if (info.sniStart >= 0) s.sni = sniToString(asm.hs, info)
    if (info.alpnStart >= 0) s.alpn = alpnToStrings(asm.hs, info).join(',')
  }
  let target = -1
  if (status === HelloStatus.Ok) {
    target = matchServerName(state.routes, asm.hs, info.sniStart, info.sniEnd)
  }
  if (target >= 0) {
    counters[Counter.RouteHit]!++
    s.routeIndex = target
    s.route = state.pattern[target] ?? null
    s.pool = state.routeUpstream[target]!
    const count = state.alpnCount[target]!
    if (count > 0) {
      // ALPN routing: the route's first alpn entry (config order) that the client offers
      const e = matchAlpn(state, state.alpnFirst[target]!, count, asm.hs, info.alpnStart, info.alpnEnd)
      if (e >= 0) s.pool = state.alpnUpstream[e]!
    }
  } else if (state.defaultUpstream >= 0) {
    counters[Counter.RouteDefault]!++
    s.routeIndex = ROUTE_DEFAULT
    s.route = 'default'
    s.pool = state.defaultUpstream
  } else {
    rejectClient(s, status === HelloStatus.Ok ? Outcome.NoRoute : Outcome.NoSni)
    return
  }
  // every attempt of this connection uses the server table of the state it was routed in
  s.table = state.servers
  countRoute(ctx.routeCounts, ctx.routeBase, ctx.routeTracked, s.routeIndex)
  // further client bytes (early data) are held until the origin is up (onClientData)
  s.state = SessionState.Connecting
  connectOrigin(s)
}

/**
 * Refuse a client: record the outcome, send the precomputed alert if the outcome has one, close our
 * side, and give the client REJECT_LINGER_MS to go away. Nothing is ever forwarded.
 */
export function rejectClient (s: Session, outcome: Outcome): void {
  setOutcome(s, outcome)
  s.state = SessionState.Rejecting
  s.assembler = null
  const client = s.client
  // the data listener keeps reading and discarding (Rejecting), so that unread bytes do not turn our
  // FIN into an RST that could destroy the alert before the client reads it
  const alert = alertFor(outcome)
  if (alert !== null) client.end(alert)
  else client.end()
  s.lingerTimer = setTimeout(onRejectLinger, REJECT_LINGER_MS, s)
}

function onRejectLinger (s: Session): void {
  s.lingerTimer = null
  s.client.destroy()
}

function onHelloTimeout (s: Session): void {
  s.helloTimer = null
  endHelloWait(s)
  if (s.state !== SessionState.Hello) return
  setOutcome(s, Outcome.HelloTimeout)
  s.assembler = null
  s.client.destroy()
}

/** The hello phase is over (hello complete, refused, timed out or the client gone): free its slots. */
function clearHelloTimer (s: Session): void {
  if (s.helloTimer !== null) {
    clearTimeout(s.helloTimer)
    s.helloTimer = null
  }
  endHelloWait(s)
}

function endHelloWait (s: Session): void {
  if (!s.helloPending) return
  s.helloPending = false
  s.ctx.pendingHellos--
}

/** Client FIN. Before the hello is complete it ends the session; afterwards pipe.ts forwards it. */
function onClientEnd (this: SessionSocket): void {
  const s = this[kSession]
  if (s.state === SessionState.Hello) {
    clearHelloTimer(s)
    const received = s.assembler === null ? 0 : s.assembler.length
    // nothing at all: an empty connection is `not_tls`; a partial hello then FIN is a truncated hello
    rejectClient(s, received === 0 ? Outcome.NotTls : Outcome.Malformed)
    return
  }
  if (s.state === SessionState.Relaying) {
    forwardFin(s.origin!)
  } else if (s.state === SessionState.Connecting) {
    // FIN right behind the hello: forwarded once the origin is up and has the hello (pipe.ts)
    s.clientEnded = true
  }
  // Rejecting: we ended already; the socket closes now
}

function onClientError (this: SessionSocket, err: NodeJS.ErrnoException): void {
  const s = this[kSession]
  if (s.state === SessionState.Hello || s.state === SessionState.Connecting) setOutcome(s, Outcome.ClientAbort)
  else setOutcome(s, Outcome.RelayError)
  if (s.detail === null) s.detail = err.code ?? 'client_error'
}

function onClientClose (this: SessionSocket, hadError: boolean): void {
  const s = this[kSession]
  clearHelloTimer(s)
  if (s.clientSlot !== -1) {
    s.ctx.clientLimiter!.release(s.clientSlot)
    s.clientSlot = -1
  }
  if (s.lingerTimer !== null) { clearTimeout(s.lingerTimer); s.lingerTimer = null }
  if (s.state === SessionState.Hello || s.state === SessionState.Connecting) setOutcome(s, Outcome.ClientAbort)
  const origin = s.origin
  if (origin !== null && !origin.destroyed) {
    if (hadError || s.state !== SessionState.Relaying) {
      origin.destroy()
    } else {
      // client gone without FIN reaching us first (e.g. destroyed locally): nothing more will arrive;
      // the idle sweep (pipe.ts) keeps watching the origin leg
      if (!origin.writableEnded) origin.end()
    }
  }
  socketClosed(s)
}

function formatPeer (socket: Socket): string | null {
  const addr = socket.remoteAddress
  if (addr === undefined) return null
  return (addr.includes(':') ? '[' + addr + ']' : addr) + ':' + String(socket.remotePort)
}
