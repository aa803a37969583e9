/**
 * `HelloAssembler`: turns the chunks a client socket delivers into one complete ClientHello handshake
 * message, across any number of TCP segments and TLS records, under hard memory caps.
 *
 * Model: pg-protocol `Parser.mergeBuffer` (parse in place when nothing is pending) for the buffers,
 * nginx `ngx_stream_ssl_preread_parse_record` and caddy-l4's matcher for the record walk (read
 * handshake records until the uint24 handshake length is met), rustls `deframer` for the caps.
 *
 * Contract:
 *  - `push(chunk)` → NeedMore until the hello is complete or rejected; then Ok / NoSni / NotTls /
 *    Malformed / TooLarge, and every later `push` returns that same status without looking at (or
 *    keeping) its chunk. Rejections are decided as early as the bytes allow (the first byte for
 *    NotTls, the record header for bad records, the 4-byte handshake header for TooLarge).
 *  - Pushed chunks are owned by the assembler (the caller must not reuse their memory) and are never
 *    written to: they are forwarded to the origin unchanged.
 *  - `received()` is every byte pushed up to and including the chunk that completed the hello, exactly
 *    as received — so it also holds anything the client sent after the hello in that chunk (TLS 1.3
 *    0-RTT early data, a ChangeCipherSpec). Fast path: a single chunk is returned as is (no copy).
 *  - `hs` is the handshake message (type byte first, record headers stripped) that `info`'s offsets
 *    index. Fast path: a hello in one record is a view into the received bytes (no copy); only a hello
 *    spanning several records is copied (compacted) into a second buffer.
 *  - An SSLv2-compatible CLIENT-HELLO (RFC 5246 Appendix E.2) is validated and answered NoSni with
 *    `info.sslv2 = true`; `hs` is then the SSLv2 message (msg_type first).
 *
 * Limits (memory per connection is bounded whatever the client sends):
 *  - handshake message ≤ `maxHelloBytes` (default `DEFAULT_MAX_HELLO_BYTES`, at most
 *    `MAX_HELLO_BYTES_LIMIT`), decided from the declared uint24 length before the body arrives;
 *  - ≤ `MAX_HELLO_RECORDS` records, each 1..2^14 bytes (`MAX_RECORD_PAYLOAD`), and a record may not
 *    carry bytes beyond the hello, so while NeedMore the raw bytes kept are at most
 *    `maxHelloBytes + MAX_HELLO_RECORDS × 5`; the one chunk that ends the reading (complete or
 *    rejected) may add what it carries past that point (early data, garbage), which the socket's
 *    read size bounds; chunks pushed after that are not kept;
 *  - the buffers start at `INITIAL_ASSEMBLY_BYTES` and grow ×2, clamped to those caps — memory
 *    follows the bytes actually received, not the length a client declares. They come from
 *    `Buffer.allocUnsafeSlow` (their own ArrayBuffer): a pooled slice would pin a shared 64 KiB pool
 *    slab (Node 24's `Buffer.poolSize`) for as long as a slow client keeps its hello pending.
 *
 * Record rules: see `advanceRecords` (RFC citations on each branch).
 *
 * Index rule (noUncheckedIndexedAccess): `buf[i]!` only after an explicit range check in the same
 * function (`rawLen - pos >= n`, with the invariant `rawLen <= raw.length`, or `len >= n`).
 */
import {
  CONTENT_TYPE_HANDSHAKE,
  DEFAULT_MAX_HELLO_BYTES,
  HANDSHAKE_HEADER_LEN,
  HANDSHAKE_TYPE_CLIENT_HELLO,
  INITIAL_ASSEMBLY_BYTES,
  MAX_HELLO_BYTES_LIMIT,
  MAX_HELLO_RECORDS,
  MAX_RECORD_PAYLOAD,
  RECORD_HEADER_LEN,
  RECORD_VERSION_MAJOR,
  RECORD_VERSION_MINOR_MAX,
  SSLV2_CIPHER_SPEC_LEN,
  SSLV2_FIXED_LEN,
  SSLV2_HEADER_LEN,
  SSLV2_MAX_CHALLENGE_LEN,
  SSLV2_MIN_CHALLENGE_LEN,
  SSLV2_MSG_CLIENT_HELLO,
  SSLV2_SESSION_ID_LEN,
} from './constants.ts'
import { programmerError } from './cursor.ts'
import { parseClientHello } from './parse.ts'
import { HelloInfo, HelloStatus } from './types.ts'

