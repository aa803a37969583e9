/**
 * `node bench/etcd/compile.ts [--sizes 100000,1000000] [--rounds 5]`: where the time of applying one
 * changed etcd key goes, step by step, in this process (no etcd, no workers): what source/etcd.ts's
 * compileNow and pool/reload.ts do for a batch today, each step timed separately.
 *
 * Steps (each the median of --rounds): `input` (the prefix Maps → entry arrays, main thread),
 * `clone to thread` (structuredClone of that input: what piscina's postMessage does), `compileFleet`
 * (pre-checks, full validation and trie compile), `buildRouteState` (the shared per-route arrays),
 * `clone back` (structuredClone of the result: the ProxyConfig with its RouteEntry objects, the tables on
 * SharedArrayBuffers are shared; what the reload thread sent back before 70670cf) and `clone back
 * without routes` (what it sends now), `verifyTable` (what each worker runs on a swap).
 * Then what an incremental path could not avoid, to size what it would save: `re-serialise` (one
 * RouteCompiler pass over the canonical patterns, already validated and in order: the "keep the sorted
 * entries and merge a batch" design, whose merge itself is O(changes · log n)), and `copy tables` (a
 * memcpy of every typed array of the state onto fresh shared memory: the floor of a "copy the previous
 * table and patch the changed routes in" design).
 *
 * Table: route j is `f<j>.bench.example` → `127.0.0.1:9` (bench:etcd's layout); the change is one new key.
 * Output: one line per step and size, with the load average (a shared 2-vCPU machine: read CPU-bound
 * steps against it).
 */
import os from 'node:os'
import { parseArgs } from 'node:util'

import { buildRouteState } from '../../src/pool/index.ts'
import { RouteCompiler, verifyTable } from '../../src/routes/index.ts'
import { compileFleet, fleetEntries, type FleetInput } from '../../src/source/fleet.ts'

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '100000,1000000' }, rounds: { type: 'string', default: '5' } } })

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor((s.length - 1) / 2)]!
}

function time<T> (f: () => T): [T, number] {
  const t0 = performance.now()
  const r = f()
  return [r, performance.now() - t0]
}

for (const n of values.sizes.split(',').map(Number)) {
  const prefix = new Map<string, string>()
  for (let j = 0; j < n; j++) prefix.set(`f${j}.bench.example`, '127.0.0.1:9')
  const steps: Record<string, number[]> = {}
  const add = (k: string, ms: number): void => { (steps[k] ??= []).push(ms) }
  for (let r = 0; r < Number(values.rounds); r++) {
    prefix.set(`new${r}.bench.example`, '127.0.0.1:9')
    const [input, tInput] = time((): FleetInput => ({ file: '<bench>', raw: { listen: '127.0.0.1:0', workers: 1, routes: {} }, prefix: '/b/', routes: fleetEntries(prefix), upstreams: [] }))
    add('input (main)', tInput)
    const [cloned, tClone] = time(() => structuredClone(input))
    add('clone to thread', tClone)
    const [result, tCompile] = time(() => compileFleet(cloned))
    add('compileFleet', tCompile)
    const [state, tState] = time(() => buildRouteState(result.config))
    add('buildRouteState', tState)
    const [, tBack] = time(() => structuredClone({ ok: true, config: result.config, state, skipped: result.skipped, shadowed: result.shadowed }))
    add('clone back', tBack)
    const [, tBackLean] = time(() => structuredClone({ ok: true, config: { ...result.config, routes: [] }, state, skipped: result.skipped, shadowed: result.shadowed }))
    add('clone back without routes', tBackLean)
    const [ok, tVerify] = time(() => verifyTable(state.routes))
    if (!ok) throw new Error('table does not verify')
    add('verifyTable (per worker)', tVerify)
    const patterns = result.config.routes.map((e) => e.pattern)
    const [, tTrie] = time(() => {
      const c = new RouteCompiler(patterns.length)
      for (let i = 0; i < patterns.length; i++) c.add(patterns[i]!, i)
      return c.finish(true)
    })
    add('incremental: re-serialise', tTrie)
    const arrays = [state.routes.nodes, state.routes.slots, state.routes.targets, state.routes.routeNode, state.routeUpstream, state.alpnFirst, state.alpnCount]
    const [, tCopy] = time(() => arrays.map((a) => { const c = new Int32Array(new SharedArrayBuffer(a.byteLength)); c.set(a); return c }))
    add('incremental: copy tables', tCopy)
  }
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ')
  let total = 0
  for (const [k, xs] of Object.entries(steps)) {
    if (!k.startsWith('incremental') && k !== 'clone back without routes') total += median(xs)
    console.log(`${String(n).padStart(8)} routes  ${k.padEnd(26)} ${median(xs).toFixed(1).padStart(8)} ms (median of ${xs.length})`)
  }
  console.log(`${String(n).padStart(8)} routes  ${'today\'s path, summed'.padEnd(26)} ${total.toFixed(1).padStart(8)} ms   load average ${load}`)
}
