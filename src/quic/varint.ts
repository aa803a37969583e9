/**
 * QUIC variable-length integers — RFC 9000 §16: the two high bits of the first byte give the
 * encoding's length (1, 2, 4 or 8 bytes), the rest is the big-endian value.
 *
 * Contract: `readVarint(buf, pos, end)` returns the offset after the integer, or -1 when it does not
 * fit in buf[pos, end); the value is left in `varint.value`. No allocation, no exception.
 *
 * Limits: values above 2^53 lose precision (a JS number); every caller compares them with caps far
 * below that (maxHelloBytes, datagram sizes), so an imprecise huge value is still "too big".
 *
 * Index rule (noUncheckedIndexedAccess): `buf[i]!` only after the range check in the same function.
 */

/** the last value read by `readVarint` (module-level, so a read allocates nothing) */
export const varint = { value: 0 }

const TWO_POW_32 = 4294967296

export function readVarint (buf: Uint8Array, pos: number, end: number): number {
  if (pos >= end) return -1
  const b0 = buf[pos]!
  const len = 1 << (b0 >> 6) // RFC 9000 §16 Table 4: 00→1, 01→2, 10→4, 11→8 bytes
  if (end - pos < len) return -1
  const v0 = b0 & 0x3f
  switch (len) {
    case 1:
      varint.value = v0
      break
    case 2:
      varint.value = (v0 << 8) | buf[pos + 1]!
      break
    case 4:
      varint.value = ((v0 << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!) >>> 0
      break
    default: {
      const hi = ((v0 << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!) >>> 0
      const lo = ((buf[pos + 4]! << 24) | (buf[pos + 5]! << 16) | (buf[pos + 6]! << 8) | buf[pos + 7]!) >>> 0
      varint.value = hi * TWO_POW_32 + lo
    }
  }
  return pos + len
}
