/**
 * Connection intake: a freshly accepted (or transferred) client socket gets a Session, a hello
 * deadline and the hello-phase listeners. A client accepted at the handle level (`handleNativeConnection`,
 * reuseport TLS listeners where the addon reads hellos) gets the same admission and Session without a
 * socket; its reads come through `onIntakeRead`, and it becomes a socket (`materializeClient`, through the
 * Session's `client` getter) only where a path needs one. Bytes are fed to the HelloAssembler as they arrive; the
 * three outcomes of the reader (need more / complete / refused) are the only branches (nginx
 * ssl_preread, Envoy tls_inspector onData).
 *
 * A complete hello is routed here (the route recorded in the session) and handed to connect.ts; a refusal
 * gets its alert and a linger deadline. Sessions end through session.ts.
 *
 * Hot path rules: module-level named listeners, state via `this[kSession]`, no closures, the hello
 * bytes are never copied here (the assembler keeps them; pipe.ts forwards them unchanged).
 */
import { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { HelloStatus, sniToString, alpnToStrings } from '../hello/index.ts'
import { matchServerName, patternOf, routePool } from '../routes/index.ts'
import { Counter, outcomeSlot } from '../metrics/counters.ts'
import { HistogramId, observe } from '../metrics/histograms.ts'
import { countRoute } from '../metrics/route-counters.ts'
import { Outcome } from '../metrics/outcomes.ts'
import { alertFor } from './reject.ts'
import type { RelayContext } from './context.ts'
import { clientHooks, kSession, ROUTE_DEFAULT, Session, SessionState, setOutcome, socketClosed, type ClientHandle, type SessionSocket } from './session.ts'
import { closeHandle, destroyClient, errnoName, handleNoDelay, handlePeer, rearmIntake, socketFromHandle, startIntake, usableClientHandle, watchIntakeHangup, wrapHandle } from './splice.ts'
import { connectOrigin, dropNativeOrigin } from './connect.ts'
import { forwardFin, holdEarly, relayUp } from './pipe.ts'
import { LIMITED } from './client-limits.ts'
import { RESPONSE_400 } from '../http/head.ts'
import { ForwardPort, forwardSession } from '../forward/dial.ts'
import { admitRouted, sessionJa4 } from './policy.ts'
import { clientAddressText, ProxyInState, pushProxyHeader, reasonOf, trustedPeer, type ProxyInPolicy } from './proxy-in.ts'
import { PpStatus } from '../proxyproto/index.ts'
import type { ServerTable } from '../upstreams/state.ts'

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
 *
 * `proxyIn`: the listen address's PROXY policy (proxy-in.ts), null for direct clients. With one, the header
 * is read first and the per-client limits apply to the address it carries, once it is in.
 */
export function handleConnection (ctx: RelayContext, socket: Socket, proxyIn: ProxyInPolicy | null = null): void {
  admitConnection(ctx, socket, proxyIn)
}

/**
 * Admission and the session (handleConnection's contract): the Session with its first-bytes deadline
 * and its data/end/error/close listeners, or null when refused. The data listener reads a ClientHello
 * unless the caller sets `readHead` (an HTTP request head, http/relay.ts).
 */
export function admitConnection (ctx: RelayContext, socket: Socket, proxyIn: ProxyInPolicy | null = null): Session | null {
  const client = socket as SessionSocket
  // behind a load balancer the socket's address is the balancer's: limits wait for the header's
  const admitted = admit(ctx, ctx.clientLimiter !== null && proxyIn === null ? client.remoteAddress ?? '' : null)
  if (typeof admitted !== 'number') {
    refuseAtAccept(ctx, admitted)
    client.on('error', onIgnoredError)
    client.destroy()
    return null
  }
  const session = openSession(ctx, client, admitted)
  client[kSession] = session
  // the peer address is gone once the socket closes: read it now, and only when it will be logged
  if (ctx.options.accessLog) session.clientAddr = formatPeer(client.remoteAddress, client.remotePort)
  client.setNoDelay(true)
  listenClient(client)
  if (proxyIn !== null) {
    session.proxyIn = new ProxyInState(proxyIn)
    // a peer that is not a trusted balancer could write any client address: nothing it sends is read
    if (!trustedPeer(proxyIn, client)) {
      refuseProxyIn(session, 'untrusted_source')
      return null
    }
  }
  // a transferred socket arrives paused (pauseOnConnect); a listener-accepted one is flowing already
  client.resume()
  return session
}

/** admit's answer when the connection may go on holding no per-client slot */
const NO_CLIENT_SLOT = -1

/**
 * Admission, for a socket and a handle-level client alike (handleConnection's contract): counts the accept,
 * then the worker's connection share, its pending-hello share and, when `peer` is given, the client
 * address's limits. Answers the per-client slot (≥ 0) or NO_CLIENT_SLOT, or the outcome it was refused with.
 */
function admit (ctx: RelayContext, peer: string | null): number | Outcome {
  const counters = ctx.counters
  counters[Counter.ConnAccepted]!++
  if (ctx.draining || counters[Counter.ConnActive]! >= ctx.options.maxConnections) return Outcome.Overloaded
  if (ctx.pendingHellos >= ctx.options.maxPendingHellos) return Outcome.PendingLimited
  if (peer === null) return NO_CLIENT_SLOT
  // the one clock read per accept that refills the address's bucket (no timer per entry)
  const slot = ctx.clientLimiter!.admit(peer, performance.now())
  return slot === LIMITED ? Outcome.ClientLimited : slot
}

/** A refusal at admission: counted under its outcome, no Session, nothing read or sent. */
function refuseAtAccept (ctx: RelayContext, outcome: Outcome): void {
  ctx.counters[outcomeSlot(outcome)]!++
  if (outcome !== Outcome.Overloaded) ctx.refusals.refused(outcome === Outcome.ClientLimited, performance.now())
}

/** An admitted connection's Session (admit's per-client slot, the hello deadline), counted active and pending. */
function openSession (ctx: RelayContext, client: SessionSocket | null, clientSlot: number): Session {
  ctx.counters[Counter.ConnActive]!++
  ctx.pendingHellos++
  // one clock read per phase (accept, hello, connect, close) feeds the histograms and the access log
  const session = new Session(ctx, client, performance.now())
  session.clientSlot = clientSlot
  session.helloPending = true
  ctx.sessions.add(session)
  session.helloTimer = setTimeout(onHelloTimeout, ctx.options.helloMs, session)
  return session
}

/** The client socket's four listeners, for the whole connection (module-level, state via `this[kSession]`). */
function listenClient (client: SessionSocket): void {
  client.on('data', onClientData)
  client.on('end', onClientEnd)
  client.on('error', onClientError)
  client.on('close', onClientClose)
}

/**
 * A client accepted at the handle level (pool/worker.ts, reuseport TLS listeners without proxyProtocol,
 * where splice.ts intakeActive): no net.Socket. The same admission as handleConnection, then the addon
 * reads the hello (`onIntakeRead`); a connection the addon relays never gets a socket. Anything else —
 * a refusal with an alert, a Node-dialed origin, the JS relay — wraps the handle in a net.Socket when it
 * first needs one (materializeClient) and goes on exactly as a socket-accepted connection.
 */
export function handleNativeConnection (ctx: RelayContext, handle: ClientHandle): void {
  // a handle without what this path calls (the private API changed): the ordinary socket path
  if (!usableClientHandle(handle)) {
    handleConnection(ctx, wrapHandle(handle))
    return
  }
  // one getpeername, and only when the limits or the access log read the address
  const peer = ctx.clientLimiter !== null || ctx.options.accessLog ? handlePeer(handle) : null
  const admitted = admit(ctx, ctx.clientLimiter !== null ? peer!.address ?? '' : null)
  if (typeof admitted !== 'number') {
    refuseAtAccept(ctx, admitted)
    closeHandle(handle)
    return
  }
  const session = openSession(ctx, null, admitted)
  session.clientHandle = handle
  if (ctx.options.accessLog) session.clientAddr = formatPeer(peer!.address, peer!.port)
  handleNoDelay(handle)
  // the addon cannot take it (no slot, epoll refused): Node reads it, as any accepted socket
  if (startIntake(session, handle.fd)) ctx.counters[Counter.IntakeNative]!++
  else materializeClient(session)
}

/**
 * One read of a handle-level client during the hello (splice.ts onAddonIntake): bytes go to the same hello
 * reader as a socket's 'data'; a hello that needs more asks the addon to read again. EOF: the socket takes
 * over and reads the FIN itself (onClientEnd decides, as for any client); an error ends the client.
 */
export function onIntakeRead (s: Session, n: number, chunk: Buffer | null): void {
  if (n > 0) {
    if (s.state !== SessionState.Hello) return
    helloData(s, chunk!)
    if (s.intake < 0) return
    // a hello that needs more: read again; one that is routed: watch for a reset while the origin connects
    if (s.state === SessionState.Hello ? !rearmIntake(s) : s.state === SessionState.Connecting && !watchIntakeHangup(s)) materializeClient(s)
    return
  }
  if (n === 0) {
    materializeClient(s)
    return
  }
  // a reset, during the hello or while the origin connects: the client went (as a socket's 'error' says)
  setOutcome(s, Outcome.ClientAbort)
  if (s.detail === null) s.detail = errnoName(-n)
  destroyClient(s)
}

/**
 * Wrap a handle-level client in a net.Socket with the listeners every client socket has (the session's
 * `client` getter calls it on first use): from now on Node reads it, in whatever phase the session is.
 */
function materializeClient (s: Session): SessionSocket {
  const handle = s.clientHandle
  if (handle === null) return closedClient(s)
  if (s.intake >= 0) s.ctx.counters[Counter.IntakeWrapped]!++
  const client = socketFromHandle(s, handle)
  s.clientHandle = null
  client[kSession] = s
  s._client = client
  listenClient(client)
  client.resume()
  return client
}

/**
 * A handle-level client already closed has no socket to give: callers check `clientGone` first, and one
 * that did not gets a destroyed socket with no close listener (its close was accounted for already), so
 * that nothing is counted twice and nothing throws.
 */
function closedClient (s: Session): SessionSocket {
  const client = new Socket() as SessionSocket
  client.on('error', onIgnoredError)
  client.destroy()
  client[kSession] = s
  s._client = client
  return client
}

clientHooks.materialize = materializeClient
clientHooks.clientClosed = clientClosed

function onIgnoredError (): void {}

/** Bytes before the hello on a proxyProtocol listen address: the PROXY header, then the client's own (proxy-in.ts). */
function onProxyHeaderData (this: SessionSocket, chunk: Buffer): void {
  const s = this[kSession]
  const status = pushProxyHeader(s, chunk)
  if (status === PpStatus.NeedMore) return
  if (status !== PpStatus.Ok) {
    refuseProxyIn(s, reasonOf(status))
    return
  }
  const limiter = s.ctx.clientLimiter
  if (limiter !== null) {
    const slot = limiter.admit(clientAddressText(s) ?? '', performance.now())
    if (slot === LIMITED) {
      s.ctx.refusals.refused(true, performance.now())
      refuseProxyIn(s, null, Outcome.ClientLimited)
      return
    }
    s.clientSlot = slot
  }
  // the client's first bytes may have come in the header's chunk
  const rest = s.proxyIn!.decoder.info.restOffset
  if (rest < chunk.length) onClientData.call(this, chunk.subarray(rest))
}

/**
 * Close a connection refused before its hello on a proxyProtocol listen address: outcome (default
 * proxy_header_invalid) and reason recorded, nothing read further, nothing sent, nothing forwarded.
 */
function refuseProxyIn (s: Session, reason: string | null, outcome: Outcome = Outcome.ProxyHeaderInvalid): void {
  setOutcome(s, outcome)
  if (s.detail === null) s.detail = reason
  clearHelloTimer(s)
  s.state = SessionState.Rejecting
  s.assembler = null
  destroyClient(s)
}

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
  // before the hello: a PROXY header from the load balancer (proxy-in.ts), or another reader (an HTTP head)
  if (s.proxyIn !== null && !s.proxyIn.done) {
    onProxyHeaderData.call(this, chunk)
    return
  }
  if (s.readHead !== null) {
    s.readHead(s, chunk)
    return
  }
  helloData(s, chunk)
}

