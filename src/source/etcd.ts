/**
 * source/etcd — routes and pools from etcd v3 (`source.etcd`), read at one revision, then watched; main
 * thread only: workers never talk to etcd, they only receive tables (the SIGHUP path's swap).
 *
 * Contract:
 *  - `load()` (before the proxy starts): reads the config file's value and the whole prefix at one
 *    revision (the pools, then the routes in pages of READ_PAGE_KEYS, all at the first answer's revision)
 *    and compiles the merge (fleet.ts) on this thread — nothing is listening yet. Each page of routes is
 *    checked (RouteChecks) while etcd reads the next, the full parse runs once the last is in. When etcd does not answer within START_TIMEOUT_MS (its
 *    first page) it compiles the `cache` snapshot
 *    instead (or the file alone when there is none or it is unusable: a coded log line, never a crash)
 *    and the source is not ready-from-etcd (log `source.not_ready`, /readyz details) until etcd answers.
 *  - `run(proxy, runReload)` (once the proxy serves): watches the prefix from the read revision + 1.
 *    Changes are applied to an in-memory copy of the prefix and compiled off the main thread (the reload
 *    pool, pool/reload.ts), at most one compile per COALESCE_MS, so a burst of 10 000 puts costs a few
 *    compiles; each compile is swapped into every worker by the same reload as SIGHUP's (and counted by
 *    the lifecycle's ledger). After each applied compile the snapshot is written (snapshot.ts).
 *  - etcd unreachable later: the table in force stays; the etcd3 client re-opens the watch with backoff
 *    (RECONNECT_MIN_MS..RECONNECT_MAX_MS) from the last revision seen. When that revision was compacted
 *    (or etcd, restarted with auth on, refuses the old token) the watch is cancelled by etcd: a new client
 *    (renewClient), the whole prefix read again (same backoff until it answers) and the watch restarts after it.
 *  - Only the key layout of fleet.ts is read; other keys under the prefix are ignored.
 *
 * Limits: the prefix is held in memory as text (PrefixEntries: arrays as read, Maps once the watch edits);
 * it is read READ_PAGE_KEYS keys per answer, each answer's bytes decoded by range-decode.ts and dropped
 * before the next but one, and one answer may be up to MAX_RESPONSE_BYTES (a page is ~30 MB; a watch
 * batch can be larger).
 */
import { readFile } from 'node:fs/promises'

import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleAll } from 'cockatiel'
import { castGrpcError, Etcd3, EtcdInvalidAuthTokenError, isRecoverableError, Range, type ICallable, type IOptions, type IRangeRequest, type Watcher } from 'etcd3'
import type { Logger } from 'pino'

import { loadConfigValue } from '../config/load.ts'
import type { EtcdSourceConfig } from '../config/types.ts'
import { ErrorCode, ErrorSource, isProxyError, ProxyError } from '../errors.ts'
import { LogEvent } from '../log/index.ts'
import { loadFleetDeltaOffThread, loadRoutesOffThread, reloadWith, type Reloadable, type ReloadResult } from '../pool/reload.ts'
import { DeltaLog, deltaPays } from './fleet-delta.ts'
import { compileFleet, RouteChecks, ROUTES_DIR, splitKey, UPSTREAMS_DIR, type FleetEntries, type FleetEntry, type FleetInput, type FleetResult, type SkippedKey } from './fleet.ts'
import { decodeRangeResponse, RANGE_STATUS_TEXT, RangePage, RangeStatus } from './range-decode.ts'
import { readSnapshot, writeSnapshot } from './snapshot.ts'

/**
 * ms. At most one compile per this interval: a compile of a large table takes hundreds of ms, so
 * compiling per put would queue seconds of work behind a burst; 100 ms adds at most that much to a
 * single put's delay, which is below what a human operator or a deploy script notices.
 */
export const COALESCE_MS = 100
/**
 * ms. How long start waits for etcd before serving the snapshot: long enough for a reachable cluster
 * under load (a leader election takes ~1 s), short enough that a host restarting during an etcd
 * outage serves its last table within seconds rather than not at all.
 */
export const START_TIMEOUT_MS = 5_000
/** ms. First reconnect delay after etcd went away: a restarting etcd answers within a second. */
export const RECONNECT_MIN_MS = 100
/** ms. Longest reconnect delay: an edge host should notice a recovered etcd within seconds. */
export const RECONNECT_MAX_MS = 5_000
/**
 * ms. Deadline of one unary request (range, put, delete); the watch stream has none. Reading a million
 * routes takes a few seconds on a loaded host; past 30 s the member is as good as down.
 */
export const CALL_TIMEOUT_MS = 30_000
/** bytes. Largest gRPC answer accepted (grpc-js' default is 4 MiB, ~80 000 routes). */
export const MAX_RESPONSE_BYTES = 512 * 1024 * 1024

