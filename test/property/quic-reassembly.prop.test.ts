/**
 * Property tests of the QUIC CRYPTO reassembly (src/quic/): the TCP reader's properties carried over to
 * UDP. Any split of a ClientHello into CRYPTO frames, in any order, with duplicates and overlaps, spread
 * over any number of protected Initial datagrams, gives the same hello and SNI/ALPN as the TCP parser;
 * random corruption of a real Initial never throws and never writes into the datagram. Fixed seed;
 * `FUZZ=1` runs 100× more cases.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { HelloInfo, HelloStatus, alpnToStrings, parseClientHello, sniToString } from '../../src/hello/index.ts'
import { CryptoReassembler, QuicInitialDecoder, QuicStatus } from '../../src/quic/index.ts'
import { buildClientHello } from '../helpers/build-hello.ts'
import { V1, V2, helloDatagrams, type Piece } from '../helpers/quic-initial.ts'
import { RFC9001, RFC9369 } from '../helpers/quic-vectors.ts'
import { TIMEOUT_MS, runs } from '../helpers/prop-runs.ts'

/** frame data per datagram: leaves room for the header, frame headers and the tag in 1200 bytes */
const DATAGRAM_DATA = 1000

const LABEL_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789-'
const label = fc.string({ unit: fc.constantFrom(...LABEL_CHARS), minLength: 1, maxLength: 20 })
const hostName = fc.array(label, { minLength: 2, maxLength: 4 }).map((l) => l.join('.')).filter((n) => !/\.\d+$/.test(n))
const helloArb = fc.record({
  sni: hostName,
  alpn: fc.option(fc.array(fc.constantFrom('h3', 'h3-29', 'hq-interop'), { minLength: 1, maxLength: 3 }), { nil: undefined }),
  keyShareBytes: fc.constantFrom(32, 1216),
  padding: fc.option(fc.integer({ min: 0, max: 1500 }), { nil: undefined }),
}).map((o) => buildClientHello(o))

/**
 * A hello and a delivery plan: its bytes cut at random points, plus random extra (duplicate or
 * overlapping) ranges, shuffled, then packed into datagrams of at most DATAGRAM_DATA frame bytes.
 */
const planArb = helloArb.chain((hello) => fc.record({
  hello: fc.constant(hello),
  cuts: fc.uniqueArray(fc.integer({ min: 1, max: hello.length - 1 }), { maxLength: 12 }),
  extras: fc.array(fc.record({ offset: fc.nat({ max: hello.length - 1 }), length: fc.integer({ min: 1, max: 400 }) }), { maxLength: 4 }),
  order: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 32, maxLength: 32 }),
  version: fc.constantFrom(V1, V2),
}))

function piecesOf (hello: Uint8Array, cuts: number[], extras: Piece[], order: number[]): Piece[][] {
  const points = [0, ...cuts.sort((a, b) => a - b), hello.length]
  const pieces: Piece[] = []
  for (let i = 0; i + 1 < points.length; i++) pieces.push({ offset: points[i]!, length: points[i + 1]! - points[i]! })
  for (const e of extras) pieces.push({ offset: e.offset, length: Math.min(e.length, hello.length - e.offset) })
  // no piece larger than a datagram can carry
  const small: Piece[] = []
  for (const p of pieces) {
    for (let o = 0; o < p.length; o += DATAGRAM_DATA) small.push({ offset: p.offset + o, length: Math.min(DATAGRAM_DATA, p.length - o) })
  }
  const shuffled = small.map((p, i) => ({ p, k: order[i % order.length]! + i * 1e-9 })).sort((a, b) => a.k - b.k).map((x) => x.p)
  const datagrams: Piece[][] = [[]]
  let used = 0
  for (const p of shuffled) {
    if (used + p.length > DATAGRAM_DATA) { datagrams.push([]); used = 0 }
    datagrams[datagrams.length - 1]!.push(p)
    used += p.length
  }
  return datagrams
}

