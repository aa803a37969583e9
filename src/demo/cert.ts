/**
 * Throwaway self-signed X.509 v3 certificates with nothing beyond node:crypto: a minimal DER writer
 * (ITU-T X.690) for the RFC 5280 structures, an ECDSA P-256 key, and crypto.sign over the TBS bytes.
 *
 * Contract: `generateSelfSignedCert({ names })` returns PEM `cert` and PKCS#8 PEM `key` for a leaf
 * certificate that
 *  - names every entry of `names` in subjectAltName (dNSName, or iPAddress for IP literals; `*.x` allowed)
 *    and the first one as the subject CN,
 *  - is valid from now-1h (clock skew) to now+7d, with a random positive 127-bit serial,
 *  - is marked an end-entity (basicConstraints cA=FALSE, extKeyUsage serverAuth), so verifiers that refuse
 *    CA certificates as server certificates (webpki, rustls) accept it when it is trusted directly,
 *  - is its own issuer (subject = issuer, AKI = SKI), so `tls.connect({ ca: cert })` and
 *    `curl --cacert cert.pem` verify it as a trust anchor.
 *
 * Limits: demo and test use only (7-day validity, no revocation info, no CA). Names must be ASCII (convert
 * IDNs with url.domainToASCII first). Generation costs one P-256 key pair + one signature (~1 ms).
 */
import { createHash, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { isIP } from 'node:net'

/** ms. notBefore is backdated so a client whose clock runs a little behind still accepts the cert. */
const BACKDATE_MS = 60 * 60 * 1000
/** ms. Default lifetime: long enough for a demo or a test run, short enough that a leaked key soon expires. */
const DEFAULT_VALIDITY_MS = 7 * 24 * 60 * 60 * 1000
/** bytes of serial number entropy. RFC 5280 §4.1.2.2: positive, at most 20 octets; CA/B forum asks ≥ 64 bits. */
const SERIAL_BYTES = 16
/** RFC 1035 §2.3.4: 253 characters in presentation form */
const MAX_NAME_CHARS = 253

// ---- DER (X.690 §8, DER restrictions §10) -------------------------------------------------------

const TAG_BOOLEAN = 0x01
const TAG_INTEGER = 0x02
const TAG_BIT_STRING = 0x03
const TAG_OCTET_STRING = 0x04
const TAG_OID = 0x06
const TAG_UTF8_STRING = 0x0c
const TAG_UTC_TIME = 0x17
const TAG_GENERALIZED_TIME = 0x18
const TAG_SEQUENCE = 0x30 // constructed
const TAG_SET = 0x31 // constructed
const TAG_CTX_0_CONSTRUCTED = 0xa0 // [0] EXPLICIT
const TAG_CTX_3_CONSTRUCTED = 0xa3 // [3] EXPLICIT
const TAG_CTX_0_PRIMITIVE = 0x80 // [0] IMPLICIT OCTET STRING (AuthorityKeyIdentifier.keyIdentifier)
const TAG_GN_DNS_NAME = 0x82 // GeneralName [2] IMPLICIT IA5String
const TAG_GN_IP_ADDRESS = 0x87 // GeneralName [7] IMPLICIT OCTET STRING

const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2' // RFC 5758 §3.2: parameters MUST be absent
const OID_COMMON_NAME = '2.5.4.3'
const OID_ORGANIZATION = '2.5.4.10'
const OID_SUBJECT_KEY_ID = '2.5.29.14'
const OID_SUBJECT_ALT_NAME = '2.5.29.17'
const OID_BASIC_CONSTRAINTS = '2.5.29.19'
const OID_AUTHORITY_KEY_ID = '2.5.29.35'
const OID_EXT_KEY_USAGE = '2.5.29.37'
const OID_KP_SERVER_AUTH = '1.3.6.1.5.5.7.3.1'

/** X.690 §8.1.3: short form below 128, else 0x80|n followed by n big-endian length bytes. */
function encodeLength (n: number): Buffer {
  if (n < 0x80) return Buffer.from([n])
  const bytes: number[] = []
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff)
  return Buffer.from([0x80 | bytes.length, ...bytes])
}

function tlv (tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content)
  return Buffer.concat([Buffer.from([tag]), encodeLength(body.length), body])
}

const seq = (...items: Buffer[]): Buffer => tlv(TAG_SEQUENCE, ...items)

