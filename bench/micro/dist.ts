/**
 * The code under benchmark, loaded from the BUILT output in dist/ (what `node dist/cli.js` runs), not
 * from src/: the microbenchmarks measure what ships.
 *
 * Contract: `loadDist()` imports dist/hello/index.js, dist/quic/index.js, dist/routes/index.js, dist/routes/reference.js,
 * dist/access/index.js and dist/fingerprint/index.js and returns them typed as their src/ counterparts (types only are taken from src/, so typechecking
 * bench/ does not need a build). Throws with "run npm run build" when dist/ is missing.
 *
 * Limits: a dist/ older than src/ is not detected here; `npm run bench` builds first.
 */
import { existsSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { REPO_ROOT } from '../lib/results.ts'
import type * as HelloModule from '../../src/hello/index.ts'
import type * as QuicModule from '../../src/quic/index.ts'
import type * as RoutesModule from '../../src/routes/index.ts'
import type * as ReferenceModule from '../../src/routes/reference.ts'
import type * as AccessModule from '../../src/access/index.ts'
import type * as FingerprintModule from '../../src/fingerprint/index.ts'
import type * as ProxyprotoModule from '../../src/proxyproto/index.ts'

export const DIST_DIR = path.join(REPO_ROOT, 'dist')

export interface Dist {
  hello: typeof HelloModule
  quic: typeof QuicModule
  routes: typeof RoutesModule
  reference: typeof ReferenceModule
  access: typeof AccessModule
  fingerprint: typeof FingerprintModule
  proxyproto: typeof ProxyprotoModule
}

async function importDist (rel: string): Promise<unknown> {
  const file = path.join(DIST_DIR, rel)
  if (!existsSync(file)) throw new Error(`${file} not found: run \`npm run build\` first (npm run bench does)`)
  return await import(pathToFileURL(file).href)
}

export async function loadDist (): Promise<Dist> {
  const [hello, quic, routes, reference, access, fingerprint, proxyproto] = await Promise.all([
    importDist('hello/index.js'), importDist('quic/index.js'), importDist('routes/index.js'), importDist('routes/reference.js'),
    importDist('access/index.js'), importDist('fingerprint/index.js'), importDist('proxyproto/index.js'),
  ])
  return {
    hello: hello as typeof HelloModule,
    quic: quic as typeof QuicModule,
    routes: routes as typeof RoutesModule,
    reference: reference as typeof ReferenceModule,
    access: access as typeof AccessModule,
    fingerprint: fingerprint as typeof FingerprintModule,
    proxyproto: proxyproto as typeof ProxyprotoModule,
  }
}