const EMPTY_BUFFER = Buffer.alloc(0)

export class HelloAssembler {
  /** parse output, reused for every hello this assembler reads (fixed shape) */
  readonly info = new HelloInfo()
  /** cap on the handshake message, header included (bytes) */
  readonly maxHelloBytes: number
  /** cap on the raw bytes kept before completion: maxHelloBytes + every allowed record header */
  readonly #rawLimit: number

  #status: HelloStatus = HelloStatus.NeedMore
  /** the first chunk itself while it is the only one; then our own buffer */
  #raw: Buffer = EMPTY_BUFFER
  /** bytes of #raw in use (≤ #raw.length) */
  #rawLen = 0
  /** #raw is our buffer (true) or the caller's first chunk (false) */
  #owned = false
  /** next raw byte the record walk has not consumed */
  #pos = 0
  /** raw offset where the current record's payload ends; -1 between records */
  #recEnd = -1
  /** records started so far */
  #records = 0
  /** handshake bytes received so far (record headers excluded) */
  #hsHave = 0
  /** declared handshake message length, header included; -1 until its 4 header bytes arrived */
  #hsNeed = -1
  /** handshake offset at which the current record's payload ends */
  #hsRecEnd = 0
  /** compacted handshake bytes, only when the hello spans more than one record */
  #hsBuf: Buffer | null = null
  /** the completed handshake message (what `info` indexes) */
  #hs: Uint8Array = EMPTY_BUFFER

  /**
   * @param maxHelloBytes cap on the ClientHello handshake message, header included; an integer in
   *   [4, MAX_HELLO_BYTES_LIMIT]. Anything else is a programmer error (config validates first).
   */
  constructor (maxHelloBytes: number = DEFAULT_MAX_HELLO_BYTES) {
    if (!Number.isInteger(maxHelloBytes) || maxHelloBytes < HANDSHAKE_HEADER_LEN || maxHelloBytes > MAX_HELLO_BYTES_LIMIT) {
      programmerError('maxHelloBytes must be an integer in [4, ' + String(MAX_HELLO_BYTES_LIMIT) + '], got ' + String(maxHelloBytes))
    }
    this.maxHelloBytes = maxHelloBytes
    this.#rawLimit = maxHelloBytes + MAX_HELLO_RECORDS * RECORD_HEADER_LEN
  }

  /** the last status returned by `push` (NeedMore before the first byte) */
  get status (): HelloStatus {
    return this.#status
  }

