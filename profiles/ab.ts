/**
 * A/B CPU cost of two hellogate builds under the same load, rounds alternated (STYLE C.7
 * "Comparing": baseline and candidate alternately, median and every round reported).
 *
 * Usage: `node profiles/ab.ts --a PATH/dist/cli.js --b PATH/dist/cli.js [--scenario new-conn|relay]
 *         [--rounds 10] [--duration 8] [--warmup 2] [--concurrency 8] [--connections 4]
 *         [--rate N] [--a-access-log] [--b-access-log] [--json FILE] [--no-pin]`
 *
 * `--rate N` (new-conn only) drives open-loop arrivals, N connections per second, instead of the
 * closed loop: recommended for A/B, because with a closed loop the rate follows the load
 * generator's share of a busy machine, and the proxy's CPU per connection follows the rate
 * (more connections per event-loop wakeup at higher rates).
 *
 * `--a-node-args` / `--b-node-args` (space-separated Node/V8 flags, e.g. `--single-threaded-gc`) start
 * that side as `node FLAGS cli.js serve`: the same build twice with and without a runtime flag.
 *
 * `--a-env` / `--b-env` (space-separated NAME=VALUE) add to that side's environment: the same build
 * twice with a switch flipped, e.g. `--a-env HELLOGATE_INTAKE=js` (hellos read through Node) against the
 * default.
 *
 * `--a-access-log` / `--b-access-log` turn that side's access log on (the shipped default,
 * `log: { level: info, access: true }`; lines go to the side's log file). Both sides may be the same
 * build: `--a dist/cli.js --b dist/cli.js --b-access-log` is the cost of the access log.
 *
 * What it does: one origin; A and B both running (each `workers: 1`, same config shape as
 * profiles/run.ts), both pinned to the same CPU, only one of them loaded at a time. Round r loads
 * A then B (odd r) or B then A (even r); each phase runs `--warmup` seconds, then `--duration`
 * seconds during which it reads the proxy's CPU time per thread from /proc. The cost is CPU µs per
 * connection (new-conn) or CPU ms per MiB (relay), for the whole process and for the worker thread.
 * The report gives every round, the medians, the ratio of medians B/A, and the per-round B/A
 * ratios (median, min, max, and how many rounds B was cheaper) so that noise is visible next to the
 * effect.
 *
 * CPU time comes from /proc/PID/task/TID/schedstat (ns), so short phases are fine: many short
 * alternating rounds (e.g. `--rounds 40 --duration 2 --warmup 0.5`) average drift better than a
 * few long ones.
 *
 * Limits: other processes on the machine shift both sides; alternating spreads that drift over A
 * and B but does not remove it. Run A against A first to see the noise floor, and look at the
 * min/max of the per-round ratios before believing a small median.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { envHeader, formatEnvHeader } from '../bench/lib/env.ts'
import { freePort, installCleanup, planCpus, spawnChild, stopAll } from '../bench/lib/children.ts'
import { isAlive } from '../bench/lib/proc.ts'
import { startOrigin, NODE } from '../bench/lib/targets.ts'
import {
  SCENARIOS, diffCpu, median, proxyConfig, runPaced, runScenario, threadCpu, waitReady, type Scenario,
} from './lib/harness.ts'

const { values } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    scenario: { type: 'string', default: 'new-conn' },
    rounds: { type: 'string', default: '10' },
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '8' },
    connections: { type: 'string', default: '4' },
    rate: { type: 'string' },
    'a-access-log': { type: 'boolean', default: false },
    'b-access-log': { type: 'boolean', default: false },
    'a-node-args': { type: 'string', default: '' },
    'b-node-args': { type: 'string', default: '' },
    'a-env': { type: 'string', default: '' },
    'b-env': { type: 'string', default: '' },
    json: { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
  },
})

function usage (msg: string): never {
  process.stderr.write(`ab: ${msg}\nusage: node profiles/ab.ts --a A/dist/cli.js --b B/dist/cli.js [--scenario new-conn|relay] [--rounds N] [--duration S] [--warmup S] [--concurrency N] [--connections N] [--rate N] [--a-access-log] [--b-access-log] [--a-node-args ARGS] [--b-node-args ARGS] [--a-env NAME=VALUE...] [--b-env NAME=VALUE...] [--json FILE] [--no-pin]\n`)
  process.exit(2)
}

if (values.a === undefined || values.b === undefined) usage('--a and --b are required')
if (!(SCENARIOS as readonly string[]).includes(values.scenario)) usage(`--scenario must be one of ${SCENARIOS.join(', ')}`)
const scenario = values.scenario as Scenario
const rounds = Number(values.rounds)
const durationSec = Number(values.duration)
const warmupSec = Number(values.warmup)
const shape = { concurrency: Number(values.concurrency), connections: Number(values.connections) }
/** open-loop arrivals per second (new-conn only); undefined = closed loop with `concurrency` loops */
const rate = values.rate === undefined ? undefined : Number(values.rate)
if (rate !== undefined && (scenario !== 'new-conn' || !(rate > 0))) usage('--rate needs --scenario new-conn and a positive number')
const MIB = 1024 * 1024

