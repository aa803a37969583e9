/**
 * Test certificates: throwaway self-signed certs from src/demo/cert.ts, cached per name list so a test
 * file that needs the same names many times pays for one P-256 key generation.
 *
 * Contract: `getTestCert(names)` returns the same SelfSignedCert for the same names (in the same order)
 * within one worker/process; `freshTestCert(names, opts)` always generates a new one (use it when the
 * test changes validity dates or needs distinct keys).
 */
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
