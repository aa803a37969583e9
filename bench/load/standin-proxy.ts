/**
 * Stand-in "minimal Node proxy": the simplest plain-Node SNI passthrough, same CLI shape as hellogate.
 *
 * Usage: `node bench/load/standin-proxy.ts serve --config FILE.yaml`
 *
 * Purpose: (1) lets the load/peer harness run end to end before `dist/cli.js` exists; (2) stays as
 * the "minimal Node proxy" baseline row in `bench:peers`, i.e. what hellogate must beat to justify
 * its own hello parser, route matcher and relay.
 *
 * Contract: reads `listen`, `routes`, `default` (`reject` or `host:port`), `timeouts.hello` and
 * `limits.maxHelloBytes` / `limits.maxConnections` from the YAML; `workers`, `accept`, `log` and the
 * other timeouts are accepted and ignored (one process, one thread). Per connection: buffer bytes
 * until the first TLS record is complete, pull `server_name` out of the ClientHello, look the exact
 * lower-cased name up, `net.connect` to the origin, write the buffered bytes, then `pipe()` both ways.
 * No route / not a ClientHello / timeout → destroy the client socket. SIGTERM/SIGINT: close and exit.
 *
 * Limits (deliberately crude, this is a baseline, not the product): only the *first* record is
 * parsed (a ClientHello split over records is rejected — STYLE C.10 anti-pattern, kept on purpose),
 * no wildcard routes, `Buffer.concat` per chunk while buffering, no metrics, no idle timeout.
 */
import net from 'node:net'
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { parse as parseYaml } from 'yaml'

/** RFC 8446 §5.1: TLSPlaintext header is type(1) version(2) length(2). */
const RECORD_HEADER_LEN = 5
const CONTENT_TYPE_HANDSHAKE = 22 // ContentType.handshake
const HANDSHAKE_CLIENT_HELLO = 1 // HandshakeType.client_hello
const EXT_SERVER_NAME = 0 // ExtensionType.server_name, RFC 6066 §3
const NAME_TYPE_HOST_NAME = 0 // NameType.host_name, RFC 6066 §3
/** Defaults when the YAML omits them (same numbers as hellogate's documented defaults). */
const DEFAULT_HELLO_TIMEOUT_MS = 5_000
const DEFAULT_MAX_HELLO_BYTES = 16_384

interface StandinConfig {
  host: string
  port: number
  routes: Map<string, { host: string, port: number }>
  fallback: { host: string, port: number } | undefined
  helloTimeoutMs: number
  maxHelloBytes: number
  maxConnections: number
}

function hostPort (s: string): { host: string, port: number } {
  const i = s.lastIndexOf(':')
  if (i < 0) throw new Error(`expected host:port, got ${s}`)
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) }
}

/** "5s" | "5m" | "250ms" | number(ms) → milliseconds. */
function duration (v: unknown, fallback: number): number {
  if (typeof v === 'number') return v
  if (typeof v !== 'string') return fallback
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v.trim())
  if (m === null) return fallback
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h']
  return Number(m[1]) * unit
}

function loadConfig (file: string): StandinConfig {
  const raw = parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown>
  const listen = hostPort(String(raw.listen ?? '127.0.0.1:0'))
  const routes = new Map<string, { host: string, port: number }>()
  for (const [name, target] of Object.entries((raw.routes ?? {}) as Record<string, string>)) {
    routes.set(name.toLowerCase(), hostPort(target))
  }
  const def = raw.default
  const timeouts = (raw.timeouts ?? {}) as Record<string, unknown>
  const limits = (raw.limits ?? {}) as Record<string, unknown>
  return {
    ...listen,
    routes,
    fallback: typeof def === 'string' && def !== 'reject' ? hostPort(def) : undefined,
    helloTimeoutMs: duration(timeouts.hello, DEFAULT_HELLO_TIMEOUT_MS),
    maxHelloBytes: typeof limits.maxHelloBytes === 'number' ? limits.maxHelloBytes : DEFAULT_MAX_HELLO_BYTES,
    maxConnections: typeof limits.maxConnections === 'number' ? limits.maxConnections : 100_000,
  }
}

/**
 * SNI from a buffer holding one complete TLS record. Returns the host name, `null` when the hello
 * has no SNI, or `undefined` when the bytes are not a parsable ClientHello.
 */
