/**
 * The pino logger factory (STYLE C.4): one logger per thread, created once, never per connection.
 *
 * Contract:
 *  - `createLogger({ level, worker, destination })` → pino.Logger with `base: { pid, worker }` (worker 0 is
 *    the main thread, like worker_threads.threadId) and no `hostname` (bytes on every line, known anyway).
 *  - Default destination: `pino.destination({ dest: 1, sync: false, minLength: 4096 })` — a SonicBoom
 *    writing stdout's fd directly, from worker threads too (no hop through the main thread's stdout), so
 *    logging never blocks the event loop. Tests pass their own stream (an NDJSON sink) as `destination`.
 *  - `file`: the same asynchronous SonicBoom on a file opened for append (every thread opens its own, all
 *    with O_APPEND, so lines of different threads interleave whole); `reopenLogger(logger)` reopens it by
 *    name, which is what logrotate's `create` mode needs after it renamed the file (SIGUSR2, cli.ts).
 *  - `flushLogger(logger)` resolves once buffered lines are written (call it, and await it, on drain and
 *    shutdown). `flushLoggerSync(logger)` is for paths with no event loop left (fatal exit).
 *
 * Limits / trade-off (pino docs/asynchronous.md): buffered lines are lost if the process crashes hard
 * (SIGKILL, abort). The main thread's SonicBoom is also flushed synchronously by pino on 'exit'; worker
 * threads' are not, hence flushLogger before a worker reports it has drained.
 */
import { pino } from 'pino'
import type { DestinationStream, Logger } from 'pino'

import type { LogLevel } from '../config/types.ts'

/** bytes buffered before an async write: batches lines into few syscalls (pino docs/asynchronous.md) */
export const LOG_MIN_LENGTH = 4096
/** ms. A quiet proxy still shows its lines within this long (minLength alone would hold them indefinitely). */
export const LOG_FLUSH_INTERVAL_MS = 1_000
/** ms. flushLogger gives up after this long so a stuck stdout (full pipe, gone terminal) cannot block shutdown. */
export const LOG_FLUSH_TIMEOUT_MS = 2_000

export interface LoggerOptions {
  level: LogLevel
  /** thread id stamped on every line; 0 (default) = main thread */
  worker?: number
  /** a stream (tests: NDJSON sink) or a file descriptor (default 1 = stdout; 2 for stderr) */
  destination?: DestinationStream | number
  /** append to this file instead (log.file); ignored when `destination` is given */
  file?: string | null
}

/** Build the thread's logger. Cheap to call once per thread; do not call per connection. */
export function createLogger (opts: LoggerOptions): Logger {
  const dest = opts.destination ?? opts.file ?? 1
  const stream = typeof dest === 'number' || typeof dest === 'string'
    ? pino.destination({ dest, sync: false, append: true, minLength: LOG_MIN_LENGTH, periodicFlush: LOG_FLUSH_INTERVAL_MS })
    : dest
  // a log file that cannot be opened (or reopened after a rotation) is reported, not a crash: the proxy
  // keeps relaying, and pino drops lines it cannot write
  if (typeof dest === 'string') (stream as unknown as NodeJS.EventEmitter).on('error', onFileError)
  return pino({
    level: opts.level,
    base: { pid: process.pid, worker: opts.worker ?? 0 },
  }, stream)
}

function onFileError (this: { file?: unknown }, err: Error): void {
  process.stderr.write('hellogate: log file ' + String(this.file) + ': ' + err.message + '\n')
}

/** Resolve when the logger's buffered output has been written (or after LOG_FLUSH_TIMEOUT_MS). Never rejects. */
export function flushLogger (logger: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, LOG_FLUSH_TIMEOUT_MS)
    timer.unref()
    const done = (): void => { clearTimeout(timer); resolve() }
    try {
      logger.flush(done)
    } catch {
      // destroyed or not yet open: nothing more can be written
      done()
    }
  })
}

/**
 * Reopen the logger's file by name (after logrotate renamed it): buffered lines go to the old file, new
 * ones to a new file. No-op for stdout, a descriptor or a stream without `reopen`.
 */
export function reopenLogger (logger: Logger): void {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as { reopen?: () => void, file?: unknown } | undefined
  if (typeof stream?.file !== 'string') return
  stream.reopen?.()
}

/**
 * Write buffered output now, synchronously. For exit paths only: if an async write is in flight, its
 * chunk may land after the lines written here.
 */
export function flushLoggerSync (logger: Logger): void {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as { flushSync?: () => void } | undefined
  try {
    stream?.flushSync?.()
  } catch {
    // destroyed or not yet open: nothing more can be written
  }
}
