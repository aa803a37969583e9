/**
 * Load the committed ClientHello fixtures (test/fixtures/hello, test/fixtures/hello-corpus) and their
 * manifests. Produced by capture-real-hellos.ts; read-only here.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { HelloStatus } from '../../src/hello/index.ts'

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures')

export interface RealHello {
  file: string
  client: string
  version: string
  sni: string
  alpn: string[]
  records: number
  handshakeLength: number
  wireBytes: number
  /** the bytes as captured */
  wire: Buffer
}

export interface CorpusSeed {
  file: string
  status: HelloStatus
  what: string
  bytes: Buffer
}

/** every captured (and crafted split) hello listed in test/fixtures/hello/manifest.json */
export function loadRealHellos (): RealHello[] {
  const dir = path.join(FIXTURES, 'hello')
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Omit<RealHello, 'wire'>[]
  return manifest.map((e) => ({ ...e, wire: readFileSync(path.join(dir, e.file)) }))
}

/** every corpus seed listed in test/fixtures/hello-corpus/manifest.json */
export function loadCorpus (): CorpusSeed[] {
  const dir = path.join(FIXTURES, 'hello-corpus')
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { file: string, status: keyof typeof HelloStatus, what: string }[]
  return manifest.map((e) => ({ file: e.file, status: HelloStatus[e.status], what: e.what, bytes: readFileSync(path.join(dir, e.file)) }))
}

/** the handshake message bytes of a single- or multi-record wire capture (record headers removed) */
export function handshakeOf (wire: Uint8Array): Buffer {
  const parts: Buffer[] = []
  for (let off = 0; off + 5 <= wire.length;) {
    const n = (wire[off + 3]! << 8) | wire[off + 4]!
    parts.push(Buffer.from(wire.subarray(off + 5, off + 5 + n)))
    off += 5 + n
  }
  return Buffer.concat(parts)
}
