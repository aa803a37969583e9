/**
 * Result codes and the fixed-shape output record of the ClientHello reader.
 *
 * Contract: pure data — no node:net, no pino, no allocation per call. `HelloInfo` is allocated once
 * (per assembler or per worker) and reset/refilled for every hello.
 * Limits: none.
 */

/** Outcome of feeding bytes to the reader (nginx NGX_AGAIN/OK/DECLINED, Envoy ParseState). */
export const HelloStatus = {
  /** a complete ClientHello was read and validated; HelloInfo is filled */
  Ok: 0,
  /** more bytes are needed */
  NeedMore: 1,
  /** the first bytes are not a TLS handshake record (HTTP, garbage) */
  NotTls: 2,
  /** a complete, valid hello without server_name, or an SSLv2-compatible hello */
  NoSni: 3,
  /** lengths inconsistent, duplicate extension, two host_names, bad name characters, IP literal, ... */
  Malformed: 4,
  /** the handshake message (or the bytes needed to carry it) exceeds the configured cap */
  TooLarge: 5,
} as const
export type HelloStatus = typeof HelloStatus[keyof typeof HelloStatus]

/**
 * Fixed-shape parse output, reused (one per worker / per assembler); every field initialised here.
 * Offsets index `HelloAssembler.hs` (the handshake bytes, record headers stripped),
 * which is a view of the received chunk on the zero-copy fast path. For `parseClientHello(buf, …)`
 * they are absolute indexes into `buf`.
 *
 * sni and alpn offsets are set only on Ok / NoSni. After a rejection by the assembler, `records` and
 * `handshakeLength` still say how far it got (for logs).
 */
export class HelloInfo {
  /** start of the SNI host_name bytes; -1 when absent */
  sniStart = -1
  /** end (exclusive) of the SNI, with one trailing dot already excluded; -1 when absent */
  sniEnd = -1
  /** start of the ALPN ProtocolNameList body (sequence of u8-length-prefixed names); -1 when absent */
  alpnStart = -1
  /** end (exclusive) of the ALPN list body; -1 when absent */
  alpnEnd = -1
  /**
   * start of the encrypted_client_hello extension's data (draft-ietf-tls-esni, type 0xfe0d); -1 when
   * absent. Its presence means the SNI is the outer (public) name, which is what routing uses.
   */
  echStart = -1
  /** legacy_version from the ClientHello body (0x0303 for TLS 1.2/1.3); the version field of an SSLv2 hello */
  legacyVersion = 0
  /** true when the hello was SSLv2-compatible (RFC 5246 appendix E.2) */
  sslv2 = false
  /** number of TLS records the handshake message spanned (1 for an SSLv2 hello) */
  records = 0
  /** total length of the handshake message, header included (the SSLv2 message length for sslv2) */
  handshakeLength = 0

  reset (): void {
    this.sniStart = -1
    this.sniEnd = -1
    this.alpnStart = -1
    this.alpnEnd = -1
    this.echStart = -1
    this.legacyVersion = 0
    this.sslv2 = false
    this.records = 0
    this.handshakeLength = 0
  }
}
