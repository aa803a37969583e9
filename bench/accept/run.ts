/**
 * `npm run bench:accept`: the accept-model study. `handoff` against `reuseport` at 1, 2 and N
 * workers: main-thread CPU per connection, balance across workers, scaling of connections/s.
 *
 * Usage: `node bench/accept/run.ts [--models handoff,reuseport] [--workers 1,2,N] [--clients K]
 *         [--concurrency C] [--duration 5] [--warmup 1] [--rounds 1] [--balance leastconn]
 *         [--proxy-cpus 0-7 --client-cpus 8-15 | --cpus-per-worker | --no-pin] [--hello chromium]
 *         [--impl dist|src] [--out DIR]`
 *
 * What one run measures (see report.ts for the exact definitions):
 * - The real proxy (`startProxy` from dist/, needs `npm run build`) in its own process
 *   (proxy-child.ts), one route to a plain-TCP origin. K load processes (client.ts) each keep C
 *   connections in flight: connect, send a captured ClientHello (test/fixtures/hello/*.bin, real
 *   bytes), read the origin's short reply relayed by the proxy, close. No TLS handshake, so the
 *   numbers are accept → hello → route → connect → relay → close, not crypto. Each load process also
 *   serves one shard of the origin port (SO_REUSEPORT), so the origin scales with the clients.
 * - Warmup, then a measured window bounded by two snapshots of the proxy's counters and CPU (main
 *   thread: `process.threadCpuUsage()`; whole process: `process.cpuUsage()`; /proc cross-checks)
 *   and of the clients' completed counts. Runs are interleaved round by round, the model order
 *   alternating, so slow drift of a shared machine spreads over both models.
 *
 * Placement: with taskset, the proxy gets the first half of this process's CPUs (the first one on
 * 2–3 CPUs), the load processes and this orchestrator the rest. N (the default largest worker count)
 * is the size of the proxy's CPU set. On a 2-CPU machine the proxy has ONE CPU: worker counts above 1
 * only add threads on it, conns/s cannot scale there, and the load side is a single CPU too; the
 * per-connection CPU and balance columns still compare the models. The output says so.
 *
 * Scaling (`--cpus-per-worker`): each run pins the proxy to as many CPUs as it has workers (the first
 * W of this process's CPUs) and moves the load processes to the rest, so conns/s per worker is the
 * figure of one worker on one core, and the efficiency at W workers is conns/s(W) ÷ (W × conns/s(1)).
 * Where fewer than MIN_LOAD_CPUS CPUs would be left for the load (16 workers on 16 CPUs), the proxy
 * and the load share every CPU and the row says so: its throughput efficiency is then a lower bound,
 * and the CPU efficiency (proxy µs/conn at 1 worker ÷ at W) is the figure that still compares. Each
 * run also reads the kernel's listen-queue counters (TcpExt ListenOverflows/ListenDrops) before and
 * after its window: a non-zero delta means the accept queues overflowed.
 *
 * Output: env header (cores, CPU model, Node, load average), one line per run, a table per run and a
 * median summary, JSON at bench/results/accept-<timestamp>.json and accept-latest.json (or --out DIR).
 *
 * Limits: default run ≈ 4 runs × 7 s on 2 CPUs (< 1 min); every child is stopped by pid, also on
 * SIGINT/SIGTERM. 127.0.0.1 only. Ports come from the kernel (port 0) except the origin's, which
 * is picked free a moment before the load processes bind it.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { envHeader, formatEnvHeader } from '../lib/env.ts'
import { freePort, hasTaskset, sleep } from '../lib/children.ts'
import { cpuSetTimesMs, cpuTimeMs, sysTimeMs, threadCpuTimeMs } from '../lib/proc.ts'
import { REPO_ROOT, timestamp, writeResults } from '../lib/results.ts'
import { threadTimes } from './threads.ts'
import { ask, installIpcCleanup, nextMessage, send, spawnIpc, stopIpc, type IpcChild } from './ipc.ts'
import type { ClientDrained, ClientReady, ClientSnapReply, ProxyReady, ProxyStatsReply } from './protocol.ts'
import {
  ACCEPT_MODELS, comparisons, computeRow, diffCounts, runTable, scaling, scalingTable, summarize, summaryTable,
  type AcceptModelName, type RunRow, type Snapshot,
} from './report.ts'

/** RLIMIT_NOFILE for the proxy and load processes: 2 fds per proxied connection plus TIME_WAIT churn headroom. */
const NOFILE = 65_536
/** Wait for the proxy to start its workers (Node worker startup is ~50 ms each; slow on a loaded machine). */
const PROXY_READY_MS = 30_000
/** Wait for the load processes to drain after stop-load: client.ts gives up at 5 s itself. */
const DRAIN_WAIT_MS = 10_000
/** Worker counts above this are refused: config's own LIMITS.workersMax is larger, but no study needs more. */
const MAX_WORKERS = 256
/** Default in-flight connections per load process: enough to keep 8 workers busy with 8 load processes. */
const DEFAULT_CONCURRENCY = 32
/** Load processes are capped here by default: more only adds context switches on the load CPUs. */
const MAX_DEFAULT_CLIENTS = 8
/** --cpus-per-worker: fewer CPUs than this left for the load and it shares the proxy's instead */
const MIN_LOAD_CPUS = 2

