/**
 * `npm run bench:etcd`: time from an etcd `put` to the first connection routed by it, at a table of 10
 * and of 100 000 routes, median and p99.
 *
 * Usage: `node bench/etcd/run.ts [--sizes 10,100000] [--samples 30,15]` (needs `npm run build` and an
 * etcd binary, e.g. Debian's etcd-server).
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
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'

import { buildClientHello, wrapRecords } from '../../test/helpers/build-hello.ts'
import { haveEtcd, startEtcd } from '../../test/helpers/etcd.ts'
import { rawConfig, startCliProxy } from '../../test/helpers/servers.ts'
import { COALESCE_MS } from '../../src/source/etcd.ts'

/** etcd's default --max-txn-ops */
const TXN_OPS = 128
/** ms. Give up on one sample: far beyond any compile of 100 000 routes. */
const SAMPLE_TIMEOUT_MS = 60_000
/**
 * ms. Pause between samples, above COALESCE_MS: each put is then the first change after a quiet spell,
 * the case this figure is about; back to back, a put would also wait out the previous compile's window.
 */
const SAMPLE_GAP_MS = 2 * COALESCE_MS

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '10,100000' }, samples: { type: 'string', default: '30,15' } } })
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

async function main (): Promise<void> {
  if (!haveEtcd()) { console.error('bench:etcd needs an etcd binary (Debian: apt-get install etcd-server)'); process.exitCode = 1; return }
  const etcd = await startEtcd()
  const origin = net.createServer((s) => { s.on('error', () => {}); s.once('data', () => { s.end('ORIGIN\n') }) })
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve))
  const originAt = '127.0.0.1:' + String((origin.address() as net.AddressInfo).port)
  const results: Array<{ routes: number, samples: number, medianMs: number, p99Ms: number, maxMs: number }> = []
  try {
    for (const [i, size] of sizes.entries()) {
      const prefix = `/bench${size}/`
      const entries = Array.from({ length: size - 1 }, (_, j) => [`${prefix}routes/f${j}.bench.example`, originAt] as const)
      for (let j = 0; j < entries.length; j += TXN_OPS * 16) {
        const batch = entries.slice(j, j + TXN_OPS * 16)
        const txns = []
        for (let k = 0; k < batch.length; k += TXN_OPS) txns.push(batch.slice(k, k + TXN_OPS))
        await Promise.all(txns.map((t) => etcd.client.if(t[0]![0], 'Version', '>', -1).then(...t.map(([key, v]) => etcd.client.put(key).value(v))).commit()))
      }
      const raw = { ...rawConfig({ workers: 1, routes: {} }), default: 'reject', source: { etcd: { endpoints: [etcd.endpoint], prefix } } }
      const proxy = await startCliProxy({ routes: {} }, undefined, raw, 120_000)
      const times: number[] = []
      try {
        // sample -1 is the warmup: the first compile also starts the reload thread
        for (let n = -1; n < (samples[i] ?? samples[0]!); n++) {
          await new Promise((resolve) => setTimeout(resolve, SAMPLE_GAP_MS))
          const sni = `m${n}.bench.example`
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
      const r = { routes: size, samples: times.length, medianMs: round(quantile(times, 0.5)), p99Ms: round(quantile(times, 0.99)), maxMs: round(times[times.length - 1]!) }
      results.push(r)
      console.log(`${String(size).padStart(7)} routes: put → first routed connection  median ${r.medianMs} ms  p99 ${r.p99Ms} ms  (${r.samples} samples, max ${r.maxMs} ms)`)
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
