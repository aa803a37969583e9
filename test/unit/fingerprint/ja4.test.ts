import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  isGrease, JA4_LENGTH, Ja4Error, ja4RawMaxBytes, ja4RawString, ja4String, writeJa4, writeJa4Raw,
} from '../../../src/fingerprint/index.ts'
import { HelloInfo, HelloStatus, parseClientHello } from '../../../src/hello/index.ts'
import { buildClientHello } from '../../helpers/build-hello.ts'
import { feedByteByByte, feedWhole } from '../../helpers/feed.ts'
import { handshakeOf, loadRealHellos } from '../../helpers/hello-fixtures.ts'

/**
 * A ClientHello with exactly the ciphers and extensions given, in that order (the shared builder always adds
 * its own extensions, which the JA4 vectors cannot have). Test-only: allocates freely.
 */
function rawHello (o: { version?: number, ciphers: number[], exts: { type: number, data?: number[] }[] }): Buffer {
  const body: number[] = []
  const u16 = (v: number): void => { body.push(v >> 8, v & 0xff) }
  u16(o.version ?? 0x0303)
  for (let i = 0; i < 32; i++) body.push(i)
  body.push(0) // empty session id
  u16(o.ciphers.length * 2)
  for (const c of o.ciphers) u16(c)
  body.push(1, 0) // compression: null
  const ext: number[] = []
  for (const e of o.exts) {
    const d = e.data ?? []
    ext.push(e.type >> 8, e.type & 0xff, d.length >> 8, d.length & 0xff, ...d)
  }
  u16(ext.length)
  body.push(...ext)
  return Buffer.from([1, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff, ...body])
}

const u16s = (vs: number[]): number[] => vs.flatMap((v) => [v >> 8, v & 0xff])
const sigAlgs = (vs: number[]): number[] => [...u16s([vs.length * 2]), ...u16s(vs)]
const versions = (vs: number[]): number[] => [vs.length * 2, ...u16s(vs)]
function alpn (...names: (string | number[])[]): number[] {
  const list = names.flatMap((n) => { const b = typeof n === 'string' ? [...Buffer.from(n, 'latin1')] : n; return [b.length, ...b] })
  return [...u16s([list.length]), ...list]
}
function sni (name: string): number[] {
  const b = [...Buffer.from(name, 'latin1')]
  return [...u16s([b.length + 3]), 0, ...u16s([b.length]), ...b]
}

/**
 * JA4.md "Example" / "Raw Output": JA4_ro gives the hello's ciphers and extensions in wire order; the
 * signature algorithms are 0403,0804,0401,0503,0805,0501,0806,0601. GREASE is added in every list (a cipher,
 * two extensions, a version, a signature algorithm) and must change nothing.
 */
const SPEC_CIPHERS = [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035]
const SPEC_SIGS = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]
function specHello (o: { sigs?: number[], grease?: boolean } = {}): Buffer {
  const g = o.grease ?? true
  const extOrder = [0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015]
  const exts = extOrder.map((type) => {
    switch (type) {
      case 0x0000: return { type, data: sni('clientservices.googleapis.com') }
      case 0x0010: return { type, data: alpn('h2', 'http/1.1') }
      case 0x000d: return { type, data: sigAlgs(o.sigs ?? (g ? [0x1a1a, ...SPEC_SIGS] : SPEC_SIGS)) }
      case 0x002b: return { type, data: versions(g ? [0x2a2a, 0x0304, 0x0303] : [0x0304, 0x0303]) }
      default: return { type }
    }
  })
  return rawHello({
    ciphers: g ? [0x0a0a, ...SPEC_CIPHERS] : SPEC_CIPHERS,
    exts: g ? [{ type: 0x3a3a }, ...exts, { type: 0xfafa, data: [0] }] : exts,
  })
}

const ja4 = (hs: Uint8Array): string | null => ja4String(hs, 0, hs.length)
const raw = (hs: Uint8Array): string | null => ja4RawString(hs, 0, hs.length)

