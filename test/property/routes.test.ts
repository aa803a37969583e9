/**
 * Differential matcher (STYLE C.6): for random route tables and random names, the compiled trie
 * (match.ts), and its structured clone, answer exactly what the naive reference (reference.ts) answers.
 * Labels come from a small alphabet so tables share suffixes, collide after case folding, and names hit
 * often; big-fanout tables exercise the hashed child lookup and the slot-table growth.
 * Fixed seed; FUZZ=1 multiplies the runs.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compileRoutes, matchServerName, normalizePattern, verifyTable } from '../../src/routes/index.ts'
import type { CompiledRoutes, RouteSpec } from '../../src/routes/index.ts'
import { referenceCompile, referenceMatchBytes } from '../../src/routes/reference.ts'

const FUZZ = process.env.FUZZ !== undefined
const SEED = 42
function runs (n: number): number { return FUZZ ? n * 50 : n }

/** labels that overlap: prefixes of each other, case variants, '-', '_', an A-label and its U-label */
const LABELS = ['a', 'b', 'ab', 'ba', 'aab', 'a-b', '_x', 'x', 'com', 'A', 'AB', 'xn--bcher-kva', 'bücher']
/** name labels: the pattern labels plus some that never appear in patterns */
const NAME_LABELS = [...LABELS.filter((l) => l !== 'bücher'), 'c', 'B', 'abc', 'Com', 'X', 'a_b', '-']

const labelArb = fc.constantFrom(...LABELS)
const patternArb = fc.record({
  wildcard: fc.boolean(),
  labels: fc.array(labelArb, { minLength: 1, maxLength: 4 }),
  dot: fc.boolean(),
}).map(({ wildcard, labels, dot }) => (wildcard ? '*.' : '') + labels.join('.') + (dot ? '.' : ''))

/** specs with distinct canonical patterns and targets distinct from their indices */
function uniqueSpecs (patterns: readonly string[]): RouteSpec[] {
  const seen = new Set<string>()
  const specs: RouteSpec[] = []
  for (const p of patterns) {
    const c = normalizePattern(p)
    if (c === null || seen.has(c)) continue
    seen.add(c)
    specs.push({ pattern: p, target: 1000 + specs.length * 3 })
  }
  return specs
}

function flipCase (s: string, mask: number): string {
  let out = ''
  for (let i = 0; i < s.length; i++) out += (mask >> (i % 30)) & 1 ? s[i]!.toUpperCase() : s[i]!
  return out
}

/** a name: random labels, a pattern with its '*' filled in, or junk bytes */
function nameArb (patterns: readonly string[]): fc.Arbitrary<Uint8Array> {
  const latin1 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'))
  const random = fc.record({
    labels: fc.array(fc.constantFrom(...NAME_LABELS), { minLength: 1, maxLength: 6 }),
    dot: fc.boolean(),
  }).map(({ labels, dot }) => latin1(labels.join('.') + (dot ? '.' : '')))
  const junk = fc.array(fc.constantFrom(0x61, 0x62, 0x2e, 0x2a, 0x20, 0x00, 0xfc, 0x41, 0x2d, 0x5f), { maxLength: 12 })
    .map((bytes) => Uint8Array.from(bytes))
  if (patterns.length === 0) return fc.oneof(random, junk)
  const derived = fc.record({
    p: fc.constantFrom(...patterns),
    fill: fc.array(fc.constantFrom(...NAME_LABELS), { minLength: 1, maxLength: 3 }),
    mask: fc.integer({ min: 0, max: 0x3fffffff }),
    dot: fc.boolean(),
  }).map(({ p, fill, mask, dot }) => {
    const filled = p.startsWith('*.') ? fill.join('.') + p.slice(1) : p
    return latin1(flipCase(filled, mask) + (dot && !filled.endsWith('.') ? '.' : ''))
  })
  // junk left of a name that reaches a wildcard: the part a wildcard covers must be validated too
  const dirty = fc.tuple(junk, derived).map(([j, d]) => Uint8Array.from([...j, 0x2e, ...d]))
  return fc.oneof(
    { arbitrary: derived, weight: 3 },
    { arbitrary: random, weight: 2 },
    { arbitrary: junk, weight: 1 },
    { arbitrary: dirty, weight: 1 },
  )
}

function compileOk (specs: readonly RouteSpec[]): CompiledRoutes {
  const r = compileRoutes(specs)
  if (!r.ok) throw new Error('did not compile: ' + JSON.stringify(r))
  return r.table
}

/** compiled, cloned and reference agree on every name; returns how many names hit a route */
function checkAgreement (specs: readonly RouteSpec[], names: readonly Uint8Array[]): number {
  const table = compileOk(specs)
  const clone = structuredClone(table)
  expect(verifyTable(table)).toBe(true)
  expect(verifyTable(clone)).toBe(true)
  const ref = referenceCompile(specs)
  if (!ref.ok) throw new Error('reference rejected a table compileRoutes accepted')
  let hits = 0
  for (const name of names) {
    const want = referenceMatchBytes(ref.patterns, ref.targets, name, 0, name.length)
    expect(matchServerName(table, name, 0, name.length)).toBe(want)
    expect(matchServerName(clone, name, 0, name.length)).toBe(want)
    if (want >= 0) hits++
  }
  return hits
}

