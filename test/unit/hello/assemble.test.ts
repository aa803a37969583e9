import { describe, expect, it } from 'vitest'
import {
  DEFAULT_MAX_HELLO_BYTES, HelloAssembler, HelloInfo, HelloStatus, MAX_HELLO_BYTES_LIMIT, MAX_HELLO_RECORDS,
  alpnToStrings, sniToString,
} from '../../../src/hello/index.ts'
import { buildClientHello, buildSslv2Hello, tlsRecord, wrapRecords } from '../../helpers/build-hello.ts'
import { feedByteByByte, feedChunks, feedEverySplit, feedWhole } from '../../helpers/feed.ts'

const { Ok, NeedMore, NotTls, NoSni, Malformed, TooLarge } = HelloStatus

const HS = buildClientHello({ sni: 'assemble.example', alpn: ['h2', 'http/1.1'], padding: 300 })
const WIRE = wrapRecords(HS, 1)

function sni (asm: HelloAssembler): string {
  return sniToString(asm.hs, asm.info)
}

describe('HelloAssembler: construction', () => {
  it('defaults maxHelloBytes to 16 KiB and accepts up to the 64 KiB hard limit', () => {
    expect(new HelloAssembler().maxHelloBytes).toBe(DEFAULT_MAX_HELLO_BYTES)
    expect(DEFAULT_MAX_HELLO_BYTES).toBe(16384)
    expect(new HelloAssembler(MAX_HELLO_BYTES_LIMIT).maxHelloBytes).toBe(65536)
  })

  it.each([0, 3, 65537, 1.5, Number.NaN])('throws (programmer error) for maxHelloBytes = %s', (n) => {
    expect(() => new HelloAssembler(n)).toThrow(RangeError)
  })

  it('starts empty: NeedMore, no bytes, empty hs, a fresh info', () => {
    const asm = new HelloAssembler()
    expect(asm.status).toBe(NeedMore)
    expect(asm.length).toBe(0)
    expect(asm.received().length).toBe(0)
    expect(asm.hs.length).toBe(0)
    expect(asm.info).toEqual(new HelloInfo())
  })
})

describe('HelloAssembler: one chunk', () => {
  it('reads a one-record hello from one chunk without copying it', () => {
    const asm = new HelloAssembler()
    const chunk = Buffer.from(WIRE)
    expect(asm.push(chunk)).toBe(Ok)
    expect(asm.received()).toBe(chunk) // the chunk itself
    expect(asm.hs.buffer).toBe(chunk.buffer) // a view into it
    expect(asm.hs.byteOffset).toBe(chunk.byteOffset + 5)
    expect(asm.hs.length).toBe(HS.length)
    expect(sni(asm)).toBe('assemble.example')
    expect(alpnToStrings(asm.hs, asm.info)).toEqual(['h2', 'http/1.1'])
    expect(asm.info.records).toBe(1)
    expect(asm.info.handshakeLength).toBe(HS.length)
    expect(asm.length).toBe(WIRE.length)
  })

  it('reads a multi-record hello from one chunk, keeping the chunk as received()', () => {
    const wire = wrapRecords(HS, 3)
    const asm = new HelloAssembler()
    const chunk = Buffer.alloc(wire.length) // its own ArrayBuffer, so `.buffer` identity means something
    wire.copy(chunk)
    expect(asm.push(chunk)).toBe(Ok)
    expect(asm.received()).toBe(chunk)
    expect(asm.hs.buffer).not.toBe(chunk.buffer) // compacted copy
    expect(Buffer.from(asm.hs).equals(HS)).toBe(true)
    expect(asm.info.records).toBe(3)
  })

  it('keeps bytes after the hello (0-RTT early data) in received() and ignores them for parsing', () => {
    const early = Buffer.concat([tlsRecord(Buffer.from([1]), { type: 20 }), tlsRecord(Buffer.alloc(100, 0xee), { type: 23 })])
    const wire = Buffer.concat([WIRE, early])
    const r = feedWhole(wire)
    expect(r.status).toBe(Ok)
    expect(r.asm.received().equals(wire)).toBe(true)
    expect(sni(r.asm)).toBe('assemble.example')
    // and when the early data arrives in the same chunk as the hello's last byte after a split
    const split = feedChunks(wire, [WIRE.length - 1])
    expect(split.status).toBe(Ok)
    expect(split.asm.received().equals(wire)).toBe(true)
  })

  it('ignores an empty chunk', () => {
    const asm = new HelloAssembler()
    expect(asm.push(Buffer.alloc(0))).toBe(NeedMore)
    expect(asm.push(Buffer.from(WIRE))).toBe(Ok)
  })
})

