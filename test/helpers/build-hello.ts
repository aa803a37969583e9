/**
 * Annotated ClientHello builder for tests (Envoy `tls_utility.h` `generateClientHello`, sniproxy
 * `tests/tls_test.c` byte layouts).
 *
 * Contract:
 *  - `buildClientHello(opts)` → the handshake message bytes (msg_type first, no record header), laid
 *    out field by field below with the RFC struct each field belongs to. Defaults give a plausible
 *    TLS 1.3 hello (legacy_version 0x0303, 32-byte session id, three suites, x25519 key share).
 *  - `buildClientHelloLayout(opts)` → the same bytes plus the offset of every length field, so tests
 *    can corrupt one length at a time.
 *  - `wrapRecords(hs, count | sizes)` → the bytes split across TLS handshake records.
 *  - `tlsRecord(payload, opts)` → one record of any type/version (for interleaving tests).
 *  - `buildSslv2Hello(opts)` → an SSLv2-compatible CLIENT-HELLO (RFC 5246 Appendix E.2).
 * Test-only: allocates freely, throws on impossible options.
 */

/** ExtensionType numbers used by the builder (RFC 8446 §4.2 and the RFCs named) */
export const Ext = {
  serverName: 0, // RFC 6066 §3
  supportedGroups: 10, // RFC 8446 §4.2.7
  signatureAlgorithms: 13, // RFC 8446 §4.2.3
  alpn: 16, // RFC 7301 §3.1
  padding: 21, // RFC 7685
  supportedVersions: 43, // RFC 8446 §4.2.1
  pskKeyExchangeModes: 45, // RFC 8446 §4.2.9
  keyShare: 51, // RFC 8446 §4.2.8
} as const

/** a GREASE extension type / value (RFC 8701 §2: 0x?A?A) */
export const GREASE_EXT = 0x0a0a

export interface HelloOptions {
  /** one host_name entry; a string is written byte per char (latin1), so '\u00e9' is the byte 0xe9 */
  sni?: string | Uint8Array
  /** the whole ServerNameList (overrides `sni`): name_type defaults to host_name(0) */
  sniList?: { nameType?: number, name: string | Uint8Array }[]
  /** raw server_name extension_data (overrides `sni` and `sniList`) */
  sniExtensionData?: Uint8Array
  /** ALPN ProtocolNameList entries, in order */
  alpn?: (string | Uint8Array)[]
  /** raw ALPN extension_data (overrides `alpn`) */
  alpnExtensionData?: Uint8Array
  /** more extensions, appended after the standard ones; `data` may be a byte count (zeros) */
  extraExtensions?: { type: number, data?: Uint8Array | number }[]
  /** legacy_session_id length, 0..32 (default 32); larger values build a malformed hello */
  sessionIdLength?: number
  /** cipher suites (default TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256) */
  cipherSuites?: number[]
  /** raw cipher_suites vector body (overrides `cipherSuites`; e.g. an odd length) */
  cipherSuitesBytes?: Uint8Array
  /** legacy_compression_methods (default [0] = null) */
  compressionMethods?: number[]
  /** padding extension (RFC 7685) with this many zero bytes; omitted when undefined */
  padding?: number
  /** key_share key_exchange length: 32 = X25519 (default), 1216 = X25519MLKEM768 (0x11ec); 0 omits key_share */
  keyShareBytes?: number
  /** legacy_version (default 0x0303) */
  legacyVersion?: number
  /** supported_versions list (default [0x0304, 0x0303]); [] omits the extension */
  supportedVersions?: number[]
  /** repeat an extension: true → supported_versions twice; a number → that type twice */
  duplicateExtension?: boolean | number
  /** add GREASE extensions first and last like Chromium (RFC 8701) */
  grease?: boolean
  /** omit the extensions block entirely (a TLS 1.2-style hello without extensions) */
  noExtensions?: boolean
  /** write a zero-length extensions block (`extensions<0..>` present but empty) */
  emptyExtensions?: boolean
  /** msg_type (default 1 = client_hello) */
  handshakeType?: number
  /** bytes appended to the body after the extensions block (still counted by the uint24 length) */
  trailing?: Uint8Array
}

