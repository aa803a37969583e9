/**
 * Initial keys (src/quic/keys.ts) against RFC 9001 A.1 and RFC 9369 A.1, and the AEAD open failing for
 * the wrong version's keys.
 */
import { describe, expect, it } from 'vitest'
import { deriveInitialKeys, QUIC_V1, QUIC_V2 } from '../../../src/quic/index.ts'
import { openPayload } from '../../../src/quic/keys.ts'
import { RFC9001, RFC9369, VECTOR_DCID, VECTOR_PN, type VersionVectors } from '../../helpers/quic-vectors.ts'

describe.each([
  ['v1 (RFC 9001 A.1)', QUIC_V1, RFC9001],
  ['v2 (RFC 9369 A.1)', QUIC_V2, RFC9369],
] as [string, number, VersionVectors][])('Initial keys %s', (_name, version, v) => {
  it('derives the published client key, iv and hp from DCID 0x8394c8f03e515708', () => {
    const k = deriveInitialKeys(version, VECTOR_DCID)
    expect(k).not.toBeNull()
    expect(k!.key.toString('hex')).toBe(v.key.toString('hex'))
    expect(k!.iv.toString('hex')).toBe(v.iv.toString('hex'))
    expect(k!.hp.toString('hex')).toBe(v.hp.toString('hex'))
    expect(k!.version).toBe(version)
  })
})

describe('Initial keys: versions', () => {
  it('an unknown version has no keys (its salt is unknown)', () => {
    expect(deriveInitialKeys(0xff00001d, VECTOR_DCID)).toBeNull()
    expect(deriveInitialKeys(0, VECTOR_DCID)).toBeNull()
  })

  it('the v1 A.2 packet opens with v1 keys and not with v2 keys (the wrong version\'s salt)', () => {
    const pkt = RFC9001.packet
    const hdr = RFC9001.unprotectedHeader // header protection already removed (A.2 gives it)
    const ct = pkt.subarray(hdr.length, pkt.length - 16)
    const tag = pkt.subarray(pkt.length - 16)
    expect(openPayload(deriveInitialKeys(QUIC_V1, VECTOR_DCID)!, VECTOR_PN, hdr, ct, tag)).not.toBeNull()
    expect(openPayload(deriveInitialKeys(QUIC_V2, VECTOR_DCID)!, VECTOR_PN, hdr, ct, tag)).toBeNull()
  })
})
