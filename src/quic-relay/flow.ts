/**
 * One QUIC flow: the fixed-shape state of a client 4-tuple from its first Initial datagram until it
 * goes idle. The UDP counterpart of relay/'s Session.
 *
 * Contract: every field is declared and initialised here (one hidden class for all flows); nothing
 * holds a closure. The origin socket points back at its flow through `socket[kFlow]`, the listener at
 * its QuicListener through `socket[kListener]`, so the socket handlers in relay.ts are module-level
 * named functions (no closure per flow or per datagram).
 *
 * Limits: `pending` holds at most `maxPendingBytes` of datagrams (relay.ts `hold`), and only while the
 * flow is Pending or Connecting; it is dropped (null) once they are sent, or when the flow is refused.
 */
import type { Socket as UdpSocket } from 'node:dgram'
import type { QuicInitialDecoder } from '../quic/index.ts'
import type { Outcome } from '../metrics/outcomes.ts'
import { TARGET_NONE } from '../metrics/route-counters.ts'
import type { ServerTable } from '../upstreams/state.ts'
import type { QuicListener } from './relay.ts'

export const kFlow = Symbol('hellogate.quicFlow')
export const kListener = Symbol('hellogate.quicListener')

/** An origin socket (connected UDP, one per flow), pointing back at its flow. */
export interface FlowSocket extends UdpSocket {
  [kFlow]: Flow
}

/** A listening UDP socket, pointing back at its listener state (flow table). */
export interface ListenerSocket extends UdpSocket {
  [kListener]: QuicListener
}

export const FlowState = {
  /** decoding the client's Initials; datagrams are held */
  Pending: 0,
  /** routed; the origin socket is connecting; datagrams are still held */
  Connecting: 1,
  /** datagrams flow both ways unchanged */
  Relaying: 2,
  /** refused (no route, malformed hello, ...): its datagrams are dropped until the hello deadline ends it */
  Refused: 3,
  /** forgotten: out of the table, origin socket closed */
  Closed: 4,
} as const
export type FlowState = typeof FlowState[keyof typeof FlowState]

export class Flow {
  readonly listener: QuicListener
  /** the flow table key (client address and port) */
  readonly key: string
  readonly clientAddress: string
  readonly clientPort: number
  state: FlowState = FlowState.Pending
  /** null once the hello is decoded (or never, for a version we cannot read) */
  decoder: QuicInitialDecoder | null
  /** datagrams held until the origin socket is connected, in arrival order, as received (never copied) */
  pending: Buffer[] | null = []
  pendingBytes = 0
  origin: FlowSocket | null = null
  /** hello deadline while Pending or Refused, then the idle timer (refreshed per datagram) */
  timer: NodeJS.Timeout | null = null
  /** first decided outcome wins; null at close means the idle end of a relayed flow */
  outcome: Outcome | null = null
  /** reason detail for the log (socket error code, decoder status), slow path only */
  detail: string | null = null
  /** QUIC version of the flow's Initials (0 before one was read) */
  version = 0
  sni: string | null = null
  alpn: string | null = null
  /** Initial datagrams the hello took */
  helloDatagrams = 0
  /** matched route (index into the config's routes), TARGET_DEFAULT, or TARGET_NONE */
  routeIndex = TARGET_NONE
  route: string | null = null
  /** the server table the flow was routed in; pool and server index it */
  table: ServerTable | null = null
  pool = -1
  server = -1
  /** `server` is counted in its leastconn gauge and must be released once */
  acquired = false
  originHost = ''
  originPort = 0
  /** client → origin / origin → client, as relayed */
  datagramsUp = 0
  bytesUp = 0
  datagramsDown = 0
  bytesDown = 0
  /** datagrams dropped for this flow (undecodable, over maxPendingBytes, after a refusal) */
  dropped = 0
  /** performance.now() at the first datagram and when the hello was complete */
  tStart: number
  tHello = 0
  /** per worker sequence number, as relay/'s connection id */
  id: number

  constructor (listener: QuicListener, key: string, address: string, port: number, decoder: QuicInitialDecoder | null, tStart: number, id: number) {
    this.listener = listener
    this.key = key
    this.clientAddress = address
    this.clientPort = port
    this.decoder = decoder
    this.tStart = tStart
    this.id = id
  }
}
