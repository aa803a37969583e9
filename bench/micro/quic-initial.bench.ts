/**
 * Microbenchmark: decoding a client's QUIC Initial datagrams into its ClientHello (dist/quic) and
 * routing it — the per-flow work of the UDP path before the first datagram goes to the origin.
 *
 * Tasks (stable names):
 *  - `quic/initial+route/chromium/2-datagrams`: a new `QuicInitialDecoder` per flow (as the flow table
 *    will create one per new 4-tuple), `push` of two protected v1 Initial datagrams carrying the captured
 *    Chromium ClientHello (test/fixtures/hello/chromium.bin, 1987 B handshake with an X25519MLKEM768 key
 *    share: two datagrams, as Chromium sends it today), then `matchServerName` on a 10 001-route table.
 *    Includes the Initial key derivation (HKDF, 5 HMACs), two header-protection masks and two AES-GCM opens.
 *  - `quic/initial/rfc9001-a2`: the RFC 9001 A.2 Initial (one datagram, 241-byte hello) alone, so the fixed
 *    per-flow cost (key derivation) can be told from the per-datagram cost.
 * The datagrams are built at load by test/helpers/quic-initial.ts (no QUIC client runs on this machine to
 * capture real ones); Chromium's split is approximated: CRYPTO bytes [0, 1100) in the first datagram and
 * the rest in the second, each padded to 1250 bytes (Chromium's Initial datagram size). Each operation
 * checks status Ok, the SNI offsets (found independently at load, hellos.ts) and the route's target.
 */
import { loadDist } from './dist.ts'
import { finish, isQuick, runTasks, type MicroTask } from './harness.ts'
import { loadHello } from './hellos.ts'
import { generateRoutes } from './names.ts'
import { cryptoFrame, protectInitial } from '../../test/helpers/quic-initial.ts'
import { RFC9001 } from '../../test/helpers/quic-vectors.ts'

const FILE = 'quic-initial.bench.ts'
/** flows per timed call: a flow costs tens of µs, so 8 keeps a sample near 0.1–0.5 ms */
const BATCH = 8
/** Chromium's Initial datagram size (bytes of UDP payload) */
const CHROMIUM_DATAGRAM = 1250
/** CRYPTO bytes in Chromium's first Initial datagram (approximation, see the header) */
const FIRST_DATAGRAM_CRYPTO = 1100
const ROUTE_TABLE_SIZE = 10_000

const quick = isQuick()
const { quic, routes } = await loadDist()
const { QuicInitialDecoder, QuicStatus } = quic
const OK = QuicStatus.Ok
const NEED_MORE = QuicStatus.NeedMore

const chromium = loadHello('chromium.bin')
const hs = chromium.hs
const dcid = Buffer.from('5a2f0c9e7d4b1386', 'hex')
const datagrams = [
  protectInitial({ dcid, pn: 0, pnLen: 1, frames: cryptoFrame(0, hs.subarray(0, FIRST_DATAGRAM_CRYPTO)), padTo: CHROMIUM_DATAGRAM }),
  protectInitial({ dcid, pn: 1, pnLen: 1, frames: cryptoFrame(FIRST_DATAGRAM_CRYPTO, hs.subarray(FIRST_DATAGRAM_CRYPTO)), padTo: CHROMIUM_DATAGRAM }),
]
const [d0, d1] = datagrams as [Buffer, Buffer]

const specs = generateRoutes(ROUTE_TABLE_SIZE)
const TARGET = specs.length
specs.push({ pattern: chromium.sni, target: TARGET })
const compiled = routes.compileRoutes(specs)
if (!compiled.ok) throw new Error(`route table did not compile: ${JSON.stringify(compiled)}`)
const table = compiled.table
const { matchServerName } = routes

function chromiumTask (): MicroTask {
  const { sniStart, sniEnd } = chromium
  const name = 'quic/initial+route/chromium/2-datagrams'
  return {
    name,
    what: `new QuicInitialDecoder + 2 Initial datagrams (${d0.length} + ${d1.length} B, chromium hello ${hs.length} B) + matchServerName on ${ROUTE_TABLE_SIZE + 1} routes`,
    batch: BATCH,
    run (n) {
      for (let k = 0; k < n; k++) {
        const dec = new QuicInitialDecoder()
        if (dec.push(d0, 0, d0.length) !== NEED_MORE) throw new Error(`${name}: first datagram`)
        const st = dec.push(d1, 0, d1.length)
        const info = dec.info
        if (st !== OK || info.sniStart !== sniStart || info.sniEnd !== sniEnd) throw new Error(`${name}: status ${st}, sni ${info.sniStart}..${info.sniEnd}`)
        if (matchServerName(table, dec.hello, info.sniStart, info.sniEnd) !== TARGET) throw new Error(`${name}: wrong route`)
      }
    },
  }
}

function vectorTask (): MicroTask {
  const pkt = RFC9001.packet
  const name = 'quic/initial/rfc9001-a2'
  return {
    name,
    what: `new QuicInitialDecoder + the RFC 9001 A.2 Initial (${pkt.length} B, 241 B hello)`,
    batch: BATCH,
    run (n) {
      for (let k = 0; k < n; k++) {
        const dec = new QuicInitialDecoder()
        if (dec.push(pkt, 0, pkt.length) !== OK || dec.info.sniEnd - dec.info.sniStart !== 11) throw new Error(`${name}: wrong answer`)
      }
    },
  }
}

const results = runTasks(FILE, [chromiumTask(), vectorTask()], quick)
finish(FILE, quick, results, [
  `batch: each sample runs ${BATCH} flows; figures are per flow`,
  `chromium split: CRYPTO [0, ${FIRST_DATAGRAM_CRYPTO}) + [${FIRST_DATAGRAM_CRYPTO}, ${hs.length}) in two ${CHROMIUM_DATAGRAM}-byte v1 Initial datagrams built by test/helpers/quic-initial.ts`,
])
