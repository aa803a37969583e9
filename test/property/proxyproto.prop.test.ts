/**
 * PROXY headers read back by an independent implementation: proxy-protocol-js (a maintained npm
 * package, devDependency) parses the v1 line and the v2 header and address block; the TLVs it hands
 * back undecoded (`data`) are walked here with DataView, code that shares nothing with the encoder.
 * Address text is checked against two other oracles: node:net `isIP` for what is an address, and the
 * WHATWG URL serializer (which compresses IPv6 exactly as RFC 5952) for the canonical text.
 * Fixed seed; FUZZ=1 runs 50× more cases.
 */
import fc from 'fast-check'
import { isIP } from 'node:net'
import { describe, expect, it } from 'vitest'
import { V1ProxyProtocol, V2ProxyProtocol, IPv4ProxyAddress, IPv6ProxyAddress } from 'proxy-protocol-js'
import { buildProxyHeader, parseIp, ProxyHeaderFields } from '../../src/proxyproto/index.ts'

const FUZZ = process.env.FUZZ !== undefined
function params (n: number): fc.Parameters<unknown> { return { seed: 42, numRuns: FUZZ ? n * 50 : n } }

const v4Bytes = fc.uint8Array({ minLength: 4, maxLength: 4 })
/** groups drawn from {0, 1, random} so that zero runs of every length and ties between them are common */
const v6Bytes = fc.array(fc.oneof(fc.constant(0), fc.constant(1), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 })
  .map((g) => new Uint8Array(g.flatMap((x) => [x >> 8, x & 0xff])))
  // keep mapped addresses out of the IPv6 arbitrary: they are IPv4 by design (address.ts)
  .filter((b) => !(b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff))
const port = fc.integer({ min: 0, max: 65535 })

function v4Text (b: Uint8Array): string { return [...b].join('.') }
function groups (b: Uint8Array): number[] { return Array.from({ length: 8 }, (_, g) => (b[g * 2]! << 8) | b[g * 2 + 1]!) }
/** one of several spellings of the same IPv6 address: full, zero-padded upper case, URL-compressed */
function v6Texts (b: Uint8Array): string[] {
  const g = groups(b)
  return [
    g.map((x) => x.toString(16)).join(':'),
    g.map((x) => x.toString(16).toUpperCase().padStart(4, '0')).join(':'),
    canonicalV6(b),
  ]
}
/** the WHATWG URL host serializer: RFC 5952's compression and case, written by someone else */
function canonicalV6 (b: Uint8Array): string {
  return new URL('http://[' + groups(b).map((x) => x.toString(16)).join(':') + ']/').hostname.slice(1, -1)
}

/** TLVs walked with DataView (§2.2 pp2_tlv), independent of the encoder */
function walkTlvs (data: Uint8Array): Array<{ type: number, value: Uint8Array }> {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  const out: Array<{ type: number, value: Uint8Array }> = []
  let p = 0
  while (p < data.byteLength) {
    const len = view.getUint16(p + 1)
    out.push({ type: view.getUint8(p), value: data.slice(p + 3, p + 3 + len) })
    p += 3 + len
  }
  expect(p).toBe(data.byteLength)
  return out
}

/** bytes of a length drawn uniformly (fast-check's own sizes stay small, and the v2 length field's high byte must be exercised) */
function bytesUpTo (min: number, max: number): fc.Arbitrary<Uint8Array> {
  return fc.integer({ min, max }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))
}
const tlvArb = fc.record({
  alpn: fc.option(bytesUpTo(1, 255), { nil: null }),
  authority: fc.option(bytesUpTo(0, 255), { nil: null }),
  uniqueId: fc.integer({ min: 0, max: 128 }).chain((n) => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: n, maxLength: n })),
  custom: fc.option(fc.record({ type: fc.integer({ min: 0xe0, max: 0xef }), value: bytesUpTo(0, 255) }), { nil: null }),
})

interface TlvInput { alpn: Uint8Array | null, authority: Uint8Array | null, uniqueId: string, custom: { type: number, value: Uint8Array } | null }

function setTlvs (f: ProxyHeaderFields, t: TlvInput): void {
  if (t.alpn !== null) { f.alpnBuf = t.alpn; f.alpnStart = 0; f.alpnEnd = t.alpn.length }
  if (t.authority !== null) { f.authorityBuf = t.authority; f.authorityStart = 0; f.authorityEnd = t.authority.length }
  f.uniqueId = t.uniqueId
  if (t.custom !== null) { f.customType = t.custom.type; f.customBuf = t.custom.value; f.customStart = 0; f.customEnd = t.custom.value.length }
}

function expectedTlvs (t: TlvInput): Array<{ type: number, value: Uint8Array }> {
  const out: Array<{ type: number, value: Uint8Array }> = []
  if (t.alpn !== null) out.push({ type: 0x01, value: t.alpn })
  if (t.authority !== null) out.push({ type: 0x02, value: t.authority })
  if (t.uniqueId !== '') out.push({ type: 0x05, value: new Uint8Array(Buffer.from(t.uniqueId, 'latin1')) })
  if (t.custom !== null) out.push({ type: t.custom.type, value: t.custom.value })
  return out
}