describe('JA4 against the specification (FoxIO technical_details/JA4.md)', () => {
  it('the published example: t13d1516h2_8daaf6152771_e5627efa2ab1 and its JA4_r, GREASE ignored everywhere', () => {
    const hs = specHello()
    expect(parseClientHello(hs, 0, hs.length, new HelloInfo())).toBe(HelloStatus.Ok) // a hello hellogate accepts
    expect(ja4(hs)).toBe('t13d1516h2_8daaf6152771_e5627efa2ab1')
    expect(raw(hs)).toBe('t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601')
    expect(ja4(specHello({ grease: false }))).toBe('t13d1516h2_8daaf6152771_e5627efa2ab1')
  })

  it('no signature algorithms: the list ends without `_` (the spec\'s 6d807ffa2a79)', () => {
    expect(ja4(specHello({ sigs: [] }))).toBe('t13d1516h2_8daaf6152771_6d807ffa2a79')
    expect(ja4(specHello({ sigs: [0x0a0a] }))).toBe('t13d1516h2_8daaf6152771_6d807ffa2a79') // only GREASE = none
    expect(raw(specHello({ sigs: [] }))).toMatch(/_0005,000a,[0-9a-f,]*,4469,ff01$/)
  })

  it('ALPN: first/last character, the hex rule for non-alphanumeric ends, one character, none', () => {
    const a = (...names: (string | number[])[]): string => ja4(rawHello({ ciphers: [0x1301], exts: [{ type: 0x0010, data: alpn(...names) }, { type: 0x0017 }] }))!.slice(8, 10)
    expect(a('h2', 'http/1.1')).toBe('h2')
    expect(a('http/1.1')).toBe('h1')
    expect(a('x')).toBe('xx')
    // the spec's five hex examples
    expect(a([0xab])).toBe('ab')
    expect(a([0xab, 0xcd])).toBe('ad')
    expect(a([0x30, 0xab])).toBe('3b')
    expect(a([0x30, 0x31, 0xab, 0xcd])).toBe('3d')
    expect(a([0x30, 0xab, 0xcd, 0x31])).toBe('01')
    expect(ja4(rawHello({ ciphers: [0x1301], exts: [{ type: 0x0017 }] }))!.slice(8, 10)).toBe('00')
  })

  it('version: highest non-GREASE supported_versions, else legacy_version; the version table', () => {
    const v = (legacy: number, supported?: number[]): string => ja4(rawHello({
      version: legacy, ciphers: [0x1301], exts: supported === undefined ? [{ type: 0x0017 }] : [{ type: 0x002b, data: versions(supported) }],
    }))!.slice(1, 3)
    expect(v(0x0303, [0x0303, 0x0304, 0x7a7a])).toBe('13') // highest, not first, and GREASE 0x7a7a > 0x0304 ignored
    expect(v(0x0303)).toBe('12')
    expect(v(0x0302)).toBe('11')
    expect(v(0x0301)).toBe('10')
    expect(v(0x0300)).toBe('s3')
    expect(v(0x0303, [0x0302])).toBe('11') // supported_versions wins over legacy_version
    expect(v(0x0305)).toBe('00')
    expect(v(0x0303, [0x0a0a])).toBe('12') // only GREASE: as if absent
  })
})

