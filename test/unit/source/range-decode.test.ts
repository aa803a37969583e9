/**
 * source/range-decode: etcd RangeResponse bytes built by hand (protobuf wire format, byte by byte), read
 * back as offsets; truncations, oversized varints, wrong wire types and out-of-range int64s give their
 * status, never a throw or a read past the end. The property test against protobufjs' own encoding is in
 * test/property/range-decode.prop.test.ts.
 */
import { describe, expect, it } from 'vitest'

import { decodeRangeResponse, RANGE_STATUS_TEXT, RangePage, RangeStatus } from '../../../src/source/range-decode.ts'

/** a varint's bytes (non-negative, exact up to 2^53) */
function varint (n: number): number[] {
  const out: number[] = []
  while (n >= 128) { out.push((n % 128) | 0x80); n = Math.floor(n / 128) }
  out.push(n)
  return out
}
const tag = (field: number, wire: number): number[] => varint(field * 8 + wire)
const len = (field: number, body: number[]): number[] => [...tag(field, 2), ...varint(body.length), ...body]
const vfield = (field: number, n: number): number[] => [...tag(field, 0), ...varint(n)]
const text = (s: string): number[] => [...Buffer.from(s)]

/** a KeyValue: key 1, create_revision 2, mod_revision 3, version 4, value 5, lease 6 */
function keyValue (key: string, value: string, rev = 7): number[] {
  return [...len(1, text(key)), ...vfield(2, rev), ...vfield(3, rev), ...vfield(4, 1), ...len(5, text(value)), ...vfield(6, 0)]
}
/** a ResponseHeader: cluster_id 1, member_id 2, revision 3, raft_term 4 */
function header (revision: number): number[] {
  return [...vfield(1, 0x1234), ...vfield(2, 0x5678), ...vfield(3, revision), ...vfield(4, 2)]
}

function decode (bytes: number[] | Uint8Array, page = new RangePage()): { status: RangeStatus, page: RangePage, buf: Buffer } {
  const buf = Buffer.from(bytes)
  return { status: decodeRangeResponse(buf, 0, buf.length, page), page, buf }
}

function kvs (page: RangePage, buf: Buffer): Array<[string, string]> {
  const out: Array<[string, string]> = []
  for (let i = 0; i < page.kvs; i++) out.push([buf.toString('utf8', page.keyStart[i], page.keyEnd[i]), buf.toString('utf8', page.valueStart[i], page.valueEnd[i])])
  return out
}

