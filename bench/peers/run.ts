/**
 * `npm run bench:peers`: hellogate vs HAProxy, nginx stream, sniproxy and the minimal Node proxy,
 * same route, same origin, same load, same CPU.
 *
 * Usage: `node bench/peers/run.ts [--peers haproxy,nginx,sniproxy] [--proxies hellogate,standin]
 *         [--rounds 5] [--idle 10000] [--duration 5] [--warmup 1] [--big-connections 4]
 *         [--churn-concurrency 8] [--idle-concurrency 64] [--no-install] [--no-pin] [--keep-tmp]`
 *
 * `--proxies` also takes hellogate variants, each its own row: `hellogate-log` (the access log on, the
 * shipped default), `hellogate-pool` (the route names an explicit one-server upstream: the A/B against
 * the short form's single origin), `hellogate-pp2` (the upstream writes a PROXY v2 header to an HAProxy
 * `accept-proxy` front of the origin, which refuses the connection without a valid header), `hellogate-js`
 * (HELLOGATE_RELAY=js: the JavaScript data-phase relay; plain `hellogate` runs the native splice relay
 * where `npm run build` compiled it, and its log says which), `hellogate-nodedial` (HELLOGATE_ORIGIN_DIAL=js:
 * Node opens the origin connection, as before the addon dialed IP origins itself), `hellogate-nodeintake`
 * (HELLOGATE_INTAKE=js: every client is a Node socket that reads the hello, as before the addon read it).
 *
 * Every target is started once, pinned with taskset to the same CPU (one worker/thread/process). The
 * two CPU phases run in `--rounds` interleaved rounds (round r visits the targets in order, the next
 * round in reverse), one target loaded at a time, so drift on a shared machine falls on all of them;
 * each metric is the median over rounds, and `× HAProxy` is the median of the per-round ratios to
 * HAProxy's figure in the same round. The latency probes and the idle phase then run once per target,
 * which is stopped by pid afterwards. Per target:
 * - CPU-µs per new TLS connection: `new-conn` churn load; proxy utime+stime (process tree, all
 *   threads, /proc) ÷ completed connections. The handshake itself is client+origin work; this is
 *   the proxy's accept → hello → route → connect → relay-the-handshake → close cost.
 * - CPU-ns per KiB relayed: `big` (1 MiB bodies, keep-alive); proxy CPU ÷ response KiB.
 * - RSS per idle established connection: open N TLS connections through it (handshake complete,
 *   so both legs exist), wait IDLE_SETTLE_MS, (RSS after − RSS before) ÷ N.
 * - p99 added latency vs direct: unsaturated probes (one request in flight: one keep-alive
 *   connection doing GET /, and one new-TLS-connection-per-request loop), each run straight at the
 *   origin immediately before the same run through the proxy; added = p99(via) − p99(direct). A
 *   saturated load would measure queueing on the shared load/origin CPU instead of the extra hop.
 * The `direct` row shows the median of those paired direct p99s.
 *
 * Output: env header with peer versions, progress lines, a table, bench/results/peers-latest.json
 * (+ timestamped copy) and bench/results/peers-latest.svg (bars normalised to HAProxy = 1.0).
 *
 * Limits: N idle connections need 2N+ fds in the proxy; without CAP_SYS_RESOURCE the hard
 * RLIMIT_NOFILE caps N (it is lowered and the output says so). Durations are short by default
 * (2 CPUs); a full default run is a few minutes, dominated by N idle handshakes per target.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { envHeader, formatEnvHeader } from '../lib/env.ts'
import { isAlive, treeCpuTimeMs, treeRssKiB, processTree } from '../lib/proc.ts'
import { achievableNofile, hasTaskset, installCleanup, logTail, pinPid, planCpus, raiseNofile, sleep, stopAll, stopChild } from '../lib/children.ts'
import { BENCH_SNI, resolveProxy, startNodeProxy, startOrigin, type GcReading, type RouteShape, type Running } from '../lib/targets.ts'
import { runScenario, smoke, type LoadShape, type PhaseResult, type Scenario } from '../lib/phases.ts'
import type { LatencySummary } from '../lib/stats.ts'
import { closeIdle, openIdle } from '../lib/tls-churn.ts'
import { writeResultFile, writeResults } from '../lib/results.ts'
import { ensureInstalled, PEER_NAMES, PEERS, startProxyProtocolFront, type PeerName } from './peers.ts'
import { renderChart } from './chart.ts'

/** fds we want for every process; capped by what the container allows (see achievableNofile). */
const WANTED_NOFILE = 1_048_576
/** fds each process keeps for itself beyond the connections (listeners, logs, pipes, epoll…). */
const FD_HEADROOM = 200
/** After a forced GC, before reading RSS: V8 unmaps freed pages shortly after the collection, not inside it. */
const GC_SETTLE_MS = 1_000
/** After the last idle handshake, let the proxy finish connect/relay bookkeeping before reading RSS. */
const IDLE_SETTLE_MS = 1_500
/** Between phases, let closed connections drain so one phase's teardown is not billed to the next. */
const DRAIN_MS = 500
const KIB = 1024
const REFERENCE = 'haproxy'
/** the Node rows `--proxies` takes: hellogate, its variants, and the stand-in */
const NODE_TARGETS = ['hellogate', 'hellogate-log', 'hellogate-pool', 'hellogate-pp2', 'hellogate-js', 'hellogate-nodedial', 'hellogate-nodeintake', 'standin'] as const
type NodeTarget = typeof NODE_TARGETS[number]
const NODE_VARIANTS: Record<NodeTarget, { accessLog: boolean, shape: RouteShape, note: string, relay?: 'js', originDial?: 'js', intake?: 'js' }> = {
  hellogate: { accessLog: false, shape: 'single', note: '' },
  'hellogate-log': { accessLog: true, shape: 'single', note: '; access log on as shipped (log: { level: info, access: true }), lines to a file' },
  'hellogate-pool': { accessLog: false, shape: 'pool', note: '; route → explicit one-server upstream (leastconn, tcp health check)' },
  'hellogate-pp2': { accessLog: false, shape: 'pp2', note: '; upstream proxyProtocol: v2 → HAProxy accept-proxy → origin' },
  'hellogate-js': { accessLog: false, shape: 'single', note: '; HELLOGATE_RELAY=js: the JavaScript relay, the A/B against the native splice relay', relay: 'js' },
  'hellogate-nodedial': { accessLog: false, shape: 'single', note: '; HELLOGATE_ORIGIN_DIAL=js: Node opens the origin connection (splice after 16 KiB), the A/B against the addon dialing it', originDial: 'js' },
  'hellogate-nodeintake': { accessLog: false, shape: 'single', note: '; HELLOGATE_INTAKE=js: the client is a Node socket that reads the hello, the A/B against the addon reading it', intake: 'js' },
  standin: { accessLog: false, shape: 'single', note: '' },
}
/** Latency probes run unsaturated (one request in flight) so p99 shows the hop, not queueing on the load CPU. */
const LATENCY_SHAPE: LoadShape = { connections: 1, bigConnections: 1, churnConcurrency: 1 }
const LATENCY_PROBES = { keepAlive: 'small', newConnection: 'new-conn' } as const
type LatencyProbe = keyof typeof LATENCY_PROBES

