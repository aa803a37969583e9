/**
 * The README's tables are part of the interface (fastify test/internals/errors.test.js): every error
 * code, outcome and counter in the code is documented, and the tables list nothing stale.
 */
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { ErrorCode } from '../../src/errors.ts'
import { ALL_OUTCOMES } from '../../src/metrics/outcomes.ts'
import { COUNTER_NAMES } from '../../src/metrics/counters.ts'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

/** First-column entries (`code`) of the markdown table under the given heading. */
function tableKeys (heading: string): string[] {
  const start = readme.indexOf('\n## ' + heading + '\n')
  expect(start).toBeGreaterThanOrEqual(0)
  const next = readme.indexOf('\n## ', start + 4)
  const section = readme.slice(start, next === -1 ? undefined : next)
  const keys: string[] = []
  for (const line of section.split('\n')) {
    const m = /^\| `([^`]+)`(?: \/ `([^`]+)`)? \|/.exec(line)
    if (m !== null) { keys.push(m[1]!); if (m[2] !== undefined) keys.push(m[2]) }
  }
  return keys
}

describe('README tables', () => {
  it('lists every error code, and no other', () => {
    expect(tableKeys('Error codes').sort()).toEqual(Object.values(ErrorCode).sort())
  })

  it('lists every outcome, and no other', () => {
    expect(tableKeys('Outcomes').sort()).toEqual([...ALL_OUTCOMES].sort())
  })

  it('lists every counter (outcome counters as outcome_<name>), and no other', () => {
    const base = COUNTER_NAMES.filter((n) => !n.startsWith('outcome_'))
    expect(tableKeys('Metrics').filter((k) => k !== 'outcome_<name>').sort()).toEqual([...base].sort())
    expect(COUNTER_NAMES.filter((n) => n.startsWith('outcome_')).map((n) => n.slice(8)).sort()).toEqual([...ALL_OUTCOMES].sort())
  })
})
