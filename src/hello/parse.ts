/**
 * `parseClientHello`: validate one complete ClientHello handshake message and locate its SNI and
 * ALPN, in the style of Go's `clientHelloMsg.unmarshal` (crypto/tls/handshake_messages.go).
 *
 * Contract:
 *  - Input: buf[start, end) holds exactly one handshake message, starting at its msg_type byte
 *    (record headers already stripped — see assemble.ts). The bytes are only read, never written.
 *  - Output: a `HelloStatus` and the reused `out` record. On `Ok` the SNI is buf[sniStart, sniEnd)
 *    (one trailing dot excluded, case as sent); on `Ok`/`NoSni` the ALPN ProtocolNameList body, when
 *    present, is buf[alpnStart, alpnEnd). Offsets are absolute indexes into `buf`. On any other
 *    status `out` is reset, so no stale offset survives a rejection.
 *  - Every length is checked against its parent and every structure we interpret is consumed
 *    exactly; duplicate extensions of any type (GREASE included) are rejected; unknown extensions
 *    are skipped; a second host_name is rejected.
 *  - No allocation, no exception for anything a peer can send (a range outside `buf` is a programmer
 *    error and throws RangeError), no string, no RegExp.
 *
 * Limits: none of its own — the caller bounds the message size (`maxHelloBytes` in assemble.ts).
 * Duplicate detection uses a module-level generation-stamp table (256 KiB per thread, O(1) per
 * extension, nothing to clear between parses). Not re-entrant, which a synchronous function in a
 * single JS thread never needs to be.
 *
 * Index rule (noUncheckedIndexedAccess): the only direct index is `seenAt[type]!`, after the
 * `type < 0` check in the same function (a successful `readU16` is 0..65535); byte reads go through
 * cursor.ts.
 */
import {
  EXT_ALPN,
  EXT_ENCRYPTED_CLIENT_HELLO,
  EXT_SERVER_NAME,
  HANDSHAKE_TYPE_CLIENT_HELLO,
  MAX_SESSION_ID_LEN,
  MIN_CIPHER_SUITES_LEN,
  MIN_COMPRESSION_METHODS_LEN,
  NAME_TYPE_HOST_NAME,
  RANDOM_LEN,
} from './constants.ts'
import { checkHostName } from '../names/index.ts'
import { Cursor } from './cursor.ts'
import { HelloStatus, type HelloInfo } from './types.ts'

// Reused cursors, one per nesting level (fixed shapes, no allocation per parse).
const cMsg = new Cursor()
const cVec = new Cursor()
const cExts = new Cursor()
const cExt = new Cursor()
const cList = new Cursor()
const cItem = new Cursor()

/**
 * seenAt[extensionType] === generation ⇔ that type was already seen in the current parse
 * (Go `seenExts`, rustls `DuplicateExtension`). Bumping the generation forgets every type at once.
 */
const seenAt = new Uint32Array(65536)
let generation = 0

function nextGeneration (): number {
  generation = (generation + 1) >>> 0
  if (generation === 0) { // wrapped after 2^32 parses: forget everything once
    seenAt.fill(0)
    generation = 1
  }
  return generation
}

/**
 * Parse one complete ClientHello handshake message in buf[start, end) into `out`.
 * Returns Ok (SNI found), NoSni (valid, no host_name), or Malformed.
 */
export function parseClientHello (buf: Uint8Array, start: number, end: number, out: HelloInfo): HelloStatus {
  out.reset()
  const status = parseMessage(buf, start, end, out)
  if (status === HelloStatus.Malformed) out.reset()
  return status
}

