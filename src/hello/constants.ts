/**
 * Wire numbers and hard limits of the ClientHello reader.
 *
 * Contract: plain numbers only (no state, no allocation). Every limit carries its reason; the
 * record/handshake numbers carry the RFC section that defines them, and a trailing comment naming
 * the wire field (nginx `sw_*`, pg-protocol `DataRow = 0x44, // D`).
 *
 * Limits: this module *is* the list of limits of hello/ (see `DEFAULT_MAX_HELLO_BYTES`,
 * `MAX_HELLO_BYTES_LIMIT`, `MAX_HELLO_RECORDS`, `MAX_RECORD_PAYLOAD`).
 */

// --- TLS record layer (RFC 8446 §5.1, RFC 5246 §6.2.1) ---------------------------------------

/** TLSPlaintext header: type(1) + legacy_record_version(2) + length(2) */
export const RECORD_HEADER_LEN = 5
/** ContentType.handshake — RFC 8446 §5.1 `handshake(22)` */
export const CONTENT_TYPE_HANDSHAKE = 22
/** legacy_record_version major byte: SSL 3.0 … TLS 1.3 all use major 3 — RFC 8446 §5.1, RFC 6101 §5.2.1 */
export const RECORD_VERSION_MAJOR = 3
/**
 * Highest record minor version accepted (0x0304). RFC 8446 §5.1 says a ClientHello's
 * legacy_record_version "MAY" be 0x0301 for compatibility, and browsers also send 0x0303; we accept
 * 0x0300-0x0304 like browsers and servers do and reject anything above as malformed.
 */
export const RECORD_VERSION_MINOR_MAX = 4
/**
 * RFC 8446 §5.1: "The length MUST NOT exceed 2^14 bytes. An endpoint that receives a record that
 * exceeds this length MUST terminate the connection with a "record_overflow" alert."
 */
export const MAX_RECORD_PAYLOAD = 16384

// --- Handshake layer (RFC 8446 §4) -----------------------------------------------------------

/** Handshake header: msg_type(1) + uint24 length(3) — RFC 8446 §4 */
export const HANDSHAKE_HEADER_LEN = 4
/** HandshakeType.client_hello — RFC 8446 §4 `client_hello(1)` */
export const HANDSHAKE_TYPE_CLIENT_HELLO = 1

// --- ClientHello body (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2) -----------------------------------

/** `Random random;` — 32 bytes */
export const RANDOM_LEN = 32
/** `opaque legacy_session_id<0..32>;` */
export const MAX_SESSION_ID_LEN = 32
/** `CipherSuite cipher_suites<2..2^16-2>;` — each suite is 2 bytes, at least one */
export const MIN_CIPHER_SUITES_LEN = 2
/** `opaque legacy_compression_methods<1..2^8-1>;` */
export const MIN_COMPRESSION_METHODS_LEN = 1

// --- Extensions ------------------------------------------------------------------------------

/** ExtensionType.server_name — RFC 6066 §3 */
export const EXT_SERVER_NAME = 0
/** ExtensionType.application_layer_protocol_negotiation — RFC 7301 §3.1 */
export const EXT_ALPN = 16
/**
 * ExtensionType.encrypted_client_hello — draft-ietf-tls-esni-24 §11.1 `encrypted_client_hello(0xfe0d)`:
 * the real hello is encrypted inside; what we read (and route on) is the outer hello's public name.
 */
export const EXT_ENCRYPTED_CLIENT_HELLO = 0xfe0d
/** NameType.host_name — RFC 6066 §3 `host_name(0)` */
export const NAME_TYPE_HOST_NAME = 0

// --- SSLv2-compatible ClientHello (RFC 5246 Appendix E.2, RFC 6101 Appendix E) ----------------

/** 2-byte SSLv2 record header, high bit set: `msg_length = ((b0 & 0x7f) << 8) | b1` */
export const SSLV2_HEADER_LEN = 2
/** SSLv2 CLIENT-HELLO msg_type — RFC 5246 E.2 "msg_type ... The value MUST be 1" */
export const SSLV2_MSG_CLIENT_HELLO = 1
/** msg_type(1) + version(2) + cipher_spec_length(2) + session_id_length(2) + challenge_length(2) */
export const SSLV2_FIXED_LEN = 9
/** each V2CipherSpec is 3 bytes — RFC 5246 E.2 `V2CipherSpec cipher_specs[V2ClientHello.cipher_spec_length]` */
export const SSLV2_CIPHER_SPEC_LEN = 3
/** RFC 6101 E.1 / RFC 5246 E.2: session id is empty (TLS clients) or 16 bytes (SSL 2.0 resumption) */
export const SSLV2_SESSION_ID_LEN = 16
/** RFC 6101 E.1: "challenge_length ... MUST be between 16 and 32" */
export const SSLV2_MIN_CHALLENGE_LEN = 16
/** see `SSLV2_MIN_CHALLENGE_LEN` */
export const SSLV2_MAX_CHALLENGE_LEN = 32

// --- Limits of this reader -------------------------------------------------------------------

/**
 * Default cap on the ClientHello handshake message, header included (bytes); config `limits.maxHelloBytes`
 * defaults to it. 16 KiB is Envoy tls_inspector's cap and one TLS record's plaintext (RFC 8446 §5.1:
 * 2^14); today's largest real hellos (Chromium with an X25519MLKEM768 key share) are about 1.8 KB, so
 * this leaves ~9× headroom for more post-quantum key shares and padding.
 */
export const DEFAULT_MAX_HELLO_BYTES = 16384

/**
 * Hard maximum for `maxHelloBytes` (bytes; the config refuses more). rustls `deframer`
 * `MAX_HANDSHAKE_SIZE`: handshake messages may be up to 2^24-1 bytes, but "we restrict that to 64KB to
 * limit potential for denial-of-service". We buffer the hello per connection before routing, so the same
 * reasoning applies with more force. A hello larger than this is not a browser.
 */
export const MAX_HELLO_BYTES_LIMIT = 65536

/**
 * Most TLS records one ClientHello may span. Every record adds 5 header bytes that we must keep
 * (`received()` is forwarded verbatim) plus one loop step, so without a bound a client could make us
 * hold ~6× the hello by sending 1-byte records. 256 records bound that overhead to 1280 bytes over
 * `maxHelloBytes`, while a 64 KiB hello needs only 4 full records and DPI-evasion clients that
 * fragment the hello around the SNI use a handful to a few dozen.
 */
export const MAX_HELLO_RECORDS = 256

/**
 * First size (bytes) of the per-connection buffers used on the slow path (the hello arrived in
 * several chunks or several records). Covers a typical 1.8 KB browser hello in one allocation; the
 * buffers grow ×2 from here, never beyond what the caps allow.
 */
export const INITIAL_ASSEMBLY_BYTES = 2048
