/**
 * QuicInitialDecoder (src/quic/decode.ts): the RFC 9001 / RFC 9369 Appendix A client Initials, hellos over
 * several datagrams and coalesced packets, and every kind of bad input named in the issue — each
 * answered with its status, never a throw, and without poisoning the flow.
 */
import { describe, expect, it } from 'vitest'
import { HelloInfo, HelloStatus, alpnToStrings, parseClientHello, sniToString } from '../../../src/hello/index.ts'
import {
  MAX_INITIAL_DATAGRAMS, MAX_INITIAL_DATAGRAM_BYTES, QUIC_V1, QUIC_V2, QuicInitialDecoder, QuicStatus,
  decodePacketNumber,
} from '../../../src/quic/index.ts'
import { buildClientHello } from '../../helpers/build-hello.ts'
import {
  V1, V2, cryptoFrame, helloDatagrams, protectInitial, testKeys, varint,
} from '../../helpers/quic-initial.ts'
import {
  RFC9001, RFC9369, VECTOR_CRYPTO_FRAME, VECTOR_DCID, VECTOR_PN, type VersionVectors,
} from '../../helpers/quic-vectors.ts'

/** the ClientHello of the vectors: the CRYPTO frame's data (type, offset 0, 2-byte length 0x40f1 = 241) */
const VECTOR_HELLO = VECTOR_CRYPTO_FRAME.subarray(4)

function decode (...datagrams: Uint8Array[]): { d: QuicInitialDecoder, statuses: QuicStatus[] } {
  const d = new QuicInitialDecoder()
  const statuses = datagrams.map((g) => d.push(g, 0, g.length))
  return { d, statuses }
}

describe.each([
  ['v1, RFC 9001 A.2', QUIC_V1, RFC9001],
  ['v2, RFC 9369 A.2', QUIC_V2, RFC9369],
] as [string, number, VersionVectors][])('the published client Initial, %s', (_name, version, v) => {
  it('decodes to the ClientHello for example.com, packet number 2, keys of the vector', () => {
    const copy = Buffer.from(v.packet)
    const { d, statuses } = decode(copy)
    // the datagram is forwarded byte for byte: decoding must not write into it
    expect(copy.equals(v.packet)).toBe(true)
    expect(statuses).toEqual([QuicStatus.Ok])
    expect(d.version).toBe(version)
    expect(d.largestPn).toBe(VECTOR_PN)
    expect(Buffer.from(d.dcid.subarray(0, d.dcidLength)).toString('hex')).toBe(VECTOR_DCID.toString('hex'))
    expect(d.keys!.key.equals(v.key) && d.keys!.iv.equals(v.iv) && d.keys!.hp.equals(v.hp)).toBe(true)
    expect(Buffer.from(d.hello).equals(VECTOR_HELLO)).toBe(true)
    expect(sniToString(d.hello, d.info)).toBe('example.com')
    expect(alpnToStrings(d.hello, d.info)).toEqual(['alpn'])
    // the same bytes through the TCP parser: the same answer
    const tcp = new HelloInfo()
    expect(parseClientHello(VECTOR_HELLO, 0, VECTOR_HELLO.length, tcp)).toBe(HelloStatus.Ok)
    expect([tcp.sniStart, tcp.sniEnd]).toEqual([d.info.sniStart, d.info.sniEnd])
  })

  it('reads a datagram at an offset inside a larger buffer (start, end)', () => {
    const big = Buffer.concat([Buffer.alloc(7, 0xaa), v.packet, Buffer.alloc(5, 0xbb)])
    const d = new QuicInitialDecoder()
    expect(d.push(big, 7, 7 + v.packet.length)).toBe(QuicStatus.Ok)
    expect(sniToString(d.hello, d.info)).toBe('example.com')
  })

  it('the test builder reproduces the published packet byte for byte (it is a faithful inverse)', () => {
    const built = protectInitial({ version, dcid: VECTOR_DCID, pn: VECTOR_PN, pnLen: 4, frames: VECTOR_CRYPTO_FRAME, padTo: 1200 })
    expect(built.toString('hex')).toBe(v.packet.toString('hex'))
    expect(testKeys(version, VECTOR_DCID).secret.equals(v.clientInitialSecret)).toBe(true)
  })

  it('a flipped bit in the AEAD tag is DecryptFailed and leaves the flow as it was', () => {
    const bad = Buffer.from(v.packet)
    bad[bad.length - 1]! ^= 0x01
    const d = new QuicInitialDecoder()
    expect(d.push(bad, 0, bad.length)).toBe(QuicStatus.DecryptFailed)
    expect(d.keys).toBeNull()
    expect(d.status).toBe(QuicStatus.NeedMore)
    expect(d.push(v.packet, 0, v.packet.length)).toBe(QuicStatus.Ok)
  })

  it('a flipped bit in the ciphertext or the unprotected header (AAD) is DecryptFailed', () => {
    for (const at of [30, 600, 1100, 9 /* a DCID byte: other keys */, 1]) {
      const bad = Buffer.from(v.packet)
      bad[at]! ^= 0x10
      const st = decode(bad).statuses[0]
      expect(at === 1 ? QuicStatus.UnknownVersion : QuicStatus.DecryptFailed).toBe(st)
    }
  })

  it('every truncation is refused with a status, never a throw', () => {
    const seen = new Set<QuicStatus>()
    for (let n = 0; n < v.packet.length; n++) {
      const st = decode(v.packet.subarray(0, n)).statuses[0]!
      seen.add(st)
      expect([QuicStatus.NotLongHeader, QuicStatus.HeaderMalformed, QuicStatus.TooSmall]).toContain(st)
      // header prefixes (22 bytes) are malformed headers; a whole header with a short Length field region too
      if (n > 0 && n <= 22) expect(st).toBe(QuicStatus.HeaderMalformed)
    }
    expect(seen.has(QuicStatus.HeaderMalformed)).toBe(true)
  })
})

