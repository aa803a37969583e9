/**
 * New-TLS-connection-per-request load generator ("churn"), and an idle-connection holder.
 *
 * Why not autocannon for this: autocannon 9's `reconnectRate` resets the connection *instead of*
 * emitting the response that completed it (lib/httpClient.js `kOnMessageComplete` returns before
 * `emit('response')`), so with `reconnectRate: 1` no request is ever counted; and `Connection: close`
 * makes it write the next request onto the closing socket. A 100-line client is simpler to trust.
 *
 * Contract of `churn()`: `concurrency` loops each repeat: `tls.connect` (full handshake, no session
 * resumption, SNI = `servername`, certificate not verified) → `GET path` with `Connection: close` →
 * read the status line, headers and exactly Content-Length body bytes → destroy the socket. Latency
 * is measured from `connect()` to the last body byte, so it includes TCP connect, the TLS handshake
 * through the proxy and the origin's response. Runs until `durationMs` elapses or `maxConnections`
 * complete, whichever comes first. A non-200 status, a short body or a socket error counts as an
 * error; it stops early (bails out) after `bailoutErrors` errors.
 *
 * Contract of `openIdle()`: opens `count` TLS connections with bounded concurrency and resolves once
 * each has finished its handshake (so, through a passthrough proxy, the proxy holds both legs), and
 * leaves them open and silent. `closeIdle()` destroys them. To open thousands quickly on a small
 * machine it uses TLS 1.2 and resumes the first connection's session (abbreviated handshake, no
 * certificate or key exchange work on the client and origin). A passthrough proxy forwards either
 * handshake the same way, so this changes the harness's cost, not what is measured in the proxy.
 *
 * Limits: HTTP/1.1 only, no chunked encoding (the bench origin always sends Content-Length);
 * each response is capped at MAX_RESPONSE_BYTES.
 */
import tls from 'node:tls'
import { performance } from 'node:perf_hooks'
import { LatencySamples, type LatencySummary } from './stats.ts'

/** Per-connection deadline: a stuck handshake or response must not stall a loop forever. */
const SOCKET_TIMEOUT_MS = 10_000
/** Largest response the churn client buffers; the bench origin sends ≤ 1 MiB + headers. */
const MAX_RESPONSE_BYTES = 2 * 1024 * 1024
/** Default bailout: this many errors means the target is broken, not slow. */
const DEFAULT_BAILOUT_ERRORS = 200

export interface ChurnOptions {
  host: string
  port: number
  servername: string
  path: string
  concurrency: number
  durationMs: number
  maxConnections?: number | undefined
  bailoutErrors?: number | undefined
  /** stop starting connections once this returns true (checked before each one), e.g. when a concurrent task is done */
  stopWhen?: (() => boolean) | undefined
}

export interface ChurnStats {
  completed: number
  errors: number
  bytes: number
}

export interface ChurnResult extends ChurnStats {
  elapsedMs: number
  connectionsPerSec: number
  firstError: string | undefined
  latency: LatencySummary
}

const HEADER_END = Buffer.from('\r\n\r\n')

/** One connection, one request. Resolves with the response size, rejects on any failure. */
function oneRequest (opts: ChurnOptions, request: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let got = 0
    let need = -1 // total bytes (headers + body) once the header block is parsed
    let settled = false
    const socket = tls.connect({
      host: opts.host,
      port: opts.port,
      servername: opts.servername,
      rejectUnauthorized: false,
    })
    const finish = (err: Error | undefined): void => {
      if (settled) return
      settled = true
      socket.destroy()
      if (err === undefined) resolve(got)
      else reject(err)
    }
    socket.setTimeout(SOCKET_TIMEOUT_MS, () => { finish(new Error('timeout')) })
    socket.once('secureConnect', () => { socket.write(request) })
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      got += chunk.length
      if (got > MAX_RESPONSE_BYTES) { finish(new Error('response too large')); return }
      if (need < 0) {
        const all = chunks.length === 1 ? chunk : Buffer.concat(chunks)
        const end = all.indexOf(HEADER_END)
        if (end < 0) return
        const head = all.subarray(0, end).toString('latin1')
        if (!head.startsWith('HTTP/1.1 200')) { finish(new Error(`status: ${head.split('\r\n', 1)[0] ?? ''}`)); return }
        const m = /\r\ncontent-length:\s*(\d+)/i.exec(head)
        if (m === null) { finish(new Error('no content-length')); return }
        need = end + 4 + Number(m[1])
      }
      if (got >= need) finish(undefined)
    })
    socket.once('end', () => { finish(got >= need && need >= 0 ? undefined : new Error(`eof after ${got} bytes`)) })
    socket.once('error', (err) => { finish(err) })
    socket.once('close', () => { finish(new Error('closed early')) })
  })
}

