/**
 * Bounds-checked reader over a byte range, in the style of Go's `cryptobyte.String`
 * (golang.org/x/crypto/cryptobyte/string.go) and rustls' `codec::Reader`.
 *
 * Contract:
 *  - A `Cursor` is a window `[pos, end)` over a `Uint8Array`. It never copies and never writes.
 *  - Every read reports failure instead of throwing: numeric reads return -1 when fewer bytes remain
 *    than asked (cryptobyte `ReadUint16` → false), `skip`/`read*Prefixed` return false. A failed read
 *    leaves the position where it was, so chained checks can short-circuit.
 *  - Length-prefixed reads return the sub-range as another cursor (a view: `start`/`end` offsets into
 *    the same buffer), never a slice.
 *  - Cursors are fixed-shape and reusable (`init`), so the parser keeps a few at module level and
 *    allocates nothing per parse.
 *
 * Index rule (noUncheckedIndexedAccess): `buf[i]!` appears only after an explicit range check in the
 * same function; `init` is the only place that trusts its caller (it checks `end <= buf.length`).
 */

const EMPTY = new Uint8Array(0)

/**
 * Throw for a bug in the caller (a range outside the buffer, an impossible option). Never used for
 * anything a peer can send: peers get status codes.
 */
export function programmerError (message: string): never {
  throw new RangeError('hello/: ' + message)
}

export class Cursor {
  /** the underlying bytes (never written) */
  buf: Uint8Array = EMPTY
  /** offset of the next unread byte */
  pos = 0
  /** offset one past the last readable byte */
  end = 0

  /** Point this cursor at buf[start, end). Throws only on a programmer error (range outside buf). */
  init (buf: Uint8Array, start: number, end: number): void {
    if (!(start >= 0 && start <= end && end <= buf.length)) {
      programmerError('cursor range [' + String(start) + ', ' + String(end) + ') outside buffer of ' + String(buf.length))
    }
    this.buf = buf
    this.pos = start
    this.end = end
  }

  /** number of unread bytes */
  remaining (): number {
    return this.end - this.pos
  }

  /** true when every byte has been consumed (cryptobyte `Empty`) */
  empty (): boolean {
    return this.pos === this.end
  }

  /** read one byte, or -1 if none is left */
  readU8 (): number {
    const p = this.pos
    if (this.end - p < 1) return -1
    this.pos = p + 1
    return this.buf[p]!
  }

  /** read a big-endian uint16, or -1 if fewer than 2 bytes are left */
  readU16 (): number {
    const p = this.pos
    if (this.end - p < 2) return -1
    const b = this.buf
    this.pos = p + 2
    return (b[p]! << 8) | b[p + 1]!
  }

  /** read a big-endian uint24, or -1 if fewer than 3 bytes are left */
  readU24 (): number {
    const p = this.pos
    if (this.end - p < 3) return -1
    const b = this.buf
    this.pos = p + 3
    return (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!
  }

  /** advance n bytes; false (and no move) if fewer are left */
  skip (n: number): boolean {
    if (this.end - this.pos < n) return false
    this.pos += n
    return true
  }

  /**
   * Read a uint8 length then that many bytes; `sub` becomes a view of those bytes
   * (cryptobyte `ReadUint8LengthPrefixed`). False (and no move) when truncated.
   */
  readU8Prefixed (sub: Cursor): boolean {
    const p = this.pos
    if (this.end - p < 1) return false
    const n = this.buf[p]!
    if (this.end - p - 1 < n) return false
    sub.buf = this.buf
    sub.pos = p + 1
    sub.end = p + 1 + n
    this.pos = p + 1 + n
    return true
  }

  /**
   * Read a big-endian uint16 length then that many bytes; `sub` becomes a view of those bytes
   * (cryptobyte `ReadUint16LengthPrefixed`). False (and no move) when truncated.
   */
  readU16Prefixed (sub: Cursor): boolean {
    const p = this.pos
    if (this.end - p < 2) return false
    const b = this.buf
    const n = (b[p]! << 8) | b[p + 1]!
    if (this.end - p - 2 < n) return false
    sub.buf = b
    sub.pos = p + 2
    sub.end = p + 2 + n
    this.pos = p + 2 + n
    return true
  }
}
