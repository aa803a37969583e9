/**
 * upstreams/probe — one probe of one server: a TCP connect, or a TLS ClientHello answered by a
 * ServerHello. Used by the active health checks (health.ts) and by `hellogate check --probe`
 * (coalesce.ts). Main thread, a few per interval: clarity over allocation here.
 *
 * Contract: `probeServer(options)` resolves (never rejects, never throws) with { ok, reason, detail,
 * names, ms } after at most `timeoutMs`; every socket it opened is destroyed by then.
 *  - `tcp`: ok once the TCP connect completes.
 *  - `tls`: node:tls writes a real ClientHello (SNI = `servername`, no certificate verification: only
 *    whether the origin answers the hello for that name matters). The bytes coming back are watched
 *    on the raw socket, below TLS: a handshake record (22) whose first message is a ServerHello (2;
 *    a TLS 1.3 HelloRetryRequest has the same type and is an answer too) → ok; an alert record (21)
 *    → `alert` with its description; anything else → `not_tls`; close, reset or the deadline first
 *    → `closed` / `reset` / `timeout`. With `certificate: true` it then completes the handshake and
 *    reports the certificate's DNS names (still within the deadline; ok stays ok without them).
 *  - PROXY protocol: when the pool sends it, the probe sends it first, as HAProxy's check-send-proxy
 *    does, because such origins refuse anything else. v2: the LOCAL command (§2.2: "the connection was
 *    established on purpose by the proxy … such connections exist when the proxy sends
 *    health-checks"). v1 has no LOCAL: the line carries the probe socket's own addresses, as the
 *    spec's §2.1 asks ("When a load balancing proxy has to send health checks to a server, it SHOULD
 *    build a valid PROXY line which it will fill with a getsockname()/getpeername() pair"); HAProxy
 *    sends `PROXY UNKNOWN` here, which that paragraph says some receivers reject.
 *
 * How the bytes are watched: node:tls reads an underlying net.Socket inside C++, out of JavaScript's
 * sight, so the TLS socket is given a small Duplex (Tap) that forwards both ways and looks at the
 * first bytes from the server on their way up.
 */
import net from 'node:net'
import tls from 'node:tls'
import { Duplex } from 'node:stream'
import { buildProxyHeader, ProxyHeaderFields } from '../proxyproto/index.ts'
import type { ProxyProtocolMode } from './types.ts'

export const ProbeReason = {
  Ok: 'ok',
  /** the connect was refused (nothing listens) */
  Refused: 'refused',
  /** no connect, or no answer to the hello, before the deadline */
  Timeout: 'timeout',
  /** the server reset the connection */
  Reset: 'reset',
  /** the server closed before answering */
  Closed: 'closed',
  /** the server answered the hello with a TLS alert (detail: its description number) */
  Alert: 'alert',
  /** the server answered with something that is not a TLS handshake */
  NotTls: 'not_tls',
  /** another socket error (detail: its code) */
  Error: 'error',
  /** the probe was cancelled (monitor stopped) */
  Aborted: 'aborted',
} as const
export type ProbeReason = typeof ProbeReason[keyof typeof ProbeReason]

export interface ProbeOptions {
  host: string
  port: number
  check: 'tcp' | 'tls'
  timeoutMs: number
  /** SNI of the ClientHello; '' (or an IP address, which RFC 6066 §3 forbids as SNI) sends none */
  servername: string
  proxyProtocol: ProxyProtocolMode
  /** tls only: finish the handshake and report the certificate's DNS names */
  certificate?: boolean
  /** tls only: ALPN protocols to offer (none by default) */
  alpn?: readonly string[]
  signal?: AbortSignal
}

export interface ProbeResult {
  ok: boolean
  reason: ProbeReason
  /** alert description, socket error code, … (null when none) */
  detail: string | null
  /** with `certificate`: the DNS names of the server's certificate (null when not read) */
  names: string[] | null
  /** ms from start to result */
  ms: number
}

/** TLS record content types (RFC 8446 §5.1) and the ServerHello message type (§4) */
const RECORD_HANDSHAKE = 22
const RECORD_ALERT = 21
const HANDSHAKE_SERVER_HELLO = 2
/** record header (5) + handshake type (1); an alert needs level + description (7) */
const ANSWER_BYTES = 6
const ALERT_BYTES = 7

/** Forwards a TLS socket's bytes to and from `raw`, so the first server bytes can be inspected. */
class Tap extends Duplex {
  readonly raw: net.Socket

  constructor (raw: net.Socket) {
    super()
    this.raw = raw
  }

  override _write (chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.raw.write(chunk, callback)
  }

  override _read (): void {
    this.raw.resume()
  }

  override _final (callback: (error?: Error | null) => void): void {
    this.raw.end()
    callback()
  }

  override _destroy (error: Error | null, callback: (error?: Error | null) => void): void {
    this.raw.destroy()
    callback(error)
  }
}

/** DNS names in Node's subjectAltName text (`DNS:a.example, DNS:"quoted", IP Address:…`). */
export function dnsNamesFromAltNames (altNames: string | undefined): string[] {
  const out: string[] = []
  if (altNames === undefined) return out
  // Node quotes a value (JSON) when it holds characters that could be confused with the separators
  const re = /(?:^|, )DNS:("(?:[^"\\]|\\.)*"|[^,]*)/g
  for (let m = re.exec(altNames); m !== null; m = re.exec(altNames)) {
    const v = m[1]!
    try {
      out.push((v.startsWith('"') ? JSON.parse(v) as string : v).toLowerCase())
    } catch {
      // an unparsable quoted value is not a name we could match anyway
    }
  }
  return out
}

