/**
 * Microbenchmark runner: `npm run bench` (builds dist/ first) or `node bench/run-micro.ts [--quick] [name…]`.
 *
 * Contract (STYLE C.7, C.11 item 15; find-my-way `benchmark/bench.js`, pino `runbench.js`):
 *  - The cases are data (CASES): every bench/micro/*.bench.ts file must be listed there (checked, so a new
 *    file cannot be skipped silently). Each file runs in a FRESH Node process (`fork`, with the flags the
 *    case needs, e.g. --expose-gc), one after the other, and hands its results back over IPC.
 *  - Prints the environment header (bench/lib/env.ts) first, one progress line per task while running,
 *    then one table (task, mean and p50 time per op, ops/s, ±rme, samples × batch) and the speed-target
 *    checks (README Performance) as PASS/FAIL with the measured figure.
 *  - Writes everything (environment header, tasks, notes, targets, load average at start and end) to
 *    bench/results/micro-<timestamp>.json and bench/results/micro-latest.json (bench/lib/results.ts).
 *  - Positional arguments keep only the files whose name contains one of them (`hello`, `compile`); the
 *    target checks whose tasks did not run say SKIP.
 *  - Exit status 1 when a bench file fails (a wrong answer in a timed loop throws there) or times out;
 *    a FAILed target does not change the exit status (targets are reported, not enforced).
 *
 * Limits: a bench file that runs longer than CHILD_TIMEOUT_MS is killed (by its own pid) and reported as
 * failed. Ctrl-C stops the running child the same way. Figures use the median (p50) for the target checks:
 * on a shared machine the mean carries every scheduling hiccup.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { envHeader, formatEnvHeader } from './lib/env.ts'
import { REPO_ROOT, writeResults } from './lib/results.ts'
import { fmtTime, formatTable, type MicroFileResult, type MicroResult } from './micro/harness.ts'

const MICRO_DIR = path.join(REPO_ROOT, 'bench', 'micro')
/** A bench file's limit: the default run takes ~1 min per file on the 2-CPU dev box, 3× that when busy. */
const CHILD_TIMEOUT_MS = 6 * 60_000

interface Case {
  file: string
  /** Node flags of the fresh process */
  execArgv: string[]
}

const CASES: Case[] = [
  { file: 'hello-parse.bench.ts', execArgv: [] },
  { file: 'quic-initial.bench.ts', execArgv: [] },
  { file: 'routes-match.bench.ts', execArgv: [] },
  { file: 'routes-compile.bench.ts', execArgv: ['--expose-gc'] },
  { file: 'access-cidr.bench.ts', execArgv: [] },
]

/** The speed targets of README Performance, as data: each reads tasks by their stable names. */
interface TargetCheck {
  id: string
  target: string
  /** null when a task it needs did not run */
  evaluate: (get: (name: string) => MicroResult | undefined) => { pass: boolean, measured: string, detail: string } | null
}

/**
 * Lookup on 1M names vs 10 names, on the SAME query names (routes-match.bench.ts header: the hot sets
 * drawn from each table differ in name depth, which would mix table size with name shape).
 */
const ratioCheck = (kind: string, bigTask: string): TargetCheck => ({
  id: `route lookup, 1M vs 10 names, ${kind}`,
  target: '≤ 1.5×',
  evaluate (get) {
    const big = get(bigTask)
    const small = get(`match/trie/10/${kind}`)
    if (!big || !small) return null
    const r = big.p50Ns / small.p50Ns
    return {
      pass: r <= 1.5,
      measured: `${r.toFixed(2)}×`,
      detail: `${bigTask} vs match/trie/10/${kind}, same names: p50 ${fmtTime(big.p50Ns)} vs ${fmtTime(small.p50Ns)} (mean ratio ${(big.meanNs / small.meanNs).toFixed(2)}×)`,
    }
  },
})

