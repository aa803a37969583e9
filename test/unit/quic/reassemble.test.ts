/**
 * CryptoReassembler (src/quic/reassemble.ts) on its own: order, duplicates, overlaps, caps.
 */
import { describe, expect, it } from 'vitest'
import { CryptoReassembler, QuicStatus } from '../../../src/quic/index.ts'
import { buildClientHello } from '../../helpers/build-hello.ts'

const hello = buildClientHello({ sni: 'r.example', keyShareBytes: 1216 })

describe('CryptoReassembler', () => {
  it('pieces in reverse order complete exactly once the first 4 + length bytes are in', () => {
    const r = new CryptoReassembler(16384)
    for (let off = hello.length - 100; off > -100; off -= 100) {
      const s = Math.max(0, off)
      expect(r.complete()).toBe(false)
      expect(r.add(hello, s, off + 100, s)).toBe(QuicStatus.NeedMore)
    }
    expect(r.complete()).toBe(true)
    expect(Buffer.from(r.buf.subarray(0, r.total)).equals(hello)).toBe(true)
  })

  it('duplicates and identical overlaps are accepted; a differing byte is CryptoConflict', () => {
    const r = new CryptoReassembler(16384)
    expect(r.add(hello, 0, 600, 0)).toBe(QuicStatus.NeedMore)
    expect(r.add(hello, 0, 600, 0)).toBe(QuicStatus.NeedMore)
    expect(r.add(hello, 300, 900, 300)).toBe(QuicStatus.NeedMore)
    expect(r.contiguous).toBe(900)
    const other = Buffer.from(hello)
    other[899]! ^= 0x80
    expect(r.add(other, 850, 950, 850)).toBe(QuicStatus.CryptoConflict)
  })

  it('an offset past the cap is TooLarge and allocates nothing', () => {
    const r = new CryptoReassembler(4096)
    expect(r.add(hello, 0, 10, 4090)).toBe(QuicStatus.TooLarge)
    expect(r.buf.length).toBe(0)
    expect(r.add(hello, 0, 6, 4090)).toBe(QuicStatus.NeedMore) // ends exactly at the cap
    expect(r.buf.length).toBe(4096) // grown to the cap, never past it
  })

  it('bytes past the announced hello are HelloMalformed, before or after the header arrives', () => {
    const a = new CryptoReassembler(16384)
    expect(a.add(hello, 0, 4, 0)).toBe(QuicStatus.NeedMore)
    expect(a.add(hello, 0, 2, hello.length)).toBe(QuicStatus.HelloMalformed)
    const b = new CryptoReassembler(16384)
    expect(b.add(hello, 0, 2, hello.length)).toBe(QuicStatus.NeedMore)
    expect(b.add(hello, 0, 4, 0)).toBe(QuicStatus.HelloMalformed)
  })

  it('reset() forgets everything but keeps the buffers', () => {
    const r = new CryptoReassembler(16384)
    r.add(hello, 0, hello.length, 0)
    expect(r.complete()).toBe(true)
    const buf = r.buf
    r.reset()
    expect(r.complete()).toBe(false)
    expect(r.buf).toBe(buf)
    expect(r.add(hello, 0, hello.length, 0)).toBe(QuicStatus.NeedMore)
    expect(r.complete()).toBe(true)
  })
})