describe('compiled matcher = reference matcher', () => {
  it('on random small-alphabet tables and names (incl. structuredClone)', () => {
    let hits = 0
    let lookups = 0
    const prop = fc.property(
      fc.array(patternArb, { maxLength: 40 }).chain((patterns) => {
        const specs = uniqueSpecs(patterns)
        const canonical = specs.map((s) => normalizePattern(s.pattern)!)
        return fc.tuple(fc.constant(specs), fc.array(nameArb(canonical), { minLength: 1, maxLength: 30 }))
      }),
      ([specs, names]) => {
        hits += checkAgreement(specs, names)
        lookups += names.length
      },
    )
    fc.assert(prop, { seed: SEED, numRuns: runs(300) })
    // the generators must actually produce hits, or the property proves little
    expect(hits).toBeGreaterThan(lookups / 5)
  })

  it('on big-fanout tables (hundreds to thousands of siblings under one parent)', () => {
    const siblingArb = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '-'), minLength: 1, maxLength: 12 })
      .filter((s) => normalizePattern(s + '.fan.test') !== null)
    const prop = fc.property(
      fc.uniqueArray(siblingArb, { minLength: 200, maxLength: 3000 }),
      fc.array(fc.nat(), { maxLength: 40 }),
      fc.array(siblingArb, { minLength: 1, maxLength: 50 }),
      (siblings, wildIdx, probes) => {
        const specs: RouteSpec[] = siblings.map((s, i) => ({ pattern: s + '.fan.test', target: i }))
        // some siblings also get a wildcard below them, and the parent gets one too
        const wild = new Set(wildIdx.map((i) => i % siblings.length))
        for (const i of wild) specs.push({ pattern: '*.' + siblings[i]! + '.fan.test', target: 100_000 + i })
        specs.push({ pattern: '*.fan.test', target: 99_999 })
        const names = [
          ...probes.map((p) => p + '.fan.test'),
          ...probes.map((p) => 'x.' + p + '.fan.test'),
          ...siblings.slice(0, 50).map((s) => s.toUpperCase() + '.FAN.TEST'),
          ...[...wild].slice(0, 20).map((i) => 'deep.x.' + siblings[i]! + '.fan.test'),
        ].map((s) => new Uint8Array(Buffer.from(s, 'latin1')))
        checkAgreement(specs, names)
      },
    )
    fc.assert(prop, { seed: SEED, numRuns: runs(15) })
  })

  it('on one parent with 20,000 children (several slot-table growths)', () => {
    const specs: RouteSpec[] = Array.from({ length: 20_000 }, (_, i) => ({ pattern: 'n' + i.toString(36) + '.big.test', target: i }))
    specs.push({ pattern: '*.big.test', target: 77_777 })
    const names = fc.sample(fc.oneof(
      fc.nat({ max: 25_000 }).map((i) => 'n' + i.toString(36) + '.big.test'),
      fc.nat({ max: 25_000 }).map((i) => 'w.N' + i.toString(36).toUpperCase() + '.big.test.'),
    ), { seed: SEED, numRuns: 2000 }).map((s) => new Uint8Array(Buffer.from(s, 'latin1')))
    const hits = checkAgreement(specs, names)
    expect(hits).toBe(names.length) // every name is under *.big.test at worst
  })
})

describe('compile errors = reference compile errors', () => {
  it('on random specs with invalid patterns, duplicates and bad targets', () => {
    const rawPattern = fc.oneof(
      { arbitrary: patternArb, weight: 6 },
      { arbitrary: fc.constantFrom('', '*', '*.*.a', 'a..b', '1.2.3.4', 'a b', 'x.' + 'y'.repeat(64)), weight: 1 },
    )
    const spec = fc.record({
      pattern: rawPattern,
      target: fc.oneof({ arbitrary: fc.nat({ max: 1000 }), weight: 20 }, { arbitrary: fc.constantFrom(-1, 0.5), weight: 1 }),
    })
    const prop = fc.property(fc.array(spec, { maxLength: 30 }), (specs) => {
      const got = compileRoutes(specs)
      const want = referenceCompile(specs)
      expect(got.ok).toBe(want.ok)
      if (!got.ok && !want.ok) {
        expect([got.error, got.index, got.pattern]).toEqual([want.error, want.index, specs[want.index]!.pattern])
      }
      if (got.ok && want.ok) expect(got.table.patterns).toEqual(want.patterns)
    })
    fc.assert(prop, { seed: SEED, numRuns: runs(500) })
  })
})