describe('decodeRangeResponse', () => {
  it('reads header.revision, every key and value as offsets, more and count', () => {
    const bytes = [
      ...len(1, header(1_234_567)),
      ...len(2, keyValue('/p/routes/a.example.com', '10.0.0.1:443')),
      ...len(2, keyValue('/p/routes/b.example.com', 'web')),
      ...vfield(3, 1),
      ...vfield(4, 1000),
    ]
    const { status, page, buf } = decode(bytes)
    expect(status).toBe(RangeStatus.Ok)
    expect(page.revision).toBe(1_234_567)
    expect(page.more).toBe(true)
    expect(page.count).toBe(1000)
    expect(kvs(page, buf)).toEqual([['/p/routes/a.example.com', '10.0.0.1:443'], ['/p/routes/b.example.com', 'web']])
  })

  it('reads fields in any order, skips unknown fields of every wire type, and takes absent bytes as empty', () => {
    const bytes = [
      ...vfield(4, 2),
      ...[...tag(9, 1), 1, 2, 3, 4, 5, 6, 7, 8], // fixed64
      ...[...tag(10, 5), 1, 2, 3, 4], // fixed32
      ...len(11, [1, 2, 3]),
      ...len(2, [...len(5, text('only-value')), ...vfield(12, 99)]),
      ...len(2, []),
      ...len(1, header(5)),
    ]
    const { status, page, buf } = decode(bytes)
    expect(status).toBe(RangeStatus.Ok)
    expect(page.revision).toBe(5)
    expect(page.count).toBe(2)
    expect(page.more).toBe(false)
    expect(kvs(page, buf)).toEqual([['', 'only-value'], ['', '']])
  })

  it('reads an empty message (an empty range) as revision 0, no keys', () => {
    const { status, page } = decode([])
    expect(status).toBe(RangeStatus.Ok)
    expect([page.revision, page.kvs, page.more, page.count]).toEqual([0, 0, false, 0])
  })

  it('grows its offset arrays past the initial size and resets between pages', () => {
    const many: number[] = [...len(1, header(9))]
    for (let i = 0; i < 3000; i++) many.push(...len(2, keyValue(`k${i}`, `v${i}`)))
    const page = new RangePage()
    const first = decode(many, page)
    expect(first.status).toBe(RangeStatus.Ok)
    expect(page.kvs).toBe(3000)
    expect(kvs(page, first.buf)[2999]).toEqual(['k2999', 'v2999'])
    const second = decode([...len(2, keyValue('x', 'y'))], page)
    expect(second.status).toBe(RangeStatus.Ok)
    expect([page.kvs, page.revision, page.more]).toEqual([1, 0, false])
    expect(kvs(page, second.buf)).toEqual([['x', 'y']])
  })

  it('reads only buf[start, end): bytes around the message are not part of it', () => {
    const msg = [...len(1, header(3)), ...len(2, keyValue('k', 'v'))]
    const buf = Buffer.from([0xff, 0xff, ...msg, 0xff])
    const page = new RangePage()
    expect(decodeRangeResponse(buf, 2, 2 + msg.length, page)).toBe(RangeStatus.Ok)
    expect(kvs(page, buf)).toEqual([['k', 'v']])
    expect(() => decodeRangeResponse(buf, 2, buf.length + 1, page)).toThrow(RangeError)
  })

  it('says Truncated for every cut short of the whole message, never reading past the end', () => {
    const msg = [...len(1, header(300)), ...len(2, keyValue('/p/routes/a.example.com', '10.0.0.1:443')), ...vfield(3, 1), ...vfield(4, 70000)]
    const full = Buffer.from(msg)
    // cut points that split a tag, a varint, a length or a body; the others end on a field boundary (Ok)
    const boundaries = new Set<number>()
    for (let cut = 0; cut < full.length; cut++) {
      const status = decodeRangeResponse(full, 0, cut, new RangePage())
      if (status === RangeStatus.Ok) boundaries.add(cut)
      else expect(status, `cut at ${cut}`).toBe(RangeStatus.Truncated)
    }
    const headerEnd = len(1, header(300)).length
    const kvEnd = headerEnd + len(2, keyValue('/p/routes/a.example.com', '10.0.0.1:443')).length
    expect([...boundaries]).toEqual([0, headerEnd, kvEnd, kvEnd + 2])
  })

  it('says Truncated for a length past the end of its enclosing message', () => {
    // the KeyValue claims a 50-byte key inside a 3-byte message
    expect(decode([...tag(2, 2), 3, ...tag(1, 2), 50, 0x61]).status).toBe(RangeStatus.Truncated)
    // a fixed64 with 7 bytes left
    expect(decode([...tag(9, 1), 1, 2, 3, 4, 5, 6, 7]).status).toBe(RangeStatus.Truncated)
    expect(decode([...tag(10, 5), 1, 2, 3]).status).toBe(RangeStatus.Truncated)
  })

  it('says VarintOverflow for an 11-byte varint or a 10th byte above 1', () => {
    const eleven = [...tag(4, 0), 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]
    expect(decode(eleven).status).toBe(RangeStatus.VarintOverflow)
    const big10 = [...tag(9, 0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]
    expect(decode(big10).status).toBe(RangeStatus.VarintOverflow)
    // the same in a length, and in a tag
    expect(decode([...tag(2, 2), 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]).status).toBe(RangeStatus.VarintOverflow)
    expect(decode([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]).status).toBe(RangeStatus.VarintOverflow)
  })

  it('says OutOfRange for a revision or count beyond 2^53 - 1, or negative (10-byte two\'s complement)', () => {
    const minusOne = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
    expect(decode([...tag(4, 0), ...minusOne]).status).toBe(RangeStatus.OutOfRange)
    expect(decode(len(1, [...tag(3, 0), ...minusOne])).status).toBe(RangeStatus.OutOfRange)
    expect(decode(vfield(4, 2 ** 53)).status).toBe(RangeStatus.OutOfRange)
    const { status, page } = decode(vfield(4, Number.MAX_SAFE_INTEGER))
    expect(status).toBe(RangeStatus.Ok)
    expect(page.count).toBe(Number.MAX_SAFE_INTEGER)
    // a field the reader skips may hold any 64-bit value
    expect(decode([...tag(9, 0), ...minusOne]).status).toBe(RangeStatus.Ok)
  })

  it('says WireType for a known field with another wire type, and for groups and wire types 6 and 7', () => {
    expect(decode(vfield(1, 5)).status).toBe(RangeStatus.WireType) // header as a varint
    expect(decode(vfield(2, 5)).status).toBe(RangeStatus.WireType) // kvs as a varint
    expect(decode(len(3, [1])).status).toBe(RangeStatus.WireType) // more as bytes
    expect(decode(len(4, [1])).status).toBe(RangeStatus.WireType) // count as bytes
    expect(decode(len(1, len(3, [1]))).status).toBe(RangeStatus.WireType) // header.revision as bytes
    expect(decode(len(2, vfield(1, 5))).status).toBe(RangeStatus.WireType) // key as a varint
    expect(decode(len(2, vfield(5, 5))).status).toBe(RangeStatus.WireType) // value as a varint
    for (const wire of [3, 4, 6, 7]) expect(decode(tag(9, wire)).status, `wire type ${wire}`).toBe(RangeStatus.WireType)
    expect(RANGE_STATUS_TEXT[RangeStatus.WireType]).toContain('wire type')
  })
})