const HERE = path.join(REPO_ROOT, 'bench', 'accept')
const HELLO_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'hello')

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: ACCEPT_MODELS.join(',') },
    workers: { type: 'string', default: '1,2,N' },
    clients: { type: 'string' },
    concurrency: { type: 'string', default: String(DEFAULT_CONCURRENCY) },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '1' },
    balance: { type: 'string', default: 'leastconn' },
    'proxy-cpus': { type: 'string' },
    'client-cpus': { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    'cpus-per-worker': { type: 'boolean', default: false },
    hello: { type: 'string', default: 'chromium' },
    impl: { type: 'string', default: 'dist' },
    // V8/Node flags for the proxy process (space-separated), for GC A/Bs: --proxy-node-args='--max-semi-space-size=64'
    'proxy-node-args': { type: 'string', default: '' },
    out: { type: 'string' },
    'keep-tmp': { type: 'boolean', default: false },
  },
})
/** --proxy-node-args split on spaces (no quoting: V8 flags have none) */
const PROXY_NODE_ARGS: readonly string[] = values['proxy-node-args'].split(' ').filter((a) => a !== '')

function fail (msg: string): never {
  process.stderr.write(`bench:accept: ${msg}\n`)
  process.exit(2)
}

// ---- CPU placement ------------------------------------------------------------------------------

/** `0-3,6` → [0,1,2,3,6] (taskset/cpuset list syntax). */
function parseCpuList (s: string): number[] {
  const out: number[] = []
  for (const part of s.split(',').map((p) => p.trim()).filter((p) => p.length > 0)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part)
    if (m === null) fail(`bad CPU list '${s}'`)
    const lo = Number(m[1])
    const hi = m[2] === undefined ? lo : Number(m[2])
    for (let c = lo; c <= hi; c++) out.push(c)
  }
  return out
}

/** Compact list form for taskset: [0,1,2,3,6] → `0-3,6`. */
function formatCpuList (cpus: readonly number[]): string {
  const parts: string[] = []
  let i = 0
  while (i < cpus.length) {
    const lo = cpus[i] ?? 0
    let hi = lo
    while (cpus[i + 1] === hi + 1) { hi++; i++ }
    parts.push(lo === hi ? String(lo) : `${lo}-${hi}`)
    i++
  }
  return parts.join(',')
}

/** CPUs this process may run on (Cpus_allowed_list), falling back to 0..availableParallelism-1. */
function allowedCpus (): number[] {
  try {
    const m = /^Cpus_allowed_list:\s+(\S+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))
    if (m?.[1] !== undefined) return parseCpuList(m[1])
  } catch { /* not Linux */ }
  return Array.from({ length: os.availableParallelism() }, (_, i) => i)
}

interface Placement {
  pinned: boolean
  proxyCpus: number[]
  clientCpus: number[]
  description: string
  /** --cpus-per-worker: proxyCpus/clientCpus are the whole set; each run takes its share (runPlacement) */
  perWorker: boolean
}

interface RunCpus {
  proxy: number[]
  load: number[]
  /** proxy and load processes on the same CPUs */
  shared: boolean
}

