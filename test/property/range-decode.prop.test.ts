/**
 * source/range-decode against protobufjs (the library etcd3 and grpc-js decode with): any RangeResponse
 * protobufjs encodes from etcd's own .proto files (those etcd3 ships) is read back by decodeRangeResponse
 * with the same revision, keys, values, more and count; and no byte string, however mangled, makes it
 * throw or hand out an offset outside the message.
 */
import { createRequire } from 'node:module'
import path from 'node:path'

import fc from 'fast-check'
import protobuf from 'protobufjs'
import { describe, expect, it } from 'vitest'

import { decodeRangeResponse, RangePage, RangeStatus } from '../../src/source/range-decode.ts'
import { runs, TIMEOUT_MS } from '../helpers/prop-runs.ts'

const require = createRequire(import.meta.url)
const protoDir = path.join(path.dirname(require.resolve('etcd3/package.json')), 'proto')
const root = new protobuf.Root().loadSync(path.join(protoDir, 'rpc.proto'), { keepCase: true })
const RangeResponse = root.lookupType('etcdserverpb.RangeResponse')

/** int64 fields: protobufjs takes them as decimal strings; up to 2^53 - 1 (what the decoder accepts) */
const int64 = fc.bigInt({ min: 0n, max: BigInt(Number.MAX_SAFE_INTEGER) })
const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })
const bytes = fc.uint8Array({ maxLength: 80 })
const keyValue = fc.record({
  key: bytes,
  create_revision: int64,
  mod_revision: int64,
  version: int64,
  value: bytes,
  lease: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
})
const response = fc.record({
  header: fc.record({ cluster_id: u64, member_id: u64, revision: int64, raft_term: u64 }),
  kvs: fc.array(keyValue, { maxLength: 20 }),
  more: fc.boolean(),
  count: int64,
})

type Response = typeof response extends fc.Arbitrary<infer T> ? T : never

function encode (r: Response): Uint8Array {
  const str = (n: bigint): string => n.toString()
  return RangeResponse.encode(RangeResponse.fromObject({
    header: { cluster_id: str(r.header.cluster_id), member_id: str(r.header.member_id), revision: str(r.header.revision), raft_term: str(r.header.raft_term) },
    kvs: r.kvs.map((kv) => ({ key: kv.key, value: kv.value, create_revision: str(kv.create_revision), mod_revision: str(kv.mod_revision), version: str(kv.version), lease: str(kv.lease) })),
    more: r.more,
    count: str(r.count),
  })).finish()
}

describe('decodeRangeResponse against protobufjs', () => {
  it('reads what protobufjs encodes: revision, every key and value, more, count', () => {
    fc.assert(fc.property(response, fc.nat(8), (r, pad) => {
      const msg = encode(r)
      // at an offset inside a larger buffer, as a page is never assumed to start at 0
      const buf = new Uint8Array(pad + msg.length + pad)
      buf.set(msg, pad)
      const page = new RangePage()
      expect(decodeRangeResponse(buf, pad, pad + msg.length, page)).toBe(RangeStatus.Ok)
      expect(page.revision).toBe(Number(r.header.revision))
      expect(page.more).toBe(r.more)
      expect(page.count).toBe(Number(r.count))
      expect(page.kvs).toBe(r.kvs.length)
      r.kvs.forEach((kv, i) => {
        expect(buf.subarray(page.keyStart[i], page.keyEnd[i])).toEqual(kv.key)
        expect(buf.subarray(page.valueStart[i], page.valueEnd[i])).toEqual(kv.value)
      })
    }), runs(200))
  }, TIMEOUT_MS)

  it('never throws nor gives an offset outside the message, for encodings cut, overwritten or extended', () => {
    fc.assert(fc.property(response, fc.nat(), fc.uint8Array({ maxLength: 8 }), fc.nat(), (r, at, junk, cut) => {
      const msg = encode(r)
      const bad = new Uint8Array(msg.length + junk.length)
      bad.set(msg)
      bad.set(junk, msg.length === 0 ? 0 : at % msg.length)
      const end = cut % (bad.length + 1)
      const page = new RangePage()
      const status = decodeRangeResponse(bad, 0, end, page)
      expect(Object.values(RangeStatus)).toContain(status)
      if (status !== RangeStatus.Ok) return
      for (let i = 0; i < page.kvs; i++) {
        expect(page.keyStart[i]! <= page.keyEnd[i]! && page.keyEnd[i]! <= end).toBe(true)
        expect(page.valueStart[i]! <= page.valueEnd[i]! && page.valueEnd[i]! <= end).toBe(true)
      }
    }), runs(300))
  }, TIMEOUT_MS)
})
