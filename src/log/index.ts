/**
 * log/ — the pino logger factory and the stable event names.
 *
 * Contract: one logger per thread (`createLogger`), async SonicBoom destination by default, flushed on
 * shutdown (`flushLogger`); every line's `evt` and `msg` is a `LogEvent`.
 */

/** Logger factory and flush helpers (async destination; custom stream for tests). */
export { createLogger, flushLogger, flushLoggerSync, reopenLogger, LOG_FLUSH_INTERVAL_MS, LOG_FLUSH_TIMEOUT_MS, LOG_MIN_LENGTH } from './logger.ts'
export type { LoggerOptions } from './logger.ts'
/** Stable event names (`evt` field and `msg`). */
export { ALL_LOG_EVENTS, LogEvent } from './events.ts'
export type { Logger } from 'pino'
