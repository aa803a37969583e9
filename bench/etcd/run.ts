/**
 * `npm run bench:etcd`: time from an etcd `put` to the first connection routed by it, at a table of 10
 * and of 100 000 routes, median and p99.
 *
 * Usage: `node bench/etcd/run.ts [--sizes 10,100000] [--samples 30,15]` (needs `npm run build` and an
 * etcd binary, e.g. Debian's etcd-server).
 *        [--cli A.js,B.js]: those builds in turn against the same filled prefix (default dist/cli.js).
 *        `node bench/etcd/run.ts --load 1000000 [--runs 3] [--cli A.js,B.js]`: the start of a large table
 *        instead (below).
 *
 * Method: a real etcd (test/helpers/etcd.ts: temp data dir on tmpfs, loopback ports) and the real
 * `hellogate serve` (dist/cli.js, 1 worker, source.etcd) in its own process, in front of a plain-TCP
 * origin that answers any bytes with one line. The table is filled (size − 1 routes, in transactions
 * of 128 puts), the proxy started; then per sample: a new name is put, and one client connects again
 * and again (one connection at a time, a real ClientHello for that name, plain TCP, no handshake)
 * until a connection reaches the origin instead of getting the unrecognized_name alert. The sample is
 * the time from just before the put to that connection's first byte from the origin: etcd's commit,
 * the watch event, the coalescing wait (up to COALESCE_MS), the compile in the reload thread, the swap
 * into the worker, and at most one probe's round trip. The next put waits until the previous one is in,
 * and SAMPLE_GAP_MS more; one warmup sample (it also starts the reload thread) is not counted.
 *
 * Output: one line per size (samples, median, p99, max) and JSON at bench/results/etcd-latest.json.
 * Limits: p99 of 15 samples is their maximum; the figure is what a customer sees after one put on an
 * otherwise idle host, not under a burst (the etcd test measures bursts).
 *
 * `--load N`: N routes put into the etcd (same transactions), then `hellogate serve` (1 worker, no file
 * route, source.etcd) started `--runs` times; per run the time from spawn to the `listening` line (the
 * whole prefix read, validated, compiled, the worker up) and the process's peak RSS (VmHWM from /proc,
 * all threads, read once it listens — as bench/load-config does). Output: the median run and every run,
 * with the load average, and the CPU time the process used (all threads) and etcd used meanwhile (the read
 * costs both, on the same cores); JSON at bench/results/etcd-load-latest.json. `--cli`: the hellogate
 * builds to start (default this checkout's dist/cli.js), comma-separated, run in turns (A B A B …) against
 * the same etcd, so that a before/after pair shares the etcd, the hour and the machine's load. On a 2-vCPU
 * host shared with other work the wall time also counts their turns: read it with the load average.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'

import type { Etcd3 } from 'etcd3'

import { buildClientHello, wrapRecords } from '../../test/helpers/build-hello.ts'
import { haveEtcd, startEtcd } from '../../test/helpers/etcd.ts'
import { rawConfig, startCliProxy } from '../../test/helpers/servers.ts'
import { COALESCE_MS } from '../../src/source/etcd.ts'

/** etcd's default --max-txn-ops */
const TXN_OPS = 128
/** transactions in flight at once while filling: enough to keep etcd's apply loop busy */
const TXN_PARALLEL = 16
/** ms. `--load`: a start that is not listening after this long has failed (far above the 5 s target). */
const LOAD_START_TIMEOUT_MS = 300_000
/** ms. Give up on one sample: far beyond any compile of 100 000 routes. */
const SAMPLE_TIMEOUT_MS = 60_000
/**
 * ms. Pause between samples, above COALESCE_MS: each put is then the first change after a quiet spell,
 * the case this figure is about; back to back, a put would also wait out the previous compile's window.
 */
const SAMPLE_GAP_MS = 2 * COALESCE_MS

const { values } = parseArgs({
  options: { sizes: { type: 'string', default: '10,100000' }, samples: { type: 'string', default: '30,15' }, load: { type: 'string' }, runs: { type: 'string', default: '3' }, cli: { type: 'string' } },
})
const sizes = values.sizes.split(',').map(Number)
const samples = values.samples.split(',').map(Number)

