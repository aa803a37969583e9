/**
 * config/report — checks of single values after the schema accepted their shape, reporting through one
 * Fail (fault.ts) so that every message reads `file:line:col: key: expected …, got …`.
 */
import { ErrorCode } from '../errors.ts'
import { LIMITS } from './defaults.ts'
import { show, type Fail, type KeyPath } from './fault.ts'
import type { HostPort } from './types.ts'
import { DURATION_EXPECTED, formatDuration, LISTEN_EXPECTED, ORIGIN_EXPECTED, parseDuration, parseHostPort } from './values.ts'

export class Report {
  readonly fail: Fail

  constructor (fail: Fail) {
    this.fail = fail
  }

  invalid (path: KeyPath, expected: string, got: unknown): never {
    return this.fail(ErrorCode.CONFIG_INVALID, path, `${expected}, got ${show(got)}`)
  }

  /** a duration the schema let through (a number or a string with a unit), checked against its range */
  duration (path: KeyPath, v: number | string | undefined, def: number, minMs: number): number {
    if (v === undefined) return def
    const ms = parseDuration(v)
    if (ms === undefined) return this.invalid(path, DURATION_EXPECTED, v)
    if (ms < minMs || ms > LIMITS.durationMaxMs) {
      return this.invalid(path, `expected a duration between ${formatDuration(minMs)} and ${formatDuration(LIMITS.durationMaxMs)}`, v)
    }
    return ms
  }

  listenAddress (path: KeyPath, v: string): HostPort {
    const r = parseHostPort(v.trim(), { minPort: 0, allowAnyHost: true })
    if (typeof r === 'string') return this.invalid(path, `${LISTEN_EXPECTED} (${r})`, v)
    return r
  }

  /** a server's host:port (port 1-65535); `expected` names the key's whole syntax */
  address (path: KeyPath, v: string, expected = ORIGIN_EXPECTED): HostPort {
    const r = parseHostPort(v.trim(), { minPort: 1, allowAnyHost: false })
    if (typeof r === 'string') return this.invalid(path, `${expected} (${r})`, v)
    return r
  }
}
