/**
 * A strict parser for the Prometheus text exposition format (version 0.0.4), used by the tests as the
 * judge of what GET /metrics serves. prom-client can write the format but not read it, and the npm
 * parsers are lenient (they accept what Prometheus would reject), so this one throws, with the line
 * number, on anything the format forbids:
 *   - a sample line that does not match `name{label="value",...} value [timestamp]`, bad escapes,
 *     bad metric or label names, a value that is not a Go float (NaN, +Inf, -Inf allowed);
 *   - TYPE after the family's first sample, two TYPE or HELP lines for one family, an unknown type;
 *   - a family whose samples are not contiguous, the same series twice;
 *   - histograms: a bucket without `le`, buckets not ascending or not cumulative, no `+Inf` bucket,
 *     `_count` different from the `+Inf` bucket, a missing `_sum` or `_count`.
 */

export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

export interface Family {
  readonly name: string
  type: string
  help: string | null
  readonly samples: Sample[]
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])
const FLOAT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/

export function parsePrometheusText (text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  const seenSeries = new Set<string>()
  const closed = new Set<string>()
  let currentFamily: string | null = null
  const lines = text.split('\n')
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('exposition must end with a newline')

  const family = (name: string): Family => {
    let f = families.get(name)
    if (f === undefined) { f = { name, type: 'untyped', help: null, samples: [] }; families.set(name, f) }
    return f
  }

  lines.forEach((line, i) => {
    const at = 'line ' + String(i + 1) + ': '
    if (line === '') return
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line)
      if (m === null) return // a plain comment
      const [, kind, name, rest] = m as unknown as [string, string, string, string]
      if (!METRIC_NAME.test(name) || METRIC_NAME.exec(name)![0] !== name) throw new Error(at + 'bad metric name in ' + kind + ': ' + name)
      const f = family(name)
      if (kind === 'TYPE') {
        if (!TYPES.has(rest)) throw new Error(at + 'unknown type ' + rest)
        if (f.samples.length > 0) throw new Error(at + 'TYPE after samples of ' + name)
        if (f.type !== 'untyped' || closed.has(name + '#type')) throw new Error(at + 'second TYPE for ' + name)
        f.type = rest
        closed.add(name + '#type')
      } else {
        if (f.help !== null) throw new Error(at + 'second HELP for ' + name)
        f.help = unescape(rest, false, at)
      }
      return
    }
    const sample = parseSample(line, at)
    const fname = familyOf(sample.name, families)
    if (currentFamily !== fname) {
      if (closed.has(fname)) throw new Error(at + 'samples of ' + fname + ' are not contiguous')
      if (currentFamily !== null) closed.add(currentFamily)
      currentFamily = fname
    }
    const key = sample.name + JSON.stringify(Object.entries(sample.labels).sort())
    if (seenSeries.has(key)) throw new Error(at + 'duplicate series ' + key)
    seenSeries.add(key)
    family(fname).samples.push(sample)
  })

  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f)
  return families
}

/** `x_bucket`/`x_sum`/`x_count` belong to histogram (or summary) family `x` when it was declared. */
function familyOf (name: string, families: Map<string, Family>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue
    const base = name.slice(0, -suffix.length)
    const t = families.get(base)?.type
    if (t === 'histogram' || (t === 'summary' && suffix !== '_bucket')) return base
  }
  return name
}

