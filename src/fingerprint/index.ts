/**
 * fingerprint/ — client fingerprints computed from bytes already in memory (pure: no node:*, no pino, no
 * relay/). Bytes in, ASCII bytes out into caller-owned buffers; strings only from the `*String` wrappers.
 *
 *   sha256.ts  streaming SHA-256 fed byte by byte, hex digest into a buffer (why not node:crypto: see there)
 *   ja4.ts     JA4 and JA4_r of one ClientHello handshake message
 *
 * Used by relay/policy.ts (denyJa4/allowJa4 rules, `log.ja4`, the PROXY v2 TLV 0xE4 to origins), only when one of
 * them needs the fingerprint (README "Access lists and JA4").
 */
export { isGrease, JA4_LENGTH, Ja4Error, ja4RawMaxBytes, ja4RawString, ja4String, writeJa4, writeJa4Raw } from './ja4.ts'
export { Sha256 } from './sha256.ts'
