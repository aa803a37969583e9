/**
 * RSS per idle TLS connection, JavaScript relay vs native splice relay, each on a freshly started
 * hellogate (`workers: 1`), alternating A B A B…: the peers bench measures it after its CPU phases, when
 * the heap a relay left behind decides how much of the delta is new memory (its run-to-run spread is
 * larger than the difference). Usage: `node profiles/20261204-ab-splice/idle-memory.ts [N] [pairs] [warm]`;
 * `warm`: each proxy first opens and closes N idle connections, so the heap has grown to what their
 * handshakes need before RSS is taken (profiles/20261204-idle-memory/NOTES.md: it still swings).
 */
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { treeRssKiB } from '../../bench/lib/proc.ts'
import { sleep, stopChild, achievableNofile } from '../../bench/lib/children.ts'
import { BENCH_SNI, startNodeProxy, startOrigin } from '../../bench/lib/targets.ts'
import { closeIdle, openIdle } from '../../bench/lib/tls-churn.ts'

const n = Number(process.argv[2] ?? 9900)
const pairs = Number(process.argv[3] ?? 2)
const warmUp = process.argv[4] === 'warm'
const dir = mkdtempSync(path.join(os.tmpdir(), 'hellogate-idle-'))
const nofile = achievableNofile(1_048_576)
const origin = await startOrigin({ cpu: 0, nofile, dir })
const out: Record<string, number[]> = { js: [], splice: [] }
for (let i = 0; i < pairs; i++) {
  for (const relay of ['js', 'auto'] as const) {
    const p = await startNodeProxy('hellogate', { originPort: origin.port, cpu: 1, nofile, dir, relay, label: relay + String(i) })
    await sleep(1000)
    if (warmUp) {
      const warm = await openIdle({ host: '127.0.0.1', port: p.port, servername: BENCH_SNI, count: n, concurrency: 64 })
      await closeIdle(warm.sockets)
      await sleep(1500)
    }
    const before = treeRssKiB(p.child.pid)
    const r = await openIdle({ host: '127.0.0.1', port: p.port, servername: BENCH_SNI, count: n, concurrency: 64 })
    await sleep(1500)
    const after = treeRssKiB(p.child.pid)
    const perConn = (after - before) / r.opened
    out[relay === 'js' ? 'js' : 'splice']!.push(Math.round(perConn * 100) / 100)
    console.log(`${relay === 'js' ? 'js    ' : 'splice'} pair ${String(i + 1)}: ${String(r.opened)} open, RSS ${String(before)} → ${String(after)} KiB: ${perConn.toFixed(2)} KiB per idle connection (load ${os.loadavg()[0]!.toFixed(2)})`)
    await closeIdle(r.sockets)
    await stopChild(p.child)
  }
}
await stopChild(origin.child)
console.log(JSON.stringify(out))