describe('QuicInitialDecoder: versions and wrong salts', () => {
  it('a v1 packet relabelled v2 (version field and v2 Initial type bits) fails to open: the v2 salt gives other keys', () => {
    const bad = Buffer.from(RFC9001.packet)
    bad.writeUInt32BE(QUIC_V2, 1)
    bad[0] = (bad[0]! & ~0x30) | 0x10 // v2 Initial type 0b01 (the type bits are not header-protected)
    expect(decode(bad).statuses).toEqual([QuicStatus.DecryptFailed])
  })

  it('a v1 packet relabelled v2 without changing the type bits is a v2 Retry: NotInitial', () => {
    const bad = Buffer.from(RFC9001.packet)
    bad.writeUInt32BE(QUIC_V2, 1)
    expect(decode(bad).statuses).toEqual([QuicStatus.NotInitial])
  })

  it('an unknown version is UnknownVersion; version 0 is VersionNegotiation', () => {
    const unknown = Buffer.from(RFC9001.packet)
    unknown.writeUInt32BE(0xff00001d, 1) // draft-29
    expect(decode(unknown).statuses).toEqual([QuicStatus.UnknownVersion])
    const vn = Buffer.from(RFC9001.packet)
    vn.writeUInt32BE(0, 1)
    expect(decode(vn).statuses).toEqual([QuicStatus.VersionNegotiation])
  })

  it('a short header is NotLongHeader', () => {
    const short = Buffer.from(RFC9001.packet)
    short[0] = 0x40
    expect(decode(short).statuses).toEqual([QuicStatus.NotLongHeader])
  })

  it('a Length too short for the header-protection sample is HeaderMalformed (RFC 9001 §5.4.2)', () => {
    const bad = Buffer.from(RFC9001.packet)
    bad.writeUInt16BE(0x4000 | 19, 16) // Length: 19 < 4 + 16
    expect(decode(bad).statuses).toEqual([QuicStatus.HeaderMalformed])
  })

  it('a long header without the fixed bit is HeaderMalformed', () => {
    const bad = Buffer.from(RFC9001.packet)
    bad[0]! &= ~0x40
    expect(decode(bad).statuses).toEqual([QuicStatus.HeaderMalformed])
  })
})

