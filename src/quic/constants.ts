/**
 * Wire numbers and hard limits of the QUIC Initial decoder.
 *
 * Contract: plain numbers and frozen byte strings only (no state). Every limit carries its reason;
 * every wire number carries the RFC section that defines it.
 *
 * Limits: this module *is* the list of limits of quic/ (`MIN_INITIAL_DATAGRAM_BYTES`,
 * `MAX_INITIAL_DATAGRAM_BYTES`, `MAX_CID_LEN`, `MIN_ORIGINAL_DCID_LEN`, `MAX_INITIAL_DATAGRAMS`);
 * the CRYPTO stream cap is hello/'s `maxHelloBytes` (the same hello, the same cap as over TCP).
 */

// --- Versions --------------------------------------------------------------------------------

/** QUIC version 1 — RFC 9000 §15 */
export const QUIC_V1 = 0x00000001
/** QUIC version 2 — RFC 9369 §3.1 "The Version field of long header packets is 0x6b3343cf" */
export const QUIC_V2 = 0x6b3343cf
/** Version Negotiation packets carry version 0 — RFC 9000 §17.2.1 */
export const QUIC_VERSION_NEGOTIATION = 0

// --- Long header (RFC 9000 §17.2) --------------------------------------------------------------

/** Header Form bit: 1 = long header — RFC 9000 §17.2 */
export const HEADER_FORM_LONG = 0x80
/** Fixed Bit — RFC 9000 §17.2 (RFC 9287 lets a client that remembered the peer's grease_quic_bit clear it) */
export const FIXED_BIT = 0x40
/** Long Packet Type, bits 0x30 of byte 0 — RFC 9000 §17.2 */
export const LONG_PACKET_TYPE_MASK = 0x30
/** Initial's Long Packet Type in v1 (0b00) — RFC 9000 §17.2 Table 5 */
export const V1_TYPE_INITIAL = 0x00
/** Initial's Long Packet Type in v2 (0b01) — RFC 9369 §3.2 */
export const V2_TYPE_INITIAL = 0x10
/** Retry's Long Packet Type in v1 (0b11) — RFC 9000 §17.2 Table 5; Retry has no Length field */
export const V1_TYPE_RETRY = 0x30
/** Retry's Long Packet Type in v2 (0b00) — RFC 9369 §3.2 */
export const V2_TYPE_RETRY = 0x00
/** byte 0 bits covered by header protection in a long header (Reserved Bits + Packet Number Length) — RFC 9001 §5.4.1 */
export const LONG_HEADER_PROTECTED_BITS = 0x0f
/** Packet Number Length bits: length − 1 — RFC 9000 §17.2 */
export const PN_LENGTH_MASK = 0x03
/** Reserved Bits of a long header: "MUST be 0" after header protection is removed — RFC 9000 §17.2 */
export const LONG_RESERVED_BITS = 0x0c
/** byte 0 + Version(4) + DCID Length(1) + SCID Length(1): the smallest long header before the CIDs */
export const LONG_HEADER_MIN_LEN = 7
/**
 * RFC 9000 §17.2: "In QUIC version 1, this value MUST NOT exceed 20 bytes. Endpoints that receive a
 * version 1 long header with a value larger than 20 MUST drop the packet." (v2 keeps it, RFC 9369 §3.)
 */
export const MAX_CID_LEN = 20
/**
 * RFC 9000 §7.2: the client's first Destination Connection ID "MUST be at least 8 bytes in length"
 * (it is the Initial keys' only secret input, RFC 9001 §5.2).
 */
export const MIN_ORIGINAL_DCID_LEN = 8

// --- Packet protection (RFC 9001 §5) ---------------------------------------------------------

/** AEAD_AES_128_GCM tag — RFC 9001 §5.3, RFC 5116 §5.1 */
export const AEAD_TAG_LEN = 16
/** AEAD_AES_128_GCM nonce (= the IV length) — RFC 9001 §5.3 */
export const AEAD_IV_LEN = 12
/** AES-128 key and header-protection key — RFC 9001 §5.1 */
export const AEAD_KEY_LEN = 16
/** header-protection sample — RFC 9001 §5.4.2 "a 16-byte sample" */
export const HP_SAMPLE_LEN = 16
/** RFC 9001 §5.4.2: the sample starts "as though the Packet Number field is 4 bytes long" */
export const HP_SAMPLE_OFFSET = 4
/** largest Packet Number field — RFC 9000 §17.1 */
export const MAX_PN_LEN = 4

// --- Frames in an Initial (RFC 9000 §12.4 Table 3, §19) ---------------------------------------

export const FRAME_PADDING = 0x00 // PADDING, RFC 9000 §19.1
export const FRAME_PING = 0x01 // PING, RFC 9000 §19.2
export const FRAME_ACK = 0x02 // ACK, RFC 9000 §19.3
export const FRAME_ACK_ECN = 0x03 // ACK with ECN counts, RFC 9000 §19.3.2
export const FRAME_CRYPTO = 0x06 // CRYPTO, RFC 9000 §19.6
export const FRAME_CONNECTION_CLOSE = 0x1c // CONNECTION_CLOSE (transport), RFC 9000 §19.19

// --- Limits of this decoder ------------------------------------------------------------------

/**
 * RFC 9000 §14.1: "A server MUST discard an Initial packet that is carried in a UDP datagram with a
 * payload that is smaller than the smallest allowed maximum datagram size of 1200 bytes." The padding
 * rule is QUIC's amplification defence; an edge that routed small Initials would carry the attack on.
 */
export const MIN_INITIAL_DATAGRAM_BYTES = 1200

/**
 * Largest datagram we decode (bytes of UDP payload): a 9000-byte jumbo-frame MTU less the IPv4 (20)
 * and UDP (8) headers. Clients send their Initials at 1200–1500 bytes (path MTU is not yet known, RFC
 * 9000 §14.1); anything bigger would need IP fragmentation, which no QUIC stack sends, so it is not a
 * client starting a connection and is refused before any crypto work.
 */
export const MAX_INITIAL_DATAGRAM_BYTES = 8972

/**
 * Most client Initial datagrams one flow may feed before its hello is complete. Each costs an AEAD
 * open, so this bounds the CPU a client can spend per flow whatever its timeout: a 64 KiB hello (the
 * hard cap of maxHelloBytes) in 1200-byte datagrams needs 56; browsers' post-quantum hellos need 2.
 */
export const MAX_INITIAL_DATAGRAMS = 64

// --- Initial secrets (RFC 9001 §5.2, RFC 9369 §3.3.1) ----------------------------------------

/** RFC 9001 §5.2 initial_salt for QUIC v1 */
export const V1_INITIAL_SALT = Uint8Array.of(
  0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
  0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a,
)
/** RFC 9369 §3.3.1 initial_salt for QUIC v2 */
export const V2_INITIAL_SALT = Uint8Array.of(
  0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
  0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9,
)