/** Hello bytes, from a socket's 'data' or an addon read (onIntakeRead): the reader's three outcomes. */
function helloData (s: Session, chunk: Buffer): void {
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
  if (info.echStart >= 0) {
    s.ech = true
    counters[Counter.EchHellos]!++
  }
  if (ctx.options.accessLog) {
    if (info.sniStart >= 0) s.sni = sniToString(asm.hs, info)
    if (info.alpnStart >= 0) s.alpn = alpnToStrings(asm.hs, info).join(',')
    if (ctx.options.logJa4) sessionJa4(s)
  }
  const target = status === HelloStatus.Ok ? matchServerName(state.routes, asm.hs, info.sniStart, info.sniEnd) : -1
  // ALPN routing: the route's first alpn entry (config order) that the client offers, else its upstream
  const pool = target >= 0 ? routePool(state, target, asm.hs, info.alpnStart, info.alpnEnd) : -1
  if (!settleRoute(s, target, pool, status === HelloStatus.Ok ? Outcome.NoRoute : Outcome.NoSni)) return
  // a forward route has no pool: it dials the SNI itself, through the fence (forward/)
  if (s.pool < 0) {
    forwardSession(s, sniToString(asm.hs, info), ForwardPort.Tls, rejectClient)
    return
  }
  connectOrigin(s)
}

