/**
 * upstreams/state — the process-wide server table: every pool's servers, their health, passive
 * ejection, open-connection gauges and counters, in SharedArrayBuffers.
 *
 * Lifecycle: the main thread builds one table per config (createServerTable) and posts it to every
 * worker; a structured clone of a typed array over a SharedArrayBuffer shares the memory, so all
 * threads read and write the same slots and no message is ever sent per connection. A reload builds a
 * new table, copies what it can from the old one (carryOver) and posts it; sessions that already chose
 * a server keep the old table object for their release() (see carryOver for what is not carried).
 *
 * MEMORY LAYOUT (ids: pool p = index in the PoolSpec array; server s = global index, pool p's servers
 * are s ∈ [poolFirst[p], poolFirst[p] + poolServers[p]) in config order; tier k = 2p (primaries) or
 * 2p + 1 (backups)):
 *
 *   srv      Int32Array  [s × SRV_STRIDE + slot]   shared, mutable
 *            SRV_FLAGS       bit 0 DOWN (active check; main writes), bit 1 EJECTED (passive; a worker
 *                            sets it, the main thread's sweep clears it). Usable ⇔ the word is 0: a pick
 *                            reads one word per candidate.
 *            SRV_ACTIVE      open connections (gauge; workers Atomics.add / Atomics.sub)
 *            SRV_FAILS       consecutive connect failures (workers, Atomics; reset on success and on return)
 *            SRV_STREAK      ejections in a row (backoff exponent; written by the one ejecting thread)
 *            SRV_CHECK_OK    good active checks in a row (main only)
 *            SRV_CHECK_BAD   bad active checks in a row (main only)
 *   times    Float64Array [s × TIME_STRIDE + slot]  shared, mutable
 *            TIME_EJECT_UNTIL   Date.now() ms at which the ejection ends (0 = not ejected)
 *            TIME_EJECT_ENDED   when the last ejection ended (backoff resets after a quiet period)
 *   counters Float64Array [(row × servers + s) × SERVER_COUNTER_SLOTS + c]  shared; row 0 = the main
 *            thread (health checks) plus carried totals, row w = worker w. Each row has ONE writer, so a
 *            counter is a plain `+= 1` (exact to 2^53, like metrics/counters.ts); readers sum the rows.
 *   cursors  Int32Array  [k × CURSOR_STRIDE]  shared, mutable: per tier, the round-robin position (CAS)
 *            and the leastconn tie rotation (add). One 64-byte line per tier so pools do not contend.
 *   static, written once at build (Int32Array unless noted): serverPort, serverWeight, serverPool,
 *            poolFirst, poolServers, poolBalance, poolFailures, poolEjectMs, poolRetries,
 *            poolConnectMs, poolProxyProtocol; per tier: tierStart/tierCount into `members` (global
 *            ids), cycleStart/cycleLength into `cycle` (global ids, swrr.ts), maglevStart/maglevSize
 *            into `maglev` (global ids, maglev.ts; hash pools only).
 *   strings  poolNames, serverHosts, serverLabels (`host:port`) — copied per thread, read only for logs.
 *
 * Writers: several threads write SRV_FLAGS, SRV_ACTIVE and SRV_FAILS, always with Atomics. Slots with
 * one writer use plain stores. A worker's per-connection path reads srv words and adds to its own row.
 *
 * Limits: MAX_POOLS pools, MAX_SERVERS_PER_POOL servers per pool, weights 1..MAX_WEIGHT, at most
 * MAX_WRITERS counter rows; createServerTable throws a RangeError beyond them (the config validator
 * is expected to have refused such a config with a proper message first).
 */
import { Balance, type PoolSpec } from './types.ts'
import { buildMaglev, maglevSize } from './maglev.ts'
import { swrrCycle } from './swrr.ts'

/** Format of ServerTable; bump when a slot moves (a table may be posted to a worker of another build). */
export const SERVER_TABLE_VERSION = 1

export const SRV_FLAGS = 0
export const SRV_ACTIVE = 1
export const SRV_FAILS = 2
export const SRV_STREAK = 3
export const SRV_CHECK_OK = 4
export const SRV_CHECK_BAD = 5
/** 8 words = 32 bytes: two servers per cache line, aligned */
export const SRV_STRIDE = 8

