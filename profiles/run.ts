/**
 * `npm run profile:cpu | profile:doctor | profile:flame`: profile hellogate (from dist/) under load
 * (STYLE C.7 "Profiles").
 *
 * Usage: `node profiles/run.ts <cpu|doctor|flame> [--scenario new-conn|relay] [--duration S]
 *         [--warmup S] [--concurrency N] [--connections N] [--interval US] [--top N] [--out DIR]
 *         [--no-pin] [--access-log]` (`--access-log`: the shipped access log on, lines to hellogate's log file)
 *
 * What it does: starts the bench origin (bench/load/origin.ts) and hellogate with `workers: 1` in
 * front of it, under the chosen tool, waits until hellogate logs `listening`, runs the scenario for
 * `--warmup` then `--duration` seconds (new-conn: new TLS connections with one small request each;
 * relay: keep-alive 1 MiB bodies), measures hellogate's CPU per thread from /proc over the measured
 * part, sends SIGINT to the hellogate process so that the tool writes its output, and writes
 * `profiles/<yyyymmdd>-<sha>-<tool>-<scenario>/NOTES.md` (a `-2`, `-3`… suffix when the folder
 * exists) with the command, environment, load results and, for `cpu`, the top self-time frames of
 * every thread inside the measured window.
 *
 * Tools:
 * - `cpu`: `node --cpu-prof --cpu-prof-interval US`. Node writes one `.cpuprofile` per thread
 *   (`CPU.<date>.<time>.<pid>.<threadId>.<seq>.cpuprofile`, thread 0 = main); hellogate's work
 *   happens in worker thread 1. Analysed with profiles/top-frames.ts.
 * - `doctor`/`flame`: `clinic doctor|flame --open=false --dest DIR/.clinic -- node dist/cli.js …`
 *   with NO_INSIGHT=1 (otherwise clinic 13 waits for a consent prompt and exits 0 doing nothing when
 *   stdin is not a TTY). Caveats, measured on Node 24 (see the NOTES.md files): clinic flame (0x,
 *   `--prof`) processes one isolate log, and it was the main thread's, so the worker's stacks are
 *   not in the flamegraph; clinic doctor's sampler is preloaded through NODE_OPTIONS `-r`, which
 *   Node also runs in every worker thread, so both threads write the same processstat file.
 *
 * Placement: with taskset and ≥ 2 CPUs, hellogate (and the tool wrapping it) runs on the last CPU;
 * the origin and this process (the load generator) share CPU 0 (as bench:load does).
 *
 * Output files: `NOTES.md` is the only file meant for git; `.cpuprofile`, `.html`, `.clinic/` and
 * `*.log` are gitignored. Delete the folder when the profile is not worth keeping.
 *
 * Limits: Linux only; 127.0.0.1 only; every child stopped by pid, also on SIGINT or a crash.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { envHeader, formatEnvHeader, type EnvHeader } from '../bench/lib/env.ts'
import { freePort, installCleanup, planCpus, spawnChild, stopAll, sleep, type Child } from '../bench/lib/children.ts'
import { startOrigin, HELLOGATE_CLI, NODE } from '../bench/lib/targets.ts'
import { REPO_ROOT } from '../bench/lib/results.ts'
import type { PhaseResult } from '../bench/lib/phases.ts'
import {
  SCENARIOS, SCENARIO_TEXT, diffCpu, findProxyPid, gitShort, monotonicUs, proxyConfig, runScenario,
  threadCpu, waitReady, type Scenario, type ThreadCpu,
} from './lib/harness.ts'
import { analyzeProfile, formatSummary, threadIdOf, readProfile, type ProfileSummary } from './top-frames.ts'

const TOOLS = ['cpu', 'doctor', 'flame'] as const
type Tool = typeof TOOLS[number]

/** Default measured seconds per scenario: long enough that startup is a small share of a whole-run view. */
const DEFAULT_DURATION_S: Record<Scenario, number> = { 'new-conn': 20, relay: 15 }
/**
 * `--cpu-prof-interval` default (µs). Node's default is 1000 µs; hellogate spends ~100 µs of worker
 * CPU per new connection, so 1 ms samples would need minutes of load to rank frames reliably.
 */
