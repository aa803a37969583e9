/**
 * Microbenchmark: compiling route tables (dist/routes compileRoutes): time, and heap per name.
 * Needs `node --expose-gc` (bench/run-micro.ts passes it).
 *
 * Tasks (stable names):
 *  - `compile/10k`: compileRoutes on 10 000 generated names (bench/micro/names.ts, 10% wildcards),
 *    tinybench time budget after WARMUP_ROUNDS_10K warmup compiles (which also bring the compiler's code
 *    to the optimising tier for the 1M task).
 *  - `compile/1M`: compileRoutes on 1 000 000 names, ROUNDS_1M rounds, no tinybench warmup (each round
 *    takes seconds; the 10k task has already brought the code to the optimising tier). The previous
 *    round's table is dropped before the next round, so collecting it is part of the timing, as
 *    allocation and GC are part of a real compile.
 * Each compile is checked (ok, size, wildcard count); a wrong answer throws.
 *
 * Heap per name is measured in separate, untimed compiles after the timed ones: forcing a GC right
 * before a timed compile made it ~3× slower (10k: 12–16 ms instead of 4–6 ms; V8's forced full GC is a
 * memory-reducing one and throws away JIT state), so no GC is forced between timed rounds. Readings are
 * heapUsed + arrayBuffers (typed arrays live outside the JS heap) after two forced GCs:
 *  - `heapDeltaPerName`: after compile (table alive) minus before, with the input specs alive on both
 *    sides: what compiling adds. The canonical patterns are the input strings themselves
 *    (normalizePattern returns an already-canonical string unchanged), so their bytes are NOT in this
 *    figure; the table's patterns array (one pointer per name) is.
 *  - `retainedPerName` (1M only): after dropping the input specs and keeping the table, minus the heap
 *    before the names were generated: everything the table keeps alive, pattern strings included (what a
 *    worker holds for a table it received).
 *  - `typedArrayBytesPerName`: describeTable().bytes / size (nodes + slots + targets, exact by
 *    construction, not measured).
 */
import type { CompiledRoutes } from '../../src/routes/index.ts'
import { loadDist } from './dist.ts'
import { finish, isQuick, requireGc, runTasks, type MicroTask } from './harness.ts'
import { generateRoutes, type RouteSpecLike } from './names.ts'

const FILE = 'routes-compile.bench.ts'
const SMALL = 10_000
const LARGE = 1_000_000
/** timed rounds of the 1M compile (each one is seconds): 3 give a median; --quick does 1 */
const ROUNDS_1M = 3
const QUICK_ROUNDS_1M = 1
/**
 * Warmup compiles of the 10k table: the first ~30 take 3–25× the steady ~4 ms while V8 tiers the compiler
 * up, far more than tinybench's default 250 ms warmup covers (measured on the 2-CPU dev box).
 */
const WARMUP_ROUNDS_10K = 40
/** GCs per heap reading: the second one collects what the first one's finalisation released */
const GC_PASSES = 2

const quick = isQuick()
const gc = requireGc()
const { routes } = await loadDist()
const { compileRoutes, describeTable } = routes

function settledHeap (): number {
  for (let i = 0; i < GC_PASSES; i++) gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

interface CompileState {
  specs: RouteSpecLike[] | null
  table: CompiledRoutes | null
}

function compileTask (name: string, n: number, state: CompileState, options: MicroTask['options']): MicroTask {
  const wildcards = n / 10
  return {
    name,
    what: `compileRoutes on ${n} generated names (10% wildcards)`,
    batch: 1,
    ...(options ? { options } : {}),
    beforeEach () {
      state.table = null // drop the previous table (no forced GC: see the header)
    },
    run () {
      const r = compileRoutes(state.specs!)
      if (!r.ok || r.table.size !== n || r.table.wildcardCount !== wildcards) throw new Error(`${name}: bad compile result`)
      state.table = r.table
    },
  }
}

/** one untimed compile between two settled heap readings; leaves the table in state.table */
function heapFigures (state: CompileState, n: number): Record<string, number> {
  state.table = null
  const before = settledHeap()
  const r = compileRoutes(state.specs!)
  if (!r.ok) throw new Error('heap compile failed')
  state.table = r.table
  const delta = settledHeap() - before
  const d = describeTable(r.table)
  return {
    names: n,
    heapDeltaPerName: round1(delta / n),
    typedArrayBytesPerName: round1(d.bytes / n),
    trieNodes: d.nodes,
    slots: r.table.slotMask + 1,
  }
}

function round1 (x: number): number {
  return Math.round(x * 10) / 10
}

const rounds = quick ? QUICK_ROUNDS_1M : ROUNDS_1M
// 10k first, with nothing big alive
const small: CompileState = { specs: generateRoutes(SMALL), table: null }
const results = runTasks(FILE, [compileTask('compile/10k', SMALL, small, { warmupIterations: WARMUP_ROUNDS_10K })], quick)
results[0]!.extra = heapFigures(small, SMALL)
small.specs = null
small.table = null

const base = settledHeap()
const large: CompileState = { specs: generateRoutes(LARGE), table: null }
results.push(...runTasks(FILE, [compileTask('compile/1M', LARGE, large, { iterations: rounds, time: 0, warmup: false })], quick))
const extra1M = heapFigures(large, LARGE)
// everything the table keeps alive: drop the input, keep the table
large.specs = null
const retained = settledHeap() - base
if (large.table?.size !== LARGE) throw new Error('compile/1M: table lost')
results[1]!.extra = { ...extra1M, retainedPerName: round1(retained / LARGE) }

const notes = results.map((r) => `${r.name}: ${JSON.stringify(r.extra)}`)
notes.push('heap = process.memoryUsage() heapUsed + arrayBuffers after 2 forced GCs, around one untimed compile; heapDeltaPerName excludes the pattern strings (shared with the input), retainedPerName includes them')
finish(FILE, quick, results, notes)
