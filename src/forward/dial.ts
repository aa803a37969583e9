/**
 * forward/dial — forward routes: connect to the name the client asked for (SNI, or Host on a plain-HTTP
 * listener), through the fence (fence.ts). The worker-side glue; the rules are fence.ts's.
 *
 * Order, every step able to refuse, nothing dialed before the last:
 *  1. the name must be under one of forward.suffixes (checked again here, not only at config load);
 *  2. resolve A and AAAA with a c-ares `dns.Resolver` (forward.resolvers, else the system's servers; no
 *     /etc/hosts, no search domains), each query bounded by forward.timeout and the whole lookup by one
 *     deadline;
 *  3. every resolved address must pass the fence: one refused address refuses the name (an answer that
 *     mixes a public address with a private one is a rebinding attempt, not a name to pick from);
 *  4. the first address (IPv4 answers first) that is not one of our own listeners is dialed, as an IP
 *     literal: the socket never resolves again, so the address checked is the address connected to.
 * Refusals are `forward_refused` (the caller's `refuse` sends its reply: nothing for TLS, 403 for HTTP);
 * a name that does not resolve, or not in time, is `origin_connect_failed` with reason `dns_<code>`.
 *
 * Limits: one lookup per connection (no cache: a cache would keep answers past their TTL and this path
 * is not the hot one); the fence is built once per worker and config (`configure`).
 */
import { Resolver } from 'node:dns'
import { networkInterfaces } from 'node:os'
import type { ForwardConfig } from '../config/types.ts'
import { Outcome } from '../metrics/outcomes.ts'
import type { Session } from '../relay/session.ts'
import { clientGone, setOutcome, SessionState } from '../relay/session.ts'
import { destroyClient } from '../relay/splice.ts'
import { addressAllowed, buildFence, nameAllowed, selfLoop, type AddressFence, type Listener } from './fence.ts'

/** Which of forward's ports a session dials. */
export const ForwardPort = {
  Tls: 0,
  Http: 1,
} as const
export type ForwardPort = typeof ForwardPort[keyof typeof ForwardPort]

/** The caller's refusal (accept.ts rejectClient, http/relay.ts rejectHttp): outcome recorded, reply sent. */
export type Refuse = (s: Session, outcome: Outcome) => void

/** Per worker: the fence and resolver of the forward config in force. */
class ForwardRuntime {
  readonly config: ForwardConfig
  readonly fence: AddressFence
  readonly resolver: Resolver

  constructor (config: ForwardConfig, fence: AddressFence) {
    this.config = config
    this.fence = fence
    // tries 1: forward.timeout bounds each query; c-ares would otherwise retry with doubling timeouts
    this.resolver = new Resolver({ timeout: config.timeoutMs, tries: 1 })
    if (config.resolvers.length > 0) this.resolver.setServers([...config.resolvers])
  }
}

let runtime: ForwardRuntime | null = null
let listeners: readonly Listener[] = []

/** This worker's bound listeners (TLS and HTTP), for the loop rule; called once they listen. */
export function setOwnListeners (bound: readonly Listener[]): void {
  listeners = bound
  runtime = null
}

/** This host's interface addresses (zone ids dropped). */
function interfaceAddresses (): string[] {
  const out: string[] = []
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) out.push(a.address.split('%')[0]!)
  }
  return out
}

function runtimeFor (config: ForwardConfig): ForwardRuntime | null {
  if (runtime !== null && runtime.config === config) return runtime
  const fence = buildFence(config.allow, [...interfaceAddresses(), ...listeners.map((l) => l.host)], listeners)
  runtime = fence === null ? null : new ForwardRuntime(config, fence)
  return runtime
}

/**
 * Dial a forward route for session `s` (routed, client paused, state Connecting): the name is the SNI or
 * Host as the client sent it. Ends in ctx.connect (the one connector) or in `refuse` / a failed outcome.
 */
export function forwardSession (s: Session, name: string, which: ForwardPort, refuse: Refuse): void {
  const config = s.ctx.state.forward ?? null
  const rt = config === null ? null : runtimeFor(config)
  const lower = name.toLowerCase()
  if (rt === null || !nameAllowed(lower, rt.config.suffixes)) {
    s.detail = 'name'
    refuse(s, Outcome.ForwardRefused)
    return
  }
  new Lookup(s, rt, lower.endsWith('.') ? lower.slice(0, -1) : lower, which === ForwardPort.Tls ? rt.config.port : rt.config.httpPort, refuse).start()
}

/** One lookup: both queries, one deadline, then the fence (module header). Slow path: closures are fine here. */
class Lookup {
  readonly s: Session
  readonly rt: ForwardRuntime
  readonly name: string
  readonly port: number
  readonly refuse: Refuse
  v4: string[] | null = null
  v6: string[] | null = null
  /** first error code (when both queries fail) */
  error: string | null = null
  pending = 2
  done = false
  timer: NodeJS.Timeout | null = null

  constructor (s: Session, rt: ForwardRuntime, name: string, port: number, refuse: Refuse) {
    this.s = s
    this.rt = rt
    this.name = name
    this.port = port
    this.refuse = refuse
  }

  start (): void {
    // both queries run at once: the deadline is one timeout, whatever the servers do
    this.timer = setTimeout(() => { this.finish('dns_timeout') }, this.rt.config.timeoutMs + 50)
    this.rt.resolver.resolve4(this.name, (err, addrs) => { this.answer(err, addrs, 4) })
    this.rt.resolver.resolve6(this.name, (err, addrs) => { this.answer(err, addrs, 6) })
  }

  answer (err: NodeJS.ErrnoException | null, addrs: string[], family: 4 | 6): void {
    if (this.done) return
    if (err === null) {
      if (family === 4) this.v4 = addrs
      else this.v6 = addrs
    } else if (err.code !== 'ENODATA' && err.code !== 'ENOTFOUND') {
      this.error ??= err.code ?? 'error'
    }
    if (--this.pending === 0) this.finish(null)
  }

  finish (timeout: string | null): void {
    if (this.done) return
    this.done = true
    if (this.timer !== null) clearTimeout(this.timer)
    const s = this.s
    // the client left while we were resolving: its close already ended the session
    if (clientGone(s) || s.state !== SessionState.Connecting) return
    const all = [...(this.v4 ?? []), ...(this.v6 ?? [])]
    if (timeout !== null || all.length === 0) {
      setOutcome(s, Outcome.OriginConnectFailed)
      s.detail = timeout ?? 'dns_' + (this.error ?? 'no_address').toLowerCase()
      destroyClient(s)
      return
    }
    const fence = this.rt.fence
    for (const a of all) {
      if (!addressAllowed(fence, a)) {
        s.detail = 'address ' + a
        this.refuse(s, Outcome.ForwardRefused)
        return
      }
    }
    const target = all.find((a) => !selfLoop(fence, a, this.port))
    if (target === undefined) {
      s.detail = 'loop ' + all[0]! + ':' + String(this.port)
      this.refuse(s, Outcome.ForwardRefused)
      return
    }
    s.originHost = target
    s.originPort = this.port
    s.ctx.connect(s)
  }
}
