/**
 * How long writing the etcd snapshot (source.etcd.cache) holds the main thread: the longest gap of a 1 ms
 * interval timer while a table of N routes is written, the old way (a [key, value] pair per route, one
 * JSON.stringify, writeFile) against writeSnapshot's slices (SNAPSHOT_SLICE_ENTRIES). 3 rounds.
 * Usage: node profiles/20261204-incremental-compile/snapshot-stall.ts [N=1000000]
 */
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeFile } from 'node:fs/promises'
import { writeSnapshot } from '../../src/source/snapshot.ts'
const N = Number(process.argv[2] ?? 1_000_000)
const names: string[] = []
const texts: string[] = []
for (let i = 0; i < N; i++) { names.push(`host${i}.customer${i % 997}.example.com`); texts.push(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:443`) }
async function maxGap (f: () => Promise<void>): Promise<[number, number]> {
  let last = performance.now(); let max = 0
  const t = setInterval(() => { const now = performance.now(); max = Math.max(max, now - last); last = now }, 1)
  const t0 = performance.now(); await f(); const total = performance.now() - t0
  clearInterval(t); const now = performance.now(); max = Math.max(max, now - last)
  return [max, total]
}
for (let r = 0; r < 3; r++) {
  const [a, ta] = await maxGap(async () => {
    const routes = names.map((n, i) => [n, texts[i]])
    await writeFile(join(tmpdir(), 'snap-old.json'), JSON.stringify({ version: 1, written: new Date().toISOString(), prefix: '/p/', revision: 1, routes, upstreams: [] }))
  })
  const [b, tb] = await maxGap(() => writeSnapshot(join(tmpdir(), 'snap-new.json'), { prefix: '/p/', revision: 1, routes: { names, texts }, upstreams: [] }))
  console.log(`${N} routes: before (pairs + one stringify) longest stall ${a.toFixed(0)} ms, total ${ta.toFixed(0)} ms | after (slices) longest stall ${b.toFixed(0)} ms, total ${tb.toFixed(0)} ms`)
}