/** SRV_FLAGS bit: the active health check says down */
export const FLAG_DOWN = 1
/** SRV_FLAGS bit: passively ejected after consecutive connect failures */
export const FLAG_EJECTED = 2

export const TIME_EJECT_UNTIL = 0
export const TIME_EJECT_ENDED = 1
export const TIME_STRIDE = 2

/** Int32 words per tier cursor: 16 × 4 = 64 bytes, one cache line, so pools' cursors do not false-share. */
export const CURSOR_STRIDE = 16
/** slot in a tier's cursor line: round-robin position in [0, cycleLength) */
export const CURSOR_RR = 0
/** slot in a tier's cursor line: free-running counter (leastconn tie rotation, roundrobin fallback draws) */
export const CURSOR_ROTATE = 1

/** Per-server counters (one Float64 each per writer row). Names are the metrics' suffixes. */
export const ServerCounter = {
  /** TCP connections established to the server */
  Connections: 0,
  /** connect attempts that failed (refused, reset, timed out) */
  ConnectFailures: 1,
  /** passive ejections */
  Ejections: 2,
  /** active checks that passed */
  ChecksOk: 3,
  /** active checks that failed */
  ChecksFailed: 4,
  /** up ↔ down transitions decided by active checks */
  Transitions: 5,
} as const
export type ServerCounter = typeof ServerCounter[keyof typeof ServerCounter]
export const SERVER_COUNTER_NAMES: readonly string[] = ['connections', 'connect_failures', 'ejections', 'checks_ok', 'checks_failed', 'transitions']
export const SERVER_COUNTER_SLOTS = SERVER_COUNTER_NAMES.length

/** Counter row of the main thread (health checks, carried totals). Workers use 1..writers. */
export const MAIN_ROW = 0

/** Balance as stored in poolBalance */
export const BalanceCode = { RoundRobin: 0, LeastConn: 1, Hash: 2 } as const
export const BALANCE_CODE: Readonly<Record<Balance, number>> = { roundrobin: BalanceCode.RoundRobin, leastconn: BalanceCode.LeastConn, hash: BalanceCode.Hash }
/** proxyProtocol as stored in poolProxyProtocol: 0 off, 1 v1, 2 v2 */
export const PROXY_CODE: Readonly<Record<PoolSpec['proxyProtocol'], number>> = { off: 0, v1: 1, v2: 2 }

export const MAX_POOLS = 65_536
/** Bounds the O(servers) leastconn scan and the SWRR build (swrr.ts) per pool. */
export const MAX_SERVERS_PER_POOL = 1024
/** HAProxy's range (1..256): enough to express any useful ratio, and it bounds Σw for the cycle. */
export const MAX_WEIGHT = 256
/** counter rows: the main thread + up to this many workers minus one */
export const MAX_WRITERS = 1024
/**
 * Cap on an ejection's duration however often it repeats (Envoy outlier detection's
 * max_ejection_time default): a flapping server is retried at least this often. A configured eject
 * longer than this is used as is.
 */
export const MAX_EJECT_MS = 300_000

export interface ServerTable {
  readonly version: number
  readonly pools: number
  readonly servers: number
  /** counter rows: 1 (main) + worker rows */
  readonly rows: number
  readonly srv: Int32Array
  readonly times: Float64Array
  readonly counters: Float64Array
  readonly cursors: Int32Array
  readonly serverPort: Int32Array
  readonly serverWeight: Int32Array
  readonly serverPool: Int32Array
  readonly poolFirst: Int32Array
  readonly poolServers: Int32Array
  readonly poolBalance: Int32Array
  readonly poolFailures: Int32Array
  readonly poolEjectMs: Int32Array
  readonly poolRetries: Int32Array
  readonly poolConnectMs: Int32Array
  readonly poolProxyProtocol: Int32Array
  readonly tierStart: Int32Array
  readonly tierCount: Int32Array
  readonly members: Int32Array
  readonly cycleStart: Int32Array
  readonly cycleLength: Int32Array
  readonly cycle: Int32Array
  readonly maglevStart: Int32Array
  readonly maglevSize: Int32Array
  readonly maglev: Int32Array
  readonly poolNames: readonly string[]
  readonly serverHosts: readonly string[]
  /** `host:port` (IPv6 in brackets), for logs */
  readonly serverLabels: readonly string[]
}

