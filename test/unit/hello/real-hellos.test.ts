import { describe, expect, it } from 'vitest'
import { HelloAssembler, HelloStatus, MAX_HELLO_RECORDS, alpnToStrings, sniToString } from '../../../src/hello/index.ts'
import { wrapRecords } from '../../helpers/build-hello.ts'
import { feedByteByByte, feedChunks, feedEverySplit, feedWhole, type FeedResult } from '../../helpers/feed.ts'
import { handshakeOf, loadRealHellos } from '../../helpers/hello-fixtures.ts'

const HELLOS = loadRealHellos()

/** deterministic PRNG (mulberry32) so record layouts are the same on every run */
function rng (seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** n positive sizes summing to total */
function randomSizes (total: number, n: number, rand: () => number): number[] {
  const cuts = new Set<number>()
  while (cuts.size < n - 1) cuts.add(1 + Math.floor(rand() * (total - 1)))
  const sorted = [0, ...[...cuts].sort((a, b) => a - b), total]
  return sorted.slice(1).map((c, i) => c - sorted[i]!)
}

it('has the five captured clients plus the crafted split fixture', () => {
  expect(HELLOS.map((h) => h.file).sort()).toEqual(['chromium.bin', 'curl.bin', 'gnutls.bin', 'node.bin', 'openssl.bin', 'split-records.bin'])
  const chromium = HELLOS.find((h) => h.file === 'chromium.bin')!
  expect(chromium.wire.length).toBeGreaterThan(1500) // a post-quantum (X25519MLKEM768) browser hello
})

describe.each(HELLOS)('real hello $file ($client)', (h) => {
  const hs = handshakeOf(h.wire)

  function expectHello (r: FeedResult, records: number, what: string): void {
    expect(r.status, what).toBe(HelloStatus.Ok)
    expect(sniToString(r.asm.hs, r.asm.info), what).toBe(h.sni)
    expect(alpnToStrings(r.asm.hs, r.asm.info), what).toEqual(h.alpn)
    expect(r.asm.info.records, what).toBe(records)
    expect(r.asm.info.handshakeLength, what).toBe(h.handshakeLength)
  }

  it('parses whole, with the SNI, ALPN and sizes of the manifest', () => {
    const r = feedWhole(h.wire)
    expectHello(r, h.records, 'whole')
    expect(h.wire.length).toBe(h.wireBytes)
    expect(hs.length).toBe(h.handshakeLength)
    expect(r.asm.info.legacyVersion).toBe(0x0303)
  })

  it('parses at every split point, with received() equal to the capture', () => {
    feedEverySplit(h.wire, (r, s) => {
      expectHello(r, h.records, 'split at ' + String(s))
      expect(r.asm.received().equals(h.wire)).toBe(true)
    })
  })

  it('parses one byte at a time', () => {
    const r = feedByteByByte(h.wire)
    expectHello(r, h.records, 'byte by byte')
    expect(r.statuses.filter((s) => s !== HelloStatus.NeedMore)).toHaveLength(1)
    expect(r.asm.received().equals(h.wire)).toBe(true)
  })

  it('parses re-split across 2..8 records, fed whole, in random chunks and byte by byte', () => {
    const rand = rng(h.wire.length)
    for (let n = 2; n <= 8; n++) {
      for (const sizes of [n, randomSizes(hs.length, n, rand)]) {
        const wire = wrapRecords(hs, sizes, { version: h.wire.readUInt16BE(1) })
        expectHello(feedWhole(wire), n, String(n) + ' records whole')
        const chunks = randomSizes(wire.length, 1 + Math.floor(rand() * 12), rand)
        const r = feedChunks(wire, chunks)
        expectHello(r, n, String(n) + ' records in chunks ' + chunks.join(','))
        expect(r.asm.received().equals(wire)).toBe(true)
      }
      expectHello(feedByteByByte(wrapRecords(hs, n)), n, String(n) + ' records byte by byte')
    }
  })

  it('parses over many tiny records up to the record bound, and refuses one record more', () => {
    const n = Math.min(MAX_HELLO_RECORDS, hs.length)
    expectHello(feedWhole(wrapRecords(hs, n)), n, String(n) + ' records')
    expectHello(feedWhole(wrapRecords(hs, Array<number>(Math.min(100, hs.length - 1)).fill(1))), Math.min(100, hs.length - 1) + 1, '1-byte records')
    if (hs.length > MAX_HELLO_RECORDS) {
      expect(feedWhole(wrapRecords(hs, MAX_HELLO_RECORDS + 1)).status).toBe(HelloStatus.TooLarge)
    }
  })

  it('answers TooLarge under a cap one byte below its size', () => {
    expect(feedWhole(h.wire, new HelloAssembler(h.handshakeLength - 1)).status).toBe(HelloStatus.TooLarge)
    expect(feedWhole(h.wire, new HelloAssembler(h.handshakeLength)).status).toBe(HelloStatus.Ok)
  })

  it('never returns Ok for a strict prefix', () => {
    for (let n = 1; n < h.wire.length; n++) {
      const asm = new HelloAssembler()
      expect(asm.push(Buffer.from(h.wire.subarray(0, n)))).toBe(HelloStatus.NeedMore)
    }
  })
})