/** The CPUs one run uses: the placement's, or with --cpus-per-worker one CPU per worker. */
function runPlacement (place: Placement, workers: number): RunCpus {
  if (!place.perWorker) return { proxy: place.proxyCpus, load: place.clientCpus, shared: !place.pinned }
  const all = place.proxyCpus
  const proxy = all.slice(0, Math.min(workers, all.length))
  const rest = all.slice(proxy.length)
  if (rest.length >= MIN_LOAD_CPUS) return { proxy, load: rest, shared: false }
  return { proxy, load: all, shared: true }
}

function placement (): Placement {
  const allowed = allowedCpus()
  if (values['no-pin'] || !hasTaskset() || allowed.length < 2) {
    const why = values['no-pin'] ? '--no-pin' : !hasTaskset() ? 'taskset not found' : 'only 1 CPU'
    return { pinned: false, proxyCpus: allowed, clientCpus: allowed, description: `not pinned (${why}): proxy and load share ${allowed.length} CPUs`, perWorker: false }
  }
  if (values['cpus-per-worker']) {
    if (values['proxy-cpus'] !== undefined || values['client-cpus'] !== undefined) fail('--cpus-per-worker picks the CPUs itself: no --proxy-cpus/--client-cpus')
    return {
      pinned: true,
      proxyCpus: allowed,
      clientCpus: allowed,
      perWorker: true,
      description: `taskset, one CPU per worker: proxy on CPUs ${formatCpuList(allowed)}[0..W), load processes on the rest (all ${allowed.length} shared when fewer than ${MIN_LOAD_CPUS} are left)`,
    }
  }
  let proxyCpus: number[]
  let clientCpus: number[]
  if (values['proxy-cpus'] !== undefined || values['client-cpus'] !== undefined) {
    if (values['proxy-cpus'] === undefined || values['client-cpus'] === undefined) fail('give both --proxy-cpus and --client-cpus')
    proxyCpus = parseCpuList(values['proxy-cpus'])
    clientCpus = parseCpuList(values['client-cpus'])
  } else {
    const half = allowed.length >= 4 ? Math.floor(allowed.length / 2) : 1
    proxyCpus = allowed.slice(0, half)
    clientCpus = allowed.slice(half)
  }
  return {
    pinned: true,
    proxyCpus,
    clientCpus,
    perWorker: false,
    description: `taskset: proxy on CPUs ${formatCpuList(proxyCpus)} (${proxyCpus.length}); load processes + orchestrator on CPUs ${formatCpuList(clientCpus)} (${clientCpus.length})`,
  }
}

/** Pin every thread of a running process to a CPU list; false when not possible. */
function pinProcess (pid: number, cpus: readonly number[]): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', formatCpuList(cpus), String(pid)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

function pinSelf (cpus: readonly number[]): boolean {
  return pinProcess(process.pid, cpus)
}

/**
 * The kernel's listen-queue counters (/proc/net/netstat TcpExt): ListenOverflows counts SYNs or
 * completed handshakes dropped because an accept queue was full, ListenDrops every drop at listen.
 * Host-wide (every listener), so read them around a window where only this study listens.
 */
function listenCounters (): { overflows: number, drops: number } {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n')
    const i = lines.findIndex((l) => l.startsWith('TcpExt:'))
    const names = lines[i]?.split(' ') ?? []
    const vals = lines[i + 1]?.split(' ') ?? []
    return { overflows: Number(vals[names.indexOf('ListenOverflows')] ?? 0), drops: Number(vals[names.indexOf('ListenDrops')] ?? 0) }
  } catch {
    return { overflows: 0, drops: 0 }
  }
}

// ---- hello bytes --------------------------------------------------------------------------------

interface HelloChoice { file: string, sni: string, bytes: number }

/** A captured ClientHello from test/fixtures/hello (manifest.json gives its SNI). */
function chooseHello (name: string): HelloChoice {
  const manifest = JSON.parse(readFileSync(path.join(HELLO_DIR, 'manifest.json'), 'utf8')) as Array<{ file: string, sni: string | null, wireBytes: number }>
  const entry = manifest.find((e) => e.file === name || e.file === `${name}.bin`)
  if (entry === undefined || entry.sni === null) fail(`--hello ${name}: no fixture with an SNI by that name in ${HELLO_DIR}/manifest.json`)
  return { file: path.join(HELLO_DIR, entry.file), sni: entry.sni, bytes: entry.wireBytes }
}

// ---- one run ------------------------------------------------------------------------------------

interface Rig {
  clients: IpcChild[]
  originPort: number
  hello: HelloChoice
  tmp: string
  place: Placement
  inflight: number
}

