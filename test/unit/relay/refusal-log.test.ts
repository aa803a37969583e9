/**
 * RefusalLog: a flood of refusals becomes at most one `limits.refused` line per interval per worker,
 * with counts that add up to every refusal (real pino logger into a memory stream).
 */
import { describe, expect, it } from 'vitest'
import { Writable } from 'node:stream'
import { performance } from 'node:perf_hooks'
import pino from 'pino'
import { LIMIT_LOG_INTERVAL_MS, RefusalLog } from '../../../src/relay/client-limits.ts'

function capture (): { logger: pino.Logger, lines: () => Array<Record<string, number | string>> } {
  const out: string[] = []
  const stream = new Writable({ write (chunk: Buffer, _enc, cb) { out.push(chunk.toString()); cb() } })
  return { logger: pino({ level: 'info' }, stream), lines: () => out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, number | string>) }
}

describe('RefusalLog', () => {
  it('logs the first refusal at once and summarises a flood in one line per interval', async () => {
    const { logger, lines } = capture()
    const log = new RefusalLog(logger)
    const t0 = performance.now()
    for (let i = 0; i < 1000; i++) log.refused(i % 4 !== 0, t0)
    await new Promise((resolve) => setImmediate(resolve))
    expect(lines()).toHaveLength(1)
    expect(lines()[0]).toMatchObject({ evt: 'limits.refused', clientLimited: 0, pendingLimited: 1 })
    // the rest arrive as one summary when the interval ends (one timer, not one per refusal)
    await new Promise((resolve) => setTimeout(resolve, LIMIT_LOG_INTERVAL_MS + 200))
    expect(lines()).toHaveLength(2)
    expect(lines()[1]).toMatchObject({ evt: 'limits.refused', clientLimited: 750, pendingLimited: 249 })
    log.close(performance.now())
    expect(lines()).toHaveLength(2)
  })
})