const TARGETS: TargetCheck[] = [
  {
    id: 'parse + route, chromium hello',
    target: '≤ 1 µs',
    evaluate (get) {
      const t = get('hello+route/chromium')
      if (!t) return null
      return { pass: t.p50Ns <= 1_000, measured: fmtTime(t.p50Ns), detail: `p50; mean ${fmtTime(t.meanNs)}` }
    },
  },
  ratioCheck('exact', 'match/trie/1M/exact-same-names'),
  ratioCheck('wildcard', 'match/trie/1M/wildcard-same-names'),
  ratioCheck('miss', 'match/trie/1M/miss-same-names'),
  {
    id: 'compile 1M names, time',
    target: '< 3 s',
    evaluate (get) {
      const t = get('compile/1M')
      if (!t) return null
      return { pass: t.p50Ns < 3e9, measured: fmtTime(t.p50Ns), detail: `median of ${t.samples} round(s)` }
    },
  },
  {
    id: 'compile 1M names, heap per name',
    target: '< 150 B',
    evaluate (get) {
      const t = get('compile/1M')
      const retained = t?.extra?.retainedPerName
      if (typeof retained !== 'number') return null
      return {
        pass: retained < 150,
        measured: `${retained} B`,
        detail: `everything the table keeps alive, pattern strings included; compile delta without the strings ${String(t?.extra?.heapDeltaPerName)} B, typed arrays ${String(t?.extra?.typedArrayBytesPerName)} B`,
      }
    },
  },
]

/** Informational ratios (no target): how much the CPU caches add once the names spread over a big table. */
function infoLines (get: (name: string) => MicroResult | undefined): string[] {
  const lines: string[] = []
  const ratio = (a: string, b: string, what: string): void => {
    const x = get(a)
    const y = get(b)
    if (x && y) lines.push(`INFO  ${what}: ${(x.p50Ns / y.p50Ns).toFixed(2)}× (${a} ${fmtTime(x.p50Ns)} vs ${b} ${fmtTime(y.p50Ns)}, p50)`)
  }
  for (const kind of ['exact', 'wildcard', 'miss']) {
    ratio(`match/trie/1M/${kind}`, `match/trie/10k/${kind}`, `trie ${kind}, 1024-name hot set, 1M vs 10k (same name shapes)`)
    ratio(`match/trie/1M/${kind}`, `match/trie/10/${kind}`, `trie ${kind}, 1024-name hot set on 1M vs the 10-name table (different name shapes)`)
  }
  ratio('match/trie/1M/exact-uniform', 'match/trie/10/exact', 'trie exact, queries uniform over 1M vs 10 names')
  ratio('match/map/1M/exact-uniform', 'match/map/10/exact', 'map exact, queries uniform over 1M vs 10 names')
  return lines
}

function parseArgs (argv: string[]): { quick: boolean, filters: string[] } {
  const quick = argv.includes('--quick')
  const unknown = argv.filter((a) => a.startsWith('-') && a !== '--quick')
  if (unknown.length > 0) throw new Error(`unknown option(s) ${unknown.join(' ')}; usage: node bench/run-micro.ts [--quick] [file-filter…]`)
  return { quick, filters: argv.filter((a) => !a.startsWith('-')) }
}

function checkCasesListed (): void {
  const files = readdirSync(MICRO_DIR).filter((f) => f.endsWith('.bench.ts'))
  const missing = files.filter((f) => !CASES.some((c) => c.file === f))
  if (missing.length > 0) throw new Error(`bench/micro has bench files not listed in CASES (bench/run-micro.ts): ${missing.join(', ')}`)
}

let current: ChildProcess | null = null
/** set by SIGINT/SIGTERM: stop after the running child, write nothing */
let interrupted = false

function runCase (c: Case, quick: boolean): Promise<{ result: MicroFileResult | null, error: string | null, wallS: number }> {
  const started = performance.now()
  return new Promise((resolve) => {
    let result: MicroFileResult | null = null
    const child = fork(path.join(MICRO_DIR, c.file), quick ? ['--quick'] : [], {
      execArgv: c.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      cwd: REPO_ROOT,
    })
    current = child
    const timer = setTimeout(() => { child.kill('SIGKILL') }, CHILD_TIMEOUT_MS)
    child.on('message', (m) => {
      if (typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'micro-result') result = m as MicroFileResult
    })
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      current = null
      const wallS = (performance.now() - started) / 1e3
      const error = code === 0 && result !== null
        ? null
        : `${c.file}: exited with ${signal ?? `code ${String(code)}`}${result === null ? ', no results' : ''}${signal === 'SIGKILL' ? ` (timeout ${CHILD_TIMEOUT_MS / 1000} s?)` : ''}`
      resolve({ result, error, wallS })
    })
  })
}

