/**
 * quic/ — the client's QUIC Initial packets in, its ClientHello out: what a keyless edge needs to route
 * QUIC (HTTP/3) by SNI with the same table and the same hello rules as TCP.
 *
 * Pure like hello/ (bytes in, offsets and status codes out, every limit a named constant) except
 * keys.ts, the one module that calls node:crypto (HKDF-SHA256, AES-128-GCM, AES-128-ECB) to derive
 * the Initial keys every on-path observer can derive (RFC 9001 §5.2) and open the packets. Datagrams
 * are never written: the relay forwards them byte for byte. Module map:
 *
 *   constants.ts   versions, salts, wire numbers and limits (each with its reason)
 *   varint.ts      RFC 9000 §16 variable-length integers
 *   packet.ts      long headers (RFC 9000 §17.2), packet-number recovery (Appendix A.3)
 *   keys.ts        Initial keys, header protection, AEAD open (node:crypto)
 *   frames.ts      frames of an Initial (PADDING, PING, ACK, CRYPTO, CONNECTION_CLOSE)
 *   reassemble.ts  CRYPTO stream by offset under maxHelloBytes
 *   decode.ts      QuicInitialDecoder: per-flow datagrams → ClientHello → hello/'s parser
 *   types.ts       QuicStatus
 */

export { QuicStatus } from './types.ts'

/** Per-flow decoder: `push(datagram, start, end)` per client datagram until Ok / NoSni / a refusal. */
export { QuicInitialDecoder } from './decode.ts'

/** CRYPTO-stream reassembly by offset (used by the decoder; exported for tests and benchmarks). */
export { CryptoReassembler } from './reassemble.ts'

/** Client Initial keys of a version and DCID (RFC 9001 §5.2, RFC 9369 §3.3); null for unknown versions. */
export { deriveInitialKeys, InitialKeys } from './keys.ts'

/** Long-header parsing and RFC 9000 Appendix A.3 packet-number recovery. */
export { LongHeader, decodePacketNumber, parseLongHeader } from './packet.ts'

/** Versions and limits. */
export {
  MAX_CID_LEN,
  MAX_INITIAL_DATAGRAMS,
  MAX_INITIAL_DATAGRAM_BYTES,
  MIN_INITIAL_DATAGRAM_BYTES,
  MIN_ORIGINAL_DCID_LEN,
  QUIC_V1,
  QUIC_V2,
} from './constants.ts'
