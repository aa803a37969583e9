/**
 * The counter slots: base counters named from their `Counter` keys, one distinct slot per outcome after
 * them, so counting an outcome can never land on a base counter (conn_accepted is slot 0).
 */
import { describe, expect, it } from 'vitest'
import { ALL_OUTCOMES } from '../../../src/metrics/outcomes.ts'
import { BASE_COUNTERS, Counter, COUNTER_NAMES, COUNTER_SLOTS, createCounterBuffer, outcomeSlot, sumCounters } from '../../../src/metrics/counters.ts'

describe('counter slots', () => {
  it('gives every outcome its own slot after the base counters, named outcome_<outcome>', () => {
    const slots = ALL_OUTCOMES.map(outcomeSlot)
    expect(new Set(slots).size).toBe(ALL_OUTCOMES.length)
    for (const [i, o] of ALL_OUTCOMES.entries()) {
      expect(slots[i]).toBeGreaterThanOrEqual(BASE_COUNTERS)
      expect(slots[i]).toBeLessThan(COUNTER_SLOTS)
      expect(COUNTER_NAMES[slots[i]!]).toBe('outcome_' + o)
    }
  })

  it('names each base counter after its Counter key, at its slot', () => {
    expect(BASE_COUNTERS).toBe(Object.keys(Counter).length)
    expect(COUNTER_NAMES[Counter.ConnAccepted]).toBe('conn_accepted')
    expect(COUNTER_NAMES[Counter.HelloMultiRecord]).toBe('hello_multi_record')
    expect(COUNTER_NAMES[Counter.OriginConnectOk]).toBe('origin_connect_ok')
    expect(COUNTER_NAMES[Counter.BytesDown]).toBe('bytes_down')
    expect(new Set(COUNTER_NAMES).size).toBe(COUNTER_SLOTS)
  })

  it('sums several workers\' slabs by name', () => {
    const a = new Float64Array(createCounterBuffer())
    const b = new Float64Array(createCounterBuffer())
    a[Counter.BytesUp] = 5
    b[Counter.BytesUp] = 7
    b[outcomeSlot('no_route')]! += 2
    const sum = sumCounters([a, b])
    expect(sum.bytes_up).toBe(12)
    expect(sum.outcome_no_route).toBe(2)
    expect(sum.conn_accepted).toBe(0)
  })
})
