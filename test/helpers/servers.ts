/**
 * Test servers on 127.0.0.1:0: TLS origins with their own certificates, a recording TCP origin, an
 * origin that never accepts, and the proxy itself (in-process or as the real CLI child process).
 * Everything returned has a close() that the test must await (afterEach/afterAll).
 */
import net from 'node:net'
import tls from 'node:tls'
import { spawn, type ChildProcess } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { generateSelfSignedCert } from '../../src/demo/cert.ts'
import { parseConfig } from '../../src/config/index.ts'
import { startProxy, type ProxyHandle } from '../../src/pool/index.ts'

export const ROOT = new URL('../../', import.meta.url).pathname
export const NODE = join(ROOT, 'node_modules/.bin/node')

export interface TlsOrigin {
  name: string
  port: number
  cert: string
  /** SHA-256 fingerprint as X509Certificate prints it (AA:BB:...) */
  fingerprint: string
  /** server names seen by the origin's SNICallback, in order */
  servernames: string[]
  close: () => Promise<void>
}

/** A node:tls origin with its own certificate; answers any HTTP request with `origin <name>`. */
export async function startTlsOrigin (name: string, hostnames: string[]): Promise<TlsOrigin> {
  const { cert, key } = generateSelfSignedCert({ names: hostnames })
  const servernames: string[] = []
  const server = tls.createServer({
    cert,
    key,
    ALPNProtocols: ['http/1.1'],
    SNICallback: (sn, cb) => { servernames.push(sn); cb(null, null as never) },
  }, (socket) => {
    socket.on('error', () => {})
    let buf = ''
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1')
      if (buf.includes('\r\n\r\n')) {
        const body = 'origin ' + name + '\n'
        socket.end('HTTP/1.1 200 OK\r\nContent-Length: ' + String(body.length) + '\r\nConnection: close\r\n\r\n' + body)
        buf = ''
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const sockets = new Set<net.Socket>()
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  return {
    name,
    port: (server.address() as net.AddressInfo).port,
    cert,
    fingerprint: new X509Certificate(cert).fingerprint256,
    servernames,
    close: () => new Promise((resolve) => { for (const s of sockets) s.destroy(); server.close(() => { resolve() }) }),
  }
}

export interface RecordingOrigin {
  port: number
  /** one entry per accepted connection: every byte it received */
  received: Buffer[]
  connections: number
  /** resolves with the bytes of connection i once that connection has ended (FIN) */
  ended: (i: number) => Promise<Buffer>
  close: () => Promise<void>
}

/**
 * Plain TCP origin that records every byte per connection. `onEnd` decides what it does when the
 * client's FIN arrives (default: reply `got <n> bytes` and close), which the half-close tests use.
 */
export async function startRecordingOrigin (opts: { onConnection?: (s: net.Socket, index: number) => void } = {}): Promise<RecordingOrigin> {
  const received: Buffer[] = []
  const waiters = new Map<number, Array<(b: Buffer) => void>>()
  const endedSet = new Set<number>()
  const sockets = new Set<net.Socket>()
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    const index = received.length
    received.push(Buffer.alloc(0))
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    socket.on('data', (d: Buffer) => { received[index] = Buffer.concat([received[index]!, d]) })
    socket.on('end', () => {
      endedSet.add(index)
      for (const w of waiters.get(index) ?? []) w(received[index]!)
      if (opts.onConnection === undefined) socket.end('got ' + String(received[index]!.length) + ' bytes')
    })
    opts.onConnection?.(socket, index)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    received,
    get connections () { return received.length },
    ended: (i) => new Promise((resolve) => {
      if (endedSet.has(i)) { resolve(received[i]!); return }
      const list = waiters.get(i) ?? []
      list.push(resolve)
      waiters.set(i, list)
    }),
    close: () => new Promise((resolve) => { for (const s of sockets) s.destroy(); server.close(() => { resolve() }) }),
  }
}

/**
 * A port whose SYNs go unanswered: a child process listens with backlog 1 and is then stopped
 * (SIGSTOP), the accept queue is filled, and the kernel drops further SYNs — a connect to it hangs.
 * Loopback only; the child is killed by pid in close().
 */
export async function startBlackholeOrigin (): Promise<{ port: number, close: () => Promise<void> }> {
  const child = spawn(NODE, ['-e', "const s=require('net').createServer();s.listen({port:0,host:'127.0.0.1',backlog:1},()=>{process.stdout.write(String(s.address().port)+'\\n')})"], { stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise<number>((resolve) => {
    child.stdout!.once('data', (d: Buffer) => { resolve(Number(d.toString().trim())) })
  })
  process.kill(child.pid!, 'SIGSTOP')
  const fillers: net.Socket[] = []
  for (let i = 0; i < 4; i++) {
    const s = net.connect(port, '127.0.0.1')
    s.on('error', () => {})
    fillers.push(s)
  }
  await new Promise((resolve) => setTimeout(resolve, 200))
  return {
    port,
    close: async () => {
      for (const s of fillers) s.destroy()
      process.kill(child.pid!, 'SIGKILL')
      await new Promise((resolve) => { if (child.exitCode !== null || child.signalCode !== null) resolve(null); else child.once('exit', resolve) })
    },
  }
}

/** A port nothing listens on (bound then closed). */
export async function closedPort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

export interface ProxyOptions {
  accept?: 'reuseport' | 'handoff'
  workers?: number
  /** a route's value: host:port, a pool's name, or the long form `{ upstream, alpn }` */
  routes: Record<string, string | Record<string, unknown>>
  /** named pools (the `upstreams:` key) */
  upstreams?: Record<string, unknown>
  default?: string
  timeouts?: Record<string, string | number>
  limits?: Record<string, number | Record<string, number>>
  balance?: 'leastconn' | 'roundrobin'
  /** the `admin:` section, as written in a file */
  admin?: { listen: string, token?: string }
  /** the `quic:` section, as written in a file */
  quic?: Record<string, unknown>
}

export function rawConfig (o: ProxyOptions): Record<string, unknown> {
  return {
    listen: '127.0.0.1:0',
    workers: o.workers ?? 2,
    accept: o.accept ?? 'reuseport',
    ...(o.balance === undefined ? {} : { balance: o.balance }),
    ...(o.upstreams === undefined ? {} : { upstreams: o.upstreams }),
    routes: o.routes,
    default: o.default ?? 'reject',
    timeouts: { hello: '2s', connect: '2s', idle: '30s', ...o.timeouts },
    limits: { maxHelloBytes: 16384, maxConnections: 10000, ...o.limits },
    log: { level: 'silent', access: false },
    ...(o.admin === undefined ? {} : { admin: o.admin }),
    ...(o.quic === undefined ? {} : { quic: o.quic }),
  }
}

/** The proxy in this process (workers are real threads), silent logs; stats() reads its counters. */
export async function startTestProxy (o: ProxyOptions): Promise<ProxyHandle & { port: number }> {
  const config = parseConfig(rawConfig(o), '<test>')
  const handle = await startProxy(config, pino({ level: 'silent' }))
  return Object.assign(handle, { port: handle.addresses[0]!.port })
}

export interface CliProxy {
  port: number
  /** the config file it was started with (rewrite it and send SIGHUP to reload) */
  file: string
  child: ChildProcess
  /** parsed NDJSON log lines so far */
  logs: Array<Record<string, unknown>>
  /** wait until a log line matches */
  waitForLog: (pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number) => Promise<Record<string, unknown>>
  close: () => Promise<number | null>
}

/** The real CLI (`hellogate serve --config FILE`) as a child process; its stdout NDJSON is parsed. */
/**
 * ms. CliProxy.close sends SIGTERM, then SIGKILL after this: above the default drain deadline
 * (timeouts.shutdown 30 s) and its slack, so a proxy that drains as configured is never killed, while one
 * that hangs fails its test (exit code null instead of 0) instead of holding the run until CI's limit.
 */
export const CLI_PROXY_KILL_MS = 40_000

export async function startCliProxy (o: ProxyOptions, cli = join(ROOT, 'dist/cli.js'), rawOverride?: Record<string, unknown>, startTimeoutMs = 15_000): Promise<CliProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'hellogate-test-'))
  const file = join(dir, 'config.json')
  const raw = { ...(rawOverride ?? rawConfig(o)) }
  raw.log = { level: 'info', access: true }
  writeFileSync(file, JSON.stringify(raw))
  const child = spawn(NODE, [cli, 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] })
  const logs: Array<Record<string, unknown>> = []
  const waiters: Array<{ pred: (l: Record<string, unknown>) => boolean, resolve: (l: Record<string, unknown>) => void, reject: (err: Error) => void }> = []
  let partial = ''
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
  child.stdout!.on('data', (d: Buffer) => {
    partial += d.toString()
    let nl
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl)
      partial = partial.slice(nl + 1)
      let obj: Record<string, unknown>
      try { obj = JSON.parse(line) as Record<string, unknown> } catch { continue }
      logs.push(obj)
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.pred(obj)) { waiters[i]!.resolve(obj); waiters.splice(i, 1) }
      }
    }
  })
  function waitForLog (pred: (l: Record<string, unknown>) => boolean, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const found = logs.find(pred)
    if (found !== undefined) return Promise.resolve(found)
    if (ended !== null) return Promise.reject(new Error('log line not seen: hellogate ' + ended + '; stderr: ' + stderr))
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => { reject(new Error('log line not seen in ' + String(timeoutMs) + ' ms; stderr: ' + stderr)) }, timeoutMs)
      waiters.push({ pred, resolve: (l) => { clearTimeout(t); resolve(l) }, reject: (err) => { clearTimeout(t); reject(err) } })
    })
  }
  // a proxy that died (a start error, a crash) fails its waiters now, not at their timeout; 'close' comes
  // after stdout's last line, so a line printed just before the exit is still seen
  let ended: string | null = null
  child.once('close', (code, signal) => {
    ended = 'exited (' + String(code ?? signal) + ')'
    for (const w of waiters.splice(0)) w.reject(new Error('log line not seen: hellogate ' + ended + '; stderr: ' + stderr))
  })
  const listening = await waitForLog((l) => l.evt === 'listening', startTimeoutMs)
  const addr = (listening.addresses as string[])[0]!
  return {
    port: Number(addr.slice(addr.lastIndexOf(':') + 1)),
    file,
    child,
    logs,
    waitForLog,
    close: () => new Promise((resolve) => {
      if (child.exitCode !== null) { resolve(child.exitCode); return }
      // a hellogate that never exits would hang the whole test run: SIGKILL past the longest drain
      const kill = setTimeout(() => { child.kill('SIGKILL') }, CLI_PROXY_KILL_MS)
      child.once('exit', (code) => { clearTimeout(kill); resolve(code) })
      process.kill(child.pid!, 'SIGTERM')
    }),
  }
}