const DEFAULT_INTERVAL_US = 250
/** How long hellogate may take to exit after SIGINT (drain + profile write). */
const EXIT_TIMEOUT_MS: Record<Tool, number> = { cpu: 60_000, doctor: 300_000, flame: 600_000 }
/** Frames in the main thread's table (it is idle during the load). */
const MAIN_TOP = 10
const PROFILES_DIR = path.join(REPO_ROOT, 'profiles')

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    scenario: { type: 'string', default: 'new-conn' },
    duration: { type: 'string' },
    warmup: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '8' },
    connections: { type: 'string', default: '4' },
    interval: { type: 'string', default: String(DEFAULT_INTERVAL_US) },
    top: { type: 'string', default: '25' },
    out: { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    'access-log': { type: 'boolean', default: false },
  },
})

function usage (msg: string): never {
  process.stderr.write(`profile: ${msg}\nusage: node profiles/run.ts <cpu|doctor|flame> [--scenario new-conn|relay] [--duration S] [--warmup S] [--concurrency N] [--connections N] [--interval US] [--top N] [--out DIR] [--no-pin] [--access-log]\n`)
  process.exit(2)
}

const tool = positionals[0] as Tool | undefined
if (tool === undefined || !(TOOLS as readonly string[]).includes(tool)) usage(`first argument must be one of ${TOOLS.join(', ')}`)
if (!(SCENARIOS as readonly string[]).includes(values.scenario)) usage(`--scenario must be one of ${SCENARIOS.join(', ')}`)
const scenario = values.scenario as Scenario
const durationSec = Number(values.duration ?? DEFAULT_DURATION_S[scenario])
const warmupSec = Number(values.warmup)
const intervalUs = Number(values.interval)
const top = Number(values.top)
const shape = { concurrency: Number(values.concurrency), connections: Number(values.connections) }
for (const [k, v] of Object.entries({ durationSec, warmupSec, intervalUs, top, ...shape })) {
  if (!Number.isFinite(v) || v < 0) usage(`bad value for ${k}`)
}

/** Resolve clinic's CLI, or explain how to get it. */
function clinicBin (): string {
  const require = createRequire(import.meta.url)
  try {
    return require.resolve('clinic/bin.js')
  } catch {
    throw new Error('clinic is not installed: `npm install --save-dev clinic --no-audit --no-fund` (or use `npm run profile:cpu`, which needs nothing but Node)')
  }
}

function outDir (sha: string): string {
  if (values.out !== undefined) return path.resolve(values.out)
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '')
  const base = path.join(PROFILES_DIR, `${day}-${sha}-${tool ?? ''}-${scenario}`)
  let dir = base
  for (let i = 2; existsSync(dir); i++) dir = `${base}-${String(i)}`
  return dir
}

interface Measured {
  load: PhaseResult
  cpu: ThreadCpu
  fromUs: number
  toUs: number
}