describe('QuicInitialDecoder: sizes and limits', () => {
  it('an Initial in a datagram under 1200 bytes is TooSmall (RFC 9000 §14.1), even when it would open', () => {
    const small = protectInitial({ frames: cryptoFrame(0, VECTOR_HELLO), padTo: 1199 })
    expect(small.length).toBe(1199)
    expect(decode(small).statuses).toEqual([QuicStatus.TooSmall])
    const ok = protectInitial({ frames: cryptoFrame(0, VECTOR_HELLO), padTo: 1200 })
    expect(decode(ok).statuses).toEqual([QuicStatus.Ok])
  })

  it('a datagram above MAX_INITIAL_DATAGRAM_BYTES is Oversized, before any crypto', () => {
    const big = protectInitial({ frames: cryptoFrame(0, VECTOR_HELLO), padTo: MAX_INITIAL_DATAGRAM_BYTES + 1 })
    const { d, statuses } = decode(big)
    expect(statuses).toEqual([QuicStatus.Oversized])
    expect(d.keys).toBeNull()
    const edge = protectInitial({ frames: cryptoFrame(0, VECTOR_HELLO), padTo: MAX_INITIAL_DATAGRAM_BYTES })
    expect(decode(edge).statuses).toEqual([QuicStatus.Ok])
  })

  it('CRYPTO data beyond maxHelloBytes is TooLarge, and the flow stays refused', () => {
    const d = new QuicInitialDecoder(4096)
    const g = protectInitial({ frames: cryptoFrame(4000, Buffer.alloc(97, 1)) })
    expect(d.push(g, 0, g.length)).toBe(QuicStatus.TooLarge)
    expect(d.crypto.buf.length).toBe(0) // nothing was buffered for it
    const hello = protectInitial({ frames: cryptoFrame(0, VECTOR_HELLO), pn: 1 })
    expect(d.push(hello, 0, hello.length)).toBe(QuicStatus.TooLarge)
    // a huge 8-byte varint offset too
    const far = protectInitial({ frames: Buffer.concat([Buffer.from([0x06]), varint(2 ** 40, 8), varint(1), Buffer.from([1])]) })
    expect(decode(far).statuses).toEqual([QuicStatus.TooLarge])
  })

  it('a handshake header announcing more than maxHelloBytes is TooLarge', () => {
    const d = new QuicInitialDecoder(4096)
    const g = protectInitial({ frames: cryptoFrame(0, Buffer.from([1, 0, 0x10, 0])) }) // 4 + 4096
    expect(d.push(g, 0, g.length)).toBe(QuicStatus.TooLarge)
  })

  it('a flow that never completes its hello is refused after MAX_INITIAL_DATAGRAMS datagrams', () => {
    const d = new QuicInitialDecoder()
    let st: QuicStatus = QuicStatus.NeedMore
    let n = 0
    while (st === QuicStatus.NeedMore && n < MAX_INITIAL_DATAGRAMS + 5) {
      const g = protectInitial({ frames: Buffer.from([0x01]), pn: n })
      st = d.push(g, 0, g.length)
      n++
    }
    expect(st).toBe(QuicStatus.TooLarge)
    expect(n).toBe(MAX_INITIAL_DATAGRAMS)
  })

  it('a first DCID under 8 bytes is HeaderMalformed (RFC 9000 §7.2)', () => {
    const g = protectInitial({ dcid: Buffer.from('01020304050607', 'hex'), frames: cryptoFrame(0, VECTOR_HELLO) })
    expect(decode(g).statuses).toEqual([QuicStatus.HeaderMalformed])
  })

  it('a connection ID over 20 bytes is HeaderMalformed (RFC 9000 §17.2)', () => {
    const g = protectInitial({ scid: Buffer.alloc(21, 7), frames: cryptoFrame(0, VECTOR_HELLO) })
    expect(decode(g).statuses).toEqual([QuicStatus.HeaderMalformed])
    const ok = protectInitial({ scid: Buffer.alloc(20, 7), token: Buffer.alloc(40, 9), frames: cryptoFrame(0, VECTOR_HELLO) })
    expect(decode(ok).statuses).toEqual([QuicStatus.Ok])
  })
})

