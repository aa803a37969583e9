/**
 * Benchmark TLS origin: a node:https server on 127.0.0.1, run as its own process.
 *
 * Usage: `node bench/load/origin.ts --port N [--cert PEM] [--key PEM]`
 *
 * Contract:
 * - `GET /` → 200 with a small fixed body (SMALL_BODY); `GET /1m` → 200 with exactly 1 MiB.
 *   Anything else → 404. Every response has Content-Length; HTTP/1.1 keep-alive is on, and a
 *   request with `Connection: close` gets the connection closed after its response (node:http).
 * - Idle connections (handshake done, no request yet) are kept: request/headers timeouts are off
 *   and the keep-alive timeout is long, so the idle-connection RSS test is not cut short.
 * - Prints `origin listening on 127.0.0.1:PORT` once ready. SIGTERM/SIGINT: close the listener,
 *   destroy every connection, exit 0.
 *
 * Limits: test certificate from bench/fixtures (never verified by the clients); single process,
 * single thread — pin it away from the proxy under test.
 */
import https from 'node:https'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const FIXTURES = path.resolve(here, '..', 'fixtures')

/** Small-response scenario body: a few bytes, so the test measures per-request overhead, not bytes. */
const SMALL_BODY = Buffer.from('hello from the bench origin\n')
/** Large-response scenario body: 1 MiB, to measure relay throughput. */
const ONE_MIB = 1024 * 1024
const BIG_BODY = Buffer.alloc(ONE_MIB, 0x61) // 'a'
/** Keep-alive timeout: longer than any scenario, so idle keep-alive connections are not reaped mid-run. */
const KEEP_ALIVE_TIMEOUT_MS = 10 * 60_000

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    cert: { type: 'string', default: path.join(FIXTURES, 'bench-cert.pem') },
    key: { type: 'string', default: path.join(FIXTURES, 'bench-key.pem') },
  },
})

const server = https.createServer({
  cert: readFileSync(values.cert),
  key: readFileSync(values.key),
  // Timeouts off: this is a benchmark origin, the harness bounds every phase itself.
  requestTimeout: 0,
  headersTimeout: 0,
  keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
}, (req, res) => {
  const body = req.url === '/' ? SMALL_BODY : req.url === '/1m' ? BIG_BODY : undefined
  if (body === undefined) {
    res.writeHead(404, { 'content-length': 0 })
    res.end()
    return
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length })
  res.end(body)
})
server.maxConnections = 1_000_000
server.on('tlsClientError', () => { /* clients that hang up mid-handshake are normal during teardown */ })

server.listen(Number(values.port), '127.0.0.1', () => {
  const addr = server.address()
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0
  process.stdout.write(`origin listening on 127.0.0.1:${port}\n`)
})

function shutdown (): void {
  server.close()
  server.closeAllConnections()
  setImmediate(() => process.exit(0))
}
process.once('SIGTERM', shutdown)
process.once('SIGINT', shutdown)
