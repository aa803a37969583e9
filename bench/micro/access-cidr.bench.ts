/**
 * Microbenchmark: client address lookup (dist/access checkAccess) on deny lists of 10 and 100 000 CIDRs,
 * IPv4 and IPv6, the JA4 of a real hello (dist/fingerprint writeJa4), and what a PROXY header costs a connection
 * before its hello (dist/proxyproto): the per-connection pieces of the edge policy (README "Access lists and JA4",
 * "Behind a load balancer"; bench:policy measures them end to end).
 *
 * Tasks (stable names):
 *  - `access/check/<size>/<family>`: `checkAccess(list, addrBytes, 0, family)` with size `10` or `100k`
 *    prefixes (half IPv4 /16–/32, half IPv6 /32–/64, random, overlapping allowed), deny list only. Each
 *    task cycles through QUERIES addresses: half inside a listed prefix (answer Deny, known by
 *    construction: a random address under a listed network), half in ranges no prefix is drawn from
 *    (100.64.0.0/10, 2001:db8::/32; answer Allow). The same query shapes on both sizes, so the ratio
 *    100k/10 is the cost of the list size alone (binary search depth ~17 vs ~4).
 *  - `ja4/chromium`: writeJa4 of test/fixtures/hello/chromium.bin (16 ciphers, 18 extensions) into a
 *    reused buffer, compared with the known fingerprint.
 *  - `proxy-in/v2`, `proxy-in/v1`: what relay/proxy-in.ts does per connection: a new ProxyHeaderDecoder, one
 *    push of a chunk holding a TCP4 header and a hello, and the carried source and destination as text.
 * Every answer is checked; a wrong one throws. The compile time of each list is reported in the notes.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { REPO_ROOT } from '../lib/results.ts'
import { loadDist } from './dist.ts'
import { finish, isQuick, runTasks, type MicroTask } from './harness.ts'
import { prng as rng } from './names.ts'

const FILE = 'access-cidr.bench.ts'
/** query ring (power of two) */
const QUERIES = 1024
/** lookups per timed call (~50–200 ns each → samples of 13–50 µs) */
const BATCH = 256
/** JA4 per timed call (~2–5 µs each) */
const BATCH_JA4 = 16

const quick = isQuick()
const { access, fingerprint, proxyproto } = await loadDist()
const { AccessList, AccessVerdict, checkAccess, compileAccessList } = access

interface Prefix { v6: boolean, bytes: Uint8Array, prefix: number }

/** random network (host bits cleared) that avoids the Allow query ranges */
function randomPrefix (rand: () => number, v6: boolean): Prefix {
  const n = v6 ? 16 : 4
  const bytes = new Uint8Array(n)
  for (let k = 0; k < n; k++) bytes[k] = Math.floor(rand() * 256)
  if (!v6 && bytes[0] === 100) bytes[0] = 101 // keep 100.0.0.0/8 (and so 100.64.0.0/10) unlisted
  if (v6) { bytes[0] = 0x24; bytes[1] = (bytes[1]! | 0x01) } // 24xx: never 2001:db8::/32
  const prefix = v6 ? 32 + Math.floor(rand() * 33) : 16 + Math.floor(rand() * 17)
  for (let bit = prefix; bit < n * 8; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7))
  return { v6, bytes, prefix }
}

function text (p: Prefix): string {
  if (!p.v6) return [...p.bytes].join('.') + '/' + String(p.prefix)
  const g: string[] = []
  for (let k = 0; k < 16; k += 2) g.push(((p.bytes[k]! << 8) | p.bytes[k + 1]!).toString(16))
  return g.join(':') + '/' + String(p.prefix)
}

/** a random address inside p */
function inside (rand: () => number, p: Prefix): Uint8Array {
  const out = Uint8Array.from(p.bytes)
  for (let bit = p.prefix; bit < out.length * 8; bit++) if (rand() < 0.5) out[bit >> 3]! |= 0x80 >> (bit & 7)
  return out
}

function outside (rand: () => number, v6: boolean): Uint8Array {
  if (!v6) return new Uint8Array([100, 64 + Math.floor(rand() * 64), Math.floor(rand() * 256), Math.floor(rand() * 256)])
  const out = new Uint8Array(16)
  out[0] = 0x20; out[1] = 0x01; out[2] = 0x0d; out[3] = 0xb8
  for (let k = 4; k < 16; k++) out[k] = Math.floor(rand() * 256)
  return out
}