function sharedInt32 (n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(Math.max(1, n) * 4))
}
function sharedFloat64 (n: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(Math.max(1, n) * 8))
}
function sharedCopy (values: readonly number[]): Int32Array {
  const a = sharedInt32(values.length)
  a.set(values)
  return a
}

function invalid (message: string): never {
  throw new RangeError('upstreams: ' + message)
}

export function serverLabel (host: string, port: number): string {
  return (host.includes(':') ? '[' + host + ']' : host) + ':' + String(port)
}

function checkSpec (pools: readonly PoolSpec[], writers: number): void {
  if (pools.length > MAX_POOLS) invalid('more than ' + String(MAX_POOLS) + ' pools')
  if (!Number.isInteger(writers) || writers < 0 || writers + 1 > MAX_WRITERS) invalid('writers must be an integer in [0, ' + String(MAX_WRITERS - 1) + ']')
  const names = new Set<string>()
  for (const p of pools) {
    if (names.has(p.name)) invalid('pool "' + p.name + '" listed twice')
    names.add(p.name)
    if (p.servers.length > MAX_SERVERS_PER_POOL) invalid('pool "' + p.name + '" has more than ' + String(MAX_SERVERS_PER_POOL) + ' servers')
    const seen = new Set<string>()
    for (const s of p.servers) {
      const label = serverLabel(s.host, s.port)
      if (seen.has(label)) invalid('pool "' + p.name + '" lists ' + label + ' twice')
      seen.add(label)
      if (!Number.isInteger(s.weight) || s.weight < 1 || s.weight > MAX_WEIGHT) invalid('pool "' + p.name + '" server ' + label + ': weight must be an integer in [1, ' + String(MAX_WEIGHT) + ']')
      if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535) invalid('pool "' + p.name + '" server ' + label + ': bad port')
    }
  }
}

/**
 * Build the table for `pools` (index = pool id) with counter rows for `writers` worker threads
 * (rows 1..writers; row 0 is the main thread's). Main thread, at config load.
 */