describe('QuicInitialDecoder: hellos over several datagrams', () => {
  const hello = buildClientHello({ sni: 'two.example', alpn: ['h3'], keyShareBytes: 1216 })

  it('a post-quantum hello in two datagrams: NeedMore, then Ok with the TCP parser\'s SNI', () => {
    const half = 1000
    const [a, b] = helloDatagrams(hello, [[{ offset: 0, length: half }], [{ offset: half, length: hello.length - half }]])
    const { d, statuses } = decode(a!, b!)
    expect(statuses).toEqual([QuicStatus.NeedMore, QuicStatus.Ok])
    expect(sniToString(d.hello, d.info)).toBe('two.example')
    expect(d.datagrams).toBe(2)
    expect(d.largestPn).toBe(1)
  })

  it('the second datagram first: NeedMore (no header yet), then Ok', () => {
    const [a, b] = helloDatagrams(hello, [[{ offset: 0, length: 900 }], [{ offset: 900, length: hello.length - 900 }]])
    expect(decode(b!, a!).statuses).toEqual([QuicStatus.NeedMore, QuicStatus.Ok])
  })

  it('an overlapping CRYPTO frame with different bytes is CryptoConflict', () => {
    const other = Buffer.from(hello)
    other[950]! ^= 1
    const [a] = helloDatagrams(hello, [[{ offset: 0, length: 1000 }]])
    const [b] = helloDatagrams(other, [[{ offset: 900, length: hello.length - 900 }]])
    const { statuses } = decode(a!, protectInitial({ pn: 1, pnLen: 2, frames: cryptoFrame(900, other.subarray(900)) }))
    expect(statuses).toEqual([QuicStatus.NeedMore, QuicStatus.CryptoConflict])
    expect(b).toBeDefined()
  })

  it('a later datagram with another DCID is dropped (HeaderMalformed), the flow goes on', () => {
    const [a, b] = helloDatagrams(hello, [[{ offset: 0, length: 1000 }], [{ offset: 1000, length: hello.length - 1000 }]])
    const [other] = helloDatagrams(hello, [[{ offset: 1000, length: hello.length - 1000 }]], V1, Buffer.alloc(8, 0xee))
    const { statuses } = decode(a!, other!, b!)
    expect(statuses).toEqual([QuicStatus.NeedMore, QuicStatus.HeaderMalformed, QuicStatus.Ok])
  })

  it('a later datagram of the other version is dropped', () => {
    const [a, b] = helloDatagrams(hello, [[{ offset: 0, length: 1000 }], [{ offset: 1000, length: hello.length - 1000 }]])
    const [v2] = helloDatagrams(hello, [[{ offset: 1000, length: hello.length - 1000 }]], V2)
    expect(decode(a!, v2!, b!).statuses).toEqual([QuicStatus.NeedMore, QuicStatus.HeaderMalformed, QuicStatus.Ok])
  })

  it('a datagram that starts with a 0-RTT packet is NotInitial (the flow layer buffers it)', () => {
    const zeroRtt = protectInitial({ frames: Buffer.from([0x01]), type: 0x10 }) // v1 0-RTT, type 0b01
    expect(decode(zeroRtt).statuses).toEqual([QuicStatus.NotInitial])
  })
})

describe('QuicInitialDecoder: coalesced packets (RFC 9000 §12.2)', () => {
  const hello = buildClientHello({ sni: 'coalesced.example', keyShareBytes: 1216 })

  it('two Initials, a 0-RTT packet and trailing zero bytes in one datagram: all read, Ok', () => {
    const p1 = protectInitial({ pn: 0, frames: cryptoFrame(0, hello.subarray(0, 700)), padTo: 0 })
    const p2 = protectInitial({ pn: 1, frames: cryptoFrame(700, hello.subarray(700)), padTo: 0 })
    const zeroRtt = protectInitial({ pn: 0, frames: Buffer.from([0x01]), type: 0x10, padTo: 0 })
    const dgram = Buffer.concat([p1, p2, zeroRtt, Buffer.alloc(40)])
    const { d, statuses } = decode(dgram)
    expect(statuses).toEqual([QuicStatus.Ok])
    expect(d.packets).toBe(2)
    expect(d.skippedPackets).toBe(1)
    expect(sniToString(d.hello, d.info)).toBe('coalesced.example')
  })

  it('a later Initial that fails to open is skipped and the packets after it still read', () => {
    const p1 = protectInitial({ pn: 0, frames: cryptoFrame(0, hello.subarray(0, 500)), padTo: 0 })
    const broken = protectInitial({ pn: 1, frames: cryptoFrame(500, hello.subarray(500, 600)), padTo: 0 })
    broken[broken.length - 1]! ^= 1
    const p3 = protectInitial({ pn: 2, frames: cryptoFrame(500, hello.subarray(500)), padTo: 0 })
    const dgram = Buffer.concat([p1, broken, p3])
    const { d, statuses } = decode(Buffer.concat([dgram, Buffer.alloc(Math.max(0, 1200 - dgram.length))]))
    expect(statuses).toEqual([QuicStatus.Ok])
    expect(d.skippedPackets).toBe(1)
  })
})

