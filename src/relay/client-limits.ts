/**
 * Per-client-address admission: concurrent connections and new connections per second (token bucket)
 * per client address, checked once per accept before any hello work (accept.ts `handleConnection`).
 *
 * Contract: `admit(address, now)` returns the table slot the connection holds (≥ 0, or UNTRACKED), or
 * LIMITED when the address is over `maxConnections` or has no token; `release(slot)` is called once when
 * an admitted connection closes. Nothing here allocates per accept beyond the first sight of an address (one Map
 * entry, bounded), and there is no timer per entry: a bucket is refilled lazily from the elapsed time
 * when its address connects again (the caller passes one clock read per accept).
 *
 * Scope: one ClientLimiter per worker thread, and each worker enforces the full configured values.
 * A single client's connections are not spread evenly over the workers (reuseport hashes the 4-tuple,
 * handoff picks the least loaded worker), so dividing the values by the worker count would refuse a
 * client below its limit; the process-wide ceiling for one address is therefore `workers × value`.
 * A process-wide table in shared memory would need cross-thread compare-and-swap on every accept and a
 * shared eviction list; the per-worker one costs no synchronisation and is exact within a worker.
 *
 * Bounds: at most `capacity` addresses are tracked (a Map of that many keys plus typed arrays, ~80 bytes
 * per entry with the key). Entries with open connections are never evicted, so the concurrent limit is
 * exact. An entry whose last connection closed joins an idle list (least recently idle first); a new
 * address at the cap takes the slot of the oldest idle entry, which forgets that address's bucket (it
 * starts again with a full burst). Every entry that is not idle holds at least one open connection, and
 * the pool sizes `capacity` to the worker's share of limits.maxConnections (up to CLIENT_TABLE_MAX), so
 * below that ceiling an idle entry always exists at the cap. A flood of addresses can therefore make the
 * rate limit lenient for the oldest idle addresses; it never refuses a new address for lack of room and
 * never grows the table. Past the ceiling (more busy addresses than CLIENT_TABLE_MAX in one worker) a new
 * address is admitted UNTRACKED: failing open keeps strangers served, and limits.maxConnections still holds.
 */

import { performance } from 'node:perf_hooks'
import type { Logger } from 'pino'
import { LogEvent } from '../log/events.ts'
import type { PerClientLimits } from '../config/types.ts'

/**
 * Addresses one worker tracks at most. 2^20 entries cost ~30 MiB of typed arrays and keys; a worker with
 * more distinct clients connected at once than that has other problems, and past it new addresses are
 * admitted untracked (see the module header).
 */
export const CLIENT_TABLE_MAX = 1 << 20

/** ms. At most one `limits.refused` line per worker per interval, summarising the refusals in it. */
export const LIMIT_LOG_INTERVAL_MS = 1000

/** `admit` result: refused (over the concurrent limit or out of tokens). */
export const LIMITED = -1

/** `admit` result: admitted without a slot (the table is full of addresses with open connections). */
export const UNTRACKED = -2

/** Idle-list terminator (slot indices are ≥ 0). */
const NIL = -1

export interface ClientLimitOptions {
  /** open connections per address in this worker; Infinity: no cap */
  readonly maxConnections: number
  /** tokens per second; Infinity: no rate limit */
  readonly newPerSecond: number
  /** bucket size (connections allowed back to back) */
  readonly burst: number
  /** addresses tracked at once */
  readonly capacity: number
}

/**
 * What one worker enforces for `limits.perClient`: the full values (not a share; see the module header),
 * in a table as large as the worker's share of limits.maxConnections, up to CLIENT_TABLE_MAX.
 */
export function clientLimitOptions (limits: PerClientLimits | null, workerMaxConnections: number): ClientLimitOptions | null {
  if (limits === null) return null
  return {
    maxConnections: limits.maxConnections ?? Infinity,
    newPerSecond: limits.newPerSecond ?? Infinity,
    burst: limits.newPerSecond === null ? Infinity : limits.burst,
    capacity: Math.min(workerMaxConnections, CLIENT_TABLE_MAX),
  }
}

export class ClientLimiter {
  readonly options: ClientLimitOptions
  /** address → slot */
  private readonly index = new Map<string, number>()
  private readonly key: string[]
  /** open connections per slot */
  private readonly conns: Int32Array
  /** tokens left per slot (fractional: refill is continuous) */
  private readonly tokens: Float64Array
  /** clock (ms) of the slot's last refill */
  private readonly refilledAt: Float64Array
  /** idle list (slots with no open connection), doubly linked through prev/next, oldest at head */
  private readonly prev: Int32Array
  private readonly next: Int32Array
  private head = NIL
  private tail = NIL
  /** slots never used yet: [used, capacity) */
  private used = 0
  /** tokens per ms */
  private readonly ratePerMs: number