export function createServerTable (pools: readonly PoolSpec[], writers: number): ServerTable {
  checkSpec(pools, writers)
  const servers = pools.reduce((n, p) => n + p.servers.length, 0)
  const serverPort: number[] = []
  const serverWeight: number[] = []
  const serverPool: number[] = []
  const serverHosts: string[] = []
  const serverLabels: string[] = []
  const poolFirst: number[] = []
  const members: number[] = []
  const tierStart: number[] = []
  const tierCount: number[] = []
  const cycle: number[] = []
  const cycleStart: number[] = []
  const cycleLength: number[] = []
  const maglevParts: Int32Array[] = []
  const maglevStart: number[] = []
  const maglevSizes: number[] = []
  let maglevTotal = 0
  pools.forEach((p, pi) => {
    poolFirst.push(serverPort.length)
    const first = serverPort.length
    for (const s of p.servers) {
      serverPort.push(s.port)
      serverWeight.push(s.weight)
      serverPool.push(pi)
      serverHosts.push(s.host)
      serverLabels.push(serverLabel(s.host, s.port))
    }
    for (const backup of [false, true]) {
      const ids: number[] = []
      p.servers.forEach((s, i) => { if (s.backup === backup) ids.push(first + i) })
      tierStart.push(members.length)
      tierCount.push(ids.length)
      members.push(...ids)
      const weights = ids.map((id) => serverWeight[id]!)
      cycleStart.push(cycle.length)
      if (p.balance === Balance.RoundRobin && ids.length > 0) {
        for (const local of swrrCycle(weights)) cycle.push(ids[local]!)
      }
      cycleLength.push(cycle.length - cycleStart[cycleStart.length - 1]!)
      maglevStart.push(maglevTotal)
      if (p.balance === Balance.Hash && ids.length > 0) {
        const size = maglevSize(ids.length)
        const local = buildMaglev(ids.map((id) => serverLabels[id]!), weights, size)
        const global = new Int32Array(size)
        for (let e = 0; e < size; e++) global[e] = ids[local[e]!]!
        maglevParts.push(global)
        maglevSizes.push(size)
        maglevTotal += size
      } else {
        maglevSizes.push(0)
      }
    }
  })
  const maglev = sharedInt32(maglevTotal)
  let at = 0
  for (const part of maglevParts) { maglev.set(part, at); at += part.length }
  const rows = writers + 1
  return {
    version: SERVER_TABLE_VERSION,
    pools: pools.length,
    servers,
    rows,
    srv: sharedInt32(servers * SRV_STRIDE),
    times: sharedFloat64(servers * TIME_STRIDE),
    counters: sharedFloat64(rows * servers * SERVER_COUNTER_SLOTS),
    cursors: sharedInt32(pools.length * 2 * CURSOR_STRIDE),
    serverPort: sharedCopy(serverPort),
    serverWeight: sharedCopy(serverWeight),
    serverPool: sharedCopy(serverPool),
    poolFirst: sharedCopy(poolFirst),
    poolServers: sharedCopy(pools.map((p) => p.servers.length)),
    poolBalance: sharedCopy(pools.map((p) => BALANCE_CODE[p.balance])),
    poolFailures: sharedCopy(pools.map((p) => p.passive.failures)),
    poolEjectMs: sharedCopy(pools.map((p) => p.passive.ejectMs)),
    poolRetries: sharedCopy(pools.map((p) => p.connect.retries)),
    poolConnectMs: sharedCopy(pools.map((p) => p.connect.timeoutMs)),
    poolProxyProtocol: sharedCopy(pools.map((p) => PROXY_CODE[p.proxyProtocol])),
    tierStart: sharedCopy(tierStart),
    tierCount: sharedCopy(tierCount),
    members: sharedCopy(members),
    cycleStart: sharedCopy(cycleStart),
    cycleLength: sharedCopy(cycleLength),
    cycle: sharedCopy(cycle),
    maglevStart: sharedCopy(maglevStart),
    maglevSize: sharedCopy(maglevSizes),
    maglev,
    poolNames: pools.map((p) => p.name),
    serverHosts,
    serverLabels,
  }
}

// ---- worker side: per connection ---------------------------------------------------------------------

/** A connection to server s is starting (count it in the leastconn gauge until release). */
export function acquireServer (t: ServerTable, s: number): void {
  Atomics.add(t.srv, s * SRV_STRIDE + SRV_ACTIVE, 1)
}

/** The connection counted by acquireServer is over (connect failed, or it closed). Call it once. */
export function releaseServer (t: ServerTable, s: number): void {
  Atomics.sub(t.srv, s * SRV_STRIDE + SRV_ACTIVE, 1)
}

function bump (t: ServerTable, row: number, s: number, c: ServerCounter): void {
  const i = (row * t.servers + s) * SERVER_COUNTER_SLOTS + c
  t.counters[i] = t.counters[i]! + 1
}

/** The TCP connect to s succeeded: count it, and end its run of failures (one read when there is none). */
export function reportConnectOk (t: ServerTable, row: number, s: number): void {
  bump(t, row, s, ServerCounter.Connections)
  if (t.srv[s * SRV_STRIDE + SRV_FAILS] !== 0) Atomics.store(t.srv, s * SRV_STRIDE + SRV_FAILS, 0)
}

/**
 * The TCP connect to s failed (refused, reset or timed out). Counts it; when it makes `failures` in a
 * row, ejects s and returns the ejection's duration in ms (the caller logs it); otherwise returns 0.
 * Exactly one thread sees the count reach the threshold, so one failure run ejects once.
 * `now` is Date.now() (read only on this failure path).
 */
export function reportConnectFailure (t: ServerTable, row: number, s: number, now: number): number {
  bump(t, row, s, ServerCounter.ConnectFailures)
  const threshold = t.poolFailures[t.serverPool[s]!]!
  if (threshold <= 0) return 0
  const n = Atomics.add(t.srv, s * SRV_STRIDE + SRV_FAILS, 1) + 1
  if (n !== threshold) return 0
  return eject(t, row, s, now)
}

