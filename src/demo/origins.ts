/**
 * Demo TLS origins: HTTPS servers (node:https, i.e. tls.Server) that each hold their OWN throwaway
 * certificate and answer every request with a body naming themselves and the SNI they were asked for:
 *   `hello from origin alpha (alpha.demo.hellogate.test)\n`
 * Behind hellogate this shows that the origin, not the proxy, completed the TLS handshake.
 * `GET /bytes/N` answers N bytes instead (at most MAX_BULK_BYTES): the body `hellogate bench --mode bulk`
 * reads to measure throughput through the proxy.
 *
 * Contract: `startDemoOrigin(opts)` listens on `host` (default 127.0.0.1) port `port` (default 0) and
 * resolves once bound; `close()` stops it and destroys open connections. `startDemoOrigins()` starts the
 * two origins the demo routes to (alpha, beta). Used by the demo, tests and load benchmarks.
 *
 * Limits: HTTP/1.1 only (ALPN offers `http/1.1`), keep-alive on; not meant to be fast or hardened.
 */
import { createServer } from 'node:https'
import type { Server } from 'node:https'
import type { ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'

import { generateSelfSignedCert } from './cert.ts'
import type { SelfSignedCert } from './cert.ts'

/** Parent domain of every demo name. `.test` is reserved (RFC 2606 §2): it can never resolve publicly. */
export const DEMO_DOMAIN = 'demo.hellogate.test'

/** The names the demo routes, and which origin each belongs to. */
export const DEMO_NAMES = {
  alpha: `alpha.${DEMO_DOMAIN}`,
  beta: `beta.${DEMO_DOMAIN}`,
  betaWildcard: `*.beta.${DEMO_DOMAIN}`,
} as const

/** largest /bytes/N body: 1 GiB, a long bulk read, still bounded */
export const MAX_BULK_BYTES = 1024 * 1024 * 1024
/** bulk body chunk: the size of a full TLS record's worth of writes, reused for every write */
const BULK_CHUNK = Buffer.alloc(64 * 1024, 0x61)
const BULK_PATH = /^\/bytes\/(\d{1,10})$/

/** Stream `left` bytes of BULK_CHUNK, waiting for drain: memory stays at one chunk per response. */
function writeBulk (res: ServerResponse, left: number): void {
  while (left > 0) {
    const n = Math.min(left, BULK_CHUNK.length)
    left -= n
    if (!res.write(n === BULK_CHUNK.length ? BULK_CHUNK : BULK_CHUNK.subarray(0, n))) {
      if (left > 0) res.once('drain', () => { writeBulk(res, left) })
      else res.end()
      return
    }
  }
  res.end()
}

export interface DemoOriginOptions {
  /** short name used in responses and logs (`alpha`) */
  label: string
  /** certificate names (first = CN); ignored when `cert` is given */
  names: readonly string[]
  /** default 127.0.0.1 */
  host?: string
  /** default 0 (any free port) */
  port?: number
  /** reuse a certificate instead of generating one */
  cert?: SelfSignedCert
}

export interface DemoOrigin {
  readonly label: string
  readonly host: string
  /** bound port */
  readonly port: number
  readonly cert: SelfSignedCert
  readonly server: Server
  /** TLS handshakes this origin completed (proof that the handshake reached it) */
  readonly handshakes: number
  /** the body it answers for a given SNI */
  bodyFor (servername: string | undefined): string
  close (): Promise<void>
}

/** Start one demo origin; resolves once it is listening. */
export async function startDemoOrigin (opts: DemoOriginOptions): Promise<DemoOrigin> {
  const cert = opts.cert ?? generateSelfSignedCert({ names: opts.names })
  const label = opts.label
  const host = opts.host ?? '127.0.0.1'
  const bodyFor = (servername: string | undefined): string =>
    `hello from origin ${label} (${servername === undefined || servername === '' ? 'no SNI' : servername})\n`
  let handshakes = 0

  const server = createServer({ cert: cert.cert, key: cert.key, ALPNProtocols: ['http/1.1'] }, (req, res) => {
    const bulk = BULK_PATH.exec(req.url ?? '')
    if (bulk !== null && Number(bulk[1]) <= MAX_BULK_BYTES) {
      const size = Number(bulk[1])
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size, 'x-hellogate-demo-origin': label })
      if (req.method === 'HEAD') res.end()
      else writeBulk(res, size)
      return
    }
    const servername = (req.socket as TLSSocket).servername
    const body = bodyFor(typeof servername === 'string' ? servername : undefined)
    res.writeHead(200, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'x-hellogate-demo-origin': label,
    })
    res.end(req.method === 'HEAD' ? undefined : body)
  })
  server.on('secureConnection', () => { handshakes++ })
  // a client that gives up mid-handshake (e.g. rejected by the proxy's peer) is not this origin's problem
  server.on('tlsClientError', () => {})

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host, port: opts.port ?? 0 }, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port

  let closing: Promise<void> | undefined
  return {
    label,
    host,
    port,
    cert,
    server,
    get handshakes () { return handshakes },
    bodyFor,
    close () {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => { resolve() })
        server.closeAllConnections()
      })
      return closing
    },
  }
}

export interface DemoOrigins {
  /** serves alpha.demo.hellogate.test */
  alpha: DemoOrigin
  /** serves beta.demo.hellogate.test and *.beta.demo.hellogate.test */
  beta: DemoOrigin
  close (): Promise<void>
}

/** Start the demo's two origins on `host` (default 127.0.0.1), each on a free port with its own cert. */
export async function startDemoOrigins (opts: { host?: string } = {}): Promise<DemoOrigins> {
  const host = opts.host ?? '127.0.0.1'
  const alpha = await startDemoOrigin({ label: 'alpha', names: [DEMO_NAMES.alpha], host })
  let beta: DemoOrigin
  try {
    beta = await startDemoOrigin({ label: 'beta', names: [DEMO_NAMES.beta, DEMO_NAMES.betaWildcard], host })
  } catch (err) {
    await alpha.close()
    throw err
  }
  return {
    alpha,
    beta,
    async close () { await Promise.all([alpha.close(), beta.close()]) },
  }
}
