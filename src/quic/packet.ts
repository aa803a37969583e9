/**
 * Long-header parsing (RFC 9000 §17.2, §17.2.2; RFC 9369 §3.2) and packet-number recovery (RFC 9000
 * Appendix A.3). Pure: offsets and status codes only, nothing decrypted here.
 *
 * Contract:
 *  - `parseLongHeader(buf, pos, end, out)` reads the packet that starts at buf[pos] in a datagram ending
 *    at `end` and fills the reused `out` with its version, type, CID offsets, and for Initial / 0-RTT /
 *    Handshake packets the offset of the (still protected) Packet Number field and the packet's end
 *    (from its Length field). Returns `NeedMore` when the header is well formed (the caller goes on),
 *    else the status that says why not (NotLongHeader, VersionNegotiation, UnknownVersion,
 *    HeaderMalformed). Never throws, never writes `buf`.
 *  - For an Initial, it also checks that the payload is long enough to hold the header-protection
 *    sample and the AEAD tag (RFC 9001 §5.4.2), so the caller may sample without a range check.
 *  - `decodePacketNumber(largest, truncated, bits)` is RFC 9000 Appendix A.3 word for word.
 *
 * Limits: MAX_CID_LEN for both connection IDs; Length and Token Length are bounded by the datagram.
 */
import {
  AEAD_TAG_LEN, FIXED_BIT, HEADER_FORM_LONG, HP_SAMPLE_LEN, HP_SAMPLE_OFFSET, LONG_HEADER_MIN_LEN,
  LONG_PACKET_TYPE_MASK, MAX_CID_LEN, QUIC_V1, QUIC_V2, QUIC_VERSION_NEGOTIATION, V1_TYPE_INITIAL,
  V1_TYPE_RETRY, V2_TYPE_INITIAL, V2_TYPE_RETRY,
} from './constants.ts'
import { QuicStatus } from './types.ts'
import { readVarint, varint } from './varint.ts'

/** Fixed-shape output of `parseLongHeader` (one per decoder, reused). */
export class LongHeader {
  /** offset of byte 0 */
  start = 0
  /** Version field */
  version = 0
  /** true for an Initial of its version (type 0b00 in v1, 0b01 in v2) */
  initial = false
  /** Destination Connection ID: buf[dcidStart, dcidEnd) */
  dcidStart = 0
  dcidEnd = 0
  /** Source Connection ID: buf[scidStart, scidEnd) */
  scidStart = 0
  scidEnd = 0
  /** offset of the protected Packet Number field (Initial, 0-RTT, Handshake) */
  pnOffset = 0
  /** offset one past the packet (pnOffset + Length) */
  end = 0
}

export function parseLongHeader (buf: Uint8Array, pos: number, end: number, out: LongHeader): QuicStatus {
  if (pos >= end) return QuicStatus.NotLongHeader
  const b0 = buf[pos]!
  // RFC 9000 §17.2: "Header Form: The most significant bit (0x80) of byte 0 (the first byte) is set to 1 for long headers."
  if ((b0 & HEADER_FORM_LONG) === 0) return QuicStatus.NotLongHeader
  // byte 0, Version (32), DCID Length (8), [DCID], SCID Length (8) — RFC 8999 §5.1 invariants
  if (end - pos < LONG_HEADER_MIN_LEN) return QuicStatus.HeaderMalformed
  const version = ((buf[pos + 1]! << 24) | (buf[pos + 2]! << 16) | (buf[pos + 3]! << 8) | buf[pos + 4]!) >>> 0
  out.start = pos
  out.version = version
  // RFC 9000 §17.2.1: "A Version Negotiation packet is inherently not version specific ... Version field set to 0x00000000"
  if (version === QUIC_VERSION_NEGOTIATION) return QuicStatus.VersionNegotiation
  // RFC 9000 §6 / §5.2.2: a server cannot read a version it does not support (its Initial keys are version-specific)
  if (version !== QUIC_V1 && version !== QUIC_V2) return QuicStatus.UnknownVersion
  // RFC 9000 §17.2: "Fixed Bit: ... set to 1, unless the packet is a Version Negotiation packet";
  // RFC 9287 §3 lets a client clear it, but only towards a server that advertised grease_quic_bit,
  // which a client has not heard from before its first Initial. Refused like any malformed header.
  if ((b0 & FIXED_BIT) === 0) return QuicStatus.HeaderMalformed
  let p = pos + 5
  const dcidLen = buf[p]!
  // RFC 9000 §17.2: "In QUIC version 1, this value MUST NOT exceed 20 bytes"
  if (dcidLen > MAX_CID_LEN || end - p - 1 < dcidLen + 1) return QuicStatus.HeaderMalformed
  out.dcidStart = p + 1
  out.dcidEnd = p + 1 + dcidLen
  p = out.dcidEnd
  const scidLen = buf[p]!
  if (scidLen > MAX_CID_LEN || end - p - 1 < scidLen) return QuicStatus.HeaderMalformed
  out.scidStart = p + 1
  out.scidEnd = p + 1 + scidLen
  p = out.scidEnd
  const type = b0 & LONG_PACKET_TYPE_MASK
  const initial = type === (version === QUIC_V1 ? V1_TYPE_INITIAL : V2_TYPE_INITIAL)
  out.initial = initial
  // RFC 9000 §17.2.5 / RFC 9369 §3.2: a Retry has no Length field (and is never sent by a client)
  if (type === (version === QUIC_V1 ? V1_TYPE_RETRY : V2_TYPE_RETRY)) return QuicStatus.NotInitial
  if (initial) {
    // RFC 9000 §17.2.2: Token Length (i), Token (..)
    p = readVarint(buf, p, end)
    if (p < 0 || varint.value > end - p) return QuicStatus.HeaderMalformed
    p += varint.value
  }
  // RFC 9000 §17.2.2-§17.2.4: Length (i) = Packet Number + Packet Payload, in bytes
  p = readVarint(buf, p, end)
  if (p < 0 || varint.value > end - p) return QuicStatus.HeaderMalformed
  out.pnOffset = p
  out.end = p + varint.value
  // RFC 9001 §5.4.2: the sample is the 16 bytes at pn_offset + 4, and "an endpoint MUST discard packets
  // that are not long enough to contain a complete sample". 4 + 16 also covers the longest packet
  // number (4) plus the AEAD tag (16), so the caller may slice both without another check.
  if (initial && varint.value < HP_SAMPLE_OFFSET + Math.max(HP_SAMPLE_LEN, AEAD_TAG_LEN)) return QuicStatus.HeaderMalformed
  return QuicStatus.NeedMore
}

/** 2^62: packet numbers are 0..2^62−1 — RFC 9000 §12.3 */
const PN_SPACE = 4611686018427387904

/**
 * RFC 9000 Appendix A.3 DecodePacketNumber(largest_pn, truncated_pn, pn_nbits): the packet number
 * closest to largest_pn + 1 whose low `bits` bits are `truncated`. `largest` is -1 before any packet.
 */
export function decodePacketNumber (largest: number, truncated: number, bits: number): number {
  const expected = largest + 1
  const win = 2 ** bits
  const hwin = win / 2
  // candidate_pn = (expected_pn & ~pn_mask) | truncated_pn, in arithmetic that stays exact above 2^32
  const candidate = expected - (expected % win) + truncated
  if (candidate <= expected - hwin && candidate < PN_SPACE - win) return candidate + win
  if (candidate > expected + hwin && candidate >= win) return candidate - win
  return candidate
}
