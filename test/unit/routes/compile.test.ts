/**
 * compileRoutes: errors, table layout, growth, hash collisions; describeTable; verifyTable on good and
 * corrupted tables (src/routes/compile.ts).
 */
import { describe, expect, it } from 'vitest'
import {
  FNV_OFFSET, FNV_PRIME, INFO_HAS_CHILDREN, INFO_LENGTH_MASK, MAX_ROUTES, N_EXACT, N_HEADER_WORDS, N_INFO,
  N_PARENT, N_WILDCARD, recordWordsAt, ROOT, SLOT_STRIDE, slotKey,
} from '../../../src/routes/constants.ts'
import {
  compileRoutes, describeTable, matchRouteIndex, matchServerName, RouteError, ROUTES_FORMAT_VERSION, shareTable,
  verifyTable,
} from '../../../src/routes/index.ts'
import type { CompiledRoutes, RouteSpec, RouteTable } from '../../../src/routes/index.ts'
import { referenceCompile } from '../../../src/routes/reference.ts'
import { throughPort } from '../../helpers/post.ts'

function compileOk (routes: readonly RouteSpec[]): CompiledRoutes {
  const r = compileRoutes(routes)
  if (!r.ok) throw new Error('did not compile: ' + JSON.stringify(r))
  return r.table
}

function lookup (table: RouteTable, name: string): number {
  const b = new Uint8Array(Buffer.from(name, 'latin1'))
  return matchServerName(table, b, 0, b.length)
}

/** every record id, in heap order */
function recordIds (t: RouteTable): number[] {
  const ids: number[] = []
  for (let id = ROOT; id < t.nodes.length; id += recordWordsAt(t.nodes, id)) ids.push(id)
  return ids
}

function labelOf (t: RouteTable, id: number): string {
  const len = t.nodes[id + N_INFO]! & INFO_LENGTH_MASK
  const at = (id + N_HEADER_WORDS) * 4
  return Buffer.from(t.nodeBytes.subarray(at, at + len)).toString('latin1')
}

/** the name a node stands for, rebuilt from the trie (leaf label first) */
function nameOf (t: RouteTable, id: number): string {
  const labels: string[] = []
  for (let n = id; n !== ROOT; n = t.nodes[n + N_PARENT]!) labels.push(labelOf(t, n))
  return labels.join('.')
}

/** FNV-1a over the label right to left, as the layout specifies (independent of compile.ts) */
function labelHash (label: string): number {
  let h = FNV_OFFSET
  for (let i = label.length - 1; i >= 0; i--) h = Math.imul(h ^ label.charCodeAt(i), FNV_PRIME)
  return h
}

function findChild (t: RouteTable, parent: number, label: string): number {
  return recordIds(t).find((id) => id !== ROOT && t.nodes[id + N_PARENT] === parent && labelOf(t, id) === label) ?? -1
}

function slotOf (t: RouteTable, id: number): number {
  for (let s = 0; s <= t.slotMask; s++) if (t.slots[s * SLOT_STRIDE + 1] === id) return s
  return -1
}

