/**
 * Real QUIC stacks for end-to-end tests: ngtcp2's example HTTP/3 server and client built on GnuTLS
 * (Debian ngtcp2-server / ngtcp2-client: /usr/sbin/gtlsserver, /usr/bin/gtlsclient) and headless
 * Chromium. Each origin serves its own document root and its own certificate, so a response proves
 * which origin a client reached.
 *
 * Contract: `startNgtcp2Origin(name, body)` serves `body` at /index.html over HTTP/3 on 127.0.0.1 (a free
 * UDP port) with a self-signed certificate for `name`; `close()` stops it by pid. `ngtcp2Get` runs one
 * client request and resolves with its exit code and the downloaded body ('' when none). Callers check
 * `haveBinary` first and skip with a printed reason.
 * Limits: every child is bounded by a timeout (CLIENT_TIMEOUT_MS) and killed by pid.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHash, createPublicKey } from 'node:crypto'
import dgram from 'node:dgram'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getTestCert } from './certs.ts'
import { startCliProxy, type CliProxy } from './servers.ts'

export const GTLS_SERVER = '/usr/sbin/gtlsserver'
export const GTLS_CLIENT = '/usr/bin/gtlsclient'
export const CHROMIUM = '/usr/bin/chromium'

/** ms. A loopback HTTP/3 request takes a few ms; this bounds a client that never gets an answer. */
export const CLIENT_TIMEOUT_MS = 8_000

/** true when `path` exists; otherwise prints why the test is skipped */
export function haveBinary (path: string, needs: string): boolean {
  if (existsSync(path)) return true
  console.log('skipped: ' + path + ' not found (' + needs + '; .ci/run installs it when it runs as root with apt)')
  return false
}

/** A UDP port nothing listens on (bound then closed). */
export async function freeUdpPort (): Promise<number> {
  const s = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => { s.bind(0, '127.0.0.1', resolve) })
  const port = s.address().port
  await new Promise<void>((resolve) => { s.close(resolve) })
  return port
}

export interface QuicOrigin {
  readonly name: string
  readonly port: number
  readonly fingerprint: string
  /** PEM certificate it serves */
  readonly cert: string
  readonly child: ChildProcess
  close: () => Promise<void>
}

export async function startNgtcp2Origin (name: string, body: string): Promise<QuicOrigin> {
  const dir = mkdtempSync(join(tmpdir(), 'hellogate-quic-origin-'))
  const cert = getTestCert([name])
  writeFileSync(join(dir, 'key.pem'), cert.key)
  writeFileSync(join(dir, 'cert.pem'), cert.cert)
  mkdirSync(join(dir, 'www'))
  writeFileSync(join(dir, 'www', 'index.html'), body)
  const port = await freeUdpPort()
  const child = spawn(GTLS_SERVER, ['-q', '-d', join(dir, 'www'), '127.0.0.1', String(port), join(dir, 'key.pem'), join(dir, 'cert.pem')], { stdio: 'ignore' })
  // the server binds at once; give it a moment to reach its event loop
  await new Promise((resolve) => setTimeout(resolve, 200))
  return {
    name,
    port,
    fingerprint: cert.fingerprint256,
    cert: cert.cert,
    child,
    close: () => stopChild(child),
  }
}

export function stopChild (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => { resolve() })
    process.kill(child.pid!, 'SIGTERM')
  })
}

export interface ClientResult { code: number | null, body: string, output: string }

/**
 * ngtcp2 0.12's GnuTLS client sends the SNI of the host it resolves and ignores --sni (an IP address
 * becomes "localhost"), so a test name must resolve to 127.0.0.1 for it: the client runs in its own
 * mount namespace with an /etc/hosts that says so (`unshare -m` as root, `unshare -rm` otherwise). Null
 * when neither is allowed here.
 */
let namespace: string[] | null | undefined

function hostsFile (names: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'hellogate-quic-hosts-'))
  const file = join(dir, 'hosts')
  writeFileSync(file, '127.0.0.1 localhost ' + names.join(' ') + '\n')
  return file
}

const MOUNT_HOSTS = 'mount --bind "$0" /etc/hosts && exec "$@"'

/** The `unshare` flags that let this process give a client its own /etc/hosts, or null (printed once). */
export function clientNamespace (): string[] | null {
  if (namespace !== undefined) return namespace
  namespace = null
  const file = hostsFile(['probe.quic.test'])
  for (const flags of [['-m'], ['-rm']]) {
    const r = spawnSync('unshare', [...flags, 'sh', '-c', MOUNT_HOSTS, file, 'getent', 'hosts', 'probe.quic.test'], { encoding: 'utf8', timeout: 5000 })
    if (r.status === 0 && r.stdout.includes('127.0.0.1')) { namespace = flags; break }
  }
  if (namespace === null) console.log('skipped: cannot give ngtcp2\'s client its own /etc/hosts (unshare -m / -rm refused); it sends the SNI of the name it resolves')
  return namespace
}

