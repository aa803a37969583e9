/**
 * Per-worker counters (Envoy ALL_TLS_INSPECTOR_STATS): one list, one slot each in a Float64Array that
 * lives in a SharedArrayBuffer. The worker is the only writer of its slots; the main thread only reads
 * them (stats, shutdown summary), so no message is ever sent per event.
 *
 * One definition: `Counter` gives each base counter its slot; the exported names are derived from its
 * keys (ConnAccepted → conn_accepted) and the outcome counters follow, one per Outcome in ALL_OUTCOMES
 * order, named `outcome_<outcome>`. Nothing else lists counter names, so the slots and the names
 * cannot drift apart; README.md's "Metrics" table is checked against COUNTER_NAMES (test/unit/docs.test.ts).
 *
 * Float64 rather than BigUint64: integers stay exact up to 2^53 (9 PB relayed per worker) and a plain
 * `c[i]++` / `c[i] += n` on a Float64Array is the cheapest store V8 has — cheap enough that the byte
 * counters are added per chunk, as the bytes flow, not once at close.
 */
import { ALL_OUTCOMES, type Outcome } from './outcomes.ts'

/** Non-outcome counters and their slots (dense, from 0); outcome counters follow them. */
export const Counter = {
  /** connections handed to this worker (accepted or transferred) */
  ConnAccepted: 0,
  /** connections currently open (gauge: incremented on accept, decremented on close) */
  ConnActive: 1,
  /** hellos parsed complete (with or without SNI) */
  HelloOk: 2,
  /** hellos that arrived in more than one TCP segment */
  HelloSegmented: 3,
  /** hellos that spanned more than one TLS record */
  HelloMultiRecord: 4,
  /** hellos matched by a route */
  RouteHit: 5,
  /** hellos that fell to the `default` route */
  RouteDefault: 6,
  /** origin TCP connections established */
  OriginConnectOk: 7,
  /** bytes client → origin, hello included; added as they are written to the origin */
  BytesUp: 8,
  /** bytes origin → client; added as they are written to the client */
  BytesDown: 9,
  /** connect attempts made again on another server of the pool after a failed one */
  OriginRetry: 10,
  /** plain-HTTP request heads read complete and valid (http: listeners) */
  HttpHeadOk: 11,
  /** QUIC: client datagrams relayed to origins (held ones counted when sent) */
  QuicDatagramsUp: 12,
  /** QUIC: origin datagrams relayed to clients */
  QuicDatagramsDown: 13,
  /** QUIC: bytes (UDP payload) client → origin */
  QuicBytesUp: 14,
  /** QUIC: bytes (UDP payload) origin → client */
  QuicBytesDown: 15,
  /** QUIC: flows opened (a first datagram the decoder accepted) */
  QuicFlowsOpened: 16,
  /** QUIC: flows in the table now (gauge) */
  QuicFlowsActive: 17,
  /** QUIC: ClientHellos decoded complete from Initials */
  QuicHelloOk: 18,
  /** QUIC: ClientHellos that spanned more than one Initial datagram (post-quantum browser hellos) */
  QuicHelloMultiDatagram: 19,
  /** QUIC: datagrams dropped: an Initial in a datagram under 1200 bytes (RFC 9000 §14.1) */
  QuicDropSmall: 20,
  /** QUIC: datagrams dropped: above the largest Initial datagram decoded */
  QuicDropOversized: 21,
  /** QUIC: datagrams dropped: not a readable long header / Initial where one was needed */
  QuicDropUnreadable: 22,
  /** QUIC: datagrams dropped: the Initial's AEAD tag did not verify (wrong keys, a flipped bit) */
  QuicDropDecrypt: 23,
  /** QUIC: datagrams dropped: a version we cannot read, or Version Negotiation (quic.unknownVersion: drop) */
  QuicDropVersion: 24,
  /** QUIC: datagrams dropped: would start a flow beyond quic.maxFlows */
  QuicDropFlowLimit: 25,
  /** QUIC: datagrams dropped: would start a flow beyond quic.maxPendingFlows */
  QuicDropPendingLimit: 26,
  /** QUIC: datagrams dropped: beyond quic.maxPendingBytes of a flow not yet routed */
  QuicDropPendingBytes: 27,
  /** QUIC: datagrams dropped: their flow was refused (no route, malformed hello, ...) */
  QuicDropRefused: 28,
  /** QUIC: origin datagrams dropped: their flow ended as they arrived */
  QuicDropOrphan: 29,
  /** hellos that carry encrypted_client_hello (ECH): routed on their outer SNI, the public name */
  EchHellos: 30,
  /** connections whose data phase was handed to the native splice(2) relay (relay/splice.ts) */
  RelaySpliced: 31,
  /** connections accepted without a net.Socket, their first bytes read by the native addon (relay/accept.ts handleNativeConnection) */
  IntakeNative: 32,
  /** of those, the ones wrapped in a net.Socket later (a refusal, an origin Node connects, EOF before the hello) */
  IntakeWrapped: 33,
} as const
export type Counter = typeof Counter[keyof typeof Counter]

/** ConnAccepted → conn_accepted */
function snakeCase (key: string): string {
  return key.replace(/[A-Z]/g, (c, i: number) => (i === 0 ? '' : '_') + c.toLowerCase())
}

function baseCounterNames (): string[] {
  const names: string[] = []
  for (const [key, slot] of Object.entries(Counter)) {
    // a programmer error in the table above: two keys on one slot, or a gap
    if (names[slot] !== undefined || slot < 0) throw new TypeError('metrics/counters: slot ' + String(slot) + ' used twice')
    names[slot] = snakeCase(key)
  }
  if (names.length !== Object.keys(Counter).length) throw new TypeError('metrics/counters: Counter slots are not dense')
  return names
}

const BASE_NAMES = baseCounterNames()

/** Number of base (non-outcome) counters; the first outcome counter's slot. */
export const BASE_COUNTERS = BASE_NAMES.length

/** Counter name by slot: the base counters, then `outcome_<outcome>` per Outcome. */
export const COUNTER_NAMES: readonly string[] = Object.freeze([...BASE_NAMES, ...ALL_OUTCOMES.map((o) => 'outcome_' + o)])

export const COUNTER_SLOTS = COUNTER_NAMES.length

/** Outcome → its counter's slot, for every Outcome (a Record over the union: the type checker sees a missing one). */
const OUTCOME_SLOT: Readonly<Record<Outcome, number>> = Object.freeze(
  Object.fromEntries(ALL_OUTCOMES.map((o, i) => [o, BASE_COUNTERS + i])) as Record<Outcome, number>)

/** Slot index of an outcome's counter. Total over Outcome: never a base counter's slot. */
export function outcomeSlot (outcome: Outcome): number {
  return OUTCOME_SLOT[outcome]
}

export function createCounterBuffer (): SharedArrayBuffer {
  return new SharedArrayBuffer(COUNTER_SLOTS * Float64Array.BYTES_PER_ELEMENT)
}

/** Snapshot of one or more workers' counters, summed, as name → value. */
export function sumCounters (views: readonly Float64Array[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (let i = 0; i < COUNTER_SLOTS; i++) {
    let v = 0
    for (const view of views) v += view[i] ?? 0
    out[COUNTER_NAMES[i]!] = v
  }
  return out
}
