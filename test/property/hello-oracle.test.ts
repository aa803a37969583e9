/**
 * Differential test: our SNI against what node:tls (OpenSSL) reports server-side through
 * `SNICallback` for the very same bytes (tcpproxy's "let the stdlib parse it" idea, used only as a
 * test oracle). A TLS server without certificates listens on 127.0.0.1:0; each hello is written raw
 * from a plain net socket; the callback's servername (or the handshake error when there is none) is
 * the oracle's answer. One hello at a time, each bounded by a timeout; everything is closed after.
 */
import fc from 'fast-check'
import net from 'node:net'
import tls from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HelloStatus, sniToString } from '../../src/hello/index.ts'
import { buildClientHello, buildSslv2Hello, wrapRecords } from '../helpers/build-hello.ts'
import { feedWhole } from '../helpers/feed.ts'
import { loadRealHellos } from '../helpers/hello-fixtures.ts'

/** the oracle's answer for one hello must come within this many ms */
const ORACLE_TIMEOUT_MS = 5000

let server: tls.Server
let port = 0
let answer: ((name: string | null) => void) | null = null

beforeAll(async () => {
  server = tls.createServer({
    SNICallback: (name, cb) => {
      answer?.(name)
      cb(new Error('oracle: stop after SNI'))
    },
  })
  server.on('tlsClientError', () => { answer?.(null) })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  port = (server.address() as net.AddressInfo).port
})

afterAll(async () => {
  await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
})

/** the servername node:tls sees for `wire`, or null when it calls no SNICallback */
async function oracle (wire: Buffer): Promise<string | null> {
  return await new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => { sock.write(wire) })
    sock.on('error', () => {})
    const timer = setTimeout(() => { finish(); reject(new Error('oracle timeout')) }, ORACLE_TIMEOUT_MS)
    const finish = (): void => { clearTimeout(timer); answer = null; sock.destroy() }
    answer = (name) => { finish(); resolve(name) }
  })
}

/** our answer in the oracle's terms: SNI lowercased with the trailing dot stripped, or null */
function ours (wire: Buffer): { status: HelloStatus, sni: string | null } {
  const r = feedWhole(wire)
  return { status: r.status, sni: r.status === HelloStatus.Ok ? sniToString(r.asm.hs, r.asm.info).toLowerCase() : null }
}

function normalise (name: string | null): string | null {
  return name === null ? null : name.toLowerCase().replace(/\.$/, '')
}

const GENERATED: { what: string, wire: Buffer }[] = [
  { what: 'upper case + trailing dot, 3 records', wire: wrapRecords(buildClientHello({ sni: 'Upper.Example.COM.', alpn: ['h2'] }), 3) },
  { what: 'underscore and digits', wire: wrapRecords(buildClientHello({ sni: '_svc.0day-1.example' }), 1) },
  { what: '253-byte name', wire: wrapRecords(buildClientHello({ sni: ('a'.repeat(63) + '.').repeat(3) + 'b'.repeat(61) }), 2) },
  { what: 'GREASE + post-quantum key share + padding, 8 records', wire: wrapRecords(buildClientHello({ sni: 'pq.example', grease: true, keyShareBytes: 1216, padding: 300 }), 8) },
  ...fc.sample(
    fc.array(fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-'), minLength: 1, maxLength: 20 }), { minLength: 2, maxLength: 4 }),
    { seed: 42, numRuns: 12 },
  ).map((labels, i) => ({ what: 'generated ' + String(i), wire: wrapRecords(buildClientHello({ sni: labels.join('.'), alpn: ['http/1.1'] }), 1 + (i % 4)) })),
]

describe('SNI agrees with node:tls', () => {
  it.each(loadRealHellos().map((h) => ({ what: h.file, wire: h.wire })))('captured $what', async ({ wire }) => {
    const mine = ours(wire)
    expect(mine.status).toBe(HelloStatus.Ok)
    expect(mine.sni).toBe(normalise(await oracle(wire)))
  })

  it.each(GENERATED)('generated: $what', async ({ wire }) => {
    const mine = ours(wire)
    expect(mine.status).toBe(HelloStatus.Ok)
    expect(mine.sni).toBe(normalise(await oracle(wire)))
  })

  it('differs by design on extra name_type entries: we skip them (RFC 6066), OpenSSL refuses the list', async () => {
    // OpenSSL's tls_parse_ctos_server_name accepts exactly one entry, of type host_name; RFC 6066 §3
    // leaves room for other NameTypes, so we route on the host_name and let the origin decide.
    for (const sniList of [[{ nameType: 9, name: 'x' }, { name: 'second.example' }], [{ name: 'first.example' }, { nameType: 9, name: 'x' }]]) {
      const wire = wrapRecords(buildClientHello({ sniList }), 1)
      expect(ours(wire).status).toBe(HelloStatus.Ok)
      expect(await oracle(wire)).toBeNull()
    }
  })

  it('both see no SNI in a hello without server_name', async () => {
    const wire = wrapRecords(buildClientHello({ alpn: ['h2'] }), 1)
    expect(ours(wire)).toEqual({ status: HelloStatus.NoSni, sni: null })
    expect(await oracle(wire)).toBeNull()
  })

  it('both see no SNI in an SSLv2-compatible hello', async () => {
    const wire = buildSslv2Hello()
    expect(ours(wire)).toEqual({ status: HelloStatus.NoSni, sni: null })
    expect(await oracle(wire)).toBeNull()
  })
})