/** X.690 §8.19: first two arcs as 40*a+b, then base-128 with the high bit set on all but the last byte. */
function oid (dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number)
  const out: number[] = []
  const first = (arcs[0] ?? 0) * 40 + (arcs[1] ?? 0)
  for (const arc of [first, ...arcs.slice(2)]) {
    const group = [arc & 0x7f]
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) group.unshift((v & 0x7f) | 0x80)
    out.push(...group)
  }
  return tlv(TAG_OID, Buffer.from(out))
}

/** X.690 §8.3: two's complement, minimal; the caller passes a non-negative magnitude. */
function integer (magnitude: Buffer): Buffer {
  let i = 0
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++
  const trimmed = magnitude.subarray(i)
  const needsPad = ((trimmed[0] ?? 0) & 0x80) !== 0
  return tlv(TAG_INTEGER, needsPad ? Buffer.from([0]) : Buffer.alloc(0), trimmed)
}

/** X.690 §8.6: leading byte = number of unused bits (always 0 here). */
const bitString = (bytes: Buffer): Buffer => tlv(TAG_BIT_STRING, Buffer.from([0]), bytes)
const octetString = (bytes: Buffer): Buffer => tlv(TAG_OCTET_STRING, bytes)
const utf8 = (s: string): Buffer => tlv(TAG_UTF8_STRING, Buffer.from(s, 'utf8'))

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; always Z, seconds, no fraction. */
function time (d: Date): Buffer {
  const iso = d.toISOString() // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '') // YYYYMMDDHHMMSS
  const year = d.getUTCFullYear()
  return year >= 1950 && year < 2050
    ? tlv(TAG_UTC_TIME, Buffer.from(digits.slice(2) + 'Z', 'ascii'))
    : tlv(TAG_GENERALIZED_TIME, Buffer.from(digits + 'Z', 'ascii'))
}

/** RFC 5280 §4.1.2.4 Name: SEQUENCE OF RDN (SET OF AttributeTypeAndValue), one attribute per RDN. */
function name (attrs: ReadonlyArray<readonly [string, string]>): Buffer {
  return seq(...attrs.map(([type, value]) => tlv(TAG_SET, seq(oid(type), utf8(value)))))
}

/** RFC 5280 §4.1: Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } */
function extension (id: string, critical: boolean, value: Buffer): Buffer {
  // DER (X.690 §11.5): a DEFAULT value is omitted, so critical appears only when TRUE
  return seq(oid(id), critical ? tlv(TAG_BOOLEAN, Buffer.from([0xff])) : Buffer.alloc(0), octetString(value))
}

/** RFC 5280 §4.2.1.6 GeneralNames for subjectAltName. */
function generalNames (names: readonly string[]): Buffer {
  return seq(...names.map((n) => {
    const family = isIP(n)
    if (family === 4) return tlv(TAG_GN_IP_ADDRESS, Buffer.from(n.split('.').map(Number)))
    if (family === 6) return tlv(TAG_GN_IP_ADDRESS, ipv6Bytes(n))
    return tlv(TAG_GN_DNS_NAME, Buffer.from(n, 'ascii'))
  }))
}

/** 16 bytes of an IPv6 literal (`::` expanded; an embedded dotted IPv4 tail supported). */
function ipv6Bytes (addr: string): Buffer {
  let text = addr
  const tail: number[] = []
  const lastColon = text.lastIndexOf(':')
  if (text.slice(lastColon + 1).includes('.')) {
    tail.push(...text.slice(lastColon + 1).split('.').map(Number))
    text = text.slice(0, lastColon + 1) + '0:0'
  }
  const [head = '', rest] = text.split('::')
  const headGroups = head === '' ? [] : head.split(':')
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':')
  const zeros = rest === undefined ? 0 : 8 - headGroups.length - restGroups.length
  const groups = [...headGroups, ...Array<string>(zeros).fill('0'), ...restGroups]
  const out = Buffer.alloc(16)
  groups.forEach((g, i) => { out.writeUInt16BE(parseInt(g, 16), i * 2) })
  if (tail.length === 4) Buffer.from(tail).copy(out, 12)
  return out
}

// ---- certificate -------------------------------------------------------------------------------