const { values } = parseArgs({
  options: {
    peers: { type: 'string', default: PEER_NAMES.join(',') },
    proxies: { type: 'string', default: 'hellogate,standin' },
    rounds: { type: 'string', default: '5' },
    idle: { type: 'string', default: '10000' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    'big-connections': { type: 'string', default: '4' },
    'churn-concurrency': { type: 'string', default: '8' },
    'idle-concurrency': { type: 'string', default: '64' },
    'no-install': { type: 'boolean', default: false },
    'no-pin': { type: 'boolean', default: false },
    'keep-tmp': { type: 'boolean', default: false },
  },
})

interface Row {
  name: string
  kind: 'direct' | 'peer' | 'node'
  version: string
  status: 'ok' | 'skipped' | 'failed'
  note?: string
  /** the median round of each CPU phase (by CPU per unit) */
  phases: Partial<Record<Scenario, PhaseResult & { proxyCpuMs: number }>>
  /** every round of each CPU phase */
  rounds: Partial<Record<Scenario, Array<PhaseResult & { proxyCpuMs: number, round: number, loadAvg: number }>>>
  /** Paired latency probes: one request in flight, direct run immediately before the via run. */
  latency?: Record<LatencyProbe, { direct: LatencySummary, via: LatencySummary }>
  /**
   * rssBefore/AfterKiB: read after POST /debug/gc where the proxy offers it (`collected`: hellogate, every
   * thread's heap collected first), else as is; rssAfterUncollectedKiB: the after reading before that GC
   */
  idle?: { requested: number, opened: number, errors: number, rssBeforeKiB: number, rssAfterKiB: number, stillOpen: number, handshakeSec: number, collected: boolean, rssAfterUncollectedKiB: number, heapBeforeBytes: number | null, heapAfterBytes: number | null, mallocBeforeBytes: number | null, mallocAfterBytes: number | null }
  metrics: {
    /** median over rounds */
    cpuUsPerConnection: number | null
    /** median of the per-round ratios to HAProxy's figure in the same round */
    cpuPerConnectionVsRef: number | null
    cpuPerKiBVsRef: number | null
    cpuNsPerKiB: number | null
    rssKiBPerIdleConnection: number | null
    /** hellogate: the same from the after reading taken before its forced GC (what the figure was before POST /debug/gc) */
    rssKiBPerIdleConnectionUncollected: number | null
    /** hellogate: live V8 heap bytes per idle connection, every thread collected before both readings (native memory not included) */
    heapKiBPerIdleConnection: number | null
    /** hellogate: bytes malloc holds per idle connection (libuv handles, socket wraps: glibc mallinfo2 through the native addon), after the same GCs */
    nativeKiBPerIdleConnection: number | null
    p99AddedMsKeepAlive: number | null
    p99AddedMsNewConnection: number | null
    p99MsKeepAlive: number | null
    p99MsNewConnection: number | null
  }
}

const emptyMetrics = (): Row['metrics'] => ({
  cpuUsPerConnection: null, cpuPerConnectionVsRef: null, cpuPerKiBVsRef: null, cpuNsPerKiB: null, rssKiBPerIdleConnection: null, rssKiBPerIdleConnectionUncollected: null, heapKiBPerIdleConnection: null, nativeKiBPerIdleConnection: null, p99AddedMsKeepAlive: null, p99AddedMsNewConnection: null, p99MsKeepAlive: null, p99MsNewConnection: null,
})

async function main (): Promise<void> {
  installCleanup()
  const t0 = Date.now()
  const { pin, proxyCpu, loadCpu } = planCpus(values['no-pin'] === true, false)
  const pinning = pin
    ? `taskset: every proxy (one at a time) on CPU ${String(proxyCpu)}; origin + load generator (this process) on CPU ${String(loadCpu)}`
    : `not pinned (${values['no-pin'] ? '--no-pin' : hasTaskset() ? 'fewer than 2 CPUs' : 'taskset not found'})`
  if (pin && loadCpu !== undefined) pinPid(process.pid, loadCpu)

  const nofile = achievableNofile(WANTED_NOFILE)
  raiseNofile(process.pid, nofile)
  const idleWanted = Number(values.idle)
  const idleMax = Math.floor((nofile - FD_HEADROOM) / 2) // the proxy holds two fds per connection
  const idleN = Math.max(0, Math.min(idleWanted, idleMax))
  const idleNote = idleN < idleWanted ? `--idle ${idleWanted} lowered to ${idleN}: RLIMIT_NOFILE hard limit is ${nofile} and cannot be raised here (no CAP_SYS_RESOURCE); each proxied connection costs the proxy 2 fds` : undefined

  const wantedPeers = values.peers.split(',').map((s) => s.trim()).filter((s): s is PeerName => (PEER_NAMES as readonly string[]).includes(s))
  const installNotes = ensureInstalled(wantedPeers.map((n) => PEERS[n]), !values['no-install'])
  const wantedNode = values.proxies.split(',').map((s) => s.trim()).filter((s): s is NodeTarget => (NODE_TARGETS as readonly string[]).includes(s))
  const rounds = Math.max(1, Number(values.rounds))

  const env = envHeader(pinning)
  console.log(formatEnvHeader(env))
  for (const n of installNotes) console.log(`# ${n}`)
  if (idleNote !== undefined) console.log(`# NOTE: ${idleNote}`)
  console.log(`# load: ${rounds} interleaved rounds of ${values.duration} s per CPU phase after ${values.warmup} s warmup; idle connections: ${idleN}; RLIMIT_NOFILE for children: ${nofile}`)

  const dir = mkdtempSync(path.join(os.tmpdir(), 'hellogate-bench-peers-'))
  const origin = await startOrigin({ cpu: loadCpu, nofile, dir })
  await smoke(origin.port, 'direct', origin.child)
  console.log(`# origin pid ${origin.child.pid} :${origin.port}; configs and logs in ${dir}`)

  const shape = { connections: 1, bigConnections: Number(values['big-connections']), churnConcurrency: Number(values['churn-concurrency']) }
  const durationSec = Number(values.duration)
  const warmupSec = Number(values.warmup)
  const rows: Row[] = []

  const direct: Row = { name: 'direct', kind: 'direct', version: `node ${process.version} https origin`, status: 'ok', phases: {}, rounds: {}, metrics: emptyMetrics() }
  rows.push(direct)

  const targets: Array<{ name: string, kind: Row['kind'], version: () => string, start: () => Promise<Running>, skip?: string }> = []
  for (const name of wantedPeers) {
    const p = PEERS[name]
    const missing = p.missing()
    targets.push({
      name,
      kind: 'peer',
      version: () => p.version(),
      start: () => p.start({ dir, originPort: origin.port, cpu: proxyCpu, nofile, maxConn: idleMax }),
      ...(missing.length > 0 ? { skip: `not installed (missing: ${missing.join(', ')}; run as root without --no-install, or apt-get install -y ${p.packages.join(' ')})` } : {}),
    })
  }
  let ppFront: Running | undefined
  for (const name of wantedNode) {
    const base = name === 'standin' ? 'standin' : 'hellogate'
    const r = resolveProxy(base)
    const variant = NODE_VARIANTS[name]
    let skip = base === 'hellogate' && r.kind !== 'hellogate' ? `${r.note.split(' not found')[0] ?? 'dist/cli.js'} not found (npm run build, or HELLOGATE_CLI=src/cli.ts); the stand-in row is the Node baseline meanwhile` : undefined
    if (skip === undefined && variant.shape === 'pp2' && PEERS.haproxy.missing().length > 0) skip = 'needs haproxy as the PROXY v2 consumer in front of the origin (apt-get install -y haproxy)'
    targets.push({
      name,
      kind: 'node',
      version: () => r.note + variant.note,
      start: async () => {
        let upstreamPort = origin.port
        if (variant.shape === 'pp2') {
          ppFront ??= await startProxyProtocolFront({ dir, originPort: origin.port, cpu: loadCpu, nofile, maxConn: idleMax })
          upstreamPort = ppFront.port
        }
        return await startNodeProxy(r.kind, { originPort: upstreamPort, cpu: proxyCpu, nofile, dir, accessLog: variant.accessLog, shape: variant.shape, label: name, relay: variant.relay, originDial: variant.originDial, intake: variant.intake })
      },
      ...(skip !== undefined ? { skip } : {}),
    })
  }

  // start every target once; the CPU phases then run in interleaved rounds
  const live: Array<{ row: Row, running: Running }> = []
  for (const t of targets) {
    const row: Row = { name: t.name, kind: t.kind, version: t.skip !== undefined ? 'n/a' : t.version(), status: 'ok', phases: {}, rounds: {}, metrics: emptyMetrics() }
    rows.push(row)
    if (t.skip !== undefined) {
      row.status = 'skipped'
      row.note = t.skip
      console.log(`\n## ${t.name}: SKIPPED — ${t.skip}`)
      continue
    }
    console.log(`\n## ${t.name}: ${row.version}`)
    try {
      const running = await t.start()
      live.push({ row, running })
      await smoke(running.port, `via ${t.name}`, running.child)
      console.log(`   pid ${running.child.pid} (tree ${processTree(running.child.pid).join(',')}) :${running.port}`)
    } catch (err) {
      failRow(row, err)
    }
  }
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? live : [...live].reverse()
    console.log(`\n## round ${round}/${rounds} (load average ${os.loadavg()[0]!.toFixed(2)})`)
    for (const { row, running } of order) {
      if (row.status !== 'ok') continue
      const pid = running.child.pid
      try {
        for (const sc of ['new-conn', 'big'] as const) {
          if (warmupSec > 0) await runScenario(sc, running.port, warmupSec, `r${round} ${row.name} ${sc} (warmup)`, shape)
          await sleep(DRAIN_MS)
          const c0 = treeCpuTimeMs(pid)
          const r = await runScenario(sc, running.port, durationSec, `r${round} ${row.name} ${sc}`, shape)
          const proxyCpuMs = treeCpuTimeMs(pid) - c0
          ;(row.rounds[sc] ??= []).push({ ...r, proxyCpuMs, round, loadAvg: os.loadavg()[0]! })
          if (r.errors > 0) console.log(`   ${sc}: ${r.errors} errors (first: ${r.firstError ?? 'n/a'})`)
          if (!isAlive(pid)) throw new Error(`${row.name} (pid ${pid}) died during ${sc}; log ${running.child.log}:\n${logTail(running.child)}`)
        }
      } catch (err) {
        failRow(row, err)
      }
    }
  }
  for (const { row, running } of live) {
    try {
      if (row.status === 'ok') {
        console.log(`\n## ${row.name}: latency and idle memory`)
        row.latency = await latencyProbes(row.name, origin.port, running.port, durationSec, warmupSec)
        if (idleN > 0) row.idle = await idlePhase(running, idleN)
      }
    } catch (err) {
      failRow(row, err)
    } finally {
      await stopChild(running.child)
    }
  }
  for (const row of rows) if (row.status === 'ok' && row.kind !== 'direct') computeMetrics(row, rows.find((r) => r.name === REFERENCE && r.status === 'ok'))
  await stopAll()
  const elapsedSec = (Date.now() - t0) / 1000
  // The direct row shows the median of the paired direct baselines.
  const pairs = rows.flatMap((r) => r.latency === undefined ? [] : [r.latency])
  direct.metrics.p99MsKeepAlive = pairs.length > 0 ? median(pairs.map((l) => l.keepAlive.direct.p99Ms)) : null
  direct.metrics.p99MsNewConnection = pairs.length > 0 ? median(pairs.map((l) => l.newConnection.direct.p99Ms)) : null

  printTable(rows)
  const out = writeResults('peers', {
    env,
    options: { rounds, durationSec, warmupSec, idleConnections: idleN, idleRequested: idleWanted, idleNote, ...shape, nofile },
    installNotes,
    elapsedSec,
    reference: REFERENCE,
    rows,
  })
  const svg = writeResultFile('peers-latest.svg', chart(rows, env.cpuModel, env.gitSha, idleN))
  console.log(`\nwrote ${path.relative(process.cwd(), out.latest)}, ${path.relative(process.cwd(), out.archive)} and ${path.relative(process.cwd(), svg)} in ${elapsedSec.toFixed(0)} s`)
  if (!values['keep-tmp']) rmSync(dir, { recursive: true, force: true })
}

