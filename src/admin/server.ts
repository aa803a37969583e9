/**
 * The admin HTTP endpoint (node:http, main thread). It reads the proxy through an AdminTarget
 * (target.ts) and never touches a connection: nothing here runs on the traffic path, and a flood of
 * admin requests is bounded (ADMIN_MAX_CONNECTIONS, header and body caps, timeouts) so that it cannot
 * take file descriptors or memory from the proxy.
 *
 *   GET  /healthz   200 while the process answers at all (liveness)
 *   GET  /readyz    200 when running with every worker listening and a table loaded; else 503 + reasons
 *   GET  /metrics   Prometheus text format (prom-client)
 *   GET  /status    JSON (StatusJson): version, uptime, workers, table, reloads, counters, routes
 *   POST /reload    same as SIGHUP: 200 + table summary, 422 + the config error, 409 while one runs
 *
 * Auth: with `admin.token` set, /metrics, /status and /reload need `Authorization: Bearer <token>`
 * (401 otherwise; compared in constant time over SHA-256 digests, so neither content nor length leaks
 * through timing). /healthz and /readyz stay open: probes and load balancers often cannot send
 * headers, and they disclose nothing but a state. Without a token the endpoint must listen on a
 * loopback address (checkAdminOptions refuses to start otherwise).
 *
 * Errors answer JSON `{ "error": "...", ... }` with a precise status: 401, 404, 405 (+ Allow), 409,
 * 413, 422, 500 (a bug in a target method; logged, the process stays up), 503 (shutting down).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { createHash, timingSafeEqual } from 'node:crypto'
import type { Logger } from 'pino'
import type { HostPort } from '../config/types.ts'
import { formatHostPort } from '../config/index.ts'
import { ErrorCode, ErrorSource, ProxyError } from '../errors.ts'
import { LogEvent } from '../log/events.ts'
import { Phase, type AdminTarget, type ReloadOutcome } from './target.ts'

/** Concurrent admin connections: a scraper, a probe, an operator or two; more is a flood to shed. */
export const ADMIN_MAX_CONNECTIONS = 64
/** Request bodies: only POST /reload accepts one, and ignores it; 4 KiB is far above any real client's `{}`. */
export const ADMIN_MAX_BODY_BYTES = 4096
/** Request headers: a bearer token and the usual dozen headers fit in a tenth of this. */
export const ADMIN_MAX_HEADER_BYTES = 16 * 1024
/** Whole request (headers and body) must arrive within this: a slow client must not hold a slot. */
export const ADMIN_REQUEST_TIMEOUT_MS = 10_000
/** Headers must arrive within this. */
export const ADMIN_HEADERS_TIMEOUT_MS = 5000
/** close(): connections still busy after this are cut. */
export const ADMIN_CLOSE_MS = 2000
/** Shortest accepted token: it is the only thing between the network and POST /reload. */
export const ADMIN_TOKEN_MIN_LENGTH = 16

/** The `admin:` config section, validated and with `${HELLOGATE_ADMIN_TOKEN}` already substituted. */
export interface AdminOptions {
  readonly listen: HostPort
  /** bearer token; null (or '') = none, which only a loopback listen address allows */
  readonly token: string | null
}

export interface AdminServer {
  /** bound address (port resolved when 0 was asked) */
  readonly address: HostPort
  /** http://host:port */
  readonly url: string
  /** stop accepting; answer 503 to requests still arriving on open connections; resolves when closed */
  close: () => Promise<void>
}

/** 127.0.0.0/8, ::1 (and the IPv4-mapped form), `localhost`. */
export function isLoopback (host: string): boolean {
  const h = host.toLowerCase()
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4)
}

/** Throws HG_ERR_ADMIN_TOKEN when the options would expose an unauthenticated endpoint or a weak token. */
export function checkAdminOptions (options: AdminOptions): void {
  const token = options.token ?? ''
  if (token === '' && !isLoopback(options.listen.host)) {
    throw new ProxyError(ErrorCode.ADMIN_TOKEN,
      // eslint-disable-next-line no-template-curly-in-string -- the config file's env substitution syntax, literally
      'admin.listen ' + formatHostPort(options.listen) + ' is not a loopback address: set admin.token (e.g. token: ${HELLOGATE_ADMIN_TOKEN})',
      { source: ErrorSource.Config, key: 'admin.token' })
  }
  if (token !== '' && token.length < ADMIN_TOKEN_MIN_LENGTH) {
    throw new ProxyError(ErrorCode.ADMIN_TOKEN,
      'admin.token is ' + String(token.length) + ' characters; use at least ' + String(ADMIN_TOKEN_MIN_LENGTH) + ' (e.g. openssl rand -hex 24)',
      { source: ErrorSource.Config, key: 'admin.token' })
  }
}

