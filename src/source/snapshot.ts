/**
 * source/snapshot — the `source.etcd.cache` file: etcd's entries at the last applied revision, so that
 * a host that restarts while etcd is unreachable serves the table it last served, not nothing.
 *
 * Contract:
 *  - `writeSnapshot(file, snap)` writes JSON to `file.tmp-<pid>` then renames it over `file`: a reader
 *    (or a crash half-way) sees the old snapshot or the new one, never a torn one. The caller writes
 *    after every applied revision, one write at a time (source/etcd.ts chains them).
 *  - `readSnapshot(file, prefix)` → the snapshot, `null` when the file does not exist, or throws
 *    ProxyError HG_ERR_SOURCE_SNAPSHOT (unreadable, not JSON, wrong shape or version, another prefix).
 *  - What is stored are etcd's raw entries, bad keys included: compiling the snapshot leaves out the
 *    same keys, with the same reasons, as compiling etcd did.
 *
 * Limits: the whole snapshot is read into memory (it is the size of the table's text, ~40 B a route).
 */
import { open, readFile, rename, unlink, type FileHandle } from 'node:fs/promises'

import { ErrorCode, ErrorSource, ProxyError } from '../errors.ts'
import { fleetEntries, type FleetEntries, type FleetEntry } from './fleet.ts'

/** format version, bumped on any incompatible change (an old file is then refused, not misread) */
export const SNAPSHOT_VERSION = 1

export interface Snapshot {
  readonly version: typeof SNAPSHOT_VERSION
  readonly prefix: string
  /** etcd revision the entries were read at */
  readonly revision: number
  /** ISO time of the write */
  readonly written: string
  readonly routes: readonly FleetEntry[]
  readonly upstreams: readonly FleetEntry[]
}

function corrupt (file: string, why: string, cause?: unknown): ProxyError {
  return new ProxyError(ErrorCode.SOURCE_SNAPSHOT, `${file}: unusable etcd snapshot: ${why}`, { source: ErrorSource.Config, file, cause })
}

function isEntries (v: unknown): v is FleetEntry[] {
  return Array.isArray(v) && v.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && typeof e[1] === 'string')
}

/** The snapshot in `file` for `prefix`; null when there is none (module header). */
export async function readSnapshot (file: string, prefix: string): Promise<Snapshot | null> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw corrupt(file, (err as Error).message, err)
  }
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (err) {
    throw corrupt(file, `not JSON (${(err as Error).message})`, err)
  }
  const o = v as Partial<Record<keyof Snapshot, unknown>> | null
  if (typeof o !== 'object' || o === null) throw corrupt(file, 'expected a JSON object')
  if (o.version !== SNAPSHOT_VERSION) throw corrupt(file, `expected version ${SNAPSHOT_VERSION}, got ${JSON.stringify(o.version)}`)
  if (o.prefix !== prefix) throw corrupt(file, `written for prefix ${JSON.stringify(o.prefix)}, not ${prefix}`)
  if (typeof o.revision !== 'number' || !Number.isSafeInteger(o.revision) || o.revision < 0) throw corrupt(file, 'expected a revision number')
  if (!isEntries(o.routes) || !isEntries(o.upstreams)) throw corrupt(file, 'expected routes and upstreams as [key, value] pairs')
  return {
    version: SNAPSHOT_VERSION,
    prefix,
    revision: o.revision,
    written: typeof o.written === 'string' ? o.written : '',
    routes: o.routes,
    upstreams: o.upstreams,
  }
}

/** Write `snap` to `file` atomically (module header). Rejects with the fs error; the old file stays. */
/**
 * Routes per slice of a snapshot write. The write runs on the main thread, which accepts connections in
 * the handoff model, runs the health checks and the etcd watch: 10 000 routes are ~0.6 MB of JSON and
 * ~10 ms of CPU, and the slice's write yields to the event loop before the next. One JSON.stringify of a
 * 1 000 000-route snapshot (57 MB) held the main thread for 0.9–1.5 s, the [key, value] pairs it needed
 * 0.3–0.4 s more (profiles/20261204-incremental-compile/NOTES.md).
 */
export const SNAPSHOT_SLICE_ENTRIES = 10_000

/** What writeSnapshot takes: the routes as [key, value] pairs or as the two columns a compile reads (no pairs built). */
export interface SnapshotInput {
  readonly prefix: string
  readonly revision: number
  readonly routes: FleetEntries | readonly FleetEntry[]
  readonly upstreams: readonly FleetEntry[]
}

export async function writeSnapshot (file: string, snap: SnapshotInput): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`
  const head = { version: SNAPSHOT_VERSION, written: new Date().toISOString(), prefix: snap.prefix, revision: snap.revision, upstreams: snap.upstreams }
  const routes = Array.isArray(snap.routes) ? fleetEntries(snap.routes as readonly FleetEntry[]) : snap.routes as FleetEntries
  let fh: FileHandle | null = null
  try {
    fh = await open(tmp, 'w')
    // the same JSON as JSON.stringify(body), routes last, written a slice at a time (SNAPSHOT_SLICE_ENTRIES)
    await fh.write(JSON.stringify(head).slice(0, -1) + ',"routes":[')
    const { names, texts } = routes
    for (let from = 0; from < names.length; from += SNAPSHOT_SLICE_ENTRIES) {
      const to = Math.min(names.length, from + SNAPSHOT_SLICE_ENTRIES)
      let chunk = ''
      for (let i = from; i < to; i++) chunk += (i === 0 ? '' : ',') + '[' + JSON.stringify(names[i]) + ',' + JSON.stringify(texts[i]) + ']'
      await fh.write(chunk)
    }
    await fh.write(']}')
    await fh.close()
    fh = null
    await rename(tmp, file)
  } catch (err) {
    await fh?.close().catch(() => {})
    await unlink(tmp).catch(() => {})
    throw err
  }
}
