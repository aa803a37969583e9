/**
 * http/head — the incremental reader of one HTTP/1.x request head (request line and header fields, up to
 * the empty line), for routing plain-HTTP connections by their `Host`. Pure: bytes in, offsets and status
 * codes out; no node:* imports, no strings, no exceptions for any input.
 *
 * Contract:
 *  - `push(chunk)` → NeedMore until the head is complete (Ok) or refused (BadRequest / TooLarge); a
 *    terminal status is sticky and later chunks are neither read nor kept. `error` says why a head was
 *    refused (HeadError), for the log.
 *  - Ok means: a request line `METHOD SP TARGET SP HTTP/1.0|HTTP/1.1 CRLF` with a token method and an
 *    origin-form (`/…`) or asterisk-form (`*`) target; then header fields `name ":" OWS value OWS CRLF`
 *    with token names; then CRLF. Exactly one `Host` field (name compared case-insensitively), whose value
 *    is a host name by names/'s rule (the one SNI and route patterns follow) or an address literal, with an
 *    optional `:port` (1-65535). `hostStart`/`hostEnd` are the name's offsets in `head`, port and OWS
 *    excluded; `hostKind` says whether it is a name (route it) or an address literal (no name: the default).
 *  - Refused (400, RFC 9112): obs-fold (a line starting with SP/HTAB, §5.2), whitespace between a field
 *    name and its colon (§5.1), NUL or any other control byte but HTAB in a field (RFC 9110 §5.5), a bare
 *    CR (§2.2) or a bare LF (§2.2 lets a recipient accept it; we do not, because an origin that reads
 *    lines differently would see other fields than the ones we routed by), no Host, two Hosts (§3.2), a
 *    Host with userinfo or that is neither a name nor an address literal, an absolute- or authority-form
 *    target (§3.2.2: the origin would take the authority from the target, not the Host we routed by),
 *    a version other than HTTP/1.0 and HTTP/1.1 (HTTP/2 prior knowledge included).
 *  - `received()` is every byte pushed up to and including the chunk that completed the head, exactly as
 *    received (a body that came in the same segment included): what goes to the origin, unchanged.
 *
 * Limits: the head (request line through the final CRLF) is at most MAX_HEAD_BYTES; the bytes kept while
 * NeedMore never exceed it (the completing chunk may add what it carries past the head, bounded by the
 * socket's read size). One buffer per connection, grown ×2 from INITIAL_HEAD_BYTES and only when a head
 * spans chunks (a head in one chunk is read in place, no copy); no allocation per line or field. Each byte
 * is scanned once for line ends and once by the line's own check.
 *
 * Index rule (noUncheckedIndexedAccess): `buf[i]!` only for i in [0, len) with len ≤ buf.length.
 */
import { checkHostName, NameStatus } from '../names/index.ts'

/**
 * Largest request head accepted, in bytes (request line, fields, final CRLF). 16 KiB is Node's own
 * `http.maxHeaderSize` default (llhttp refuses more with 431), so a head an origin running Node would take
 * passes here and one it would refuse is refused before it costs an origin connection; nginx's
 * `large_client_header_buffers 4 8k` allows 8 KiB per line and Apache 8190 bytes per field, both within it.
 */
export const MAX_HEAD_BYTES = 16 * 1024

/** First buffer when a head spans chunks: a typical browser head (cookies aside) is 400-1000 bytes. */
export const INITIAL_HEAD_BYTES = 2048

/**
 * Longest Host value looked at: a name (253) with a trailing dot, `:65535`, and OWS are far below it; an
 * IPv6 literal with a zone is 50. Longer is refused before any name check runs.
 */
const MAX_HOST_VALUE = 300

export const HeadStatus = {
  NeedMore: 0,
  /** complete and valid: route by hostStart/hostEnd */
  Ok: 1,
  /** refused: answer 400 and close (`error` says why) */
  BadRequest: 2,
  /** longer than MAX_HEAD_BYTES: answer 431 and close */
  TooLarge: 3,
} as const
export type HeadStatus = typeof HeadStatus[keyof typeof HeadStatus]