async function snapClients (rig: Rig): Promise<ClientSnapReply[]> {
  return await Promise.all(rig.clients.map((c) => ask<ClientSnapReply>(c, { type: 'snap' }, 'snap')))
}

async function snapshot (rig: Rig, proxy: IpcChild, proxyCpus: readonly number[]): Promise<Snapshot> {
  const t0 = performance.now()
  const [stats, clients] = await Promise.all([
    ask<ProxyStatsReply>(proxy, { type: 'stats' }, 'stats'),
    snapClients(rig),
  ])
  const t1 = performance.now()
  return {
    atMs: (t0 + t1) / 2,
    mainCpuUs: stats.mainCpuUs,
    processCpuUs: stats.processCpuUs,
    procStatMs: cpuTimeMs(proxy.pid),
    mainStatMs: threadCpuTimeMs(proxy.pid, proxy.pid),
    sysStatMs: sysTimeMs(proxy.pid),
    proxyCpuSoftirqMs: cpuSetTimesMs(proxyCpus).softirq,
    threads: threadTimes(proxy.pid),
    accepted: stats.stats.accepted,
    completed: clients.reduce((t, c) => t + c.completed, 0),
    latencyMsSum: clients.reduce((t, c) => t + c.latencyMsSum, 0),
    loadCpuMs: rig.clients.reduce((t, c) => t + cpuTimeMs(c.pid), 0),
  }
}

function sumErrors (snaps: ReadonlyArray<{ errors: Record<string, number> }>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const s of snaps) for (const [k, v] of Object.entries(s.errors)) out[k] = (out[k] ?? 0) + v
  return out
}

async function oneRun (rig: Rig, model: AcceptModelName, workers: number, round: number, warmupSec: number, durationSec: number): Promise<RunRow> {
  const loadAverage1m = os.loadavg()[0] ?? 0
  const cpus = runPlacement(rig.place, workers)
  if (rig.place.perWorker) for (const c of rig.clients) pinProcess(c.pid, cpus.load)
  const proxy = spawnIpc(`proxy-${model}-${workers}`, path.join(HERE, 'proxy-child.ts'), [
    '--accept', model, '--workers', String(workers), '--origin-port', String(rig.originPort),
    '--sni', rig.hello.sni, '--balance', values.balance, '--impl', values.impl,
  ], {
    cpus: rig.place.pinned ? formatCpuList(cpus.proxy) : undefined,
    nofile: NOFILE,
    log: path.join(rig.tmp, `proxy-${model}-${workers}-${round}.log`),
    nodeArgs: PROXY_NODE_ARGS,
  })
  try {
    const ready = await nextMessage<ProxyReady>(proxy, 'ready', PROXY_READY_MS)
    const base = await snapClients(rig)
    for (const c of rig.clients) send(c, { type: 'start', port: ready.port })
    await sleep(warmupSec * 1000)
    const a = await snapshot(rig, proxy, cpus.proxy)
    const listenA = listenCounters()
    await sleep(durationSec * 1000)
    const b = await snapshot(rig, proxy, cpus.proxy)
    const listenB = listenCounters()
    for (const c of rig.clients) send(c, { type: 'stop-load' })
    const drained = await Promise.all(rig.clients.map((c) => nextMessage<ClientDrained>(c, 'drained', DRAIN_WAIT_MS)))
    const final = await ask<ProxyStatsReply>(proxy, { type: 'stats' }, 'stats')
    const nonOk = { ...final.stats.outcomes }
    delete nonOk.ok
    for (const k of Object.keys(nonOk)) if (nonOk[k] === 0) delete nonOk[k]
    const clientErrors = diffCounts(sumErrors(drained), sumErrors(base))
    const leftOpen = drained.reduce((t, d) => t + d.leftOpen, 0)
    const row = computeRow({ model, workers, round, pid: proxy.pid, proxyCpus: cpus.proxy.length, loadCpus: cpus.load.length, a, b, clientErrors, proxyNonOk: nonOk, loadAverage1m, sharedCpus: cpus.shared }, rig.inflight)
    row.proxyCpuList = formatCpuList(cpus.proxy)
    row.listenOverflows = listenB.overflows - listenA.overflows
    row.listenDrops = listenB.drops - listenA.drops
    if (row.listenOverflows > 0) row.warnings.push(`${row.listenOverflows} listen-queue overflows in the window`)
    if (leftOpen > 0) row.warnings.push(`${leftOpen} connections still open after the drain bound`)
    if (final.stats.restarts > 0) row.warnings.push(`${final.stats.restarts} worker restarts`)
    return row
  } finally {
    await stopIpc(proxy, { type: 'stop' })
  }
}

