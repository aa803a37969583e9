/**
 * Client side of the admin endpoint, for the CLI commands
 *
 *   hellogate status --admin ADDR [--token T] [--json]   print the proxy's /status
 *   hellogate reload --admin ADDR [--token T]            POST /reload; exit 1 when the config is refused
 *   hellogate top    --admin ADDR [--token T]            live view (top.ts)
 *
 * ADDR is `host:port`, `[v6]:port`, `:port` (loopback) or an `http://` URL. The token comes from
 * `--token`, else the HELLOGATE_ADMIN_TOKEN environment variable (so it stays out of `ps` output).
 *
 * Failures are ProxyErrors with code HG_ERR_ADMIN_REQUEST whose message says what to do (unreachable,
 * token refused, not a hellogate admin endpoint). Limits: every request has a timeout and a response
 * size cap, so a wrong ADDR cannot hang or flood the CLI.
 */
import { parseHostPort, formatHostPort } from '../config/index.ts'
import { ErrorCode, ErrorSource, ProxyError } from '../errors.ts'
import type { ReloadOutcome, StatusJson } from './target.ts'

/** A local admin endpoint answers in milliseconds; 5 s means it is not going to. */
export const ADMIN_CLIENT_TIMEOUT_MS = 5000
/** /status with 1 000 route series is ~60 KB; anything near this cap is not our endpoint. */
export const ADMIN_CLIENT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
/** Environment variable the CLI reads the token from when --token is not given. */
export const ADMIN_TOKEN_ENV = 'HELLOGATE_ADMIN_TOKEN'

export interface AdminClientOptions {
  /** ADDR as given on the command line */
  readonly admin: string
  /** explicit token (--token); undefined → HELLOGATE_ADMIN_TOKEN; '' or null → none */
  readonly token?: string | null | undefined
  readonly timeoutMs?: number
}

export interface AdminAnswer {
  readonly status: number
  readonly body: string
}

/** ADDR → base URL (`http://host:port`), or a HG_ERR_CLI_USAGE error naming the accepted forms. */
export function parseAdminAddress (addr: string): URL {
  const usage = (why: string): ProxyError => new ProxyError(ErrorCode.CLI_USAGE,
    "--admin expects host:port, [v6]:port, :port or http://host:port; got '" + addr + "' (" + why + ')', { source: ErrorSource.Internal })
  if (/^https?:\/\//i.test(addr)) {
    let url: URL
    try {
      url = new URL(addr)
    } catch {
      throw usage('not a URL')
    }
    if (url.protocol !== 'http:') throw usage('the admin endpoint speaks plain HTTP; put TLS in front of it if it leaves the host')
    return new URL(url.origin)
  }
  const hp = parseHostPort(addr, { minPort: 1, allowAnyHost: true })
  if (typeof hp === 'string') throw usage(hp)
  return new URL('http://' + formatHostPort({ host: hp.host === '' ? '127.0.0.1' : hp.host, port: hp.port }))
}

/** --token, else $HELLOGATE_ADMIN_TOKEN, else none. */
export function resolveToken (flag: string | null | undefined, env: NodeJS.ProcessEnv = process.env): string | null {
  const t = flag ?? env[ADMIN_TOKEN_ENV] ?? ''
  return t === '' ? null : t
}

