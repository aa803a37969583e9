/**
 * demo/ — `hellogate demo` (`npm start`): two local TLS origins with their own throwaway certificates,
 * hellogate in front of them, and copy-paste commands that show each origin's certificate and response
 * arriving through the proxy (which never holds a key).
 *
 * Contract:
 *  - `startDemo({ logger })` starts origin alpha (alpha.demo.hellogate.test) and origin beta
 *    (beta.demo.hellogate.test, *.beta.demo.hellogate.test) on 127.0.0.1 port 0, writes their certs to a
 *    fresh temp dir (for `curl --cacert`), then the proxy on 127.0.0.1:8443 with default: reject and
 *    2 workers. If 8443 is taken (and no port was asked for explicitly) it falls back to port 0 and the
 *    instructions name the real port. `close()` stops proxy, origins, and removes the temp dir.
 *  - `formatDemoInstructions(demo)` is the text the CLI prints.
 *  - Also exported for tests and benchmarks: `generateSelfSignedCert`, `startDemoOrigin(s)`, `demoConfig`.
 *
 * Limits: loopback only; the config goes through the same validator as a file (`file: '<demo>'`).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Logger } from 'pino'

import { parseConfig } from '../config/index.ts'
import type { HostPort, ProxyConfig } from '../config/index.ts'
import { ErrorCode, isProxyError } from '../errors.ts'
import { startProxy as realStartProxy } from '../pool/index.ts'
import type { ProxyHandle } from '../pool/index.ts'
import { DEMO_NAMES, startDemoOrigins } from './origins.ts'
import type { DemoOrigin, DemoOrigins } from './origins.ts'

export { generateSelfSignedCert } from './cert.ts'
export type { SelfSignedCert, SelfSignedCertOptions } from './cert.ts'
export { DEMO_DOMAIN, DEMO_NAMES, startDemoOrigin, startDemoOrigins } from './origins.ts'
export type { DemoOrigin, DemoOriginOptions, DemoOrigins } from './origins.ts'

/** the port the demo tries first; https-alt convention, unprivileged */
export const DEMO_PORT = 8443
/** loopback only: the demo must never be reachable from the network */
export const DEMO_HOST = '127.0.0.1'
/** two workers: enough to show the pool without loading a laptop */
export const DEMO_WORKERS = 2

/** What the demo needs from the pool (startProxy's handle satisfies it). */
export type DemoProxyHandle = Pick<ProxyHandle, 'addresses' | 'close'>
export type StartProxyFn = (config: ProxyConfig, logger: Logger) => Promise<DemoProxyHandle>

export interface DemoConfigOptions {
  /** proxy listen port (0 = any) */
  port: number
  alpha: HostPort
  beta: HostPort
  /** default DEMO_WORKERS */
  workers?: number
  /** serve the admin endpoint on DEMO_HOST, any free port (`hellogate demo` / `npm start` do) */
  admin?: boolean
}

/**
 * The demo's ProxyConfig, validated like a file. reuseport where Node supports it for net.Server
 * (Linux, FreeBSD), handoff elsewhere.
 */
export function demoConfig (opts: DemoConfigOptions): ProxyConfig {
  const hp = (a: HostPort): string => (a.host.includes(':') ? `[${a.host}]` : a.host) + ':' + String(a.port)
  const reusePortOk = process.platform === 'linux' || process.platform === 'freebsd'
  return parseConfig({
    listen: `${DEMO_HOST}:${opts.port}`,
    workers: opts.workers ?? DEMO_WORKERS,
    accept: reusePortOk ? 'reuseport' : 'handoff',
    routes: {
      [DEMO_NAMES.alpha]: hp(opts.alpha),
      [DEMO_NAMES.beta]: hp(opts.beta),
      [DEMO_NAMES.betaWildcard]: hp(opts.beta),
    },
    default: 'reject',
    timeouts: { shutdown: '2s' },
    log: { level: 'info', access: true },
    ...(opts.admin === true ? { admin: { listen: `${DEMO_HOST}:0` } } : {}),
  }, '<demo>')
}

/** true when nothing listens on host:port right now (a plain bind succeeds). */
export function isPortFree (host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer()
    probe.once('error', () => { resolve(false) })
    probe.listen({ host, port, exclusive: true }, () => { probe.close(() => { resolve(true) }) })
  })
}

function isAddressInUse (err: unknown): boolean {
  if (!isProxyError(err) || err.code !== ErrorCode.LISTEN) return false
  const cause = err.cause as NodeJS.ErrnoException | undefined
  return cause?.code === 'EADDRINUSE' || err.message.includes('EADDRINUSE')
}

export interface DemoOptions {
  logger: Logger
  /** proxy port; default DEMO_PORT with fallback to 0 when busy. An explicit port never falls back. */
  port?: number
  workers?: number
  /** put the admin endpoint in the config (127.0.0.1, any free port); whoever runs the demo starts it */
  admin?: boolean
  /** inject a proxy (tests); default pool/startProxy */
  startProxy?: StartProxyFn
}

export interface DemoHandle {
  readonly origins: DemoOrigins
  readonly proxy: DemoProxyHandle
  readonly config: ProxyConfig
  /** the proxy's bound port */
  readonly port: number
  /** true when DEMO_PORT was busy and a free port was used instead */
  readonly fellBack: boolean
  /** temp dir holding alpha.pem and beta.pem */
  readonly certDir: string
  readonly certFiles: { readonly alpha: string, readonly beta: string }
  close (): Promise<void>
}