/** Why a head was refused (slow path: the log's `reason`). */
export const HeadError = {
  None: 0,
  RequestLine: 1,
  Version: 2,
  Target: 3,
  ObsFold: 4,
  FieldName: 5,
  ControlByte: 6,
  BareCr: 7,
  BareLf: 8,
  NoHost: 9,
  TwoHosts: 10,
  HostUserinfo: 11,
  HostInvalid: 12,
  HostPort: 13,
  TooLarge: 14,
} as const
export type HeadError = typeof HeadError[keyof typeof HeadError]

const ERROR_NAMES: readonly string[] = [
  'none', 'bad_request_line', 'bad_version', 'bad_target', 'obs_fold', 'bad_field_name', 'control_byte',
  'bare_cr', 'bare_lf', 'no_host', 'two_hosts', 'host_userinfo', 'host_invalid', 'host_port', 'too_large',
]

/** The log word for a HeadError (`obs_fold`, `two_hosts`, …). */
export function headErrorName (e: HeadError): string {
  return ERROR_NAMES[e] ?? 'unknown'
}

/** `hostKind`: a host name (route it) or an address literal (no name to route by) */
export const HostKind = {
  None: 0,
  Name: 1,
  Address: 2,
} as const
export type HostKind = typeof HostKind[keyof typeof HostKind]

const CR = 0x0d
const LF = 0x0a
const SP = 0x20
const HTAB = 0x09
const COLON = 0x3a
const SLASH = 0x2f
const STAR = 0x2a
const AT = 0x40
const LBRACKET = 0x5b
const RBRACKET = 0x5d
const DEL = 0x7f
const DIGIT_0 = 0x30
const DIGIT_9 = 0x39
const HIGHEST_PORT = 65535

/** RFC 9110 §5.6.2 tchar: 1 for bytes allowed in a token (method, field name). */
const TCHAR: Uint8Array = buildTchar()

function buildTchar (): Uint8Array {
  const t = new Uint8Array(256)
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1
  for (const ch of "!#$%&'*+-.^_`|~") t[ch.charCodeAt(0)] = 1
  return t
}

/** `HTTP/1.` — the version prefix; the minor digit must then be 0 or 1 */
const VERSION_PREFIX = [0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e]
/** `host`, lower case: field names are compared with |0x20 on letters */
const HOST_NAME = [0x68, 0x6f, 0x73, 0x74]

const EMPTY = new Uint8Array(0)

export class HttpHeadReader {
  status: HeadStatus = HeadStatus.NeedMore
  error: HeadError = HeadError.None
  hostKind: HostKind = HostKind.None
  /** the Host's name (or address literal, brackets excluded) in `head`, port and OWS excluded; -1 before Ok */
  hostStart = -1
  hostEnd = -1
  /** the first chunk itself while it is the only one; then our own buffer */
  #buf: Uint8Array = EMPTY
  #len = 0
  #owned = false
  /** where the current (incomplete) line starts */
  #lineStart = 0
  /** bytes before #scan hold no LF of the current line */
  #scan = 0
  /** request line read */
  #started = false
  #hosts = 0
  /** length of the head (through the final LF) once Ok */
  #headLen = 0

  /** Feed the next chunk; returns the status (terminal statuses are sticky and keep nothing more). */
  push (chunk: Uint8Array): HeadStatus {
    if (this.status !== HeadStatus.NeedMore || chunk.length === 0) return this.status
    if (this.#len === 0) {
      this.#buf = chunk
      this.#len = chunk.length
    } else {
      this.#append(chunk)
    }
    return this.#advance()
  }

  /** The head's bytes (routing offsets index them): valid once Ok. */
  get head (): Uint8Array {
    return this.#buf
  }

  /** Bytes received so far. */
  get length (): number {
    return this.#len
  }

  /** Head length through its final CRLF (0 before Ok). */
  get headLength (): number {
    return this.#headLen
  }

  /** Every byte received, exactly as received (module header); the first chunk itself when only one came. */
  received (): Uint8Array {
    return this.#owned ? this.#buf.subarray(0, this.#len) : this.#buf
  }

  #append (chunk: Uint8Array): void {
    const need = this.#len + chunk.length
    if (!this.#owned || need > this.#buf.length) {
      let cap = this.#owned ? this.#buf.length * 2 : INITIAL_HEAD_BYTES
      if (cap > MAX_HEAD_BYTES) cap = MAX_HEAD_BYTES
      // the completing chunk may carry a body past the cap; one that does not complete the head is refused
      if (cap < need) cap = need
      const grown = new Uint8Array(cap)
      grown.set(this.#buf.subarray(0, this.#len), 0)
      this.#buf = grown
      this.#owned = true
    }
    this.#buf.set(chunk, this.#len)
    this.#len = need
  }

