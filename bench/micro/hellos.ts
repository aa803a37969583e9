/**
 * The captured ClientHellos (test/fixtures/hello/) as benchmark inputs, with what a correct parse must
 * report, worked out independently of the parser under test.
 *
 * Contract: `loadHello(file)` returns the wire bytes exactly as captured, the handshake message (record
 * headers stripped, copied once at load), and the SNI's expected offsets into the handshake message,
 * found by searching for the manifest's SNI inside the server_name extension layout
 * (RFC 6066 §3: type 0x0000, ext length, list length, name_type 0 host_name, u16 length, name). The
 * benchmarks compare the parser's sniStart/sniEnd with these on every call.
 *
 * Limits: expects the fixtures' one-SNI layout; throws at load (never in a timed loop) when a fixture
 * is missing or its SNI cannot be located exactly once.
 */
import { handshakeOf, loadRealHellos, type RealHello } from '../../test/helpers/hello-fixtures.ts'

/** TLS record header: type(1) version(2) length(2), RFC 8446 §5.1 */
const RECORD_HEADER_LEN = 5
/** server_name ext header (4) + server_name_list length (2) + name_type (1) + host_name length (2) */
const SNI_EXT_PREFIX_LEN = 9

export interface BenchHello extends RealHello {
  /** the handshake message (type byte first), record headers removed */
  hs: Buffer
  /** SNI offsets into `hs` */
  sniStart: number
  sniEnd: number
  /** record payload lengths, in order (to cut the wire at record boundaries) */
  recordSizes: number[]
}

/** the SNI's offset in hs, located via the server_name extension framing around it */
function findSni (hs: Buffer, sni: string): number {
  const name = Buffer.from(sni, 'latin1')
  const hits: number[] = []
  for (let at = hs.indexOf(name); at >= 0; at = hs.indexOf(name, at + 1)) {
    const p = at - SNI_EXT_PREFIX_LEN
    if (p < 0) continue
    const ok = hs.readUInt16BE(p) === 0x0000 && // extension_type server_name
      hs.readUInt16BE(p + 2) === name.length + 5 && // extension_data length
      hs.readUInt16BE(p + 4) === name.length + 3 && // server_name_list length
      hs[p + 6] === 0 && // name_type host_name
      hs.readUInt16BE(p + 7) === name.length
    if (ok) hits.push(at)
  }
  if (hits.length !== 1) throw new Error(`hello fixture: SNI ${sni} found ${hits.length} times in its server_name framing`)
  return hits[0]!
}

/** Load one fixture by file name (e.g. `chromium.bin`) with its expected SNI offsets. */
export function loadHello (file: string): BenchHello {
  const entry = loadRealHellos().find((e) => e.file === file)
  if (entry === undefined) throw new Error(`hello fixture ${file} is not in test/fixtures/hello/manifest.json`)
  const wire = entry.wire
  if (wire.length !== entry.wireBytes) throw new Error(`hello fixture ${file}: ${wire.length} bytes, manifest says ${entry.wireBytes}`)
  const recordSizes: number[] = []
  for (let off = 0; off < wire.length; off += RECORD_HEADER_LEN + wire.readUInt16BE(off + 3)) recordSizes.push(wire.readUInt16BE(off + 3))
  const hs = handshakeOf(wire)
  if (hs.length !== entry.handshakeLength || recordSizes.length !== entry.records) {
    throw new Error(`hello fixture ${file}: handshake ${hs.length} B in ${recordSizes.length} records, manifest says ${entry.handshakeLength} in ${entry.records}`)
  }
  const sniStart = findSni(hs, entry.sni)
  return { ...entry, hs, sniStart, sniEnd: sniStart + entry.sni.length, recordSizes }
}

/** Cut `wire` into chunks of the given sizes (the last chunk takes the rest); views, no copies. */
export function cut (wire: Buffer, sizes: readonly number[]): Buffer[] {
  const chunks: Buffer[] = []
  let off = 0
  for (const n of sizes) {
    if (off + n >= wire.length) break
    chunks.push(wire.subarray(off, off + n))
    off += n
  }
  chunks.push(wire.subarray(off))
  return chunks
}

/** Record boundaries of a multi-record capture: one chunk per record (header + payload). */
export function recordChunks (h: BenchHello): Buffer[] {
  return cut(h.wire, h.recordSizes.map((n) => n + RECORD_HEADER_LEN))
}