describe('compileRoutes errors', () => {
  it('reports an invalid pattern with its index and the pattern as written', () => {
    const r = compileRoutes([{ pattern: 'ok.example', target: 0 }, { pattern: 'Bad..Name', target: 1 }])
    expect(r).toEqual({ ok: false, error: RouteError.InvalidPattern, index: 1, pattern: 'Bad..Name' })
  })

  it.each([
    ['case', 'www.example.com', 'WWW.Example.COM'],
    ['trailing dot', 'www.example.com', 'www.example.com.'],
    ['IDNA', 'bücher.example', 'xn--bcher-kva.example'],
    ['wildcard', '*.example.com', '*.EXAMPLE.com.'],
  ])('reports a duplicate that differs only by %s, with the earlier index', (_why, first, second) => {
    const r = compileRoutes([
      { pattern: 'other.example', target: 0 },
      { pattern: first, target: 1 },
      { pattern: 'more.example', target: 2 },
      { pattern: second, target: 3 },
    ])
    expect(r).toEqual({ ok: false, error: RouteError.Duplicate, index: 3, pattern: second, duplicateOf: 1 })
  })

  it('does not treat an exact name and a wildcard on the same suffix as duplicates', () => {
    expect(compileRoutes([{ pattern: 'example.com', target: 0 }, { pattern: '*.example.com', target: 1 }]).ok).toBe(true)
  })

  it.each([-1, 1.5, Number.NaN, 2 ** 31, Infinity, '3' as unknown as number])('rejects target %s', (target) => {
    const r = compileRoutes([{ pattern: 'a.example', target: 0 }, { pattern: 'b.example', target }])
    expect(r).toEqual({ ok: false, error: RouteError.InvalidTarget, index: 1, pattern: 'b.example' })
  })

  it('accepts the largest int32 target', () => {
    const t = compileOk([{ pattern: 'a.example', target: 0x7fffffff }])
    expect(lookup(t, 'a.example')).toBe(0x7fffffff)
  })

  it('reports the first error in input order', () => {
    const r = compileRoutes([
      { pattern: 'a.example', target: 0 },
      { pattern: '*', target: 1 },
      { pattern: 'a.example', target: 2 },
    ])
    expect(r).toMatchObject({ ok: false, error: RouteError.InvalidPattern, index: 1 })
  })

  it('reports a hole or a non-object spec instead of throwing', () => {
    const holey: RouteSpec[] = [{ pattern: 'a.example', target: 0 }]
    holey[2] = { pattern: 'c.example', target: 2 }
    expect(compileRoutes(holey)).toEqual({ ok: false, error: RouteError.InvalidPattern, index: 1, pattern: 'undefined' })
    expect(compileRoutes([null as unknown as RouteSpec])).toMatchObject({ ok: false, error: RouteError.InvalidPattern, index: 0 })
  })

  it('rejects more than MAX_ROUTES specs without reading them', () => {
    const specs: RouteSpec[] = []
    specs[MAX_ROUTES] = { pattern: 'over.example', target: 0 } // sparse: only the length matters
    expect(compileRoutes(specs)).toEqual({ ok: false, error: RouteError.TooMany, index: MAX_ROUTES, pattern: 'over.example' })
    expect(referenceCompile(specs)).toEqual({ ok: false, error: RouteError.TooMany, index: MAX_ROUTES })
  })

  it('agrees with the reference compiler on each error', () => {
    const bad: RouteSpec[][] = [
      [{ pattern: 'a.b', target: 0 }, { pattern: 'A.B.', target: 1 }],
      [{ pattern: 'a.b', target: 0 }, { pattern: '*.*.b', target: 1 }],
      [{ pattern: 'a.b', target: -5 }],
    ]
    for (const specs of bad) {
      const r = compileRoutes(specs)
      const ref = referenceCompile(specs)
      expect(r.ok).toBe(false)
      expect(ref.ok).toBe(false)
      if (!r.ok && !ref.ok) expect([r.error, r.index]).toEqual([ref.error, ref.index])
    }
  })
})