/** Node tls client through the proxy: resolves with the origin's certificate fingerprint and the response. */
export function tlsRequest (port: number, servername: string, ca: string | string[], opts: { rejectUnauthorized?: boolean, localAddress?: string } = {}): Promise<{ fingerprint: string, body: string, authorized: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, ca, rejectUnauthorized: opts.rejectUnauthorized ?? true, ALPNProtocols: ['http/1.1'], ...(opts.localAddress === undefined ? {} : { localAddress: opts.localAddress }) }, () => {
      socket.write('GET / HTTP/1.1\r\nHost: ' + servername + '\r\n\r\n')
    })
    let body = ''
    socket.setEncoding('latin1')
    socket.on('data', (d: string) => { body += d })
    socket.on('error', reject)
    socket.on('end', () => {
      const cert = socket.getPeerX509Certificate()
      resolve({ fingerprint: cert?.fingerprint256 ?? '', body, authorized: socket.authorized })
    })
  })
}

/** Raw TCP client: sends the chunks (with a pause between), returns everything received until close. */
export function rawExchange (port: number, chunks: Buffer[], opts: { endAfter?: boolean, gapMs?: number, timeoutMs?: number } = {}): Promise<{ data: Buffer, closedMs: number, error: string | null }> {
  return new Promise((resolve) => {
    const t0 = Date.now()
    // like a real TLS client: the server's FIN ends the exchange (we answer with ours)
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: false })
    const parts: Buffer[] = []
    let error: string | null = null
    let closedMs = -1
    socket.on('data', (d: Buffer) => parts.push(d))
    socket.on('end', () => { closedMs = Date.now() - t0 })
    socket.on('error', (e: NodeJS.ErrnoException) => { error = e.code ?? e.message })
    const guard = setTimeout(() => { socket.destroy() }, opts.timeoutMs ?? 10_000)
    socket.on('close', () => {
      clearTimeout(guard)
      resolve({ data: Buffer.concat(parts), closedMs: closedMs >= 0 ? closedMs : Date.now() - t0, error })
    })
    socket.on('connect', async () => {
      for (const c of chunks) {
        if (socket.destroyed) return
        socket.write(c)
        if ((opts.gapMs ?? 0) > 0) await new Promise((resolve) => setTimeout(resolve, opts.gapMs))
      }
      if (opts.endAfter ?? false) socket.end()
    })
  })
}

export function tempFile (name: string, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'hellogate-test-'))
  const file = join(dir, name)
  writeFileSync(file, content)
  return file
}

/** Poll a condition (bounded). */
export async function waitFor (cond: () => boolean, timeoutMs = 5000, stepMs = 20): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in ' + String(timeoutMs) + ' ms')
    await new Promise((resolve) => setTimeout(resolve, stepMs))
  }
}
