/**
 * Differential test: our reader against what node:tls (OpenSSL) makes of the very same bytes as a
 * server (tcpproxy's "let the stdlib parse it" idea, used only as a test oracle; test/helpers/oracle.ts).
 * The answers are compared per kind, so that "no SNI" and "OpenSSL refused the bytes" can never stand
 * in for each other:
 *   our Ok(name)          ↔ oracle `sni` with the same name (lowercased, trailing dot stripped)
 *   our NoSni             ↔ oracle `no-sni`: OpenSSL accepted the hello and answered it
 *   our Malformed, NotTls ↔ oracle `rejected` with a parse error, not a failed negotiation
 * Deliberate disagreements are listed in EXCEPTIONS by case name with their reason; each one is
 * asserted exactly, so a change on either side shows up. One hello at a time, each bounded by the
 * oracle's timeout; the oracle is closed after.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HelloStatus, sniToString } from '../../src/hello/index.ts'
import { buildClientHello, buildClientHelloLayout, buildSslv2Hello, wrapRecords } from '../helpers/build-hello.ts'
import type { HelloLayout } from '../helpers/build-hello.ts'
import { feedWhole } from '../helpers/feed.ts'
import { loadCorpus, loadRealHellos } from '../helpers/hello-fixtures.ts'
import { startHelloOracle } from '../helpers/oracle.ts'
import type { HelloOracle, OracleAnswer } from '../helpers/oracle.ts'

let oracle: HelloOracle

beforeAll(async () => { oracle = await startHelloOracle() })
afterAll(async () => { await oracle.close() })

/** OpenSSL codes that mean "parsed, but nothing to agree on": a rejection with one of these proves no parse error */
const NEGOTIATION_CODES = new Set([
  'ERR_SSL_NO_SHARED_CIPHER',
  'ERR_SSL_UNSUPPORTED_PROTOCOL',
  'ERR_SSL_NO_SUITABLE_SIGNATURE_ALGORITHM',
  'ERR_SSL_NO_SUITABLE_KEY_SHARE',
])

/** the oracle kind each of our statuses must meet (TooLarge depends on our cap, NeedMore never ends) */
const AGREES: Partial<Record<HelloStatus, OracleAnswer['kind']>> = {
  [HelloStatus.Ok]: 'sni',
  [HelloStatus.NoSni]: 'no-sni',
  [HelloStatus.Malformed]: 'rejected',
  [HelloStatus.NotTls]: 'rejected',
}

interface Case { what: string, wire: Buffer }

/**
 * Known, deliberate disagreements, by case name: what we answer, what OpenSSL answers, and why we differ.
 */
const EXCEPTIONS: Record<string, { ours: HelloStatus, oracle: OracleAnswer, why: string }> = {
  'unknown name_type before host_name': {
    ours: HelloStatus.Ok,
    oracle: { kind: 'rejected', code: 'ERR_SSL_BAD_EXTENSION' },
    why: 'RFC 6066 §3 leaves room for other NameTypes; like Go crypto/tls we skip them and route on the host_name, ' +
      'letting the origin decide. OpenSSL accepts exactly one entry, of type host_name.',
  },
  'unknown name_type after host_name': {
    ours: HelloStatus.Ok,
    oracle: { kind: 'rejected', code: 'ERR_SSL_BAD_EXTENSION' },
    why: 'as above, with the unknown entry last',
  },
  'IPv4 literal': {
    ours: HelloStatus.Malformed,
    oracle: { kind: 'sni', name: '10.0.0.1' },
    why: 'RFC 6066 §3 forbids literal addresses in HostName and no route can name one; OpenSSL does not check the ' +
      'name\'s syntax at all (any bytes but NUL).',
  },
  'corpus ip-literal.bin': {
    ours: HelloStatus.Malformed,
    oracle: { kind: 'sni', name: '192.0.2.1' },
    why: 'as for "IPv4 literal"',
  },
  'space inside a label': {
    ours: HelloStatus.Malformed,
    oracle: { kind: 'sni', name: 'a b.example' },
    why: 'we take letters, digits, "-" and "_" only (the same rule route patterns obey), so such a name can never ' +
      'match a route; OpenSSL passes any bytes but NUL.',
  },
  'corpus no-extensions.bin': {
    ours: HelloStatus.NoSni,
    oracle: { kind: 'rejected', code: 'ERR_SSL_NO_SHARED_CIPHER' },
    why: 'not a disagreement on parsing: the seed offers only TLS 1.3 suites and no supported_versions, so OpenSSL ' +
      'parses it and finds nothing to negotiate; "TLS 1.2 hello without extensions" is the same shape with suites ' +
      'the oracle can answer.',
  },
  'empty host_name': {
    ours: HelloStatus.Malformed,
    oracle: { kind: 'no-sni' },
    why: 'RFC 6066 §3 declares HostName<1..2^16-1>, so an empty one is malformed; Node calls no SNICallback for an ' +
      'empty name, so the oracle cannot tell it from no server_name.',
  },
}

