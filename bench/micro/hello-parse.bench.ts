/**
 * Microbenchmark: reading real captured ClientHellos (dist/hello), and hello + route together.
 *
 * Tasks (stable names):
 *  - `hello/parse/<client>`: `parseClientHello` on the handshake message of each capture, in place in
 *    the wire bytes (start = 5, after the record header). openssl 339 B and gnutls 414 B are the small
 *    hellos, curl 512 B, node 1607 B and chromium 1987 B carry an X25519MLKEM768 key share (1.2 KB).
 *  - `hello/assemble/<capture>/<n>-chunk(s)`: `HelloAssembler.reset()` then `push()` of the wire bytes
 *    as they would arrive: in one chunk (the zero-copy fast path), chromium in two TCP segments cut at a
 *    1448-byte MSS (inside its single record), and the 3-record split-records capture one record per
 *    chunk (both copy into the assembler's buffers, which are allocated per hello).
 *  - `hello+route/chromium`: assemble the chromium hello (one chunk) and `matchServerName` its SNI on a
 *    10 000-route table: the per-connection work before the origin connect (speed target ≤ 1 µs, README Performance).
 *  - `hello+route/chromium/new-assembler`: the same with a `new HelloAssembler()` per hello, as the relay
 *    does per connection (src/relay/session.ts), so allocation and GC are included.
 * Each operation checks status === Ok, the SNI offsets (found independently at load, hellos.ts), the
 * record count, and for routing the route's target; a mismatch throws.
 */
import { loadDist } from './dist.ts'
import { finish, isQuick, runTasks, type MicroTask } from './harness.ts'
import { cut, loadHello, recordChunks, type BenchHello } from './hellos.ts'
import { generateRoutes } from './names.ts'

const FILE = 'hello-parse.bench.ts'
/** hellos per timed call: 64 × 0.1–1 µs keeps each sample in the 5–60 µs range */
const BATCH = 64
/** a common Ethernet TCP MSS with timestamps (1500 − 20 IP − 20 TCP − 12 options) */
const MSS = 1448
/** route table size for hello+route (the lookup cost does not depend on it: routes-match.bench.ts) */
const ROUTE_TABLE_SIZE = 10_000
const RECORD_HEADER_LEN = 5

const quick = isQuick()
const { hello, routes } = await loadDist()
const { HelloAssembler, HelloInfo, HelloStatus, parseClientHello } = hello
const OK = HelloStatus.Ok
const NEED_MORE = HelloStatus.NeedMore

const caps = {
  openssl: loadHello('openssl.bin'),
  gnutls: loadHello('gnutls.bin'),
  curl: loadHello('curl.bin'),
  node: loadHello('node.bin'),
  chromium: loadHello('chromium.bin'),
  split: loadHello('split-records.bin'),
}

function parseTask (key: string, h: BenchHello): MicroTask {
  const info = new HelloInfo()
  const wire = h.wire
  const end = wire.length
  const sniStart = h.sniStart + RECORD_HEADER_LEN
  const sniEnd = h.sniEnd + RECORD_HEADER_LEN
  if (h.records !== 1) throw new Error(`${h.file}: parse task expects a single-record capture`)
  return {
    name: `hello/parse/${key}`,
    what: `parseClientHello, ${h.client} hello (${h.handshakeLength} B handshake), in place`,
    batch: BATCH,
    run (n) {
      for (let k = 0; k < n; k++) {
        const st = parseClientHello(wire, RECORD_HEADER_LEN, end, info)
        if (st !== OK || info.sniStart !== sniStart || info.sniEnd !== sniEnd) throw new Error(`hello/parse/${key}: status ${st}, sni ${info.sniStart}..${info.sniEnd}`)
      }
    },
  }
}