  #fail (error: HeadError): HeadStatus {
    this.error = error
    this.status = error === HeadError.TooLarge ? HeadStatus.TooLarge : HeadStatus.BadRequest
    return this.status
  }

  /** Read every complete line; stop at the empty line (Ok), a fault, or the end of the bytes. */
  #advance (): HeadStatus {
    const buf = this.#buf
    const len = this.#len
    let i = this.#scan
    while (true) {
      const limit = len < MAX_HEAD_BYTES ? len : MAX_HEAD_BYTES
      if (!this.#started) {
        // the request line has no control byte but its CR: a ClientHello (0x16 …) or other binary is
        // refused at its first byte instead of waiting for an LF that may never come
        while (i < limit && buf[i]! !== LF) {
          const c = buf[i]!
          if (c < SP && c !== CR) return this.#fail(HeadError.RequestLine)
          i++
        }
      } else {
        while (i < limit && buf[i]! !== LF) i++
      }
      if (i >= limit) {
        this.#scan = i
        return len >= MAX_HEAD_BYTES ? this.#fail(HeadError.TooLarge) : HeadStatus.NeedMore
      }
      // buf[i] is LF: the line is [lineStart, i - 1) when buf[i - 1] is CR
      const start = this.#lineStart
      if (i === start || buf[i - 1]! !== CR) return this.#fail(HeadError.BareLf)
      const end = i - 1
      i++
      this.#lineStart = i
      if (end === start) {
        // the empty line: the head is complete
        if (!this.#started) return this.#fail(HeadError.RequestLine)
        if (this.#hosts === 0) return this.#fail(HeadError.NoHost)
        this.#headLen = i
        this.status = HeadStatus.Ok
        return this.status
      }
      const e = this.#started ? this.#field(buf, start, end) : this.#requestLine(buf, start, end)
      if (e !== HeadError.None) return this.#fail(e)
      this.#started = true
    }
  }

  /** `METHOD SP TARGET SP HTTP/1.x` in buf[start, end) (CRLF excluded). */
  #requestLine (buf: Uint8Array, start: number, end: number): HeadError {
    let i = start
    while (i < end && TCHAR[buf[i]!]! === 1) i++
    if (i === start || i >= end || buf[i]! !== SP) return HeadError.RequestLine
    const target = ++i
    while (i < end && buf[i]! > SP && buf[i]! !== DEL) i++
    if (i === target || i >= end || buf[i]! !== SP) return HeadError.RequestLine
    // origin-form (`/path`) or asterisk-form (`*` alone); absolute- and authority-form name a host of their own
    const t = buf[target]!
    if (!(t === SLASH || (t === STAR && i === target + 1))) return HeadError.Target
    i++
    if (end - i !== VERSION_PREFIX.length + 1) return HeadError.Version
    for (let k = 0; k < VERSION_PREFIX.length; k++) if (buf[i + k]! !== VERSION_PREFIX[k]!) return HeadError.Version
    const minor = buf[end - 1]!
    if (minor !== DIGIT_0 && minor !== DIGIT_0 + 1) return HeadError.Version
    return HeadError.None
  }

  /** One field line `name ":" OWS value OWS` in buf[start, end) (CRLF excluded). */
  #field (buf: Uint8Array, start: number, end: number): HeadError {
    const first = buf[start]!
    if (first === SP || first === HTAB) return HeadError.ObsFold
    let i = start
    while (i < end && TCHAR[buf[i]!]! === 1) i++
    if (i === start || i >= end || buf[i]! !== COLON) return HeadError.FieldName
    const nameEnd = i
    i++
    // the value: any visible byte, SP, HTAB or obs-text (≥ 0x80); no other control byte (NUL, CR included)
    for (let k = i; k < end; k++) {
      const c = buf[k]!
      if ((c < SP && c !== HTAB) || c === DEL) return c === CR ? HeadError.BareCr : HeadError.ControlByte
    }
    if (nameEnd - start !== HOST_NAME.length) return HeadError.None
    for (let k = 0; k < HOST_NAME.length; k++) if ((buf[start + k]! | 0x20) !== HOST_NAME[k]!) return HeadError.None
    if (++this.#hosts > 1) return HeadError.TwoHosts
    return this.#host(buf, i, end)
  }

  /** The Host value in buf[start, end): `name[:port]` or `[v6][:port]` or `v4[:port]`, OWS around it. */
  #host (buf: Uint8Array, start: number, end: number): HeadError {
    while (start < end && (buf[start]! === SP || buf[start]! === HTAB)) start++
    while (end > start && (buf[end - 1]! === SP || buf[end - 1]! === HTAB)) end--
    if (start === end) return HeadError.NoHost
    if (end - start > MAX_HOST_VALUE) return HeadError.HostInvalid
    for (let k = start; k < end; k++) if (buf[k]! === AT) return HeadError.HostUserinfo
    let nameEnd: number
    if (buf[start]! === LBRACKET) {
      // IPv6 literal (RFC 3986 IP-literal): hex digits, ':' and '.' only; routed as no name
      let k = start + 1
      while (k < end && isV6Byte(buf[k]!)) k++
      if (k === start + 1 || k >= end || buf[k]! !== RBRACKET) return HeadError.HostInvalid
      this.hostStart = start + 1
      this.hostEnd = k
      this.hostKind = HostKind.Address
      nameEnd = k + 1
    } else {
      let k = start
      while (k < end && buf[k]! !== COLON) k++
      nameEnd = k
      const e = checkHostName(buf, start, k)
      if (e === NameStatus.EndsInNumber && isIpv4(buf, start, k)) {
        this.hostKind = HostKind.Address
      } else if (e < 0) {
        return HeadError.HostInvalid
      } else {
        this.hostKind = HostKind.Name
      }
      this.hostStart = start
      this.hostEnd = k
    }
    if (nameEnd === end) return HeadError.None
    if (buf[nameEnd]! !== COLON) return HeadError.HostInvalid
    return portOk(buf, nameEnd + 1, end) ? HeadError.None : HeadError.HostPort
  }
}

