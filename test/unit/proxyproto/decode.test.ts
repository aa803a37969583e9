/**
 * PROXY protocol reader (HAProxy doc/proxy-protocol.txt): the spec's own v1 example and limits, v2 headers
 * written out byte by byte, every rejection the issue names (truncated, wrong signature, v1 > 107 bytes,
 * v2 over the cap, LOCAL, unknown families), every split point of valid headers, a round trip through
 * hellogate's encoder, and headers built by an independent implementation (proxy-protocol-js).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  Command, INETProtocol, IPv4Address, IPv4ProxyAddress, IPv6Address, IPv6ProxyAddress, Peer, TransportProtocol,
  UnspecProxyAddress, V1ProxyProtocol, V2ProxyProtocol,
} from 'proxy-protocol-js'
import {
  ACCEPT_V1, ACCEPT_V2, buildProxyHeader, decodeProxyHeader, DEFAULT_MAX_V2_PAYLOAD, PpStatus, ProxyHeaderDecoder,
  ProxyHeaderFields, ProxyHeaderInfo, proxyAddressText,
} from '../../../src/proxyproto/index.ts'

const BOTH = ACCEPT_V1 | ACCEPT_V2
const SIG = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]
const HELLO = [0x16, 0x03, 0x01, 0x00, 0x05] // the client's bytes after the header

function decode (bytes: Uint8Array | number[] | string, accept = BOTH, cap = DEFAULT_MAX_V2_PAYLOAD): { s: PpStatus, info: ProxyHeaderInfo } {
  const b = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Uint8Array.from(bytes)
  const info = new ProxyHeaderInfo()
  return { s: decodeProxyHeader(b, 0, b.length, accept, cap, info), info }
}

function v2 (cmd: number, fam: number, payload: number[]): number[] {
  return [...SIG, cmd, fam, payload.length >> 8, payload.length & 0xff, ...payload]
}
const TCP4_BLOCK = [192, 0, 2, 1, 198, 51, 100, 7, 0xdc, 0x04, 0x01, 0xbb] // 192.0.2.1:56324 → 198.51.100.7:443

describe('v1 (§2.1)', () => {
  it('reads the spec\'s example line and stops at its CRLF', () => {
    const line = 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n'
    const { s, info } = decode([...Buffer.from(line, 'latin1'), ...HELLO])
    expect(s).toBe(PpStatus.Ok)
    expect(info.version).toBe(1)
    expect(info.headerLength).toBe(line.length)
    expect(info.family).toBe(4)
    expect([...info.srcAddr.subarray(0, 4)]).toEqual([192, 168, 0, 1])
    expect([proxyAddressText(info, 'src'), info.srcPort, proxyAddressText(info, 'dst'), info.dstPort]).toEqual(['192.168.0.1', 56324, '192.168.0.11', 443])
  })

  it('TCP6, UNKNOWN (anything after it ignored), and the 107-byte worst case', () => {
    const six = decode('PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n')
    expect(six.s).toBe(PpStatus.Ok)
    expect([six.info.family, proxyAddressText(six.info, 'src'), six.info.dstPort]).toEqual([6, '2001:db8::1', 65535])
    expect(decode('PROXY UNKNOWN\r\n').info.family).toBe(0)
    expect(decode('PROXY UNKNOWN\r\n').s).toBe(PpStatus.Ok)
    const ffff = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'
    const longest = 'PROXY UNKNOWN ' + ffff + ' ' + ffff + ' 65535 65535\r\n'
    expect(longest.length).toBe(107)
    expect(decode(longest).s).toBe(PpStatus.Ok)
  })

  it('a line longer than 107 bytes is TooLong, decided at byte 107 without waiting for more', () => {
    const ffff = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'
    const tooLong = 'PROXY UNKNOWN ' + ffff + ' ' + ffff + ' 65535 655350\r\n'
    expect(tooLong.length).toBe(108)
    expect(decode(tooLong).s).toBe(PpStatus.TooLong)
    expect(decode('PROXY ' + 'x'.repeat(101)).s).toBe(PpStatus.TooLong) // 107 bytes, no CRLF yet
    expect(decode('PROXY ' + 'x'.repeat(100)).s).toBe(PpStatus.NeedMore) // 106: the CRLF may still come
  })

  it.each([
    ['bare LF', 'PROXY TCP4 192.0.2.1 192.0.2.2 1 2\n'],
    ['lower-case proxy', 'proxy TCP4 192.0.2.1 192.0.2.2 1 2\r\n'],
    ['unknown protocol', 'PROXY UDP4 192.0.2.1 192.0.2.2 1 2\r\n'],
    ['TCP4 with IPv6', 'PROXY TCP4 2001:db8::1 2001:db8::2 1 2\r\n'],
    ['TCP6 with IPv4', 'PROXY TCP6 192.0.2.1 192.0.2.2 1 2\r\n'],
    ['leading zero in an address', 'PROXY TCP4 192.0.2.01 192.0.2.2 1 2\r\n'],
    ['zone id', 'PROXY TCP6 fe80::1%eth0 fe80::2 1 2\r\n'],
    ['port above 65535', 'PROXY TCP4 192.0.2.1 192.0.2.2 65536 2\r\n'],
    ['port with a leading zero', 'PROXY TCP4 192.0.2.1 192.0.2.2 080 2\r\n'],
    ['missing port', 'PROXY TCP4 192.0.2.1 192.0.2.2 1\r\n'],
    ['two spaces', 'PROXY TCP4  192.0.2.1 192.0.2.2 1 2\r\n'],
    ['trailing field', 'PROXY TCP4 192.0.2.1 192.0.2.2 1 2 3\r\n'],
    ['UNKNOWNX', 'PROXY UNKNOWNX\r\n'],
  ])('%s → Malformed', (_what, line) => {
    const r = decode(line)
    expect(r.s).toBe(PpStatus.Malformed)
    expect(r.info.family).toBe(0) // nothing half-filled survives a rejection
  })
})

describe('v2 (§2.2)', () => {
  it('PROXY TCP4 with TLVs kept as offsets into the buffer', () => {
    const tlvs = [0xe3, 0x00, 0x02, 0x61, 0x62, 0x01, 0x00, 0x02, 0x68, 0x32]
    const bytes = [...v2(0x21, 0x11, [...TCP4_BLOCK, ...tlvs]), ...HELLO]
    const { s, info } = decode(bytes)
    expect(s).toBe(PpStatus.Ok)
    expect([info.version, info.local, info.family, info.headerLength]).toEqual([2, false, 4, 16 + 12 + tlvs.length])
    expect([proxyAddressText(info, 'src'), info.srcPort, proxyAddressText(info, 'dst'), info.dstPort]).toEqual(['192.0.2.1', 56324, '198.51.100.7', 443])
    expect(bytes.slice(info.tlvStart, info.tlvEnd)).toEqual(tlvs)
  })

  it('PROXY TCP6; IPv4-mapped on both sides reads as IPv4', () => {
    const a = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    const b = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]
    const six = decode(v2(0x21, 0x21, [...a, ...b, 0, 1, 0, 2]))
    expect([six.s, six.info.family, proxyAddressText(six.info, 'src'), proxyAddressText(six.info, 'dst'), six.info.tlvStart]).toEqual([PpStatus.Ok, 6, '2001:db8::1', '2001:db8::2', -1])
    const m = (x: number): number[] => [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, x]
    const mapped = decode(v2(0x21, 0x21, [...m(1), ...m(2), 0, 1, 0, 2]))
    expect([mapped.info.family, proxyAddressText(mapped.info, 'src'), proxyAddressText(mapped.info, 'dst')]).toEqual([4, '192.0.2.1', '192.0.2.2'])
  })

  it('LOCAL: Ok, no address (the real endpoints stand), whatever the family and block say', () => {
    for (const fam of [0x00, 0x11, 0x21, 0x31]) {
      const { s, info } = decode(v2(0x20, fam, fam === 0x11 ? TCP4_BLOCK : []))
      expect([s, info.local, info.family, info.headerLength], 'family ' + fam.toString(16)).toEqual([PpStatus.Ok, true, 0, fam === 0x11 ? 28 : 16])
    }
  })

  it('PROXY with UNSPEC: Ok without an address; its TLVs still kept', () => {
    const { s, info } = decode(v2(0x21, 0x00, [0xe0, 0, 1, 7]))
    expect([s, info.family, info.tlvStart, info.tlvEnd]).toEqual([PpStatus.Ok, 0, 16, 20])
  })

  it('UNIX and UDP families → Unsupported; families and transports outside the spec → Malformed', () => {
    expect(decode(v2(0x21, 0x31, new Array(216).fill(0))).s).toBe(PpStatus.Unsupported) // UNIX stream
    expect(decode(v2(0x21, 0x32, new Array(216).fill(0))).s).toBe(PpStatus.Unsupported) // UNIX dgram
    expect(decode(v2(0x21, 0x12, TCP4_BLOCK)).s).toBe(PpStatus.Unsupported) // UDP over IPv4
    expect(decode(v2(0x21, 0x10, TCP4_BLOCK)).s).toBe(PpStatus.Unsupported) // INET, transport UNSPEC
    expect(decode(v2(0x21, 0x41, TCP4_BLOCK)).s).toBe(PpStatus.Malformed) // family 4 does not exist
    expect(decode(v2(0x21, 0x13, TCP4_BLOCK)).s).toBe(PpStatus.Malformed) // transport 3 does not exist
  })

  it('bad version, bad command, short address block, overrunning TLV → Malformed', () => {
    expect(decode(v2(0x11, 0x11, TCP4_BLOCK)).s).toBe(PpStatus.Malformed) // version 1 in a v2 header
    expect(decode(v2(0x22, 0x11, TCP4_BLOCK)).s).toBe(PpStatus.Malformed) // command 2
    expect(decode(v2(0x21, 0x11, TCP4_BLOCK.slice(0, 11))).s).toBe(PpStatus.Malformed)
    expect(decode(v2(0x21, 0x21, new Array(35).fill(1))).s).toBe(PpStatus.Malformed)
    expect(decode(v2(0x21, 0x11, [...TCP4_BLOCK, 0xe0, 0x00, 0x05, 1, 2])).s).toBe(PpStatus.Malformed)
    expect(decode(v2(0x21, 0x11, [...TCP4_BLOCK, 0xe0, 0x00])).s).toBe(PpStatus.Malformed)
  })

  it('a length above the cap is TooLong as soon as the 16-byte fixed part is in', () => {
    const fixed = [...SIG, 0x21, 0x11, (DEFAULT_MAX_V2_PAYLOAD + 1) >> 8, (DEFAULT_MAX_V2_PAYLOAD + 1) & 0xff]
    expect(decode(fixed).s).toBe(PpStatus.TooLong)
    expect(decode(fixed.slice(0, 15)).s).toBe(PpStatus.NeedMore)
    const atCap = v2(0x21, 0x11, [...TCP4_BLOCK, 0xe0, (DEFAULT_MAX_V2_PAYLOAD - 15) >> 8, (DEFAULT_MAX_V2_PAYLOAD - 15) & 0xff, ...new Array(DEFAULT_MAX_V2_PAYLOAD - 15).fill(0)])
    expect(atCap.length).toBe(16 + DEFAULT_MAX_V2_PAYLOAD)
    expect(decode(atCap).s).toBe(PpStatus.Ok)
    expect(decode(v2(0x21, 0x11, TCP4_BLOCK), BOTH, 11).s).toBe(PpStatus.TooLong) // a caller's own cap
    expect(decode([...SIG, 0x21, 0x11, 0xff, 0xff], BOTH, 1e9).s).toBe(PpStatus.NeedMore) // capped at 65535, not beyond
  })
})

describe('signatures, versions not accepted, truncation', () => {
  it('wrong signature: Malformed at the first byte that differs', () => {
    expect(decode([0x16, 0x03, 0x01]).s).toBe(PpStatus.Malformed) // a TLS hello without a header
    expect(decode('GET / HTTP/1.1\r\n').s).toBe(PpStatus.Malformed)
    expect(decode('PROXI').s).toBe(PpStatus.Malformed)
    expect(decode([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x55]).s).toBe(PpStatus.Malformed)
  })

  it('a version the listener does not accept → Unsupported', () => {
    expect(decode('PROXY UNKNOWN\r\n', ACCEPT_V2).s).toBe(PpStatus.Unsupported)
    expect(decode(v2(0x20, 0x00, []), ACCEPT_V1).s).toBe(PpStatus.Unsupported)
  })

  it('every proper prefix of a valid header is NeedMore (truncated)', () => {
    for (const h of [Buffer.from('PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n'), Buffer.from(v2(0x21, 0x11, [...TCP4_BLOCK, 0xe0, 0, 1, 9]))]) {
      for (let n = 0; n < h.length; n++) expect(decode(h.subarray(0, n)).s, 'prefix ' + String(n)).toBe(PpStatus.NeedMore)
    }
  })
})

describe('ProxyHeaderDecoder (bytes split anywhere)', () => {
  const headers: [string, Uint8Array][] = [
    ['v1 TCP4', Buffer.from('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n')],
    ['v1 TCP6', Buffer.from('PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n')],
    ['v2 TCP4 + TLVs', Uint8Array.from(v2(0x21, 0x11, [...TCP4_BLOCK, 0xe3, 0, 2, 0x61, 0x62]))],
    ['v2 LOCAL', Uint8Array.from(v2(0x20, 0x00, []))],
  ]

  it.each(headers)('%s: at every split point (and byte by byte) the same result, restOffset at the client\'s bytes', (_name, h) => {
    const wire = Uint8Array.from([...h, ...HELLO])
    const whole = decode(wire).info
    /** `lastAt`: where the last chunk pushed starts in `wire` */
    const check = (d: ProxyHeaderDecoder, lastAt: number, what: string): void => {
      expect(d.info.headerLength, what).toBe(h.length)
      expect([d.info.family, d.info.srcPort, d.info.dstPort, d.info.local], what).toEqual([whole.family, whole.srcPort, whole.dstPort, whole.local])
      expect(d.info.srcAddr, what).toEqual(whole.srcAddr)
      expect(lastAt + d.info.restOffset, what).toBe(h.length) // the client's bytes start right after the header
      if (whole.tlvStart >= 0) expect([...d.info.tlvBuf!.subarray(d.info.tlvStart, d.info.tlvEnd)], what).toEqual([...wire.subarray(whole.tlvStart, whole.tlvEnd)])
    }
    for (let cut = 1; cut < wire.length; cut++) {
      const d = new ProxyHeaderDecoder()
      const a = wire.slice(0, cut)
      const b = wire.slice(cut)
      const s1 = d.push(a)
      if (cut >= h.length) { expect(s1).toBe(PpStatus.Ok); check(d, 0, 'cut ' + String(cut)); continue }
      expect(s1, 'cut ' + String(cut)).toBe(PpStatus.NeedMore)
      expect(d.push(b), 'cut ' + String(cut)).toBe(PpStatus.Ok)
      check(d, cut, 'cut ' + String(cut))
    }
    const d = new ProxyHeaderDecoder()
    let s: PpStatus = PpStatus.NeedMore
    let k = 0
    for (; k < wire.length && s === PpStatus.NeedMore; k++) s = d.push(wire.slice(k, k + 1))
    expect([s, k]).toEqual([PpStatus.Ok, h.length])
    expect(d.info.restOffset).toBe(1) // the header's last byte was the whole chunk
  })

  it('keeps its verdict, refuses early, and never gathers more than its largest header', () => {
    const d = new ProxyHeaderDecoder(BOTH, 64)
    expect(d.maxHeaderBytes()).toBe(107)
    expect(d.push(Uint8Array.from(SIG))).toBe(PpStatus.NeedMore)
    expect(d.push(Uint8Array.from([0x21, 0x11, 0x00, 65]))).toBe(PpStatus.TooLong)
    expect(d.push(Uint8Array.from(HELLO))).toBe(PpStatus.TooLong)
    d.reset()
    expect(d.push(Buffer.from('PROXY '))).toBe(PpStatus.NeedMore)
    expect(d.push(Buffer.alloc(4096, 0x41))).toBe(PpStatus.TooLong)
  })
})

