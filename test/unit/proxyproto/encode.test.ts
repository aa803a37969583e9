/**
 * PROXY protocol encoder, byte-exact against HAProxy doc/proxy-protocol.txt: the §2.1 example line and
 * maximum-length lines, the §2.2 header layout written out field by field, TLVs per §2.2, and the
 * failure codes. The independent reader (proxy-protocol-js) checks the same headers in
 * test/property/proxyproto.prop.test.ts.
 */
import { describe, expect, it } from 'vitest'
import {
  appendTlv, appendTlvAscii, buildProxyHeader, encodeProxyHeader, parseIp, PpError, PROXY_HEADER_MAX_BYTES,
  PROXY_V1_MAX_BYTES, ProxyHeaderFields, writeIpText, writeProxyV1, writeProxyV1Unknown, writeProxyV2,
  writeProxyV2Local,
} from '../../../src/proxyproto/index.ts'

const SIG = '0d0a0d0a000d0a515549540a'

function hex (b: Uint8Array | number): string {
  if (typeof b === 'number') throw new Error('encoder returned error ' + String(b))
  return Buffer.from(b).toString('hex')
}

function v1 (src: string | undefined, sp: number, dst: string | undefined, dp: number): string {
  const buf = new Uint8Array(PROXY_V1_MAX_BYTES)
  const n = writeProxyV1(buf, 0, src, sp, dst, dp)
  expect(n).toBeGreaterThan(0)
  return Buffer.from(buf.subarray(0, n)).toString('latin1')
}

function fields (init: Partial<ProxyHeaderFields>): ProxyHeaderFields {
  return Object.assign(new ProxyHeaderFields(), init)
}

describe('v1 (§2.1)', () => {
  it('writes the spec\'s example line', () => {
    expect(v1('192.168.0.1', 56324, '192.168.0.11', 443)).toBe('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n')
  })

  it('writes the spec\'s longest TCP4 (56) and TCP6 (104) lines', () => {
    const l4 = v1('255.255.255.255', 65535, '255.255.255.255', 65535)
    expect(l4).toBe('PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n')
    expect(l4.length).toBe(56)
    const f = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'
    const l6 = v1(f, 65535, f.toUpperCase(), 65535)
    expect(l6).toBe('PROXY TCP6 ' + f + ' ' + f + ' 65535 65535\r\n')
    expect(l6.length).toBe(104)
  })

  it('writes the short UNKNOWN form (15 bytes) when the line cannot be filled', () => {
    expect(v1('192.0.2.1', 1, '2001:db8::1', 2)).toBe('PROXY UNKNOWN\r\n') // families differ
    expect(v1(undefined, 1, '192.0.2.1', 2)).toBe('PROXY UNKNOWN\r\n') // closed socket: no address
    expect(v1('192.0.2.1', 70000, '192.0.2.2', 2)).toBe('PROXY UNKNOWN\r\n')
    expect(v1('192.0.2.1', 1.5, '192.0.2.2', 2)).toBe('PROXY UNKNOWN\r\n')
    expect(v1('not an address', 1, '192.0.2.2', 2)).toBe('PROXY UNKNOWN\r\n')
    const buf = new Uint8Array(15)
    expect(writeProxyV1Unknown(buf, 0)).toBe(15)
    expect(Buffer.from(buf).toString('latin1')).toBe('PROXY UNKNOWN\r\n')
  })

  it('writes IPv4-mapped clients as TCP4 and IPv6 in RFC 5952 form', () => {
    expect(v1('::ffff:10.0.0.1', 40000, '::FFFF:10.0.0.2', 443)).toBe('PROXY TCP4 10.0.0.1 10.0.0.2 40000 443\r\n')
    expect(v1('2001:0DB8:0000:0000:0000:0000:0000:0001', 1, 'fe80::1%eth0', 0)).toBe('PROXY TCP6 2001:db8::1 fe80::1 1 0\r\n')
  })

  it('writes at an offset and reports NoRoom without writing past the end', () => {
    const buf = new Uint8Array(60).fill(0xaa)
    expect(writeProxyV1(buf, 10, '192.168.0.1', 1, '192.168.0.2', 2)).toBe(PpError.NoRoom) // needs 104 of room
    expect(writeProxyV1Unknown(buf, 50)).toBe(PpError.NoRoom)
    expect(buf.every((b) => b === 0xaa)).toBe(true)
    const big = new Uint8Array(200)
    const n = writeProxyV1(big, 90, '1.2.3.4', 5, '6.7.8.9', 10)
    expect(Buffer.from(big.subarray(90, 90 + n)).toString('latin1')).toBe('PROXY TCP4 1.2.3.4 6.7.8.9 5 10\r\n')
  })
})

