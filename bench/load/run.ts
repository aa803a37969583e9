/**
 * `npm run bench:load`: load through the proxy vs. straight at the origin (STYLE C.7 "Load tests").
 *
 * Usage: `node bench/load/run.ts [--proxy hellogate|standin] [--duration 5] [--warmup 1]
 *         [--scenarios new-conn,small,big] [--connections 10] [--big-connections 4]
 *         [--churn-concurrency 8] [--rounds 1] [--reloads 100] [--access-log] [--no-pin]`
 *
 * Scenarios (each measured direct → origin and via proxy → origin, same client, same origin):
 * - `new-conn`: a new TLS connection per request (bench/lib/tls-churn.ts, full handshake, GET /,
 *   Connection: close). Measures accept → hello → route → connect. Proxy CPU per connection.
 * - `small`: autocannon keep-alive GET / (tiny body). Measures per-request relay overhead.
 * - `big`: autocannon keep-alive GET /1m (1 MiB body). Measures relay throughput. Proxy CPU per MiB.
 * - `reload` (hellogate only): `new-conn` churn through a fresh proxy while it is reloaded `--reloads`
 *   times (POST /reload, what SIGHUP does), valid and broken files alternating, against the same proxy without reloads
 *   (bench/load/reload.ts). Reports connections/s and failed connections during the reloads.
 *
 * The proxy runs with its access log off (logging cost kept out of the relay figures); `--access-log`
 * turns it on as shipped (`log: { level: info, access: true }`, lines into the proxy's log file). For
 * the cost of the log alone, in one interleaved run: `node profiles/ab.ts --a dist/cli.js --b
 * dist/cli.js --b-access-log --rate 100`.
 *
 * Output: env header, a progress line per phase, a table of req/s and p50/p99 as ratios
 * via/direct, proxy CPU (utime+stime of the proxy process tree, all threads, /proc), and JSON at
 * bench/results/load-<timestamp>.json + load-latest.json (the reload scenario: load-reload-*.json).
 *
 * Placement: with taskset and ≥ 2 CPUs the proxy runs alone on the last CPU, and the origin and this
 * load generator share CPU 0. The origin+client side is then the bottleneck in most scenarios, so
 * req/s ratios understate a fast proxy's headroom; the proxy CPU columns are the fairer comparison.
 *
 * Limits: short by default (5 s per measured phase, ≈ 45 s in all) because this machine has 2 CPUs;
 * lengthen with --duration / --rounds for numbers you intend to quote. Only 127.0.0.1. Every child
 * is stopped by pid, also on SIGINT/SIGTERM or a crash.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { envHeader, formatEnvHeader } from '../lib/env.ts'
import { isAlive, treeCpuTimeMs, processTree } from '../lib/proc.ts'
import { hasTaskset, installCleanup, logTail, pinPid, planCpus, raiseNofile, stopAll } from '../lib/children.ts'
import { resolveProxy, startNodeProxy, startOrigin, type NodeProxyKind } from '../lib/targets.ts'
import { runScenario, smoke, SCENARIOS, type PhaseResult, type Scenario } from '../lib/phases.ts'
import { writeResults } from '../lib/results.ts'
import { formatReloadResult, runReloadScenario, type ReloadScenarioResult } from './reload.ts'

/** RLIMIT_NOFILE for the proxy/origin/harness: plenty for the default connection counts. */
const NOFILE = 65_536
const MIB = 1024 * 1024