describe('round trips', () => {
  it('hellogate\'s encoder → decoder: v1 and v2, IPv4 and IPv6, LOCAL, TLVs', () => {
    const f = new ProxyHeaderFields()
    const cases: [string, number, string, number][] = [['192.0.2.1', 40000, '198.51.100.7', 443], ['2001:db8::5', 1, '2001:db8::6', 443], ['::ffff:192.0.2.9', 5, '192.0.2.10', 443]]
    for (const [src, sp, dst, dp] of cases) {
      for (const version of [1, 2] as const) {
        f.reset()
        f.srcAddress = src; f.srcPort = sp; f.dstAddress = dst; f.dstPort = dp
        f.uniqueId = 'conn-1'
        const bytes = buildProxyHeader(version, f) as Uint8Array
        const { s, info } = decode(bytes)
        expect(s).toBe(PpStatus.Ok)
        expect(info.headerLength).toBe(bytes.length)
        const norm = (a: string): string => a.startsWith('::ffff:') ? a.slice(7) : a
        expect([proxyAddressText(info, 'src'), info.srcPort, proxyAddressText(info, 'dst'), info.dstPort]).toEqual([norm(src), sp, dst, dp])
        if (version === 2) expect([...bytes.subarray(info.tlvStart, info.tlvEnd)]).toEqual([0x05, 0, 6, ...Buffer.from('conn-1')])
      }
    }
    f.reset()
    f.local = true
    expect(decode(buildProxyHeader(2, f) as Uint8Array).info.local).toBe(true)
    expect(decode(buildProxyHeader(1, f) as Uint8Array).info.family).toBe(0) // v1 has no LOCAL: UNKNOWN
  })

  it('headers built by proxy-protocol-js (an independent writer)', () => {
    const l1 = new V1ProxyProtocol(INETProtocol.TCP4, new Peer('10.1.2.3', 12345), new Peer('10.0.0.1', 443)).build()
    const r1 = decode(l1)
    expect([r1.s, proxyAddressText(r1.info, 'src'), r1.info.srcPort, r1.info.headerLength]).toEqual([PpStatus.Ok, '10.1.2.3', 12345, l1.length])
    const l6 = new V1ProxyProtocol(INETProtocol.TCP6, new Peer('2001:db8::a', 1), new Peer('2001:db8::b', 2)).build()
    expect(proxyAddressText(decode(l6).info, 'dst')).toBe('2001:db8::b')

    // its `data` is what follows the header on the wire (the client's bytes), not TLVs
    const b4 = new V2ProxyProtocol(Command.PROXY, TransportProtocol.STREAM,
      new IPv4ProxyAddress(IPv4Address.createFrom([203, 0, 113, 5]), 55555, IPv4Address.createFrom([10, 0, 0, 1]), 443), Uint8Array.from(HELLO)).build()
    const r4 = decode(b4)
    expect([r4.s, r4.info.family, proxyAddressText(r4.info, 'src'), r4.info.srcPort, r4.info.dstPort, r4.info.tlvStart]).toEqual([PpStatus.Ok, 4, '203.0.113.5', 55555, 443, -1])
    expect([...b4.subarray(r4.info.headerLength)]).toEqual(HELLO)

    const a6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42]
    const b6 = new V2ProxyProtocol(Command.PROXY, TransportProtocol.STREAM,
      new IPv6ProxyAddress(IPv6Address.createFrom(a6), 7, IPv6Address.createFrom(a6), 8)).build()
    expect(proxyAddressText(decode(b6).info, 'src')).toBe('2001:db8::42')

    const local = new V2ProxyProtocol(Command.LOCAL, TransportProtocol.UNSPEC, new UnspecProxyAddress()).build()
    expect(decode(local).info.local).toBe(true)
  })
})

describe('arbitrary bytes', () => {
  it('never throw, and two pieces give the whole input\'s verdict (fast-check, fixed seed)', () => {
    const sigPrefix = fc.constantFrom([], SIG, [...SIG, 0x21], [...SIG, 0x21, 0x11], [...Buffer.from('PROXY ')], [...Buffer.from('PROXY TCP4 ')])
    // lengths drawn uniformly: fast-check's own sizes stay small, and v1 verdicts need 107 bytes
    const tail = fc.integer({ min: 0, max: 160 }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))
    fc.assert(fc.property(sigPrefix, tail, fc.nat(), (prefix, tail, cutSeed) => {
      const bytes = Uint8Array.from([...prefix, ...tail])
      const whole = decode(bytes).s
      expect(Object.values(PpStatus)).toContain(whole)
      if (whole === PpStatus.NeedMore || bytes.length < 2) return
      const cut = 1 + (cutSeed % (bytes.length - 1))
      const d = new ProxyHeaderDecoder()
      let s = d.push(bytes.slice(0, cut))
      if (s === PpStatus.NeedMore) s = d.push(bytes.slice(cut))
      expect(s).toBe(whole)
    }), { seed: 7, numRuns: 2000 })
  })
})