describe('QuicInitialDecoder: frames of an Initial (RFC 9000 §12.4)', () => {
  it('PING, PADDING and both ACK types are skipped exactly', () => {
    const ack = Buffer.concat([Buffer.from([0x02]), varint(10), varint(3), varint(1), varint(2), varint(1), varint(1)])
    const ackEcn = Buffer.concat([Buffer.from([0x03]), varint(300), varint(0), varint(0), varint(0), varint(1), varint(2), varint(70000)])
    const frames = Buffer.concat([Buffer.from([0x01, 0x00, 0x00]), ack, ackEcn, cryptoFrame(0, VECTOR_HELLO), Buffer.from([0x01])])
    expect(decode(protectInitial({ frames })).statuses).toEqual([QuicStatus.Ok])
  })

  it('a truncated ACK is ProtocolError: a range count the payload cannot hold', () => {
    // each range needs ≥ 2 bytes; the PADDING zeros after the frame run out long before 1e6 ranges
    const frames = Buffer.concat([Buffer.from([0x02]), varint(10), varint(3), varint(1_000_000), varint(0)])
    expect(decode(protectInitial({ frames })).statuses).toEqual([QuicStatus.ProtocolError])
  })

  it('a STREAM frame (0x08) in an Initial is ProtocolError, and the flow stays refused', () => {
    const d = new QuicInitialDecoder()
    const g = protectInitial({ frames: Buffer.from([0x08, 0x00, 0x01, 0x61]) })
    expect(d.push(g, 0, g.length)).toBe(QuicStatus.ProtocolError)
    const ok = protectInitial({ pn: 1, frames: cryptoFrame(0, VECTOR_HELLO) })
    expect(d.push(ok, 0, ok.length)).toBe(QuicStatus.ProtocolError)
  })

  it('a frame type in a two-byte encoding (0x4006: CRYPTO, not minimal) is ProtocolError', () => {
    const frames = Buffer.concat([Buffer.from([0x40, 0x06]), cryptoFrame(0, VECTOR_HELLO).subarray(1)])
    expect(decode(protectInitial({ frames })).statuses).toEqual([QuicStatus.ProtocolError])
  })

  it('a CRYPTO frame longer than the payload is ProtocolError', () => {
    const frames = Buffer.concat([Buffer.from([0x06]), varint(0), varint(5000), VECTOR_HELLO])
    expect(decode(protectInitial({ frames })).statuses).toEqual([QuicStatus.ProtocolError])
  })

  it('a packet with no frame at all is ProtocolError (RFC 9000 §12.4)', () => {
    // a 4-byte packet number and the tag alone exactly cover the sample; zero bytes pad the datagram
    const empty = protectInitial({ frames: Buffer.alloc(0), pnLen: 4, padTo: 0 })
    expect(empty.length).toBe(1 + 4 + 1 + 8 + 1 + 1 + 2 + 4 + 16)
    expect(decode(Buffer.concat([empty, Buffer.alloc(1200 - empty.length)])).statuses).toEqual([QuicStatus.ProtocolError])
  })

  it('CONNECTION_CLOSE is ClientClosed', () => {
    const frames = Buffer.concat([Buffer.from([0x1c]), varint(0x0a), varint(0), varint(3), Buffer.from('bye')])
    expect(decode(protectInitial({ frames })).statuses).toEqual([QuicStatus.ClientClosed])
  })

  it('non-zero reserved bits after unprotection are ProtocolError (RFC 9000 §17.2)', () => {
    const g = protectInitial({ frames: cryptoFrame(0, VECTOR_HELLO), reservedBits: 0x08 })
    expect(decode(g).statuses).toEqual([QuicStatus.ProtocolError])
  })

  it('CRYPTO bytes past the end of the ClientHello are HelloMalformed', () => {
    const frames = cryptoFrame(0, Buffer.concat([VECTOR_HELLO, Buffer.from([1, 2, 3])]))
    expect(decode(protectInitial({ frames })).statuses).toEqual([QuicStatus.HelloMalformed])
  })

  it('a CRYPTO stream that is not a ClientHello is HelloMalformed; a hello without SNI is NoSni', () => {
    expect(decode(protectInitial({ frames: cryptoFrame(0, Buffer.from([2, 0, 0, 1, 0])) })).statuses).toEqual([QuicStatus.HelloMalformed])
    const noSni = buildClientHello({})
    expect(decode(protectInitial({ frames: cryptoFrame(0, noSni) })).statuses).toEqual([QuicStatus.NoSni])
  })
})

describe('packet number recovery (RFC 9000 Appendix A.3)', () => {
  it('the RFC example and the window edges', () => {
    expect(decodePacketNumber(0xa82f30ea, 0x9b32, 16)).toBe(0xa82f9b32)
    expect(decodePacketNumber(-1, 2, 32)).toBe(2)
    expect(decodePacketNumber(255, 0, 8)).toBe(256)
    expect(decodePacketNumber(300, 0xff, 8)).toBe(255)
    // the candidate falls a half window below the expected number: the next window's is closer
    expect(decodePacketNumber(0x1f0, 0x02, 8)).toBe(0x202)
  })
})
