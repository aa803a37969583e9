/**
 * Progress of a running `hellogate bench` on stderr: on a terminal a bar redrawn in place every
 * TTY_TICK_MS; otherwise (CI logs, pipes) a plain line every tenth of the run, between
 * PLAIN_MIN_TICK_MS and PLAIN_MAX_TICK_MS, so a log gets a handful of lines, not thousands.
 *
 * Contract: `startProgress(run, out)` draws until `stop()`, which clears the bar (terminal) and leaves
 * the stream at the start of a line. It only reads the run's counters.
 *
 * Limits: one timer; the bar fits in BAR_WIDTH + ~70 columns.
 */
import type { LoadView } from './load.ts'

const TTY_TICK_MS = 250
const PLAIN_MIN_TICK_MS = 1_000
const PLAIN_MAX_TICK_MS = 10_000
const BAR_WIDTH = 24

export interface ProgressStream {
  write: (s: string) => boolean
  isTTY?: boolean
}

export interface Progress { stop: () => void }

/** the rate column: MB/s for bulk, operations/s otherwise */
export function rateUnit (mode: LoadView['spec']['mode']): string {
  return mode === 'bulk' ? 'MB/s' : mode === 'newconn' ? 'conn/s' : 'req/s'
}

export function startProgress (run: LoadView, out: ProgressStream): Progress {
  const tty = out.isTTY === true
  const total = run.spec.durationMs
  const tick = tty ? TTY_TICK_MS : Math.min(PLAIN_MAX_TICK_MS, Math.max(PLAIN_MIN_TICK_MS, Math.round(total / 10)))
  const unit = rateUnit(run.spec.mode)
  let lastAt = 0
  let lastOps = 0
  let lastBytes = 0
  const draw = (): void => {
    const t = Math.min(run.now(), total)
    const c = run.counters
    const dt = Math.max(1e-3, (t - lastAt) / 1000)
    const rate = run.spec.mode === 'bulk' ? (c.bytesIn - lastBytes) / 1e6 / dt : (c.completed - lastOps) / dt
    lastAt = t
    lastOps = c.completed
    lastBytes = c.bytesIn
    const text = `${(t / 1000).toFixed(1)}/${(total / 1000).toFixed(0)} s  ${rate.toFixed(rate < 10 ? 2 : 0)} ${unit}  done ${c.completed}  errors ${c.errors}  open ${c.open}`
    if (tty) {
      const filled = Math.round((t / total) * BAR_WIDTH)
      out.write(`\r[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${text}\x1b[K`)
    } else {
      out.write(`bench: ${text}\n`)
    }
  }
  const timer = setInterval(draw, tick)
  timer.unref()
  return {
    stop () {
      clearInterval(timer)
      if (tty) out.write('\r\x1b[K')
    },
  }
}