/** one connection: the hello for `sni`; true when the origin answered, false on the proxy's alert */
function routed (port: number, sni: string): Promise<boolean> {
  const hello = wrapRecords(buildClientHello({ sni }), 1)
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => { s.write(hello) })
    s.once('data', (d: Buffer) => { s.destroy(); resolve(d[0] === 0x4f) }) // 'O' from the origin, 0x15 an alert
    s.once('error', () => { resolve(false) })
    s.once('close', () => { resolve(false) })
  })
}

function quantile (sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!
}

/** Put `n` routes `PREFIX/routes/<prefix-name><j>.bench.example` → `target`: TXN_OPS per transaction, TXN_PARALLEL at once. */
async function fill (client: Etcd3, prefix: string, n: number, target: string): Promise<void> {
  for (let j = 0; j < n; j += TXN_OPS * TXN_PARALLEL) {
    const txns = []
    for (let k = j; k < Math.min(n, j + TXN_OPS * TXN_PARALLEL); k += TXN_OPS) {
      const keys = Array.from({ length: Math.min(TXN_OPS, n - k) }, (_, m) => `${prefix}routes/f${k + m}.bench.example`)
      txns.push(client.if(keys[0]!, 'Version', '>', -1).then(...keys.map((key) => client.put(key).value(target))).commit())
    }
    await Promise.all(txns)
  }
}

/** user + system CPU of process `pid` so far (all its threads), ms: /proc/PID/stat fields 14 and 15 */
function cpuMs (pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(f[11]) + Number(f[12])) * 1000 / CLOCK_TICKS
}
/** Linux USER_HZ (the unit of /proc/PID/stat times) */
const CLOCK_TICKS = 100

interface LoadSample { cli: string, listeningS: number, peakMiB: number, cpuS: number, etcdCpuS: number, loadavg: number[] }

