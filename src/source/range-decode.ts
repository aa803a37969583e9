/**
 * source/range-decode — etcd's RangeResponse read straight from its protobuf bytes: the prefix read's
 * pages arrive as raw gRPC messages (etcd.ts), and only what the table needs is taken from them.
 *
 * Why not the client's decoder: the etcd3 client (protobufjs) turns every KeyValue into an object with
 * two Buffers and four int64 fields as strings; at a million keys that decoding was most of a 12 s start
 * and hundreds of MB of short-lived objects. Here a page is one pass over its bytes, and the keys and
 * values stay in the page as offsets until the caller makes the strings it keeps.
 *
 * Contract:
 *  - `decodeRangeResponse(buf, start, end, out)` reads `buf[start, end)` as an etcdserverpb.RangeResponse
 *    into `out` (a reusable RangePage) and returns a RangeStatus: Ok, or the first fault found. On a fault
 *    `out` holds what was read so far and must not be used.
 *  - Read: `header.revision`, `more`, `count`, and per `kvs` entry the key and value as offsets into `buf`
 *    (`keyStart[i]`..`keyEnd[i]`, `valueStart[i]`..`valueEnd[i]`). Every other field (cluster id, member id,
 *    raft term, the KeyValue revisions, version, lease), and any field a later etcd adds, is skipped by its
 *    wire type, as protobuf readers must.
 *  - Faults: a message or field running past its end (Truncated), a varint longer than 10 bytes or one whose
 *    10th byte carries more than the 64th bit (VarintOverflow), a known field with another wire type than
 *    etcd's .proto gives it, or a group or reserved wire type (WireType), a revision or count above 2^53 - 1
 *    or negative (the int64 read as a number would lose digits: OutOfRange).
 *  - Pure: bytes in, offsets and a status out; nothing thrown for anything the peer sends.
 *
 * Limits: offsets are Uint32 (a gRPC answer is at most etcd.ts' MAX_RESPONSE_BYTES); the offset arrays grow
 * by doubling and are kept for the next page (a page of 100 000 keys: 1.6 MB).
 */

/** How a decode ended. */
export const RangeStatus = {
  Ok: 0,
  /** a length or a varint runs past the end of its message */
  Truncated: 1,
  /** a varint of more than 10 bytes, or above 2^64 - 1 */
  VarintOverflow: 2,
  /** a known field with the wrong wire type, or a wire type protobuf 3 never sends (groups, 6, 7) */
  WireType: 3,
  /** header.revision or count above Number.MAX_SAFE_INTEGER, or negative */
  OutOfRange: 4,
} as const
export type RangeStatus = typeof RangeStatus[keyof typeof RangeStatus]

/** RangeStatus → the words a log line or an error message uses. */
export const RANGE_STATUS_TEXT: Readonly<Record<RangeStatus, string>> = {
  [RangeStatus.Ok]: 'ok',
  [RangeStatus.Truncated]: 'a field runs past the end of its message',
  [RangeStatus.VarintOverflow]: 'a varint longer than 10 bytes or above 2^64 - 1',
  [RangeStatus.WireType]: 'a field with the wrong wire type',
  [RangeStatus.OutOfRange]: 'a revision or count beyond 2^53 - 1, or negative',
}

const EMPTY = new Uint8Array(0)

/** protobuf wire types (encoding spec "Message Structure") */
const WIRE_VARINT = 0
const WIRE_I64 = 1
const WIRE_LEN = 2
const WIRE_I32 = 5

/** field numbers in etcd's rpc.proto (RangeResponse, ResponseHeader) and kv.proto (KeyValue) */
const RESPONSE_HEADER = 1
const RESPONSE_KVS = 2
const RESPONSE_MORE = 3
const RESPONSE_COUNT = 4
const HEADER_REVISION = 3
const KV_KEY = 1
const KV_VALUE = 5

/** a varint is at most 10 bytes (64 bits, 7 per byte); the 10th may only carry bit 64 */
const VARINT_MAX_BYTES = 10

/** offset arrays of a new RangePage: one page of the prefix read is up to 100 000 keys; tests read a few */
const INITIAL_KVS = 1024

/** One decoded page: fixed shape, reused from page to page (module header). */
export class RangePage {
  /** header.revision: the store's revision the page was read at */
  revision = 0
  /** more keys follow in the requested range */
  more = false
  /** keys in the requested range (the whole range, not this page) */
  count = 0
  /** kvs in this page */
  kvs = 0
  keyStart = new Uint32Array(INITIAL_KVS)
  keyEnd = new Uint32Array(INITIAL_KVS)
  valueStart = new Uint32Array(INITIAL_KVS)
  valueEnd = new Uint32Array(INITIAL_KVS)

  /** make room for kv number `i` */
  grow (i: number): void {
    if (i < this.keyStart.length) return
    const n = this.keyStart.length * 2
    this.keyStart = grown(this.keyStart, n)
    this.keyEnd = grown(this.keyEnd, n)
    this.valueStart = grown(this.valueStart, n)
    this.valueEnd = grown(this.valueEnd, n)
  }
}

function grown (a: Uint32Array<ArrayBuffer>, n: number): Uint32Array<ArrayBuffer> {
  const b = new Uint32Array(n)
  b.set(a)
  return b
}

/**
 * The varint reader's state: where the next byte is and the value read. A module-level instance, so
 * that reading a varint allocates nothing (two results without an object per call).
 */
class Reader {
  buf: Uint8Array = EMPTY
  pos = 0
  /** the last varint read, as a number (exact up to 2^53) */
  value = 0
}

const r = new Reader()

