/**
 * createLogger / flushLogger: base fields, levels, custom destination (NDJSON sink), and the async
 * SonicBoom default flushing to a real fd.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { openSync } from 'node:fs'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'

import { ALL_LOG_EVENTS, createLogger, flushLogger, flushLoggerSync, LogEvent } from '../../../src/log/index.ts'

/** NDJSON sink: every written line parsed into an object (pino test/helper.js sink). */
function sink (): { stream: Writable, lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  let partial = ''
  const stream = new Writable({
    write (chunk: Buffer, _enc, cb) {
      partial += chunk.toString('utf8')
      let nl
      while ((nl = partial.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(partial.slice(0, nl)) as Record<string, unknown>)
        partial = partial.slice(nl + 1)
      }
      cb()
    },
  })
  return { stream, lines }
}

describe('createLogger', () => {
  it('stamps pid and worker on every line, no hostname', () => {
    const s = sink()
    const logger = createLogger({ level: 'info', worker: 3, destination: s.stream })
    logger.info({ evt: LogEvent.Listening, port: 8443 }, LogEvent.Listening)
    expect(s.lines).toHaveLength(1)
    const line = s.lines[0]!
    expect(line.pid).toBe(process.pid)
    expect(line.worker).toBe(3)
    expect(line.evt).toBe('listening')
    expect(line.msg).toBe('listening')
    expect(line.port).toBe(8443)
    expect(line).not.toHaveProperty('hostname')
  })

  it('defaults worker to 0 (main thread) and honours the level', () => {
    const s = sink()
    const logger = createLogger({ level: 'warn', destination: s.stream })
    logger.info('dropped')
    logger.warn({ evt: LogEvent.WorkerExit, code: 1 }, LogEvent.WorkerExit)
    expect(s.lines.map(l => l.msg)).toEqual(['worker.exit'])
    expect(s.lines[0]!.worker).toBe(0)
    expect(s.lines[0]!.level).toBe(40)
  })

  it('flushLogger resolves for a stream without flush()', async () => {
    const s = sink()
    const logger = createLogger({ level: 'info', destination: s.stream })
    logger.info('x')
    await flushLogger(logger)
    flushLoggerSync(logger)
    expect(s.lines).toHaveLength(1)
  })

  it('the default async destination buffers and flushLogger writes it out', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hellogate-log-test-'))
    const file = join(dir, 'out.ndjson')
    const fd = openSync(file, 'w')
    const logger = createLogger({ level: 'info', destination: fd })
    // the SonicBoom owns the fd: end() stops its periodic flush timer and closes it
    const stream = (logger as unknown as Record<symbol, NodeJS.EventEmitter & { end: () => void }>)[pino.symbols.streamSym]!
    try {
      for (let i = 0; i < 10; i++) logger.info({ evt: LogEvent.ConnClose, i }, LogEvent.ConnClose)
      // 10 short lines are below minLength (4096): still buffered
      expect(await readFile(file, 'utf8')).toBe('')
      await flushLogger(logger)
      const lines = (await readFile(file, 'utf8')).trim().split('\n').map(l => JSON.parse(l) as { i: number })
      expect(lines.map(l => l.i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      logger.info({ evt: LogEvent.ShutdownDone }, LogEvent.ShutdownDone)
      flushLoggerSync(logger)
      expect((await readFile(file, 'utf8')).trim().split('\n')).toHaveLength(11)
    } finally {
      const closed = once(stream, 'close')
      stream.end()
      await closed
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('LogEvent', () => {
  it('names are unique, dotted lower-case (snake_case within a part), and include the documented ones', () => {
    expect(new Set(ALL_LOG_EVENTS).size).toBe(ALL_LOG_EVENTS.length)
    for (const e of ALL_LOG_EVENTS) expect(e).toMatch(/^[a-z]+(\.[a-z]+(_[a-z]+)*)*$/)
    for (const e of ['startup', 'listening', 'conn.close', 'hello.reject', 'worker.exit', 'worker.restart',
      'shutdown.begin', 'shutdown.done', 'config.error']) {
      expect(ALL_LOG_EVENTS).toContain(e)
    }
  })
})
