/**
 * Results writer: `bench/results/<kind>-<timestamp>.json` plus `bench/results/<kind>-latest.json`.
 *
 * Contract: writes pretty JSON (2-space indent, trailing newline) and returns both paths. The
 * timestamped file is the archive (gitignored); `-latest` is the one the README links.
 *
 * Limits: no locking; two benchmark processes of the same kind finishing in the same second would
 * overwrite each other's timestamped file. Do not run two at once on this 2-core machine anyway.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** Repository root, resolved from this file (bench/lib/ → ../..). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const RESULTS_DIR = path.join(REPO_ROOT, 'bench', 'results')

/** `YYYYMMDD-HHMMSS` in UTC, sortable and safe in file names. */
export function timestamp (d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
}

/** Write a file under bench/results (creating it), returning the absolute path. */
export function writeResultFile (name: string, content: string): string {
  mkdirSync(RESULTS_DIR, { recursive: true })
  const p = path.join(RESULTS_DIR, name)
  writeFileSync(p, content)
  return p
}

/** Write `<kind>-<timestamp>.json` and `<kind>-latest.json`. */
export function writeResults (kind: string, data: unknown): { archive: string, latest: string } {
  const json = JSON.stringify(data, null, 2) + '\n'
  const archive = writeResultFile(`${kind}-${timestamp()}.json`, json)
  const latest = writeResultFile(`${kind}-latest.json`, json)
  return { archive, latest }
}