function withLength (layout: HelloLayout, field: keyof Omit<HelloLayout, 'bytes'>, width: 1 | 2 | 3, delta: number): Buffer {
  const b = Buffer.from(layout.bytes)
  b.writeUIntBE(b.readUIntBE(layout[field], width) + delta, layout[field], width)
  return b
}

const base = (): HelloLayout => buildClientHelloLayout({ sni: 'len.example', alpn: ['h2'] })
/** every length field one too big and one too small (a too-big handshake length only waits for more bytes) */
const LENGTHS: [keyof Omit<HelloLayout, 'bytes'>, 1 | 2 | 3, number[]][] = [
  ['handshakeLength', 3, [-1]],
  ['sessionIdLength', 1, [1, -1]],
  ['cipherSuitesLength', 2, [1, -1]],
  ['compressionMethodsLength', 1, [1, -1]],
  ['extensionsLength', 2, [1, -1]],
  ['sniListLength', 2, [1, -1]],
  ['sniNameLength', 2, [1, -1]],
  ['alpnListLength', 2, [1, -1]],
]

const CASES: Case[] = [
  ...loadRealHellos().map((h) => ({ what: 'captured ' + h.file, wire: h.wire })),
  ...loadCorpus().filter((c) => c.status !== HelloStatus.TooLarge).map((c) => ({ what: 'corpus ' + c.file, wire: c.bytes })),
  // names
  { what: 'upper case + trailing dot, 3 records', wire: wrapRecords(buildClientHello({ sni: 'Upper.Example.COM.', alpn: ['h2'] }), 3) },
  { what: 'underscore and digits', wire: wrapRecords(buildClientHello({ sni: '_svc.0day-1.example' }), 1) },
  { what: '253-byte name', wire: wrapRecords(buildClientHello({ sni: ('a'.repeat(63) + '.').repeat(3) + 'b'.repeat(61) }), 2) },
  { what: 'GREASE + post-quantum key share + padding, 8 records', wire: wrapRecords(buildClientHello({ sni: 'pq.example', grease: true, keyShareBytes: 1216, padding: 300 }), 8) },
  ...fc.sample(
    fc.array(fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-'), minLength: 1, maxLength: 20 }), { minLength: 2, maxLength: 4 }),
    { seed: 42, numRuns: 12 },
  ).map((labels, i) => ({ what: 'generated ' + String(i), wire: wrapRecords(buildClientHello({ sni: labels.join('.'), alpn: ['http/1.1'] }), 1 + (i % 4)) })),
  // no server_name
  { what: 'TLS 1.3 hello without server_name', wire: wrapRecords(buildClientHello({ alpn: ['h2'] }), 1) },
  { what: 'TLS 1.2 hello without extensions', wire: wrapRecords(buildClientHello({ noExtensions: true, cipherSuites: [0x002f, 0x009c] }), 1) },
  { what: 'TLS 1.2 hello with an empty extensions block', wire: wrapRecords(buildClientHello({ emptyExtensions: true, cipherSuites: [0x002f] }), 1) },
  { what: 'SSLv2-compatible hello for TLS 1.2', wire: buildSslv2Hello({ version: 0x0303 }) },
  { what: 'SSLv2-compatible hello for TLS 1.0', wire: buildSslv2Hello() },
  // malformed server_name
  { what: 'two host_names', wire: wrapRecords(buildClientHello({ sniList: [{ name: 'a.example' }, { name: 'b.example' }] }), 1) },
  { what: 'server_name twice', wire: wrapRecords(buildClientHello({ sni: 'a.example', duplicateExtension: 0 }), 1) },
  { what: 'supported_versions twice', wire: wrapRecords(buildClientHello({ sni: 'a.example', duplicateExtension: true }), 1) },
  { what: 'NUL inside the name', wire: wrapRecords(buildClientHello({ sni: 'a\0b.example' }), 1) },
  ...LENGTHS.flatMap(([field, width, deltas]) => deltas.map((d) => ({
    what: field + (d > 0 ? ' +' : ' ') + String(d),
    wire: wrapRecords(withLength(base(), field, width, d), 1),
  }))),
  // not TLS
  { what: 'HTTP request', wire: Buffer.from('GET / HTTP/1.1\r\nHost: a.example\r\n\r\n') },
  // deliberate disagreements (EXCEPTIONS)
  { what: 'unknown name_type before host_name', wire: wrapRecords(buildClientHello({ sniList: [{ nameType: 9, name: 'x' }, { name: 'second.example' }] }), 1) },
  { what: 'unknown name_type after host_name', wire: wrapRecords(buildClientHello({ sniList: [{ name: 'first.example' }, { nameType: 9, name: 'x' }] }), 1) },
  { what: 'IPv4 literal', wire: wrapRecords(buildClientHello({ sni: '10.0.0.1' }), 1) },
  { what: 'space inside a label', wire: wrapRecords(buildClientHello({ sni: 'a b.example' }), 1) },
  { what: 'empty host_name', wire: wrapRecords(buildClientHello({ sni: '' }), 1) },
]

/** our answer: the status, and the SNI lowercased with the trailing dot stripped when Ok */
function ours (wire: Buffer): { status: HelloStatus, sni: string | null } {
  const r = feedWhole(wire)
  return { status: r.status, sni: r.status === HelloStatus.Ok ? sniToString(r.asm.hs, r.asm.info).toLowerCase() : null }
}

function normalise (a: OracleAnswer): OracleAnswer {
  return a.kind === 'sni' ? { kind: 'sni', name: a.name.toLowerCase().replace(/\.$/, '') } : a
}

describe('reader agrees with node:tls, kind by kind', () => {
  it.each(CASES)('$what', async ({ what, wire }) => {
    const mine = ours(wire)
    const theirs = normalise(await oracle.ask(wire))
    const exception = EXCEPTIONS[what]
    if (exception !== undefined) {
      expect({ ours: mine.status, oracle: theirs }, exception.why).toEqual({ ours: exception.ours, oracle: normalise(exception.oracle) })
      return
    }
    const want = AGREES[mine.status]
    expect(want, 'our status ' + String(mine.status) + ' has no oracle counterpart').toBeDefined()
    expect(theirs.kind, 'oracle: ' + JSON.stringify(theirs)).toBe(want)
    if (theirs.kind === 'sni') expect(mine.sni).toBe(theirs.name)
    if (theirs.kind === 'rejected') expect(NEGOTIATION_CODES.has(theirs.code), theirs.code + ' is a failed negotiation, not a parse error').toBe(false)
  })

  it('compares every kind, and every exception names a case', () => {
    // the table must reach each kind outside the exceptions, or the comparison above proves little
    const kinds = new Set(CASES.filter((c) => EXCEPTIONS[c.what] === undefined).map((c) => AGREES[ours(c.wire).status]))
    expect([...kinds].sort()).toEqual(['no-sni', 'rejected', 'sni'])
    const names = new Set(CASES.map((c) => c.what))
    for (const name of Object.keys(EXCEPTIONS)) expect(names.has(name), name).toBe(true)
  })
})