async function main (): Promise<void> {
  if (tool === undefined) return
  const major = Number(process.versions.node.split('.')[0])
  if (major < 24) throw new Error(`Node ${process.version} is too old: run through npm (node_modules/.bin/node is Node 24)`)
  if (!existsSync(HELLOGATE_CLI)) throw new Error(`${path.relative(REPO_ROOT, HELLOGATE_CLI)} not found: run \`npm run build\` first (or set HELLOGATE_CLI)`)
  const clinic = tool === 'cpu' ? undefined : clinicBin()
  installCleanup()

  const { pin, proxyCpu, loadCpu } = planCpus(values['no-pin'] === true, true)
  const pinning = pin
    ? `taskset: hellogate${tool === 'cpu' ? '' : ' (under clinic)'} on CPU ${String(proxyCpu)}; origin + load generator on CPU ${String(loadCpu)}`
    : 'not pinned'
  const env = envHeader(pinning)
  // the sha of the code under test: HELLOGATE_CLI may point into another checkout (a worktree)
  const codeRoot = path.resolve(path.dirname(HELLOGATE_CLI), '..')
  const git = gitShort(codeRoot)
  const out = outDir(git.sha)
  mkdirSync(out, { recursive: true })
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'hellogate-profile-'))
  console.log(formatEnvHeader(env))
  console.log(`# tool: ${tool}, scenario: ${scenario}, ${String(warmupSec)} s warmup + ${String(durationSec)} s measured; output ${path.relative(REPO_ROOT, out)}`)

  const origin = await startOrigin({ cpu: loadCpu, nofile: undefined, dir: out })
  const port = await freePort()
  const configText = proxyConfig(port, origin.port, values['access-log'])
  const config = path.join(tmp, 'hellogate.yaml')
  writeFileSync(config, configText)
  const proxyArgs = [HELLOGATE_CLI, 'serve', '--config', config]
  const log = path.join(out, 'hellogate.log')
  let argv: string[]
  if (tool === 'cpu') {
    argv = ['--cpu-prof', `--cpu-prof-dir=${out}`, `--cpu-prof-interval=${String(intervalUs)}`, ...proxyArgs]
  } else {
    argv = [clinic ?? '', tool, '--open=false', '--dest', path.join(out, '.clinic'), '--', NODE, ...proxyArgs]
  }
  const child: Child = spawnChild(tool === 'cpu' ? 'hellogate' : `clinic ${tool}`, NODE, argv, {
    cpu: proxyCpu,
    log,
    // clinic: skip the analytics consent prompt and the update check; 0x writes its isolate logs to the cwd
    env: { ...process.env, NO_INSIGHT: '1', NO_UPDATE_NOTIFIER: '1' },
    cwd: tool === 'cpu' ? REPO_ROOT : out,
  })
  await waitReady(port, child, log)
  const proxyPid = findProxyPid(child.pid, HELLOGATE_CLI)
  if (proxyPid === undefined) throw new Error(`cannot find the hellogate process under pid ${String(child.pid)}`)
  console.log(`# origin pid ${String(origin.child.pid)} :${String(origin.port)}; hellogate pid ${String(proxyPid)} :${String(port)}${proxyPid === child.pid ? '' : ` (under ${child.name}, pid ${String(child.pid)})`}`)

  if (warmupSec > 0) await runScenario(scenario, port, warmupSec, `${scenario} warmup`, shape)
  const cpu0 = threadCpu(proxyPid)
  const fromUs = monotonicUs()
  const load = await runScenario(scenario, port, durationSec, `${scenario} measured`, shape)
  const toUs = monotonicUs()
  const cpu = diffCpu(cpu0, threadCpu(proxyPid))
  const m: Measured = { load, cpu, fromUs, toUs }
  console.log(`# ${String(load.requests)} ${scenario === 'relay' ? 'responses' : 'connections'} in ${load.elapsedSec.toFixed(1)} s, ${String(load.errors)} errors${load.firstError === undefined ? '' : ` (first: ${load.firstError})`}; hellogate CPU ${cpu.processMs.toFixed(0)} ms (worker ${cpu.workerMs.toFixed(0)}, main ${cpu.mainMs.toFixed(0)}, other ${cpu.otherMs.toFixed(0)})`)
  console.log(`# measured window (CLOCK_MONOTONIC µs, for top-frames --from/--to): ${String(fromUs)} ${String(toUs)}`)

  // SIGINT to hellogate itself: it drains and exits, and the tool writes its output
  try { process.kill(proxyPid, 'SIGINT') } catch { /* already gone */ }
  process.stderr.write(`  … waiting for ${child.name} to exit${tool === 'cpu' ? '' : ' and analyse (can take minutes)'}\n`)
  const exit = await Promise.race([child.exited, sleep(EXIT_TIMEOUT_MS[tool]).then(() => 'timeout' as const)])
  if (exit === 'timeout') throw new Error(`${child.name} did not exit within ${String(EXIT_TIMEOUT_MS[tool] / 1000)} s after SIGINT; log ${log}`)
  await stopAll()

  const code = { root: codeRoot, sha: git.sha, dirty: git.dirty }
  const notes = tool === 'cpu'
    ? cpuNotes(out, m, env, configText, code)
    : clinicNotes(out, m, env, configText, code, exit)
  writeFileSync(path.join(out, 'NOTES.md'), notes)
  rmSync(tmp, { recursive: true, force: true })
  console.log(`\nwrote ${path.relative(process.cwd(), path.join(out, 'NOTES.md'))} (draft: add the finding, or delete the folder)`)
}