/** One request to the admin endpoint; rejects with HG_ERR_ADMIN_REQUEST when there is no HTTP answer. */
export async function adminRequest (opts: AdminClientOptions, method: 'GET' | 'POST', path: string): Promise<AdminAnswer> {
  const base = parseAdminAddress(opts.admin)
  const url = new URL(path, base)
  const token = resolveToken(opts.token)
  const headers: Record<string, string> = { accept: 'application/json, text/plain' }
  if (token !== null) headers.authorization = 'Bearer ' + token
  let res: Response
  try {
    res = await fetch(url, { method, headers, signal: AbortSignal.timeout(opts.timeoutMs ?? ADMIN_CLIENT_TIMEOUT_MS), redirect: 'error' })
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause
    const why = (err as Error).name === 'TimeoutError' ? 'no answer in ' + String(opts.timeoutMs ?? ADMIN_CLIENT_TIMEOUT_MS) + ' ms' : (cause?.code ?? (err as Error).message)
    throw new ProxyError(ErrorCode.ADMIN_REQUEST, 'cannot reach the admin endpoint at ' + base.host + ': ' + why +
      ' (is hellogate running with admin.listen set to this address?)', { source: ErrorSource.Internal, cause: err })
  }
  const body = await readCapped(res, base)
  if (res.status === 401) {
    throw new ProxyError(ErrorCode.ADMIN_REQUEST, 'the admin endpoint at ' + base.host + ' refused the token (401): pass --token or set ' + ADMIN_TOKEN_ENV,
      { source: ErrorSource.Internal })
  }
  return { status: res.status, body }
}

async function readCapped (res: Response, base: URL): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? 0)
  const tooBig = (): ProxyError => new ProxyError(ErrorCode.ADMIN_REQUEST,
    base.host + ' answered more than ' + String(ADMIN_CLIENT_MAX_RESPONSE_BYTES) + ' bytes: not a hellogate admin endpoint?', { source: ErrorSource.Internal })
  if (declared > ADMIN_CLIENT_MAX_RESPONSE_BYTES) { await res.body?.cancel(); throw tooBig() }
  if (res.body === null) return ''
  const reader = res.body.getReader()
  const parts: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > ADMIN_CLIENT_MAX_RESPONSE_BYTES) { await reader.cancel(); throw tooBig() }
    parts.push(value)
  }
  return Buffer.concat(parts).toString('utf8')
}

function parseJson<T> (answer: AdminAnswer, what: string, admin: string): T {
  try {
    return JSON.parse(answer.body) as T
  } catch {
    throw new ProxyError(ErrorCode.ADMIN_REQUEST, admin + ' answered ' + what + ' with HTTP ' + String(answer.status) + ' and no JSON: not a hellogate admin endpoint?',
      { source: ErrorSource.Internal })
  }
}

/** GET /status. */
export async function fetchStatus (opts: AdminClientOptions): Promise<StatusJson> {
  const answer = await adminRequest(opts, 'GET', '/status')
  const json = parseJson<StatusJson & { error?: string }>(answer, '/status', opts.admin)
  if (answer.status !== 200 || typeof json.version !== 'string' || !Array.isArray(json.workers)) {
    throw new ProxyError(ErrorCode.ADMIN_REQUEST, opts.admin + ' /status: HTTP ' + String(answer.status) + (json.error === undefined ? '' : ': ' + json.error),
      { source: ErrorSource.Internal })
  }
  return json
}

/** POST /reload's answer: the outcome, and on success the table now in force. */
export type ReloadAnswer = ReloadOutcome & { readonly table?: StatusJson['table'] }

/** POST /reload. Resolves with the outcome (ok or the config error); rejects only when there is no answer. */
export async function requestReload (opts: AdminClientOptions): Promise<{ status: number, answer: ReloadAnswer }> {
  const res = await adminRequest(opts, 'POST', '/reload')
  const answer = parseJson<ReloadAnswer | { error?: unknown }>(res, '/reload', opts.admin)
  if (typeof (answer as { ok?: unknown }).ok !== 'boolean') {
    const e = (answer as { error?: unknown }).error
    return { status: res.status, answer: { ok: false, error: { message: 'HTTP ' + String(res.status) + (typeof e === 'string' ? ': ' + e : '') } } }
  }
  return { status: res.status, answer: answer as ReloadAnswer }
}

