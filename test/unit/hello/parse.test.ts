import { describe, expect, it } from 'vitest'
import { HelloInfo, HelloStatus, alpnToStrings, parseClientHello, sniToString } from '../../../src/hello/index.ts'
import { Ext, GREASE_EXT, buildClientHello, buildClientHelloLayout, type HelloOptions } from '../../helpers/build-hello.ts'

const { Ok, NoSni, Malformed } = HelloStatus

function parse (hs: Uint8Array): { status: HelloStatus, info: HelloInfo, sni: string, alpn: string[] } {
  const info = new HelloInfo()
  const status = parseClientHello(hs, 0, hs.length, info)
  return { status, info, sni: sniToString(hs, info), alpn: alpnToStrings(hs, info) }
}

function statusOf (opts: HelloOptions): HelloStatus {
  return parse(buildClientHello(opts)).status
}

/** copy of `b` with a big-endian length field of `width` bytes at `at` replaced by `v` */
function patch (b: Uint8Array, at: number, width: 1 | 2 | 3, v: number): Buffer {
  const out = Buffer.from(b)
  out.writeUIntBE(v, at, width)
  return out
}

/** the same hello with the uint24 handshake length recomputed (so an inner change stays "complete") */
function fixHandshakeLength (b: Buffer): Buffer {
  return patch(b, 1, 3, b.length - 4)
}

// TLS 1.0 .. 1.3 hellos differ in legacy_version and supported_versions (RFC 8446 §4.1.2, §4.2.1)
const VERSIONS = [
  { name: 'TLS 1.0', legacyVersion: 0x0301, supportedVersions: [] },
  { name: 'TLS 1.1', legacyVersion: 0x0302, supportedVersions: [] },
  { name: 'TLS 1.2', legacyVersion: 0x0303, supportedVersions: [] },
  { name: 'TLS 1.3', legacyVersion: 0x0303, supportedVersions: [0x0304, 0x0303] },
]

describe.each(VERSIONS)('parseClientHello, $name', ({ legacyVersion, supportedVersions }) => {
  const base = { legacyVersion, supportedVersions }

  it('finds the SNI and ALPN and fills legacyVersion and handshakeLength', () => {
    const hs = buildClientHello({ ...base, sni: 'www.example.com', alpn: ['h2', 'http/1.1'] })
    const r = parse(hs)
    expect(r.status).toBe(Ok)
    expect(r.sni).toBe('www.example.com')
    expect(r.alpn).toEqual(['h2', 'http/1.1'])
    expect(r.info.legacyVersion).toBe(legacyVersion)
    expect(r.info.handshakeLength).toBe(hs.length)
    expect(r.info.sslv2).toBe(false)
  })

  it('finds the SNI without ALPN (alpn offsets stay -1)', () => {
    const r = parse(buildClientHello({ ...base, sni: 'no-alpn.example' }))
    expect(r.status).toBe(Ok)
    expect(r.sni).toBe('no-alpn.example')
    expect([r.info.alpnStart, r.info.alpnEnd]).toEqual([-1, -1])
  })

  it('answers NoSni for a valid hello without server_name, still reporting ALPN', () => {
    const r = parse(buildClientHello({ ...base, alpn: ['http/1.1'] }))
    expect(r.status).toBe(NoSni)
    expect([r.info.sniStart, r.info.sniEnd]).toEqual([-1, -1])
    expect(r.alpn).toEqual(['http/1.1'])
  })

  it.each([0, 1, 100, 600])('is unaffected by %i bytes of padding', (padding) => {
    const r = parse(buildClientHello({ ...base, sni: 'pad.example', padding }))
    expect(r.status).toBe(Ok)
    expect(r.sni).toBe('pad.example')
  })
})

describe('parseClientHello: offsets', () => {
  it('returns offsets into the buffer it was given (no copy) and works inside a larger buffer', () => {
    const hs = buildClientHello({ sni: 'offsets.example', alpn: ['h2'] })
    const big = Buffer.concat([Buffer.alloc(7, 0xee), hs, Buffer.alloc(3, 0xee)])
    const info = new HelloInfo()
    expect(parseClientHello(big, 7, 7 + hs.length, info)).toBe(Ok)
    expect(big.subarray(info.sniStart, info.sniEnd).toString()).toBe('offsets.example')
    expect(info.sniStart).toBeGreaterThan(7)
    expect(info.alpnEnd).toBeLessThanOrEqual(7 + hs.length)
    expect(info.handshakeLength).toBe(hs.length)
  })

  it('excludes one trailing dot from sniEnd and keeps the case as sent', () => {
    const hs = buildClientHello({ sni: 'WWW.Example.COM.' })
    const r = parse(hs)
    expect(r.status).toBe(Ok)
    expect(r.sni).toBe('WWW.Example.COM')
    expect(hs[r.info.sniEnd]).toBe(0x2e) // the dot is still there, just outside the range
  })

  it('throws only for a programmer error (range outside the buffer)', () => {
    const hs = buildClientHello({ sni: 'a.example' })
    expect(() => parseClientHello(hs, 0, hs.length + 1, new HelloInfo())).toThrow(RangeError)
  })

  it('resets the output record on rejection, so no stale offsets survive', () => {
    const info = new HelloInfo()
    const good = buildClientHello({ sni: 'first.example', alpn: ['h2'] })
    expect(parseClientHello(good, 0, good.length, info)).toBe(Ok)
    const bad = buildClientHello({ sni: 'first.example', duplicateExtension: true })
    expect(parseClientHello(bad, 0, bad.length, info)).toBe(Malformed)
    expect(info).toEqual(new HelloInfo())
  })
})

