/**
 * Regenerate test/fixtures/hello/*.bin (real ClientHellos) and test/fixtures/hello-corpus/*.bin
 * (named seeds). Not run by the tests: they read the committed files, since CI may lack chromium
 * and gnutls-cli.
 *
 *   node_modules/.bin/node test/helpers/capture-real-hellos.ts            # capture + corpus
 *   node_modules/.bin/node test/helpers/capture-real-hellos.ts --corpus   # corpus only (needs chromium.bin)
 *
 * How (read-tls-client-hello's approach): a raw `net.Server` on 127.0.0.1:0 reads the first
 * connection's bytes until our own HelloAssembler has the complete hello, saves exactly the records
 * that carry it, then destroys the socket. Each client runs as a child process with a timeout and
 * is stopped by its pid (or its own process group for chromium, which forks helpers). Clients that
 * are not installed are skipped with a message; their old fixtures stay.
 *
 * Install the optional clients with: apt-get update && apt-get install -y gnutls-bin chromium
 */
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import { fileURLToPath } from 'node:url'
import { HelloAssembler, HelloStatus, alpnToStrings, sniToString } from '../../src/hello/index.ts'
import { buildClientHello, buildSslv2Hello, tlsRecord, wrapRecords } from './build-hello.ts'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const HELLO_DIR = path.join(ROOT, 'test/fixtures/hello')
const CORPUS_DIR = path.join(ROOT, 'test/fixtures/hello-corpus')
/** per-client wall-clock budget (ms) */
const CLIENT_TIMEOUT_MS = 20_000

export interface CaptureEntry {
  file: string
  client: string
  version: string
  captured: string
  command: string
  sni: string
  alpn: string[]
  records: number
  handshakeLength: number
  wireBytes: number
}

interface Client {
  name: string
  sni: string
  version: () => string
  /** start the client against 127.0.0.1:port; returns a stopper and the command line for the README */
  start: (port: number) => { command: string, stop: () => void }
}

function tryVersion (cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).split('\n')[0]?.trim() ?? ''
  } catch {
    return ''
  }
}

function spawnClient (cmd: string, args: string[], group = false): () => void {
  const child = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'ignore'], detached: group })
  child.on('error', () => {})
  return () => {
    if (child.exitCode !== null || child.pid === undefined) return
    try {
      if (group) process.kill(-child.pid, 'SIGKILL')
      else child.kill('SIGKILL')
    } catch {}
  }
}

const CLIENTS: Client[] = [
  {
    name: 'openssl',
    sni: 'openssl.example.test',
    version: () => tryVersion('openssl', ['version']),
    start: (port) => {
      const args = ['s_client', '-connect', '127.0.0.1:' + String(port), '-servername', 'openssl.example.test', '-alpn', 'h2,http/1.1']
      return { command: 'openssl ' + args.join(' ') + ' </dev/null', stop: spawnClient('openssl', args) }
    },
  },
  {
    name: 'curl',
    sni: 'curl.example.test',
    version: () => tryVersion('curl', ['--version']),
    start: (port) => {
      const p = String(port)
      const args = ['-sk', '--max-time', '10', '--resolve', 'curl.example.test:' + p + ':127.0.0.1', 'https://curl.example.test:' + p + '/']
      return { command: 'curl ' + args.join(' '), stop: spawnClient('curl', args) }
    },
  },
  {
    name: 'node',
    sni: 'node.example.test',
    version: () => 'Node.js ' + process.version + ' (OpenSSL ' + process.versions.openssl + ')',
    start: (port) => {
      const s = tls.connect({ host: '127.0.0.1', port, servername: 'node.example.test', ALPNProtocols: ['h2', 'http/1.1'], rejectUnauthorized: false })
      s.on('error', () => {})
      return {
        command: "tls.connect({ host: '127.0.0.1', port, servername: 'node.example.test', ALPNProtocols: ['h2', 'http/1.1'] })",
        stop: () => { s.destroy() },
      }
    },
  },
  {
    name: 'gnutls',
    sni: 'gnutls.example.test',
    version: () => tryVersion('gnutls-cli', ['--version']),
    start: (port) => {
      const args = ['--insecure', '--sni-hostname=gnutls.example.test', '--alpn=h2', '--alpn=http/1.1', '-p', String(port), '127.0.0.1']
      return { command: 'gnutls-cli ' + args.join(' ') + ' </dev/null', stop: spawnClient('gnutls-cli', args) }
    },
  },
  {
    name: 'chromium',
    sni: 'browser.example.test',
    version: () => tryVersion('chromium', ['--version']),
    start: (port) => {
      const profile = mkdtempSync(path.join(tmpdir(), 'hg-chromium-'))
      const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--user-data-dir=' + profile, '--host-resolver-rules=MAP * 127.0.0.1',
        'https://browser.example.test:' + String(port) + '/']
      const stop = spawnClient('chromium', args, true)
      return {
        command: 'chromium ' + args.map((a) => a.startsWith('--user-data-dir') ? '--user-data-dir=$(mktemp -d)' : a.includes(' ') ? '"' + a + '"' : a).join(' '),
        stop: () => { stop(); rmSync(profile, { recursive: true, force: true }) },
      }
    },
  },
]