/**
 * Where a connection goes once its name is looked up, for every reader (ClientHello here, HTTP head in
 * http/relay.ts): `target` ≥ 0 is the matched route and `pool` the pool the caller chose for it, else the
 * default pool when there is one. Records route, pool and the server table every attempt will use, counts
 * the route, then applies the access lists (policy.ts) before any origin is contacted. True: the session
 * is Connecting (further client bytes are held until the origin is up). False: refused and answered —
 * `noRoute` with `noRouteReply`, or `denied` with `deniedReply` (default replies: the outcome's TLS alert).
 */
export function settleRoute (s: Session, target: number, pool: number, noRoute: Outcome,
  noRouteReply?: Uint8Array | null, deniedReply?: Uint8Array | null): boolean {
  if (!recordRoute(s.ctx, s, target, pool)) {
    rejectClient(s, noRoute, noRouteReply)
    return false
  }
  if (!admitRouted(s)) {
    rejectClient(s, Outcome.Denied, deniedReply)
    return false
  }
  s.state = SessionState.Connecting
  return true
}

/** What a TCP/HTTP session and a QUIC flow (quic-relay/flow.ts) record of their route choice. */
export interface RouteChoice {
  routeIndex: number
  route: string | null
  pool: number
  table: ServerTable | null
}