/** Start origins, write their certs, start the proxy. See module header. */
export async function startDemo (opts: DemoOptions): Promise<DemoHandle> {
  const start = opts.startProxy ?? realStartProxy
  const origins = await startDemoOrigins({ host: DEMO_HOST })
  let certDir: string | undefined
  try {
    certDir = await mkdtemp(join(tmpdir(), 'hellogate-demo-'))
    const certFiles = { alpha: join(certDir, 'alpha.pem'), beta: join(certDir, 'beta.pem') }
    await writeFile(certFiles.alpha, origins.alpha.cert.cert)
    await writeFile(certFiles.beta, origins.beta.cert.cert)

    const explicit = opts.port !== undefined
    let port = opts.port ?? DEMO_PORT
    let fellBack = false
    if (!explicit && !(await isPortFree(DEMO_HOST, port))) { port = 0; fellBack = true }
    const make = (p: number): ProxyConfig => demoConfig({
      port: p,
      alpha: { host: origins.alpha.host, port: origins.alpha.port },
      beta: { host: origins.beta.host, port: origins.beta.port },
      workers: opts.workers,
      admin: opts.admin,
    })
    let config = make(port)
    let proxy: DemoProxyHandle
    try {
      proxy = await start(config, opts.logger)
    } catch (err) {
      // lost a race for the port between the probe and the bind
      if (explicit || port === 0 || !isAddressInUse(err)) throw err
      config = make(0)
      fellBack = true
      proxy = await start(config, opts.logger)
    }
    const bound = proxy.addresses[0]?.port ?? port
    const dir = certDir
    return {
      origins,
      proxy,
      config,
      port: bound,
      fellBack,
      certDir: dir,
      certFiles,
      async close () {
        await proxy.close(config.timeouts.shutdownMs)
        await origins.close()
        await rm(dir, { recursive: true, force: true })
      },
    }
  } catch (err) {
    await origins.close()
    if (certDir !== undefined) await rm(certDir, { recursive: true, force: true })
    throw err
  }
}

function originLine (o: DemoOrigin): string {
  return `${o.host}:${o.port}`
}

/** The text `hellogate demo` prints: routes, origin fingerprints, and commands to try. */
export function formatDemoInstructions (demo: Pick<DemoHandle, 'origins' | 'port' | 'fellBack' | 'certFiles' | 'config'>, adminUrl: string | null = null): string {
  const { alpha, beta } = demo.origins
  const p = demo.port
  const a = DEMO_NAMES.alpha
  const www = `www.${DEMO_NAMES.beta}`
  const resolve = (n: string): string => `--resolve ${n}:${p}:${DEMO_HOST}`
  const lines = [
    `hellogate demo: proxy on ${DEMO_HOST}:${p} (${demo.config.workers} workers, accept ${demo.config.accept}); ` +
      'it routes on the ClientHello\'s SNI and never decrypts',
    ...(demo.fellBack ? [`(port ${DEMO_PORT} was busy, so the proxy took free port ${p})`] : []),
    '',
    'Routes (each origin holds its own self-signed certificate):',
    `  ${a}  ->  origin alpha at ${originLine(alpha)}`,
    `  ${DEMO_NAMES.beta}, ${DEMO_NAMES.betaWildcard}  ->  origin beta at ${originLine(beta)}`,
    '  anything else  ->  rejected (TLS alert unrecognized_name)',
    '',
    'Certificate SHA-256 fingerprints (compare with what arrives through the proxy):',
    `  alpha  ${alpha.cert.fingerprint256}`,
    `  beta   ${beta.cert.fingerprint256}`,
    '',
    'Try:',
    `  # origin alpha answers, and curl verifies alpha's own certificate (${demo.certFiles.alpha})`,
    `  curl --cacert ${demo.certFiles.alpha} ${resolve(a)} https://${a}:${p}/`,
    '  # the wildcard route reaches origin beta',
    `  curl --cacert ${demo.certFiles.beta} ${resolve(www)} https://${www}:${p}/`,
    '  # quick check without verification',
    `  curl -sk ${resolve(a)} https://${a}:${p}/`,
    '  # the handshake in detail: the server certificate is the origin\'s',
    `  curl -v --cacert ${demo.certFiles.alpha} ${resolve(a)} https://${a}:${p}/ 2>&1 | grep -E 'subject:|issuer:|SSL connection|hello from'`,
    '  # the certificate seen through the proxy: its fingerprint matches origin alpha\'s above',
    `  openssl s_client -connect ${DEMO_HOST}:${p} -servername ${a} </dev/null 2>/dev/null | openssl x509 -noout -subject -fingerprint -sha256`,
    `  openssl s_client -connect ${DEMO_HOST}:${p} -servername ${DEMO_NAMES.beta} </dev/null 2>/dev/null | openssl x509 -noout -subject -fingerprint -sha256`,
    '  # a name with no route is refused before any origin is contacted',
    `  openssl s_client -connect ${DEMO_HOST}:${p} -servername unknown.example </dev/null 2>&1 | grep -i alert`,
    '',
    ...(adminUrl === null
      ? []
      : [
          `Admin endpoint: ${adminUrl}  (no token: loopback only)`,
          `  npx hellogate top --admin ${adminUrl.slice('http://'.length)}      # live view`,
          `  npx hellogate status --admin ${adminUrl.slice('http://'.length)}`,
          `  curl -s ${adminUrl}/metrics | grep hellogate_route_connections_total`,
          '',
        ]),
    'Press Ctrl-C to stop.',
  ]
  return lines.join('\n') + '\n'
}
