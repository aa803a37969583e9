/**
 * Client Initial packet protection: key derivation, header-protection masks and AEAD open — the only
 * module of quic/ that touches node:crypto (the parsing around it stays pure).
 *
 * Contract:
 *  - `deriveInitialKeys(version, dcid)` derives the client's Initial key, IV and header-protection
 *    key from the Destination Connection ID of the client's first Initial (RFC 9001 §5.2; RFC 9369
 *    §3.3 for v2's salt and labels). No secret is involved: anyone on the path can do the same, which
 *    is what lets a keyless edge read the ClientHello.
 *  - `headerMask(keys, sample, at, mask)` writes the 5 mask bytes of RFC 9001 §5.4.3 (AES-128-ECB of
 *    the 16-byte sample) into `mask`.
 *  - `openPayload(keys, pn, aad, ciphertext, tag)` returns the plaintext, or null when the tag does not
 *    verify (RFC 9001 §5.3: AEAD_AES_128_GCM, nonce = IV XOR packet number, AAD = the unprotected
 *    header). Never throws for peer input: a failed open is a status, caught here and nowhere else.
 *
 * Limits: one ECB cipher object per flow (the mask of each packet reuses it); an open allocates its
 * decipher and plaintext (node:crypto has no in-place GCM), which the Initial path (a few packets per
 * flow) can afford. HKDF-Expand is written out with HMAC because node:crypto's hkdf always extracts
 * first, and QUIC expands from an already-extracted secret (RFC 5869 §2.3, one block since L ≤ 32).
 * HMAC itself is RFC 2104 over two one-shot `crypto.hash` calls, not `createHmac`: creating an Hmac
 * object costs ~13 µs on the 2-CPU dev box against ~3 µs for the two hashes, and a flow needs five
 * (bench/micro/quic-initial.bench.ts measures the whole flow).
 */
import { createCipheriv, createDecipheriv, hash, type Cipheriv } from 'node:crypto'
import {
  AEAD_IV_LEN, AEAD_KEY_LEN, AEAD_TAG_LEN, HP_SAMPLE_LEN, QUIC_V1, QUIC_V2, V1_INITIAL_SALT, V2_INITIAL_SALT,
} from './constants.ts'

/** SHA-256 output: the size of every intermediate secret — RFC 9001 §5.2 */
const SECRET_LEN = 32
/** SHA-256 block size: HMAC pads its key to it — RFC 2104 §2 (B = 64) */
const SHA256_BLOCK = 64
/** longest HMAC message here: an HkdfLabel for "tls13 quicv2 key" plus T(1)'s counter byte */
const MAX_HMAC_MESSAGE = 64
/** scratch: (K ⊕ ipad) ‖ message, and (K ⊕ opad) ‖ inner hash */
const inner = Buffer.alloc(SHA256_BLOCK + MAX_HMAC_MESSAGE)
const outer = Buffer.alloc(SHA256_BLOCK + SECRET_LEN)

/**
 * HMAC-SHA256(key, message) — RFC 2104: H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)). Keys here are the 20-byte salts
 * and 32-byte secrets (≤ B, so no key hashing); messages are ≤ MAX_HMAC_MESSAGE (a DCID ≤ 20, a label ≤ 27).
 */
function hmacSha256 (key: Uint8Array, message: Uint8Array): Buffer {
  for (let i = 0; i < SHA256_BLOCK; i++) {
    const k = i < key.length ? key[i]! : 0
    inner[i] = k ^ 0x36
    outer[i] = k ^ 0x5c
  }
  inner.set(message, SHA256_BLOCK)
  hash('sha256', inner.subarray(0, SHA256_BLOCK + message.length), 'buffer').copy(outer, SHA256_BLOCK)
  return hash('sha256', outer, 'buffer')
}

/** Client Initial keys of one connection (fixed shape). */
export class InitialKeys {
  /** the QUIC version these keys belong to */
  readonly version: number
  /** AEAD_AES_128_GCM key */
  readonly key: Buffer
  /** AEAD IV (XORed with the packet number to make the nonce) */
  readonly iv: Buffer
  /** header-protection key */
  readonly hp: Buffer
  /** AES-128-ECB with `hp`, no padding: one 16-byte block in, one out, reused for every packet */
  readonly hpCipher: Cipheriv
  /** scratch nonce (IV XOR packet number) */
  readonly nonce: Buffer