/** Base ejection time doubled per ejection in a row, capped at MAX_EJECT_MS (or the base, if larger). */
export function ejectionMs (baseMs: number, streak: number): number {
  const cap = Math.max(baseMs, MAX_EJECT_MS)
  return Math.min(cap, baseMs * 2 ** Math.min(streak - 1, 30))
}

function eject (t: ServerTable, row: number, s: number, now: number): number {
  const base = t.poolEjectMs[t.serverPool[s]!]!
  const at = s * SRV_STRIDE
  const ended = t.times[s * TIME_STRIDE + TIME_EJECT_ENDED]!
  let streak = t.srv[at + SRV_STREAK]!
  // the streak resets once the server has stayed in for as long as its last ejection lasted
  if (streak === 0 || ended === 0 || now - ended > ejectionMs(base, streak)) streak = 0
  streak++
  const ms = ejectionMs(base, streak)
  t.srv[at + SRV_STREAK] = streak
  t.times[s * TIME_STRIDE + TIME_EJECT_UNTIL] = now + ms
  bump(t, row, s, ServerCounter.Ejections)
  Atomics.or(t.srv, at + SRV_FLAGS, FLAG_EJECTED)
  return ms
}

/** Bit of s in a pick's `tried` mask (its position in the pool, modulo 32). */
export function serverBit (t: ServerTable, s: number): number {
  return 1 << ((s - t.poolFirst[t.serverPool[s]!]!) & 31)
}

// ---- main thread: health and ejection expiry ---------------------------------------------------------

export const Transition = { None: 0, Down: -1, Up: 1 } as const
export type Transition = typeof Transition[keyof typeof Transition]

/**
 * Apply one active check result to s with rise/fall semantics (main thread only): an up server goes
 * down after `fall` bad checks in a row, a down one comes back after `rise` good ones. Counts the
 * check and the transition; returns which transition happened.
 */
export function recordCheck (t: ServerTable, s: number, ok: boolean, rise: number, fall: number): Transition {
  const at = s * SRV_STRIDE
  bump(t, MAIN_ROW, s, ok ? ServerCounter.ChecksOk : ServerCounter.ChecksFailed)
  const down = (t.srv[at + SRV_FLAGS]! & FLAG_DOWN) !== 0
  if (ok) {
    t.srv[at + SRV_CHECK_BAD] = 0
    const run = t.srv[at + SRV_CHECK_OK]! + 1
    t.srv[at + SRV_CHECK_OK] = run
    if (down && run >= rise) {
      Atomics.and(t.srv, at + SRV_FLAGS, ~FLAG_DOWN)
      bump(t, MAIN_ROW, s, ServerCounter.Transitions)
      return Transition.Up
    }
    return Transition.None
  }
  t.srv[at + SRV_CHECK_OK] = 0
  const run = t.srv[at + SRV_CHECK_BAD]! + 1
  t.srv[at + SRV_CHECK_BAD] = run
  if (!down && run >= fall) {
    Atomics.or(t.srv, at + SRV_FLAGS, FLAG_DOWN)
    bump(t, MAIN_ROW, s, ServerCounter.Transitions)
    return Transition.Down
  }
  return Transition.None
}

/**
 * End the ejections that are due (main thread, on a timer): clears EJECTED and the failure run of every
 * server whose ejection ended by `now`, calling onReturn(s) for each. Returns how many returned.
 */
export function sweepEjections (t: ServerTable, now: number, onReturn?: (s: number) => void): number {
  let n = 0
  for (let s = 0; s < t.servers; s++) {
    if ((t.srv[s * SRV_STRIDE + SRV_FLAGS]! & FLAG_EJECTED) === 0) continue
    const until = t.times[s * TIME_STRIDE + TIME_EJECT_UNTIL]!
    if (until > now) continue
    t.times[s * TIME_STRIDE + TIME_EJECT_UNTIL] = 0
    t.times[s * TIME_STRIDE + TIME_EJECT_ENDED] = now
    // failures first, then the flag: a thread that sees the server usable again also sees a fresh run
    Atomics.store(t.srv, s * SRV_STRIDE + SRV_FAILS, 0)
    Atomics.and(t.srv, s * SRV_STRIDE + SRV_FLAGS, ~FLAG_EJECTED)
    n++
    onReturn?.(s)
  }
  return n
}