/** For each probe: warm up, run direct, then via the proxy, back to back (drift hits both alike). */
async function latencyProbes (name: string, directPort: number, viaPort: number, durationSec: number, warmupSec: number): Promise<NonNullable<Row['latency']>> {
  const out: Partial<NonNullable<Row['latency']>> = {}
  for (const [probe, sc] of Object.entries(LATENCY_PROBES) as Array<[LatencyProbe, Scenario]>) {
    if (warmupSec > 0) await runScenario(sc, viaPort, warmupSec, `${name} latency ${sc} (warmup)`, LATENCY_SHAPE)
    const d = await runScenario(sc, directPort, durationSec, `direct latency ${sc} (paired with ${name})`, LATENCY_SHAPE)
    await sleep(DRAIN_MS)
    const v = await runScenario(sc, viaPort, durationSec, `${name} latency ${sc}`, LATENCY_SHAPE)
    await sleep(DRAIN_MS)
    out[probe] = { direct: d.latency, via: v.latency }
  }
  return out as NonNullable<Row['latency']>
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2
}

async function idlePhase (running: Running, n: number): Promise<NonNullable<Row['idle']>> {
  await sleep(DRAIN_MS)
  const pid = running.child.pid
  const gcBefore = await collectAndSettle(running)
  const rssBeforeKiB = treeRssKiB(pid)
  let opened = 0
  const stop = progressIdle(n, () => opened)
  const r = await openIdle({ host: '127.0.0.1', port: running.port, servername: BENCH_SNI, count: n, concurrency: Number(values['idle-concurrency']) }, (k) => { opened = k })
  stop()
  await sleep(IDLE_SETTLE_MS)
  const rssAfterUncollectedKiB = treeRssKiB(pid)
  const gcAfter = await collectAndSettle(running)
  const heapBeforeBytes = gcBefore?.heapBytes ?? null
  const heapAfterBytes = gcAfter?.heapBytes ?? null
  const mallocBeforeBytes = gcBefore?.mallocBytes ?? null
  const mallocAfterBytes = gcAfter?.mallocBytes ?? null
  const rssAfterKiB = treeRssKiB(pid)
  const stillOpen = r.sockets.filter((s) => !s.destroyed).length
  await closeIdle(r.sockets)
  if (r.errors > 0) console.log(`   idle: ${r.errors} errors (first: ${r.firstError ?? 'n/a'})`)
  if (heapBeforeBytes !== null && heapAfterBytes !== null && r.opened > 0) {
    const native = mallocBeforeBytes !== null && mallocAfterBytes !== null ? `, ${((mallocAfterBytes - mallocBeforeBytes) / KIB / r.opened).toFixed(2)} KiB malloc'd` : ''
    console.log(`   idle: ${((heapAfterBytes - heapBeforeBytes) / KIB / r.opened).toFixed(2)} KiB of live V8 heap per connection (every thread collected)${native}, RSS ${((rssAfterKiB - rssBeforeKiB) / r.opened).toFixed(2)} KiB per connection (${((rssAfterUncollectedKiB - rssBeforeKiB) / r.opened).toFixed(2)} before the GC)`)
  }
  return { requested: n, opened: r.opened, errors: r.errors, rssBeforeKiB, rssAfterKiB, stillOpen, handshakeSec: r.elapsedMs / 1000, collected: heapBeforeBytes !== null && heapAfterBytes !== null, rssAfterUncollectedKiB, heapBeforeBytes, heapAfterBytes, mallocBeforeBytes, mallocAfterBytes }
}