interface Endpoint {
  readonly method: 'GET' | 'POST'
  /** needs the bearer token when one is configured */
  readonly auth: boolean
  readonly handle: (ctx: Ctx, res: ServerResponse) => Promise<void>
}

interface Ctx {
  readonly target: AdminTarget
  readonly logger: Logger | null
  /** set while a POST /reload is running */
  reloading: Promise<ReloadOutcome> | null
  closing: boolean
}

const JSON_TYPE = 'application/json; charset=utf-8'

const ENDPOINTS: ReadonlyMap<string, Endpoint> = new Map<string, Endpoint>([
  ['/healthz', { method: 'GET', auth: false, handle: onHealthz }],
  ['/readyz', { method: 'GET', auth: false, handle: onReadyz }],
  ['/metrics', { method: 'GET', auth: true, handle: onMetrics }],
  ['/status', { method: 'GET', auth: true, handle: onStatus }],
  ['/reload', { method: 'POST', auth: true, handle: onReload }],
  ['/debug/gc', { method: 'POST', auth: true, handle: onGc }],
])

/** Start the admin endpoint. Refuses (HG_ERR_ADMIN_TOKEN) to listen off loopback without a token. */
export async function startAdminServer (options: AdminOptions, target: AdminTarget, logger: Logger | null = null): Promise<AdminServer> {
  checkAdminOptions(options)
  const token = options.token ?? ''
  const expected = token === '' ? null : digest(token)
  const ctx: Ctx = { target, logger, reloading: null, closing: false }

  const server = http.createServer({
    maxHeaderSize: ADMIN_MAX_HEADER_BYTES,
    requestTimeout: ADMIN_REQUEST_TIMEOUT_MS,
    headersTimeout: ADMIN_HEADERS_TIMEOUT_MS,
  }, (req, res) => { onRequest(ctx, expected, req, res) })
  server.maxConnections = ADMIN_MAX_CONNECTIONS
  // a client that errors out (reset mid-request) must not surface as an uncaught error
  server.on('clientError', onClientError)

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new ProxyError(ErrorCode.LISTEN, 'cannot listen on ' + formatHostPort(options.listen) + ' (admin): ' + (err.code ?? err.message), { cause: err, source: ErrorSource.Internal }))
    }
    server.once('error', onError)
    server.listen({ host: options.listen.host, port: options.listen.port }, () => {
      server.removeListener('error', onError)
      resolve()
    })
  })
  server.on('error', (err) => { logger?.warn({ evt: LogEvent.AcceptError, admin: true, message: err.message }, LogEvent.AcceptError) })
  const address: HostPort = { host: options.listen.host, port: (server.address() as AddressInfo).port }
  const url = 'http://' + formatHostPort(address)
  logger?.info({ evt: LogEvent.AdminListening, url, auth: expected !== null }, LogEvent.AdminListening)

  let closed: Promise<void> | null = null
  function close (): Promise<void> {
    closed ??= new Promise<void>((resolve) => {
      ctx.closing = true
      const cut = setTimeout(() => { server.closeAllConnections() }, ADMIN_CLOSE_MS)
      cut.unref()
      server.close(() => { clearTimeout(cut); resolve() })
      server.closeIdleConnections()
    })
    return closed
  }
  return { address, url, close }
}

function onClientError (err: NodeJS.ErrnoException, socket: Duplex): void {
  // node's default answers 400 (or 431 for oversized headers, 408 on timeout); keep that, never throw
  if (!socket.writable) { socket.destroy(); return }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400)
  socket.end('HTTP/1.1 ' + String(status) + ' ' + http.STATUS_CODES[status] + '\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
}

function onRequest (ctx: Ctx, expected: Buffer | null, req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('cache-control', 'no-store')
  if (ctx.closing) {
    res.setHeader('connection', 'close')
    sendJson(res, 503, { error: 'shutting down' })
    req.resume()
    return
  }
  const path = (req.url ?? '/').split('?', 1)[0]!
  const endpoint = ENDPOINTS.get(path)
  if (endpoint === undefined) {
    discardBody(req, res, 404, { error: 'not found: ' + path.slice(0, 100), endpoints: [...ENDPOINTS.keys()] })
    return
  }
  if (req.method !== endpoint.method) {
    res.setHeader('allow', endpoint.method)
    discardBody(req, res, 405, { error: 'method ' + String(req.method) + ' not allowed on ' + path + '; use ' + endpoint.method })
    return
  }
  if (endpoint.auth && expected !== null && !authorized(req.headers.authorization, expected)) {
    res.setHeader('www-authenticate', 'Bearer realm="hellogate"')
    discardBody(req, res, 401, { error: 'missing or wrong bearer token' })
    return
  }
  readBoundedBody(req, res).then((ok) => {
    if (!ok) return
    return endpoint.handle(ctx, res)
  }).catch((err: unknown) => {
    if (res.headersSent) { res.destroy(); return }
    endIfClosing(ctx, res)
    // a collection that fails while we shut down is the shutdown, not a bug
    if (ctx.closing) { sendJson(res, 503, { error: 'shutting down' }); return }
    ctx.logger?.error({ evt: LogEvent.AdminError, path, err }, LogEvent.AdminError)
    sendJson(res, 500, { error: 'internal error: ' + String((err as Error).message) })
  })
}

