/**
 * Fixed-shape per-connection state (STYLE C.2 rule 10): every field is declared and initialised here,
 * none is added or deleted later, so V8 keeps one hidden class for all sessions.
 *
 * Socket listeners (accept.ts, pipe.ts) are module-level named functions that find their Session via
 * `socket[kSession]` — no closure is created per connection or per chunk.
 */
import type { Socket } from 'node:net'
import { HelloAssembler } from '../hello/index.ts'
import type { Outcome } from '../metrics/outcomes.ts'
import type { RelayContext } from './context.ts'

export const kSession = Symbol('hellogate.session')

export interface SessionSocket extends Socket {
  [kSession]: Session
}

export const SessionState = {
  /** reading the ClientHello */
  Hello: 0,
  /** hello complete, origin TCP connect in progress; client paused */
  Connecting: 1,
  /** bytes flow both ways */
  Relaying: 2,
  /** refused: alert (if any) written, waiting for the client to go away */
  Rejecting: 3,
} as const
export type SessionState = typeof SessionState[keyof typeof SessionState]

export class Session {
  readonly ctx: RelayContext
  readonly client: SessionSocket
  origin: SessionSocket | null = null
  assembler: HelloAssembler | null
  state: SessionState = SessionState.Hello
  /** first outcome decided wins; null at close means `ok` */
  outcome: Outcome | null = null
  /** reason detail for the log (e.g. the socket error code), slow path only */
  detail: string | null = null
  helloTimer: NodeJS.Timeout | null = null
  connectTimer: NodeJS.Timeout | null = null
  /** performance.now() at accept, hello complete, origin connected */
  tAccept: number
  tHello = 0
  tConnect = 0
  bytesUp = 0
  bytesDown = 0
  /** route target, -2 when the default route was used, -1 when none */
  target = -1
  /** matched pattern (or 'default'), a shared string from the route state */
  route: string | null = null
  /** TCP segments (data events) the hello arrived in */
  helloChunks = 0
  originHost = ''
  originPort = 0
  /** strings for the access log, filled only when access logging is on */
  clientAddr: string | null = null
  sni: string | null = null
  alpn: string | null = null
  /** client FIN arrived while the origin connect was in progress */
  clientEnded = false
  /** sockets still open (client, plus origin once created) */
  openSockets = 1

  constructor (ctx: RelayContext, client: SessionSocket, now: number) {
    this.ctx = ctx
    this.client = client
    this.assembler = new HelloAssembler(ctx.options.maxHelloBytes)
    this.tAccept = now
  }
}