/** What /readyz and /status say about the source (admin/target.ts SourceReadiness). */
export interface EtcdSourceStatus {
  /** the table in force came from etcd (not from the snapshot or the file alone) */
  readonly fromEtcd: boolean
  /** the watch is connected now */
  readonly connected: boolean
  /** etcd revision of the table in force (0: none) */
  readonly revision: number
  readonly routes: number
  readonly upstreams: number
  /** etcd keys left out of the table in force */
  readonly skipped: number
  /** keys left out, summed over every compile (a counter) */
  readonly skippedTotal: number
  /** compiles applied since start (the initial one included) */
  readonly compiles: number
  /** of those, built from a delta without a full compile (source/fleet-delta.ts) */
  readonly incrementalCompiles: number
  /** why the source is not ready-from-etcd, or the last etcd error; null when none */
  readonly reason: string | null
}

/** etcd3 client options for `cfg`: TLS files read, deadlines, backoff, answer size (module header). */
export async function etcdClientOptions (cfg: EtcdSourceConfig): Promise<IOptions> {
  const options: IOptions = {
    hosts: [...cfg.endpoints],
    dialTimeout: START_TIMEOUT_MS,
    grpcOptions: { 'grpc.max_receive_message_length': MAX_RESPONSE_BYTES },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + CALL_TIMEOUT_MS }),
    faultHandling: {
      // a member that failed 3 calls in a row is skipped for a second, not the library's 5 s
      host: () => circuitBreaker(handleAll, { halfOpenAfter: RECONNECT_MAX_MS / 5, breaker: new ConsecutiveBreaker(3) }),
      // the library takes the first delay of a backoff and calls next() on it after each failure
      watchBackoff: new ExponentialBackoff({ initialDelay: RECONNECT_MIN_MS, maxDelay: RECONNECT_MAX_MS }).next(),
    },
  }
  if (cfg.tls !== null) {
    const [ca, cert, key] = await Promise.all([readFile(cfg.tls.ca), cfg.tls.cert === null ? null : readFile(cfg.tls.cert), cfg.tls.key === null ? null : readFile(cfg.tls.key)])
    options.credentials = { rootCertificate: ca, ...(key === null ? {} : { privateKey: key }), ...(cert === null ? {} : { certChain: cert }) }
  }
  if (cfg.auth !== null) options.auth = { username: cfg.auth.username, password: cfg.auth.password }
  return options
}

/** An etcd3 failure as HG_ERR_SOURCE_ETCD naming the endpoints. */
export function etcdError (cfg: EtcdSourceConfig, what: string, err: unknown): ProxyError {
  return new ProxyError(ErrorCode.SOURCE_ETCD, `etcd ${cfg.endpoints.join(',')}: ${what}: ${(err as Error).message}`, { source: ErrorSource.Config, cause: err })
}

/** The prefix's entries at one revision. */
export interface PrefixState {
  revision: number
  readonly routes: PrefixEntries
  readonly upstreams: PrefixEntries
}

/**
 * One directory of the prefix (routes/ or upstreams/): name → value text, in the order read. A read
 * appends to two arrays (etcd gives each key once, in key order); the Map the watch edits is built from
 * them on the first edit. At a million routes the Map cost ~0.5 s of CPU and ~30 MB (more while it
 * grows) before anything served, while a start's compile only iterates the entries once.
 */
export class PrefixEntries implements Iterable<FleetEntry> {
  #names: string[] = []
  #values: string[] = []
  #map: Map<string, string> | null = null

  /** entries with distinct names (a snapshot's, a Map's) */
  static from (entries: Iterable<FleetEntry>): PrefixEntries {
    const e = new PrefixEntries()
    for (const [name, value] of entries) e.#mapped().set(name, value)
    return e
  }

  get size (): number {
    return this.#map === null ? this.#names.length : this.#map.size
  }