describe('HelloAssembler: split across chunks and records', () => {
  it('gives the same answer at every split point, and received() equals the input', () => {
    feedEverySplit(WIRE, (r, s) => {
      expect(r.statuses, 'split at ' + String(s)).toEqual([NeedMore, Ok])
      expect(sni(r.asm)).toBe('assemble.example')
      expect(r.asm.received().equals(WIRE)).toBe(true)
    })
  })

  it('reads a hello fed one byte at a time', () => {
    const r = feedByteByByte(WIRE)
    expect(r.statuses.slice(0, -1).every((s) => s === NeedMore)).toBe(true)
    expect(r.status).toBe(Ok)
    expect(sni(r.asm)).toBe('assemble.example')
    expect(r.asm.received().equals(WIRE)).toBe(true)
  })

  it('takes the one-record hs from its own buffer (not a compaction copy) when chunks were merged', () => {
    const r = feedChunks(WIRE, [10])
    expect(r.status).toBe(Ok)
    expect(r.asm.hs.buffer).toBe(r.asm.received().buffer)
  })

  it.each([2, 3, 5, 8, 40])('reassembles a hello over %i records, whole and byte by byte', (n) => {
    const wire = wrapRecords(HS, n)
    for (const r of [feedWhole(wire), feedByteByByte(wire), feedChunks(wire, [3, 6, 50, 1])]) {
      expect(r.status).toBe(Ok)
      expect(sni(r.asm)).toBe('assemble.example')
      expect(alpnToStrings(r.asm.hs, r.asm.info)).toEqual(['h2', 'http/1.1'])
      expect(r.asm.info.records).toBe(n)
      expect(r.asm.info.handshakeLength).toBe(HS.length)
      expect(r.asm.received().equals(wire)).toBe(true)
    }
  })

  it('reads the handshake header when it is split across 1-byte records', () => {
    const wire = wrapRecords(HS, [1, 1, 1, 1, 1])
    expect(feedWhole(wire).status).toBe(Ok)
    expect(feedByteByByte(wire).status).toBe(Ok)
  })

  it.each([0x0300, 0x0301, 0x0302, 0x0303, 0x0304])('accepts record version 0x%s', (version) => {
    expect(feedWhole(wrapRecords(HS, 2, { version })).status).toBe(Ok)
  })

  it('never writes to the chunks it is given', () => {
    const wire = wrapRecords(HS, 4)
    const chunks = [wire.subarray(0, 9), wire.subarray(9, 200), wire.subarray(200)].map((c) => Buffer.from(c))
    const copies = chunks.map((c) => Buffer.from(c))
    const asm = new HelloAssembler()
    for (const c of chunks) asm.push(c)
    expect(asm.status).toBe(Ok)
    chunks.forEach((c, i) => { expect(c.equals(copies[i]!)).toBe(true) })
  })
})