function isV6Byte (c: number): boolean {
  return (c >= DIGIT_0 && c <= DIGIT_9) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66) || c === COLON || c === 0x2e
}

/** 1-5 digits, 1..65535 */
function portOk (buf: Uint8Array, start: number, end: number): boolean {
  if (end - start < 1 || end - start > 5) return false
  let v = 0
  for (let k = start; k < end; k++) {
    const c = buf[k]!
    if (c < DIGIT_0 || c > DIGIT_9) return false
    v = v * 10 + (c - DIGIT_0)
  }
  return v >= 1 && v <= HIGHEST_PORT
}

/** dotted-quad IPv4: four decimal parts of 1-3 digits, each ≤ 255 */
function isIpv4 (buf: Uint8Array, start: number, end: number): boolean {
  let parts = 0
  let digits = 0
  let v = 0
  for (let k = start; k <= end; k++) {
    const c = k < end ? buf[k]! : 0x2e
    if (c === 0x2e) {
      if (digits === 0 || v > 255) return false
      parts++
      digits = 0
      v = 0
    } else if (c >= DIGIT_0 && c <= DIGIT_9 && digits < 3) {
      v = v * 10 + (c - DIGIT_0)
      digits++
    } else {
      return false
    }
  }
  return parts === 4
}

/** Precomputed responses for refused heads: status line, a short body, and `Connection: close`. */
function response (status: string, body: string): Uint8Array {
  const text = 'HTTP/1.1 ' + status + '\r\nContent-Type: text/plain\r\nContent-Length: ' + String(body.length + 1) +
    '\r\nConnection: close\r\n\r\n' + body + '\n'
  const out = new Uint8Array(text.length)
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i)
  return out
}

/** RFC 9110 §15.5.1: the request head is malformed (bad syntax, Host missing, twice, or invalid). */
export const RESPONSE_400 = response('400 Bad Request', 'bad request')
/** RFC 9110 §15.5.20: no route serves this Host here (the client may retry on another connection). */
export const RESPONSE_421 = response('421 Misdirected Request', 'no route for this host')
/** RFC 6585 §5: the head is longer than MAX_HEAD_BYTES. */
export const RESPONSE_431 = response('431 Request Header Fields Too Large', 'request head too large')