describe('compiled table layout', () => {
  const specs: RouteSpec[] = [
    { pattern: 'A.Example.COM', target: 7 },
    { pattern: '*.example.com', target: 8 },
    { pattern: 'bücher.example', target: 9 },
  ]
  const t = compileOk(specs)

  it('keeps canonical patterns and targets in input order, with counts', () => {
    expect(t.version).toBe(ROUTES_FORMAT_VERSION)
    expect(t.patterns).toEqual(['a.example.com', '*.example.com', 'xn--bcher-kva.example'])
    expect([...t.targets]).toEqual([7, 8, 9])
    expect([t.size, t.exactCount, t.wildcardCount]).toEqual([3, 2, 1])
  })

  it('stores a trie right to left: root → com → example → a, and root → example → xn--bcher-kva', () => {
    // root, com, example(.com), a, example, xn--bcher-kva
    expect(t.nodeCount).toBe(6)
    const com = findChild(t, ROOT, 'com')
    const exampleCom = findChild(t, com, 'example')
    const a = findChild(t, exampleCom, 'a')
    const example = findChild(t, ROOT, 'example')
    const buecher = findChild(t, example, 'xn--bcher-kva')
    expect([com, exampleCom, a, example, buecher].every((id) => id > ROOT)).toBe(true)
    expect(nameOf(t, a)).toBe('a.example.com')
    expect(t.nodes[a + N_EXACT]).toBe(0) // route index, not target
    expect(t.nodes[exampleCom + N_WILDCARD]).toBe(1)
    expect(t.nodes[exampleCom + N_EXACT]).toBe(-1)
    expect(t.nodes[buecher + N_EXACT]).toBe(2)
    expect(t.nodes[ROOT + N_PARENT]).toBe(-1)
  })

  it('flags exactly the nodes that have children', () => {
    const parents = new Set(recordIds(t).filter((id) => id !== ROOT).map((id) => t.nodes[id + N_PARENT]))
    for (const id of recordIds(t)) {
      expect((t.nodes[id + N_INFO]! & INFO_HAS_CHILDREN) !== 0).toBe(parents.has(id))
    }
  })

  it('places every node except the root in one slot under slotKey(label hash, parent)', () => {
    for (const id of recordIds(t)) {
      if (id === ROOT) continue
      const s = slotOf(t, id)
      expect(s).toBeGreaterThanOrEqual(0)
      expect(t.slots[s * SLOT_STRIDE]).toBe(slotKey(labelHash(labelOf(t, id)), t.nodes[id + N_PARENT]!))
    }
  })

  it('shares one buffer between nodes and nodeBytes, also after structuredClone', () => {
    expect(t.nodeBytes.buffer).toBe(t.nodes.buffer)
    const c = structuredClone(t)
    expect(c.nodeBytes.buffer).toBe(c.nodes.buffer)
    expect(c.nodes.buffer).not.toBe(t.nodes.buffer)
    expect(verifyTable(c)).toBe(true)
  })

  it('moves onto SharedArrayBuffers with shareTable, nodes and nodeBytes still on one buffer', async () => {
    const shared = shareTable(t)
    expect(shared.nodes.buffer).toBeInstanceOf(SharedArrayBuffer)
    expect(shared.slots.buffer).toBeInstanceOf(SharedArrayBuffer)
    expect(shared.targets.buffer).toBeInstanceOf(SharedArrayBuffer)
    expect(shared.routeNode.buffer).toBeInstanceOf(SharedArrayBuffer)
    expect(shared.nodeBytes.buffer).toBe(shared.nodes.buffer)
    // the pattern strings stay with the compile: a worker would get a copy of each
    expect('patterns' in shared).toBe(false)
    expect(verifyTable(shared)).toBe(true)
    expect(lookup(shared, 'a.example.com')).toBe(7)
    // what a worker receives: a structured clone over the same shared memory
    const received = structuredClone(shared)
    expect(received.nodeBytes.buffer).toBe(received.nodes.buffer)
    expect(verifyTable(received)).toBe(true)
    expect(lookup(received, 'x.example.com')).toBe(8)
    // through a real MessagePort as well
    const viaPort = await throughPort(shared)
    expect(verifyTable(viaPort)).toBe(true)
    expect(lookup(viaPort, 'xn--bcher-kva.example')).toBe(9)
  })

  it('describes itself for `hellogate check`', () => {
    expect(describeTable(t)).toEqual({
      exact: 2,
      wildcard: 1,
      nodes: 6,
      bytes: t.nodes.byteLength + t.slots.byteLength + t.targets.byteLength + t.routeNode.byteLength,
    })
  })

  it('compiles an empty table that matches nothing', () => {
    const e = compileOk([])
    expect(describeTable(e)).toMatchObject({ exact: 0, wildcard: 0, nodes: 1 })
    expect(verifyTable(e)).toBe(true)
    expect(lookup(e, 'a.b')).toBe(-1)
  })
})