/** `--load N`: serve's start from a prefix of N routes, `--runs` times per build (module header). */
async function load (n: number, runs: number, clis: readonly string[]): Promise<void> {
  const etcd = await startEtcd()
  const prefix = '/load/'
  const env = (): { cpus: number, node: string, loadavg: number[] } => ({ cpus: os.availableParallelism(), node: process.version, loadavg: os.loadavg().map(round) })
  try {
    const t0 = performance.now()
    await fill(etcd.client, prefix, n, '127.0.0.1:9')
    console.log(`${n} routes put in ${round((performance.now() - t0) / 1000)} s (load average ${env().loadavg.join(' ')})`)
    const raw = { ...rawConfig({ workers: 1, routes: {} }), source: { etcd: { endpoints: [etcd.endpoint], prefix } } }
    const samples: LoadSample[] = []
    for (let r = 0; r < runs; r++) {
      for (const cli of clis) {
        const t1 = performance.now()
        const etcd0 = cpuMs(etcd.pid())
        const proxy = await startCliProxy({ routes: {} }, cli, raw, LOAD_START_TIMEOUT_MS)
        const listeningS = round((performance.now() - t1) / 1000)
        const pid = proxy.child.pid!
        const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${String(pid)}/status`, 'utf8'))
        const cpuS = round(cpuMs(pid) / 1000)
        const etcdCpuS = round((cpuMs(etcd.pid()) - etcd0) / 1000)
        const applied = proxy.logs.find((l) => l.evt === 'source.applied')
        await proxy.close()
        if (applied?.routes !== n) throw new Error(`expected ${n} routes applied, the log says ${JSON.stringify(applied)}`)
        const s = { cli, listeningS, peakMiB: Math.round(Number(hwm?.[1]) / 1024), cpuS, etcdCpuS, loadavg: env().loadavg }
        samples.push(s)
        console.log(`  run ${r + 1} ${cli}: listening after ${s.listeningS} s, peak RSS ${s.peakMiB} MiB, CPU ${s.cpuS} s + etcd ${s.etcdCpuS} s (load average ${s.loadavg.join(' ')})`)
      }
    }
    const medians = clis.map((cli) => {
      const mine = samples.filter((x) => x.cli === cli)
      const mid = [...mine].sort((a, b) => a.listeningS - b.listeningS)[Math.floor(mine.length / 2)]!
      console.log(`${n} routes from etcd, ${cli}: hellogate serve listening after ${mid.listeningS} s (median of ${runs}), peak RSS ${Math.max(...mine.map((x) => x.peakMiB))} MiB (max)`)
      return mid
    })
    const dir = path.join(import.meta.dirname, '../results')
    mkdirSync(dir, { recursive: true })
    writeFileSync(path.join(dir, 'etcd-load-latest.json'), JSON.stringify({ env: env(), routes: n, median: medians[medians.length - 1], medians, samples }, null, 2) + '\n')
  } finally {
    await etcd.stop()
  }
}

async function main (): Promise<void> {
  if (!haveEtcd()) { console.error('bench:etcd needs an etcd binary (Debian: apt-get install etcd-server)'); process.exitCode = 1; return }
  const clis = values.cli === undefined ? [path.join(import.meta.dirname, '../../dist/cli.js')] : values.cli.split(',').map((c) => path.resolve(c))
  if (values.load !== undefined) {
    await load(Number(values.load), Number(values.runs), clis)
    return
  }
  const etcd = await startEtcd()
  const origin = net.createServer((s) => { s.on('error', () => {}); s.once('data', () => { s.end('ORIGIN\n') }) })
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve))
  const originAt = '127.0.0.1:' + String((origin.address() as net.AddressInfo).port)
  const results: Array<{ routes: number, cli: string, samples: number, medianMs: number, p99Ms: number, maxMs: number }> = []
  try {
    for (const [i, size] of sizes.entries()) {
      const prefix = `/bench${size}/`
      await fill(etcd.client, prefix, size - 1, originAt)
      const raw = { ...rawConfig({ workers: 1, routes: {} }), default: 'reject', source: { etcd: { endpoints: [etcd.endpoint], prefix } } }
      // --cli A,B: each build in turn against the same filled prefix (each sample adds its own name)
      for (const cli of clis) {
        const proxy = await startCliProxy({ routes: {} }, cli, raw, 120_000)
        const times: number[] = []
        try {
          // sample -1 is the warmup: the first compile also starts the reload thread
          for (let n = -1; n < (samples[i] ?? samples[0]!); n++) {
            await new Promise((resolve) => setTimeout(resolve, SAMPLE_GAP_MS))
            const sni = `m${n}-${clis.indexOf(cli)}.bench.example`
            const t0 = performance.now()
            await etcd.client.put(`${prefix}routes/${sni}`).value(originAt)
            while (!await routed(proxy.port, sni)) {
              if (performance.now() - t0 > SAMPLE_TIMEOUT_MS) throw new Error(`${sni}: not routed after ${SAMPLE_TIMEOUT_MS} ms`)
            }
            if (n >= 0) times.push(performance.now() - t0)
          }
        } finally {
          await proxy.close()
        }
        times.sort((a, b) => a - b)
        const r = { routes: size, cli: path.relative(process.cwd(), cli), samples: times.length, medianMs: round(quantile(times, 0.5)), p99Ms: round(quantile(times, 0.99)), maxMs: round(times[times.length - 1]!) }
        results.push(r)
        console.log(`${String(size).padStart(7)} routes: put → first routed connection  median ${r.medianMs} ms  p99 ${r.p99Ms} ms  (${r.samples} samples, max ${r.maxMs} ms)${clis.length > 1 ? '  ' + r.cli : ''}`)
      }
    }
  } finally {
    origin.close()
    await etcd.stop()
  }
  const env = { cpus: os.availableParallelism(), node: process.version, loadavg: os.loadavg().map(round) }
  console.log(`env: ${env.cpus} CPUs, node ${env.node}, load average ${env.loadavg.join(' ')}`)
  const dir = path.join(import.meta.dirname, '../results')
  mkdirSync(dir, { recursive: true })
  writeFileSync(path.join(dir, 'etcd-latest.json'), JSON.stringify({ env, results }, null, 2) + '\n')
}

function round (x: number): number {
  return Math.round(x * 10) / 10
}

await main()
