import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { Sha256 } from '../../../src/fingerprint/index.ts'

function ours (bytes: Uint8Array, sha = new Sha256()): string {
  sha.reset()
  for (const b of bytes) sha.update(b)
  const out = new Uint8Array(64)
  sha.digestHex(out, 0, 64)
  return Buffer.from(out).toString('latin1')
}

describe('Sha256 (checked against node:crypto)', () => {
  it('matches on every length 0..300 (every padding case: 55, 56, 63, 64, 119, 120 …)', () => {
    const sha = new Sha256() // reused: reset() must forget the previous message
    for (let n = 0; n <= 300; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 131 + n) & 0xff)
      expect(ours(bytes, sha), 'length ' + String(n)).toBe(createHash('sha256').update(bytes).digest('hex'))
    }
  })

  it('matches on a 100 KiB input and on the FIPS 180-4 "abc" vector', () => {
    const big = Uint8Array.from({ length: 102_400 }, (_, i) => (i * 7) & 0xff)
    expect(ours(big)).toBe(createHash('sha256').update(big).digest('hex'))
    expect(ours(Buffer.from('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  })

  it('updateHex16 feeds the 4 lower-case hex digits and digestHex truncates', () => {
    const sha = new Sha256()
    sha.updateHex16(0xc02b)
    const out = new Uint8Array(12)
    sha.digestHex(out, 0, 12)
    expect(Buffer.from(out).toString('latin1')).toBe(createHash('sha256').update('c02b').digest('hex').slice(0, 12))
  })
})
