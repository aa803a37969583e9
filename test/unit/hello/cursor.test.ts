import { describe, expect, it } from 'vitest'
import { Cursor } from '../../../src/hello/cursor.ts'

function at (bytes: number[], start = 0, end = bytes.length): Cursor {
  const c = new Cursor()
  c.init(Uint8Array.from(bytes), start, end)
  return c
}

describe('Cursor', () => {
  it('reads big-endian u8/u16/u24 and tracks what remains', () => {
    const c = at([1, 2, 3, 4, 5, 6])
    expect(c.readU8()).toBe(1)
    expect(c.readU16()).toBe(0x0203)
    expect(c.readU24()).toBe(0x040506)
    expect(c.remaining()).toBe(0)
    expect(c.empty()).toBe(true)
  })

  it('reports a short read with -1/false and does not move', () => {
    const c = at([0xff, 0xfe], 0, 2)
    expect(c.readU24()).toBe(-1)
    expect(c.pos).toBe(0)
    expect(c.skip(3)).toBe(false)
    expect(c.pos).toBe(0)
    expect(c.readU16()).toBe(0xfffe)
    expect(c.readU16()).toBe(-1)
    expect(c.readU8()).toBe(-1)
    expect(c.pos).toBe(2)
  })

  it('never reads past its own end even when the buffer goes on', () => {
    const c = at([1, 2, 3, 4], 1, 2)
    expect(c.readU16()).toBe(-1)
    expect(c.readU8()).toBe(2)
    expect(c.readU8()).toBe(-1)
  })

  it('returns length-prefixed sub-ranges as views, not copies', () => {
    const bytes = [2, 0xaa, 0xbb, 0x00, 0x01, 0xcc, 9]
    const c = at(bytes)
    const sub = new Cursor()
    expect(c.readU8Prefixed(sub)).toBe(true)
    expect([sub.pos, sub.end]).toEqual([1, 3])
    expect(sub.buf).toBe(c.buf)
    expect(c.readU16Prefixed(sub)).toBe(true)
    expect([sub.pos, sub.end]).toEqual([5, 6])
    expect(c.remaining()).toBe(1)
  })

  it('refuses a prefix whose length overruns, without moving', () => {
    const sub = new Cursor()
    const a = at([3, 1, 2])
    expect(a.readU8Prefixed(sub)).toBe(false)
    expect(a.pos).toBe(0)
    const b = at([0, 3, 1, 2])
    expect(b.readU16Prefixed(sub)).toBe(false)
    expect(b.pos).toBe(0)
    expect(at([]).readU8Prefixed(sub)).toBe(false)
    expect(at([0]).readU16Prefixed(sub)).toBe(false)
  })

  it('throws (programmer error) when pointed outside its buffer', () => {
    const c = new Cursor()
    expect(() => { c.init(new Uint8Array(4), 0, 5) }).toThrow(RangeError)
    expect(() => { c.init(new Uint8Array(4), 3, 2) }).toThrow(RangeError)
    expect(() => { c.init(new Uint8Array(4), -1, 2) }).toThrow(RangeError)
  })
})