/**
 * The route choice's bookkeeping, one for TLS, plain HTTP and QUIC: `target` ≥ 0 is the matched route
 * and `pool` the pool chosen for it, else the default pool when there is one. Records route index,
 * pool and the server table every attempt will use, counts the hit or default and the route. False:
 * no route and no default (nothing recorded; the caller refuses).
 */
export function recordRoute (ctx: RelayContext, r: RouteChoice, target: number, pool: number): boolean {
  const state = ctx.state
  if (target >= 0) {
    ctx.counters[Counter.RouteHit]!++
    r.routeIndex = target
    // the pattern string is rebuilt from the shared trie only for a connection that is logged
    if (ctx.options.accessLog) r.route = patternOf(state.routes, target)
    r.pool = pool
  } else if (state.defaultUpstream >= 0) {
    ctx.counters[Counter.RouteDefault]!++
    r.routeIndex = ROUTE_DEFAULT
    r.route = 'default'
    r.pool = state.defaultUpstream
  } else {
    return false
  }
  r.table = state.servers
  countRoute(ctx.routeCounts, ctx.routeBase, ctx.routeTracked, r.routeIndex)
  return true
}

/**
 * Refuse a client: record the outcome, send the precomputed alert if the outcome has one, close our
 * side, and give the client REJECT_LINGER_MS to go away. Nothing is ever forwarded.
 */