/** Human summary of /status for `hellogate status`. */
export function formatStatus (s: StatusJson): string {
  const c = s.counters
  const lines = [
    'hellogate ' + s.version + ' (pid ' + String(s.pid) + ', node ' + s.node + '), up ' + formatUptime(s.uptimeSeconds) + ', ' + s.phase +
      (s.ready.ready ? ', ready' : ', NOT ready: ' + s.ready.reasons.join('; ')),
    '  table     generation ' + String(s.table.generation) + ', ' + String(s.table.routes) + ' routes, loaded ' + s.table.loadedAt,
    '  reloads   ' + String(s.reloads.ok) + ' ok, ' + String(s.reloads.error) + ' failed' + formatLastReload(s),
    '  conns     ' + String(c.conn_active ?? 0) + ' active, ' + String(c.conn_accepted ?? 0) + ' accepted; restarts ' + String(s.restarts),
    '  bytes     up ' + String(c.bytes_up ?? 0) + ', down ' + String(c.bytes_down ?? 0),
    '  workers',
  ]
  for (const w of s.workers) {
    const loop = w.loop === null ? 'loop n/a' : 'loop p99 ' + w.loop.delayP99Ms.toFixed(1) + ' ms, busy ' + (w.loop.utilization * 100).toFixed(0) + '%'
    lines.push('    #' + String(w.id) + (w.up ? ' up  ' : ' DOWN') + '  active ' + String(w.active) + ', accepted ' + String(w.accepted) + ', ' + loop)
  }
  const outcomes = Object.entries(c).filter(([k, v]) => k.startsWith('outcome_') && v > 0).map(([k, v]) => k.slice(8) + ' ' + String(v))
  lines.push('  outcomes  ' + (outcomes.length === 0 ? '(none yet)' : outcomes.join(', ')))
  return lines.join('\n') + '\n'
}

function formatLastReload (s: StatusJson): string {
  const last = s.reloads.last
  if (last === null) return ''
  const when = new Date(last.at).toISOString()
  return last.ok ? '; last ok at ' + when : '; last FAILED at ' + when + ': ' + String(last.code) + ' ' + String(last.message)
}

/** 3725 → `1h 2m 5s` */
export function formatUptime (seconds: number): string {
  const s = Math.floor(seconds)
  const d = Math.floor(s / 86_400)
  const h = Math.floor((s % 86_400) / 3600)
  const m = Math.floor((s % 3600) / 60)
  const parts = [d > 0 ? String(d) + 'd' : '', d + h > 0 ? String(h) + 'h' : '', d + h + m > 0 ? String(m) + 'm' : '', String(s % 60) + 's']
  return parts.filter((p) => p !== '').join(' ')
}

/** The reload answer for `hellogate reload`: one line on success, the error and its key on failure. */
export function formatReload (answer: ReloadAnswer): string {
  if (answer.ok) {
    const gen = answer.table === undefined ? '' : ' (generation ' + String(answer.table.generation) + ')'
    const applied = answer.applied === undefined || answer.applied.length === 0 ? '' : '\n  applied live: ' + answer.applied.join(', ')
    const restart = answer.needsRestart.length === 0 ? '' : '\n  changed but needs a restart (running values kept): ' + answer.needsRestart.join(', ')
    return 'reload ok: ' + String(answer.routes) + ' routes in ' + String(Math.round(answer.ms)) + ' ms' + gen + applied + restart + '\n'
  }
  const e = answer.error
  return 'reload refused, the running routes are kept: ' + (e.code === undefined ? '' : e.code + ': ') + e.message + '\n'
}

export interface RunOptions extends AdminClientOptions {
  readonly out: NodeJS.WritableStream
  /** status only: print the raw JSON */
  readonly json?: boolean
}

/** `hellogate status`: 0 when the endpoint answered (ready or not), else rejects (HG_ERR_ADMIN_REQUEST). */
export async function runStatus (opts: RunOptions): Promise<number> {
  const status = await fetchStatus(opts)
  opts.out.write(opts.json === true ? JSON.stringify(status, null, 2) + '\n' : formatStatus(status))
  return 0
}

/** `hellogate reload`: 0 when the new table is in force, 1 when it was refused (config error, busy). */
export async function runReload (opts: RunOptions): Promise<number> {
  const { answer } = await requestReload(opts)
  opts.out.write(formatReload(answer))
  return answer.ok ? 0 : 1
}
