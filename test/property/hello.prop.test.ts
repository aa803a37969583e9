/**
 * Property tests for the ClientHello reader (Go handshake_messages_test.go: TestMarshalUnmarshal,
 * the prefix loop, TestFuzz; undici test/fuzzing). Fixed seed; `FUZZ=1` runs 100× more cases.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  HelloAssembler, HelloInfo, HelloStatus, MAX_HELLO_RECORDS, alpnToStrings, parseClientHello, sniToString,
} from '../../src/hello/index.ts'
import { checkHostName } from '../../src/names/index.ts'
import { Ext, GREASE_EXT, buildClientHello, wrapRecords, type HelloOptions } from '../helpers/build-hello.ts'
import { feedChunks, feedWhole } from '../helpers/feed.ts'
import { handshakeOf, loadCorpus, loadRealHellos } from '../helpers/hello-fixtures.ts'
import { TIMEOUT_MS, runs } from '../helpers/prop-runs.ts'

const ALL_STATUSES: number[] = Object.values(HelloStatus)

/** Everything that must hold for any input, whatever the status (crash-freedom + offset sanity). */
function checkInvariants (asm: HelloAssembler, status: HelloStatus): void {
  expect(ALL_STATUSES).toContain(status)
  const { hs, info } = asm
  if (status === HelloStatus.Ok) {
    expect(info.sniStart).toBeGreaterThanOrEqual(0)
    expect(info.sniStart).toBeLessThan(info.sniEnd)
    expect(info.sniEnd).toBeLessThanOrEqual(hs.length)
    expect(checkHostName(hs, info.sniStart, info.sniEnd)).toBe(info.sniEnd)
  } else {
    expect(info.sniStart).toBe(-1)
  }
  if (status === HelloStatus.Ok || status === HelloStatus.NoSni) {
    if (info.alpnStart >= 0) {
      expect(info.alpnStart).toBeLessThan(info.alpnEnd)
      expect(info.alpnEnd).toBeLessThanOrEqual(hs.length)
      // the names tile the list exactly
      let p = info.alpnStart
      while (p < info.alpnEnd) p += 1 + hs[p]!
      expect(p).toBe(info.alpnEnd)
    }
  } else {
    expect(info.alpnStart).toBe(-1)
  }
  expect(asm.received().length).toBe(asm.length)
}

/** chunk sizes for splitting an input of unknown length (the rest goes in one more chunk) */
const chunkSizes = fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 12 })

// a valid DNS label over the allowed bytes; names whose last label is a number (names/ refuses them as
// IPv4 addresses) are filtered out below
const LABEL_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_'
const label = fc.string({ unit: fc.constantFrom(...LABEL_CHARS), minLength: 1, maxLength: 63 })
const hostName = fc.array(label, { minLength: 1, maxLength: 6 })
  .map((labels) => labels.join('.'))
  .filter((n) => n.length <= 253 && !/(^|\.)(\d+|0[xX][0-9a-fA-F]*)$/.test(n))
const alpnName = fc.uint8Array({ minLength: 1, maxLength: 40 })
const unknownExt = fc.record({
  // any type the builder does not already write (its standard extensions and its two GREASE values)
  type: fc.integer({ min: 0, max: 0xffff }).filter((t) => !(Object.values(Ext) as number[]).includes(t) && t !== GREASE_EXT && t !== 0x1a1a),
  data: fc.uint8Array({ maxLength: 40 }),
})

const helloOptions: fc.Arbitrary<HelloOptions & { sni: string }> = fc.record({
  sni: hostName,
  trailingDot: fc.boolean(),
  alpn: fc.option(fc.array(alpnName, { minLength: 1, maxLength: 5 }), { nil: undefined }),
  extraExtensions: fc.uniqueArray(unknownExt, { maxLength: 6, selector: (e) => e.type }),
  sessionIdLength: fc.integer({ min: 0, max: 32 }),
  padding: fc.option(fc.integer({ min: 0, max: 600 }), { nil: undefined }),
  keyShareBytes: fc.constantFrom(32, 1216),
  grease: fc.boolean(),
}).map(({ trailingDot, ...o }) => ({ ...o, sni: trailingDot ? o.sni + '.' : o.sni }))

