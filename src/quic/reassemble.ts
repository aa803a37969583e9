/**
 * `CryptoReassembler`: the client's Initial CRYPTO stream put back together by offset, under a byte
 * cap, until it holds one complete ClientHello handshake message.
 *
 * Contract:
 *  - `add(data, start, end, offset)` places data[start, end) at stream offset `offset`. Frames may come
 *    in any order, across any number of packets and datagrams, duplicated or overlapping; bytes already
 *    held must be repeated exactly (RFC 9000 §2.2: "data at a given offset MUST NOT change if it is
 *    sent multiple times"), else `CryptoConflict`. Returns NeedMore, or a terminal status.
 *  - Once bytes [0, 4) are in, the handshake header fixes the message's size (`total`); bytes beyond
 *    it are refused (a client's Initial CRYPTO stream carries the ClientHello and nothing else, RFC
 *    9001 §4.1.3 / §17.2.2), as are bytes beyond `maxBytes`.
 *  - `complete()` is true when bytes [0, total) are all present: `buf[0, total)` is then the
 *    handshake message, record-free, ready for hello/'s `parseClientHello`.
 *  - Fixed shape; the data is copied (the datagrams stay untouched, they are forwarded byte for byte).
 *
 * Limits: `buf` and `have` grow ×2 from INITIAL_CRYPTO_BYTES, never beyond `maxBytes` (hello/'s
 * maxHelloBytes, default 16 KiB, hard cap 64 KiB): at most 2 × maxBytes per flow, whatever the
 * offsets. Work per `add` is linear in its length.
 *
 * Index rule (noUncheckedIndexedAccess): `buf[i]!` / `have[i]!` / `data[i]!` only after the range
 * checks in the same function (`ensure` makes `buf`/`have` at least `offset + len` long).
 */
import { HANDSHAKE_HEADER_LEN, HANDSHAKE_TYPE_CLIENT_HELLO } from '../hello/index.ts'
import { QuicStatus } from './types.ts'

/** first buffer size: a 1.8 KB post-quantum browser hello fits after one doubling */
const INITIAL_CRYPTO_BYTES = 1024

const EMPTY = new Uint8Array(0)

export class CryptoReassembler {
  /** the cap on the CRYPTO stream (bytes): hello/'s maxHelloBytes */
  readonly maxBytes: number
  /** stream bytes by offset; valid where `have` is 1 */
  buf: Uint8Array = EMPTY
  /** 1 where `buf` holds a received byte */
  have: Uint8Array = EMPTY
  /** bytes [0, contiguous) are all present */
  contiguous = 0
  /** one past the highest offset received */
  highest = 0
  /** size of the handshake message (header included) once its header is in; -1 before */
  total = -1
  /** CRYPTO frames taken (logs) */
  frames = 0

  constructor (maxBytes: number) {
    this.maxBytes = maxBytes
  }

  reset (): void {
    this.contiguous = 0
    this.highest = 0
    this.total = -1
    this.frames = 0
    this.have.fill(0)
  }

  /** true when the whole handshake message is present in buf[0, total) */
  complete (): boolean {
    return this.total >= 0 && this.contiguous >= this.total
  }

  add (data: Uint8Array, start: number, end: number, offset: number): QuicStatus {
    const len = end - start
    this.frames++
    // RFC 9000 §19.6 / §4.1: the receiver's buffer is its flow control; ours is maxHelloBytes
    if (offset + len > this.maxBytes) return QuicStatus.TooLarge
    if (len === 0) return QuicStatus.NeedMore
    // RFC 9001 §4.1.3: the client's Initial CRYPTO stream is the ClientHello alone
    if (this.total >= 0 && offset + len > this.total) return QuicStatus.HelloMalformed
    this.ensure(offset + len)
    const buf = this.buf
    const have = this.have
    for (let i = 0; i < len; i++) {
      const p = offset + i
      const b = data[start + i]!
      if (have[p]! !== 0) {
        // RFC 9000 §2.2: "data at a given offset MUST NOT change if it is sent multiple times"
        if (buf[p]! !== b) return QuicStatus.CryptoConflict
      } else {
        buf[p] = b
        have[p] = 1
      }
    }
    if (offset + len > this.highest) this.highest = offset + len
    let c = this.contiguous
    while (c < this.highest && have[c]! !== 0) c++
    this.contiguous = c
    if (this.total < 0 && c >= HANDSHAKE_HEADER_LEN) {
      // RFC 8446 §4: msg_type(1) uint24 length; RFC 9001 §4.1.3: the client's first message is the ClientHello
      if (buf[0]! !== HANDSHAKE_TYPE_CLIENT_HELLO) return QuicStatus.HelloMalformed
      const total = HANDSHAKE_HEADER_LEN + ((buf[1]! << 16) | (buf[2]! << 8) | buf[3]!)
      if (total > this.maxBytes) return QuicStatus.TooLarge
      if (this.highest > total) return QuicStatus.HelloMalformed
      this.total = total
    }
    return QuicStatus.NeedMore
  }

  /** grow buf and have (×2, capped at maxBytes) so that they hold at least `size` bytes */
  private ensure (size: number): void {
    if (size <= this.buf.length) return
    let cap = this.buf.length === 0 ? INITIAL_CRYPTO_BYTES : this.buf.length
    while (cap < size) cap *= 2
    if (cap > this.maxBytes) cap = this.maxBytes
    const buf = new Uint8Array(cap)
    const have = new Uint8Array(cap)
    buf.set(this.buf)
    have.set(this.have)
    this.buf = buf
    this.have = have
  }
}
