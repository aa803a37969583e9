/**
 * generateSelfSignedCert: the DER parses (node:crypto X509Certificate, and openssl when present), carries
 * the SAN/CN/validity/serial it promises, and verifies in a real TLS handshake against itself as CA.
 */
import { execFileSync } from 'node:child_process'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import tls from 'node:tls'
import { describe, expect, it } from 'vitest'

import { freshTestCert, getTestCert } from '../../helpers/certs.ts'
import type { SelfSignedCert } from '../../helpers/certs.ts'
import { haveTool } from '../../helpers/tools.ts'

const NAMES = ['alpha.test', '*.beta.test', '127.0.0.1', '::1']

/**
 * TLS server with `server`'s cert; client trusts `ca`. Resolves with the client's verification result
 * (tls.connect checks the chain and then the name via checkServerIdentity; either failure clears authorized).
 */
async function handshake (server: SelfSignedCert, ca: string, servername: string): Promise<{ authorized: boolean, error: string | null, fingerprint: string }> {
  const srv = tls.createServer({ cert: server.cert, key: server.key }, (s) => { s.end('ok') })
  srv.listen(0, '127.0.0.1')
  await once(srv, 'listening')
  try {
    const port = (srv.address() as AddressInfo).port
    const client = tls.connect({ host: '127.0.0.1', port, servername, ca, rejectUnauthorized: false })
    await once(client, 'secureConnect')
    const result = {
      authorized: client.authorized,
      error: client.authorizationError === null ? null : String(client.authorizationError),
      fingerprint: client.getPeerX509Certificate()?.fingerprint256 ?? '',
    }
    client.destroy()
    return result
  } finally {
    srv.close()
  }
}

describe('generateSelfSignedCert', () => {
  it('parses with X509Certificate and carries the SAN, CN, validity and serial', () => {
    const before = Date.now()
    const c = freshTestCert(NAMES)
    const x = new X509Certificate(c.cert)
    expect(x.subject).toContain('CN=alpha.test')
    expect(x.issuer).toBe(x.subject)
    expect(x.subjectAltName).toBe('DNS:alpha.test, DNS:*.beta.test, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1')
    expect(x.ca).toBe(false)
    expect(x.checkIssued(x)).toBe(true)
    expect(x.verify(x.publicKey)).toBe(true)
    expect(x.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1')
    expect(x.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1'])
    const from = new Date(x.validFrom).getTime()
    const to = new Date(x.validTo).getTime()
    // now-1h .. now+7d, to the second
    expect(Math.abs(from - (before - 3_600_000))).toBeLessThan(5_000)
    expect(Math.abs(to - (before + 7 * 86_400_000))).toBeLessThan(5_000)
    expect(x.serialNumber).toMatch(/^[0-7][0-9A-F]{31}$/)
    expect(x.fingerprint256).toBe(c.fingerprint256)
    expect(x.checkHost('alpha.test')).toBe('alpha.test')
    expect(x.checkHost('www.beta.test')).toBe('*.beta.test')
    expect(x.checkHost('beta.test')).toBeUndefined()
    expect(x.checkIP('127.0.0.1')).toBe('127.0.0.1')
    expect(c.key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/)
    expect(x.checkPrivateKey(createPrivateKey(c.key))).toBe(true)
  })

  it('serials and keys differ between calls; getTestCert caches', () => {
    const a = freshTestCert(['a.test'])
    const b = freshTestCert(['a.test'])
    expect(new X509Certificate(a.cert).serialNumber).not.toBe(new X509Certificate(b.cert).serialNumber)
    expect(a.key).not.toBe(b.key)
    expect(getTestCert(['c.test'])).toBe(getTestCert(['c.test']))
  })

  it('encodes dates from 2050 on as GeneralizedTime (RFC 5280 §4.1.2.5)', () => {
    const c = freshTestCert(['far.test'], { notBefore: new Date('2049-12-31T23:59:59Z'), notAfter: new Date('2051-06-01T12:00:00Z') })
    const x = new X509Certificate(c.cert)
    expect(new Date(x.validFrom).toISOString()).toBe('2049-12-31T23:59:59.000Z')
    expect(new Date(x.validTo).toISOString()).toBe('2051-06-01T12:00:00.000Z')
  })

  it('handles long SANs (multi-byte DER lengths)', () => {
    const names = Array.from({ length: 40 }, (_, i) => `host-${i}.${'x'.repeat(50)}.test`)
    const x = new X509Certificate(freshTestCert(names).cert)
    expect(x.subjectAltName?.split(', ')).toHaveLength(40)
  })

  it.each([[[]], [['bad name']], [['ü.test']], [['a..b']], [['']]])('rejects names %j', (names) => {
    expect(() => freshTestCert(names)).toThrow(TypeError)
  })
})

describe('real TLS handshakes', () => {
  it('verifies against itself as CA for every SAN name', async () => {
    const c = getTestCert(NAMES)
    for (const name of ['alpha.test', 'www.beta.test']) {
      const r = await handshake(c, c.cert, name)
      expect(r).toEqual({ authorized: true, error: null, fingerprint: c.fingerprint256 })
    }
  })

  it('fails for a name it does not carry, and under a different trust anchor', async () => {
    const c = getTestCert(NAMES)
    const wrongName = await handshake(c, c.cert, 'gamma.test')
    expect(wrongName.authorized).toBe(false)
    expect(wrongName.error).toBe('ERR_TLS_CERT_ALTNAME_INVALID')
    const other = getTestCert(['other.test'])
    const wrongCa = await handshake(c, other.cert, 'alpha.test')
    expect(wrongCa.authorized).toBe(false)
    expect(wrongCa.error).toBe('DEPTH_ZERO_SELF_SIGNED_CERT')
  })

  it('an expired cert is refused', async () => {
    const c = freshTestCert(['old.test'], { notBefore: new Date(Date.now() - 10 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) })
    const r = await handshake(c, c.cert, 'old.test')
    expect(r.authorized).toBe(false)
    expect(r.error).toBe('CERT_HAS_EXPIRED')
  })
})

describe.skipIf(!haveTool('openssl', ['version'], 'cert.test.ts: openssl agrees'))('openssl agrees', () => {
  it('openssl x509 parses it and openssl verify accepts it as its own CA (strict mode)', () => {
    const c = getTestCert(NAMES)
    const dir = mkdtempSync(join(tmpdir(), 'hellogate-cert-test-'))
    try {
      const file = join(dir, 'c.pem')
      writeFileSync(file, c.cert)
      const text = execFileSync('openssl', ['x509', '-in', file, '-noout', '-text', '-fingerprint', '-sha256'], { encoding: 'utf8' })
      expect(text).toContain('Version: 3 (0x2)')
      expect(text).toContain('ecdsa-with-SHA256')
      expect(text).toContain('DNS:alpha.test, DNS:*.beta.test, IP Address:127.0.0.1')
      expect(text).toContain('CA:FALSE')
      expect(text).toContain(`Fingerprint=${c.fingerprint256}`)
      const verify = execFileSync('openssl', ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', file, file], { encoding: 'utf8' })
      expect(verify.trim()).toBe(`${file}: OK`)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