  constructor (options: ClientLimitOptions) {
    this.options = options
    const n = options.capacity
    this.key = new Array<string>(n).fill('')
    this.conns = new Int32Array(n)
    this.tokens = new Float64Array(n)
    this.refilledAt = new Float64Array(n)
    this.prev = new Int32Array(n).fill(NIL)
    this.next = new Int32Array(n).fill(NIL)
    this.ratePerMs = options.newPerSecond / 1000
  }

  /** Addresses tracked now (for tests and status). */
  get size (): number {
    return this.index.size
  }

  /** Admit a new connection from `address` at clock `now` (ms, monotonic): its slot, or LIMITED. */
  admit (address: string, now: number): number {
    let slot = this.index.get(address)
    const o = this.options
    if (slot === undefined) {
      slot = this.take()
      // every tracked address has an open connection: admit untracked rather than refuse a stranger
      if (slot === NIL) return UNTRACKED
      this.index.set(address, slot)
      this.key[slot] = address
      this.conns[slot] = 0
      this.tokens[slot] = o.burst
      this.refilledAt[slot] = now
    } else {
      if (this.conns[slot]! >= o.maxConnections) return LIMITED
      const elapsed = now - this.refilledAt[slot]!
      if (elapsed > 0) {
        this.tokens[slot] = Math.min(o.burst, this.tokens[slot]! + elapsed * this.ratePerMs)
        this.refilledAt[slot] = now
      }
    }
    if (this.tokens[slot]! < 1) return LIMITED
    this.tokens[slot]!--
    const open = this.conns[slot]!
    this.conns[slot] = open + 1
    if (open === 0) this.unlinkIdle(slot)
    return slot
  }

  /** An admitted connection closed; `slot` is what admit returned (UNTRACKED is ignored). */
  release (slot: number): void {
    if (slot < 0) return
    if (--this.conns[slot]! === 0) this.pushIdle(slot)
  }

  /** A free slot: a never-used one, else the oldest idle one (its address is forgotten); UNTRACKED if none. */
  private take (): number {
    if (this.used < this.options.capacity) {
      const slot = this.used++
      // every slot without a connection is on the idle list; admit() unlinks it
      this.pushIdle(slot)
      return slot
    }
    const slot = this.head
    if (slot !== NIL) this.index.delete(this.key[slot]!)
    return slot
  }

  private pushIdle (slot: number): void {
    this.prev[slot] = this.tail
    this.next[slot] = NIL
    if (this.tail === NIL) this.head = slot
    else this.next[this.tail] = slot
    this.tail = slot
  }

  private unlinkIdle (slot: number): void {
    const p = this.prev[slot]!
    const n = this.next[slot]!
    if (p === NIL) this.head = n
    else this.next[p] = n
    if (n === NIL) this.tail = p
    else this.prev[n] = p
    this.prev[slot] = NIL
    this.next[slot] = NIL
  }
}

/**
 * Bounded-rate log of admission refusals: the first refusal after a quiet interval is logged at once,
 * later ones are counted and summarised in one line when the interval ends (one timer per worker, armed
 * only while refusals are waiting to be logged). The counters hold every refusal; the log is the hint.
 */
export class RefusalLog {
  private readonly logger: Logger
  private client = 0
  private pending = 0
  private loggedAt = -Infinity
  private timer: NodeJS.Timeout | null = null

  constructor (logger: Logger) {
    this.logger = logger
  }

  /** Count a refusal (`client`: per-client limit, else the pending-hello cap) at clock `now` (ms). */
  refused (client: boolean, now: number): void {
    if (client) this.client++
    else this.pending++
    if (this.timer !== null) return
    const wait = this.loggedAt + LIMIT_LOG_INTERVAL_MS - now
    if (wait <= 0) {
      this.flush(now)
      return
    }
    this.timer = setTimeout(onRefusalLogTimer, wait, this)
    this.timer.unref()
  }

  /** Write the summary line for the refusals counted since the last one. */
  flush (now: number): void {
    this.timer = null
    this.loggedAt = now
    this.logger.warn({ evt: LogEvent.LimitsRefused, clientLimited: this.client, pendingLimited: this.pending, intervalMs: LIMIT_LOG_INTERVAL_MS }, LogEvent.LimitsRefused)
    this.client = 0
    this.pending = 0
  }

  /** Drop the timer (shutdown) after writing what is waiting. */
  close (now: number): void {
    if (this.timer === null) return
    clearTimeout(this.timer)
    this.flush(now)
  }
}

function onRefusalLogTimer (log: RefusalLog): void {
  log.flush(performance.now())
}