function stopCurrent (): void {
  if (current?.pid !== undefined && current.exitCode === null) current.kill('SIGKILL')
}

function tinybenchVersion (): string {
  try {
    return (JSON.parse(readFileSync(path.join(REPO_ROOT, 'node_modules', 'tinybench', 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

async function main (): Promise<number> {
  const { quick, filters } = parseArgs(process.argv.slice(2))
  checkCasesListed()
  const cases = CASES.filter((c) => filters.length === 0 || filters.some((f) => c.file.includes(f)))
  if (cases.length === 0) throw new Error(`no bench file matches ${filters.join(', ')}`)

  const env = envHeader('none (each bench file in a fresh process, not pinned)')
  process.stdout.write(`${formatEnvHeader(env)}\n# tinybench ${tinybenchVersion()}, hrtime clock; ${quick ? '--quick (short run)' : 'full run'}\n\n`)

  const files: { file: string, wallS: number, notes: string[], error: string | null }[] = []
  const tasks: MicroResult[] = []
  for (const c of cases) {
    if (interrupted) return 130
    process.stdout.write(`## ${c.file}${c.execArgv.length > 0 ? ` (node ${c.execArgv.join(' ')})` : ''}\n`)
    const { result, error, wallS } = await runCase(c, quick)
    files.push({ file: c.file, wallS: Math.round(wallS * 10) / 10, notes: result?.notes ?? [], error })
    if (result) tasks.push(...result.tasks)
    if (error) process.stdout.write(`!! ${error}\n`)
  }
  if (interrupted) return 130

  const byName = new Map(tasks.map((t) => [t.name, t]))
  const get = (n: string): MicroResult | undefined => byName.get(n)
  const targets = TARGETS.map((t) => {
    const r = t.evaluate(get)
    return { id: t.id, target: t.target, status: r === null ? 'SKIP' : r.pass ? 'PASS' : 'FAIL', measured: r?.measured ?? null, detail: r?.detail ?? null }
  })
  const info = infoLines(get)
  const loadAverageEnd = os.loadavg()[0] ?? 0

  process.stdout.write(`\n${formatTable(tasks)}\n\n`)
  for (const f of files) for (const n of f.notes) process.stdout.write(`# ${f.file}: ${n}\n`)
  process.stdout.write('\nTargets (p50 per op unless stated):\n')
  for (const t of targets) {
    process.stdout.write(`${t.status.padEnd(5)} ${t.id}: ${t.measured ?? '-'} (target ${t.target})${t.detail ? `; ${t.detail}` : ''}\n`)
  }
  for (const l of info) process.stdout.write(`${l}\n`)
  process.stdout.write(`# load average: ${env.loadAverage1m.toFixed(2)} at start, ${loadAverageEnd.toFixed(2)} at end, on ${env.cores} CPUs\n`)

  const paths = writeResults('micro', {
    kind: 'micro',
    env,
    tinybench: tinybenchVersion(),
    command: `node bench/run-micro.ts ${process.argv.slice(2).join(' ')}`.trim(),
    quick,
    loadAverageEnd,
    files,
    tasks,
    targets,
    info,
  })
  process.stdout.write(`# results: ${path.relative(REPO_ROOT, paths.archive)}, ${path.relative(REPO_ROOT, paths.latest)}\n`)
  return files.some((f) => f.error !== null) ? 1 : 0
}

process.on('SIGINT', () => { interrupted = true; stopCurrent() })
process.on('SIGTERM', () => { interrupted = true; stopCurrent() })
try {
  process.exitCode = await main()
} catch (err) {
  stopCurrent()
  process.stderr.write(`run-micro: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
}
