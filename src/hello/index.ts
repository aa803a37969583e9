/**
 * hello/ — the zero-copy, incremental ClientHello reader (pure: no node:*, no pino, no relay/; the SNI is
 * checked with names/checkHostName, the host-name rule routes/ and config/ share).
 *
 * Bytes in, offsets out: `HelloAssembler` gathers a ClientHello across TCP chunks and TLS records
 * under hard caps, `parseClientHello` validates one handshake message and reports the SNI and ALPN as
 * offsets into the handshake bytes. Nothing here throws for peer input, allocates per parse, or
 * writes to received bytes. Module map:
 *
 *   constants.ts  wire numbers and limits (each with its reason)
 *   cursor.ts     bounds-checked reads (cryptobyte style)
 *   parse.ts      parseClientHello
 *   assemble.ts   HelloAssembler (records, reassembly, caps, SSLv2)
 *   strings.ts    slow-path string helpers for logs
 *   types.ts      HelloStatus, HelloInfo
 */

export { HelloInfo, HelloStatus } from './types.ts'

/** Parse one complete handshake message (type byte included) in buf[start, end). Pure, no allocation. */
export { parseClientHello } from './parse.ts'

/**
 * Incremental reader: fed chunks as they arrive; answers NeedMore / Ok / NoSni / a rejection.
 * Takes ownership of pushed chunks (callers must not reuse their memory).
 */
export { HelloAssembler } from './assemble.ts'

/** Slow path only (allocate): SNI / ALPN as strings for logs. */
export { alpnToStrings, sniToString } from './strings.ts'

/** Limits: default and hard maximum for maxHelloBytes, records per hello, record payload size. */
export {
  DEFAULT_MAX_HELLO_BYTES,
  MAX_HELLO_BYTES_LIMIT,
  MAX_HELLO_RECORDS,
  MAX_RECORD_PAYLOAD,
} from './constants.ts'

/** Handshake header size and the ClientHello msg_type (quic/ reads the handshake header of the CRYPTO stream). */
export { HANDSHAKE_HEADER_LEN, HANDSHAKE_TYPE_CLIENT_HELLO } from './constants.ts'
