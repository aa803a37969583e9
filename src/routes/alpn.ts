/**
 * ALPN routing (pure): which of a route's `alpn` entries a ClientHello claims. A route's entries are
 * tried in config order and the first protocol the client offers wins (nginx's `map` and HAProxy's
 * `use_backend … if { ssl_fc_alpn … }` are first-match too); none → the caller uses the route's upstream.
 *
 * Contract: bytes in, an entry index out; no allocation, no string. The client's list is the ALPN
 * extension's ProtocolNameList body (RFC 7301 §3.1: u8-length-prefixed names), as hello/ HelloInfo's
 * `alpnStart`/`alpnEnd` offsets give it, already length-checked by the parser.
 *
 * Index rule: `hs[i]!` and `proto[i]!` only after the range checks in the same function.
 */

/** Layout of the entries (pool/route-state.ts builds it): entry e's protocol is proto[protoStart[e] .. protoStart[e + 1]). */
export interface AlpnEntries {
  readonly alpnProtoStart: Int32Array
  readonly alpnProto: Uint8Array
}

/** Per route: its upstream, and where its ALPN entries are (route r's are alpnFirst[r] .. + alpnCount[r] - 1). */
export interface RoutePools extends AlpnEntries {
  readonly routeUpstream: Int32Array
  readonly alpnFirst: Int32Array
  readonly alpnCount: Int32Array
  readonly alpnUpstream: Int32Array
}

/**
 * The pool a hello routed to `target` goes to: the route's first ALPN entry (config order) that the
 * client offers, else the route's upstream. One rule for TCP hellos and QUIC Initials.
 */
export function routePool (t: RoutePools, target: number, hs: Uint8Array, alpnStart: number, alpnEnd: number): number {
  const count = t.alpnCount[target]!
  if (count > 0) {
    const e = matchAlpn(t, t.alpnFirst[target]!, count, hs, alpnStart, alpnEnd)
    if (e >= 0) return t.alpnUpstream[e]!
  }
  return t.routeUpstream[target]!
}

/**
 * The first entry in `first .. first + count - 1` whose protocol appears in the client's list
 * `hs[listStart .. listEnd)`, or -1 (no list, or no entry offered).
 */
export function matchAlpn (t: AlpnEntries, first: number, count: number, hs: Uint8Array, listStart: number, listEnd: number): number {
  if (listStart < 0 || listEnd > hs.length) return -1
  const proto = t.alpnProto
  const starts = t.alpnProtoStart
  for (let e = first; e < first + count; e++) {
    const ps = starts[e]!
    const pe = starts[e + 1]!
    const len = pe - ps
    if (ps < 0 || pe > proto.length || len <= 0) continue
    let p = listStart
    while (p < listEnd) {
      const n = hs[p]!
      const name = p + 1
      p = name + n
      if (p > listEnd) break
      if (n !== len) continue
      let i = 0
      while (i < len && hs[name + i] === proto[ps + i]) i++
      if (i === len) return e
    }
  }
  return -1
}
