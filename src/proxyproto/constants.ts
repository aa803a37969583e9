/**
 * proxyproto/constants — wire numbers and size limits of the PROXY protocol, versions 1 and 2
 * (HAProxy doc/proxy-protocol.txt; section numbers below are that document's).
 *
 * Pure: no imports, nothing allocated beyond module load.
 */

// ---- version 1 (§2.1) --------------------------------------------------------------------------------

/**
 * §2.1: "If the CRLF sequence is not found in the first 107 characters, the receiver should declare the
 * line invalid": the worst case is `PROXY UNKNOWN <ipv6> <ipv6> 65535 65535\r\n`. What this encoder writes
 * is at most 104 bytes (`PROXY TCP6 …`, two 39-character addresses).
 */
export const PROXY_V1_MAX_BYTES = 107

// ---- version 2 (§2.2) --------------------------------------------------------------------------------

/** §2.2: the 12-byte signature `\r\n\r\n\0\r\nQUIT\n` that starts every version 2 header. */
export const PROXY_V2_SIGNATURE: readonly number[] = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]

/** §2.2: signature (12) + version/command (1) + family/transport (1) + length (2). */
export const PROXY_V2_HEADER_BYTES = 16
/** §2.2: offset of the big-endian uint16 that counts every byte after the 16-byte header. */
export const PROXY_V2_LENGTH_OFFSET = 14
/** §2.2: the length field is a uint16, so addresses and TLVs together fit in 65535 bytes. */
export const PROXY_V2_MAX_PAYLOAD = 0xffff

/** §2.2, 13th byte: version 2 in the high nibble, the command in the low one. */
export const ProxyCommand = {
  /** \x0 LOCAL: "the connection was established on purpose by the proxy without being relayed" (health checks) */
  Local: 0x20,
  /** \x1 PROXY: "the connection was established on behalf of another node" */
  Proxy: 0x21,
} as const
export type ProxyCommand = typeof ProxyCommand[keyof typeof ProxyCommand]

/** §2.2, 14th byte: address family (high nibble) and transport (low nibble). */
export const ProxyFamily = {
  /** \x00 UNSPEC: LOCAL commands, or addresses the sender cannot express */
  Unspec: 0x00,
  /** \x11 TCP over IPv4: 2 × 4 address bytes + 2 × 2 port bytes */
  Tcp4: 0x11,
  /** \x21 TCP over IPv6: 2 × 16 address bytes + 2 × 2 port bytes */
  Tcp6: 0x21,
} as const
export type ProxyFamily = typeof ProxyFamily[keyof typeof ProxyFamily]

/** §2.2: address block length for TCP over IPv4 (2*4 + 2*2). */
export const ADDR_LEN_TCP4 = 12
/** §2.2: address block length for TCP over IPv6 (2*16 + 2*2). */
export const ADDR_LEN_TCP6 = 36

/** §2.2: TLV types this encoder writes (`pp2_tlv.type`). */
export const Pp2Type = {
  /** 0x01 PP2_TYPE_ALPN: "the upper layer protocol in use over the connection" */
  Alpn: 0x01,
  /** 0x02 PP2_TYPE_AUTHORITY: "the exact copy of the server_name extension" (the SNI) */
  Authority: 0x02,
  /** 0x05 PP2_TYPE_UNIQUE_ID: "an opaque byte sequence of up to 128 bytes … that uniquely identifies the connection" */
  UniqueId: 0x05,
  /** §2.2.8: first of the 16 types "reserved for application-specific data" */
  MinCustom: 0xe0,
  /** §2.2.8: last application-specific type */
  MaxCustom: 0xef,
} as const

/** §2.2: type (1) + length (2) in front of every TLV value. */
export const TLV_HEADER_BYTES = 3

/** §2.2.5: "up to 128 bytes". */
export const MAX_UNIQUE_ID_BYTES = 128
/**
 * AUTHORITY values above this are refused: an SNI host name is a DNS name, at most 255 octets on the
 * wire (RFC 1035 §2.3.4), and the hello parser never reports a longer one.
 */
export const MAX_AUTHORITY_BYTES = 255
/** RFC 7301 §3.1: a protocol name is `opaque ProtocolName<1..2^8-1>`. */
export const MAX_ALPN_BYTES = 255
/**
 * Cap on the one application-specific TLV that ProxyHeaderFields carries. A JA4 fingerprint is 36
 * characters; 255 leaves room for the raw JA4_r form and keeps PROXY_V2_MAX_BYTES near 1 KiB.
 */
export const MAX_CUSTOM_TLV_BYTES = 255

/**
 * Largest header `encodeProxyHeader` writes: v2 with IPv6 addresses and every TLV at its cap. A
 * caller-owned buffer of this size never gets `PpError.NoRoom` from it.
 */
export const PROXY_V2_MAX_BYTES = PROXY_V2_HEADER_BYTES + ADDR_LEN_TCP6 +
  TLV_HEADER_BYTES + MAX_ALPN_BYTES +
  TLV_HEADER_BYTES + MAX_AUTHORITY_BYTES +
  TLV_HEADER_BYTES + MAX_UNIQUE_ID_BYTES +
  TLV_HEADER_BYTES + MAX_CUSTOM_TLV_BYTES

/** Largest header of either version; size a reusable per-worker buffer with it. */
export const PROXY_HEADER_MAX_BYTES = PROXY_V2_MAX_BYTES

/** Failures, as negative numbers where a length is otherwise returned (proxyproto/ never throws on input). */
export const PpError = {
  /** the buffer has too few bytes left from the offset */
  NoRoom: -1,
  /** a TLV value is longer than its type allows, or would push the v2 length past 65535 */
  TooLong: -2,
  /** a TLV type outside what the caller may write (custom TLVs must be in 0xE0–0xEF) */
  BadType: -3,
  /** a text value that is not printable US-ASCII */
  BadValue: -4,
  /** appendTlv was pointed at bytes that are not a v2 header */
  NotV2: -5,
} as const
export type PpError = typeof PpError[keyof typeof PpError]