/**
 * hellogate: a full GC in every thread, then GC_SETTLE_MS for V8 to hand freed pages back, so that the
 * RSS reading is what the heaps hold live, not where they stood after their last GC (at 10 000
 * connections that moved the figure by 1-6 KiB per connection between identical runs:
 * profiles/20261204-idle-memory). Answers the heaps' live bytes after the GC; null for the peers (no
 * GC) and when the proxy refused.
 */
async function collectAndSettle (running: Running): Promise<GcReading | null> {
  if (running.collectGarbage === undefined) return null
  const heap = await running.collectGarbage().catch(() => null)
  await sleep(GC_SETTLE_MS)
  return heap
}

function progressIdle (n: number, read: () => number): () => void {
  const t0 = Date.now()
  const tty = process.stderr.isTTY
  let last = 0
  const timer = setInterval(() => {
    const line = `  … idle connections ${read()}/${n}  ${((Date.now() - t0) / 1000).toFixed(1)} s`
    if (tty) process.stderr.write(`\r\x1b[K${line}`)
    else if (Date.now() - last >= 2_000) { last = Date.now(); process.stderr.write(`${line}\n`) }
  }, 250)
  return () => {
    clearInterval(timer)
    if (tty) process.stderr.write('\r\x1b[K')
  }
}