function extractSni (b: Buffer): string | null | undefined {
  // RFC 8446 §5.1 record header, then §4 Handshake header: msg_type(1) length(3)
  if (b[0] !== CONTENT_TYPE_HANDSHAKE || b[RECORD_HEADER_LEN] !== HANDSHAKE_CLIENT_HELLO) return undefined
  const end = RECORD_HEADER_LEN + b.readUInt16BE(3)
  // RFC 8446 §4.1.2 ClientHello: legacy_version(2) random(32) legacy_session_id<0..32>
  let p = RECORD_HEADER_LEN + 4 + 2 + 32
  if (p + 1 > end) return undefined
  p += 1 + (b[p] ?? 0) // legacy_session_id
  if (p + 2 > end) return undefined
  p += 2 + b.readUInt16BE(p) // cipher_suites<2..2^16-2>
  if (p + 1 > end) return undefined
  p += 1 + (b[p] ?? 0) // legacy_compression_methods<1..2^8-1>
  if (p + 2 > end) return null // no extensions at all
  const extEnd = Math.min(end, p + 2 + b.readUInt16BE(p))
  p += 2
  while (p + 4 <= extEnd) {
    const type = b.readUInt16BE(p)
    const len = b.readUInt16BE(p + 2)
    p += 4
    if (p + len > extEnd) return undefined
    if (type === EXT_SERVER_NAME) {
      // RFC 6066 §3 ServerNameList: list length(2), then name_type(1) HostName<1..2^16-1>
      let q = p + 2
      while (q + 3 <= p + len) {
        const nameType = b[q]
        const nameLen = b.readUInt16BE(q + 1)
        q += 3
        if (q + nameLen > p + len) return undefined
        if (nameType === NAME_TYPE_HOST_NAME) return b.toString('latin1', q, q + nameLen).toLowerCase()
        q += nameLen
      }
      return null
    }
    p += len
  }
  return null
}

function serve (cfg: StandinConfig): net.Server {
  const server = net.createServer({ noDelay: true }, (client) => {
    let buf: Buffer = Buffer.alloc(0)
    const timer = setTimeout(() => { client.destroy() }, cfg.helloTimeoutMs)
    client.on('error', () => { client.destroy() })
    const onData = (chunk: Buffer): void => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk])
      if (buf.length > cfg.maxHelloBytes) { clearTimeout(timer); client.destroy(); return }
      if (buf.length < RECORD_HEADER_LEN) return
      const recordEnd = RECORD_HEADER_LEN + buf.readUInt16BE(3)
      if (buf.length < recordEnd) return
      client.off('data', onData)
      client.pause()
      clearTimeout(timer)
      const sni = extractSni(buf)
      const target = typeof sni === 'string' ? (cfg.routes.get(sni) ?? cfg.fallback) : cfg.fallback
      if (sni === undefined || target === undefined) { client.destroy(); return }
      const upstream = net.connect({ host: target.host, port: target.port, noDelay: true })
      upstream.on('error', () => { upstream.destroy(); client.destroy() })
      // After a clean end, pipe() has already called end() on the other side: let it flush.
      // After an abrupt close (error/reset), tear the other side down.
      client.on('close', () => { if (!upstream.writableEnded) upstream.destroy() })
      upstream.on('close', () => { if (!client.writableEnded) client.destroy() })
      upstream.once('connect', () => {
        upstream.write(buf)
        client.pipe(upstream)
        upstream.pipe(client)
        client.resume()
      })
    }
    client.on('data', onData)
  })
  server.maxConnections = cfg.maxConnections
  return server
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { config: { type: 'string' } },
})
if (positionals[0] !== 'serve' || values.config === undefined) {
  process.stderr.write('usage: standin-proxy.ts serve --config FILE.yaml\n')
  process.exit(2)
}
const cfg = loadConfig(values.config)
const server = serve(cfg)
server.listen(cfg.port, cfg.host, () => {
  const a = server.address()
  process.stdout.write(`standin-proxy listening on ${typeof a === 'object' && a !== null ? `${a.address}:${a.port}` : String(a)}\n`)
})
const shutdown = (): void => {
  server.close()
  setImmediate(() => process.exit(0))
}
process.once('SIGTERM', shutdown)
process.once('SIGINT', shutdown)