describe('HelloAssembler: not TLS', () => {
  it.each([
    ['an HTTP request', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['an SSH banner', 'SSH-2.0-OpenSSH_9.6\r\n'],
    ['a PROXY protocol header', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n'],
  ])('rejects %s on its first byte', (_what, text) => {
    const asm = new HelloAssembler()
    expect(asm.push(Buffer.from(text.slice(0, 1)))).toBe(NotTls)
    expect(feedWhole(Buffer.from(text)).status).toBe(NotTls)
  })

  it('rejects a first record of another content type (alert, application_data) as not TLS', () => {
    expect(feedWhole(tlsRecord(HS, { type: 21 })).status).toBe(NotTls)
    expect(feedWhole(tlsRecord(HS, { type: 23 })).status).toBe(NotTls)
  })

  it('rejects a handshake byte followed by a major version other than 3, on the second byte', () => {
    const asm = new HelloAssembler()
    expect(asm.push(Buffer.from([22]))).toBe(NeedMore)
    expect(asm.push(Buffer.from([2]))).toBe(NotTls)
    expect(feedWhole(tlsRecord(HS, { version: 0x0401 })).status).toBe(NotTls)
  })

  it('rejects random bytes that start like neither TLS nor SSLv2', () => {
    expect(feedWhole(Buffer.from([0x00, 0x16, 0x03, 0x01])).status).toBe(NotTls)
    expect(feedWhole(Buffer.from([0x7f, 0xff])).status).toBe(NotTls)
  })
})

describe('HelloAssembler: malformed records', () => {
  it('rejects a record version above 0x0304 or a later record with another major version', () => {
    expect(feedWhole(tlsRecord(HS, { version: 0x0305 })).status).toBe(Malformed)
    const wire = Buffer.concat([tlsRecord(HS.subarray(0, 10)), tlsRecord(HS.subarray(10), { version: 0x0203 })])
    expect(feedWhole(wire).status).toBe(Malformed)
  })

  it('rejects a zero-length handshake record, first or later (RFC 8446 §5.1)', () => {
    expect(feedWhole(tlsRecord(new Uint8Array(0))).status).toBe(Malformed)
    const wire = Buffer.concat([tlsRecord(HS.subarray(0, 10)), tlsRecord(new Uint8Array(0)), tlsRecord(HS.subarray(10))])
    expect(feedWhole(wire).status).toBe(Malformed)
  })

  it('rejects a record longer than 2^14 on its header alone', () => {
    const asm = new HelloAssembler(MAX_HELLO_BYTES_LIMIT)
    expect(asm.push(Buffer.from([22, 3, 1, 0x40, 0x01]))).toBe(Malformed)
    expect(new HelloAssembler(MAX_HELLO_BYTES_LIMIT).push(Buffer.from([22, 3, 1, 0x40, 0x00]))).toBe(NeedMore)
  })

  it.each([
    ['change_cipher_spec', 20],
    ['alert', 21],
    ['application_data', 23],
    ['heartbeat', 24],
  ])('rejects a %s record before the hello is complete', (_name, type) => {
    const wire = Buffer.concat([tlsRecord(HS.subarray(0, 50)), tlsRecord(Buffer.from([1, 0]), { type }), tlsRecord(HS.subarray(50))])
    expect(feedWhole(wire).status).toBe(Malformed)
    expect(feedByteByByte(wire).status).toBe(Malformed)
  })

  it('rejects a handshake message other than client_hello as soon as its type byte arrives', () => {
    const asm = new HelloAssembler()
    expect(asm.push(Buffer.from([22, 3, 1, 0, 100]))).toBe(NeedMore)
    expect(asm.push(Buffer.from([2]))).toBe(Malformed) // server_hello
  })

  it('rejects a record that carries bytes past the end of the hello (RFC 8446 §5.1 alignment)', () => {
    const wire = tlsRecord(Buffer.concat([HS, Buffer.from([22])]))
    expect(feedWhole(wire).status).toBe(Malformed)
    // decided on the handshake header, before the record body arrives
    expect(new HelloAssembler().push(wire.subarray(0, 9))).toBe(Malformed)
    // and for a later record that runs past the declared end
    const two = Buffer.concat([tlsRecord(HS.subarray(0, 20)), tlsRecord(Buffer.concat([HS.subarray(20), Buffer.from([0])]))])
    expect(feedWhole(two).status).toBe(Malformed)
  })

  it('reports a malformed body found after reassembly (duplicate extension over 3 records)', () => {
    const bad = buildClientHello({ sni: 'a.example', duplicateExtension: true })
    const r = feedWhole(wrapRecords(bad, 3))
    expect(r.status).toBe(Malformed)
    expect(r.asm.info.records).toBe(3)
    expect(r.asm.info.sniStart).toBe(-1)
  })
})

describe('HelloAssembler: size limits', () => {
  it('answers TooLarge from the declared uint24 length alone, without waiting for the body', () => {
    const asm = new HelloAssembler()
    // record of 2^14 bytes, handshake header declaring a 20000-byte body
    expect(asm.push(Buffer.from([22, 3, 1, 0x40, 0x00, 1, 0x00, 0x4e, 0x20]))).toBe(TooLarge)
    expect(asm.info.handshakeLength).toBe(20004)
  })

  it('answers TooLarge when the header is split across records, still before the body', () => {
    const asm = new HelloAssembler()
    const wire = Buffer.concat([tlsRecord(Buffer.from([1, 0x01])), tlsRecord(Buffer.from([0x00, 0x00]))])
    expect(asm.push(wire)).toBe(TooLarge)
  })

  it('applies maxHelloBytes to the handshake message, header included (boundary)', () => {
    expect(feedWhole(WIRE, new HelloAssembler(HS.length)).status).toBe(Ok)
    expect(feedWhole(WIRE, new HelloAssembler(HS.length - 1)).status).toBe(TooLarge)
  })

  it('answers TooLarge on a first record bigger than the cap before the handshake header arrives', () => {
    expect(new HelloAssembler(100).push(Buffer.from([22, 3, 1, 0, 101]))).toBe(TooLarge)
    expect(new HelloAssembler(100).push(Buffer.from([22, 3, 1, 0, 100]))).toBe(NeedMore)
  })

  it('rejects a hello over 16 KiB by default and reads it with a larger cap', () => {
    const big = buildClientHello({ sni: 'big.example', padding: 20_000 })
    expect(feedWhole(wrapRecords(big, 2)).status).toBe(TooLarge)
    const r = feedWhole(wrapRecords(big, 2), new HelloAssembler(MAX_HELLO_BYTES_LIMIT))
    expect(r.status).toBe(Ok)
    expect(sni(r.asm)).toBe('big.example')
  })

  it(`accepts a hello spanning exactly MAX_HELLO_RECORDS (${String(MAX_HELLO_RECORDS)}) records`, () => {
    const r = feedWhole(wrapRecords(HS, MAX_HELLO_RECORDS))
    expect(r.status).toBe(Ok)
    expect(r.asm.info.records).toBe(MAX_HELLO_RECORDS)
  })

  it('answers TooLarge as soon as a hello would need one record more than the bound', () => {
    const wire = wrapRecords(HS, MAX_HELLO_RECORDS + 1)
    const r = feedWhole(wire)
    expect(r.status).toBe(TooLarge)
    expect(r.asm.info.records).toBe(MAX_HELLO_RECORDS)
    // decided at the end of the last allowed record, without the next header
    let end = 0
    for (let i = 0; i < MAX_HELLO_RECORDS; i++) end += 5 + wire.readUInt16BE(end + 3)
    const asm = new HelloAssembler()
    expect(asm.push(Buffer.from(wire.subarray(0, end - 1)))).toBe(NeedMore)
    expect(asm.push(Buffer.from(wire.subarray(end - 1, end)))).toBe(TooLarge)
  })

  it('keeps raw and assembled memory within the caps when a big hello trickles in', () => {
    const hs = buildClientHello({ sni: 'trickle.example', padding: DEFAULT_MAX_HELLO_BYTES - 300 })
    expect(hs.length).toBeLessThanOrEqual(DEFAULT_MAX_HELLO_BYTES)
    const wire = wrapRecords(hs, 200)
    const r = feedChunks(wire, Array.from({ length: 2000 }, () => 7))
    expect(r.status).toBe(Ok)
    expect(r.asm.received().buffer.byteLength).toBeLessThanOrEqual(DEFAULT_MAX_HELLO_BYTES + MAX_HELLO_RECORDS * 5)
    expect(r.asm.hs.buffer.byteLength).toBeLessThanOrEqual(DEFAULT_MAX_HELLO_BYTES)
  })
})

describe('HelloAssembler: SSLv2-compatible hello (RFC 5246 Appendix E.2)', () => {
  it('answers NoSni with info.sslv2, whole and byte by byte', () => {
    const v2 = buildSslv2Hello({ version: 0x0301 })
    for (const r of [feedWhole(v2), feedByteByByte(v2)]) {
      expect(r.status).toBe(NoSni)
      expect(r.asm.info.sslv2).toBe(true)
      expect(r.asm.info.legacyVersion).toBe(0x0301)
      expect(r.asm.info.records).toBe(1)
      expect(r.asm.info.handshakeLength).toBe(v2.length - 2)
      expect(r.asm.info.sniStart).toBe(-1)
      expect(r.asm.hs[0]).toBe(1) // msg_type
      expect(r.asm.received().equals(v2)).toBe(true)
    }
  })

  it('accepts a 16-byte session id and a 16-byte challenge', () => {
    expect(feedWhole(buildSslv2Hello({ sessionIdLength: 16, challengeLength: 16 })).status).toBe(NoSni)
  })

  it('answers NotTls for a high-bit first byte that is not a v3-compatible CLIENT-HELLO', () => {
    expect(feedWhole(buildSslv2Hello({ msgType: 2 })).status).toBe(NotTls)
    expect(feedWhole(buildSslv2Hello({ version: 0x0002 })).status).toBe(NotTls) // pure SSL 2.0
    expect(new HelloAssembler().push(Buffer.from([0x80, 0x2e, 4]))).toBe(NotTls)
  })

  it.each([
    ['no cipher specs', { cipherSpecs: 0 }],
    ['a session id of 5', { sessionIdLength: 5 }],
    ['a challenge of 15', { challengeLength: 15 }],
    ['a challenge of 33', { challengeLength: 33 }],
    ['a msg_length below the fixed fields', { msgLength: 8 }],
  ])('rejects %s', (_what, opts) => {
    expect(feedWhole(buildSslv2Hello(opts)).status).toBe(Malformed)
  })

  it('rejects cipher specs that are not whole 3-byte entries, and vectors that do not fill the message', () => {
    const v2 = Buffer.from(buildSslv2Hello())
    v2.writeUInt16BE(8, 5) // cipher_spec_length 9 → 8
    v2.writeUInt16BE(33, 9) // challenge_length 32 → 33 keeps the total: still malformed (8 % 3)
    expect(feedWhole(v2).status).toBe(Malformed)
    const short = Buffer.from(buildSslv2Hello())
    short.writeUInt16BE(31, 9) // challenge 31: vectors one byte short of msg_length
    expect(feedWhole(short).status).toBe(Malformed)
  })

  it('answers TooLarge for an SSLv2 msg_length over the cap', () => {
    expect(feedWhole(buildSslv2Hello({ challengeLength: 32 }), new HelloAssembler(40)).status).toBe(TooLarge)
  })

  it('waits for the whole SSLv2 message before answering', () => {
    const v2 = buildSslv2Hello()
    const asm = new HelloAssembler()
    expect(asm.push(Buffer.from(v2.subarray(0, 2)))).toBe(NeedMore)
    expect(asm.push(Buffer.from(v2.subarray(2, v2.length - 1)))).toBe(NeedMore)
    expect(asm.push(Buffer.from(v2.subarray(v2.length - 1)))).toBe(NoSni)
  })
})

describe('HelloAssembler: lifecycle', () => {
  it.each([
    ['Ok', WIRE, Ok],
    ['NotTls', Buffer.from('GET /'), NotTls],
    ['Malformed', tlsRecord(new Uint8Array(0)), Malformed],
    ['TooLarge', Buffer.from([22, 3, 1, 0x40, 0x00, 1, 0x01, 0x00, 0x00]), TooLarge],
    ['NoSni', buildSslv2Hello(), NoSni],
  ] as const)('keeps answering %s after a terminal status and keeps no later bytes', (_n, wire, want) => {
    const asm = new HelloAssembler()
    expect(asm.push(Buffer.from(wire))).toBe(want)
    const len = asm.length
    expect(asm.push(Buffer.from(WIRE))).toBe(want)
    expect(asm.status).toBe(want)
    expect(asm.length).toBe(len)
  })

  it('reset() makes the assembler reusable for the next connection', () => {
    const asm = new HelloAssembler()
    feedChunks(wrapRecords(buildClientHello({ sni: 'first.example', alpn: ['h2'] }), 3), [7], asm)
    expect(sni(asm)).toBe('first.example')
    asm.reset()
    expect(asm.status).toBe(NeedMore)
    expect(asm.length).toBe(0)
    expect(asm.info).toEqual(new HelloInfo())
    const r = feedChunks(wrapRecords(buildClientHello({ sni: 'second.example' }), 2), [3], asm)
    expect(r.status).toBe(Ok)
    expect(sni(asm)).toBe('second.example')
    expect(asm.info.alpnStart).toBe(-1)
    expect(asm.info.records).toBe(2)
  })

  it('reuses one HelloInfo object for its whole life', () => {
    const asm = new HelloAssembler()
    const info = asm.info
    asm.push(Buffer.from(WIRE))
    asm.reset()
    asm.push(Buffer.from(WIRE))
    expect(asm.info).toBe(info)
  })
})