// ---- main ---------------------------------------------------------------------------------------

async function main (): Promise<void> {
  installIpcCleanup()
  const place = placement()
  const proxyN = place.proxyCpus.length
  const models = values.models.split(',').map((m) => m.trim()).filter((m) => m.length > 0)
  for (const m of models) if (!(ACCEPT_MODELS as readonly string[]).includes(m)) fail(`unknown model '${m}' (expected ${ACCEPT_MODELS.join(', ')})`)
  const workerCounts = [...new Set(values.workers.split(',').map((w) => w.trim() === 'N' ? proxyN : Number(w)))].sort((x, y) => x - y)
  for (const w of workerCounts) if (!Number.isInteger(w) || w < 1 || w > MAX_WORKERS) fail(`bad worker count ${w}`)
  const clientCount = values.clients === undefined ? Math.min(MAX_DEFAULT_CLIENTS, Math.max(1, place.clientCpus.length)) : Number(values.clients)
  const concurrency = Number(values.concurrency)
  const durationSec = Number(values.duration)
  const warmupSec = Number(values.warmup)
  const rounds = Math.max(1, Number(values.rounds))
  if (!(clientCount >= 1 && concurrency >= 1 && durationSec > 0 && warmupSec >= 0)) fail('bad --clients/--concurrency/--duration/--warmup')
  const hello = chooseHello(values.hello)

  if (place.pinned) pinSelf(place.clientCpus)
  const env = envHeader(place.description)
  console.log(formatEnvHeader(env))
  console.log(`# proxy CPUs: ${proxyN} (N), models: ${models.join(', ')}, workers: ${workerCounts.join(', ')}, balance (handoff): ${values.balance}`)
  console.log(`# load: ${clientCount} processes × ${concurrency} in flight, hello ${path.basename(hello.file)} (${hello.bytes} B, SNI ${hello.sni}), warmup ${warmupSec} s, window ${durationSec} s, rounds ${rounds}, proxy from ${values.impl}/`)
  const notes: string[] = []
  if (place.pinned && proxyN < 2) notes.push(`the proxy has ${proxyN} CPU: worker counts above 1 share it, so conns/s cannot show scaling here; compare per-connection CPU and balance, and rerun on a machine with ≥ 8 CPUs for scaling (bench/accept/device.sh)`)
  if (place.perWorker && workerCounts.some((w) => runPlacement(place, w).shared)) notes.push(`with ${workerCounts.filter((w) => runPlacement(place, w).shared).join(', ')} workers the proxy and the load share all ${place.proxyCpus.length} CPUs: throughput efficiency there is a lower bound, compare the CPU efficiency`)
  if (place.pinned && !place.perWorker && place.clientCpus.length < proxyN) notes.push('fewer load CPUs than proxy CPUs: the load side may be the bottleneck at the highest worker count (watch "proxy CPUs" < the proxy\'s CPU count)')
  if (!place.pinned) notes.push('not pinned: proxy, load and orchestrator compete for the same CPUs; conns/s is a lower bound')
  if (env.loadAverage1m > 0.5 * env.cores) notes.push(`machine busy before the start (load average ${env.loadAverage1m.toFixed(2)} on ${env.cores} CPUs): numbers are noisy; rerun on a quiet machine before quoting`)
  for (const n of notes) console.log(`# NOTE: ${n}`)

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'hg-accept-'))
  const originPort = await freePort()
  const clients: IpcChild[] = []
  for (let i = 0; i < clientCount; i++) {
    clients.push(spawnIpc(`client-${i}`, path.join(HERE, 'client.ts'), [
      '--origin-port', String(originPort), '--hello', hello.file, '--concurrency', String(concurrency),
    ], {
      cpus: place.pinned ? formatCpuList(place.clientCpus) : undefined,
      nofile: NOFILE,
      log: path.join(tmp, `client-${i}.log`),
    }))
  }
  const rig: Rig = { clients, originPort, hello, tmp, place, inflight: clientCount * concurrency }
  const rows: RunRow[] = []
  const started = performance.now()
  try {
    await Promise.all(clients.map((c) => nextMessage<ClientReady>(c, 'ready')))
    for (let round = 1; round <= rounds; round++) {
      for (const workers of workerCounts) {
        // alternate the model order each round (ABBA) so drift does not favour one model
        const order = round % 2 === 1 ? models : [...models].reverse()
        for (const model of order as AcceptModelName[]) {
          const row = await oneRun(rig, model, workers, round, warmupSec, durationSec)
          rows.push(row)
          console.log(`${model.padEnd(9)} workers=${String(workers).padEnd(3)} round=${round}  ${row.connsPerSec.toFixed(0).padStart(7)} conns/s  main ${row.mainCpuUsPerConn.toFixed(1).padStart(6)} µs/conn  proxy ${row.processCpuUsPerConn.toFixed(1).padStart(6)} µs/conn  max dev ${row.balanceMaxDevPct.toFixed(1)} %  errors ${row.errorsTotal}  limited by: ${row.limitedBy}${row.warnings.length > 0 ? '  WARN: ' + row.warnings.join('; ') : ''}`)
        }
      }
    }
  } finally {
    for (const c of clients) await stopIpc(c, { type: 'exit' })
    if (!values['keep-tmp']) rmSync(tmp, { recursive: true, force: true })
    else console.log(`# logs kept in ${tmp}`)
  }

  const summary = summarize(rows)
  const cmp = comparisons(summary)
  console.log('\n## runs\n' + runTable(rows))
  console.log('\n## median per model × workers\n' + summaryTable(summary))
  const scale = scaling(summary, rows)
  console.log('\n## scaling (per worker, efficiency against linear from 1 worker)\n' + scalingTable(scale))
  for (const s of scale.filter((x) => x.workers === Math.max(...workerCounts) && x.workers > 1)) {
    console.log(`# ${s.model} at ${s.workers} workers: ${(s.efficiency * 100).toFixed(0)} % of linear conns/s, CPU efficiency ${(s.cpuEfficiency * 100).toFixed(0)} %${s.sharedCpus ? ' (proxy and load shared the CPUs)' : ''}; limited by ${s.limitedBy}${s.listenOverflows > 0 ? `; ${s.listenOverflows} listen-queue overflows` : ''}`)
  }
  for (const c of cmp) {
    console.log(`# workers=${c.workers}: reuseport/handoff conns/s ${c.connsRatio.toFixed(2)}x, proxy CPU per conn ${c.processCpuRatio.toFixed(2)}x; handoff main thread ${c.handoffMainUs.toFixed(1)} µs/conn`)
  }
  const loadAverageEnd = os.loadavg()[0] ?? 0
  console.log(`# load average at the end: ${loadAverageEnd.toFixed(2)}; total ${((performance.now() - started) / 1000).toFixed(0)} s`)

  const data = {
    kind: 'accept',
    env,
    loadAverageEnd,
    notes,
    options: {
      models,
      workers: workerCounts,
      clients: clientCount,
      concurrency,
      inflight: rig.inflight,
      durationSec,
      warmupSec,
      rounds,
      balance: values.balance,
      hello: path.relative(REPO_ROOT, hello.file),
      helloBytes: hello.bytes,
      impl: values.impl,
      proxyNodeArgs: PROXY_NODE_ARGS,
      proxyCpus: formatCpuList(place.proxyCpus),
      clientCpus: formatCpuList(place.clientCpus),
      pinned: place.pinned,
      cpusPerWorker: place.perWorker,
    },
    summary,
    scaling: scale,
    comparisons: cmp,
    runs: rows,
  }
  if (values.out !== undefined) {
    mkdirSync(values.out, { recursive: true })
    const json = JSON.stringify(data, null, 2) + '\n'
    const archive = path.join(values.out, `accept-${timestamp()}.json`)
    writeFileSync(archive, json)
    writeFileSync(path.join(values.out, 'accept-latest.json'), json)
    console.log(`# wrote ${archive} and accept-latest.json`)
  } else {
    const { archive, latest } = writeResults('accept', data)
    console.log(`# wrote ${path.relative(REPO_ROOT, archive)} and ${path.relative(REPO_ROOT, latest)}`)
  }
}

main().then(() => { process.exit(0) }, (err: unknown) => {
  process.stderr.write(`bench:accept: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
