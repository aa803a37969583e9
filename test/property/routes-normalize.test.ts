/**
 * normalizePattern properties: the ASCII fast path equals the domainToASCII path, results are canonical
 * and idempotent, and nothing throws (src/routes/normalize.ts). Fixed seed; FUZZ=1 multiplies the runs.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_LABEL_LENGTH, MAX_NAME_LENGTH } from '../../src/names/index.ts'
import { normalizePattern } from '../../src/routes/index.ts'
import { normalizeViaIdna } from '../../src/routes/normalize.ts'

const FUZZ = process.env.FUZZ !== undefined
const SEED = 42
function runs (n: number): number { return FUZZ ? n * 50 : n }

/** ASCII that hits every branch: name chars in both cases, dots, '*', digits, 0x, and forbidden chars */
const asciiArb = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', 'B', 'x', 'X', '0', '1', '9', '-', '_', '.', '*', 'f'), maxLength: 24 }),
  fc.string({ unit: fc.constantFrom('a', '.', '%', ' ', '\t', ':', '[', ']', '@', '/', '4', '1'), maxLength: 12 }),
  fc.tuple(fc.constantFrom('', '*.'), fc.array(fc.constantFrom('a', 'ab', '0x1f', '123', 'xn--bcher-kva', 'A-B', '_t'), { minLength: 1, maxLength: 5 }), fc.constantFrom('', '.', '..'))
    .map(([w, labels, dot]) => w + labels.join('.') + dot),
)

/** canonical: lower-case name characters in dotted labels of 1..63, at most 253 long, optional leading `*.` */
function isCanonical (p: string): boolean {
  const body = p.startsWith('*.') ? p.slice(2) : p
  if (p.length > MAX_NAME_LENGTH || body.length === 0) return false
  return body.split('.').every((l) => l.length >= 1 && l.length <= MAX_LABEL_LENGTH && /^[a-z0-9_-]+$/.test(l))
}

describe('normalizePattern properties', () => {
  it('gives the same result with and without the ASCII fast path', () => {
    fc.assert(fc.property(asciiArb, (s) => {
      expect(normalizePattern(s)).toBe(normalizeViaIdna(s))
    }), { seed: SEED, numRuns: runs(3000) })
  })

  it('returns null or a canonical, idempotent pattern for any string, without throwing', () => {
    const anyString = fc.oneof(
      asciiArb,
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.tuple(fc.string({ unit: 'grapheme', maxLength: 8 }), fc.constantFrom('.example', '.com.', '')).map(([a, b]) => a + b),
    )
    let cases = 0
    let patterns = 0
    fc.assert(fc.property(anyString, (s) => {
      cases++
      const p = normalizePattern(s)
      if (p === null) return
      patterns++
      expect(isCanonical(p)).toBe(true)
      expect(normalizePattern(p)).toBe(p)
    }), { seed: SEED, numRuns: runs(3000) })
    // most random strings are no pattern; enough of them must be, or the canonical/idempotent checks prove little
    expect(patterns).toBeGreaterThan(cases / 5)
  })
})
