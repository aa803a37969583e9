/**
 * Incremental HTTP/1.1 response reader for `hellogate bench` (keepalive and bulk modes): bytes in,
 * "need more", "done after N bytes" or a coded failure out. It never buffers a body: body bytes are
 * counted and skipped, so a bulk response of any size costs the same memory as a small one.
 *
 * Contract: `reset(isHead)` before each request; then `feed(chunk, start, end)` with every chunk the
 * socket delivers, until it returns ≥ 0 (the response ended that many bytes into the chunk, from
 * `start`) or a `ReadStatus` error (< -1). A response with neither Content-Length nor chunked
 * encoding runs until the connection closes: `feed` keeps answering `More` and `eof()` says whether
 * the close ended it cleanly. After a response, `status`, `bodyBytes` and `close` (the origin said
 * `Connection: close`, or the body ran to EOF) describe it. 1xx interim responses are skipped.
 *
 * Limits: the header block is capped at MAX_HEAD_BYTES; a chunk-size line at MAX_CHUNK_LINE_BYTES;
 * bodies are unbounded (counted, never stored). Pure: no node:* imports.
 */

/** feed() results below 0 (≥ 0 is "done, consumed this many bytes") */
export const ReadStatus = {
  /** the response is not complete yet */
  More: -1,
  /** the first line is not `HTTP/1.x NNN` */
  BadStatusLine: -2,
  /** the header block is larger than MAX_HEAD_BYTES */
  HeadTooLarge: -3,
  /** Content-Length is not a number */
  BadLength: -4,
  /** a chunk-size line is malformed or too long */
  BadChunk: -5,
} as const
export type ReadStatus = typeof ReadStatus[keyof typeof ReadStatus]

/** Error-code names the bench reports for each failure status. */
export function describeReadStatus (s: number): string {
  switch (s) {
    case ReadStatus.BadStatusLine: return 'HTTP_BAD_STATUS_LINE'
    case ReadStatus.HeadTooLarge: return 'HTTP_HEAD_TOO_LARGE'
    case ReadStatus.BadLength: return 'HTTP_BAD_CONTENT_LENGTH'
    case ReadStatus.BadChunk: return 'HTTP_BAD_CHUNK'
    default: return 'HTTP_PARSE'
  }
}

/** nginx's large_client_header_buffers default is 4 × 8 KiB; 64 KiB leaves room for any sane origin */
export const MAX_HEAD_BYTES = 64 * 1024
/** hex size + extensions; RFC 9112 §7.1 sets no bound, 4 KiB is generous for a benchmark target */
export const MAX_CHUNK_LINE_BYTES = 4096

const CR = 13
const LF = 10

const S_HEAD = 0
const S_BODY_LENGTH = 1
const S_BODY_EOF = 2
const S_CHUNK_SIZE = 3
const S_CHUNK_DATA = 4
const S_CHUNK_DATA_END = 5
const S_TRAILER = 6
const S_DONE = 7

export class ResponseReader {
  /** status code of the last (or current) final response */
  status = 0
  /** body bytes of the current response (chunk framing excluded) */
  bodyBytes = 0
  /** the connection cannot carry another request after this response */
  close = false
  private state = S_HEAD
  private isHead = false
  private readonly head = new Uint8Array(MAX_HEAD_BYTES)
  private headLen = 0
  /** body bytes left (S_BODY_LENGTH, S_CHUNK_DATA) or bytes of the current size/trailer line */
  private left = 0
  private chunkSize = 0
  private chunkDigits = 0
  private inExtension = false

  /** Prepare for the response to the next request (`isHead`: a HEAD request, whose response has no body). */
  reset (isHead = false): void {
    this.status = 0
    this.bodyBytes = 0
    this.close = false
    this.state = S_HEAD
    this.isHead = isHead
    this.headLen = 0
    this.left = 0
  }

  /** true when the response is complete (also after a clean EOF of a read-until-close body) */
  get done (): boolean { return this.state === S_DONE }

  /** The connection closed: true when that ends the response cleanly (a body delimited by the close). */
  eof (): boolean {
    if (this.state === S_BODY_EOF) { this.state = S_DONE; return true }
    return this.state === S_DONE
  }

