/**
 * Test certificates: throwaway self-signed certs from src/demo/cert.ts, cached per name list so a test
 * file that needs the same names many times pays for one P-256 key generation.
 *
 * Contract: `getTestCert(names)` returns the same SelfSignedCert for the same names (in the same order)
 * within one worker/process; `freshTestCert(names, opts)` always generates a new one (use it when the
 * test changes validity dates or needs distinct keys); `issueTestPki(dir)` writes a CA-signed server and
 * client certificate (openssl) for servers that check a chain and a client certificate (etcd).
 */
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'

import { generateSelfSignedCert } from '../../src/demo/cert.ts'
import type { SelfSignedCert, SelfSignedCertOptions } from '../../src/demo/cert.ts'

export type { SelfSignedCert } from '../../src/demo/cert.ts'
export { generateSelfSignedCert }

const cache = new Map<string, SelfSignedCert>()

/** Cached self-signed cert (PEM cert + PKCS#8 key) for `names` (first name = CN). */
export function getTestCert (names: readonly string[]): SelfSignedCert {
  const k = names.join('\n')
  let c = cache.get(k)
  if (c === undefined) {
    c = generateSelfSignedCert({ names })
    cache.set(k, c)
  }
  return c
}

/** Uncached: a new key and certificate every call. */
export function freshTestCert (names: readonly string[], opts: Omit<SelfSignedCertOptions, 'names'> = {}): SelfSignedCert {
  return generateSelfSignedCert({ ...opts, names })
}

/** PEM files of a test PKI (issueTestPki): paths, all in one directory. */
export interface TestPki {
  /** the CA that signed `server` and `client` */
  readonly ca: string
  /** a CA unrelated to the others: a client that trusts only it does not trust `server` */
  readonly otherCa: string
  /** server certificate, subjectAltName IP:127.0.0.1, extKeyUsage serverAuth; and its key */
  readonly server: { readonly cert: string, readonly key: string }
  /** client certificate (CN=hellogate), extKeyUsage clientAuth; and its key */
  readonly client: { readonly cert: string, readonly key: string }
}

/** days a test PKI is valid: one test run, with a day's slack for clock skew */
const PKI_DAYS = '2'

/**
 * A CA-signed server and client certificate (and a second, unrelated CA) written as PEM files into
 * `dir`, made with the `openssl` CLI (3.0+: `req -x509 -CA`): generateSelfSignedCert above makes only
 * self-signed serverAuth leaves, and etcd (Go's crypto/tls) wants a chain to --trusted-ca-file and
 * extKeyUsage clientAuth on a client certificate. Check `haveTool('openssl', …)` first.
 */
export function issueTestPki (dir: string): TestPki {
  const at = (name: string): string => join(dir, name)
  const openssl = (...args: string[]): void => { execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] }) }
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', PKI_DAYS]
  for (const ca of ['ca', 'other-ca']) {
    openssl('req', '-x509', ...newKey, '-subj', `/CN=hellogate test ${ca}`, '-keyout', at(ca + '-key.pem'), '-out', at(ca + '.pem'))
  }
  const leaf = (name: string, cn: string, ext: readonly string[]): { cert: string, key: string } => {
    openssl('req', '-x509', ...newKey, '-subj', `/CN=${cn}`, '-CA', at('ca.pem'), '-CAkey', at('ca-key.pem'), '-config', '/dev/null',
      ...['basicConstraints=CA:FALSE', ...ext].flatMap((e) => ['-addext', e]), '-keyout', at(name + '-key.pem'), '-out', at(name + '.pem'))
    return { cert: at(name + '.pem'), key: at(name + '-key.pem') }
  }
  return {
    ca: at('ca.pem'),
    otherCa: at('other-ca.pem'),
    server: leaf('server', '127.0.0.1', ['subjectAltName=IP:127.0.0.1', 'extendedKeyUsage=serverAuth']),
    client: leaf('client', 'hellogate', ['extendedKeyUsage=clientAuth']),
  }
}