describe('v2 (§2.2)', () => {
  it('writes TCP4 as signature, \\x21, \\x11, length 12, addresses, ports', () => {
    const buf = new Uint8Array(64)
    const n = writeProxyV2(buf, 0, '192.168.0.1', 56324, '192.168.0.11', 443)
    expect(n).toBe(28)
    expect(hex(buf.subarray(0, n))).toBe(SIG + '21' + '11' + '000c' + 'c0a80001' + 'c0a8000b' + 'dc04' + '01bb')
  })

  it('writes TCP6 with length 36', () => {
    const buf = new Uint8Array(64)
    const n = writeProxyV2(buf, 0, '2001:db8::1', 1, '2001:db8::2', 65535)
    expect(n).toBe(52)
    expect(hex(buf.subarray(0, n))).toBe(SIG + '21' + '21' + '0024' +
      '20010db8000000000000000000000001' + '20010db8000000000000000000000002' + '0001' + 'ffff')
  })

  it('maps the IPv4 side to ::ffff: when the families differ, and sends UNSPEC when an address is missing', () => {
    const buf = new Uint8Array(64)
    const n = writeProxyV2(buf, 0, '192.0.2.1', 7, '2001:db8::2', 8)
    expect(hex(buf.subarray(0, n))).toBe(SIG + '2121' + '0024' +
      '00000000000000000000ffffc0000201' + '20010db8000000000000000000000002' + '0007' + '0008')
    const m = writeProxyV2(buf, 0, undefined, 7, '192.0.2.1', 8)
    expect(hex(buf.subarray(0, m))).toBe(SIG + '2100' + '0000')
  })

  it('writes LOCAL as \\x20, UNSPEC, length 0 (a health check\'s header)', () => {
    expect(hex(buildProxyHeader(2, fields({ local: true })))).toBe(SIG + '2000' + '0000')
    const buf = new Uint8Array(16)
    expect(writeProxyV2Local(buf, 0)).toBe(16)
    expect(writeProxyV2Local(buf, 1)).toBe(PpError.NoRoom)
  })

  it('appends TLVs as type, uint16 length, value and keeps the length field in step', () => {
    const buf = new Uint8Array(128)
    let n = writeProxyV2(buf, 4, '10.0.0.1', 1000, '10.0.0.2', 443)
    expect(n).toBe(28)
    const sni = Buffer.from('xxshop.exampleyy')
    n = appendTlv(buf, 4, 0x02, sni, 2, 14)
    expect(n).toBe(28 + 3 + 12)
    n = appendTlvAscii(buf, 4, 0x05, 'conn-1')
    expect(n).toBe(43 + 3 + 6)
    expect(hex(buf.subarray(4, 4 + n))).toBe(SIG + '2111' + '0024' + '0a000001' + '0a000002' + '03e8' + '01bb' +
      '02' + '000c' + Buffer.from('shop.example').toString('hex') +
      '05' + '0006' + Buffer.from('conn-1').toString('hex'))
  })

  it('writes ALPN, AUTHORITY, UNIQUE_ID and the custom TLV from fields, in that order, each only when set', () => {
    const hello = Buffer.from('....h2....api.shop.example....')
    const f = fields({
      srcAddress: '198.51.100.7',
      srcPort: 50000,
      dstAddress: '203.0.113.1',
      dstPort: 443,
      alpnBuf: hello,
      alpnStart: 4,
      alpnEnd: 6,
      authorityBuf: hello,
      authorityStart: 10,
      authorityEnd: 26,
      uniqueId: '01JABCDEF',
      customType: 0xe4,
      customBuf: Buffer.from('t13d1516h2_8daaf6152771_e5627efa2ab1'),
      customStart: 0,
      customEnd: 36,
    })
    expect(hex(buildProxyHeader(2, f))).toBe(SIG + '2111' + (12 + 5 + 19 + 12 + 39).toString(16).padStart(4, '0') +
      'c6336407' + 'cb007101' + 'c350' + '01bb' +
      '010002' + '6832' +
      '020010' + Buffer.from('api.shop.example').toString('hex') +
      '050009' + Buffer.from('01JABCDEF').toString('hex') +
      'e40024' + Buffer.from('t13d1516h2_8daaf6152771_e5627efa2ab1').toString('hex'))
    f.reset()
    f.srcAddress = '198.51.100.7'
    f.dstAddress = '203.0.113.1'
    expect(hex(buildProxyHeader(2, f))).toBe(SIG + '2111000c' + 'c6336407' + 'cb007101' + '0000' + '0000')
  })

  it('refuses over-long values, bad types and non-ASCII ids, leaving the header unchanged', () => {
    const f = fields({ srcAddress: '10.0.0.1', dstAddress: '10.0.0.2', uniqueId: 'x'.repeat(129) })
    expect(buildProxyHeader(2, f)).toBe(PpError.TooLong)
    f.uniqueId = 'x'.repeat(128)
    expect(buildProxyHeader(2, f)).toBeInstanceOf(Uint8Array)
    f.uniqueId = 'é'
    expect(buildProxyHeader(2, f)).toBe(PpError.BadValue)
    f.uniqueId = ''
    f.customType = 0xf0
    f.customBuf = new Uint8Array(1)
    f.customEnd = 1
    expect(buildProxyHeader(2, f)).toBe(PpError.BadType)
    f.customType = 0
    f.authorityBuf = new Uint8Array(256)
    f.authorityEnd = 256
    expect(buildProxyHeader(2, f)).toBe(PpError.TooLong)

    const buf = new Uint8Array(40)
    const n = writeProxyV2(buf, 0, '10.0.0.1', 1, '10.0.0.2', 2)
    const before = hex(buf)
    expect(appendTlv(buf, 0, 0x02, new Uint8Array(20), 0, 20)).toBe(PpError.NoRoom)
    expect(appendTlv(buf, 0, 0x100, new Uint8Array(1), 0, 1)).toBe(PpError.BadType)
    expect(appendTlv(buf, 0, 0x02, new Uint8Array(4), 2, 5)).toBe(PpError.BadValue)
    expect(appendTlv(buf, 1, 0x02, new Uint8Array(1), 0, 1)).toBe(PpError.NotV2)
    expect(hex(buf)).toBe(before)
    expect(appendTlv(buf, 0, 0x04, new Uint8Array(0), 0, 0)).toBe(n + 3)

    const huge = new Uint8Array(70_000)
    expect(writeProxyV2Local(huge, 0)).toBe(16)
    expect(appendTlv(huge, 0, 0xe0, huge, 100, 100 + 65532)).toBe(16 + 65535)
    expect(appendTlv(huge, 0, 0xe0, huge, 0, 0)).toBe(PpError.TooLong)
  })

  it('never needs more than PROXY_HEADER_MAX_BYTES', () => {
    const f = fields({
      srcAddress: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
      srcPort: 65535,
      dstAddress: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe',
      dstPort: 65535,
      alpnBuf: new Uint8Array(255),
      alpnEnd: 255,
      authorityBuf: new Uint8Array(255),
      authorityEnd: 255,
      uniqueId: 'u'.repeat(128),
      customType: 0xef,
      customBuf: new Uint8Array(255),
      customEnd: 255,
    })
    const buf = new Uint8Array(PROXY_HEADER_MAX_BYTES)
    expect(encodeProxyHeader(2, f, buf, 0)).toBe(PROXY_HEADER_MAX_BYTES)
    expect(encodeProxyHeader(1, f, buf, 0)).toBe(104)
  })
})

