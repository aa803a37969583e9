/**
 * http/relay — plain-HTTP connections (the `http:` listeners): admission and session as for TLS
 * (relay/accept.ts admitConnection), the request head read by HttpHeadReader instead of a ClientHello,
 * routed by its Host through the same table, default and pools, then relayed by the same pipe.
 *
 * Per connection: the head is read under timeouts.hello and MAX_HEAD_BYTES; a refused head gets 400 (or
 * 431 when too large) and `http_bad_request` / `too_large`; no route and no default gets 421 and
 * `no_route`; an address-literal Host (no name) goes to the default. The origin is the route's pool's
 * server on the route's httpPort, else the pool's, else http.originPort; the head and whatever came with it
 * are written to it unchanged (pipe.ts replays `Session.head`), then bytes flow both ways. Only the first
 * request is looked at: the connection belongs to that origin afterwards (keep-alive requests follow it,
 * as with any TCP passthrough; sniproxy and HAProxy in tcp mode behave the same).
 *
 * Hot path rules as in relay/: module-level named functions called by relay/accept.ts's one data listener, no copy of the
 * head (the reader keeps the bytes; a head in one segment is the segment itself).
 */
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { matchServerName } from '../routes/index.ts'
import { Counter } from '../metrics/counters.ts'
import { Outcome } from '../metrics/outcomes.ts'
import type { RelayContext } from '../relay/context.ts'
import { admitConnection, clearHelloTimer, rejectClient, settleRoute } from '../relay/accept.ts'
import { connectOrigin } from '../relay/connect.ts'
import type { Session } from '../relay/session.ts'
import { ForwardPort, forwardSession } from '../forward/dial.ts'
import { HeadStatus, headErrorName, HostKind, HttpHeadReader, RESPONSE_400, RESPONSE_421, RESPONSE_431 } from './head.ts'

/** RFC 9110 §15.5.4: a forward route refused the name or its address. */
const RESPONSE_403 = Buffer.from('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nConnection: close\r\n\r\nforbidden\n', 'latin1')

/** Take ownership of a socket accepted on an `http:` listener. Never throws. */
export function handleHttpConnection (ctx: RelayContext, socket: Socket): void {
  const s = admitConnection(ctx, socket)
  if (s === null) return
  s.http = new HttpHeadReader()
  s.readHead = readHttpHead
}

/** The client's bytes while its request head is read (accept.ts's data listener calls it in state Hello). */
function readHttpHead (s: Session, chunk: Buffer): void {
  const reader = s.http
  if (reader === null) return
  s.helloChunks++
  const status = reader.push(chunk)
  if (status === HeadStatus.NeedMore) return
  clearHelloTimer(s)
  s.readHead = null
  if (status === HeadStatus.Ok) {
    routeHead(s, reader)
  } else if (status === HeadStatus.TooLarge) {
    rejectClient(s, Outcome.TooLarge, RESPONSE_431)
  } else {
    s.detail = headErrorName(reader.error)
    rejectClient(s, Outcome.HttpBadRequest, RESPONSE_400)
  }
}

/** A forward route's refusal on plain HTTP: 403. */
function rejectForward (s: Session, outcome: Outcome): void {
  rejectClient(s, outcome, RESPONSE_403)
}

function hostText (reader: HttpHeadReader): string {
  return Buffer.from(reader.head.buffer, reader.head.byteOffset + reader.hostStart, reader.hostEnd - reader.hostStart).toString('latin1')
}

/** A complete head: route by Host (a match, else default, else 421) and connect. */
function routeHead (s: Session, reader: HttpHeadReader): void {
  const ctx = s.ctx
  const counters = ctx.counters
  const state = ctx.state
  s.tHello = performance.now()
  counters[Counter.HttpHeadOk]!++
  if (s.helloChunks > 1) counters[Counter.HelloSegmented]!++
  if (ctx.options.accessLog) s.host = hostText(reader)
  const target = reader.hostKind === HostKind.Name ? matchServerName(state.routes, reader.head, reader.hostStart, reader.hostEnd) : -1
  // the access lists apply as on the TLS port; plain HTTP has no JA4, so a route's allowJa4 refuses it
  // and its denyJa4 never matches
  if (!settleRoute(s, target, target >= 0 ? state.routeUpstream[target]! : -1, Outcome.NoRoute, RESPONSE_421, RESPONSE_403)) return
  s.head = reader.received()
  s.http = null
  if (s.pool < 0) {
    forwardSession(s, hostText(reader), ForwardPort.Http, rejectForward)
    return
  }
  const ports = state.http
  let port = 0
  if (ports !== undefined && ports !== null) {
    if (ports.routePort !== null && target >= 0) port = ports.routePort[target]!
    if (port === 0) port = ports.poolPort[s.pool]!
    if (port === 0) port = ports.originPort
  }
  // a table without http ports (a reload dropped `http:` while this listener still runs): the pool's port
  s.portOverride = port
  connectOrigin(s)
}
