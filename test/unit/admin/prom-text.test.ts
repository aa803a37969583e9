/**
 * The strict text-format parser (test/helpers/prom-text.ts) is the judge of every /metrics test, so it
 * must itself reject what Prometheus rejects; a lenient judge would pass a broken exposition.
 */
import { describe, expect, it } from 'vitest'
import { parsePrometheusText, sampleValue } from '../../helpers/prom-text.ts'

const GOOD = [
  '# HELP a_total Things, with a \\\\ backslash.',
  '# TYPE a_total counter',
  'a_total{k="v\\"q\\nx"} 3',
  'a_total{k="w"} 4',
  '# TYPE h histogram',
  'h_bucket{le="0.5"} 1',
  'h_bucket{le="1"} 2',
  'h_bucket{le="+Inf"} 2',
  'h_sum 1.25',
  'h_count 2',
  'g NaN',
  '',
].join('\n')

describe('parsePrometheusText', () => {
  it('reads families, types, escaped labels and histogram samples', () => {
    const f = parsePrometheusText(GOOD)
    expect(f.get('a_total')?.type).toBe('counter')
    expect(f.get('a_total')?.help).toBe('Things, with a \\ backslash.')
    expect(sampleValue(f, 'a_total', { k: 'v"q\nx' })).toBe(3)
    expect(sampleValue(f, 'h_bucket', { le: '+Inf' })).toBe(2)
    expect(f.get('h')?.samples).toHaveLength(5)
    expect(Number.isNaN(sampleValue(f, 'g'))).toBe(true)
  })

  it.each([
    ['a missing final newline', 'x 1'],
    ['a bad value', 'x one\n'],
    ['a bad metric name', '1x 1\n'],
    ['an unterminated label', 'x{a="b} 1\n'],
    ['a bad escape', 'x{a="\\t"} 1\n'],
    ['a label given twice', 'x{a="1",a="2"} 1\n'],
    ['an unknown type', '# TYPE x countr\nx 1\n'],
    ['TYPE after samples', 'x 1\n# TYPE x counter\n'],
    ['a second TYPE', '# TYPE x counter\n# TYPE x counter\nx 1\n'],
    ['a duplicate series', 'x{a="1"} 1\nx{a="1"} 2\n'],
    ['a family that is not contiguous', 'x 1\ny 1\nx{a="1"} 2\n'],
    ['buckets not cumulative', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 0\nh_count 1\n'],
    ['no +Inf bucket', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 0\nh_count 1\n'],
    ['_count different from +Inf', '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 0\nh_count 1\n'],
    ['le not ascending', '# TYPE h histogram\nh_bucket{le="2"} 1\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\nh_sum 0\nh_count 1\n'],
    ['a histogram without _sum', '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_count 1\n'],
  ])('rejects %s', (_name, text) => {
    expect(() => parsePrometheusText(text)).toThrow()
  })
})