describe('hello reader: crash-freedom', () => {
  it('random bytes, whole or chunked, never throw and never report out-of-range offsets', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), chunkSizes, (bytes, sizes) => {
      const r = feedChunks(bytes, sizes)
      checkInvariants(r.asm, r.status)
    }), runs(2000))
  }, TIMEOUT_MS)

  it('random bytes behind a valid record and handshake header reach the body parser safely', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 1, max: 6 }), (body, records) => {
      const hs = Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 0xff]), body])
      const r = feedWhole(wrapRecords(hs, Math.min(records, hs.length)))
      checkInvariants(r.asm, r.status)
      expect(r.status).not.toBe(HelloStatus.NeedMore)
      // and the parser alone agrees with the assembler
      const info = new HelloInfo()
      expect(parseClientHello(hs, 0, hs.length, info)).toBe(r.status)
    }), runs(2000))
  }, TIMEOUT_MS)

  const SEEDS = [
    ...loadRealHellos().map((h) => h.wire),
    ...loadCorpus().map((s) => s.bytes),
    wrapRecords(buildClientHello({ sni: 'mutate.example', alpn: ['h2', 'http/1.1'] }), 3),
  ]
  const mutation = fc.record({
    seed: fc.integer({ min: 0, max: SEEDS.length - 1 }),
    edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
    cut: fc.option(fc.nat(), { nil: undefined }),
  })

  it('mutated real hellos and corpus seeds never throw, and chunking never changes the answer', () => {
    fc.assert(fc.property(mutation, chunkSizes, ({ seed, edits, cut }, sizes) => {
      const bytes = Buffer.from(SEEDS[seed]!)
      for (const [at, v] of edits) bytes[at % bytes.length] = v
      const input = cut === undefined ? bytes : bytes.subarray(0, cut % (bytes.length + 1))
      const whole = feedWhole(input)
      checkInvariants(whole.asm, whole.status)
      const chunked = feedChunks(input, sizes)
      checkInvariants(chunked.asm, chunked.status)
      expect(chunked.status).toBe(whole.status)
      expect(sniToString(chunked.asm.hs, chunked.asm.info)).toBe(sniToString(whole.asm.hs, whole.asm.info))
    }), runs(3000))
  }, TIMEOUT_MS)
})

describe('hello reader: prefix rule', () => {
  it('no strict prefix of a valid hello is Ok or NoSni (only NeedMore), however it is split', () => {
    fc.assert(fc.property(helloOptions, fc.integer({ min: 1, max: 8 }), fc.double({ min: 0, max: 1, noNaN: true }), (opts, records, at) => {
      const wire = wrapRecords(buildClientHello(opts), records)
      const n = Math.min(wire.length - 1, 1 + Math.floor(at * (wire.length - 1))) // strict prefix: 1..len-1
      const prefix = wire.subarray(0, n)
      expect(feedWhole(prefix).status).toBe(HelloStatus.NeedMore)
      expect(feedChunks(prefix, [1 + (n >> 1)]).status).toBe(HelloStatus.NeedMore)
    }), runs(1000))
  }, TIMEOUT_MS)

  it('every strict prefix of each real hello is NeedMore', () => {
    for (const h of loadRealHellos()) {
      const hs = handshakeOf(h.wire)
      const wire = wrapRecords(hs, 5)
      for (let n = 1; n < wire.length; n += 7) {
        expect(feedWhole(wire.subarray(0, n)).status).toBe(HelloStatus.NeedMore)
      }
    }
  }, TIMEOUT_MS)
})

describe('hello reader: round trip (build → parse)', () => {
  it('returns the SNI (trailing dot excluded) and ALPN it was built with, over any records and chunks', () => {
    fc.assert(fc.property(helloOptions, fc.integer({ min: 1, max: 20 }), chunkSizes, (opts, records, sizes) => {
      const hs = buildClientHello(opts)
      const n = Math.min(records, hs.length, MAX_HELLO_RECORDS)
      const wire = wrapRecords(hs, n)
      const r = feedChunks(wire, sizes)
      expect(r.status).toBe(HelloStatus.Ok)
      checkInvariants(r.asm, r.status)
      expect(sniToString(r.asm.hs, r.asm.info)).toBe(opts.sni.endsWith('.') ? opts.sni.slice(0, -1) : opts.sni)
      const alpn = opts.alpn?.map((a) => Buffer.from(a).toString('latin1')) ?? []
      expect(alpnToStrings(r.asm.hs, r.asm.info)).toEqual(alpn)
      expect(r.asm.info.records).toBe(n)
      expect(r.asm.info.handshakeLength).toBe(hs.length)
      expect(r.asm.received().equals(wire)).toBe(true)
    }), runs(500))
  }, TIMEOUT_MS)
})