/** The DNS names (subjectAltName) of the certificate a completed TLS handshake received. */
export function peerCertificateNames (socket: tls.TLSSocket): string[] {
  return dnsNamesFromAltNames(socket.getPeerX509Certificate()?.subjectAltName)
}

function errorReason (err: NodeJS.ErrnoException): ProbeReason {
  if (err.code === 'ECONNREFUSED') return ProbeReason.Refused
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return ProbeReason.Reset
  return ProbeReason.Error
}

class Probe {
  readonly o: ProbeOptions
  readonly t0 = performance.now()
  readonly resolve: (r: ProbeResult) => void
  raw: net.Socket | null = null
  secure: tls.TLSSocket | null = null
  timer: NodeJS.Timeout | null = null
  done = false
  /** tls: the first bytes from the server, until they decide */
  head: Buffer = Buffer.alloc(0)
  answered = false

  constructor (o: ProbeOptions, resolve: (r: ProbeResult) => void) {
    this.o = o
    this.resolve = resolve
  }

  finish (ok: boolean, reason: ProbeReason, detail: string | null = null, names: string[] | null = null): void {
    if (this.done) return
    this.done = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.o.signal?.removeEventListener('abort', this.onAbort)
    this.secure?.destroy()
    this.raw?.destroy()
    this.resolve({ ok, reason, detail, names, ms: performance.now() - this.t0 })
  }

  readonly onAbort = (): void => { this.finish(false, ProbeReason.Aborted) }

  start (): void {
    if (this.o.signal?.aborted === true) { this.finish(false, ProbeReason.Aborted); return }
    this.o.signal?.addEventListener('abort', this.onAbort)
    this.timer = setTimeout(() => { this.finish(this.answered, this.answered ? ProbeReason.Ok : ProbeReason.Timeout) }, this.o.timeoutMs)
    const raw = net.connect({ host: this.o.host, port: this.o.port })
    this.raw = raw
    raw.on('error', (err: NodeJS.ErrnoException) => { this.finish(this.answered, this.answered ? ProbeReason.Ok : errorReason(err), err.code ?? err.message) })
    raw.on('close', () => { this.finish(this.answered, this.answered ? ProbeReason.Ok : ProbeReason.Closed) })
    raw.once('connect', () => { this.connected() })
  }

  proxyHeader (raw: net.Socket): Uint8Array | null {
    if (this.o.proxyProtocol === 'off') return null
    const f = new ProxyHeaderFields()
    if (this.o.proxyProtocol === 'v2') {
      f.local = true
    } else {
      f.srcAddress = raw.localAddress
      f.srcPort = raw.localPort ?? 0
      f.dstAddress = raw.remoteAddress
      f.dstPort = raw.remotePort ?? 0
    }
    const h = buildProxyHeader(this.o.proxyProtocol === 'v2' ? 2 : 1, f)
    return typeof h === 'number' ? null : h
  }

  connected (): void {
    const raw = this.raw!
    const header = this.proxyHeader(raw)
    if (this.o.check === 'tcp') {
      if (header !== null) raw.write(header)
      this.finish(true, ProbeReason.Ok)
      return
    }
    if (header !== null) raw.write(header)
    const tap = new Tap(raw)
    raw.on('data', (d: Buffer) => {
      if (!this.answered) this.inspect(d)
      if (!tap.push(d)) raw.pause()
    })
    raw.on('end', () => { tap.push(null) })
    const name = this.o.servername
    const secure = tls.connect({
      socket: tap,
      servername: name !== '' && net.isIP(name) === 0 ? name : '',
      rejectUnauthorized: false,
      ...(this.o.alpn !== undefined && this.o.alpn.length > 0 ? { ALPNProtocols: [...this.o.alpn] } : {}),
    })
    this.secure = secure
    secure.on('error', (err: NodeJS.ErrnoException) => { this.finish(this.answered, this.answered ? ProbeReason.Ok : errorReason(err), err.code ?? err.message) })
    secure.once('secureConnect', () => {
      this.finish(true, ProbeReason.Ok, null, this.o.certificate === true ? peerCertificateNames(secure) : null)
    })
  }

  /** Decide on the server's first bytes: ServerHello → ok, alert → alert, other → not_tls. */
  inspect (d: Buffer): void {
    this.head = this.head.length === 0 ? d : Buffer.concat([this.head, d])
    const h = this.head
    if (h.length < 1) return
    if (h[0] === RECORD_ALERT) {
      if (h.length >= ALERT_BYTES) this.finish(false, ProbeReason.Alert, String(h[6]))
      return
    }
    if (h[0] !== RECORD_HANDSHAKE) { this.finish(false, ProbeReason.NotTls, 'first byte ' + String(h[0])); return }
    if (h.length < ANSWER_BYTES) return
    if (h[5] !== HANDSHAKE_SERVER_HELLO) { this.finish(false, ProbeReason.NotTls, 'handshake type ' + String(h[5])); return }
    this.answered = true
    this.head = Buffer.alloc(0)
    // the hello was answered: that is the check; stay only to read the certificate
    if (this.o.certificate !== true) this.finish(true, ProbeReason.Ok)
  }
}

/** Probe one server (see the module header). Resolves within options.timeoutMs; never rejects. */
export function probeServer (options: ProbeOptions): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const p = new Probe(options, resolve)
    try {
      p.start()
    } catch (err) {
      // net.connect throws synchronously only for invalid options (a bad port): report, never throw
      p.finish(false, ProbeReason.Error, (err as Error).message)
    }
  })
}