/** Is s usable for new connections right now (up and not ejected)? */
export function serverUsable (t: ServerTable, s: number): boolean {
  return t.srv[s * SRV_STRIDE + SRV_FLAGS] === 0
}

// ---- reload and stats --------------------------------------------------------------------------------

/**
 * Carry state from `old` into `next` (main thread, before `next` is posted to the workers) for every
 * server present in both: same pool name and same `host:port`. Carried: down/ejected flags, the
 * check runs (so rise/fall continue where they were), the failure run, the ejection's end and streak,
 * and the counters (summed over old's rows into next's row 0, so totals do not go back to zero).
 * NOT carried: the open-connection gauge. Connections in flight stay counted in `old`, where their
 * release() goes; `next` counts only connections it hands out, as nginx's and HAProxy's reloads do.
 * Connections started on `old` between this call and the workers' swap are not in next's totals.
 * Returns how many servers were carried.
 */
export function carryOver (old: ServerTable, next: ServerTable): number {
  const index = new Map<string, number>()
  for (let s = 0; s < old.servers; s++) index.set(old.poolNames[old.serverPool[s]!] + '\n' + old.serverLabels[s]!, s)
  let carried = 0
  for (let s = 0; s < next.servers; s++) {
    const o = index.get(next.poolNames[next.serverPool[s]!] + '\n' + next.serverLabels[s]!)
    if (o === undefined) continue
    for (const slot of [SRV_FLAGS, SRV_FAILS, SRV_STREAK, SRV_CHECK_OK, SRV_CHECK_BAD]) {
      Atomics.store(next.srv, s * SRV_STRIDE + slot, Atomics.load(old.srv, o * SRV_STRIDE + slot))
    }
    for (let k = 0; k < TIME_STRIDE; k++) next.times[s * TIME_STRIDE + k] = old.times[o * TIME_STRIDE + k]!
    for (let c = 0; c < SERVER_COUNTER_SLOTS; c++) {
      let sum = 0
      for (let r = 0; r < old.rows; r++) sum += old.counters[(r * old.servers + o) * SERVER_COUNTER_SLOTS + c]!
      next.counters[(MAIN_ROW * next.servers + s) * SERVER_COUNTER_SLOTS + c] = sum
    }
    carried++
  }
  return carried
}

export interface ServerStats {
  pool: string
  server: string
  backup: boolean
  weight: number
  /** 'up' | 'down' (active check) | 'ejected' (passive) */
  state: 'up' | 'down' | 'ejected'
  active: number
  /** ms left of the ejection, 0 when not ejected */
  ejectedForMs: number
  counters: Record<string, number>
}

/** Snapshot of every server for metrics and `hellogate check` (main thread; allocates). */
export function serverStats (t: ServerTable, now: number): ServerStats[] {
  const out: ServerStats[] = []
  for (let s = 0; s < t.servers; s++) {
    const flags = Atomics.load(t.srv, s * SRV_STRIDE + SRV_FLAGS)
    const counters: Record<string, number> = {}
    for (let c = 0; c < SERVER_COUNTER_SLOTS; c++) {
      let sum = 0
      for (let r = 0; r < t.rows; r++) sum += t.counters[(r * t.servers + s) * SERVER_COUNTER_SLOTS + c]!
      counters[SERVER_COUNTER_NAMES[c]!] = sum
    }
    const p = t.serverPool[s]!
    const tier = 2 * p + 1
    let backup = false
    for (let m = t.tierStart[tier]!; m < t.tierStart[tier]! + t.tierCount[tier]!; m++) if (t.members[m] === s) backup = true
    const until = t.times[s * TIME_STRIDE + TIME_EJECT_UNTIL]!
    out.push({
      pool: t.poolNames[p]!,
      server: t.serverLabels[s]!,
      backup,
      weight: t.serverWeight[s]!,
      state: (flags & FLAG_DOWN) !== 0 ? 'down' : (flags & FLAG_EJECTED) !== 0 ? 'ejected' : 'up',
      active: Atomics.load(t.srv, s * SRV_STRIDE + SRV_ACTIVE),
      ejectedForMs: (flags & FLAG_EJECTED) !== 0 ? Math.max(0, until - now) : 0,
      counters,
    })
  }
  return out
}