/**
 * Read (and drop) the body, at most ADMIN_MAX_BODY_BYTES. Resolves false after answering 413 when the
 * declared or actual length is over the cap; the connection is then closed, not drained.
 */
function readBoundedBody (req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > ADMIN_MAX_BODY_BYTES) {
    tooLarge(req, res)
    return Promise.resolve(false)
  }
  return new Promise((resolve, reject) => {
    let seen = 0
    const onData = (chunk: Buffer): void => {
      seen += chunk.length
      if (seen > ADMIN_MAX_BODY_BYTES) {
        req.removeListener('data', onData)
        req.removeListener('end', onEnd)
        tooLarge(req, res)
        resolve(false)
      }
    }
    const onEnd = (): void => { resolve(true) }
    req.on('data', onData)
    req.once('end', onEnd)
    req.once('error', reject)
  })
}

function tooLarge (req: IncomingMessage, res: ServerResponse): void {
  req.pause()
  res.setHeader('connection', 'close')
  sendJson(res, 413, { error: 'request body over ' + String(ADMIN_MAX_BODY_BYTES) + ' bytes' })
}

/** Answer an error, dropping whatever body came with the request (bounded like any other). */
function discardBody (req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
  readBoundedBody(req, res).then((ok) => { if (ok) sendJson(res, status, body) }, () => { res.destroy() })
}

function digest (s: string): Buffer {
  return createHash('sha256').update(s).digest()
}

/** `Bearer <token>`, compared in constant time (equal-length digests for timingSafeEqual). */
function authorized (header: string | undefined, expected: Buffer): boolean {
  if (header === undefined) return false
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
  if (m === null) return false
  return timingSafeEqual(digest(m[1]!), expected)
}

function sendJson (res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body) + '\n'
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

/** Once close() began, the answer to a request that was already in flight also ends its connection. */
function endIfClosing (ctx: Ctx, res: ServerResponse): void {
  if (ctx.closing) res.setHeader('connection', 'close')
}

function onHealthz (_ctx: Ctx, res: ServerResponse): Promise<void> {
  sendJson(res, 200, { ok: true })
  return Promise.resolve()
}

function onReadyz (ctx: Ctx, res: ServerResponse): Promise<void> {
  const r = ctx.target.ready()
  sendJson(res, r.ready ? 200 : 503, r)
  return Promise.resolve()
}

async function onMetrics (ctx: Ctx, res: ServerResponse): Promise<void> {
  const text = await ctx.target.metrics()
  endIfClosing(ctx, res)
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function onStatus (ctx: Ctx, res: ServerResponse): Promise<void> {
  sendJson(res, 200, ctx.target.status())
  return Promise.resolve()
}

/**
 * POST /debug/gc: a full GC in every thread (pool/gc.ts says why a bench needs it); 409 with the reason
 * when node runs without --expose-gc. Behind the token like /reload: a full GC pauses every thread.
 */
async function onGc (ctx: Ctx, res: ServerResponse): Promise<void> {
  const r = await ctx.target.collectGarbage()
  endIfClosing(ctx, res)
  sendJson(res, r.ok ? 200 : 409, r)
}

async function onReload (ctx: Ctx, res: ServerResponse): Promise<void> {
  if (ctx.reloading !== null) {
    sendJson(res, 409, { ok: false, error: { code: ErrorCode.RELOAD_BUSY, message: 'a reload is already in progress; try again when it has finished' } })
    return
  }
  const phase = ctx.target.status().phase
  if (phase !== Phase.Running) {
    sendJson(res, 503, { ok: false, error: { message: 'not reloading while ' + phase } })
    return
  }
  const running = ctx.target.reload()
  ctx.reloading = running
  let outcome: ReloadOutcome
  try {
    outcome = await running
  } finally {
    ctx.reloading = null
  }
  endIfClosing(ctx, res)
  if (outcome.ok) {
    ctx.logger?.info({ evt: LogEvent.AdminReload, ok: true, routes: outcome.routes, ms: outcome.ms, needsRestart: outcome.needsRestart }, LogEvent.AdminReload)
    sendJson(res, 200, { ...outcome, table: ctx.target.status().table })
    return
  }
  ctx.logger?.warn({ evt: LogEvent.AdminReload, ok: false, code: outcome.error.code, message: outcome.error.message }, LogEvent.AdminReload)
  sendJson(res, outcome.error.code === ErrorCode.RELOAD_BUSY ? 409 : 422, outcome)
}
