/**
 * node:tls (OpenSSL) as a ClientHello oracle for parser tests (tcpproxy's "let the stdlib parse it"
 * idea, used only in tests).
 *
 * Contract: `startHelloOracle()` listens on 127.0.0.1:0; `ask(wire)` writes `wire` raw from a plain net
 * socket and reports what OpenSSL, acting as the server, made of it:
 *  - `sni`: OpenSSL parsed the whole hello and handed `name` to `SNICallback` (verbatim: case and a
 *    trailing dot kept);
 *  - `no-sni`: OpenSSL accepted the hello and answered with a ServerHello without calling `SNICallback`.
 *    So that "accepted" depends on parsing and not on what the hello offers, the oracle is as willing as
 *    OpenSSL can be: TLS 1.0 and up, every cipher at security level 0, a P-256 certificate and an RSA one
 *    (static RSA answers hellos without extensions: SSLv2-compatible ones, bare TLS 1.2 ones);
 *  - `rejected`: OpenSSL refused to go on; `code` is the error's code (`ERR_SSL_BAD_EXTENSION`, …) or its
 *    message when it has none. Refusals to negotiate (`ERR_SSL_NO_SHARED_CIPHER`,
 *    `ERR_SSL_UNSUPPORTED_PROTOCOL`) land here too: the code tells a parse error from a negotiation one.
 * Each connection gets its own server-side TLSSocket, so a late error from one hello can never be
 * counted against the next. Node skips `SNICallback` for an empty server name, so an empty host_name
 * reads as `no-sni` here.
 * Limits: one `ask` at a time per oracle; each answer must come within ORACLE_TIMEOUT_MS.
 */
import { readFileSync } from 'node:fs'
import net from 'node:net'
import tls from 'node:tls'
import { getTestCert } from './certs.ts'

const CERTS = new URL('../fixtures/certs/', import.meta.url)

/** ms. An answer takes a few ms on loopback; this only bounds a hello that leaves OpenSSL waiting. */
const ORACLE_TIMEOUT_MS = 5000
/** TLS ContentType handshake(22), RFC 8446 §5.1 */
const RECORD_HANDSHAKE = 22
/** HandshakeType server_hello(2), RFC 8446 §4 (a HelloRetryRequest has the same type) */
const HS_SERVER_HELLO = 2

export type OracleAnswer =
  | { readonly kind: 'sni', readonly name: string }
  | { readonly kind: 'no-sni' }
  | { readonly kind: 'rejected', readonly code: string }

export interface HelloOracle {
  ask: (wire: Buffer) => Promise<OracleAnswer>
  close: () => Promise<void>
}

/** what the server side saw on one connection; keyed by the client's port */
class ServerSeen {
  sni: string | null = null
  error: Error | null = null
  closed: Promise<void>
  markClosed: () => void = () => {}
  constructor () {
    this.closed = new Promise((resolve) => { this.markClosed = resolve })
  }
}

export async function startHelloOracle (): Promise<HelloOracle> {
  const ec = getTestCert(['oracle.hellogate.test'])
  const secureContext = tls.createSecureContext({
    key: [ec.key, readFileSync(new URL('oracle-rsa-key.pem', CERTS), 'utf8')],
    cert: [ec.cert, readFileSync(new URL('oracle-rsa-cert.pem', CERTS), 'utf8')],
    ciphers: 'ALL:@SECLEVEL=0',
    minVersion: 'TLSv1',
  })
  const seen = new Map<number, ServerSeen>()
  const slot = (port: number): ServerSeen => {
    let s = seen.get(port)
    if (s === undefined) { s = new ServerSeen(); seen.set(port, s) }
    return s
  }

  const server = net.createServer((raw) => {
    const s = slot(raw.remotePort ?? -1)
    const t = new tls.TLSSocket(raw, {
      isServer: true,
      secureContext,
      SNICallback: (name, cb) => {
        s.sni = name
        cb(new Error('oracle: stop after SNI'))
      },
    })
    t.on('error', (err) => { s.error ??= err })
    t.on('close', () => { s.markClosed() })
  })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const port = (server.address() as net.AddressInfo).port

  const ask = async (wire: Buffer): Promise<OracleAnswer> => {
    let local = -1 // the client's port names this hello on the server side; read it while connected
    const sock = net.connect(port, '127.0.0.1', () => { local = sock.localPort ?? -1; sock.write(wire) })
    let head = Buffer.alloc(0)
    const serverHello = (): boolean => head.length >= 6 && head[0] === RECORD_HANDSHAKE && head[5] === HS_SERVER_HELLO
    sock.on('data', (d: Buffer) => {
      if (head.length < 6) head = Buffer.concat([head, d])
      if (serverHello()) sock.destroy() // OpenSSL went on with the handshake: enough to know
    })
    sock.on('end', () => { sock.destroy() })
    sock.on('error', () => {})
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { sock.destroy(); reject(new Error('oracle timeout')) }, ORACLE_TIMEOUT_MS)
    })
    try {
      await Promise.race([new Promise((resolve) => sock.on('close', resolve)), timeout])
      const s = slot(local)
      await Promise.race([s.closed, timeout])
      seen.delete(local)
      if (s.sni !== null) return { kind: 'sni', name: s.sni }
      if (serverHello()) return { kind: 'no-sni' }
      const e = s.error as (Error & { code?: string }) | null
      return { kind: 'rejected', code: e?.code ?? e?.message ?? 'closed without error' }
    } finally {
      clearTimeout(timer)
    }
  }

  const close = async (): Promise<void> => {
    await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  }
  return { ask, close }
}