export function rejectClient (s: Session, outcome: Outcome, reply: Uint8Array | null = alertFor(outcome)): void {
  setOutcome(s, outcome)
  s.state = SessionState.Rejecting
  s.assembler = null
  s.http = null
  const client = s.client
  // the data listener keeps reading and discarding (Rejecting), so that unread bytes do not turn our
  // FIN into an RST that could destroy the reply before the client reads it; a refusal after routing
  // may find the client paused (past the early-data bound, or an HTTP head's connect)
  client.resume()
  if (reply !== null) client.end(reply)
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
  if (s.proxyIn !== null && !s.proxyIn.done) {
    // no whole PROXY header within timeouts.hello
    setOutcome(s, Outcome.ProxyHeaderInvalid)
    if (s.detail === null) s.detail = 'proxy_header_timeout'
  }
  setOutcome(s, Outcome.HelloTimeout)
  s.assembler = null
  destroyClient(s)
}

/** The hello phase is over (hello complete, refused, timed out or the client gone): free its slots. */
export function clearHelloTimer (s: Session): void {
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
    if (s.http !== null) {
      // a plain-HTTP head cut short: nothing at all is a client that left, a partial head a bad request
      if (s.http.length === 0) rejectClient(s, Outcome.ClientAbort, null)
      else rejectClient(s, Outcome.HttpBadRequest, RESPONSE_400)
      return
    }
    if (s.proxyIn !== null && !s.proxyIn.done) {
      // FIN before a whole PROXY header (none at all, or a truncated one)
      s.detail = 'proxy_header_truncated'
      rejectClient(s, Outcome.ProxyHeaderInvalid)
      return
    }
    const received = s.assembler === null ? 0 : s.assembler.length
    // nothing at all: an empty connection is `not_tls`; a partial hello then FIN is a truncated hello
    rejectClient(s, received === 0 ? Outcome.NotTls : Outcome.Malformed)
    return
  }
  if (s.state === SessionState.Relaying) {
    // an origin leg in the addon got the FIN with the replayed bytes (pipe.ts startNativeRelay)
    if (!s.nativeOrigin) forwardFin(s.origin!)
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
  clientClosed(this[kSession], hadError)
}

/** The client's close (a socket's 'close', a handle-level client's handle closed): the session's part in it. */
function clientClosed (s: Session, hadError: boolean): void {
  clearHelloTimer(s)
  if (s.clientSlot !== -1) {
    s.ctx.clientLimiter!.release(s.clientSlot)
    s.clientSlot = -1
  }
  if (s.lingerTimer !== null) { clearTimeout(s.lingerTimer); s.lingerTimer = null }
  if (s.state === SessionState.Hello || s.state === SessionState.Connecting) setOutcome(s, Outcome.ClientAbort)
  // an origin leg in the addon: released (its fd closed there) and counted closed before the client
  dropNativeOrigin(s, null)
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

function formatPeer (addr: string | undefined, port: number | undefined): string | null {
  if (addr === undefined) return null
  return (addr.includes(':') ? '[' + addr + ']' : addr) + ':' + String(port)
}