  feed (buf: Uint8Array, start: number, end: number): number {
    let i = start
    while (i < end) {
      switch (this.state) {
        case S_HEAD: {
          const r = this.readHead(buf, i, end)
          if (r < 0) return r === ReadStatus.More ? ReadStatus.More : r
          i = r
          break
        }
        case S_BODY_LENGTH:
          i = this.skipBody(i, end)
          if (this.left === 0) this.state = S_DONE
          break
        case S_BODY_EOF:
          this.bodyBytes += end - i
          return ReadStatus.More
        case S_CHUNK_SIZE: {
          const b = buf[i++]!
          if (++this.left > MAX_CHUNK_LINE_BYTES) return ReadStatus.BadChunk
          if (b === LF) {
            if (this.chunkDigits === 0) return ReadStatus.BadChunk
            if (this.chunkSize === 0) { this.state = S_TRAILER; this.left = 0; break }
            this.state = S_CHUNK_DATA
            this.left = this.chunkSize
            break
          }
          if (b === CR || this.inExtension) break
          if (b === 0x3b /* ; */ || b === 0x20 || b === 0x09) { this.inExtension = true; break }
          const d = hexDigit(b)
          // 2^48 bytes is far past anything a benchmark reads; beyond that the size is not trustworthy
          if (d < 0 || this.chunkDigits >= 12) return ReadStatus.BadChunk
          this.chunkSize = this.chunkSize * 16 + d
          this.chunkDigits++
          break
        }
        case S_CHUNK_DATA:
          i = this.skipBody(i, end)
          if (this.left === 0) this.state = S_CHUNK_DATA_END
          break
        case S_CHUNK_DATA_END: {
          const b = buf[i++]!
          if (b === LF) { this.startChunk(); break }
          if (b !== CR || ++this.left > 1) return ReadStatus.BadChunk
          break
        }
        case S_TRAILER: {
          // trailer fields until an empty line; `left` counts the bytes of the current line
          const b = buf[i++]!
          if (b === LF) {
            if (this.left === 0) { this.state = S_DONE; break }
            this.left = 0
          } else if (b !== CR) {
            if (++this.left > MAX_CHUNK_LINE_BYTES) return ReadStatus.BadChunk
          }
          break
        }
        default:
          return i - start
      }
      if (this.state === S_DONE) return i - start
    }
    return this.state === S_DONE ? i - start : ReadStatus.More
  }

  /** Count up to `left` body bytes from offset i; returns the offset after them. */
  private skipBody (i: number, end: number): number {
    const n = Math.min(this.left, end - i)
    this.left -= n
    this.bodyBytes += n
    return i + n
  }

  private startChunk (): void {
    this.state = S_CHUNK_SIZE
    this.left = 0
    this.chunkSize = 0
    this.chunkDigits = 0
    this.inExtension = false
  }

  /** Copy header bytes until CRLFCRLF; then decide the body framing. Returns the next offset or a status. */
  private readHead (buf: Uint8Array, i: number, end: number): number {
    const head = this.head
    while (i < end) {
      if (this.headLen === MAX_HEAD_BYTES) return ReadStatus.HeadTooLarge
      const b = buf[i++]!
      head[this.headLen++] = b
      const n = this.headLen
      if (b === LF && n >= 4 && head[n - 2] === CR && head[n - 3] === LF && head[n - 4] === CR) {
        const r = this.parseHead(n)
        if (r < 0) return r
        return i
      }
    }
    return ReadStatus.More
  }

  private parseHead (n: number): number {
    const text = latin1(this.head, n)
    const lines = text.split('\r\n')
    const first = lines[0] ?? ''
    // `HTTP/1.1 200 OK`: 12 characters at least, a space after the version, three digits
    if (!first.startsWith('HTTP/1.') || first.length < 12 || first[8] !== ' ') return ReadStatus.BadStatusLine
    const status = Number(first.slice(9, 12))
    if (!Number.isInteger(status) || status < 100 || status > 999) return ReadStatus.BadStatusLine
    let length = -1
    let chunked = false
    let close = first.startsWith('HTTP/1.0')
    for (let k = 1; k < lines.length; k++) {
      const line = lines[k]!
      const colon = line.indexOf(':')
      if (colon <= 0) continue
      const name = line.slice(0, colon).trim().toLowerCase()
      const value = line.slice(colon + 1).trim().toLowerCase()
      if (name === 'content-length') {
        const v = Number(value)
        if (value === '' || !Number.isSafeInteger(v) || v < 0) return ReadStatus.BadLength
        length = v
      } else if (name === 'transfer-encoding') {
        chunked = value.endsWith('chunked')
      } else if (name === 'connection') {
        if (value.includes('close')) close = true
        else if (value.includes('keep-alive')) close = false
      }
    }
    if (status < 200) {
      // interim response (100 Continue, 103 Early Hints): the final one follows
      this.headLen = 0
      return 0
    }
    this.status = status
    this.close = close
    if (this.isHead || status === 204 || status === 304) {
      this.state = S_DONE
    } else if (chunked) {
      this.startChunk()
    } else if (length >= 0) {
      this.left = length
      this.state = length === 0 ? S_DONE : S_BODY_LENGTH
    } else {
      // RFC 9112 §6.3 rule 8: the body runs until the connection closes
      this.close = true
      this.state = S_BODY_EOF
    }
    return 0
  }
}

function hexDigit (b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30
  if (b >= 0x61 && b <= 0x66) return b - 0x61 + 10
  if (b >= 0x41 && b <= 0x46) return b - 0x41 + 10
  return -1
}

function latin1 (bytes: Uint8Array, n: number): string {
  let s = ''
  for (let i = 0; i < n; i++) s += String.fromCharCode(bytes[i]!)
  return s
}
