/**
 * Origins that misbehave in the ways health checks must notice, all on 127.0.0.1:0, each with a
 * close() that destroys every socket it accepted:
 *  - startSilentOrigin: accepts TCP and never sends a byte (counts open connections, peak included);
 *  - startScriptedOrigin: connection i is answered by TLS or dropped, as script[i] says (flapping);
 *  - startProxyProtocolOrigin: requires a PROXY v1 or v2 header (as HAProxy `accept-proxy` or nginx
 *    `proxy_protocol` do), records it, then hands the socket to a node:tls server.
 */
import net from 'node:net'
import tls from 'node:tls'
import { Duplex } from 'node:stream'
import { V1ProxyProtocol, V2ProxyProtocol } from 'proxy-protocol-js'
import { getTestCert } from './certs.ts'

interface Tracked { sockets: Set<net.Socket>, close: () => Promise<void> }

async function listen (server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as net.AddressInfo).port
}

function track (server: net.Server): Tracked {
  const sockets = new Set<net.Socket>()
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => {}) })
  return {
    sockets,
    close: () => new Promise((resolve) => { for (const s of sockets) s.destroy(); server.close(() => { resolve() }) }),
  }
}

export interface SilentOrigin { port: number, accepted: number, open: () => number, peak: number, close: () => Promise<void> }

/** Accepts TCP, reads and ignores everything, never answers: a TLS check must time out on it. */
export async function startSilentOrigin (): Promise<SilentOrigin> {
  const server = net.createServer()
  const t = track(server)
  const o: SilentOrigin = { port: 0, accepted: 0, open: () => t.sockets.size, peak: 0, close: t.close }
  server.on('connection', (s) => {
    o.accepted++
    o.peak = Math.max(o.peak, t.sockets.size)
    s.resume()
  })
  o.port = await listen(server)
  return o
}

function tlsServer (names: string[], servernames: string[]): tls.Server {
  const { cert, key } = getTestCert(names)
  const server = tls.createServer({ cert, key, SNICallback: (sn, cb) => { servernames.push(sn); cb(null, null as never) } })
  server.on('tlsClientError', () => {})
  server.on('secureConnection', (s) => { s.on('error', () => {}) })
  return server
}

export interface ScriptedOrigin { port: number, accepted: number, servernames: string[], close: () => Promise<void> }

/**
 * Connection i gets TLS when script[i % script.length] is true, and is destroyed at once (a failed
 * check) when it is false: a flapping server whose every check outcome the test chooses.
 */
export async function startScriptedOrigin (names: string[], script: readonly boolean[]): Promise<ScriptedOrigin> {
  const servernames: string[] = []
  const secure = tlsServer(names, servernames)
  const server = net.createServer()
  const t = track(server)
  const o: ScriptedOrigin = { port: 0, accepted: 0, servernames, close: t.close }
  server.on('connection', (s) => {
    const good = script[o.accepted % script.length]!
    o.accepted++
    if (good) secure.emit('connection', s)
    else s.destroy()
  })
  o.port = await listen(server)
  return o
}

export interface ProxyProtocolOrigin {
  port: number
  /** parsed headers, one per connection that sent a valid one */
  headers: Array<V1ProxyProtocol | V2ProxyProtocol>
  /** connections refused because they did not start with a header of the expected version */
  refused: number
  servernames: string[]
  close: () => Promise<void>
}

/**
 * The socket as a Duplex that first yields `rest` (bytes read past the header). node:tls reads a
 * net.Socket's handle directly in C++, where bytes JavaScript has already read (or unshifted) are
 * never seen; a JS Duplex goes through node:tls' JS stream path instead.
 */
function afterHeader (s: net.Socket, rest: Buffer): Duplex {
  const d = new Duplex({
    write (chunk: Buffer, _enc, cb) { s.write(chunk, cb) },
    read () { s.resume() },
    final (cb) { s.end(); cb() },
    destroy (err, cb) { s.destroy(); cb(err) },
  })
  if (rest.length > 0) d.push(rest)
  s.on('data', (chunk: Buffer) => { if (!d.push(chunk)) s.pause() })
  s.on('end', () => d.push(null))
  s.on('close', () => d.destroy())
  return d
}

const V2_SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex')

/**
 * Requires a PROXY header of `version` before the TLS bytes, like an origin behind HAProxy's
 * `accept-proxy`: anything else is dropped. A valid header is parsed (proxy-protocol-js), recorded,
 * and the rest of the stream goes to a node:tls server.
 */
export async function startProxyProtocolOrigin (version: 1 | 2, names: string[]): Promise<ProxyProtocolOrigin> {
  const servernames: string[] = []
  const secure = tlsServer(names, servernames)
  const server = net.createServer()
  const t = track(server)
  const o: ProxyProtocolOrigin = { port: 0, headers: [], refused: 0, servernames, close: t.close }
  const parsed = (parse: () => V1ProxyProtocol | V2ProxyProtocol): boolean => {
    try { o.headers.push(parse()); return true } catch { return false }
  }
  server.on('connection', (s) => {
    let buf = Buffer.alloc(0)
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d])
      let used = -1
      if (version === 2) {
        if (buf.length < 16) return
        if (!buf.subarray(0, 12).equals(V2_SIG)) { used = 0 } else {
          const total = 16 + buf.readUInt16BE(14)
          if (buf.length < total) return
          used = parsed(() => V2ProxyProtocol.parse(buf.subarray(0, total))) ? total : 0
        }
      } else {
        const crlf = buf.indexOf('\r\n')
        if (crlf < 0) { if (buf.length > 107 || !'PROXY '.startsWith(buf.subarray(0, 6).toString('latin1'))) used = 0; else return } else {
          const line = buf.subarray(0, crlf + 2).toString('latin1')
          if (!line.startsWith('PROXY ')) used = 0
          else used = parsed(() => V1ProxyProtocol.parse(line)) ? crlf + 2 : 0
        }
      }
      s.removeListener('data', onData)
      if (used === 0) { o.refused++; s.destroy(); return }
      secure.emit('connection', afterHeader(s, buf.subarray(used)))
    }
    s.on('data', onData)
  })
  o.port = await listen(server)
  return o
}