/** read a varint at r.pos below `end` into r.value; Ok or the fault */
function readVarint (end: number): RangeStatus {
  const buf = r.buf
  let pos = r.pos
  let value = 0
  let scale = 1
  for (let i = 0; i < VARINT_MAX_BYTES; i++) {
    if (pos >= end) return RangeStatus.Truncated
    const b = buf[pos++]!
    if (i === VARINT_MAX_BYTES - 1 && b > 1) return RangeStatus.VarintOverflow
    value += (b & 0x7f) * scale
    if (b < 0x80) {
      r.pos = pos
      r.value = value
      return RangeStatus.Ok
    }
    scale *= 128
  }
  return RangeStatus.VarintOverflow
}

/**
 * Read a length-delimited field's length at r.pos; on Ok r.pos is its first byte and r.value its end
 * (checked against `end`).
 */
function readLen (end: number): RangeStatus {
  const s = readVarint(end)
  if (s !== RangeStatus.Ok) return s
  if (r.value > end - r.pos) return RangeStatus.Truncated
  r.value += r.pos
  return RangeStatus.Ok
}

/** a varint that must be an exact non-negative number: int64 fields read as Number */
function readCount (end: number): RangeStatus {
  const s = readVarint(end)
  if (s !== RangeStatus.Ok) return s
  return r.value > Number.MAX_SAFE_INTEGER ? RangeStatus.OutOfRange : RangeStatus.Ok
}

/** skip one field of wire type `wire` at r.pos (any field the reader does not use) */
function skipField (wire: number, end: number): RangeStatus {
  switch (wire) {
    case WIRE_VARINT: return readVarint(end)
    case WIRE_I64: return skipBytes(8, end)
    case WIRE_I32: return skipBytes(4, end)
    case WIRE_LEN: {
      const s = readLen(end)
      if (s === RangeStatus.Ok) r.pos = r.value
      return s
    }
    default: return RangeStatus.WireType
  }
}

function skipBytes (n: number, end: number): RangeStatus {
  if (end - r.pos < n) return RangeStatus.Truncated
  r.pos += n
  return RangeStatus.Ok
}

/** the ResponseHeader in [r.pos, end): its revision into out */
function readHeader (end: number, out: RangePage): RangeStatus {
  while (r.pos < end) {
    let s = readVarint(end)
    if (s !== RangeStatus.Ok) return s
    const field = Math.floor(r.value / 8)
    const wire = r.value % 8
    if (field === HEADER_REVISION) {
      if (wire !== WIRE_VARINT) return RangeStatus.WireType
      s = readCount(end)
      if (s !== RangeStatus.Ok) return s
      out.revision = r.value
    } else {
      s = skipField(wire, end)
      if (s !== RangeStatus.Ok) return s
    }
  }
  return RangeStatus.Ok
}

/** one KeyValue in [r.pos, end): its key and value offsets as kv number out.kvs */
function readKeyValue (end: number, out: RangePage): RangeStatus {
  const i = out.kvs
  out.grow(i)
  // proto3: an absent bytes field is empty
  out.keyStart[i] = out.keyEnd[i] = out.valueStart[i] = out.valueEnd[i] = r.pos
  while (r.pos < end) {
    let s = readVarint(end)
    if (s !== RangeStatus.Ok) return s
    const field = Math.floor(r.value / 8)
    const wire = r.value % 8
    if (field === KV_KEY || field === KV_VALUE) {
      if (wire !== WIRE_LEN) return RangeStatus.WireType
      s = readLen(end)
      if (s !== RangeStatus.Ok) return s
      if (field === KV_KEY) {
        out.keyStart[i] = r.pos
        out.keyEnd[i] = r.value
      } else {
        out.valueStart[i] = r.pos
        out.valueEnd[i] = r.value
      }
      r.pos = r.value
    } else {
      s = skipField(wire, end)
      if (s !== RangeStatus.Ok) return s
    }
  }
  out.kvs = i + 1
  return RangeStatus.Ok
}

/** Decode `buf[start, end)` as a RangeResponse into `out` (module header). */
export function decodeRangeResponse (buf: Uint8Array, start: number, end: number, out: RangePage): RangeStatus {
  if (!(start >= 0 && start <= end && end <= buf.length)) throw new RangeError(`range [${start}, ${end}) outside a buffer of ${buf.length}`)
  r.buf = buf
  r.pos = start
  const s = readResponse(end, out)
  // the reader keeps no page alive once it is decoded
  r.buf = EMPTY
  return s
}

function readResponse (end: number, out: RangePage): RangeStatus {
  out.revision = 0
  out.more = false
  out.count = 0
  out.kvs = 0
  while (r.pos < end) {
    let s = readVarint(end)
    if (s !== RangeStatus.Ok) return s
    const field = Math.floor(r.value / 8)
    const wire = r.value % 8
    switch (field) {
      case RESPONSE_HEADER:
      case RESPONSE_KVS: {
        if (wire !== WIRE_LEN) return RangeStatus.WireType
        s = readLen(end)
        if (s !== RangeStatus.Ok) return s
        const sub = r.value
        s = field === RESPONSE_HEADER ? readHeader(sub, out) : readKeyValue(sub, out)
        break
      }
      case RESPONSE_MORE:
        if (wire !== WIRE_VARINT) return RangeStatus.WireType
        s = readVarint(end)
        out.more = r.value !== 0
        break
      case RESPONSE_COUNT:
        if (wire !== WIRE_VARINT) return RangeStatus.WireType
        s = readCount(end)
        out.count = r.value
        break
      default:
        s = skipField(wire, end)
    }
    if (s !== RangeStatus.Ok) return s
  }
  return RangeStatus.Ok
}
