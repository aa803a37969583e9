/**
 * matchServerName / matchRouteIndex edge cases not covered by the conformance suite: bad ranges, names
 * inside larger buffers, Buffer input, reference helpers (src/routes/match.ts, reference.ts).
 */
import { describe, expect, it } from 'vitest'
import { compileRoutes, matchRouteIndex, matchServerName } from '../../../src/routes/index.ts'
import type { CompiledRoutes } from '../../../src/routes/index.ts'
import { referenceMatch, referenceMatchBytes, referenceMatchIndex } from '../../../src/routes/reference.ts'

const r = compileRoutes([
  { pattern: 'a.example.com', target: 10 },
  { pattern: '*.example.com', target: 11 },
])
if (!r.ok) throw new Error('fixture table did not compile')
const table: CompiledRoutes = r.table

describe('matchServerName ranges', () => {
  const buf = new Uint8Array(Buffer.from('xx.a.example.com.yy', 'latin1'))

  it.each<[string, number, number]>([
    ['start < 0', -1, 5],
    ['end past the buffer', 3, buf.length + 1],
    ['start = end', 3, 3],
    ['start > end', 9, 3],
    ['NaN start', Number.NaN, 5],
    ['NaN end', 0, Number.NaN],
  ])('returns -1 for %s', (_why, start, end) => {
    expect(matchServerName(table, buf, start, end)).toBe(-1)
    expect(matchRouteIndex(table, buf, start, end)).toBe(-1)
    expect(referenceMatchBytes(table.patterns, table.targets, buf, start, end)).toBe(-1)
  })

  it('matches a name in the middle of a buffer, reading only [start, end)', () => {
    expect(matchServerName(table, buf, 3, 16)).toBe(10) // 'a.example.com'
    expect(matchServerName(table, buf, 3, 17)).toBe(10) // 'a.example.com.'
    expect(matchServerName(table, buf, 0, 16)).toBe(11) // 'xx.a.example.com'
    expect(matchServerName(table, buf, 4, 16)).toBe(-1) // '.example.com'
  })

  it('accepts a Node Buffer (a Uint8Array subclass) as the SNI source', () => {
    const b = Buffer.from('A.Example.Com')
    expect(matchServerName(table, b, 0, b.length)).toBe(10)
  })

  it('rejects a name longer than 254 bytes before walking it', () => {
    const long = new Uint8Array(Buffer.from('a.'.repeat(150) + 'example.com'))
    expect(matchServerName(table, long, 0, long.length)).toBe(-1)
  })
})

describe('reference matcher', () => {
  it('returns route indices and targets from canonical patterns', () => {
    const patterns = ['a.example.com', '*.example.com', '*.b.example.com']
    expect(referenceMatchIndex(patterns, 'x.b.example.com')).toBe(2)
    expect(referenceMatch(patterns, [5, 6, 7], 'A.EXAMPLE.COM.')).toBe(5)
    expect(referenceMatch(patterns, [5, 6, 7], 'example.com')).toBe(-1)
  })
})