describe('addresses', () => {
  const out = new Uint8Array(16)
  function text (s: string): string {
    const fam = parseIp(s, out, 0)
    if (fam === 0) return 'invalid'
    const b = new Uint8Array(64)
    return Buffer.from(b.subarray(0, writeIpText(b, 0, out, 0, fam))).toString('latin1')
  }

  it('prints IPv6 per RFC 5952 §4 (its examples)', () => {
    expect(text('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1') // §4.2.3 first of equal runs
    expect(text('2001:0db8::0001')).toBe('2001:db8::1') // §4.1 leading zeros
    expect(text('2001:db8::0:1')).toBe('2001:db8::1') // §4.2.1 shorten as much as possible
    expect(text('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1') // §4.2.2 one 0 group stays
    expect(text('2001:0:0:1:0:0:0:1')).toBe('2001:0:0:1::1') // §4.2.3 longest run
    expect(text('2001:DB8::AAAA')).toBe('2001:db8::aaaa') // §4.3 lower case
    expect(text('::')).toBe('::')
    expect(text('::1')).toBe('::1')
    expect(text('1::')).toBe('1::')
    expect(text('::1.2.3.4')).toBe('::102:304') // IPv4-compatible stays IPv6
    expect(text('64:ff9b::192.0.2.33')).toBe('64:ff9b::c000:221')
  })

  it('reports IPv4-mapped IPv6 as IPv4', () => {
    expect(parseIp('::ffff:192.0.2.1', out, 0)).toBe(4)
    expect([...out.subarray(0, 4)]).toEqual([192, 0, 2, 1])
    expect(parseIp('0:0:0:0:0:ffff:c000:201', out, 0)).toBe(4)
    expect([...out.subarray(0, 4)]).toEqual([192, 0, 2, 1])
    expect(parseIp('::fffe:192.0.2.1', out, 0)).toBe(6)
  })

  it('refuses what is not an address', () => {
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.256', '1..2.3', '1.2.3.4%eth0', ':::', '1:::2',
      '1::2::3', ':1::2', '1::2:', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8::', '1::2:3:4:5:6:7:8', '12345::', 'g::',
      '1.2.3.4::', '::1.2.3', '1:2:3:4:5:6:7:1.2.3.4', 'a'.repeat(65), 'localhost']) {
      expect(parseIp(bad, out, 0), bad).toBe(0)
    }
    expect(parseIp(undefined, out, 0)).toBe(0)
  })
})