describe('compile growth and hashing', () => {
  it('grows the node heap and the slot table past their initial sizes', () => {
    // long labels (more heap words per route than the initial estimate) and three new nodes per route
    // (more nodes than the initial slot table was sized for)
    const specs: RouteSpec[] = Array.from({ length: 3000 }, (_, i) => ({
      pattern: 'x' + String(i) + '-' + 'q'.repeat(50) + '.m' + String(i) + '.n' + String(i) + '.grow.test',
      target: i,
    }))
    const t = compileOk(specs)
    expect(t.nodeCount).toBe(1 + 2 + 3 * 3000)
    expect(verifyTable(t)).toBe(true)
    expect((t.nodeCount - 1) * 2).toBeLessThan(t.slotMask + 1)
    for (const i of [0, 1, 1234, 2999]) expect(lookup(t, specs[i]!.pattern.toUpperCase())).toBe(i)
    expect(lookup(t, 'm5.n5.grow.test')).toBe(-1)
  })

  it('shrinks the slot table to fit when many routes share nodes', () => {
    const specs: RouteSpec[] = []
    for (let i = 0; i < 500; i++) {
      specs.push({ pattern: 'n' + String(i) + '.shrink.test', target: i })
      specs.push({ pattern: '*.n' + String(i) + '.shrink.test', target: 1000 + i })
    }
    const t = compileOk(specs) // 1000 routes, 502 nodes
    expect(t.slotMask + 1).toBe(1024)
    expect(verifyTable(t)).toBe(true)
    expect(lookup(t, 'n7.shrink.test')).toBe(7)
    expect(lookup(t, 'a.n7.shrink.test')).toBe(1007)
  })

  it('tells apart sibling labels whose hashes collide (same slot key, different bytes)', () => {
    // FNV-1a right to left: 'cxzwg' and 'cdc61' collide (found by brute force, checked here)
    expect(labelHash('cxzwg')).toBe(labelHash('cdc61'))
    const both = compileOk([
      { pattern: 'cxzwg.example.com', target: 1 },
      { pattern: 'cdc61.example.com', target: 2 },
    ])
    const parent = findChild(both, findChild(both, ROOT, 'com'), 'example')
    const a = findChild(both, parent, 'cxzwg')
    const b = findChild(both, parent, 'cdc61')
    expect(both.slots[slotOf(both, a) * SLOT_STRIDE]).toBe(both.slots[slotOf(both, b) * SLOT_STRIDE])
    expect(lookup(both, 'cxzwg.example.com')).toBe(1)
    expect(lookup(both, 'CDC61.example.com')).toBe(2)
    expect(verifyTable(both)).toBe(true)

    // only one present: the other must miss although its key finds a slot
    const one = compileOk([{ pattern: 'cxzwg.example.com', target: 1 }, { pattern: 'x.example.com', target: 3 }])
    expect(lookup(one, 'cdc61.example.com')).toBe(-1)
    expect(lookup(one, 'cxzwg.example.com')).toBe(1)
  })

  it('tells apart colliding sibling labels of different lengths', () => {
    expect(labelHash('13grf')).toBe(labelHash('1i7gve'))
    const t = compileOk([
      { pattern: '13grf.example.com', target: 1 },
      { pattern: '1i7gve.example.com', target: 2 },
      { pattern: '*.example.com', target: 3 },
    ])
    expect(lookup(t, '13grf.example.com')).toBe(1)
    expect(lookup(t, '1i7gve.example.com')).toBe(2)
    expect(lookup(t, '13grg.example.com')).toBe(3)
    expect(verifyTable(t)).toBe(true)
  })

  it('returns route indices from matchRouteIndex and targets from matchServerName', () => {
    const t = compileOk([{ pattern: 'a.test', target: 40 }, { pattern: '*.test', target: 41 }])
    const b = new Uint8Array(Buffer.from('b.test'))
    expect(matchRouteIndex(t, b, 0, b.length)).toBe(1)
    expect(matchServerName(t, b, 0, b.length)).toBe(41)
  })
})

