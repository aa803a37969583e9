/**
 * routes/patterns: a route's canonical pattern rebuilt from the table (patternOf) is the compile's own
 * string, for exact names, IDNA names (A-labels), wildcards and an exact and a wildcard route on one node,
 * also from the shared copy a worker receives (no pattern strings in it), and a reloaded table answers
 * with its own patterns.
 */
import { describe, expect, it } from 'vitest'

import { parseConfig } from '../../../src/config/index.ts'
import { buildRouteState } from '../../../src/pool/route-state.ts'
import {
  compileRoutes, leadingPatterns, patternOf, shareTable, type CompiledRoutes, type RouteSpec, type RouteTable,
} from '../../../src/routes/index.ts'
import { routePattern } from '../../../bench/load-config/generate.ts'
import { throughPort } from '../../helpers/post.ts'

function compileOk (routes: readonly RouteSpec[]): CompiledRoutes {
  const r = compileRoutes(routes)
  if (!r.ok) throw new Error('did not compile: ' + JSON.stringify(r))
  return r.table
}

function allPatterns (t: RouteTable): Array<string | null> {
  return Array.from({ length: t.size }, (_, i) => patternOf(t, i))
}

const AS_WRITTEN = [
  'a.example.com',
  '*.example.com', // wildcard on the node `example.com`, which also gets the exact route below
  'example.com',
  'Bücher.Example', // IDNA → xn--bcher-kva.example
  '*.münchen.de', // a wildcard over an A-label
  'WWW.Upper.Example.', // case folded, trailing dot dropped
  'x_y-z.deep.a.b.c.d.e.example.org',
  'localhost', // one label
  '*.b.example.com', // a deeper wildcard below a wildcard's node
]
const CANONICAL = [
  'a.example.com',
  '*.example.com',
  'example.com',
  'xn--bcher-kva.example',
  '*.xn--mnchen-3ya.de',
  'www.upper.example',
  'x_y-z.deep.a.b.c.d.e.example.org',
  'localhost',
  '*.b.example.com',
]

describe('patternOf', () => {
  const t = compileOk(AS_WRITTEN.map((pattern, target) => ({ pattern, target: 100 + target })))

  it('rebuilds every canonical pattern: ASCII, IDNA A-labels, wildcards, exact and wildcard on one node', () => {
    expect(t.patterns).toEqual(CANONICAL)
    expect(allPatterns(t)).toEqual(CANONICAL)
  })

  it('answers from the shared table a worker receives, which carries no strings', async () => {
    const shared = shareTable(t)
    expect('patterns' in shared).toBe(false)
    const received = await throughPort(shared)
    expect(received.routeNode.buffer).toBeInstanceOf(SharedArrayBuffer)
    expect(allPatterns(received)).toEqual(CANONICAL)
  })

  it('is null for an index outside the table', () => {
    for (const i of [-1, -2, t.size, t.size + 1, 1.5, Number.NaN]) expect(patternOf(t, i)).toBeNull()
    expect(patternOf(compileOk([]), 0)).toBeNull()
  })

  it('agrees with the compile on a generated table of 20 000 routes (the benchmark\'s names)', () => {
    const big = compileOk(Array.from({ length: 20_000 }, (_, i) => ({ pattern: routePattern(i), target: i })))
    expect(allPatterns(shareTable(big))).toEqual(big.patterns)
  })

  it('gives the first N patterns for bounded label sets', () => {
    expect(leadingPatterns(t, 3)).toEqual(CANONICAL.slice(0, 3))
    expect(leadingPatterns(t, 1000)).toEqual(CANONICAL)
  })
})

describe('route state', () => {
  it('answers with the table in force: a reload\'s new state has its own patterns', () => {
    const first = buildRouteState(parseConfig({ routes: { 'a.example': '10.0.0.1:443', '*.b.example': '10.0.0.2:443' } }, 'r.yaml'))
    const second = buildRouteState(parseConfig({ routes: { 'Bücher.example': '10.0.0.3:443', 'a.example': '10.0.0.1:443' } }, 'r.yaml'))
    expect('pattern' in first).toBe(false)
    expect(allPatterns(first.routes)).toEqual(['a.example', '*.b.example'])
    expect(allPatterns(second.routes)).toEqual(['xn--bcher-kva.example', 'a.example'])
    // the old state still answers for connections routed before the swap
    expect(patternOf(first.routes, 1)).toBe('*.b.example')
  })
})