describe('JA4 of the captured real hellos (test/fixtures/hello)', () => {
  /**
   * Independent values: read-tls-client-hello 2.0.0 (httptoolkit, its own parser and node:crypto hashing)
   * `calculateJa4`, run once over each fixture's handshake in one record. chromium's value is also FoxIO's
   * own: the Rust reference's snapshot ja4__insta@sigalg-grease.pcapng.snap (a Chromium capture) records
   * `t13d1517h2_8daaf6152771_cb7bf5808d99`. (That package simplifies the spec where these hellos do not
   * reach: version `13` whenever supported_versions exists, no ALPN hex rule, no count cap.)
   */
  const EXPECTED: Record<string, string> = {
    'openssl.bin': 't13d3111h2_e8f1e7e78f70_1f22a2ca17c4',
    'curl.bin': 't13d3112h2_e8f1e7e78f70_b26ce05bbdd6',
    'node.bin': 't13d5212h2_b262b3658495_8e6e362c5eac',
    'gnutls.bin': 't13d2914h2_723694b0fccc_2cc26d266019',
    'chromium.bin': 't13d1517h2_8daaf6152771_cb7bf5808d99',
    'split-records.bin': 't13d1517h2_8daaf6152771_cb7bf5808d99',
  }
  const hellos = loadRealHellos()

  it('covers every fixture', () => {
    expect(hellos.map((h) => h.file).sort()).toEqual(Object.keys(EXPECTED).sort())
  })

  it.each(hellos)('$file: JA4 equals the independent value', (h) => {
    expect(ja4(handshakeOf(h.wire))).toBe(EXPECTED[h.file])
  })

  it.each(hellos)('$file: from HelloAssembler.hs (what the relay holds), whole and byte by byte', (h) => {
    for (const r of [feedWhole(h.wire), feedByteByByte(h.wire)]) {
      expect(r.status).toBe(HelloStatus.Ok)
      expect(ja4String(r.asm.hs, 0, r.asm.info.handshakeLength)).toBe(EXPECTED[h.file])
    }
  })

  it.each(hellos)('$file: the hashes are sha256 (node:crypto) of the JA4_r lists', (h) => {
    const hs = handshakeOf(h.wire)
    const r = raw(hs)!
    const [a, b, c, ...sigs] = r.split('_')
    const hash = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 12)
    const cPart = sigs.length > 0 ? c + '_' + sigs.join('_') : c!
    expect(ja4(hs)).toBe(a + '_' + hash(b!) + '_' + hash(cPart))
  })

  /**
   * Hand check of openssl.bin (OpenSSL 3.0.19 s_client, -alpn h2,http/1.1), from its JA4_r:
   *  a: `t` TCP · `13` supported_versions holds 0x0304 · `d` server_name present · `31` suites (no GREASE
   *     from OpenSSL) · `11` extensions counted with SNI and ALPN · `h2` first ALPN name "h2".
   *  b: sha256("002f,0033,…,cca9") = e8f1e7e78f70… (the list has 31 entries, sorted numerically).
   *  c: 9 extensions remain without 0000 and 0010, then `_` and the 23 signature schemes in wire order
   *     (0403,0503,0603,0807,0808,…), sha256 → 1f22a2ca17c4….
   */
  it('openssl.bin step by step (see the comment above)', () => {
    const hs = handshakeOf(hellos.find((h) => h.file === 'openssl.bin')!.wire)
    const r = raw(hs)!.split('_')
    expect(r[0]).toBe('t13d3111h2')
    expect(r[1]!.split(',')).toHaveLength(31)
    expect(r[2]!.split(',')).toHaveLength(9)
    expect(r[2]!.split(',')).not.toContain('0000')
    expect(r[2]!.split(',')).not.toContain('0010')
    expect(r[3]!.split(',').slice(0, 5)).toEqual(['0403', '0503', '0603', '0807', '0808'])
  })
})