export interface SelfSignedCertOptions {
  /** subjectAltName entries (DNS names, `*.` wildcards, IP literals); the first is also the CN. Non-empty. */
  names: readonly string[]
  /** subject O attribute (default 'hellogate demo') */
  organization?: string
  /** notBefore (default now - 1h) */
  notBefore?: Date
  /** notAfter (default now + 7d) */
  notAfter?: Date
}

export interface SelfSignedCert {
  /** PEM certificate */
  cert: string
  /** PEM PKCS#8 private key (P-256) */
  key: string
  /** `AA:BB:…` SHA-256 of the DER certificate, as X509Certificate#fingerprint256 and openssl print it */
  fingerprint256: string
  /** the names it was issued for */
  names: readonly string[]
}

function checkNames (names: readonly string[]): void {
  if (names.length === 0) throw new TypeError('generateSelfSignedCert: names must not be empty')
  for (const n of names) {
    if (isIP(n) !== 0) continue
    if (n.length === 0 || n.length > MAX_NAME_CHARS || !/^(\*\.)?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(n)) {
      throw new TypeError(`generateSelfSignedCert: '${n}' is not an ASCII DNS name, wildcard or IP literal`)
    }
  }
}

function toPem (label: string, der: Buffer): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`
}

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value (the EC point). */
function keyIdentifier (publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' })
  const point = Buffer.concat([Buffer.from([0x04]), Buffer.from(jwk.x ?? '', 'base64url'), Buffer.from(jwk.y ?? '', 'base64url')])
  return createHash('sha1').update(point).digest()
}

/** Generate a P-256 key and a self-signed end-entity certificate for `names` (see module header). */
export function generateSelfSignedCert (opts: SelfSignedCertOptions): SelfSignedCert {
  checkNames(opts.names)
  const now = Date.now()
  const notBefore = opts.notBefore ?? new Date(now - BACKDATE_MS)
  const notAfter = opts.notAfter ?? new Date(now + DEFAULT_VALIDITY_MS)
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })

  const serial = randomBytes(SERIAL_BYTES)
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x01 // positive (RFC 5280 §4.1.2.2) and exactly SERIAL_BYTES long
  const subject = name([[OID_ORGANIZATION, opts.organization ?? 'hellogate demo'], [OID_COMMON_NAME, opts.names[0] ?? '']])
  const sigAlg = seq(oid(OID_ECDSA_WITH_SHA256))
  const keyId = keyIdentifier(publicKey)

  const extensions = [
    // RFC 5280 §4.2.1.6: SAN; the subject is non-empty, so the extension is not critical
    extension(OID_SUBJECT_ALT_NAME, false, generalNames(opts.names)),
    // RFC 5280 §4.2.1.9: cA defaults to FALSE, so the SEQUENCE is empty in DER
    extension(OID_BASIC_CONSTRAINTS, true, seq()),
    // RFC 5280 §4.2.1.12: id-kp-serverAuth
    extension(OID_EXT_KEY_USAGE, false, seq(oid(OID_KP_SERVER_AUTH))),
    // RFC 5280 §4.2.1.2 / §4.2.1.1: self-signed, so the authority key id equals the subject key id
    extension(OID_SUBJECT_KEY_ID, false, octetString(keyId)),
    extension(OID_AUTHORITY_KEY_ID, false, seq(tlv(TAG_CTX_0_PRIMITIVE, keyId))),
  ]

  // RFC 5280 §4.1.2: TBSCertificate
  const tbs = seq(
    tlv(TAG_CTX_0_CONSTRUCTED, integer(Buffer.from([2]))), // version v3 (value 2)
    integer(serial),
    sigAlg,
    subject, // issuer = subject: self-signed
    seq(time(notBefore), time(notAfter)),
    subject,
    publicKey.export({ type: 'spki', format: 'der' }), // SubjectPublicKeyInfo, already DER
    tlv(TAG_CTX_3_CONSTRUCTED, seq(...extensions)),
  )
  // crypto.sign with an EC key yields the DER Ecdsa-Sig-Value that RFC 5758 §3.2 puts in the BIT STRING
  const signature = sign('sha256', tbs, privateKey)
  const der = seq(tbs, sigAlg, bitString(signature))

  const cert = toPem('CERTIFICATE', der)
  return {
    cert,
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    fingerprint256: new X509Certificate(der).fingerprint256,
    names: Object.freeze([...opts.names]),
  }
}
