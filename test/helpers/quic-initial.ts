/**
 * Builds protected client Initial packets for tests: the encryption inverse of src/quic/, written
 * independently of it (node:crypto's hkdfSync for the client secret, hand-written HKDF-Expand-Label for
 * the rest, the packet layout from RFC 9000 §17.2.2) so that a shared mistake cannot make both agree.
 * No QUIC client runs on this machine (no curl --http3, no node:quic in Node 24), so multi-datagram
 * hellos are built here; the RFC vectors (quic-vectors.ts) pin this builder to the published bytes.
 */
import { createCipheriv, createHmac, hkdfSync } from 'node:crypto'

export const V1 = 0x00000001
export const V2 = 0x6b3343cf
const SALT: Record<number, string> = {
  [V1]: '38762cf7f55934b34d179ae6a4c80cadccbb7f0a', // RFC 9001 §5.2
  [V2]: '0dede3def700a6db819381be6e269dcbf9bd2ed9', // RFC 9369 §3.3.1
}

export interface TestKeys { key: Buffer, iv: Buffer, hp: Buffer, secret: Buffer }

function label (name: string, length: number): Buffer {
  const l = Buffer.from('tls13 ' + name, 'latin1')
  return Buffer.concat([Buffer.from([length >> 8, length & 0xff, l.length]), l, Buffer.from([0])])
}

function expand (secret: Buffer, name: string, length: number): Buffer {
  return createHmac('sha256', secret).update(Buffer.concat([label(name, length), Buffer.from([1])])).digest().subarray(0, length)
}

export function testKeys (version: number, dcid: Uint8Array): TestKeys {
  const salt = Buffer.from(SALT[version] ?? '00', 'hex')
  // HKDF-Extract then Expand-Label("client in") in one call
  const secret = Buffer.from(hkdfSync('sha256', dcid, salt, label('client in', 32), 32))
  const p = version === V2 ? 'quicv2 ' : 'quic '
  return { secret, key: expand(secret, p + 'key', 16), iv: expand(secret, p + 'iv', 12), hp: expand(secret, p + 'hp', 16) }
}

/** RFC 9000 §16 encoding, shortest form (or `len` bytes when given) */
export function varint (n: number, len?: number): Buffer {
  const l = len ?? (n < 64 ? 1 : n < 16384 ? 2 : n < 2 ** 30 ? 4 : 8)
  const b = Buffer.alloc(l)
  let v = n
  for (let i = l - 1; i >= 0; i--) { b[i] = v % 256; v = Math.floor(v / 256) }
  b[0]! |= ({ 1: 0x00, 2: 0x40, 4: 0x80, 8: 0xc0 } as Record<number, number>)[l]!
  return b
}

/** CRYPTO frame (RFC 9000 §19.6) */
export function cryptoFrame (offset: number, data: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([0x06]), varint(offset), varint(data.length), data])
}

export interface InitialOptions {
  version?: number
  dcid?: Uint8Array
  scid?: Uint8Array
  token?: Uint8Array
  pn?: number
  /** Packet Number field length, 1..4 */
  pnLen?: number
  /** frames (the plaintext payload before padding) */
  frames: Uint8Array
  /** pad the payload with PADDING so that the packet is at least this long (default 1200) */
  padTo?: number
  /** set byte 0's reserved bits (RFC 9000 §17.2) before protection */
  reservedBits?: number
  /** Long Packet Type override (default: the version's Initial) */
  type?: number
}

export const TEST_DCID = Buffer.from('0011223344556677', 'hex')

/** One protected Initial packet. */
export function protectInitial (o: InitialOptions): Buffer {
  const version = o.version ?? V1
  const dcid = Buffer.from(o.dcid ?? TEST_DCID)
  const scid = Buffer.from(o.scid ?? Buffer.alloc(0))
  const token = Buffer.from(o.token ?? Buffer.alloc(0))
  const pn = o.pn ?? 0
  const pnLen = o.pnLen ?? 4
  const type = o.type ?? (version === V2 ? 0x10 : 0x00)
  const keys = testKeys(version, dcid)
  const fixed = Buffer.concat([
    Buffer.from([0xc0 | type | (o.reservedBits ?? 0) | (pnLen - 1)]),
    Buffer.from([version >>> 24, (version >>> 16) & 0xff, (version >>> 8) & 0xff, version & 0xff]),
    Buffer.from([dcid.length]), dcid, Buffer.from([scid.length]), scid,
    varint(token.length), token,
  ])
  const lengthLen = 2
  let payload = Buffer.from(o.frames)
  const want = (o.padTo ?? 1200) - (fixed.length + lengthLen + pnLen + 16)
  if (payload.length < want) payload = Buffer.concat([payload, Buffer.alloc(want - payload.length)])
  // the sample needs 4 − pnLen + 16 bytes of ciphertext after the packet number
  if (payload.length + 16 < 4 - pnLen + 16) payload = Buffer.concat([payload, Buffer.alloc(4)])
  const pnBytes = Buffer.alloc(pnLen)
  for (let i = 0; i < pnLen; i++) pnBytes[pnLen - 1 - i] = Math.floor(pn / 2 ** (8 * i)) % 256
  const header = Buffer.concat([fixed, varint(pnLen + payload.length + 16, lengthLen), pnBytes])
  const nonce = Buffer.from(keys.iv)
  for (let i = 0; i < 8; i++) nonce[11 - i]! ^= Math.floor(pn / 2 ** (8 * i)) % 256
  const c = createCipheriv('aes-128-gcm', keys.key, nonce)
  c.setAAD(header)
  const sealed = Buffer.concat([c.update(payload), c.final(), c.getAuthTag()])
  const packet = Buffer.concat([header, sealed])
  // RFC 9001 §5.4: header protection
  const pnOffset = header.length - pnLen
  const sample = packet.subarray(pnOffset + 4, pnOffset + 20)
  const mask = createCipheriv('aes-128-ecb', keys.hp, null).setAutoPadding(false).update(sample)
  packet[0]! ^= mask[0]! & 0x0f
  for (let i = 0; i < pnLen; i++) packet[pnOffset + i]! ^= mask[1 + i]!
  return packet
}

/** A piece of the CRYPTO stream: hello[offset, offset + length) */
export interface Piece { offset: number, length: number }

/**
 * The hello's CRYPTO stream as Initial datagrams: `datagrams[i]` lists the pieces carried by datagram i
 * (one Initial packet each, packet numbers 0, 1, 2, ... in order), padded to 1200 bytes.
 */
export function helloDatagrams (hello: Uint8Array, datagrams: Piece[][], version = V1, dcid: Uint8Array = TEST_DCID): Buffer[] {
  return datagrams.map((pieces, i) => protectInitial({
    version,
    dcid,
    pn: i,
    pnLen: 2,
    frames: pieces.length === 0
      ? Buffer.from([0x01]) // PING: a packet must carry a frame
      : Buffer.concat(pieces.map((p) => cryptoFrame(p.offset, hello.subarray(p.offset, p.offset + p.length)))),
  }))
}
