/**
 * A real etcd server for the tests (the `etcd` binary, v3.4+: Debian's etcd-server), on a temporary data
 * dir and free loopback ports, stopped by its pid.
 *
 * Contract: `haveEtcd()` is false (and prints why) where no binary runs: use it with `describe.skipIf`.
 * `startEtcd()` resolves once the server answers a range request; `kill()` ends it with SIGKILL (what a
 * crash looks like to clients), `restart()` starts it again on the same ports and data dir, `stop()`
 * ends it and removes the data dir. `startEtcd({ tls })` serves clients over https with a test PKI's server
 * certificate (and with `clientCertAuth` refuses a client without one signed by its CA); `{ rootPassword }`
 * enables etcd's auth with user root (role root). `client` is set up to pass either: a client certificate,
 * and a login as root.
 * Limits: each start waits at most ETCD_START_TIMEOUT_MS.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { noop } from 'cockatiel'
import { Etcd3, type IOptions } from 'etcd3'

import type { TestPki } from './certs.ts'
import { haveTool } from './tools.ts'

/** ms. etcd starts in well under a second; a loaded 2-core CI machine gets 15 s. */
const ETCD_START_TIMEOUT_MS = 15_000

const CANDIDATES = ['etcd', '/usr/bin/etcd', '/usr/local/bin/etcd']

let binary: string | null | undefined

/** The etcd binary to run, or null (printed once) when there is none. */
export function etcdBinary (): string | null {
  if (binary !== undefined) return binary
  binary = null
  for (const c of CANDIDATES) {
    if ((c.startsWith('/') && !existsSync(c))) continue
    if (haveTool(c, ['--version'], 'the etcd source tests need etcd v3.4+, Debian package etcd-server')) { binary = c; break }
  }
  return binary
}

export function haveEtcd (): boolean {
  return etcdBinary() !== null
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => { resolve(port) })
    })
  })
}

export interface EtcdOptions {
  /** clients over https with `pki.server`; with `clientCertAuth` only clients with a certificate signed by `pki.ca` */
  readonly tls?: { readonly pki: TestPki, readonly clientCertAuth: boolean }
  /** auth enabled: user root, role root, this password */
  readonly rootPassword?: string
}

export interface EtcdServer {
  /** http://127.0.0.1:PORT, or https:// with `tls` */
  readonly endpoint: string
  readonly pid: () => number
  /** a client of this server (closed by stop()) */
  readonly client: Etcd3
  kill: () => Promise<void>
  restart: () => Promise<void>
  stop: () => Promise<void>
}

export async function startEtcd (opts: EtcdOptions = {}): Promise<EtcdServer> {
  const bin = etcdBinary()
  if (bin === null) throw new Error('no etcd binary')
  // tmpfs where there is one: etcd fsyncs every commit, and the tests are about hellogate, not the disk
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'hellogate-etcd-'))
  const [clientPort, peerPort] = [await freePort(), await freePort()]
  const endpoint = `${opts.tls === undefined ? 'http' : 'https'}://127.0.0.1:${clientPort}`
  const peer = `http://127.0.0.1:${peerPort}`
  const args = [
    '--name', 'test', '--data-dir', join(dir, 'data'),
    '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `test=${peer}`, '--log-level', 'error', '--logger', 'zap',
  ]
  // no circuit breaker: the tests kill and restart the server and must reach it again at once
  const options: IOptions = { hosts: endpoint, dialTimeout: 2_000, faultHandling: { host: () => noop } }
  if (opts.tls !== undefined) {
    const { pki, clientCertAuth } = opts.tls
    args.push('--cert-file', pki.server.cert, '--key-file', pki.server.key, '--trusted-ca-file', pki.ca, ...(clientCertAuth ? ['--client-cert-auth'] : []))
    options.credentials = { rootCertificate: readFileSync(pki.ca), certChain: readFileSync(pki.client.cert), privateKey: readFileSync(pki.client.key) }
  }
  let child: ChildProcess | null = null
  let client = new Etcd3(options)

  async function up (): Promise<void> {
    const c = spawn(bin!, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    c.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000) })
    child = c
    const end = Date.now() + ETCD_START_TIMEOUT_MS
    for (;;) {
      if (c.exitCode !== null) throw new Error(`etcd exited with ${c.exitCode}: ${stderr}`)
      try {
        await client.get('/probe').exec()
        return
      } catch {
        if (Date.now() > end) throw new Error(`etcd did not answer in ${ETCD_START_TIMEOUT_MS} ms: ${stderr}`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
  }

  async function down (signal: NodeJS.Signals): Promise<void> {
    const c = child
    child = null
    if (c === null || c.exitCode !== null || c.signalCode !== null) return
    await new Promise<void>((resolve) => { c.once('exit', () => { resolve() }); process.kill(c.pid!, signal) })
  }

  await up()
  if (opts.rootPassword !== undefined) {
    await client.role('root').create()
    await (await client.user('root').create(opts.rootPassword)).addRole('root')
    await client.auth.authEnable()
    client.close()
    client = new Etcd3({ ...options, auth: { username: 'root', password: opts.rootPassword } })
  }
  return {
    endpoint,
    pid: () => child?.pid ?? -1,
    get client () { return client },
    kill: () => down('SIGKILL'),
    restart: async () => { await down('SIGTERM'); await up() },
    stop: async () => {
      client.close()
      await down('SIGTERM')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