function failRow (row: Row, err: unknown): void {
  row.status = 'failed'
  row.note = err instanceof Error ? err.message : String(err)
  console.log(`   ${row.name} FAILED: ${row.note}`)
}

type RoundResult = NonNullable<Row['rounds']['new-conn']>[number]
const perConnection = (r: RoundResult): number => r.requests > 0 ? (r.proxyCpuMs * 1000) / r.requests : NaN
const perKiB = (r: RoundResult): number => r.bytes > 0 ? (r.proxyCpuMs * 1e6) / (r.bytes / KIB) : NaN

/** Median over rounds; the row's `phases` keep the median round; ratios to `ref` per round, then the median. */
function computeMetrics (row: Row, ref: Row | undefined): void {
  const m = row.metrics
  const pick = (sc: Scenario, cost: (r: RoundResult) => number): number | null => {
    const rs = (row.rounds[sc] ?? []).filter((r) => Number.isFinite(cost(r)))
    if (rs.length === 0) return null
    const sorted = [...rs].sort((a, b) => cost(a) - cost(b))
    const mid = sorted[Math.floor((sorted.length - 1) / 2)]!
    row.phases[sc] = mid
    return median(rs.map(cost))
  }
  const vsRef = (sc: Scenario, cost: (r: RoundResult) => number): number | null => {
    if (ref === undefined) return null
    const ratios: number[] = []
    for (const r of row.rounds[sc] ?? []) {
      const q = ref.rounds[sc]?.find((x) => x.round === r.round)
      if (q !== undefined && cost(q) > 0 && Number.isFinite(cost(r))) ratios.push(cost(r) / cost(q))
    }
    return ratios.length > 0 ? median(ratios) : null
  }
  m.cpuUsPerConnection = pick('new-conn', perConnection)
  m.cpuNsPerKiB = pick('big', perKiB)
  m.cpuPerConnectionVsRef = vsRef('new-conn', perConnection)
  m.cpuPerKiBVsRef = vsRef('big', perKiB)
  if (row.idle !== undefined && row.idle.opened > 0) {
    m.rssKiBPerIdleConnection = (row.idle.rssAfterKiB - row.idle.rssBeforeKiB) / row.idle.opened
    if (row.idle.collected) m.rssKiBPerIdleConnectionUncollected = (row.idle.rssAfterUncollectedKiB - row.idle.rssBeforeKiB) / row.idle.opened
    if (row.idle.heapBeforeBytes !== null && row.idle.heapAfterBytes !== null) m.heapKiBPerIdleConnection = (row.idle.heapAfterBytes - row.idle.heapBeforeBytes) / KIB / row.idle.opened
    if (row.idle.mallocBeforeBytes !== null && row.idle.mallocAfterBytes !== null) m.nativeKiBPerIdleConnection = (row.idle.mallocAfterBytes - row.idle.mallocBeforeBytes) / KIB / row.idle.opened
  }
  if (row.latency !== undefined) {
    m.p99MsKeepAlive = row.latency.keepAlive.via.p99Ms
    m.p99MsNewConnection = row.latency.newConnection.via.p99Ms
    m.p99AddedMsKeepAlive = row.latency.keepAlive.via.p99Ms - row.latency.keepAlive.direct.p99Ms
    m.p99AddedMsNewConnection = row.latency.newConnection.via.p99Ms - row.latency.newConnection.direct.p99Ms
  }
}