  constructor (version: number, key: Buffer, iv: Buffer, hp: Buffer) {
    this.version = version
    this.key = key
    this.iv = iv
    this.hp = hp
    this.hpCipher = createCipheriv('aes-128-ecb', hp, null).setAutoPadding(false)
    this.nonce = Buffer.alloc(AEAD_IV_LEN)
  }
}

/** HKDF-Expand-Label(secret, label, "", length) — RFC 8446 §7.1, RFC 9001 §5.1 (length ≤ 32: one HMAC block) */
function expandLabel (secret: Uint8Array, label: string, length: number): Buffer {
  const full = 'tls13 ' + label
  // struct { uint16 length; opaque label<7..255>; opaque context<0..255>; } HkdfLabel; then T(1)'s 0x01
  const info = Buffer.alloc(2 + 1 + full.length + 1 + 1)
  info.writeUInt16BE(length, 0)
  info[2] = full.length
  info.write(full, 3, 'latin1')
  info[3 + full.length] = 0 // empty context
  info[4 + full.length] = 1 // RFC 5869 §2.3: T(1) = HMAC-Hash(PRK, T(0) | info | 0x01)
  return hmacSha256(secret, info).subarray(0, length)
}

/**
 * Derive the client Initial keys for `version` from the client's original Destination Connection ID.
 * Returns null for a version whose salt we do not know.
 */
export function deriveInitialKeys (version: number, dcid: Uint8Array): InitialKeys | null {
  let salt: Uint8Array
  let prefix: string
  if (version === QUIC_V1) { // RFC 9001 §5.2, §5.1 labels "quic key" / "quic iv" / "quic hp"
    salt = V1_INITIAL_SALT
    prefix = 'quic '
  } else if (version === QUIC_V2) { // RFC 9369 §3.3.1 salt, §3.3.2 labels "quicv2 key" / "quicv2 iv" / "quicv2 hp"
    salt = V2_INITIAL_SALT
    prefix = 'quicv2 '
  } else {
    return null
  }
  // initial_secret = HKDF-Extract(initial_salt, client_dst_connection_id)
  const initial = hmacSha256(salt, dcid)
  // client_initial_secret = HKDF-Expand-Label(initial_secret, "client in", "", Hash.length) — same label in v2
  const client = expandLabel(initial, 'client in', SECRET_LEN)
  return new InitialKeys(
    version,
    expandLabel(client, prefix + 'key', AEAD_KEY_LEN),
    expandLabel(client, prefix + 'iv', AEAD_IV_LEN),
    expandLabel(client, prefix + 'hp', AEAD_KEY_LEN),
  )
}

/**
 * RFC 9001 §5.4.3: mask = AES-ECB(hp_key, sample); writes mask[0..4] (byte 0's bits + up to 4 packet
 * number bytes). The caller has checked that buf[at, at + 16) exists.
 */
export function headerMask (keys: InitialKeys, buf: Uint8Array, at: number, mask: Uint8Array): void {
  const block = keys.hpCipher.update(buf.subarray(at, at + HP_SAMPLE_LEN))
  mask.set(block.subarray(0, 5))
}

const TWO_POW_32 = 4294967296

/**
 * RFC 9001 §5.3: open an Initial payload. nonce = iv XOR (packet number, left-padded to 12 bytes);
 * `aad` is the header with protection removed, up to and including the packet number. Returns the
 * plaintext, or null when authentication fails.
 */
export function openPayload (keys: InitialKeys, pn: number, aad: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array): Buffer | null {
  if (tag.length !== AEAD_TAG_LEN) return null
  const nonce = keys.nonce
  keys.iv.copy(nonce)
  const hi = Math.floor(pn / TWO_POW_32)
  const lo = pn >>> 0
  nonce.writeUInt32BE((nonce.readUInt32BE(4) ^ hi) >>> 0, 4)
  nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ lo) >>> 0, 8)
  const d = createDecipheriv('aes-128-gcm', keys.key, nonce, { authTagLength: AEAD_TAG_LEN })
  d.setAAD(aad)
  d.setAuthTag(tag)
  const first = d.update(ciphertext)
  try {
    const last = d.final() // throws when the tag does not verify
    return last.length === 0 ? first : Buffer.concat([first, last])
  } catch {
    return null
  }
}