function parseMessage (buf: Uint8Array, start: number, end: number, out: HelloInfo): HelloStatus {
  const m = cMsg
  m.init(buf, start, end)

  // RFC 8446 §4: struct { HandshakeType msg_type; uint24 length; ... } Handshake;
  if (m.readU8() !== HANDSHAKE_TYPE_CLIENT_HELLO) return HelloStatus.Malformed
  const length = m.readU24()
  // the message is exactly its header plus `length` bytes: nothing missing, nothing trailing
  if (length < 0 || length !== m.remaining()) return HelloStatus.Malformed
  out.handshakeLength = end - start

  // RFC 8446 §4.1.2: ProtocolVersion legacy_version = 0x0303; (0x0301-0x0303 from TLS ≤ 1.2 clients)
  const version = m.readU16()
  if (version < 0) return HelloStatus.Malformed
  out.legacyVersion = version

  // Random random;
  if (!m.skip(RANDOM_LEN)) return HelloStatus.Malformed
  // opaque legacy_session_id<0..32>;
  if (!m.readU8Prefixed(cVec) || cVec.remaining() > MAX_SESSION_ID_LEN) return HelloStatus.Malformed
  // CipherSuite cipher_suites<2..2^16-2>; — whole 2-byte suites, at least one
  if (!m.readU16Prefixed(cVec)) return HelloStatus.Malformed
  const suites = cVec.remaining()
  if (suites < MIN_CIPHER_SUITES_LEN || (suites & 1) !== 0) return HelloStatus.Malformed
  // opaque legacy_compression_methods<1..2^8-1>;
  if (!m.readU8Prefixed(cVec) || cVec.remaining() < MIN_COMPRESSION_METHODS_LEN) return HelloStatus.Malformed

  // RFC 5246 §7.4.1.2: "the presence of extensions can be detected by determining whether there are
  // bytes following the compression_methods at the end of the ClientHello". No extensions → no SNI.
  if (m.empty()) return HelloStatus.NoSni

  // Extension extensions<8..2^16-1>; — and it must end exactly where the message ends
  if (!m.readU16Prefixed(cExts) || !m.empty()) return HelloStatus.Malformed

  const g = nextGeneration()
  const exts = cExts
  while (!exts.empty()) {
    // RFC 8446 §4.2: struct { ExtensionType extension_type; opaque extension_data<0..2^16-1>; } Extension;
    const type = exts.readU16()
    if (type < 0 || !exts.readU16Prefixed(cExt)) return HelloStatus.Malformed
    // RFC 8446 §4.2: "There MUST NOT be more than one extension of the same type in a given extension
    // block." GREASE types (RFC 8701) are ordinary types here: the same GREASE value twice is a duplicate.
    if (seenAt[type]! === g) return HelloStatus.Malformed
    seenAt[type] = g
    switch (type) {
      case EXT_SERVER_NAME: // RFC 6066 §3
        if (!readServerName(cExt, out)) return HelloStatus.Malformed
        break
      case EXT_ALPN: // RFC 7301 §3.1
        if (!readAlpn(cExt, out)) return HelloStatus.Malformed
        break
      case EXT_ENCRYPTED_CLIENT_HELLO: // draft-ietf-tls-esni §5: only its presence matters to us (opaque to a passthrough)
        out.echStart = cExt.pos
        break
      default:
        // unknown or uninteresting extension (GREASE included): skipped, its length already checked
        break
    }
  }
  return out.sniStart >= 0 ? HelloStatus.Ok : HelloStatus.NoSni
}

/**
 * RFC 6066 §3 server_name extension_data:
 *   struct { NameType name_type; select (name_type) { case host_name: HostName; } name; } ServerName;
 *   enum { host_name(0), (255) } NameType;
 *   opaque HostName<1..2^16-1>;
 *   struct { ServerName server_name_list<1..2^16-1> } ServerNameList;
 */
function readServerName (ext: Cursor, out: HelloInfo): boolean {
  const list = cList
  // the list is the whole extension body, and not empty
  if (!ext.readU16Prefixed(list) || !ext.empty() || list.empty()) return false
  while (!list.empty()) {
    const nameType = list.readU8()
    // Unknown name types are assumed to carry a uint16-prefixed name like host_name does (the only
    // encoding RFC 6066 leaves room for; Go's unmarshal reads them the same way) and are skipped.
    if (nameType < 0 || !list.readU16Prefixed(cItem)) return false
    if (nameType !== NAME_TYPE_HOST_NAME) continue
    // RFC 6066 §3: "The ServerNameList MUST NOT contain more than one name of the same name_type."
    if (out.sniStart >= 0) return false
    // names/host-name.ts: the one host-name rule (also the route patterns'); a refused name is Malformed
    const e = checkHostName(cItem.buf, cItem.pos, cItem.end)
    if (e < 0) return false
    out.sniStart = cItem.pos
    out.sniEnd = e
  }
  return true
}

/**
 * RFC 7301 §3.1 application_layer_protocol_negotiation extension_data:
 *   opaque ProtocolName<1..2^8-1>;
 *   struct { ProtocolName protocol_name_list<2..2^16-1> } ProtocolNameList;
 * "Empty strings MUST NOT be included".
 */
function readAlpn (ext: Cursor, out: HelloInfo): boolean {
  const list = cList
  if (!ext.readU16Prefixed(list) || !ext.empty() || list.empty()) return false
  const start = list.pos
  const end = list.end
  while (!list.empty()) {
    if (!list.readU8Prefixed(cItem) || cItem.empty()) return false
  }
  out.alpnStart = start
  out.alpnEnd = end
  return true
}
