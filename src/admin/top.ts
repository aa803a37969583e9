/**
 * `hellogate top --admin ADDR`: a live terminal view of a running proxy, refreshed every second, for
 * people who would rather look than read logs. It polls GET /status and shows rates computed between
 * two successive snapshots: new connections/s, active connections, bytes/s each way, outcomes, the
 * busiest routes, and per-worker load and event-loop delay.
 *
 * The computation is pure (`computeTop(prev, next, dtMs)` → TopView → `renderTop(view)` → lines), so it
 * is tested without a terminal or a clock; `runTop` only fetches, renders and sleeps.
 *
 * Counters that went backwards (the proxy restarted between two polls: a new pid) restart the rates
 * from the new snapshot instead of showing negative figures.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { fetchStatus, formatUptime, type AdminClientOptions } from './client.ts'
import type { StatusJson } from './target.ts'

/** Refresh period: once a second is what `top(1)` does and what the workers' loop stats resolve. */
export const TOP_INTERVAL_MS = 1000
/** Routes and outcomes shown: a terminal screen, not a report. */
export const TOP_ROWS = 10

export interface TopRate {
  readonly name: string
  /** per second over the last interval; null on the first snapshot */
  readonly perSec: number | null
  readonly total: number
}

export interface TopWorker {
  readonly id: number
  readonly up: boolean
  readonly active: number
  readonly acceptedPerSec: number | null
  readonly loopP99Ms: number | null
  readonly utilization: number | null
}

export interface TopView {
  readonly title: string
  readonly connPerSec: number | null
  readonly active: number
  readonly accepted: number
  readonly bytesUpPerSec: number | null
  readonly bytesDownPerSec: number | null
  readonly outcomes: readonly TopRate[]
  readonly routes: readonly TopRate[]
  readonly workers: readonly TopWorker[]
}

/** Rates between two /status snapshots `dtMs` apart; `prev` null (or another process) = totals only. */
export function computeTop (prev: StatusJson | null, next: StatusJson, dtMs: number): TopView {
  const p = prev !== null && prev.pid === next.pid && dtMs > 0 ? prev : null
  const rate = (now: number, before: number | undefined): number | null =>
    p === null || before === undefined ? null : Math.max(0, now - before) * 1000 / dtMs
  const c = next.counters
  const pc = p?.counters ?? {}

  const outcomes: TopRate[] = []
  for (const [k, v] of Object.entries(c)) {
    if (!k.startsWith('outcome_') || v === 0) continue
    outcomes.push({ name: k.slice(8), perSec: rate(v, pc[k] ?? 0), total: v })
  }
  const prevRoutes = new Map((p?.routes ?? []).map((r) => [r.route, r.connections]))
  const routes: TopRate[] = next.routes.map((r) => ({ name: r.route, perSec: rate(r.connections, prevRoutes.get(r.route) ?? 0), total: r.connections }))
  const busiest = (a: TopRate, b: TopRate): number => (b.perSec ?? 0) - (a.perSec ?? 0) || b.total - a.total || (a.name < b.name ? -1 : 1)
  outcomes.sort(busiest)
  routes.sort(busiest)

  const prevWorkers = new Map((p?.workers ?? []).map((w) => [w.id, w]))
  const workers: TopWorker[] = next.workers.map((w) => ({
    id: w.id,
    up: w.up,
    active: w.active,
    acceptedPerSec: rate(w.accepted, prevWorkers.get(w.id)?.accepted),
    loopP99Ms: w.loop?.delayP99Ms ?? null,
    utilization: w.loop?.utilization ?? null,
  }))

  const ready = next.ready.ready ? 'ready' : 'NOT READY (' + next.ready.reasons.join('; ') + ')'
  return {
    title: 'hellogate ' + next.version + '  pid ' + String(next.pid) + '  up ' + formatUptime(next.uptimeSeconds) + '  ' + next.phase + ', ' + ready +
      '  table gen ' + String(next.table.generation) + ' (' + String(next.table.routes) + ' routes)  reloads ' + String(next.reloads.ok) + ' ok / ' +
      String(next.reloads.error) + ' failed  restarts ' + String(next.restarts),
    connPerSec: rate(c.conn_accepted ?? 0, pc.conn_accepted ?? 0),
    active: c.conn_active ?? 0,
    accepted: c.conn_accepted ?? 0,
    bytesUpPerSec: rate(c.bytes_up ?? 0, pc.bytes_up ?? 0),
    bytesDownPerSec: rate(c.bytes_down ?? 0, pc.bytes_down ?? 0),
    outcomes: outcomes.slice(0, TOP_ROWS),
    routes: routes.slice(0, TOP_ROWS),
    workers,
  }
}