function parseSample (line: string, at: string): Sample {
  const nm = METRIC_NAME.exec(line)
  if (nm === null) throw new Error(at + 'no metric name: ' + line)
  const name = nm[0]
  let rest = line.slice(name.length)
  const labels: Record<string, string> = {}
  if (rest.startsWith('{')) {
    rest = rest.slice(1)
    for (;;) {
      if (rest.startsWith('}')) { rest = rest.slice(1); break }
      const ln = LABEL_NAME.exec(rest)
      if (ln === null) throw new Error(at + 'bad label name in: ' + line)
      const lname = ln[0]
      rest = rest.slice(lname.length)
      if (!rest.startsWith('="')) throw new Error(at + 'expected =" after label ' + lname)
      rest = rest.slice(2)
      let raw = ''
      for (;;) {
        const c = rest[0]
        if (c === undefined) throw new Error(at + 'unterminated label value')
        if (c === '\\') { raw += rest.slice(0, 2); rest = rest.slice(2); continue }
        if (c === '"') { rest = rest.slice(1); break }
        raw += c
        rest = rest.slice(1)
      }
      if (Object.hasOwn(labels, lname)) throw new Error(at + 'label ' + lname + ' twice')
      labels[lname] = unescape(raw, true, at)
      if (rest.startsWith(',')) rest = rest.slice(1)
      else if (!rest.startsWith('}')) throw new Error(at + 'expected , or } after label ' + lname)
    }
  }
  const parts = rest.split(' ')
  if (parts[0] !== '' || parts.length < 2 || parts.length > 3) throw new Error(at + 'expected " value [timestamp]": ' + line)
  const value = parseFloatStrict(parts[1]!, at)
  if (parts.length === 3 && !/^-?\d+$/.test(parts[2]!)) throw new Error(at + 'bad timestamp ' + String(parts[2]))
  return { name, labels, value }
}

function parseFloatStrict (s: string, at: string): number {
  if (s === 'NaN') return NaN
  if (s === '+Inf') return Infinity
  if (s === '-Inf') return -Infinity
  if (!FLOAT.test(s)) throw new Error(at + 'bad value ' + s)
  return Number(s)
}

function unescape (s: string, quoted: boolean, at: string): string {
  let out = ''
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (c !== '\\') { out += c; continue }
    const n = s[++i]
    if (n === '\\') out += '\\'
    else if (n === 'n') out += '\n'
    else if (n === '"' && quoted) out += '"'
    else throw new Error(at + 'bad escape \\' + String(n))
  }
  return out
}

function checkHistogram (f: Family): void {
  const series = new Map<string, { buckets: Array<[number, number]>, sum: number | null, count: number | null }>()
  for (const s of f.samples) {
    const { le, ...rest } = s.labels
    const key = JSON.stringify(Object.entries(rest).sort())
    let h = series.get(key)
    if (h === undefined) { h = { buckets: [], sum: null, count: null }; series.set(key, h) }
    if (s.name === f.name + '_bucket') {
      if (le === undefined) throw new Error(f.name + ': bucket without le')
      h.buckets.push([parseFloatStrict(le, f.name + ' le: '), s.value])
    } else if (s.name === f.name + '_sum') h.sum = s.value
    else if (s.name === f.name + '_count') h.count = s.value
    else throw new Error(f.name + ': unexpected sample ' + s.name + ' in a histogram')
  }
  for (const [key, h] of series) {
    if (h.sum === null || h.count === null) throw new Error(f.name + key + ': missing _sum or _count')
    const last = h.buckets[h.buckets.length - 1]
    if (last === undefined || last[0] !== Infinity) throw new Error(f.name + key + ': no +Inf bucket last')
    for (let i = 1; i < h.buckets.length; i++) {
      if (!(h.buckets[i]![0] > h.buckets[i - 1]![0])) throw new Error(f.name + key + ': le not ascending')
      if (h.buckets[i]![1] < h.buckets[i - 1]![1]) throw new Error(f.name + key + ': buckets not cumulative')
    }
    if (last[1] !== h.count) throw new Error(f.name + key + ': +Inf bucket ' + String(last[1]) + ' != _count ' + String(h.count))
  }
}

/** The value of one series (labels must match exactly); throws if absent. */
export function sampleValue (families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue
      const a = Object.entries(s.labels).sort()
      const b = Object.entries(labels).sort()
      if (JSON.stringify(a) === JSON.stringify(b)) return s.value
    }
  }
  throw new Error('no series ' + name + JSON.stringify(labels))
}
