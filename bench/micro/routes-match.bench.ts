/**
 * Microbenchmark: route lookup (dist/routes matchServerName) on tables of 10, 10 000 and 1 000 000
 * names, against a plain `Map` and against the reference matcher (src/routes/reference.ts).
 *
 * Tasks (stable names) `match/<impl>/<size>/<kind>`:
 *  - impl `trie`: `matchServerName(table, buf, start, end)` on the SNI bytes (what the relay calls).
 *  - impl `map`: the string baseline a simple proxy would write. One lookup INCLUDES making the string
 *    from the bytes (`buf.toString('latin1', start, end)`), `toLowerCase()`, `Map.get` on the exact
 *    names, and on a miss one `slice` + `Map.get` per dot on a second Map keyed by wildcard suffix
 *    (longest suffix first). It does NOT validate the name (characters, label lengths) or drop a
 *    trailing dot, both of which the trie does, so it does less work than the trie.
 *  - impl `reference`: `referenceMatchBytes`, the obviously-correct linear matcher the trie is tested
 *    against; it scans every pattern, so it runs on 10 and 10k names only (on 1M one lookup would take
 *    tens of milliseconds and says nothing new: it is linear).
 *  - size `10`, `10k`, `1M`: tables from bench/micro/names.ts (10% wildcards, target = route index).
 *  - kind `exact` (an exact route name), `wildcard` (`<label>.<suffix>` of a `*.` route), `miss` (an
 *    exact route name with its id label replaced by an unknown one: the walk goes as deep as a hit and
 *    fails on the last label). Each task cycles through QUERIES names drawn from its own table: a hot set
 *    of up to 1024 distinct names.
 *  - `match/<impl>/1M/<kind>-same-names`: the 10-name table's own query sets run on the 1M table (the
 *    10-name table is the 1M table's first 10 routes, so the answers are the same). Query shape matters:
 *    the 10-name table's single wildcard has a 2-label suffix, while the 1M wildcard queries average 3.85
 *    labels against 3.0, so comparing `1M/wildcard` with `10/wildcard` mixes table size with name depth.
 *    The same names on both tables isolate the table size; run-micro.ts's 1M-vs-10 target uses these.
 *  - `match/<impl>/1M/exact-uniform`: UNIFORM_QUERIES names spread over the whole 1M table (working set
 *    ≫ L2 and the TLB's reach), which adds the cache misses of a table that does not fit in cache.
 *    The hot sets of 1024 names sit in between: their few cache lines per name fit in L2, but they
 *    touch more pages than the L1 TLB maps (an explanation for the 1M-vs-10k spread seen under load,
 *    not a measured one).
 * Every lookup's result is compared with the expected target (route index, -1 for a miss); a mismatch
 * throws.
 */
import type { CompiledRoutes } from '../../src/routes/index.ts'
import { loadDist } from './dist.ts'
import { finish, isQuick, runTasks, type MicroTask } from './harness.ts'
import { exactQueries, generateRoutes, missQueries, wildcardQueries, type QuerySet, type RouteSpecLike } from './names.ts'

const FILE = 'routes-match.bench.ts'
/** hot-set query ring (power of two) */
const QUERIES = 1024
/** uniform query ring over the 1M table: 256 Ki names × ~2 cache lines each ≫ the 1 MiB L2 */
const UNIFORM_QUERIES = 262_144
/** lookups per timed call for trie and map (~60 ns–1.2 µs each → samples of 15–300 µs) */
const BATCH_FAST = 256
/** reference on 10 names (~1 µs per lookup) */
const BATCH_REFERENCE_SMALL = 16
/** reference on 10k names (~100 µs per lookup): one per sample is already far above the timer grain */
const BATCH_REFERENCE_LARGE = 1
/** the reference matcher is linear: not run above this size */
const REFERENCE_MAX_SIZE = 10_000

/** smallest first: its query sets are reused on the largest table */
const SIZES = [
  { label: '10', n: 10 },
  { label: '10k', n: 10_000 },
  { label: '1M', n: 1_000_000 },
] as const
const LARGEST = 1_000_000

const quick = isQuick()
const { routes, reference } = await loadDist()
const { matchServerName, compileRoutes } = routes
const { referenceMatchBytes } = reference

interface MapTable {
  exact: Map<string, number>
  wild: Map<string, number>
}

function buildMaps (specs: readonly RouteSpecLike[]): MapTable {
  const exact = new Map<string, number>()
  const wild = new Map<string, number>()
  for (const s of specs) {
    if (s.pattern.startsWith('*.')) wild.set(s.pattern.slice(2), s.target)
    else exact.set(s.pattern, s.target)
  }
  return { exact, wild }
}

/** average number of labels of a query set's names (query shape, reported with the figures) */
function meanLabels (q: QuerySet): string {
  let dots = 0
  for (let i = 0; i < q.buf.length; i++) if (q.buf[i] === 0x2e) dots++
  return ((dots + q.count) / q.count).toFixed(2)
}

/** the Map baseline described in the header */
function mapLookup (m: MapTable, buf: Buffer, start: number, end: number): number {
  const name = buf.toString('latin1', start, end).toLowerCase()
  const t = m.exact.get(name)
  if (t !== undefined) return t
  for (let dot = name.indexOf('.'); dot !== -1; dot = name.indexOf('.', dot + 1)) {
    const w = m.wild.get(name.slice(dot + 1))
    if (w !== undefined) return w
  }
  return -1
}

/*
 * One loop per implementation, each its own function literal: V8 shares type feedback between closures
 * of one literal, so a shared loop calling `lookup(...)` would turn megamorphic after the first few tasks
 * and measure an indirect call instead of the matcher. Here each loop's call site sees one callee.
 */