const notes: string[] = []
const tasks: MicroTask[] = []
for (const [label, size] of [['10', 10], ['100k', 100_000]] as const) {
  const rand = rng(size)
  const prefixes = Array.from({ length: size }, (_, i) => randomPrefix(rand, i % 2 === 1))
  const t0 = process.hrtime.bigint()
  const list = compileAccessList([], prefixes.map(text))
  const compileMs = Number(process.hrtime.bigint() - t0) / 1e6
  if (!(list instanceof AccessList)) throw new Error('bench list did not compile: ' + JSON.stringify(list))
  notes.push(`access/${label}: compile ${compileMs.toFixed(1)} ms, ${String(size)} prefixes → ${String(list.rangeCount())} merged ranges`)
  for (const v6 of [false, true]) {
    const family = v6 ? 6 : 4
    const fam = prefixes.filter((p) => p.v6 === v6)
    const qrand = rng(7) // the same query stream shape on both sizes
    const addrs: Uint8Array[] = []
    const want: number[] = []
    for (let q = 0; q < QUERIES; q++) {
      if (q % 2 === 0) { addrs.push(inside(qrand, fam[Math.floor(qrand() * fam.length)]!)); want.push(AccessVerdict.Deny) } else { addrs.push(outside(qrand, v6)); want.push(AccessVerdict.Allow) }
    }
    let i = 0
    tasks.push({
      name: `access/check/${label}/v${family}`,
      what: `checkAccess on a ${label}-prefix deny list, IPv${family}, half hits`,
      batch: BATCH,
      run (n) {
        for (let k = 0; k < n; k++) {
          const j = i++ & (QUERIES - 1)
          if (checkAccess(list, addrs[j]!, 0, family) !== want[j]) throw new Error(`wrong verdict for query ${String(j)}`)
        }
      },
    })
  }
}

const wire = readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'hello', 'chromium.bin'))
const hs = wire.subarray(5, 5 + wire.readUInt16BE(3))
const out = new Uint8Array(fingerprint.JA4_LENGTH)
const expected = Buffer.from('t13d1517h2_8daaf6152771_cb7bf5808d99', 'latin1')
tasks.push({
  name: 'ja4/chromium',
  what: 'writeJa4 of the captured Chromium hello into a reused buffer',
  batch: BATCH_JA4,
  run (n) {
    for (let k = 0; k < n; k++) {
      if (fingerprint.writeJa4(hs, 0, hs.length, out, 0) !== fingerprint.JA4_LENGTH || !expected.equals(out)) throw new Error('wrong JA4')
    }
  },
})

const ppHello = Buffer.alloc(517)
const ppV2 = Buffer.concat([Buffer.from('0d0a0d0a000d0a515549540a2111000cc6336407c0000201' + '0fa001bb', 'hex'), ppHello])
const ppV1 = Buffer.concat([Buffer.from('PROXY TCP4 198.51.100.7 192.0.2.1 4000 443\r\n', 'latin1'), ppHello])
for (const [label, chunk, headerBytes] of [['v2', ppV2, 28], ['v1', ppV1, 44]] as const) {
  tasks.push({
    name: `proxy-in/${label}`,
    what: `PROXY ${label} TCP4 header before a hello: new decoder, decode, source and destination as text`,
    batch: BATCH_JA4,
    run (n) {
      for (let k = 0; k < n; k++) {
        const d = new proxyproto.ProxyHeaderDecoder(proxyproto.ACCEPT_V1 | proxyproto.ACCEPT_V2, proxyproto.DEFAULT_MAX_V2_PAYLOAD)
        if (d.push(chunk) !== proxyproto.PpStatus.Ok || d.info.restOffset !== headerBytes) throw new Error('PROXY header not decoded')
        if (proxyproto.proxyAddressText(d.info, 'src') !== '198.51.100.7' || proxyproto.proxyAddressText(d.info, 'dst') !== '192.0.2.1') throw new Error('wrong address')
      }
    },
  })
}

const results = runTasks(FILE, tasks, quick)
for (const fam of ['v4', 'v6']) {
  const big = results.find((r) => r.name === `access/check/100k/${fam}`)
  const small = results.find((r) => r.name === `access/check/10/${fam}`)
  if (big && small) notes.push(`access ${fam}: 100k vs 10 prefixes ${(big.p50Ns / small.p50Ns).toFixed(2)}× (p50 ${big.p50Ns.toFixed(0)} ns vs ${small.p50Ns.toFixed(0)} ns)`)
}
finish(FILE, quick, results, notes)