describe('parseClientHello: handshake header and fixed fields', () => {
  const hs = buildClientHello({ sni: 'fields.example' })

  it('rejects a handshake type other than client_hello (1)', () => {
    expect(statusOf({ sni: 'a.example', handshakeType: 2 })).toBe(Malformed)
  })

  it('rejects a uint24 length that disagrees with the message (one more, one less)', () => {
    expect(parse(patch(hs, 1, 3, hs.length - 3)).status).toBe(Malformed)
    expect(parse(patch(hs, 1, 3, hs.length - 5)).status).toBe(Malformed)
  })

  it('rejects messages shorter than a handshake header', () => {
    for (let n = 0; n < 4; n++) expect(parse(hs.subarray(0, n)).status).toBe(Malformed)
  })

  it('rejects a body cut at every point, except right after compression_methods (a valid hello without extensions)', () => {
    const l = buildClientHelloLayout({ sni: 'cut.example', alpn: ['h2'] })
    const endOfCompression = l.compressionMethodsLength + 1 + l.bytes[l.compressionMethodsLength]!
    for (let cut = 4; cut < l.bytes.length; cut++) {
      const status = parse(fixHandshakeLength(Buffer.from(l.bytes.subarray(0, cut)))).status
      expect(status, 'cut at ' + String(cut)).toBe(cut === endOfCompression ? NoSni : Malformed)
    }
  })

  it.each([0, 1, 31, 32])('accepts a %i-byte legacy_session_id', (n) => {
    expect(statusOf({ sni: 'a.example', sessionIdLength: n })).toBe(Ok)
  })

  it('rejects a legacy_session_id over 32 bytes (RFC 8446 §4.1.2 <0..32>)', () => {
    expect(statusOf({ sni: 'a.example', sessionIdLength: 33 })).toBe(Malformed)
  })

  it('rejects empty or odd-length cipher_suites (<2..2^16-2>, 2-byte suites)', () => {
    expect(statusOf({ sni: 'a.example', cipherSuites: [] })).toBe(Malformed)
    expect(statusOf({ sni: 'a.example', cipherSuitesBytes: Uint8Array.from([0x13, 0x01, 0x13]) })).toBe(Malformed)
    expect(statusOf({ sni: 'a.example', cipherSuites: [0x1301] })).toBe(Ok)
  })

  it('rejects empty legacy_compression_methods (<1..2^8-1>)', () => {
    expect(statusOf({ sni: 'a.example', compressionMethods: [] })).toBe(Malformed)
    expect(statusOf({ sni: 'a.example', compressionMethods: [1, 0] })).toBe(Ok)
  })

  it('rejects vector lengths that overrun the body', () => {
    const l = buildClientHelloLayout({ sni: 'a.example' })
    expect(parse(patch(l.bytes, l.sessionIdLength, 1, 255)).status).toBe(Malformed)
    expect(parse(patch(l.bytes, l.cipherSuitesLength, 2, 0xfffe)).status).toBe(Malformed)
    expect(parse(patch(l.bytes, l.compressionMethodsLength, 1, 255)).status).toBe(Malformed)
  })
})

