/**
 * Result codes of the QUIC Initial decoder.
 *
 * Contract: pure data. One status per datagram pushed (`QuicInitialDecoder.push`); the terminal
 * ones (everything but NeedMore) stick to the flow: later pushes answer the same status.
 * Limits: none.
 */

/** Outcome of feeding one client datagram to the decoder (hello/'s HelloStatus, carried over to UDP). */
export const QuicStatus = {
  /** the ClientHello is complete and valid and has a server_name: `info` holds its offsets into `hello` */
  Ok: 0,
  /** the datagram was valid; the ClientHello needs more CRYPTO bytes (more Initial datagrams) */
  NeedMore: 1,
  /** the ClientHello is complete and valid but carries no server_name */
  NoSni: 2,
  /** the reassembled ClientHello is not a valid ClientHello (hello/ said Malformed) */
  HelloMalformed: 3,
  /** the CRYPTO stream would exceed maxHelloBytes, or the flow sent too many Initial datagrams */
  TooLarge: 4,
  /** an Initial in a datagram under 1200 bytes — RFC 9000 §14.1 */
  TooSmall: 5,
  /** a datagram above MAX_INITIAL_DATAGRAM_BYTES */
  Oversized: 6,
  /** not a QUIC long-header packet at all (short header, or too short to hold a long header) */
  NotLongHeader: 7,
  /** a Version Negotiation packet (version 0): never sent by a client starting a connection */
  VersionNegotiation: 8,
  /** a long header with a version other than v1 and v2 (its keys are unknown: it cannot be read) */
  UnknownVersion: 9,
  /** a v1/v2 long header that is not an Initial where one is needed (first packet of a flow) */
  NotInitial: 10,
  /** the long header is truncated or inconsistent (CID lengths, token or Length beyond the datagram, ...) */
  HeaderMalformed: 11,
  /** header protection removed, but the AEAD tag did not verify (wrong keys: wrong version's salt, a flipped bit) */
  DecryptFailed: 12,
  /** the decrypted payload breaks the frame rules of an Initial (forbidden frame, truncated frame, no frame) */
  ProtocolError: 13,
  /** CRYPTO frames disagree about the bytes at the same offset (overlaps must be identical) */
  CryptoConflict: 14,
  /** the client sent CONNECTION_CLOSE: it abandoned the connection */
  ClientClosed: 15,
} as const
export type QuicStatus = typeof QuicStatus[keyof typeof QuicStatus]
