/**
 * fingerprint/sha256 — a streaming SHA-256 (FIPS 180-4) that takes one byte at a time and writes its digest
 * as lower-case hex into a caller-owned buffer. Pure: no node:crypto, no allocation after construction.
 *
 * Why not node:crypto: JA4 hashes two short ASCII lists (typically 100–300 bytes) that it writes one hex
 * digit at a time while walking the hello. With this hasher those digits go straight into the compression
 * function, so no string or intermediate buffer is built; `createHash` would need both (plus a Hash object
 * and a digest Buffer per call) and an import that the pure layers do not allow. The test checks it
 * against node:crypto on every length from 0 to 300 bytes (every padding case) and on long inputs.
 *
 * Contract: `reset()`, then `update(byte)` any number of times, then `digestHex(out, off, chars)` writes the
 * first `chars` (≤ 64) hex digits of the digest. After digestHex the hasher must be reset before reuse.
 * Limits: inputs up to 2^53 bits (the length is kept in a double); JA4's inputs are far below 1 MiB.
 */

/** FIPS 180-4 §4.2.2: first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
])

/** FIPS 180-4 §5.3.3: initial hash value. */
const H0 = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19])

/** lower-case hex digits as ASCII codes */
export const HEX_DIGITS = new Uint8Array([0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66])

/** one SHA-256 block, bytes */
const BLOCK_BYTES = 64

export class Sha256 {
  private readonly h = new Int32Array(8)
  private readonly block = new Uint8Array(BLOCK_BYTES)
  private readonly w = new Int32Array(64)
  /** bytes waiting in `block` */
  private used = 0
  /** total message bytes so far */
  private length = 0

  constructor () {
    this.reset()
  }

  reset (): void {
    this.h.set(H0)
    this.used = 0
    this.length = 0
  }

  /** feed one byte (0..255) */
  update (byte: number): void {
    this.block[this.used++] = byte
    this.length++
    if (this.used === BLOCK_BYTES) {
      this.compress()
      this.used = 0
    }
  }

  /** feed the 4 lower-case hex digits of a uint16 (`1301`, `c02b`): JA4's list element */
  updateHex16 (v: number): void {
    this.update(HEX_DIGITS[(v >> 12) & 0xf]!)
    this.update(HEX_DIGITS[(v >> 8) & 0xf]!)
    this.update(HEX_DIGITS[(v >> 4) & 0xf]!)
    this.update(HEX_DIGITS[v & 0xf]!)
  }

  /** pad (§5.1.1), finish, and write the first `chars` hex digits of the digest at out[off] */
  digestHex (out: Uint8Array, off: number, chars: number): void {
    const bits = this.length * 8
    this.update(0x80)
    this.length-- // the padding is not message
    while (this.used !== BLOCK_BYTES - 8) {
      this.block[this.used++] = 0
      if (this.used === BLOCK_BYTES) { this.compress(); this.used = 0 }
    }
    const hi = Math.floor(bits / 0x100000000)
    const lo = bits >>> 0
    const b = this.block
    b[56] = hi >>> 24; b[57] = (hi >>> 16) & 0xff; b[58] = (hi >>> 8) & 0xff; b[59] = hi & 0xff
    b[60] = lo >>> 24; b[61] = (lo >>> 16) & 0xff; b[62] = (lo >>> 8) & 0xff; b[63] = lo & 0xff
    this.compress()
    this.used = 0
    for (let k = 0; k < chars; k++) {
      const word = this.h[k >> 3]!
      out[off + k] = HEX_DIGITS[(word >>> (28 - 4 * (k & 7))) & 0xf]!
    }
  }

  /** FIPS 180-4 §6.2.2 on the 64 bytes in `block` */
  private compress (): void {
    const w = this.w
    const b = this.block
    for (let t = 0; t < 16; t++) {
      w[t] = (b[t * 4]! << 24) | (b[t * 4 + 1]! << 16) | (b[t * 4 + 2]! << 8) | b[t * 4 + 3]!
    }
    for (let t = 16; t < 64; t++) {
      const x = w[t - 15]!
      const y = w[t - 2]!
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10)
      w[t] = (w[t - 16]! + s0 + w[t - 7]! + s1) | 0
    }
    const h = this.h
    let a = h[0]!; let bb = h[1]!; let c = h[2]!; let d = h[3]!
    let e = h[4]!; let f = h[5]!; let g = h[6]!; let hh = h[7]!
    for (let t = 0; t < 64; t++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))
      const ch = (e & f) ^ (~e & g)
      const t1 = (hh + S1 + ch + K[t]! + w[t]!) | 0
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))
      const maj = (a & bb) ^ (a & c) ^ (bb & c)
      const t2 = (S0 + maj) | 0
      hh = g; g = f; f = e
      e = (d + t1) | 0
      d = c; c = bb; bb = a
      a = (t1 + t2) | 0
    }
    h[0] = (h[0]! + a) | 0; h[1] = (h[1]! + bb) | 0; h[2] = (h[2]! + c) | 0; h[3] = (h[3]! + d) | 0
    h[4] = (h[4]! + e) | 0; h[5] = (h[5]! + f) | 0; h[6] = (h[6]! + g) | 0; h[7] = (h[7]! + hh) | 0
  }
}