/**
 * Run the churn load. `onProgress` (if given) can read live counters through the returned `stats`
 * object while the promise is pending.
 */
export function churn (opts: ChurnOptions): { stats: ChurnStats, done: Promise<ChurnResult> } {
  const stats: ChurnStats = { completed: 0, errors: 0, bytes: 0 }
  const samples = new LatencySamples()
  const request = Buffer.from(`GET ${opts.path} HTTP/1.1\r\nHost: ${opts.servername}\r\nConnection: close\r\n\r\n`, 'latin1')
  const bailout = opts.bailoutErrors ?? DEFAULT_BAILOUT_ERRORS
  const max = opts.maxConnections ?? Number.POSITIVE_INFINITY
  let firstError: string | undefined
  let started = 0
  const t0 = performance.now()
  const deadline = t0 + opts.durationMs

  const loop = async (): Promise<void> => {
    while (performance.now() < deadline && started < max && stats.errors < bailout && opts.stopWhen?.() !== true) {
      started++
      const s = performance.now()
      try {
        stats.bytes += await oneRequest(opts, request)
        samples.add(performance.now() - s)
        stats.completed++
      } catch (err) {
        stats.errors++
        firstError ??= (err as Error).message
      }
    }
  }

  const done = (async (): Promise<ChurnResult> => {
    const loops: Promise<void>[] = []
    for (let i = 0; i < opts.concurrency; i++) loops.push(loop())
    await Promise.all(loops)
    const elapsedMs = performance.now() - t0
    return {
      ...stats,
      elapsedMs,
      connectionsPerSec: stats.completed / (elapsedMs / 1000),
      firstError,
      latency: samples.summary(),
    }
  })()
  return { stats, done }
}

export interface IdleOptions {
  host: string
  port: number
  servername: string
  count: number
  concurrency: number
}

export interface IdleResult {
  sockets: tls.TLSSocket[]
  opened: number
  /** How many of them resumed the first session (abbreviated handshake). */
  resumed: number
  errors: number
  firstError: string | undefined
  elapsedMs: number
}

/** Open `count` TLS connections (handshake complete) and keep them open and idle. */
export async function openIdle (opts: IdleOptions, onProgress?: (opened: number) => void): Promise<IdleResult> {
  const sockets: tls.TLSSocket[] = []
  const st = { next: 0, errors: 0 }
  let firstError: string | undefined
  const t0 = performance.now()
  let session: Buffer | undefined
  const openOne = (): Promise<void> => new Promise((resolve) => {
    const s = tls.connect({ host: opts.host, port: opts.port, servername: opts.servername, rejectUnauthorized: false, maxVersion: 'TLSv1.2', session })
    s.once('session', (sess: Buffer) => { session ??= sess })
    const timer = setTimeout(() => { s.destroy(new Error('handshake timeout')) }, SOCKET_TIMEOUT_MS)
    s.once('secureConnect', () => {
      clearTimeout(timer)
      s.removeAllListeners('error')
      s.on('error', () => { /* counted as lost in the caller's liveness check */ })
      sockets.push(s)
      onProgress?.(sockets.length)
      resolve()
    })
    s.once('error', (err) => {
      clearTimeout(timer)
      st.errors++
      firstError ??= err.message
      s.destroy()
      resolve()
    })
  })
  const loop = async (): Promise<void> => {
    while (st.next < opts.count && st.errors < DEFAULT_BAILOUT_ERRORS) {
      st.next++
      await openOne()
    }
  }
  // One full handshake first, so every other connection can resume its session.
  st.next++
  await openOne()
  const loops: Promise<void>[] = []
  for (let i = 0; i < opts.concurrency; i++) loops.push(loop())
  await Promise.all(loops)
  const resumed = sockets.filter((s) => s.isSessionReused()).length
  return { sockets, opened: sockets.length, resumed, errors: st.errors, firstError, elapsedMs: performance.now() - t0 }
}

/** Destroy idle sockets and wait (bounded) until they report closed. */
export async function closeIdle (sockets: tls.TLSSocket[], timeoutMs = 5_000): Promise<void> {
  await Promise.race([
    Promise.all(sockets.map((s) => new Promise<void>((resolve) => {
      if (s.destroyed) { resolve(); return }
      s.once('close', () => { resolve() })
      s.destroy()
    }))),
    new Promise<void>((resolve) => setTimeout(resolve, timeoutMs)),
  ])
}