function printTable (rows: Row[]): void {
  const f = (v: number | null, d: number): string => v === null || !Number.isFinite(v) ? '-' : v.toFixed(d)
  const header = ['target', 'CPU µs/new conn', '× HAProxy', 'CPU ns/KiB', '× HAProxy', 'RSS KiB/idle conn', 'p99 +ms keep-alive', 'p99 +ms new conn', 'new conn/s', '1 MiB req/s', 'status']
  // p99 +ms columns: paired, unsaturated probes (see latencyProbes); the direct row is their median absolute p99.
  const lines = rows.map((r) => [
    r.name,
    f(r.metrics.cpuUsPerConnection, 1),
    f(r.metrics.cpuPerConnectionVsRef, 2),
    f(r.metrics.cpuNsPerKiB, 1),
    f(r.metrics.cpuPerKiBVsRef, 2),
    f(r.metrics.rssKiBPerIdleConnection, 2),
    r.kind === 'direct' ? `(${f(r.metrics.p99MsKeepAlive, 2)} ms)` : f(r.metrics.p99AddedMsKeepAlive, 2),
    r.kind === 'direct' ? `(${f(r.metrics.p99MsNewConnection, 2)} ms)` : f(r.metrics.p99AddedMsNewConnection, 2),
    f(r.phases['new-conn']?.requestsPerSec ?? null, 0),
    f(r.phases.big?.requestsPerSec ?? null, 0),
    r.status === 'ok' ? 'ok' : `${r.status}: ${r.note ?? ''}`.slice(0, 60),
  ])
  const all = [header, ...lines]
  const w = header.map((_, i) => Math.max(...all.map((l) => (l[i] ?? '').length)))
  console.log('')
  for (const [i, l] of all.entries()) {
    console.log(l.map((c, j) => j === 0 || j === l.length - 1 ? c.padEnd(w[j] ?? 0) : c.padStart(w[j] ?? 0)).join('  '))
    if (i === 0) console.log(w.map((n) => '-'.repeat(n)).join('  '))
  }
  console.log('CPU = utime+stime of the proxy process tree (/proc, all threads) ÷ completed connections / KiB of responses relayed, median over rounds; × HAProxy = median of the per-round ratios; RSS = VmRSS delta ÷ idle connections (hellogate rows: both readings after a full GC in every thread, POST /debug/gc; the figure before that GC is in the JSON as rssKiBPerIdleConnectionUncollected, the live V8 heap per idle connection as heapKiBPerIdleConnection and the malloc figure as nativeKiBPerIdleConnection); p99 added = p99(via) − p99(direct) from paired one-in-flight probes; the direct row shows the median absolute direct p99 in parentheses.')
}