describe('parseClientHello: extensions block', () => {
  it('answers NoSni when there is no extensions block or an empty one', () => {
    expect(statusOf({ noExtensions: true })).toBe(NoSni)
    expect(statusOf({ emptyExtensions: true })).toBe(NoSni)
  })

  it('rejects an extensions length one more or one less than the rest of the body', () => {
    const l = buildClientHelloLayout({ sni: 'a.example', alpn: ['h2'] })
    const n = l.bytes.readUInt16BE(l.extensionsLength)
    expect(parse(patch(l.bytes, l.extensionsLength, 2, n + 1)).status).toBe(Malformed)
    expect(parse(patch(l.bytes, l.extensionsLength, 2, n - 1)).status).toBe(Malformed)
  })

  it('rejects bytes after the extensions block', () => {
    expect(statusOf({ sni: 'a.example', trailing: Uint8Array.from([0]) })).toBe(Malformed)
  })

  it('rejects a lone byte left where an extension header should be', () => {
    // extensions block whose last "extension" is 1 byte: no room for its 2-byte type
    const l = buildClientHelloLayout({ sni: 'a.example', trailing: Uint8Array.from([0]) })
    const n = l.bytes.readUInt16BE(l.extensionsLength)
    expect(parse(patch(l.bytes, l.extensionsLength, 2, n + 1)).status).toBe(Malformed)
  })

  it('rejects an extension whose data length overruns the block', () => {
    const l = buildClientHelloLayout({ sni: 'a.example' })
    expect(parse(patch(l.bytes, l.sniExtension + 2, 2, 0xffff)).status).toBe(Malformed)
  })

  it('skips unknown extensions, empty or not', () => {
    const r = parse(buildClientHello({
      sni: 'skip.example',
      extraExtensions: [{ type: 0x1234 }, { type: 0xfe0d, data: 200 }, { type: 0xffff, data: Uint8Array.from([1, 2, 3]) }],
    }))
    expect(r.status).toBe(Ok)
    expect(r.sni).toBe('skip.example')
  })

  it('skips GREASE extensions (RFC 8701), two different values included', () => {
    expect(statusOf({ sni: 'grease.example', grease: true })).toBe(Ok)
  })

  it.each([
    ['supported_versions', true],
    ['server_name', Ext.serverName],
    ['ALPN', Ext.alpn],
    ['key_share', Ext.keyShare],
    ['the same GREASE value', GREASE_EXT],
    ['an unknown type', 0x4321],
  ] as const)('rejects a duplicate extension: %s', (_name, dup) => {
    expect(statusOf({ sni: 'dup.example', alpn: ['h2'], duplicateExtension: dup })).toBe(Malformed)
  })
})

describe('parseClientHello: server_name (RFC 6066 §3)', () => {
  it('rejects an empty extension body, an empty list, and a list shorter or longer than the body', () => {
    expect(statusOf({ sniExtensionData: new Uint8Array(0) })).toBe(Malformed)
    expect(statusOf({ sniExtensionData: Uint8Array.from([0, 0]) })).toBe(Malformed)
    const l = buildClientHelloLayout({ sni: 'a.example' })
    const n = l.bytes.readUInt16BE(l.sniListLength)
    expect(parse(patch(l.bytes, l.sniListLength, 2, n - 1)).status).toBe(Malformed)
    expect(parse(patch(l.bytes, l.sniListLength, 2, n + 1)).status).toBe(Malformed)
  })

  it('rejects a host_name whose length overruns the list, or a name_type with nothing after it', () => {
    const l = buildClientHelloLayout({ sni: 'a.example' })
    const n = l.bytes.readUInt16BE(l.sniNameLength)
    expect(parse(patch(l.bytes, l.sniNameLength, 2, n + 1)).status).toBe(Malformed)
    expect(statusOf({ sniExtensionData: Uint8Array.from([0, 1, 0]) })).toBe(Malformed)
    expect(statusOf({ sniExtensionData: Uint8Array.from([0, 2, 0, 0]) })).toBe(Malformed)
  })

  it('rejects an empty host_name (HostName<1..2^16-1>)', () => {
    expect(statusOf({ sni: '' })).toBe(Malformed)
  })

  it('rejects two host_name entries, even identical ones', () => {
    expect(statusOf({ sniList: [{ name: 'a.example' }, { name: 'b.example' }] })).toBe(Malformed)
    expect(statusOf({ sniList: [{ name: 'a.example' }, { name: 'a.example' }] })).toBe(Malformed)
  })

  it('skips entries of an unknown name_type, before or after the host_name', () => {
    const before = parse(buildClientHello({ sniList: [{ nameType: 7, name: 'ignored' }, { name: 'real.example' }] }))
    expect(before.status).toBe(Ok)
    expect(before.sni).toBe('real.example')
    const after = parse(buildClientHello({ sniList: [{ name: 'real.example' }, { nameType: 255, name: '\u0000\u00ff' }] }))
    expect(after.status).toBe(Ok)
    expect(after.sni).toBe('real.example')
  })

  it('answers NoSni when the list holds only unknown name types', () => {
    expect(statusOf({ sniList: [{ nameType: 1, name: 'x' }] })).toBe(NoSni)
  })

  it.each([
    ['space', 'a b.example'],
    ['NUL', 'a\u0000.example'],
    ["'*'", '*.example.com'],
    ["':'", 'example.com:443'],
    ['UTF-8 bytes', Buffer.from('bücher.example', 'utf8')],
    ['IPv4 literal', '192.0.2.1'],
    ['IPv6 literal', '[2001:db8::1]'],
    ['two trailing dots', 'example.com..'],
    ['a lone dot', '.'],
    ['leading dot', '.example.com'],
    ['label of 64', 'a'.repeat(64) + '.example'],
    ['name of 254', ('a'.repeat(63) + '.').repeat(3) + 'a'.repeat(62)],
  ] as const)('rejects a host_name with %s', (_what, sni) => {
    expect(statusOf({ sni })).toBe(Malformed)
  })

  it.each([
    ['upper case', 'WWW.EXAMPLE.COM', 'WWW.EXAMPLE.COM'],
    ['one trailing dot', 'example.com.', 'example.com'],
    ['underscore', '_sip._tcp.example.com', '_sip._tcp.example.com'],
    ['label of 63', 'a'.repeat(63) + '.example', 'a'.repeat(63) + '.example'],
    ['name of 253', ('a'.repeat(63) + '.').repeat(3) + 'a'.repeat(61), ('a'.repeat(63) + '.').repeat(3) + 'a'.repeat(61)],
  ])('accepts a host_name with %s', (_what, sni, want) => {
    const r = parse(buildClientHello({ sni }))
    expect(r.status).toBe(Ok)
    expect(r.sni).toBe(want)
  })
})