const { values } = parseArgs({
  options: {
    proxy: { type: 'string', default: 'hellogate' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    scenarios: { type: 'string', default: [...SCENARIOS, 'reload'].join(',') },
    reloads: { type: 'string', default: '100' },
    connections: { type: 'string', default: '10' },
    'big-connections': { type: 'string', default: '4' },
    'churn-concurrency': { type: 'string', default: '8' },
    rounds: { type: 'string', default: '1' },
    'access-log': { type: 'boolean', default: false },
    'no-pin': { type: 'boolean', default: false },
    'keep-tmp': { type: 'boolean', default: false },
  },
})

if (values.proxy !== 'hellogate' && values.proxy !== 'standin') {
  process.stderr.write(`--proxy must be hellogate or standin, got ${values.proxy}\n`)
  process.exit(2)
}
const durationSec = Number(values.duration)
const warmupSec = Number(values.warmup)
const rounds = Math.max(1, Number(values.rounds))
const requestedScenarios = values.scenarios.split(',').map((s) => s.trim())
const scenarios = requestedScenarios.filter((s): s is Scenario => (SCENARIOS as readonly string[]).includes(s))
const reloadScenario = requestedScenarios.includes('reload')
const reloads = Math.max(1, Number(values.reloads))

interface Phase extends PhaseResult {
  target: 'direct' | 'proxy'
  round: number
  proxyCpuMs: number
}

async function main (): Promise<void> {
  installCleanup()
  const { pin, proxyCpu, loadCpu } = planCpus(values['no-pin'] === true, false)
  const pinning = pin
    ? `taskset: proxy on CPU ${String(proxyCpu)}; origin + load generator (this process) on CPU ${String(loadCpu)}`
    : `not pinned (${values['no-pin'] ? '--no-pin' : hasTaskset() ? 'fewer than 2 CPUs' : 'taskset not found'})`
  if (pin && loadCpu !== undefined) pinPid(process.pid, loadCpu)
  const nofile = raiseNofile(process.pid, NOFILE)

  const proxy = resolveProxy(values.proxy as NodeProxyKind)
  const env = envHeader(pinning)
  console.log(formatEnvHeader(env))
  const accessLog = values['access-log'] === true
  console.log(`# proxy: ${proxy.note}; access log ${accessLog ? 'ON (as shipped)' : 'off'}`)
  console.log(`# phases: ${scenarios.join(', ')} × (direct, proxy) × ${rounds} round(s), ${durationSec} s each after ${warmupSec} s warmup; harness RLIMIT_NOFILE ${nofile}`)

  const dir = mkdtempSync(path.join(os.tmpdir(), 'hellogate-bench-load-'))
  const origin = await startOrigin({ cpu: loadCpu, nofile: NOFILE, dir })
  const prox = await startNodeProxy(proxy.kind, { originPort: origin.port, cpu: proxyCpu, nofile: NOFILE, dir, accessLog })
  const proxyPids = (): number[] => processTree(prox.child.pid)
  console.log(`# origin pid ${origin.child.pid} :${origin.port}; ${proxy.kind} pid ${prox.child.pid} :${prox.port} (process tree now: ${proxyPids().join(',')}); logs in ${dir}`)

  // Smoke check: one request each way, so a broken proxy fails in a second with a clear message.
  await smoke(origin.port, 'direct')
  await smoke(prox.port, `via ${proxy.kind}`, prox.child)
  const shape = { connections: Number(values.connections), bigConnections: Number(values['big-connections']), churnConcurrency: Number(values['churn-concurrency']) }

  const results: Record<string, Phase[]> = {}
  const t0 = Date.now()
  for (const scenario of scenarios) {
    results[scenario] = []
    for (let round = 1; round <= rounds; round++) {
      // Alternate the order per round so drift (thermal, page cache, other tenants) hits both sides.
      const order: Array<'direct' | 'proxy'> = round % 2 === 1 ? ['direct', 'proxy'] : ['proxy', 'direct']
      for (const target of order) {
        const port = target === 'direct' ? origin.port : prox.port
        const label = `${scenario} ${target === 'direct' ? 'direct' : `via ${proxy.kind}`}${rounds > 1 ? ` r${round}` : ''}`
        if (warmupSec > 0) await runScenario(scenario, port, warmupSec, `${label} (warmup)`, shape)
        const cpu0 = treeCpuTimeMs(prox.child.pid)
        const r = await runScenario(scenario, port, durationSec, label, shape)
        const proxyCpuMs = treeCpuTimeMs(prox.child.pid) - cpu0
        results[scenario].push({ target, round, ...r, proxyCpuMs })
        if (!isAlive(prox.child.pid)) throw new Error(`${proxy.kind} (pid ${prox.child.pid}) died during ${label}; log ${prox.child.log}:\n${logTail(prox.child)}`)
      }
    }
  }
  let reload: ReloadScenarioResult | null = null
  if (reloadScenario && proxy.kind === 'hellogate') {
    reload = await runReloadScenario({ originPort: origin.port, cpu: proxyCpu, nofile: NOFILE, dir, reloads, concurrency: shape.churnConcurrency, durationSec })
  } else if (reloadScenario) {
    console.log('# reload scenario skipped: it needs hellogate (the stand-in does not reload)')
  }
  const elapsedSec = (Date.now() - t0) / 1000

  const summary = scenarios.map((s) => summarise(s, results[s] ?? []))
  if (summary.length > 0) printTable(summary, proxy.kind)
  if (reload !== null) console.log(formatReloadResult(reload))
  // the reload figure has its own file, so that a reload-only run leaves the load figures in place
  if (reload !== null) {
    const r = writeResults('load-reload', { env, options: { reloads, durationSec, concurrency: shape.churnConcurrency }, reload })
    console.log(`wrote ${path.relative(process.cwd(), r.archive)} and ${path.relative(process.cwd(), r.latest)}`)
  }
  if (scenarios.length > 0) {
    const out = writeResults('load', {
      env,
      proxy: { requested: values.proxy, used: proxy.kind, note: proxy.note },
      options: { durationSec, warmupSec, rounds, accessLog, ...shape },
      elapsedSec,
      summary,
      phases: results,
    })
    console.log(`\nwrote ${path.relative(process.cwd(), out.archive)} and ${path.relative(process.cwd(), out.latest)} (measured phases took ${elapsedSec.toFixed(1)} s)`)
  }

  await stopAll()
  if (!values['keep-tmp']) rmSync(dir, { recursive: true, force: true })
}

interface ScenarioSummary {
  scenario: Scenario
  direct: { requestsPerSec: number, p50Ms: number, p99Ms: number, errors: number }
  proxy: { requestsPerSec: number, p50Ms: number, p99Ms: number, errors: number }
  ratio: { requestsPerSec: number, p50: number, p99: number }
  proxyCpu: { perConnectionUs: number | null, perRequestUs: number, perMiBMs: number | null, utilisation: number }
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2
}

function summarise (scenario: Scenario, phases: Phase[]): ScenarioSummary {
  const side = (t: 'direct' | 'proxy'): ScenarioSummary['direct'] => {
    const ps = phases.filter((p) => p.target === t)
    return {
      requestsPerSec: median(ps.map((p) => p.requestsPerSec)),
      p50Ms: median(ps.map((p) => p.latency.p50Ms)),
      p99Ms: median(ps.map((p) => p.latency.p99Ms)),
      errors: ps.reduce((a, p) => a + p.errors, 0),
    }
  }
  const via = phases.filter((p) => p.target === 'proxy')
  const cpuMs = via.reduce((a, p) => a + p.proxyCpuMs, 0)
  const reqs = via.reduce((a, p) => a + p.requests, 0)
  const bytes = via.reduce((a, p) => a + p.bytes, 0)
  const secs = via.reduce((a, p) => a + p.elapsedSec, 0)
  const d = side('direct')
  const x = side('proxy')
  return {
    scenario,
    direct: d,
    proxy: x,
    ratio: { requestsPerSec: x.requestsPerSec / d.requestsPerSec, p50: x.p50Ms / d.p50Ms, p99: x.p99Ms / d.p99Ms },
    proxyCpu: {
      perConnectionUs: scenario === 'new-conn' ? (cpuMs * 1000) / reqs : null,
      perRequestUs: (cpuMs * 1000) / reqs,
      perMiBMs: scenario === 'big' ? cpuMs / (bytes / MIB) : null,
      utilisation: cpuMs / (secs * 1000),
    },
  }
}

function printTable (rows: ScenarioSummary[], kind: string): void {
  const f = (n: number, d = 0): string => Number.isFinite(n) ? n.toFixed(d) : '-'
  const header = ['scenario', 'direct req/s', `via ${kind} req/s`, 'ratio', 'p50 ms d→v', 'p50 ×', 'p99 ms d→v', 'p99 ×', 'proxy CPU', 'proxy busy', 'errors d/v']
  const lines = rows.map((r) => [
    r.scenario,
    f(r.direct.requestsPerSec),
    f(r.proxy.requestsPerSec),
    f(r.ratio.requestsPerSec, 2),
    `${f(r.direct.p50Ms, 2)}→${f(r.proxy.p50Ms, 2)}`,
    f(r.ratio.p50, 2),
    `${f(r.direct.p99Ms, 2)}→${f(r.proxy.p99Ms, 2)}`,
    f(r.ratio.p99, 2),
    r.proxyCpu.perConnectionUs !== null
      ? `${f(r.proxyCpu.perConnectionUs, 1)} µs/conn`
      : r.proxyCpu.perMiBMs !== null ? `${f(r.proxyCpu.perMiBMs, 2)} ms/MiB` : `${f(r.proxyCpu.perRequestUs, 1)} µs/req`,
    `${f(r.proxyCpu.utilisation * 100)}%`,
    `${r.direct.errors}/${r.proxy.errors}`,
  ])
  const all = [header, ...lines]
  const w = header.map((_, i) => Math.max(...all.map((l) => (l[i] ?? '').length)))
  console.log('')
  for (const [i, l] of all.entries()) {
    console.log(l.map((c, j) => j === 0 ? c.padEnd(w[j] ?? 0) : c.padStart(w[j] ?? 0)).join('  '))
    if (i === 0) console.log(w.map((n) => '-'.repeat(n)).join('  '))
  }
  console.log('ratio = via proxy / direct (req/s: higher is better; latency: lower is better). proxy CPU = utime+stime of the proxy process tree (/proc) ÷ completed connections, requests or MiB.')
}

main().catch(async (err: unknown) => {
  process.stderr.write(`bench:load failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  await stopAll()
  process.exit(1)
})