describe('verifyTable', () => {
  const base = compileOk([
    { pattern: 'a.example.com', target: 0 },
    { pattern: '*.example.com', target: 1 },
    { pattern: 'b.example.org', target: 2 },
    { pattern: 'c.example.org', target: 3 },
  ])
  const ids = recordIds(base)
  const com = findChild(base, ROOT, 'com')
  const orgExample = findChild(base, findChild(base, ROOT, 'org'), 'example')
  const leaf = ids[ids.length - 1]!

  /** a deep copy with one mutation applied */
  function corrupt (mutate: (t: { -readonly [K in keyof CompiledRoutes]: CompiledRoutes[K] }) => void): unknown {
    const c = structuredClone(base) as { -readonly [K in keyof CompiledRoutes]: CompiledRoutes[K] }
    mutate(c)
    return c
  }

  it('accepts a compiled table and its structured clone', () => {
    expect(verifyTable(base)).toBe(true)
    expect(verifyTable(structuredClone(base))).toBe(true)
  })

  it.each<[string, () => unknown]>([
    ['null', () => null],
    ['a number', () => 42],
    ['another format version', () => corrupt((t) => { (t as { version: number }).version = 1 })],
    ['nodes not an Int32Array', () => corrupt((t) => { t.nodes = Array.from(t.nodes) as unknown as Int32Array })],
    ['targets not an Int32Array', () => corrupt((t) => { t.targets = new Uint32Array(t.targets) as unknown as Int32Array })],
    ['a missing count', () => corrupt((t) => { t.nodeCount = undefined as unknown as number })],
    ['size not matching targets', () => corrupt((t) => { t.size = 5 })],
    ['negative size', () => corrupt((t) => { t.size = -1 })],
    ['exact + wildcard not size', () => corrupt((t) => { t.exactCount = 2 })],
    ['exact and wildcard counts swapped', () => corrupt((t) => { [t.exactCount, t.wildcardCount] = [t.wildcardCount, t.exactCount] })],
    ['a node count that does not match the heap', () => corrupt((t) => { t.nodeCount = t.nodeCount - 1 })],
    ['nodeBytes over another buffer', () => corrupt((t) => { t.nodeBytes = new Uint8Array(t.nodeBytes) })],
    ['nodeBytes shorter than nodes', () => corrupt((t) => { t.nodeBytes = new Uint8Array(t.nodes.buffer, 0, 8) })],
    ['slot count not a power of two', () => corrupt((t) => { t.slotMask = 14 })],
    ['slots length not matching the mask', () => corrupt((t) => { t.slots = t.slots.slice(0, 4) })],
    ['slot table over half full', () => corrupt((t) => { t.slotMask = 7; t.slots = t.slots.slice(0, 16) })],
    ['a negative target', () => corrupt((t) => { t.targets[0] = -1 })],
    ['routeNode not an Int32Array', () => corrupt((t) => { t.routeNode = Array.from(t.routeNode) as unknown as Int32Array })],
    ['routeNode shorter than the routes', () => corrupt((t) => { t.routeNode = t.routeNode.slice(0, 3) })],
    ['a routeNode naming another route\'s node', () => corrupt((t) => { t.routeNode[2] = t.routeNode[3]! })],
    ['a routeNode pointing inside a record', () => corrupt((t) => { t.routeNode[3] = t.routeNode[3]! + 1 })],
    ['a routeNode outside the heap', () => corrupt((t) => { t.routeNode[0] = t.nodes.length })],
    ['an empty heap', () => corrupt((t) => { t.nodes = new Int32Array(0); t.nodeBytes = new Uint8Array(t.nodes.buffer) })],
    ['a root with a parent', () => corrupt((t) => { t.nodes[ROOT + N_PARENT] = 0 })],
    ['a root with a label', () => corrupt((t) => { t.nodes[ROOT + N_INFO] = INFO_HAS_CHILDREN | 1 })],
    ['a parent after its child', () => corrupt((t) => { t.nodes[com + N_PARENT] = leaf })],
    ['a parent that is not a record start', () => corrupt((t) => { t.nodes[leaf + N_PARENT] = 1 })],
    ['a negative parent', () => corrupt((t) => { t.nodes[leaf + N_PARENT] = -1 })],
    ['an empty label', () => corrupt((t) => { t.nodes[leaf + N_INFO] = 0 })],
    ['a label longer than 63', () => corrupt((t) => { t.nodes[leaf + N_INFO] = 64 })],
    ['a record running past the heap', () => corrupt((t) => { t.nodes[leaf + N_INFO] = 63 })],
    ['stray bits in the info word', () => corrupt((t) => { t.nodes[leaf + N_INFO] = t.nodes[leaf + N_INFO]! | 0x10000 })],
    ['a route index out of range', () => corrupt((t) => { t.nodes[leaf + N_EXACT] = 9 })],
    ['a route index used twice', () => corrupt((t) => { t.nodes[leaf + N_WILDCARD] = t.nodes[leaf + N_EXACT]! })],
    ['a route placed twice', () => corrupt((t) => { t.nodes[ROOT + N_EXACT] = 0 })],
    ['a wildcard route index out of range', () => corrupt((t) => { t.nodes[ROOT + N_WILDCARD] = 7 })],
    ['a parent missing its has-children flag', () => corrupt((t) => { t.nodes[com + N_INFO] = t.nodes[com + N_INFO]! & INFO_LENGTH_MASK })],
    ['a leaf with the has-children flag', () => corrupt((t) => { t.nodes[leaf + N_INFO] = t.nodes[leaf + N_INFO]! | INFO_HAS_CHILDREN })],
    ['a wrong slot key', () => corrupt((t) => { const s = slotOf(t, leaf); t.slots[s * SLOT_STRIDE] = t.slots[s * SLOT_STRIDE]! ^ 1 })],
    ['a slot pointing inside a record', () => corrupt((t) => { t.slots[slotOf(t, leaf) * SLOT_STRIDE + 1] = leaf + 1 })],
    ['a slot pointing outside the heap', () => corrupt((t) => { t.slots[slotOf(t, leaf) * SLOT_STRIDE + 1] = -4 })],
    ['a node in no slot', () => corrupt((t) => { t.slots[slotOf(t, leaf) * SLOT_STRIDE + 1] = 0 })],
    ['a node in two slots', () => corrupt((t) => {
      const s = slotOf(t, orgExample)
      let e = (s + 1) & t.slotMask
      while (t.slots[e * SLOT_STRIDE + 1] !== 0) e = (e + 1) & t.slotMask
      t.slots[e * SLOT_STRIDE] = t.slots[s * SLOT_STRIDE]!
      t.slots[e * SLOT_STRIDE + 1] = orgExample
    })],
    ['a node moved beyond an empty slot (unreachable by probing)', () => corrupt((t) => {
      const s = slotOf(t, orgExample)
      let e = (s + 1) & t.slotMask
      while (t.slots[e * SLOT_STRIDE + 1] !== 0) e = (e + 1) & t.slotMask
      e = (e + 1) & t.slotMask
      while (t.slots[e * SLOT_STRIDE + 1] !== 0) e = (e + 1) & t.slotMask
      t.slots[e * SLOT_STRIDE] = t.slots[s * SLOT_STRIDE]!
      t.slots[e * SLOT_STRIDE + 1] = orgExample
      t.slots[s * SLOT_STRIDE] = 0
      t.slots[s * SLOT_STRIDE + 1] = 0
    })],
  ])('rejects %s', (_what, make) => {
    expect(verifyTable(make())).toBe(false)
  })
})