function chart (rows: Row[], cpuModel: string, sha: string, idleN: number): string {
  const measured = rows.filter((r) => r.kind !== 'direct')
  const panel = (title: string, unit: string, pick: (m: Row['metrics']) => number | null): { title: string, unit: string, rows: Array<{ label: string, value: number | null }> } => ({
    title, unit, rows: measured.map((r) => ({ label: r.name, value: r.status === 'ok' ? pick(r.metrics) : null })),
  })
  const hasRef = measured.some((r) => r.name === REFERENCE && r.status === 'ok')
  return renderChart(
    'SNI passthrough proxies: cost per unit of work',
    `${hasRef ? 'normalised to HAProxy = 1.0' : 'HAProxy did not run: absolute values'}; one worker each, pinned to one CPU; ${cpuModel}; node ${process.version}; git ${sha.slice(0, 10)}; ${idleN} idle conns`,
    [
      panel('CPU per new TLS connection', 'µs', (m) => m.cpuUsPerConnection),
      panel('CPU per KiB relayed (1 MiB bodies, keep-alive)', 'ns', (m) => m.cpuNsPerKiB),
      panel('RSS per idle established connection', 'KiB', (m) => m.rssKiBPerIdleConnection),
      panel('p99 added latency, keep-alive, 1 in flight', 'ms', (m) => m.p99AddedMsKeepAlive),
      panel('p99 added latency, new TLS conn per request', 'ms', (m) => m.p99AddedMsNewConnection),
    ],
    REFERENCE,
  )
}

main().catch(async (err: unknown) => {
  process.stderr.write(`bench:peers failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  await stopAll()
  process.exit(1)
})