/** Offsets (into the returned bytes) of every field a test may want to corrupt; -1 when absent. */
export interface HelloLayout {
  bytes: Buffer
  /** uint24 handshake length */
  handshakeLength: number
  /** legacy_version */
  legacyVersion: number
  /** uint8 legacy_session_id length */
  sessionIdLength: number
  /** uint16 cipher_suites length */
  cipherSuitesLength: number
  /** uint8 legacy_compression_methods length */
  compressionMethodsLength: number
  /** uint16 extensions block length */
  extensionsLength: number
  /** server_name extension: its type field; its uint16 extension_data length follows at +2 */
  sniExtension: number
  /** uint16 server_name_list length */
  sniListLength: number
  /** uint16 HostName length of the first host_name entry */
  sniNameLength: number
  /** first byte of the first host_name */
  sniName: number
  /** ALPN extension: its type field */
  alpnExtension: number
  /** uint16 protocol_name_list length */
  alpnListLength: number
}

/** A tiny append-only writer with back-patched length prefixes (cryptobyte.Builder, test-only). */
class Writer {
  readonly b: number[] = []
  get pos (): number { return this.b.length }
  u8 (v: number): void { this.b.push(v & 0xff) }
  u16 (v: number): void { this.b.push((v >> 8) & 0xff, v & 0xff) }
  u24 (v: number): void { this.b.push((v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff) }
  bytes (v: Uint8Array | number[]): void { for (const x of v) this.b.push(x) }
  /** write a `width`-byte length, then what `fn` writes; returns the offset of the length field */
  prefixed (width: 1 | 2 | 3, fn: () => void): number {
    const at = this.pos
    for (let i = 0; i < width; i++) this.b.push(0)
    fn()
    const n = this.pos - at - width
    if (n >= 2 ** (8 * width)) throw new RangeError('builder: ' + String(n) + ' bytes do not fit a ' + String(width) + '-byte length')
    for (let i = 0; i < width; i++) this.b[at + i] = (n >> (8 * (width - 1 - i))) & 0xff
    return at
  }
}

function toBytes (v: string | Uint8Array): Uint8Array {
  return typeof v === 'string' ? Buffer.from(v, 'latin1') : v
}

/** Build a ClientHello handshake message (no record header). */
export function buildClientHello (opts: HelloOptions = {}): Buffer {
  return buildClientHelloLayout(opts).bytes
}

/** Build a ClientHello and report where each length field sits. */
export function buildClientHelloLayout (opts: HelloOptions = {}): HelloLayout {
  const w = new Writer()
  const at: Omit<HelloLayout, 'bytes'> = {
    handshakeLength: -1,
    legacyVersion: -1,
    sessionIdLength: -1,
    cipherSuitesLength: -1,
    compressionMethodsLength: -1,
    extensionsLength: -1,
    sniExtension: -1,
    sniListLength: -1,
    sniNameLength: -1,
    sniName: -1,
    alpnExtension: -1,
    alpnListLength: -1,
  }

  // RFC 8446 §4: Handshake { HandshakeType msg_type; uint24 length; ClientHello body; }
  w.u8(opts.handshakeType ?? 1) //                                  msg_type = client_hello(1)
  at.handshakeLength = w.prefixed(3, () => { //                     uint24 length
    // RFC 8446 §4.1.2 ClientHello
    at.legacyVersion = w.pos
    w.u16(opts.legacyVersion ?? 0x0303) //                          ProtocolVersion legacy_version
    for (let i = 0; i < 32; i++) w.u8(0x10 + i) //                  Random random (32 bytes)
    at.sessionIdLength = w.prefixed(1, () => { //                   opaque legacy_session_id<0..32>
      for (let i = 0; i < (opts.sessionIdLength ?? 32); i++) w.u8(0xa0 + (i & 0x1f))
    })
    at.cipherSuitesLength = w.prefixed(2, () => { //                CipherSuite cipher_suites<2..2^16-2>
      if (opts.cipherSuitesBytes !== undefined) w.bytes(opts.cipherSuitesBytes)
      else for (const s of opts.cipherSuites ?? [0x1301, 0x1302, 0x1303]) w.u16(s)
    })
    at.compressionMethodsLength = w.prefixed(1, () => { //          opaque legacy_compression_methods<1..2^8-1>
      for (const m of opts.compressionMethods ?? [0]) w.u8(m)
    })
    if (opts.noExtensions !== true) {
      at.extensionsLength = w.prefixed(2, () => { //                Extension extensions<8..2^16-1>
        if (opts.emptyExtensions !== true) writeExtensions(w, opts, at)
      })
    }
    if (opts.trailing !== undefined) w.bytes(opts.trailing)
  })
  return { bytes: Buffer.from(w.b), ...at }
}

function writeExtensions (w: Writer, opts: HelloOptions, at: Omit<HelloLayout, 'bytes'>): void {
  const written: { type: number, start: number, end: number }[] = []
  // RFC 8446 §4.2: struct { ExtensionType extension_type; opaque extension_data<0..2^16-1>; } Extension
  const ext = (type: number, body: () => void): number => {
    const start = w.pos
    w.u16(type) //                                                  extension_type
    w.prefixed(2, body) //                                          extension_data
    written.push({ type, start, end: w.pos })
    return start
  }

  if (opts.grease === true) ext(GREASE_EXT, () => {}) //            RFC 8701 GREASE, empty body

  // RFC 6066 §3 server_name
  if (opts.sniExtensionData !== undefined) {
    const data = opts.sniExtensionData
    at.sniExtension = ext(Ext.serverName, () => { w.bytes(data) })
  } else if (opts.sniList !== undefined || opts.sni !== undefined) {
    const list = opts.sniList ?? [{ name: opts.sni ?? '' }]
    at.sniExtension = ext(Ext.serverName, () => {
      at.sniListLength = w.prefixed(2, () => { //                   ServerName server_name_list<1..2^16-1>
        for (const e of list) {
          w.u8(e.nameType ?? 0) //                                  NameType name_type (host_name = 0)
          const lenAt = w.prefixed(2, () => { //                    opaque HostName<1..2^16-1>
            if (at.sniName < 0) at.sniName = w.pos
            w.bytes(toBytes(e.name))
          })
          if (at.sniNameLength < 0) at.sniNameLength = lenAt
        }
      })
    })
  }

  // RFC 8446 §4.2.7 supported_groups: x25519, secp256r1 (+ X25519MLKEM768 when a hybrid share is sent)
  const hybrid = (opts.keyShareBytes ?? 32) > 32
  ext(Ext.supportedGroups, () => {
    w.prefixed(2, () => { if (hybrid) w.u16(0x11ec); w.u16(0x001d); w.u16(0x0017) })
  })
  // RFC 8446 §4.2.3 signature_algorithms: ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256
  ext(Ext.signatureAlgorithms, () => { w.prefixed(2, () => { w.u16(0x0403); w.u16(0x0804) }) })

  // RFC 7301 §3.1 ALPN
  if (opts.alpnExtensionData !== undefined) {
    const data = opts.alpnExtensionData
    at.alpnExtension = ext(Ext.alpn, () => { w.bytes(data) })
  } else if (opts.alpn !== undefined) {
    const names = opts.alpn
    at.alpnExtension = ext(Ext.alpn, () => {
      at.alpnListLength = w.prefixed(2, () => { //                  ProtocolName protocol_name_list<2..2^16-1>
        for (const n of names) w.prefixed(1, () => { w.bytes(toBytes(n)) }) // opaque ProtocolName<1..2^8-1>
      })
    })
  }

  // RFC 8446 §4.2.1 supported_versions: ProtocolVersion versions<2..254>
  const versions = opts.supportedVersions ?? [0x0304, 0x0303]
  if (versions.length > 0) {
    ext(Ext.supportedVersions, () => { w.prefixed(1, () => { for (const v of versions) w.u16(v) }) })
  }
  // RFC 8446 §4.2.9 psk_key_exchange_modes: psk_dhe_ke
  ext(Ext.pskKeyExchangeModes, () => { w.prefixed(1, () => { w.u8(1) }) })

  // RFC 8446 §4.2.8 key_share: KeyShareEntry client_shares<0..2^16-1>
  const shareLen = opts.keyShareBytes ?? 32
  if (shareLen > 0) {
    ext(Ext.keyShare, () => {
      w.prefixed(2, () => {
        w.u16(hybrid ? 0x11ec : 0x001d) //                          NamedGroup group
        // opaque key_exchange<1..2^16-1>: a hybrid share is ML-KEM-768's 1184-byte key then X25519's 32
        // bytes; zeros make a key that passes ML-KEM's modulus check, so OpenSSL (the oracle) accepts it
        w.prefixed(2, () => { for (let i = 0; i < shareLen; i++) w.u8(i < shareLen - 32 ? 0 : i * 7) })
      })
    })
  }

  for (const e of opts.extraExtensions ?? []) {
    const d = e.data ?? 0
    ext(e.type, () => { if (typeof d === 'number') { for (let i = 0; i < d; i++) w.u8(0) } else { w.bytes(d) } })
  }

  if (opts.duplicateExtension !== undefined && opts.duplicateExtension !== false) {
    const type = opts.duplicateExtension === true ? Ext.supportedVersions : opts.duplicateExtension
    const found = written.find((e) => e.type === type)
    if (found !== undefined) {
      w.bytes(w.b.slice(found.start, found.end)) //                 a byte-for-byte copy of the first one
    } else {
      ext(type, () => {})
      ext(type, () => {})
    }
  }

  if (opts.grease === true) ext(0x1a1a, () => { w.u8(0) }) //      RFC 8701 GREASE, 1-byte body

  // RFC 7685 padding (last, as browsers place it)
  if (opts.padding !== undefined) {
    const n = opts.padding
    ext(Ext.padding, () => { for (let i = 0; i < n; i++) w.u8(0) })
  }
}

export interface RecordOptions {
  /** ContentType (default 22 = handshake) */
  type?: number
  /** legacy_record_version (default 0x0301, what most clients put on the first record) */
  version?: number
}

/** One TLS record: RFC 8446 §5.1 TLSPlaintext { type; legacy_record_version; uint16 length; fragment } */
export function tlsRecord (payload: Uint8Array, opts: RecordOptions = {}): Buffer {
  const out = Buffer.alloc(5 + payload.length)
  out[0] = opts.type ?? 22 //                                       ContentType type
  out.writeUInt16BE(opts.version ?? 0x0301, 1) //                   legacy_record_version
  out.writeUInt16BE(payload.length, 3) //                           uint16 length
  out.set(payload, 5) //                                            opaque fragment[length]
  return out
}

/**
 * Split a handshake message across TLS records. `spec` is a record count (sizes as equal as
 * possible) or the list of payload sizes (any rest goes into one more record).
 */
export function wrapRecords (hs: Uint8Array, spec: number | number[], opts: RecordOptions = {}): Buffer {
  const sizes: number[] = []
  if (typeof spec === 'number') {
    if (spec < 1 || spec > hs.length) throw new RangeError('wrapRecords: need 1..' + String(hs.length) + ' records, got ' + String(spec))
    const base = Math.floor(hs.length / spec)
    const extra = hs.length % spec
    for (let i = 0; i < spec; i++) sizes.push(base + (i < extra ? 1 : 0))
  } else {
    sizes.push(...spec)
    const sum = spec.reduce((a, b) => a + b, 0)
    if (sum > hs.length) throw new RangeError('wrapRecords: sizes exceed the message')
    if (sum < hs.length) sizes.push(hs.length - sum)
  }
  const parts: Buffer[] = []
  let off = 0
  for (const n of sizes) {
    parts.push(tlsRecord(hs.subarray(off, off + n), opts))
    off += n
  }
  return Buffer.concat(parts)
}

export interface Sslv2Options {
  /** version field (default 0x0301) */
  version?: number
  /** number of 3-byte V2CipherSpecs (default 3: 0x00002f, 0x000030, 0x000031) */
  cipherSpecs?: number
  /** the V2CipherSpecs themselves (overrides `cipherSpecs`); a TLS suite is 0x00 followed by its two bytes */
  cipherSpecList?: number[]
  /** session_id length (default 0) */
  sessionIdLength?: number
  /** challenge length (default 32) */
  challengeLength?: number
  /** override the 15-bit msg_length (default: the real length) */
  msgLength?: number
  /** override msg_type (default 1) */
  msgType?: number
}

/** An SSLv2-compatible CLIENT-HELLO, RFC 5246 Appendix E.2 (2-byte header with the high bit set). */
export function buildSslv2Hello (opts: Sslv2Options = {}): Buffer {
  const w = new Writer()
  const specList = opts.cipherSpecList ?? Array.from({ length: opts.cipherSpecs ?? 3 }, (_, i) => 0x002f + i)
  const sid = opts.sessionIdLength ?? 0
  const ch = opts.challengeLength ?? 32
  w.u8(opts.msgType ?? 1) //                                        uint8 msg_type = 1
  w.u16(opts.version ?? 0x0301) //                                  Version version
  w.u16(specList.length * 3) //                                     uint16 cipher_spec_length
  w.u16(sid) //                                                     uint16 session_id_length
  w.u16(ch) //                                                      uint16 challenge_length
  for (const s of specList) { w.u8(s >> 16); w.u16(s & 0xffff) } // V2CipherSpec cipher_specs[...]
  for (let i = 0; i < sid; i++) w.u8(0x55) //                       opaque session_id[...]
  for (let i = 0; i < ch; i++) w.u8(0x33 + i) //                    opaque challenge[...]
  const len = opts.msgLength ?? w.b.length
  return Buffer.from([0x80 | ((len >> 8) & 0x7f), len & 0xff, ...w.b]) // uint8 msg_length[2], high bit set
}