describe('parseClientHello: ALPN (RFC 7301 §3.1)', () => {
  it('reports the protocol_name_list body as offsets', () => {
    const hs = buildClientHello({ sni: 'a.example', alpn: ['h2', 'http/1.1', Uint8Array.from([0x0a, 0x0a])] })
    const r = parse(hs)
    expect(r.status).toBe(Ok)
    expect(r.alpn).toEqual(['h2', 'http/1.1', '\n\n'])
    expect(hs.readUInt16BE(r.info.alpnStart - 2)).toBe(r.info.alpnEnd - r.info.alpnStart)
  })

  it('rejects an empty list, an empty name, a name overrunning the list, and a list not filling the body', () => {
    expect(statusOf({ sni: 'a.example', alpn: [] })).toBe(Malformed)
    expect(statusOf({ sni: 'a.example', alpn: ['h2', ''] })).toBe(Malformed)
    expect(statusOf({ sni: 'a.example', alpnExtensionData: new Uint8Array(0) })).toBe(Malformed)
    expect(statusOf({ sni: 'a.example', alpnExtensionData: Uint8Array.from([0, 3, 5, 0x68, 0x32]) })).toBe(Malformed)
    const l = buildClientHelloLayout({ sni: 'a.example', alpn: ['h2'] })
    expect(parse(patch(l.bytes, l.alpnListLength, 2, 2)).status).toBe(Malformed)
  })

  it('accepts a 255-byte protocol name (ProtocolName<1..2^8-1>)', () => {
    const r = parse(buildClientHello({ sni: 'a.example', alpn: ['x'.repeat(255)] }))
    expect(r.status).toBe(Ok)
    expect(r.alpn).toEqual(['x'.repeat(255)])
  })
})

describe('sniToString / alpnToStrings', () => {
  it('return empty values when the hello had no SNI or ALPN', () => {
    const hs = buildClientHello({})
    const r = parse(hs)
    expect(r.sni).toBe('')
    expect(r.alpn).toEqual([])
  })
})

describe('parseClientHello: encrypted_client_hello (0xfe0d)', () => {
  it('reports where the extension data starts, with or without SNI; -1 when absent', () => {
    const data = Buffer.from([0x00, 0x00, 0x01, 0x00, 0x01, 0x07]) // outer ECH: type, cipher suite, config id…
    const hs = buildClientHello({ sni: 'public.example', extraExtensions: [{ type: 0xfe0d, data }] })
    const info = new HelloInfo()
    expect(parseClientHello(hs, 0, hs.length, info)).toBe(Ok)
    expect(info.echStart).toBeGreaterThan(0)
    expect(hs.subarray(info.echStart, info.echStart + data.length)).toEqual(data)
    expect(hs.readUInt16BE(info.echStart - 4)).toBe(0xfe0d)
    const noSni = buildClientHello({ extraExtensions: [{ type: 0xfe0d, data: 8 }] })
    expect(parseClientHello(noSni, 0, noSni.length, info)).toBe(NoSni)
    expect(info.echStart).toBeGreaterThan(0)
    const plain = buildClientHello({ sni: 'public.example' })
    expect(parseClientHello(plain, 0, plain.length, info)).toBe(Ok)
    expect(info.echStart).toBe(-1)
  })

  it('two ECH extensions are a duplicate extension: malformed, and no offset survives', () => {
    const hs = buildClientHello({ sni: 'public.example', extraExtensions: [{ type: 0xfe0d, data: 4 }, { type: 0xfe0d, data: 4 }] })
    const info = new HelloInfo()
    expect(parseClientHello(hs, 0, hs.length, info)).toBe(HelloStatus.Malformed)
    expect(info.echStart).toBe(-1)
  })
})