describe('QUIC CRYPTO reassembly: the same hello as the TCP parser', () => {
  it('any split, any order, duplicates and overlaps, over protected Initial datagrams', () => {
    fc.assert(fc.property(planArb, ({ hello, cuts, extras, order, version }) => {
      const plan = piecesOf(hello, cuts, extras, order)
      const datagrams = helloDatagrams(hello, plan, version)
      const tcp = new HelloInfo()
      expect(parseClientHello(hello, 0, hello.length, tcp)).toBe(HelloStatus.Ok)
      const d = new QuicInitialDecoder()
      const statuses = datagrams.map((g) => d.push(g, 0, g.length))
      // NeedMore until the datagram that closes the last gap, Ok from there on (extra duplicates may
      // come after it: the flow's status sticks)
      const firstOk = statuses.indexOf(QuicStatus.Ok)
      expect(firstOk).toBeGreaterThanOrEqual(0)
      expect(statuses.slice(0, firstOk).every((s) => s === QuicStatus.NeedMore)).toBe(true)
      expect(statuses.slice(firstOk).every((s) => s === QuicStatus.Ok)).toBe(true)
      expect(Buffer.from(d.hello).equals(hello)).toBe(true)
      expect([d.info.sniStart, d.info.sniEnd, d.info.alpnStart, d.info.alpnEnd]).toEqual([tcp.sniStart, tcp.sniEnd, tcp.alpnStart, tcp.alpnEnd])
      expect(sniToString(d.hello, d.info)).toBe(sniToString(hello, tcp))
      expect(alpnToStrings(d.hello, d.info)).toEqual(alpnToStrings(hello, tcp))
    }), runs(150))
  }, TIMEOUT_MS)

  it('the reassembler alone: any order of any cover of the hello is complete exactly when the last gap closes', () => {
    fc.assert(fc.property(planArb, ({ hello, cuts, extras, order }) => {
      const r = new CryptoReassembler(16384)
      const pieces = piecesOf(hello, cuts, extras, order).flat()
      const covered = new Uint8Array(hello.length)
      for (const p of pieces) {
        expect(r.add(hello, p.offset, p.offset + p.length, p.offset)).toBe(QuicStatus.NeedMore)
        covered.fill(1, p.offset, p.offset + p.length)
        expect(r.complete()).toBe(covered.every((c) => c === 1))
      }
      expect(Buffer.from(r.buf.subarray(0, r.total)).equals(hello)).toBe(true)
    }), runs(500))
  }, TIMEOUT_MS)
})

describe('QUIC Initial decoder: crash-freedom', () => {
  const SEEDS = [RFC9001.packet, RFC9369.packet]
  it('corrupted and truncated published Initials never throw, never write the datagram, always answer a status', () => {
    const ALL: number[] = Object.values(QuicStatus)
    fc.assert(fc.property(
      fc.integer({ min: 0, max: SEEDS.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      fc.option(fc.nat(), { nil: undefined }),
      (seed, edits, cut) => {
        const bytes = Buffer.from(SEEDS[seed]!)
        for (const [at, v] of edits) bytes[at % bytes.length] = v
        const input = cut === undefined ? bytes : bytes.subarray(0, cut % (bytes.length + 1))
        const before = Buffer.from(input)
        const d = new QuicInitialDecoder()
        const st = d.push(input, 0, input.length)
        expect(ALL).toContain(st)
        expect(input.equals(before)).toBe(true)
      }), runs(1000))
  }, TIMEOUT_MS)

  it('random bytes behind a v1 long-header prefix never throw', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 1400 }), (tail) => {
      const g = Buffer.concat([Buffer.from([0xc0, 0, 0, 0, 1]), tail])
      const d = new QuicInitialDecoder()
      expect(Object.values(QuicStatus)).toContain(d.push(g, 0, g.length))
    }), runs(1000))
  }, TIMEOUT_MS)
})