  /**
   * Feed the next chunk received from the client. Returns NeedMore until the hello is complete
   * (Ok / NoSni) or rejected (NotTls / Malformed / TooLarge); terminal statuses are sticky.
   */
  push (chunk: Buffer): HelloStatus {
    if (this.#status !== HelloStatus.NeedMore) return this.#status
    if (chunk.length === 0) return HelloStatus.NeedMore
    if (this.#rawLen === 0) {
      this.#raw = chunk // fast path: keep the caller's chunk, copy nothing
      this.#rawLen = chunk.length
    } else {
      this.#append(chunk)
    }
    const s = this.#advance()
    if (s !== HelloStatus.NeedMore) {
      this.#status = s
      if (!this.info.sslv2) {
        this.info.records = this.#records
        if (this.#hsNeed >= 0) this.info.handshakeLength = this.#hsNeed
      }
    }
    return s
  }

  /**
   * Every byte received so far exactly as received, including bytes after the hello in the chunk
   * that completed it. The first chunk itself when only one was pushed (no copy).
   */
  received (): Buffer {
    return this.#owned ? this.#raw.subarray(0, this.#rawLen) : this.#raw
  }

  /**
   * The handshake message bytes that `info`'s offsets index (type byte first, record headers
   * stripped). Empty until the hello is complete.
   */
  get hs (): Uint8Array {
    return this.#hs
  }

  /** number of bytes received so far */
  get length (): number {
    return this.#rawLen
  }

  /**
   * Forget everything and start over (for a new connection). Buffers are dropped, not reused: the
   * previous connection's `received()` may still be queued on a socket.
   */
  reset (): void {
    this.info.reset()
    this.#status = HelloStatus.NeedMore
    this.#raw = EMPTY_BUFFER
    this.#rawLen = 0
    this.#owned = false
    this.#pos = 0
    this.#recEnd = -1
    this.#records = 0
    this.#hsHave = 0
    this.#hsNeed = -1
    this.#hsRecEnd = 0
    this.#hsBuf = null
    this.#hs = EMPTY_BUFFER
  }

  /** Slow path: copy `chunk` after the bytes kept so far, growing our buffer ×2 (clamped). */
  #append (chunk: Buffer): void {
    const need = this.#rawLen + chunk.length
    if (!this.#owned || need > this.#raw.length) {
      let cap = this.#owned ? this.#raw.length * 2 : INITIAL_ASSEMBLY_BYTES
      if (cap > this.#rawLimit) cap = this.#rawLimit
      if (cap < need) cap = need // the completing chunk may carry early data past the cap
      const grown = Buffer.allocUnsafeSlow(cap)
      this.#raw.copy(grown, 0, 0, this.#rawLen)
      this.#raw = grown
      this.#owned = true
    }
    chunk.copy(this.#raw, this.#rawLen)
    this.#rawLen = need
  }

  /** Decide what the bytes so far are: the first byte picks TLS records, SSLv2, or not TLS. */
  #advance (): HelloStatus {
    if (this.#records === 0 && this.#recEnd < 0) {
      const raw = this.#raw
      const len = this.#rawLen
      if (len < 1) return HelloStatus.NeedMore
      const b0 = raw[0]!
      if (b0 !== CONTENT_TYPE_HANDSHAKE) {
        // RFC 5246 E.2: an SSLv2-compatible hello starts with a 2-byte length whose high bit is set
        return (b0 & 0x80) !== 0 ? this.#advanceSslv2() : HelloStatus.NotTls
      }
      // nginx ssl_preread: a handshake record whose major version is not 3 is not TLS at all
      if (len >= 2 && raw[1]! !== RECORD_VERSION_MAJOR) return HelloStatus.NotTls
    }
    return this.#advanceRecords()
  }

  /** Walk TLS records from #pos: validate headers, gather handshake bytes, finish when complete. */
  #advanceRecords (): HelloStatus {
    const raw = this.#raw
    const len = this.#rawLen
    let pos = this.#pos
    for (;;) {
      if (this.#recEnd < 0) {
        // RFC 8446 §5.1 TLSPlaintext: ContentType type; ProtocolVersion legacy_record_version; uint16 length;
        if (len - pos < RECORD_HEADER_LEN) {
          this.#pos = pos
          return HelloStatus.NeedMore
        }
        const type = raw[pos]!
        const major = raw[pos + 1]!
        const minor = raw[pos + 2]!
        const length = (raw[pos + 3]! << 8) | raw[pos + 4]!
        // RFC 8446 §5.1: "Handshake messages MUST NOT be interleaved with other record types."
        // (the first record's type was checked by #advance; a later alert/CCS/data is malformed)
        if (type !== CONTENT_TYPE_HANDSHAKE) return HelloStatus.Malformed
        if (major !== RECORD_VERSION_MAJOR) {
          return this.#records === 0 ? HelloStatus.NotTls : HelloStatus.Malformed
        }
        // RFC 8446 §5.1 legacy_record_version: 0x0301 or 0x0303 in practice; we accept 0x0300-0x0304
        if (minor > RECORD_VERSION_MINOR_MAX) return HelloStatus.Malformed
        // RFC 8446 §5.1: "Implementations MUST NOT send zero-length fragments of Handshake types"
        if (length === 0) return HelloStatus.Malformed
        // RFC 8446 §5.1: "The length MUST NOT exceed 2^14 bytes."
        if (length > MAX_RECORD_PAYLOAD) return HelloStatus.Malformed
        // RFC 8446 §5.1: the ClientHello "MUST" be "in alignment with a record boundary" (it can
        // precede a key change), so no record may carry bytes past the end of the hello. While the
        // length is unknown, handshake bytes beyond maxHelloBytes can only mean too large.
        const hsRecEnd = this.#hsHave + length
        if (this.#hsNeed >= 0) {
          if (hsRecEnd > this.#hsNeed) return HelloStatus.Malformed
        } else if (hsRecEnd > this.maxHelloBytes) {
          return HelloStatus.TooLarge
        }
        this.#records++
        if (this.#records === 2) this.#startCompacting()
        this.#hsRecEnd = hsRecEnd
        pos += RECORD_HEADER_LEN
        this.#recEnd = pos + length
      }

      // the part of the current record's payload that has arrived
      const stop = this.#recEnd < len ? this.#recEnd : len
      if (stop > pos) {
        if (this.#hsBuf !== null) this.#appendHandshake(this.#hsBuf, raw, pos, stop)
        this.#hsHave += stop - pos
        pos = stop
      }
      if (this.#hsNeed < 0) {
        const s = this.#readHandshakeHeader()
        if (s !== HelloStatus.NeedMore) return s
      }
      if (pos < this.#recEnd) {
        this.#pos = pos
        return HelloStatus.NeedMore
      }
      // record complete
      this.#recEnd = -1
      this.#pos = pos
      if (this.#hsHave === this.#hsNeed) return this.#complete()
      // the hello needs another record: refuse it now if that would exceed the record bound
      if (this.#records === MAX_HELLO_RECORDS) return HelloStatus.TooLarge
    }
  }

  /**
   * Check the handshake header as soon as its bytes are in: msg_type (from the first byte) and the
   * declared uint24 length (from the fourth). NeedMore means "fine so far".
   */
  #readHandshakeHeader (): HelloStatus {
    const have = this.#hsHave
    if (have < 1) return HelloStatus.NeedMore
    // the handshake bytes so far: in the compaction buffer, or right after the first record header
    const b = this.#hsBuf ?? this.#raw
    const o = this.#hsBuf === null ? RECORD_HEADER_LEN : 0
    if (o + (have < HANDSHAKE_HEADER_LEN ? have : HANDSHAKE_HEADER_LEN) > b.length) return HelloStatus.Malformed // range check for b[o..o+3]
    // RFC 8446 §4.1.2: "When a client first connects to a server, it is REQUIRED to send the ClientHello
    // as its first TLS message."
    if (b[o]! !== HANDSHAKE_TYPE_CLIENT_HELLO) return HelloStatus.Malformed
    if (have < HANDSHAKE_HEADER_LEN) return HelloStatus.NeedMore
    const need = HANDSHAKE_HEADER_LEN + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!)
    this.#hsNeed = need
    // rustls MAX_HANDSHAKE_SIZE: refuse on the declared length, before buffering the body
    if (need > this.maxHelloBytes) return HelloStatus.TooLarge
    // the current record already extends past the hello's end (RFC 8446 §5.1 alignment, see above)
    if (this.#hsRecEnd > need) return HelloStatus.Malformed
    return HelloStatus.NeedMore
  }

  /** A second record starts: move the first record's payload into the compaction buffer. */
  #startCompacting (): void {
    const have = this.#hsHave // the whole first record's payload
    let cap = INITIAL_ASSEMBLY_BYTES
    if (cap < have * 2) cap = have * 2
    const limit = this.#hsNeed >= 0 ? this.#hsNeed : this.maxHelloBytes
    if (cap > limit) cap = limit
    const buf = Buffer.allocUnsafeSlow(cap)
    this.#raw.copy(buf, 0, RECORD_HEADER_LEN, RECORD_HEADER_LEN + have)
    this.#hsBuf = buf
  }

  /** Append raw[from, to) (record payload) to the compaction buffer, growing it ×2 up to the cap. */
  #appendHandshake (buf: Buffer, raw: Buffer, from: number, to: number): void {
    let dst = buf
    const need = this.#hsHave + (to - from)
    if (need > dst.length) {
      // need ≤ #hsRecEnd ≤ limit: checked when the record header was read
      const limit = this.#hsNeed >= 0 ? this.#hsNeed : this.maxHelloBytes
      let cap = dst.length * 2
      if (cap > limit) cap = limit
      if (cap < need) cap = need
      dst = Buffer.allocUnsafeSlow(cap)
      buf.copy(dst, 0, 0, this.#hsHave)
      this.#hsBuf = dst
    }
    raw.copy(dst, this.#hsHave, from, to)
  }

  /** The whole handshake message is in: expose it as `hs` and parse it. */
  #complete (): HelloStatus {
    const need = this.#hsNeed
    const hs = this.#hsBuf !== null
      ? this.#hsBuf.subarray(0, need)
      : this.#raw.subarray(RECORD_HEADER_LEN, RECORD_HEADER_LEN + need)
    this.#hs = hs
    return parseClientHello(hs, 0, need, this.info)
  }

  /**
   * RFC 5246 Appendix E.2 (RFC 6101 Appendix E) SSLv2-compatible CLIENT-HELLO:
   *   uint8 msg_length[2] (high bit of the first byte set); uint8 msg_type = 1; Version version;
   *   uint16 cipher_spec_length; uint16 session_id_length; uint16 challenge_length;
   *   V2CipherSpec cipher_specs[cipher_spec_length]; opaque session_id[…]; opaque challenge[…];
   * It has no extensions, hence no SNI: a valid one is NoSni with info.sslv2 = true.
   */
  #advanceSslv2 (): HelloStatus {
    const raw = this.#raw
    const len = this.#rawLen
    // "msg_type ... The value MUST be 1"; the version of a TLS client is 3.x (an SSL 2.0-only hello,
    // version 0.2, is not TLS)
    if (len >= 3 && raw[2]! !== SSLV2_MSG_CLIENT_HELLO) return HelloStatus.NotTls
    if (len >= 4 && raw[3]! !== RECORD_VERSION_MAJOR) return HelloStatus.NotTls
    if (len < SSLV2_HEADER_LEN + 3) return HelloStatus.NeedMore
    const msgLen = ((raw[0]! & 0x7f) << 8) | raw[1]!
    if (msgLen > this.maxHelloBytes) return HelloStatus.TooLarge
    const total = SSLV2_HEADER_LEN + msgLen
    if (msgLen < SSLV2_FIXED_LEN) return HelloStatus.Malformed
    if (len < total) return HelloStatus.NeedMore

    const p = SSLV2_HEADER_LEN
    const version = (raw[p + 1]! << 8) | raw[p + 2]!
    const cipherSpecLen = (raw[p + 3]! << 8) | raw[p + 4]!
    const sessionIdLen = (raw[p + 5]! << 8) | raw[p + 6]!
    const challengeLen = (raw[p + 7]! << 8) | raw[p + 8]!
    // the three vectors fill the message exactly
    if (SSLV2_FIXED_LEN + cipherSpecLen + sessionIdLen + challengeLen !== msgLen) return HelloStatus.Malformed
    // "cipher_spec_length ... This field cannot be zero"; whole 3-byte V2CipherSpecs
    if (cipherSpecLen === 0 || cipherSpecLen % SSLV2_CIPHER_SPEC_LEN !== 0) return HelloStatus.Malformed
    // session_id_length: zero (TLS clients, RFC 5246 E.2) or 16 (RFC 6101 E.1)
    if (sessionIdLen !== 0 && sessionIdLen !== SSLV2_SESSION_ID_LEN) return HelloStatus.Malformed
    // challenge_length: 16..32 (RFC 6101 E.1)
    if (challengeLen < SSLV2_MIN_CHALLENGE_LEN || challengeLen > SSLV2_MAX_CHALLENGE_LEN) return HelloStatus.Malformed

    const info = this.info
    info.sslv2 = true
    info.legacyVersion = version
    info.records = 1
    info.handshakeLength = msgLen
    this.#hs = raw.subarray(SSLV2_HEADER_LEN, total)
    return HelloStatus.NoSni
  }
}