function commandLine (): string {
  const args = process.argv.slice(2)
  const script = `profile:${tool ?? ''}`
  const rest = args.slice(1)
  const cli = process.env.HELLOGATE_CLI === undefined ? '' : `HELLOGATE_CLI=${process.env.HELLOGATE_CLI} `
  return `${cli}npm run ${script}${rest.length > 0 ? ' -- ' + rest.join(' ') : ''}`
}

interface CodeUnderTest {
  root: string
  sha: string
  dirty: boolean
}

function header (m: Measured, env: EnvHeader, configText: string, code: CodeUnderTest, proxyCommand: string): string[] {
  const perUnit = scenario === 'relay'
    ? `${(m.cpu.processMs / (m.load.bytes / 1048576)).toFixed(2)} ms per MiB relayed (worker thread ${(m.cpu.workerMs / (m.load.bytes / 1048576)).toFixed(2)})`
    : `${((m.cpu.processMs * 1000) / m.load.requests).toFixed(0)} µs per connection (worker thread ${((m.cpu.workerMs * 1000) / m.load.requests).toFixed(0)} µs, main ${((m.cpu.mainMs * 1000) / m.load.requests).toFixed(0)} µs, GC/libuv/other threads ${((m.cpu.otherMs * 1000) / m.load.requests).toFixed(0)} µs)`
  return [
    `# ${tool ?? ''} profile, ${scenario} scenario`,
    '',
    '> DRAFT written by `profiles/run.ts`: replace this line with the finding, or delete the folder.',
    '',
    '## Command',
    '',
    '```sh',
    ...(code.root === REPO_ROOT
      ? ['npm run build']
      : [
          `# the code under test is a separate checkout of ${code.sha}${code.dirty ? ' (plus uncommitted changes)' : ''}:`,
          `git worktree add --detach ${code.root} ${code.sha}`,
          `ln -s "$PWD/node_modules" ${code.root}/node_modules`,
          `(cd ${code.root} && npx tsc -p tsconfig.build.json)`,
        ]),
    commandLine(),
    '```',
    '',
    `hellogate was started as \`${proxyCommand}\`, with this config:`,
    '',
    '```yaml',
    configText.trimEnd(),
    '```',
    '',
    '## Environment',
    '',
    `- Node ${env.node}, ${env.os} ${env.arch}, CPU ${env.cpuModel} ×${String(env.cores)}, ${String(env.memoryMiB)} MiB`,
    `- code under test: git ${code.sha}${code.dirty ? ' plus uncommitted changes' : ''}${code.root === REPO_ROOT ? '' : ` (checkout at ${code.root})`}; ${env.pinning}`,
    `- load average before the run: ${env.loadAverage1m.toFixed(2)}${env.loadAverage1m > env.cores * 0.5 ? ' (other processes were busy: expect noise)' : ''}`,
    '',
    '## Scenario and load',
    '',
    `- ${SCENARIO_TEXT[scenario]}`,
    `- ${scenario === 'relay' ? `${String(values.connections)} connections` : `${String(values.concurrency)} concurrent loops`}, ${String(warmupSec)} s warmup, ${String(durationSec)} s measured`,
    `- result: ${String(m.load.requests)} ${scenario === 'relay' ? 'responses' : 'connections'} (${m.load.requestsPerSec.toFixed(0)}/s), ${String(m.load.errors)} errors, latency p50 ${m.load.latency.p50Ms.toFixed(2)} ms, p99 ${m.load.latency.p99Ms.toFixed(2)} ms`,
    `- hellogate CPU over the measured part (/proc/PID/task/*/schedstat, on-CPU time of every thread): ${m.cpu.processMs.toFixed(0)} ms = ${perUnit}`,
    '',
  ]
}