describe('JA4 on extreme and unusual hellos', () => {
  it('hundreds of ciphers and extensions: counts capped at 99, every value still hashed', () => {
    const ciphers = Array.from({ length: 300 }, (_, i) => 0x0100 + i)
    const exts = Array.from({ length: 250 }, (_, i) => ({ type: 0x1000 + i }))
    const hs = rawHello({ ciphers, exts })
    expect(parseClientHello(hs, 0, hs.length, new HelloInfo())).toBe(HelloStatus.NoSni)
    const j = ja4(hs)!
    expect(j.slice(0, 10)).toBe('t12i999900')
    const r = raw(hs)!.split('_')
    expect(r[1]!.split(',')).toHaveLength(300)
    expect(r[2]!.split(',')).toHaveLength(250)
    expect(j.slice(11, 23)).toBe(createHash('sha256').update(r[1]!).digest('hex').slice(0, 12))
    // 98 and 99 are written as they are
    expect(ja4(rawHello({ ciphers: ciphers.slice(0, 98), exts: exts.slice(0, 99) }))!.slice(4, 8)).toBe('9899')
  })

  it('the largest cipher list a u16 length allows (32767 suites, reversed order) sorts and hashes', () => {
    const ciphers = Array.from({ length: 32767 }, (_, i) => 0xffff - i).filter((v) => !isGrease(v))
    const hs = rawHello({ ciphers, exts: [] })
    const expected = [...ciphers].sort((x, y) => x - y).map((v) => v.toString(16).padStart(4, '0')).join(',')
    expect(ja4(hs)!.slice(11, 23)).toBe(createHash('sha256').update(expected).digest('hex').slice(0, 12))
  })

  it('GREASE everywhere: only GREASE ciphers and extensions → zero counts and 000000000000 hashes', () => {
    const grease = Array.from({ length: 16 }, (_, i) => (i << 12) | (i << 4) | 0x0a0a)
    expect(grease.every(isGrease)).toBe(true)
    const hs = rawHello({ ciphers: grease, exts: grease.map((type) => ({ type })) })
    expect(ja4(hs)).toBe('t12i000000_000000000000_000000000000')
    expect(raw(hs)).toBe('t12i000000__')
    expect(isGrease(0x0a1a)).toBe(false)
    expect(isGrease(0x1a0a)).toBe(false)
  })

  it('no SNI → i; only SNI and ALPN → the extension hash is zeros though both are counted', () => {
    const hs = rawHello({ ciphers: [0x1301], exts: [{ type: 0x0000, data: sni('a.example') }, { type: 0x0010, data: alpn('h2') }] })
    expect(ja4(hs)).toBe('t12d0102h2_' + createHash('sha256').update('1301').digest('hex').slice(0, 12) + '_000000000000')
  })

  it('TLS 1.2 only, no extensions at all (shared builder)', () => {
    const hs = buildClientHello({ noExtensions: true, cipherSuites: [0xc02f, 0xc02b] })
    expect(ja4(hs)).toBe('t12i020000_' + createHash('sha256').update('c02b,c02f').digest('hex').slice(0, 12) + '_000000000000')
  })

  it('a TLS 1.2 hello from the shared builder (no supported_versions, SNI, no ALPN)', () => {
    const hs = buildClientHello({ sni: 'a.example', supportedVersions: [], cipherSuites: [0xc02f] })
    expect(ja4(hs)!.slice(0, 10)).toBe('t12d010500')
  })

  it('malformed input and short buffers are codes, never a throw', () => {
    const hs = specHello()
    const out = new Uint8Array(64)
    expect(writeJa4(hs, 0, hs.length - 1, out, 0)).toBe(Ja4Error.Malformed) // length field disagrees
    expect(writeJa4(hs, 0, 3, out, 0)).toBe(Ja4Error.Malformed)
    expect(writeJa4(hs, 0, hs.length + 1, out, 0)).toBe(Ja4Error.Malformed) // range outside the buffer
    expect(writeJa4(Buffer.from([2, 0, 0, 0]), 0, 4, out, 0)).toBe(Ja4Error.Malformed) // not a client_hello
    expect(writeJa4(hs, 0, hs.length, out, 64 - JA4_LENGTH + 1)).toBe(Ja4Error.NoRoom)
    expect(writeJa4(hs, 0, hs.length, out, 64 - JA4_LENGTH)).toBe(JA4_LENGTH)
    expect(writeJa4Raw(hs, 0, hs.length, out, 0)).toBe(Ja4Error.NoRoom)
    const big = new Uint8Array(ja4RawMaxBytes(hs.length))
    expect(writeJa4Raw(hs, 0, hs.length, big, 0)).toBe(raw(hs)!.length)
    // an odd supported_versions or signature_algorithms body, a truncated extension
    const bad = (exts: { type: number, data?: number[] }[]): string | null => ja4(rawHello({ ciphers: [0x1301], exts }))
    expect(bad([{ type: 0x002b, data: [3, 3, 4, 3] }])).toBeNull()
    expect(bad([{ type: 0x000d, data: [0, 3, 4, 3, 1] }])).toBeNull()
    expect(bad([{ type: 0x0010, data: [0, 1, 0] }])).toBeNull()
    const trunc = Buffer.from(specHello())
    expect(ja4(trunc.subarray(0, trunc.length - 2))).toBeNull()
  })

  it('reads offsets inside a larger buffer, and writes at an offset', () => {
    const hs = specHello()
    const buf = Buffer.concat([Buffer.alloc(7, 0xee), hs, Buffer.alloc(5, 0xee)])
    const out = new Uint8Array(40).fill(0x21)
    expect(writeJa4(buf, 7, 7 + hs.length, out, 2)).toBe(JA4_LENGTH)
    expect(Buffer.from(out.subarray(2, 38)).toString('latin1')).toBe('t13d1516h2_8daaf6152771_e5627efa2ab1')
    expect(out[1]).toBe(0x21)
    expect(out[38]).toBe(0x21)
  })
})

/**
 * The specification's algorithm written the plain way (arrays, strings, node:crypto), as an oracle for random
 * hellos. It reads the lists from the generator's own description of the hello, not from the bytes.
 */