type Side = 'A' | 'B'

interface Phase {
  side: Side
  round: number
  units: number
  errors: number
  perSec: number
  processMs: number
  workerMs: number
  /** CPU per unit: µs per connection (new-conn) or ms per MiB (relay) */
  processCost: number
  workerCost: number
}

async function main (): Promise<void> {
  const cliA = path.resolve(values.a ?? '')
  const cliB = path.resolve(values.b ?? '')
  installCleanup()
  const { pin, proxyCpu, loadCpu } = planCpus(values['no-pin'] === true, true)
  const env = envHeader(pin ? `taskset: A and B on CPU ${String(proxyCpu)} (one loaded at a time); origin + load generator on CPU ${String(loadCpu)}` : 'not pinned')
  console.log(formatEnvHeader(env))
  const accessLog: Record<Side, boolean> = { A: values['a-access-log'] === true, B: values['b-access-log'] === true }
  const nodeArgs: Record<Side, string[]> = { A: splitArgs(values['a-node-args']), B: splitArgs(values['b-node-args']) }
  const envs: Record<Side, string[]> = { A: splitArgs(values['a-env']), B: splitArgs(values['b-env']) }
  const sideEnv = (side: Side): NodeJS.ProcessEnv => {
    const env = { ...process.env }
    for (const kv of envs[side]) {
      const eq = kv.indexOf('=')
      if (eq <= 0) usage(`--${side.toLowerCase()}-env: ${kv} is not NAME=VALUE`)
      env[kv.slice(0, eq)] = kv.slice(eq + 1)
    }
    return env
  }
  const logNote = (s: Side): string => (accessLog[s] ? ' (access log on)' : '') + (nodeArgs[s].length > 0 ? ` (node ${nodeArgs[s].join(' ')})` : '') +
    (envs[s].length > 0 ? ` (env ${envs[s].join(' ')})` : '')
  console.log(`# A = ${cliA}${logNote('A')}\n# B = ${cliB}${logNote('B')}\n# ${scenario}${rate === undefined ? '' : ` open loop at ${String(rate)} connections/s`}: ${String(rounds)} rounds × (A, B alternating), ${String(warmupSec)} s warmup + ${String(durationSec)} s measured each`)

  const dir = mkdtempSync(path.join(os.tmpdir(), 'hellogate-ab-'))
  const origin = await startOrigin({ cpu: loadCpu, nofile: undefined, dir })
  const start = async (side: Side, cli: string): Promise<{ pid: number, port: number }> => {
    const port = await freePort()
    const config = path.join(dir, `${side}.yaml`)
    writeFileSync(config, proxyConfig(port, origin.port, accessLog[side]))
    const log = path.join(dir, `${side}.log`)
    const child = spawnChild(`hellogate ${side}`, NODE, [...nodeArgs[side], cli, 'serve', '--config', config], { cpu: proxyCpu, log, env: sideEnv(side) })
    await waitReady(port, child, log)
    return { pid: child.pid, port }
  }
  const proxies = { A: await start('A', cliA), B: await start('B', cliB) }
  const unit = scenario === 'relay' ? 'ms/MiB' : 'µs/conn'
  /** decimals of a cost: ms/MiB is ~1, µs/conn is ~1000 */
  const costDigits = scenario === 'relay' ? 3 : 1

  const phases: Phase[] = []
  for (let round = 1; round <= rounds; round++) {
    const order: Side[] = round % 2 === 1 ? ['A', 'B'] : ['B', 'A']
    for (const side of order) {
      const p = proxies[side]
      const drive = (seconds: number, label: string): ReturnType<typeof runScenario> => rate === undefined
        ? runScenario(scenario, p.port, seconds, label, shape)
        : runPaced(p.port, rate, seconds)
      if (warmupSec > 0) await drive(warmupSec, `r${String(round)} ${side} warmup`)
      const c0 = threadCpu(p.pid)
      const r = await drive(durationSec, `r${String(round)} ${side}`)
      const c = diffCpu(c0, threadCpu(p.pid))
      if (!isAlive(p.pid)) throw new Error(`hellogate ${side} (pid ${String(p.pid)}) died; logs in ${dir}`)
      const units = scenario === 'relay' ? r.bytes / MIB : r.requests
      const cost = (ms: number): number => scenario === 'relay' ? ms / units : (ms * 1000) / units
      phases.push({ side, round, units, errors: r.errors, perSec: r.requestsPerSec, processMs: c.processMs, workerMs: c.workerMs, processCost: cost(c.processMs), workerCost: cost(c.workerMs) })
      console.log(`r${String(round)} ${side} (load ${os.loadavg()[0]!.toFixed(1)}): ${units.toFixed(0)} ${scenario === 'relay' ? 'MiB' : 'conns'} (${r.requestsPerSec.toFixed(0)}/s, ${String(r.errors)} err), process ${cost(c.processMs).toFixed(costDigits)} ${unit}, worker thread ${cost(c.workerMs).toFixed(costDigits)} ${unit}`)
    }
  }
  await stopAll()
  rmSync(dir, { recursive: true, force: true })

  const side = (s: Side): Phase[] => phases.filter((p) => p.side === s)
  const ratios = (key: 'processCost' | 'workerCost'): number[] => {
    const out: number[] = []
    for (let round = 1; round <= rounds; round++) {
      const a = phases.find((p) => p.side === 'A' && p.round === round)
      const b = phases.find((p) => p.side === 'B' && p.round === round)
      if (a !== undefined && b !== undefined && a[key] > 0) out.push(b[key] / a[key])
    }
    return out
  }
  const f = (n: number, d = 1): string => n.toFixed(d)
  const lines: string[] = ['', `| metric (${unit}) | A median | B median | B/A (medians) | per-round B/A median [min, max] | rounds B cheaper |`, '| --- | -: | -: | -: | --- | -: |']
  const summary: Record<string, unknown> = {}
  for (const key of ['processCost', 'workerCost'] as const) {
    const a = median(side('A').map((p) => p[key]))
    const b = median(side('B').map((p) => p[key]))
    const rs = ratios(key)
    if (rs.length === 0) {
      // e.g. the single-threaded bench stand-in proxy has no hellogate worker thread
      lines.push(`| ${key === 'processCost' ? 'process (all threads)' : 'worker thread'} | ${f(a, costDigits)} | ${f(b, costDigits)} | - | - | - |`)
      continue
    }
    const cheaper = rs.filter((x) => x < 1).length
    lines.push(`| ${key === 'processCost' ? 'process (all threads)' : 'worker thread'} | ${f(a, costDigits)} | ${f(b, costDigits)} | ${f(b / a, 3)} | ${f(median(rs), 3)} [${f(Math.min(...rs), 3)}, ${f(Math.max(...rs), 3)}] | ${String(cheaper)}/${String(rs.length)} |`)
    summary[key] = { a, b, ratioOfMedians: b / a, perRound: rs, medianRatio: median(rs), cheaperRounds: cheaper }
  }
  const errs = { A: side('A').reduce((x, p) => x + p.errors, 0), B: side('B').reduce((x, p) => x + p.errors, 0) }
  lines.push('', `load: A ${f(median(side('A').map((p) => p.perSec)), 0)}/s, B ${f(median(side('B').map((p) => p.perSec)), 0)}/s (medians); errors A ${String(errs.A)}, B ${String(errs.B)}`)
  console.log(lines.join('\n'))
  if (values.json !== undefined) {
    writeFileSync(values.json, JSON.stringify({ env, a: cliA, b: cliB, accessLog, scenario, rate, rounds, durationSec, warmupSec, shape, unit, summary, phases }, null, 2) + '\n')
    console.log(`wrote ${values.json}`)
  }
}

function splitArgs (s: string | undefined): string[] {
  return (s ?? '').split(' ').filter((x) => x !== '')
}

main().catch(async (err: unknown) => {
  process.stderr.write(`ab failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  await stopAll()
  process.exit(1)
})