/** One HTTP/3 GET of https://SNI/index.html through 127.0.0.1:port with ngtcp2's client (SNI resolved to 127.0.0.1). */
export function ngtcp2Get (port: number, sni: string, extra: readonly string[] = []): Promise<ClientResult> {
  const dir = mkdtempSync(join(tmpdir(), 'hellogate-quic-client-'))
  const ns = clientNamespace() ?? []
  const child = spawn('unshare', [...ns, 'sh', '-c', MOUNT_HOSTS, hostsFile([sni]), GTLS_CLIENT,
    '-q', '--download=' + dir, '--exit-on-all-streams-close', '--timeout=3s', ...extra,
    sni, String(port), 'https://' + sni + '/index.html',
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (d: Buffer) => { output += d.toString() })
  child.stderr!.on('data', (d: Buffer) => { output += d.toString() })
  const timer = setTimeout(() => { stopChild(child).catch(() => undefined) }, CLIENT_TIMEOUT_MS)
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      clearTimeout(timer)
      const file = join(dir, 'index.html')
      resolve({ code, body: existsSync(file) ? readFileSync(file, 'utf8') : '', output })
    })
  })
}

/** base64 SHA-256 of a certificate's SubjectPublicKeyInfo: Chromium's --ignore-certificate-errors-spki-list entry */
export function spkiHash (certPem: string): string {
  const der = createPublicKey(certPem).export({ type: 'spki', format: 'der' })
  return createHash('sha256').update(der).digest('base64')
}

/** ms. Headless Chromium's cold start in a container is seconds; this bounds a page that never loads. */
export const CHROMIUM_TIMEOUT_MS = 45_000

/**
 * Headless Chromium fetching https://NAME/index.html over HTTP/3 only (--origin-to-force-quic-on), with
 * NAME:443 mapped to 127.0.0.1:port and the origins' certificates trusted by SPKI (QUIC ignores
 * --ignore-certificate-errors). Resolves with the DOM Chromium printed ('' when the load failed).
 */
export function chromiumGet (port: number, name: string, spkis: readonly string[]): Promise<ClientResult> {
  const dir = mkdtempSync(join(tmpdir(), 'hellogate-chromium-'))
  const child = spawn(CHROMIUM, [
    '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--user-data-dir=' + dir, '--enable-quic',
    '--origin-to-force-quic-on=' + name + ':443', '--host-resolver-rules=MAP ' + name + ':443 127.0.0.1:' + String(port),
    '--ignore-certificate-errors-spki-list=' + spkis.join(','), '--dump-dom', 'https://' + name + '/index.html',
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  let body = ''
  let output = ''
  child.stdout!.on('data', (d: Buffer) => { body += d.toString() })
  child.stderr!.on('data', (d: Buffer) => { output += d.toString() })
  const timer = setTimeout(() => { stopChild(child).catch(() => undefined) }, CHROMIUM_TIMEOUT_MS)
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, body, output })
    })
  })
}

/** Two ngtcp2 origins, each its own name, certificate and document, behind a real `hellogate serve` with a QUIC listener. */
export interface QuicRig {
  readonly a: QuicOrigin
  readonly b: QuicOrigin
  readonly proxy: CliProxy
  /** the proxy's UDP port */
  readonly port: number
  close: () => Promise<void>
}

/** Start the two origins (`names[i]` serving `bodies[i]`) and the proxy routing each name to its own. */
export async function startQuicRig (names: readonly [string, string], bodies: readonly [string, string]): Promise<QuicRig> {
  const a = await startNgtcp2Origin(names[0], bodies[0])
  const b = await startNgtcp2Origin(names[1], bodies[1])
  const proxy = await startCliProxy({
    workers: 2,
    routes: { [names[0]]: '127.0.0.1:' + String(a.port), [names[1]]: '127.0.0.1:' + String(b.port) },
    // a flow's log line is written when it ends: a short idle timeout ends them within the test
    quic: { listen: '127.0.0.1:0', idleTimeout: '1s' },
  })
  const listening = await proxy.waitForLog((l) => l.evt === 'listening')
  const addr = (listening.quic as string[])[0]!
  return {
    a,
    b,
    proxy,
    port: Number(addr.slice(addr.lastIndexOf(':') + 1)),
    close: async () => { await proxy.close(); await a.close(); await b.close() },
  }
}