  /** a read: one more entry, its name not seen before in this read */
  append (name: string, value: string): void {
    if (this.#map !== null) this.#map.set(name, value)
    else { this.#names.push(name); this.#values.push(value) }
  }

  set (name: string, value: string): void {
    this.#mapped().set(name, value)
  }

  delete (name: string): boolean {
    return this.#mapped().delete(name)
  }

  /** (the Map: only the watch asks, and it edits next) */
  has (name: string): boolean {
    return this.#mapped().has(name)
  }

  keys (): IterableIterator<string> {
    return this.#map === null ? this.#names.values() : this.#map.keys()
  }

  /**
   * The entries as columns: as read, the arrays themselves (never written again: the first edit starts
   * the Map and new arrays); once edited, two arrays copied from the Map.
   */
  columns (): FleetEntries {
    if (this.#map === null) return { names: this.#names, texts: this.#values }
    return { names: [...this.#map.keys()], texts: [...this.#map.values()] }
  }

  * [Symbol.iterator] (): Generator<FleetEntry> {
    if (this.#map !== null) { yield * this.#map; return }
    const names = this.#names
    const values = this.#values
    for (let i = 0; i < names.length; i++) yield [names[i]!, values[i]!]
  }

  #mapped (): Map<string, string> {
    if (this.#map === null) {
      const m = new Map<string, string>()
      for (let i = 0; i < this.#names.length; i++) m.set(this.#names[i]!, this.#values[i]!)
      this.#map = m
      this.#names = []
      this.#values = []
    }
    return this.#map
  }
}

/**
 * Keys per range request of a prefix read. etcd 3.4 walks its index over the whole rest of the range
 * for every page (to count it), so the fewer the pages the less of etcd's CPU, taken from the proxy on a
 * small host: a million keys cost etcd ~3.5 s of CPU in pages of 100 000, 1.4–1.9 s in pages of 250 000
 * and 1.2–1.4 s in pages of 500 000, and the read takes 2.7–2.9 s instead of 3.6–3.8 (bench:etcd --load,
 * profiles/20261204-large-tables/NOTES.md). Not larger: a page is decoded from its raw bytes
 * (range-decode.ts), so it costs its wire size (~30 MB here) and grpc-js' copy of it, and one answer of
 * a million keys added ~60 MiB of peak RSS against none for pages of 500 000.
 */
export const READ_PAGE_KEYS = 500_000

/**
 * What a read calls as it goes (both synchronous, neither may throw): `upstreams` once every pool is in
 * and before any route; `routes` after each page of routes, with the entries so far (the same arrays,
 * grown) while the next page is in flight — the start checks each page then (RouteChecks), not after.
 */
export interface ReadHooks {
  readonly upstreams: (state: PrefixState) => void
  readonly routes: (routes: FleetEntries) => void
}

/**
 * Read every route and pool under `prefix` at one revision: PREFIX/upstreams/ first (a handful; the
 * routes name them, so a route can be checked as soon as its page is in), then PREFIX/routes/, each in
 * pages of `pageKeys` in key order, all at the first page's revision (a consistent copy however long it
 * takes; should that revision be compacted meanwhile, the read fails and is retried like any other
 * failure). Each page is one raw gRPC answer decoded by range-decode.ts, its entries copied into the
 * state as strings, then dropped (rangePage: why not the client's decoder). Other keys under the prefix
 * are not read.
 * `pageKeys`: keys per page (tests read small prefixes in several).
 * `firstPageMs`: how long to wait for the first page of each range (etcd unreachable) — not for the whole
 * read, which at a million keys takes longer than any sensible "etcd is down" deadline on a loaded host.
 */
export async function readPrefix (client: Etcd3, prefix: string, firstPageMs?: number, pageKeys = READ_PAGE_KEYS, hooks?: ReadHooks): Promise<PrefixState> {
  const reader = new PageReader(prefix)
  const state: PrefixState = { revision: 0, routes: new PrefixEntries(), upstreams: new PrefixEntries() }
  // each range's first answer within firstPageMs: the routes' first page is the large one
  const bounded = (p: Promise<Buffer>): Promise<Buffer> => firstPageMs === undefined ? p : withTimeout(p, firstPageMs)
  const first = rangePage(client, rangeRequest(prefix + UPSTREAMS_DIR, null, pageKeys, 0))
  await readRange(client, prefix + UPSTREAMS_DIR, bounded(first), pageKeys, reader, state, null)
  hooks?.upstreams(state)
  const routes = rangePage(client, rangeRequest(prefix + ROUTES_DIR, null, pageKeys, state.revision))
  await readRange(client, prefix + ROUTES_DIR, bounded(routes), pageKeys, reader, state, hooks === undefined ? null : () => { hooks.routes(state.routes.columns()) })
  return state
}

/** A Range request of the keys under `dir`, after `after` (a key) when given, at `revision` (0: the latest). */
function rangeRequest (dir: string, after: Buffer | null, pageKeys: number, revision: number): IRangeRequest {
  const range = Range.prefix(dir)
  return { key: after ?? range.start, range_end: range.end, limit: pageKeys, ...(revision === 0 ? {} : { revision }) }
}

/**
 * The pages of one range, `first` already asked for, into `state` (its revision set from the first
 * page when still 0). The next page is asked for before this one is copied out: etcd reads it while
 * this thread works (and `onPage` runs).
 */
async function readRange (client: Etcd3, dir: string, first: Promise<Buffer>, pageKeys: number, reader: PageReader, state: PrefixState, onPage: (() => void) | null): Promise<void> {
  const page = new RangePage()
  let buf = await first
  decodePage(buf, page)
  if (state.revision === 0) state.revision = page.revision
  for (;;) {
    let next: Promise<Buffer> | null = null
    if (page.more && page.kvs > 0) {
      const last = page.kvs - 1
      // the least key greater than the page's last: its bytes and a zero byte
      const after = Buffer.alloc(page.keyEnd[last]! - page.keyStart[last]! + 1)
      buf.copy(after, 0, page.keyStart[last], page.keyEnd[last])
      next = rangePage(client, rangeRequest(dir, after, pageKeys, state.revision))
    }
    reader.apply(state, buf, page)
    onPage?.()
    if (next === null) return
    buf = await next
    decodePage(buf, page)
  }
}

function decodePage (buf: Buffer, page: RangePage): void {
  const s = decodeRangeResponse(buf, 0, buf.length, page)
  if (s !== RangeStatus.Ok) {
    throw new ProxyError(ErrorCode.SOURCE_ETCD, `unreadable range answer (${buf.length} bytes): ${RANGE_STATUS_TEXT[s]}`, { source: ErrorSource.Config })
  }
}

/** the method attributes grpc-js puts on a service client's method (make-client.js) */
interface GrpcMethod {
  readonly path: string
  readonly requestSerialize: (req: IRangeRequest) => Buffer
}

/** attempts of one page on a recoverable error (another member, or the same after a reconnect): etcd3's own default */
const PAGE_ATTEMPTS = 3

/**
 * One Range request, its answer as the raw protobuf bytes. The call goes through the etcd3 client's own
 * connection pool (its channels, TLS credentials, auth token metadata, member choice and circuit
 * breakers); only the answer's deserializer is ours: grpc-js' `makeUnaryRequest` with the service's
 * request serializer and an identity response deserializer. The pool is internal to etcd3 (`pool`), read
 * here because etcd3 offers no other way to pass a deserializer; everything else (watch, put, delete,
 * the CLI) uses the client's API. Like etcd3's `exec`: a recoverable error is tried again (PAGE_ATTEMPTS),
 * and an expired auth token is renewed by one small read through the client's API (which re-authenticates)
 * before the next try.
 */
async function rangePage (client: Etcd3, req: IRangeRequest): Promise<Buffer> {
  const pool = (client as unknown as { pool: ICallable<unknown> }).pool
  for (let attempt = 1; ; attempt++) {
    try {
      return await pool.withConnection('KV', ({ client: kv, metadata }) => new Promise<Buffer>((resolve, reject) => {
        const range = (kv as unknown as { Range?: GrpcMethod }).Range
        // a later etcd3 or grpc-js without the method attributes: a clear error, not a TypeError deep inside
        if (typeof range?.path !== 'string' || typeof range.requestSerialize !== 'function') { reject(new TypeError('etcd3 KV client without Range method attributes')); return }
        kv.makeUnaryRequest(range.path, range.requestSerialize, rawMessage, req, metadata, { deadline: Date.now() + CALL_TIMEOUT_MS }, (err, res) => {
          if (err !== null || res === undefined) reject(castGrpcError(err ?? new Error('no answer')))
          else resolve(res)
        })
      }))
    } catch (err) {
      if (attempt >= PAGE_ATTEMPTS) throw err
      if (err instanceof EtcdInvalidAuthTokenError) await client.get(req.key ?? '').exec()
      else if (!isRecoverableError(err as Error)) throw err
    }
  }
}

function rawMessage (bytes: Buffer): Buffer {
  return bytes
}

/**
 * The route and pool entries of decoded pages into a PrefixState: each key compared with
 * PREFIX/routes/ and PREFIX/upstreams/ as bytes, and only the name after it made a string (no string of
 * the whole key); value texts shared (ValueTexts).
 */
class PageReader {
  readonly #routes: Buffer
  readonly #upstreams: Buffer
  readonly #values = new ValueTexts()
  constructor (prefix: string) {
    this.#routes = Buffer.from(prefix + ROUTES_DIR)
    this.#upstreams = Buffer.from(prefix + UPSTREAMS_DIR)
  }

  apply (state: PrefixState, buf: Buffer, page: RangePage): void {
    for (let i = 0; i < page.kvs; i++) {
      const ks = page.keyStart[i]!
      const ke = page.keyEnd[i]!
      let into: PrefixEntries
      let at: number
      if (startsWith(buf, ks, ke, this.#routes)) { into = state.routes; at = ks + this.#routes.length } else if (startsWith(buf, ks, ke, this.#upstreams)) { into = state.upstreams; at = ks + this.#upstreams.length } else continue
      // splitKey: the bare directory is not an entry
      if (at === ke) continue
      into.append(buf.toString('utf8', at, ke), this.#values.text(buf, page.valueStart[i]!, page.valueEnd[i]!))
    }
  }
}

/** does buf[start, end) begin with `head`? */
function startsWith (buf: Buffer, start: number, end: number, head: Buffer): boolean {
  if (end - start < head.length) return false
  for (let j = 0; j < head.length; j++) if (buf[start + j] !== head[j]) return false
  return true
}

/** ValueTexts: a value this long or shorter is looked up among those already read (host:port, a pool name). */
const SHARED_VALUE_MAX_BYTES = 64
/** ValueTexts: distinct values remembered; past this the table is not one of few targets, and each value is its own string. */
const SHARED_VALUES_MAX = 4_096

/**
 * Value texts of a prefix read, one string per distinct short value: a large table names a handful of
 * pools and origins, and a million copies of the same `10.0.0.1:443` are ~40 MB for nothing.
 */
class ValueTexts {
  readonly #seen = new Map<string, string>()
  text (buf: Buffer, start: number, end: number): string {
    const t = buf.toString('utf8', start, end)
    if (end - start > SHARED_VALUE_MAX_BYTES) return t
    const known = this.#seen.get(t)
    if (known !== undefined) return known
    if (this.#seen.size < SHARED_VALUES_MAX) this.#seen.set(t, t)
    return t
  }
}

/** a watched put into `state`, recorded in `log` (a pool's change drops it: only a whole input has it) */
function applyPut (state: PrefixState, prefix: string, key: string, value: string, log: DeltaLog): boolean {
  const at = splitKey(prefix, key)
  if (at === null) return false
  if (at.kind === 'route') {
    log.put(at.name, value, state.routes.has(at.name))
    state.routes.set(at.name, value)
  } else {
    log.drop()
    state.upstreams.set(at.name, value)
  }
  return true
}

function applyDelete (state: PrefixState, prefix: string, key: string, log: DeltaLog): boolean {
  const at = splitKey(prefix, key)
  if (at === null) return false
  const deleted = (at.kind === 'route' ? state.routes : state.upstreams).delete(at.name)
  if (deleted && at.kind === 'route') log.delete(at.name)
  else if (deleted) log.drop()
  return deleted
}

function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => { setTimeout(resolve, ms).unref() })
}

/** What `run` swaps through: the lifecycle's one-at-a-time reload (it records each in the ledger). */
export type RunReload = (run: () => Promise<ReloadResult>) => Promise<{ ok: boolean, error?: { code?: string | undefined } }>

export class EtcdSource {
  readonly config: EtcdSourceConfig
  /** the config file: its value is merged under etcd's entries */
  readonly file: string
  /** the config given as a value (createProxy), not read from `file`; null: read the file */
  private readonly inline: { value: unknown } | null
  private readonly logger: Logger
  private client: Etcd3 | null = null
  /** what `client` was made from: a watch cancelled by etcd gets a new client (renewClient) */
  private clientOptions: IOptions | null = null
  private watcher: Watcher | null = null
  /** the prefix as last seen (watch applied), revision included */
  private state: PrefixState = { revision: 0, routes: new PrefixEntries(), upstreams: new PrefixEntries() }
  /** the file's value the table in force was merged into */
  private fileValue: unknown = null
  private fromEtcd = false
  private connected = false
  private reason: string | null = null
  private appliedRevision = 0
  private appliedSkipped = 0
  private skippedTotal = 0
  private compiles = 0
  private incrementalCompiles = 0
  /**
   * the route keys changed since the input of the last compile sent to the reload thread; with `base`
   * (that compile's token, and the file value it merged) a compile sends only these (fleet-delta.ts)
   */
  private readonly changes = new DeltaLog()
  private base: { token: string, fileValue: unknown } | null = null
  /** the prefix changed since the last compile started */
  private dirty = false
  private compiling = false
  private timer: NodeJS.Timeout | null = null
  private lastCompileAt = 0
  private closed = false
  private proxy: Reloadable | null = null
  private runReload: RunReload | null = null
  /** snapshot writes, one after the other */
  private writing: Promise<void> = Promise.resolve()
  /** a full re-read is in progress (compaction, or etcd unreachable at start) */
  private rereading: Promise<void> | null = null

  /** `value`: the config as a value (createProxy's inline config); absent, `file` is read */
  constructor (config: EtcdSourceConfig, file: string, logger: Logger, value?: unknown) {
    this.config = config
    this.file = file
    this.logger = logger
    this.inline = value === undefined ? null : { value }
  }

  get status (): EtcdSourceStatus {
    return {
      fromEtcd: this.fromEtcd,
      connected: this.connected,
      revision: this.appliedRevision,
      routes: this.state.routes.size,
      upstreams: this.state.upstreams.size,
      skipped: this.appliedSkipped,
      skippedTotal: this.skippedTotal,
      compiles: this.compiles,
      incrementalCompiles: this.incrementalCompiles,
      reason: this.reason,
    }
  }

  /** Start: the file's value and etcd's prefix (or the snapshot) compiled into the first config (module header). */
  async load (): Promise<FleetResult> {
    this.fileValue = this.inline === null ? await loadConfigValue(this.file) : this.inline.value
    this.clientOptions = await etcdClientOptions(this.config)
    this.client = new Etcd3(this.clientOptions)
    let from: 'etcd' | 'snapshot' | 'file' = 'etcd'
    // the routes checked page by page while the next page is read (ReadHooks); dropped if the read
    // fails, and if a check throws (compileFleet then runs them all and reports it as it always did)
    let checks: RouteChecks | undefined
    const hooks: ReadHooks = {
      upstreams: (s) => {
        try { checks = new RouteChecks(this.fileValue, this.config.prefix, [...s.upstreams]) } catch { checks = undefined }
      },
      routes: (routes) => {
        try { checks?.check(routes, routes.names.length) } catch { checks = undefined }
      },
    }
    try {
      this.state = await readPrefix(this.client, this.config.prefix, START_TIMEOUT_MS, READ_PAGE_KEYS, hooks)
      this.fromEtcd = true
      this.connected = true
    } catch (err) {
      this.reason = etcdError(this.config, 'not ready from etcd', err).message
      from = await this.loadSnapshot() ? 'snapshot' : 'file'
      checks = undefined
      this.logger.warn({ evt: LogEvent.SourceNotReady, code: ErrorCode.SOURCE_ETCD, reason: this.reason, from, revision: this.state.revision }, LogEvent.SourceNotReady)
    }
    const input = this.input()
    const result = compileFleet(input, checks)
    this.applied(result.skipped, result.shadowed, result.config.routes.length, from, input, this.state.revision, false)
    return result
  }

  /** the snapshot into `state`; false (logged) when there is none or it is unusable */
  private async loadSnapshot (): Promise<boolean> {
    const file = this.config.cache
    if (file === null) return false
    try {
      const snap = await readSnapshot(file, this.config.prefix)
      if (snap === null) return false
      this.state = { revision: snap.revision, routes: PrefixEntries.from(snap.routes), upstreams: PrefixEntries.from(snap.upstreams) }
      return true
    } catch (err) {
      const e = isProxyError(err) ? err : new ProxyError(ErrorCode.SOURCE_SNAPSHOT, String(err), { source: ErrorSource.Config, file })
      this.logger.error({ evt: LogEvent.SourceSnapshotError, code: e.code, file, message: e.message, kept: 'file routes only' }, LogEvent.SourceSnapshotError)
      return false
    }
  }

  /**
   * What a compile reads: the file's value and the prefix as it is now (a compile in the reload thread
   * starts later, while the watch goes on editing the entries: PrefixEntries.columns is a copy once edited).
   */
  private input (): FleetInput {
    return {
      file: this.file,
      raw: this.fileValue,
      prefix: this.config.prefix,
      routes: this.state.routes.columns(),
      upstreams: [...this.state.upstreams],
    }
  }

  /**
   * bookkeeping and log lines once a compile of `input` (read at `revision`; null: not built, there is no
   * snapshot to write) is going into force; `incremental`: built from a delta (fleet-delta.ts)
   */
  private applied (skipped: readonly SkippedKey[], shadowed: readonly string[], routes: number, from: string, input: FleetInput | null, revision: number, incremental: boolean): void {
    this.compiles++
    if (incremental) this.incrementalCompiles++
    this.appliedSkipped = skipped.length
    this.skippedTotal += skipped.length
    this.appliedRevision = revision
    for (const s of skipped) this.logger.warn({ evt: LogEvent.SourceSkip, key: s.key, code: s.code, reason: s.reason }, LogEvent.SourceSkip)
    for (const key of shadowed) this.logger.info({ evt: LogEvent.SourceShadowed, key, kept: 'the file\'s' }, LogEvent.SourceShadowed)
    this.logger.info({ evt: LogEvent.SourceApplied, revision, routes, skipped: skipped.length, shadowed: shadowed.length, from, compile: incremental ? 'incremental' : 'full' }, LogEvent.SourceApplied)
    if (from === 'etcd' && input !== null) this.saveSnapshot(input, revision)
  }

  private saveSnapshot (input: FleetInput, revision: number): void {
    const file = this.config.cache
    if (file === null) return
    // the columns as the compile read them: no [key, value] pair per route (snapshot.ts writes in slices)
    const snap = { prefix: this.config.prefix, revision, routes: input.routes, upstreams: input.upstreams }
    this.writing = this.writing.then(() => writeSnapshot(file, snap)).catch((err: unknown) => {
      this.logger.error({ evt: LogEvent.SourceSnapshotError, code: ErrorCode.SOURCE_SNAPSHOT, file, message: (err as Error).message }, LogEvent.SourceSnapshotError)
    })
  }

  /** Once the proxy serves: watch (or first reach etcd, when load() could not) and apply changes. */
  run (proxy: Reloadable, runReload: RunReload): void {
    this.proxy = proxy
    this.runReload = runReload
    if (this.fromEtcd) this.watch()
    else this.reread('start')
  }

  /**
   * SIGHUP / POST /reload: the file's value read again (`next`: that file, or that value, instead;
   * an inline config without `next` is merged again as it was), merged with etcd's entries as they are now.
   */
  async reloadFile (next?: unknown): Promise<ReloadResult> {
    try {
      if (typeof next === 'string') this.fileValue = await loadConfigValue(next)
      else if (next !== undefined) this.fileValue = next
      else if (this.inline === null) this.fileValue = await loadConfigValue(this.file)
    } catch (err) {
      return await reloadWith(this.requireProxy(), this.file, () => Promise.reject(err), this.logger)
    }
    return await this.compileNow()
  }

  private requireProxy (): Reloadable {
    if (this.proxy === null) throw new TypeError('EtcdSource: run() was not called')
    return this.proxy
  }

  /**
   * One compile of the prefix as it is now, off the main thread, swapped in by reloadWith. Only the
   * changed route keys are sent when the reload thread keeps the last compile sent (`base`) of the same
   * file value, the record is whole and the change small (fleet-delta.ts deltaPays); else the whole input.
   * Either way the record restarts empty: it holds what changes after this input. A failed compile forgets
   * `base`, so the next one sends the whole input (no change is lost with the failed one).
   */
  private async compileNow (): Promise<ReloadResult> {
    const fileValue = this.fileValue
    const base = this.base
    const delta = base !== null && base.fileValue === fileValue && deltaPays(this.changes.size, this.state.routes.size)
      ? this.changes.delta(base.token)
      : null
    // the snapshot needs the whole input; without a cache file a delta compile never builds it
    let input = delta === null || this.config.cache !== null ? this.input() : null
    let revision = this.state.revision
    this.changes.restart()
    const from = this.fromEtcd ? 'etcd' : 'snapshot'
    return await reloadWith(this.requireProxy(), this.file, async () => {
      let r
      try {
        r = delta === null
          ? await loadRoutesOffThread(input!)
          : await loadFleetDeltaOffThread(delta, () => {
            // a miss: the whole prefix as it is at this moment, and the record restarts from it
            input = this.input()
            revision = this.state.revision
            this.changes.restart()
            return input
          })
      } catch (err) {
        this.base = null
        throw err
      }
      this.base = r.token === undefined ? null : { token: r.token, fileValue }
      // reloadWith swaps it in next, synchronously: this revision is the one in force from now on
      this.applied(r.skipped ?? [], r.shadowed ?? [], r.state.routes.size, from, input, revision, r.incremental === true)
      return r
    }, this.logger)
  }

  private watch (): void {
    const client = this.client
    if (client === null || this.closed) return
    const w = client.watch().prefix(this.config.prefix).startRevision(String(this.state.revision + 1)).watcher()
    this.watcher = w
    w.on('connected', () => {
      if (!this.connected) this.logger.info({ evt: LogEvent.SourceConnected, revision: this.state.revision, how: 'watch resumed' }, LogEvent.SourceConnected)
      this.connected = true
    })
    w.on('disconnected', (err: Error) => {
      resumeAfter(w, this.state.revision)
      if (this.connected) this.logger.warn({ evt: LogEvent.SourceDisconnected, code: ErrorCode.SOURCE_ETCD, reason: err.message, kept: 'table in force' }, LogEvent.SourceDisconnected)
      this.connected = false
      this.reason = err.message
    })
    w.on('data', (res) => {
      let changed = false
      for (const ev of res.events) {
        const key = ev.kv.key.toString()
        changed = (ev.type === 'Put' ? applyPut(this.state, this.config.prefix, key, ev.kv.value.toString(), this.changes) : applyDelete(this.state, this.config.prefix, key, this.changes)) || changed
        // the revision of the last event applied, not the header's (module header: resumeAfter)
        this.state.revision = Math.max(this.state.revision, Number(ev.kv.mod_revision))
      }
      if (changed) this.changed()
    })
    w.on('error', (err: Error) => {
      // etcd cancelled the watch: its start revision was compacted (or the prefix is not ours to read)
      if (this.watcher !== w) return
      this.watcher = null
      this.connected = false
      this.reason = err.message
      this.renewClient()
      this.logger.warn({ evt: LogEvent.SourceDisconnected, code: ErrorCode.SOURCE_ETCD, reason: err.message, kept: 'table in force', next: 'full re-read' }, LogEvent.SourceDisconnected)
      this.reread(cancelCause(err))
    })
  }

  /**
   * A new etcd3 client in place of the one whose watch etcd cancelled. etcd refuses a watch at its
   * creation when the stream's auth token is not valid (every token is, after an etcd restart: simple
   * tokens live in its memory) or the user may not read the prefix; etcd3 1.1 then leaves that client's
   * watch stream unusable: its queue of watches to create still waits for the refused one, so a new
   * watch is never sent (and cancelling it never returns), and the stream keeps its token. A new client
   * logs in again and opens a new stream; once per cancel (module header), so the cost is one connection.
   */
  private renewClient (): void {
    this.client?.close()
    this.client = new Etcd3(this.clientOptions!)
  }

  /** Read the whole prefix again (backoff until etcd answers), replace the copy, compile, watch again. */
  private reread (why: string): void {
    if (this.rereading !== null || this.closed) return
    this.rereading = (async () => {
      let delay = RECONNECT_MIN_MS
      while (!this.closed) {
        try {
          const fresh = await readPrefix(this.client!, this.config.prefix)
          this.state = fresh
          this.changes.drop()
          this.fromEtcd = true
          this.connected = true
          this.reason = null
          this.logger.info({ evt: LogEvent.SourceConnected, revision: fresh.revision, how: 'full re-read', why }, LogEvent.SourceConnected)
          break
        } catch (err) {
          this.reason = etcdError(this.config, 'not ready from etcd', err).message
          await sleep(delay)
          delay = Math.min(delay * 2, RECONNECT_MAX_MS)
        }
      }
      this.rereading = null
      if (this.closed) return
      this.changed()
      this.watch()
    })()
  }

  /** the copy changed: compile now, or after the coalescing interval (module header) */
  private changed (): void {
    this.dirty = true
    this.schedule()
  }

  private schedule (): void {
    if (this.compiling || this.timer !== null || this.closed || !this.dirty) return
    const wait = Math.max(0, this.lastCompileAt + COALESCE_MS - Date.now())
    this.timer = setTimeout(() => { this.timer = null; this.flush().catch(ignore) }, wait)
  }

  private async flush (): Promise<void> {
    if (!this.dirty || this.closed || this.runReload === null) return
    this.dirty = false
    this.compiling = true
    this.lastCompileAt = Date.now()
    try {
      const outcome = await this.runReload(() => this.compileNow())
      // a SIGHUP's reload held the slot: this change is still to apply
      if (!outcome.ok && outcome.error?.code === ErrorCode.RELOAD_BUSY) this.dirty = true
    } finally {
      this.compiling = false
      this.schedule()
    }
  }

  /** what /readyz adds: not ready until a table read from etcd is in force */
  readiness (): { ready: boolean, details: string[] } {
    const s = this.status
    const details = [`etcd revision ${s.revision}, ${s.routes} route keys, ${s.skipped} skipped, ${s.connected ? 'watching' : 'not connected'}`]
    if (!s.fromEtcd) return { ready: false, details: [`not ready from etcd: ${s.reason ?? 'not read yet'}`, ...details] }
    if (!s.connected && s.reason !== null) details.push(`etcd: ${s.reason} (serving the table in force)`)
    return { ready: true, details }
  }

  async close (): Promise<void> {
    this.closed = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    const w = this.watcher
    this.watcher = null
    await w?.cancel().catch(ignore)
    this.client?.close()
    this.client = null
    await this.writing
  }
}

function ignore (): void {}

/**
 * Why etcd cancelled a watch, for the re-read's log line: etcd refused it (an auth token it no longer
 * knows after a restart, a user who may not read the prefix: etcd's reason names the token, the
 * permission or the user), or its start revision was compacted away (etcd 3.4 gives no reason for that,
 * only a compact revision, which etcd3 does not pass on: "Watcher canceled: ").
 */
function cancelCause (err: Error): 'compacted' | 'watch refused' {
  return /auth|permission|user/i.test(err.message) ? 'watch refused' : 'compacted'
}

/**
 * Make the etcd3 watcher resume after `revision` when it reconnects. The library resumes from the
 * response header's revision + 1, which is the store's revision when etcd sent the response, not that of
 * its last event: while a watch catches up after a reconnect, etcd sends old events under a newer header,
 * and a second disconnect then would resume past events never received (a route change lost for good).
 * Its request is not public API; the field is etcd's WatchCreateRequest.start_revision.
 */
function resumeAfter (w: Watcher, revision: number): void {
  const req = (w as unknown as { request?: { start_revision?: string | number } }).request
  if (req !== undefined) req.start_revision = String(revision + 1)
}

/** `p`, or a rejection after `ms` (p keeps running; its result is dropped). */
async function withTimeout<T> (p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => { t = setTimeout(() => { reject(new Error(`no answer within ${ms} ms`)) }, ms) })
  try {
    return await Promise.race([p, late])
  } finally {
    clearTimeout(t)
  }
}