/** The view as terminal lines (no colour, no cursor codes: runTop adds those). */
export function renderTop (v: TopView): string[] {
  const lines = [
    v.title,
    '',
    'conns/s ' + num(v.connPerSec) + '   active ' + String(v.active) + '   accepted ' + String(v.accepted) +
      '   up ' + bytes(v.bytesUpPerSec) + '/s   down ' + bytes(v.bytesDownPerSec) + '/s',
    '',
    pad('OUTCOME', 26) + pad('/s', 10, true) + pad('total', 14, true),
  ]
  if (v.outcomes.length === 0) lines.push('  (none yet)')
  for (const o of v.outcomes) lines.push(pad(o.name, 26) + pad(num(o.perSec), 10, true) + pad(String(o.total), 14, true))
  lines.push('', pad('ROUTE', 40) + pad('conns/s', 10, true) + pad('total', 14, true))
  if (v.routes.length === 0) lines.push('  (none yet)')
  for (const r of v.routes) lines.push(pad(r.name, 40) + pad(num(r.perSec), 10, true) + pad(String(r.total), 14, true))
  lines.push('', pad('WORKER', 8) + pad('state', 7) + pad('active', 10, true) + pad('conns/s', 10, true) + pad('loop p99', 12, true) + pad('busy', 7, true))
  for (const w of v.workers) {
    lines.push(pad('#' + String(w.id), 8) + pad(w.up ? 'up' : 'DOWN', 7) + pad(String(w.active), 10, true) + pad(num(w.acceptedPerSec), 10, true) +
      pad(w.loopP99Ms === null ? '-' : w.loopP99Ms.toFixed(1) + ' ms', 12, true) +
      pad(w.utilization === null ? '-' : (w.utilization * 100).toFixed(0) + '%', 7, true))
  }
  return lines
}

function num (x: number | null): string {
  if (x === null) return '-'
  return x >= 100 ? x.toFixed(0) : x.toFixed(1)
}

function bytes (x: number | null): string {
  if (x === null) return '-'
  const units = ['B', 'KiB', 'MiB', 'GiB']
  let u = 0
  while (x >= 1024 && u < units.length - 1) { x /= 1024; u++ }
  return (u === 0 ? x.toFixed(0) : x.toFixed(1)) + ' ' + units[u]!
}

function pad (s: string, width: number, right = false): string {
  const t = s.length > width - 1 ? s.slice(0, width - 2) + '…' : s
  return right ? t.padStart(width) : t.padEnd(width)
}

export interface TopOptions extends AdminClientOptions {
  readonly out: NodeJS.WritableStream & { isTTY?: boolean }
  readonly intervalMs?: number
  /** stop after this many frames (tests, scripts); default: until `signal` aborts */
  readonly iterations?: number
  readonly signal?: AbortSignal
}

/** Home the cursor and clear the screen (ANSI), so each frame replaces the last on a terminal. */
const CLEAR = '\x1b[H\x1b[2J'

/**
 * Poll /status every intervalMs and draw a frame. The first request failing rejects (wrong ADDR or
 * token: say so at once); later failures are shown in the frame and polling goes on.
 */
export async function runTop (opts: TopOptions): Promise<number> {
  const interval = Math.max(100, opts.intervalMs ?? TOP_INTERVAL_MS)
  let prev: StatusJson | null = null
  for (let frame = 0; opts.iterations === undefined || frame < opts.iterations; frame++) {
    if (opts.signal?.aborted === true) break
    let lines: string[]
    try {
      const next = await fetchStatus(opts)
      lines = renderTop(computeTop(prev, next, prev === null ? 0 : next.time - prev.time))
      prev = next
    } catch (err) {
      if (prev === null) throw err
      lines = ['hellogate top: ' + (err as Error).message, '(retrying every ' + String(interval) + ' ms)']
    }
    // a terminal gets each frame in place of the last; a pipe or file gets frames one after another,
    // each under a timestamped separator line
    const head = opts.out.isTTY === true ? CLEAR : '--- ' + new Date().toISOString() + '\n'
    opts.out.write(head + lines.join('\n') + '\n')
    if (opts.iterations !== undefined && frame + 1 >= opts.iterations) break
    try {
      await sleep(interval, undefined, opts.signal === undefined ? undefined : { signal: opts.signal })
    } catch {
      break // aborted
    }
  }
  return 0
}