function assembleTask (key: string, h: BenchHello, chunks: Buffer[]): MicroTask {
  const asm = new HelloAssembler()
  const info = asm.info
  const last = chunks.length - 1
  const { sniStart, sniEnd, records } = h
  const name = `hello/assemble/${key}/${chunks.length}-chunk${chunks.length === 1 ? '' : 's'}`
  return {
    name,
    what: `HelloAssembler reset + push, ${h.client} hello (${h.wireBytes} B wire, ${records} record(s)) in ${chunks.length} chunk(s)`,
    batch: BATCH,
    run (n) {
      for (let k = 0; k < n; k++) {
        asm.reset()
        for (let c = 0; c < last; c++) {
          if (asm.push(chunks[c]!) !== NEED_MORE) throw new Error(`${name}: early status`)
        }
        const st = asm.push(chunks[last]!)
        if (st !== OK || info.sniStart !== sniStart || info.sniEnd !== sniEnd || info.records !== records) {
          throw new Error(`${name}: status ${st}, sni ${info.sniStart}..${info.sniEnd}, records ${info.records}`)
        }
      }
    },
  }
}

// hello+route: a generated 10k table plus the chromium capture's SNI as one more exact route
const specs = generateRoutes(ROUTE_TABLE_SIZE)
const BROWSER_TARGET = specs.length
specs.push({ pattern: caps.chromium.sni, target: BROWSER_TARGET })
const compiled = routes.compileRoutes(specs)
if (!compiled.ok) throw new Error(`route table did not compile: ${JSON.stringify(compiled)}`)
const table = compiled.table
const { matchServerName } = routes

function helloRouteTask (): MicroTask {
  const asm = new HelloAssembler()
  const info = asm.info
  const wire = caps.chromium.wire
  const { sniStart, sniEnd } = caps.chromium
  return {
    name: 'hello+route/chromium',
    what: `assemble + parse the chromium hello (one chunk) and matchServerName on ${ROUTE_TABLE_SIZE + 1} routes`,
    batch: BATCH,
    run (n) {
      for (let k = 0; k < n; k++) {
        asm.reset()
        const st = asm.push(wire)
        if (st !== OK || info.sniStart !== sniStart || info.sniEnd !== sniEnd) throw new Error(`hello+route: status ${st}`)
        if (matchServerName(table, asm.hs, info.sniStart, info.sniEnd) !== BROWSER_TARGET) throw new Error('hello+route: wrong route')
      }
    },
  }
}

function helloRouteNewTask (): MicroTask {
  const wire = caps.chromium.wire
  const { sniStart, sniEnd } = caps.chromium
  return {
    name: 'hello+route/chromium/new-assembler',
    what: 'as hello+route/chromium, with a new HelloAssembler per hello (the relay\'s per-connection path)',
    batch: BATCH,
    run (n) {
      for (let k = 0; k < n; k++) {
        const asm = new HelloAssembler()
        const st = asm.push(wire)
        const info = asm.info
        if (st !== OK || info.sniStart !== sniStart || info.sniEnd !== sniEnd) throw new Error(`hello+route/new: status ${st}`)
        if (matchServerName(table, asm.hs, info.sniStart, info.sniEnd) !== BROWSER_TARGET) throw new Error('hello+route/new: wrong route')
      }
    },
  }
}

const tasks: MicroTask[] = [
  parseTask('openssl', caps.openssl),
  parseTask('gnutls', caps.gnutls),
  parseTask('curl', caps.curl),
  parseTask('node', caps.node),
  parseTask('chromium', caps.chromium),
  assembleTask('openssl', caps.openssl, [caps.openssl.wire]),
  assembleTask('chromium', caps.chromium, [caps.chromium.wire]),
  assembleTask('chromium', caps.chromium, cut(caps.chromium.wire, [MSS])),
  assembleTask('split-records', caps.split, [caps.split.wire]),
  assembleTask('split-records', caps.split, recordChunks(caps.split)),
  helloRouteTask(),
  helloRouteNewTask(),
]

const results = runTasks(FILE, tasks, quick)
finish(FILE, quick, results, [
  `batch: each sample runs ${BATCH} hellos; figures are per hello`,
  `hello+route table: ${table.size} routes (${ROUTE_TABLE_SIZE} generated by bench/micro/names.ts + ${caps.chromium.sni})`,
  `chromium 2-chunk split: ${MSS} B + ${caps.chromium.wireBytes - MSS} B; split-records: one record per chunk (${caps.split.recordSizes.join(' + ')} B payloads)`,
])