function cpuNotes (out: string, m: Measured, env: EnvHeader, configText: string, code: CodeUnderTest): string {
  const files = readdirSync(out).filter((f) => f.endsWith('.cpuprofile')).sort((a, b) => threadIdOf(a) - threadIdOf(b))
  const lines = header(m, env, configText, code, `node --cpu-prof --cpu-prof-dir=<this folder> --cpu-prof-interval=${String(intervalUs)} dist/cli.js serve --config hellogate.yaml`)
  lines.push(
    '## Top frames (self time, measured window only)',
    '',
    `Analysed with \`node profiles/top-frames.ts <file> --from ${String(m.fromUs)} --to ${String(m.toUs)}\`. "busy" = every sample but \`(idle)\`. Startup, warmup and shutdown are outside the window.`,
    '',
  )
  if (files.length === 0) lines.push('**No .cpuprofile was written** (did hellogate exit cleanly after SIGINT? see hellogate.log).', '')
  const summaries: Array<{ file: string, tid: number, s: ProfileSummary }> = []
  for (const f of files) {
    const tid = threadIdOf(f)
    const s = analyzeProfile(readProfile(path.join(out, f)), { fromUs: m.fromUs, toUs: m.toUs })
    summaries.push({ file: f, tid, s })
  }
  // worker threads first: that is where the per-connection work happens
  summaries.sort((a, b) => (a.tid === 0 ? 1 : 0) - (b.tid === 0 ? 1 : 0) || a.tid - b.tid)
  for (const { file, tid, s } of summaries) {
    lines.push(`### ${tid === 0 ? 'Main thread' : `Worker thread ${String(tid)}`} — \`${file}\``, '', formatSummary(s, { top: tid === 0 ? MAIN_TOP : top }), '')
  }
  lines.push(
    '## Raw files (gitignored)',
    '',
    ...files.map((f) => `- \`${f}\` (open in Chrome DevTools → Performance → Load profile, or speedscope)`),
    '- `hellogate.log`, `origin.log`',
    '',
  )
  return lines.join('\n')
}

/** clinic doctor embeds its verdict as `"analysis": {...}` in the HTML. */
function doctorVerdict (html: string): string | undefined {
  const m = /"analysis":\s*(\{"interval":\[[^\]]*\],"issues":\{.*?\},"issueCategory":"[a-z]+"\})/s.exec(html)
  return m?.[1]
}

function clinicNotes (out: string, m: Measured, env: EnvHeader, configText: string, code: CodeUnderTest, exit: number | string): string {
  const dest = path.join(out, '.clinic')
  const html = existsSync(dest) ? readdirSync(dest).filter((f) => f.endsWith('.html')) : []
  const lines = header(m, env, configText, code, `clinic ${tool ?? ''} --open=false --dest <this folder>/.clinic -- node dist/cli.js serve --config hellogate.yaml`)
  lines.push('## clinic output', '')
  if (html.length === 0) {
    lines.push(`**clinic produced no HTML report** (exit ${String(exit)}); see hellogate.log in this folder. \`npm run profile:cpu\` does not depend on clinic.`, '')
    process.exitCode = 1
    process.stderr.write(`profile: clinic ${tool ?? ''} produced no report (exit ${String(exit)}); see ${path.join(out, 'hellogate.log')}\n`)
  }
  for (const f of html) {
    lines.push(`- report: \`.clinic/${f}\` (gitignored)`)
    if (tool === 'doctor') {
      const verdict = doctorVerdict(readFileSync(path.join(dest, f), 'utf8'))
      lines.push(`- doctor's analysis: \`${verdict ?? 'not found in the HTML'}\``)
    }
  }
  lines.push(
    '',
    '## Caveats of clinic with worker threads (Node 24, clinic 13)',
    '',
    tool === 'flame'
      ? '- clinic flame runs 0x, which runs the process with `--prof` and turns ONE isolate log into the flamegraph. hellogate has two isolates (main + worker); check whether the report shows worker frames (`onClientHelloData`, `handleConnection`, `onStreamRead`): in our runs it showed only the main thread, which is idle under load. Use `npm run profile:cpu` for the worker. 0x also preloads a SIGINT handler that calls `process.exit()` at once, so hellogate does not drain under clinic flame.'
      : '- clinic doctor preloads its sampler with NODE_OPTIONS `-r`; Node runs `-r` preloads in worker threads too, so the main thread and the worker both sample and write the SAME `processstat` file (same pid in the name). The event-loop delay, ELU and handle counts are therefore a splice of two threads (handles 13–20 in our runs = the worker\'s sockets). CPU % and memory are process-wide and fine.',
    '- clinic is unmaintained; its authors call its results unreliable on recent Node. Read it next to the `--cpu-prof` profile of the same scenario.',
    '',
  )
  return lines.join('\n')
}

main().catch(async (err: unknown) => {
  process.stderr.write(`profile failed: ${err instanceof Error ? err.message : String(err)}\n`)
  await stopAll()
  process.exit(1)
})