interface HelloSpec { version: number, ciphers: number[], exts: { type: number, data?: number[] }[], sigs: number[] | null, versions: number[] | null, alpnFirst: number[] | null, sni: boolean }
function oracleJa4 (h: HelloSpec): string {
  const hex = (v: number): string => v.toString(16).padStart(4, '0')
  const sha = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 12)
  const ciphers = h.ciphers.filter((c) => !isGrease(c))
  const types = h.exts.map((e) => e.type).filter((t) => !isGrease(t))
  const vs = (h.versions ?? []).filter((v) => !isGrease(v))
  const v = vs.length > 0 ? Math.max(...vs) : h.version
  const table: Record<number, string> = { 0x0304: '13', 0x0303: '12', 0x0302: '11', 0x0301: '10', 0x0300: 's3', 0x0002: 's2', 0xfeff: 'd1', 0xfefd: 'd2', 0xfefc: 'd3' }
  let alpnChars = '00'
  if (h.alpnFirst !== null) {
    const f = h.alpnFirst[0]!
    const l = h.alpnFirst[h.alpnFirst.length - 1]!
    const alnum = (c: number): boolean => /[0-9A-Za-z]/.test(String.fromCharCode(c))
    if (alnum(f) && alnum(l)) alpnChars = String.fromCharCode(f) + String.fromCharCode(l)
    else { const x = Buffer.from(h.alpnFirst).toString('hex'); alpnChars = x[0]! + x[x.length - 1]! }
  }
  const two = (n: number): string => String(Math.min(n, 99)).padStart(2, '0')
  const a = 't' + (table[v] ?? '00') + (h.sni ? 'd' : 'i') + two(ciphers.length) + two(types.length) + alpnChars
  const b = ciphers.length === 0 ? '000000000000' : sha([...ciphers].sort((x, y) => x - y).map(hex).join(','))
  const extList = types.filter((t) => t !== 0 && t !== 0x10).sort((x, y) => x - y).map(hex).join(',')
  const sigs = (h.sigs ?? []).filter((s) => !isGrease(s)).map(hex).join(',')
  const c = extList === '' ? '000000000000' : sha(sigs === '' ? extList : extList + '_' + sigs)
  return a + '_' + b + '_' + c
}

describe('JA4 against the plain-strings oracle on random hellos', () => {
  const greaseArb = fc.integer({ min: 0, max: 15 }).map((i) => (i << 12) | (i << 4) | 0x0a0a)
  const u16 = fc.oneof(fc.integer({ min: 0, max: 0xffff }), greaseArb)
  const helloArb = fc.record({
    version: fc.constantFrom(0x0301, 0x0302, 0x0303, 0x0304, 0x0300, 0x0305),
    ciphers: fc.array(u16, { minLength: 1, maxLength: 150 }),
    otherExts: fc.uniqueArray(fc.oneof(fc.integer({ min: 1, max: 0xffff }), greaseArb), { maxLength: 120 }),
    sigs: fc.option(fc.array(u16, { maxLength: 40 }), { nil: null }),
    versions: fc.option(fc.array(u16, { minLength: 1, maxLength: 8 }), { nil: null }),
    alpn: fc.option(fc.array(fc.uint8Array({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 3 }), { nil: null }),
    sni: fc.boolean(),
    seed: fc.nat(),
  }).map((r): HelloSpec => {
    const reserved = new Set([0x0000, 0x0010, 0x000d, 0x002b])
    const exts: { type: number, data?: number[] }[] = r.otherExts.filter((t) => !reserved.has(t)).map((type) => ({ type, data: [] }))
    const add = (e: { type: number, data: number[] }): void => { exts.splice(r.seed % (exts.length + 1), 0, e) }
    if (r.sni) add({ type: 0x0000, data: sni('r.example') })
    if (r.sigs !== null) add({ type: 0x000d, data: sigAlgs(r.sigs) })
    if (r.versions !== null) add({ type: 0x002b, data: versions(r.versions) })
    if (r.alpn !== null) add({ type: 0x0010, data: alpn(...r.alpn.map((n) => [...n])) })
    return { version: r.version, ciphers: r.ciphers, exts, sigs: r.sigs, versions: r.versions, alpnFirst: r.alpn === null ? null : [...r.alpn[0]!], sni: r.sni }
  })

  it('agrees on JA4 (fast-check, fixed seed)', () => {
    fc.assert(fc.property(helloArb, (h) => {
      const hs = rawHello({ version: h.version, ciphers: h.ciphers, exts: h.exts })
      expect(ja4(hs)).toBe(oracleJa4(h))
    }), { seed: 3, numRuns: 400 })
  })
})