/** Cut `wire` after the records that carry the hello (drop anything the client sent after it). */
function helloRecords (wire: Buffer, handshakeLength: number): Buffer {
  let off = 0
  let have = 0
  while (have < handshakeLength && off + 5 <= wire.length) {
    const n = wire.readUInt16BE(off + 3)
    off += 5 + n
    have += n
  }
  return wire.subarray(0, off)
}

async function capture (client: Client): Promise<{ wire: Buffer, command: string } | null> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  let first = true
  const done = new Promise<Buffer | null>((resolve) => {
    const timer = setTimeout(() => { resolve(null) }, CLIENT_TIMEOUT_MS)
    server.on('connection', (sock) => {
      sock.on('error', () => {})
      if (!first) { sock.destroy(); return }
      first = false
      const asm = new HelloAssembler()
      sock.on('data', (chunk: Buffer) => {
        const st = asm.push(chunk)
        if (st === HelloStatus.NeedMore) return
        clearTimeout(timer)
        sock.destroy()
        resolve(st === HelloStatus.Ok || st === HelloStatus.NoSni ? helloRecords(Buffer.from(asm.received()), asm.info.handshakeLength) : null)
      })
    })
  })
  const { command, stop } = client.start(port)
  const wire = await done
  stop()
  await new Promise<void>((resolve) => server.close(() => { resolve() }))
  return wire === null ? null : { wire, command }
}

function describe (wire: Buffer): { sni: string, alpn: string[], records: number, handshakeLength: number } {
  const asm = new HelloAssembler()
  const st = asm.push(Buffer.from(wire))
  if (st !== HelloStatus.Ok && st !== HelloStatus.NoSni) throw new Error('capture does not parse: status ' + String(st))
  return { sni: sniToString(asm.hs, asm.info), alpn: alpnToStrings(asm.hs, asm.info), records: asm.info.records, handshakeLength: asm.info.handshakeLength }
}

function readManifest (): CaptureEntry[] {
  const p = path.join(HELLO_DIR, 'manifest.json')
  return existsSync(p) ? JSON.parse(readFileSync(p, 'utf8')) as CaptureEntry[] : []
}

async function captureAll (): Promise<void> {
  mkdirSync(HELLO_DIR, { recursive: true })
  const manifest = readManifest().filter((e) => !CLIENTS.some((c) => c.name + '.bin' === e.file))
  const kept = readManifest()
  const today = new Date().toISOString().slice(0, 10)
  for (const client of CLIENTS) {
    const version = client.version()
    if (version === '') {
      console.log('skip ' + client.name + ': not installed')
      const old = kept.find((e) => e.file === client.name + '.bin')
      if (old !== undefined) manifest.push(old)
      continue
    }
    const got = await capture(client)
    if (got === null) {
      console.log('skip ' + client.name + ': no complete hello within ' + String(CLIENT_TIMEOUT_MS) + ' ms')
      continue
    }
    const file = client.name + '.bin'
    writeFileSync(path.join(HELLO_DIR, file), got.wire)
    const d = describe(got.wire)
    if (d.sni !== client.sni) throw new Error(client.name + ': SNI ' + d.sni + ' != ' + client.sni)
    manifest.push({ file, client: client.name, version, captured: today, command: got.command, ...d, wireBytes: got.wire.length })
    console.log('captured ' + file + ': ' + String(got.wire.length) + ' bytes, sni=' + d.sni + ' alpn=' + d.alpn.join(','))
  }
  // crafted from the browser capture: the same handshake bytes re-split over 3 records
  const browser = readFileSync(path.join(HELLO_DIR, 'chromium.bin'))
  const split = splitBrowserHello(browser)
  writeFileSync(path.join(HELLO_DIR, 'split-records.bin'), split)
  const d = describe(split)
  const others = manifest.filter((e) => e.file !== 'split-records.bin')
  const src = others.find((e) => e.file === 'chromium.bin')
  others.push({
    file: 'split-records.bin',
    client: 'crafted from chromium.bin',
    version: src?.version ?? '',
    captured: src?.captured ?? today,
    command: 'wrapRecords(handshake bytes of chromium.bin, 3) in test/helpers/capture-real-hellos.ts',
    ...d,
    wireBytes: split.length,
  })
  writeFileSync(path.join(HELLO_DIR, 'manifest.json'), JSON.stringify(others, null, 2) + '\n')
}

