/**
 * What a reload cannot apply is reported, never silently dropped: restartOnlyChanges names each key that
 * changed and keeps its running value (pool/reload.ts).
 */
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/config/index.ts'
import { restartOnlyChanges } from '../../../src/pool/index.ts'

const base = { listen: '127.0.0.1:0', workers: 1, routes: { 'a.example': '127.0.0.1:1' } }

describe('restartOnlyChanges', () => {
  it('is empty for the same config and for live keys, and names the admission limits when they change', () => {
    const running = parseConfig(base, '<a>')
    expect(restartOnlyChanges(running, parseConfig(base, '<b>'))).toEqual([])
    expect(restartOnlyChanges(running, parseConfig({ ...base, timeouts: { hello: '1s' } }, '<b>'))).toEqual([])
    expect(restartOnlyChanges(running, parseConfig({ ...base, limits: { maxPendingHellos: 7 } }, '<b>'))).toEqual(['limits.maxPendingHellos'])
    expect(restartOnlyChanges(running, parseConfig({ ...base, limits: { perClient: { maxConnections: 3 } } }, '<b>'))).toEqual(['limits.perClient'])
    expect(restartOnlyChanges(running, parseConfig({ ...base, workers: 2 }, '<b>'))).toEqual(['workers'])
  })

  it('names http.listen (the workers bind it at start) but not originPort or forward:, which travel with the table', () => {
    const http = parseConfig({ ...base, http: { listen: '127.0.0.1:0' } }, '<a>')
    expect(restartOnlyChanges(parseConfig(base, '<a>'), http)).toEqual(['http.listen'])
    expect(restartOnlyChanges(http, parseConfig({ ...base, http: { listen: ['127.0.0.1:0', '[::1]:0'] } }, '<b>'))).toEqual(['http.listen'])
    expect(restartOnlyChanges(http, parseConfig({ ...base, http: { listen: '127.0.0.1:0', originPort: 8080 } }, '<b>'))).toEqual([])
    expect(restartOnlyChanges(http, parseConfig({ ...base, http: { listen: '127.0.0.1:0' }, forward: { suffixes: ['.f.example'] } }, '<b>'))).toEqual([])
  })
})