function trieTask (name: string, table: CompiledRoutes, q: QuerySet, kind: string): MicroTask {
  const { buf, starts, ends, expected } = q
  const mask = q.count - 1
  let cursor = 0
  return {
    name,
    what: `matchServerName, ${kind}, ${table.size} routes; ${q.count} queries, ${q.distinct} distinct`,
    batch: BATCH_FAST,
    run (n) {
      for (let k = 0; k < n; k++) {
        const i = cursor++ & mask
        const got = matchServerName(table, buf, starts[i]!, ends[i]!)
        if (got !== expected[i]!) throw new Error(`${name}: query ${i} gave ${got}, expected ${expected[i]!}`)
      }
    },
  }
}

function mapTask (name: string, maps: MapTable, q: QuerySet, kind: string, size: number): MicroTask {
  const { buf, starts, ends, expected } = q
  const mask = q.count - 1
  let cursor = 0
  return {
    name,
    what: `Map baseline (latin1 string + toLowerCase + Map.get, suffix walk on miss), ${kind}, ${size} names; ${q.count} queries, ${q.distinct} distinct`,
    batch: BATCH_FAST,
    run (n) {
      for (let k = 0; k < n; k++) {
        const i = cursor++ & mask
        const got = mapLookup(maps, buf, starts[i]!, ends[i]!)
        if (got !== expected[i]!) throw new Error(`${name}: query ${i} gave ${got}, expected ${expected[i]!}`)
      }
    },
  }
}

function referenceTask (name: string, table: CompiledRoutes, q: QuerySet, kind: string): MicroTask {
  const { buf, starts, ends, expected } = q
  const { patterns, targets } = table
  const mask = q.count - 1
  let cursor = 0
  return {
    name,
    what: `referenceMatchBytes (linear scan), ${kind}, ${table.size} names; ${q.count} queries, ${q.distinct} distinct`,
    batch: table.size <= 10 ? BATCH_REFERENCE_SMALL : BATCH_REFERENCE_LARGE,
    run (n) {
      for (let k = 0; k < n; k++) {
        const i = cursor++ & mask
        const got = referenceMatchBytes(patterns, targets, buf, starts[i]!, ends[i]!)
        if (got !== expected[i]!) throw new Error(`${name}: query ${i} gave ${got}, expected ${expected[i]!}`)
      }
    },
  }
}

const tasks: MicroTask[] = []
const notes: string[] = []
let smallest: { specs: RouteSpecLike[], exact: QuerySet, wildcard: QuerySet, miss: QuerySet } | null = null
for (const { label, n } of SIZES) {
  const t0 = performance.now()
  const specs = generateRoutes(n)
  const compiled = compileRoutes(specs)
  if (!compiled.ok) throw new Error(`${label}: table did not compile: ${JSON.stringify(compiled)}`)
  const table = compiled.table
  const maps = buildMaps(specs)
  const querySets = {
    exact: exactQueries(specs, QUERIES),
    wildcard: wildcardQueries(specs, QUERIES),
    miss: missQueries(specs, QUERIES),
  }
  smallest ??= { specs, ...querySets }
  notes.push(`${label}: ${table.size} routes (${table.exactCount} exact, ${table.wildcardCount} wildcard, ${table.nodeCount} trie nodes), ` +
    `distinct queries exact/wildcard/miss ${querySets.exact.distinct}/${querySets.wildcard.distinct}/${querySets.miss.distinct}, ` +
    `mean labels per query ${meanLabels(querySets.exact)}/${meanLabels(querySets.wildcard)}/${meanLabels(querySets.miss)}; ` +
    `set up in ${((performance.now() - t0) / 1e3).toFixed(1)} s (untimed)`)
  for (const [kind, q] of Object.entries(querySets)) {
    tasks.push(trieTask(`match/trie/${label}/${kind}`, table, q, kind))
    tasks.push(mapTask(`match/map/${label}/${kind}`, maps, q, kind, n))
    if (n <= REFERENCE_MAX_SIZE) tasks.push(referenceTask(`match/reference/${label}/${kind}`, table, q, kind))
  }
  if (n === LARGEST) {
    // the 10-name table's own queries, on the 1M table (generateRoutes(10) is its prefix: same answers)
    const small = smallest
    if (small.specs.some((s, i) => specs[i]?.pattern !== s.pattern || specs[i]?.target !== s.target)) {
      throw new Error('generateRoutes(10) is not a prefix of generateRoutes(1M)')
    }
    for (const [kind, q] of [['exact', small.exact], ['wildcard', small.wildcard], ['miss', small.miss]] as const) {
      tasks.push(trieTask(`match/trie/${label}/${kind}-same-names`, table, q, `${kind}, the 10-name table's queries`))
      tasks.push(mapTask(`match/map/${label}/${kind}-same-names`, maps, q, `${kind}, the 10-name table's queries`, n))
    }
    const uniform = exactQueries(specs, UNIFORM_QUERIES)
    tasks.push(trieTask(`match/trie/${label}/exact-uniform`, table, uniform, 'exact, uniform over the table'))
    tasks.push(mapTask(`match/map/${label}/exact-uniform`, maps, uniform, 'exact, uniform over the table', n))
  }
}
notes.push(`batch: trie/map ${BATCH_FAST} lookups per sample, reference ${BATCH_REFERENCE_SMALL} (10) / ${BATCH_REFERENCE_LARGE} (10k); figures are per lookup`)
notes.push('map baseline includes: bytes → latin1 string, toLowerCase, Map.get, and a slice + Map.get per dot on a miss; it skips the name validation the trie does')

const results = runTasks(FILE, tasks, quick)
finish(FILE, quick, results, notes)