/** The browser hello's handshake bytes re-wrapped into 3 records (record version kept). */
function splitBrowserHello (browser: Buffer): Buffer {
  const asm = new HelloAssembler()
  asm.push(Buffer.from(browser))
  return wrapRecords(asm.hs, 3, { version: browser.readUInt16BE(1) })
}

/** Corpus seeds (Envoy tls_inspector_corpus): name → bytes; the expected status is in manifest.json. */
function writeCorpus (): void {
  mkdirSync(CORPUS_DIR, { recursive: true })
  const browser = readFileSync(path.join(HELLO_DIR, 'chromium.bin'))
  const seeds: { file: string, status: keyof typeof HelloStatus, what: string, bytes: Buffer }[] = [
    { file: 'valid-sni.bin', status: 'Ok', what: 'one record, SNI valid.example.test, ALPN h2', bytes: wrapRecords(buildClientHello({ sni: 'valid.example.test', alpn: ['h2'] }), 1) },
    { file: 'no-extensions.bin', status: 'NoSni', what: 'TLS 1.2-style hello with no extensions block', bytes: wrapRecords(buildClientHello({ noExtensions: true }), 1) },
    { file: 'not-tls.bin', status: 'NotTls', what: 'an HTTP/1.1 request', bytes: Buffer.from('GET / HTTP/1.1\r\nHost: example.test\r\n\r\n') },
    {
      file: 'too-large.bin',
      status: 'TooLarge',
      what: 'record header + handshake header declaring a 65536-byte ClientHello body, then 16 bytes',
      bytes: Buffer.from([22, 3, 1, 0x40, 0x00, 1, 0x01, 0x00, 0x00, ...Array<number>(16).fill(0)]),
    },
    { file: 'split-records.bin', status: 'Ok', what: 'chromium.bin re-split over 3 records', bytes: splitBrowserHello(browser) },
    { file: 'sslv2.bin', status: 'NoSni', what: 'SSLv2-compatible CLIENT-HELLO, version 3.1 (RFC 5246 E.2)', bytes: buildSslv2Hello() },
    { file: 'duplicate-extension.bin', status: 'Malformed', what: 'supported_versions twice', bytes: wrapRecords(buildClientHello({ sni: 'dup.example.test', duplicateExtension: true }), 1) },
    { file: 'ip-literal.bin', status: 'Malformed', what: 'SNI 192.0.2.1 (RFC 6066 §3 forbids IP literals)', bytes: wrapRecords(buildClientHello({ sni: '192.0.2.1' }), 1) },
    {
      file: 'interleaved-alert.bin',
      status: 'Malformed',
      what: 'first half of a hello, an alert record, the second half',
      bytes: interleaved(),
    },
    {
      file: 'early-data.bin',
      status: 'Ok',
      what: 'one-record hello followed by a CCS and an application_data record (0-RTT), all in one chunk',
      bytes: Buffer.concat([wrapRecords(buildClientHello({ sni: 'early.example.test' }), 1), tlsRecord(Buffer.from([1]), { type: 20, version: 0x0303 }), tlsRecord(Buffer.alloc(64, 0xee), { type: 23, version: 0x0303 })]),
    },
  ]
  for (const s of seeds) writeFileSync(path.join(CORPUS_DIR, s.file), s.bytes)
  const manifest = seeds.map((s) => ({ file: s.file, status: s.status, what: s.what }))
  writeFileSync(path.join(CORPUS_DIR, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n')
  console.log('wrote ' + String(seeds.length) + ' corpus seeds')
}

function interleaved (): Buffer {
  const hs = buildClientHello({ sni: 'interleave.example.test' })
  const half = hs.length >> 1
  return Buffer.concat([
    tlsRecord(hs.subarray(0, half)),
    tlsRecord(Buffer.from([1, 0]), { type: 21 }), // alert(21): warning close_notify
    tlsRecord(hs.subarray(half)),
  ])
}

if (!process.argv.includes('--corpus')) await captureAll()
writeCorpus()
