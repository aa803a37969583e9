/**
 * `readInitialFrames`: walk the frames of one decrypted Initial payload and hand its CRYPTO data to
 * the reassembler.
 *
 * Contract: plaintext[start, end) is one packet's payload. Allowed frames are those RFC 9000 §12.4
 * Table 3 lists for Initial packets: PADDING, PING, ACK (both types), CRYPTO and CONNECTION_CLOSE
 * (0x1c). Every frame is consumed exactly; anything else, a truncated frame, a frame type written in
 * more than one byte, or a payload with no frame is `ProtocolError`. Returns NeedMore when the payload
 * was fine (the reassembler decides completion), or the first terminal status met.
 *
 * Limits: none of its own: work is linear in the payload (each loop step consumes ≥ 1 byte), memory
 * is the reassembler's.
 *
 * Index rule (noUncheckedIndexedAccess): `pt[p]!` only after `p < end` in the same function.
 */
import {
  FRAME_ACK, FRAME_ACK_ECN, FRAME_CONNECTION_CLOSE, FRAME_CRYPTO, FRAME_PADDING, FRAME_PING,
} from './constants.ts'
import type { CryptoReassembler } from './reassemble.ts'
import { QuicStatus } from './types.ts'
import { readVarint, varint } from './varint.ts'

export function readInitialFrames (pt: Uint8Array, start: number, end: number, crypto: CryptoReassembler): QuicStatus {
  // RFC 9000 §12.4: "An endpoint MUST treat receipt of a packet containing no frames as a connection
  // error of type PROTOCOL_VIOLATION."
  if (start >= end) return QuicStatus.ProtocolError
  let p = start
  while (p < end) {
    // the Frame Type is a varint (RFC 9000 §12.4), but every type an Initial may carry is < 0x40, so
    // its first byte is the whole type; a first byte ≥ 0x40 (a longer encoding) lands in `default`
    const type = pt[p]!
    p++
    switch (type) {
      case FRAME_PADDING: // RFC 9000 §19.1: a single byte of type 0x00
        while (p < end && pt[p]! === FRAME_PADDING) p++
        break
      case FRAME_PING: // RFC 9000 §19.2: type only
        break
      case FRAME_ACK: // RFC 9000 §19.3
      case FRAME_ACK_ECN:
        p = skipAck(pt, p, end, type === FRAME_ACK_ECN)
        if (p < 0) return QuicStatus.ProtocolError
        break
      case FRAME_CRYPTO: { // RFC 9000 §19.6: Offset (i), Length (i), Crypto Data (..)
        p = readVarint(pt, p, end)
        if (p < 0) return QuicStatus.ProtocolError
        const offset = varint.value
        p = readVarint(pt, p, end)
        if (p < 0 || varint.value > end - p) return QuicStatus.ProtocolError
        const dataEnd = p + varint.value
        const st = crypto.add(pt, p, dataEnd, offset)
        if (st !== QuicStatus.NeedMore) return st
        p = dataEnd
        break
      }
      case FRAME_CONNECTION_CLOSE: // RFC 9000 §19.19: Error Code (i), Frame Type (i), Reason Phrase Length (i), Reason Phrase
        p = readVarint(pt, p, end)
        if (p >= 0) p = readVarint(pt, p, end)
        if (p >= 0) p = readVarint(pt, p, end)
        if (p < 0 || varint.value > end - p) return QuicStatus.ProtocolError
        return QuicStatus.ClientClosed
      default:
        // RFC 9000 §17.2.2 / §12.4: any other frame in an Initial is a PROTOCOL_VIOLATION; so is a
        // type in a longer encoding than needed ("MUST use the shortest possible encoding")
        return QuicStatus.ProtocolError
    }
  }
  return QuicStatus.NeedMore
}

/**
 * RFC 9000 §19.3: Largest Acknowledged (i), ACK Delay (i), ACK Range Count (i), First ACK Range (i),
 * ACK Range (..) × count — each Gap (i) + ACK Range Length (i) —, and for type 0x03 ECN Counts
 * (ECT0, ECT1, ECN-CE: 3 × (i)). Returns the offset after the frame, or -1 when it does not fit.
 * Each range consumes ≥ 2 bytes, so a huge count runs out of payload quickly.
 */
function skipAck (pt: Uint8Array, p: number, end: number, ecn: boolean): number {
  p = readVarint(pt, p, end) // Largest Acknowledged
  if (p >= 0) p = readVarint(pt, p, end) // ACK Delay
  if (p >= 0) p = readVarint(pt, p, end) // ACK Range Count
  if (p < 0) return -1
  let ranges = varint.value
  p = readVarint(pt, p, end) // First ACK Range
  while (p >= 0 && ranges > 0) {
    p = readVarint(pt, p, end) // Gap
    if (p >= 0) p = readVarint(pt, p, end) // ACK Range Length
    ranges--
  }
  if (ecn) {
    for (let i = 0; i < 3 && p >= 0; i++) p = readVarint(pt, p, end)
  }
  return p
}
