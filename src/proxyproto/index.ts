/**
 * proxyproto/ — PROXY protocol v1/v2 header encoder and decoder (HAProxy doc/proxy-protocol.txt). Pure: no node:*,
 * no pino, no relay/; bytes and numbers in, lengths and PpError codes out, nothing allocated per header.
 *
 *   constants.ts  wire numbers (signature, commands, families, TLV types) and limits, each with its reason
 *   address.ts    IP text ↔ bytes (IPv4, IPv6, IPv4-mapped → IPv4), canonical text for v1
 *   encode.ts     writeProxyV1/V2, appendTlv, ProxyHeaderFields + encodeProxyHeader, buildProxyHeader
 *   decode.ts     decodeProxyHeader / ProxyHeaderDecoder (PROXY in: relay/proxy-in.ts)
 */
export {
  MAX_ALPN_BYTES, MAX_AUTHORITY_BYTES, MAX_CUSTOM_TLV_BYTES, MAX_UNIQUE_ID_BYTES, PpError, Pp2Type,
  PROXY_HEADER_MAX_BYTES, PROXY_V1_MAX_BYTES, PROXY_V2_HEADER_BYTES, PROXY_V2_MAX_BYTES, PROXY_V2_SIGNATURE,
  ProxyCommand, ProxyFamily,
} from './constants.ts'

/** IP text → bytes (4 | 6 | 0) and canonical text; IPv4-mapped IPv6 is reported as IPv4. */
export { parseIp, writeIpText } from './address.ts'

/**
 * Writers into a caller-owned buffer (return bytes written or a negative PpError): the whole header from
 * reusable fields, or piece by piece (v1 line; v2 fixed part + one appendTlv per TLV).
 */
export {
  appendTlv, appendTlvAscii, buildProxyHeader, encodeProxyHeader, ProxyHeaderFields, writeProxyV1,
  writeProxyV1Unknown, writeProxyV2, writeProxyV2Local,
} from './encode.ts'

/** PROXY in: status codes, the reusable result record, the one-shot and incremental readers. */
export {
  ACCEPT_V1, ACCEPT_V2, decodeProxyHeader, DEFAULT_MAX_V2_PAYLOAD, PpStatus, ProxyHeaderDecoder, ProxyHeaderInfo,
  proxyAddressText,
} from './decode.ts'