describe('PROXY headers read back by proxy-protocol-js', () => {
  const f = new ProxyHeaderFields()

  it('v1 TCP4: addresses and ports round trip', () => {
    fc.assert(fc.property(v4Bytes, v4Bytes, port, port, (s, d, sp, dp) => {
      f.reset()
      f.srcAddress = v4Text(s); f.srcPort = sp; f.dstAddress = v4Text(d); f.dstPort = dp
      const line = Buffer.from(buildProxyHeader(1, f) as Uint8Array).toString('latin1')
      expect(line.length).toBeLessThanOrEqual(107)
      const p = V1ProxyProtocol.parse(line)
      expect(p.inetProtocol).toBe('TCP4')
      expect([p.source.ipAddress, p.source.port, p.destination.ipAddress, p.destination.port]).toEqual([v4Text(s), sp, v4Text(d), dp])
      expect(p.data).toBe('')
    }), params(300))
  })

  it('v1 TCP6: any spelling in, the RFC 5952 text out', () => {
    fc.assert(fc.property(v6Bytes, v6Bytes, port, port, fc.nat(2), (s, d, sp, dp, form) => {
      f.reset()
      f.srcAddress = v6Texts(s)[form]; f.srcPort = sp; f.dstAddress = v6Texts(d)[form]; f.dstPort = dp
      const line = Buffer.from(buildProxyHeader(1, f) as Uint8Array).toString('latin1')
      expect(line.length).toBeLessThanOrEqual(104)
      const p = V1ProxyProtocol.parse(line)
      expect(p.inetProtocol).toBe('TCP6')
      expect([p.source.ipAddress, p.source.port, p.destination.ipAddress, p.destination.port]).toEqual([canonicalV6(s), sp, canonicalV6(d), dp])
    }), params(300))
  })

  it('v2: command, family, addresses, ports and every TLV round trip', () => {
    const addr = fc.oneof(v4Bytes, v6Bytes)
    fc.assert(fc.property(addr, addr, port, port, tlvArb, fc.boolean(), (s, d, sp, dp, tlvs, local) => {
      f.reset()
      f.local = local
      f.srcAddress = s.length === 4 ? v4Text(s) : v6Texts(s)[0]; f.srcPort = sp
      f.dstAddress = d.length === 4 ? v4Text(d) : v6Texts(d)[2]; f.dstPort = dp
      setTlvs(f, tlvs)
      const bytes = buildProxyHeader(2, f) as Uint8Array
      const p = V2ProxyProtocol.parse(bytes)
      // §2.2: the whole header is exactly 16 + the length field
      expect(bytes.length).toBe(16 + ((bytes[14]! << 8) | bytes[15]!))
      if (local) {
        expect(p.command).toBe(0x0) // LOCAL
        expect(bytes[13]).toBe(0x00) // UNSPEC
      } else {
        expect(p.command).toBe(0x1) // PROXY
        if (s.length === 4 && d.length === 4) {
          expect(p.proxyAddress).toBeInstanceOf(IPv4ProxyAddress)
          const a = p.proxyAddress as IPv4ProxyAddress
          expect([a.sourceAddress.address, a.destinationAddress.address]).toEqual([[...s], [...d]])
          expect([a.sourcePort, a.destinationPort]).toEqual([sp, dp])
        } else {
          expect(p.proxyAddress).toBeInstanceOf(IPv6ProxyAddress)
          const a = p.proxyAddress as IPv6ProxyAddress
          const as6 = (b: Uint8Array): number[] => b.length === 16 ? [...b] : [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...b]
          expect([a.sourceAddress.address, a.destinationAddress.address]).toEqual([as6(s), as6(d)])
          expect([a.sourcePort, a.destinationPort]).toEqual([sp, dp])
        }
      }
      expect(walkTlvs(p.data!)).toEqual(expectedTlvs(tlvs))
    }), params(400))
  })
})

describe('parseIp against node:net isIP', () => {
  const out = new Uint8Array(16)
  it('accepts exactly what isIP accepts (zone ids aside), on strings built from address characters', () => {
    const chars = fc.constantFrom(...'0123456789abcdefABCDEF:.'.split(''), '::', '255', '256', 'ffff', '0', '00', '01', '.1', ':1')
    const dotted = fc.array(fc.constantFrom('0', '1', '01', '00', '255', '256', '1000', ''), { minLength: 3, maxLength: 5 }).map((a) => a.join('.'))
    const text = fc.oneof(fc.array(chars, { maxLength: 20 }).map((a) => a.join('')), dotted, dotted.map((d) => '::ffff:' + d))
    fc.assert(fc.property(text, (s) => {
      expect(parseIp(s, out, 0) !== 0, s).toBe(isIP(s) !== 0)
    }), params(3000))
  })

  it('parses every spelling of random addresses to their bytes', () => {
    fc.assert(fc.property(v6Bytes, fc.nat(2), (b, form) => {
      expect(parseIp(v6Texts(b)[form], out, 0)).toBe(6)
      expect([...out]).toEqual([...b])
    }), params(300))
  })
})
