/**
 * config/access — the client address lists of a config (`access`, a route's allow/deny, a listen address's
 * proxyProtocol.from), checked and compiled once at load, with file:line errors for bad entries.
 *
 * Contract:
 *  - `compileCidrs(fail, path, allow, deny)` compiles the lists with access/compileAccessList and reports the
 *    first bad entry through `fail` at `path.<list>[i]` (parseConfig's located `fail`: file:line:col). An
 *    entry that overlaps another, in the same list or across allow and deny, is not an error: ranges are
 *    merged, and deny wins over allow wherever both match (so `allow: [10.0.0.0/8]` with
 *    `deny: [10.6.0.0/16]` carves a hole). A bare address is one host (/32, /128).
 *  - What parseConfig compiled is kept for its config (`rememberAccess`) and handed over once by
 *    `compileConfigAccess(config)`, so a 100 000-entry list is compiled once per load; a config that never
 *    went through parseConfig (one that crossed postMessage) is compiled again, through the same function.
 *
 * Limits: list lengths are bounded by the schema (LIMITS.accessEntriesMax).
 */
import { compileAccessList, type AccessList } from '../access/index.ts'
import { ErrorCode } from '../errors.ts'
import { failIn, type Fail, type KeyPath } from './fault.ts'
import type { ProxyConfig } from './types.ts'

/** The compiled lists of one config: global, per route index (only routes that have lists), per listen address. */
export interface CompiledAccess {
  readonly global: AccessList | null
  readonly routes: ReadonlyMap<number, AccessList>
  /** listen[i].proxyProtocol.from as an allow list; null for a listen address without proxyProtocol */
  readonly listen: ReadonlyArray<AccessList | null>
}

/** Compile one allow/deny pair, or report its first bad entry at `path.allow[i]` / `path.deny[i]`. */
export function compileCidrs (fail: Fail, path: KeyPath, allow: readonly string[], deny: readonly string[]): AccessList {
  const result = compileAccessList(allow, deny)
  if ('code' in result) {
    return fail(ErrorCode.CONFIG_INVALID, [...path, result.list, result.index],
      `${result.reason}, got '${result.entry}'`)
  }
  return result
}

/**
 * Compile `from` (a proxyProtocol trust list) as an allow-only list, reporting at `path.from[i]`: the
 * error names `from`, not `allow`.
 */
export function compileTrusted (fail: Fail, path: KeyPath, from: readonly string[]): AccessList {
  const result = compileAccessList(from, [])
  if ('code' in result) {
    return fail(ErrorCode.CONFIG_INVALID, [...path, 'from', result.index], `${result.reason}, got '${result.entry}'`)
  }
  return result
}

const remembered = new WeakMap<ProxyConfig, CompiledAccess>()

/** Keep what parseConfig compiled for `config`, for compileConfigAccess to hand over once. */
export function rememberAccess (config: ProxyConfig, compiled: CompiledAccess): void {
  remembered.set(config, compiled)
}

/** Compile every list of a validated config (throws ProxyError naming the file and key on a bad entry). */
function compileAll (config: ProxyConfig, fail: Fail): CompiledAccess {
  const global = config.access === null ? null : compileCidrs(fail, ['access'], config.access.allow, config.access.deny)
  const routes = new Map<number, AccessList>()
  config.routes.forEach((r, i) => {
    if (r.access !== undefined && (r.access.allow.length > 0 || r.access.deny.length > 0)) {
      routes.set(i, compileCidrs(fail, ['routes', r.source], r.access.allow, r.access.deny))
    }
  })
  const listen = config.listen.map((l, i) => l.proxyProtocol === undefined ? null : compileTrusted(fail, ['listen', i, 'proxyProtocol'], l.proxyProtocol.from))
  return { global, routes, listen }
}

/** The compiled lists of a validated config: the ones parseConfig built (handed over once), else compiled now. */
export function compileConfigAccess (config: ProxyConfig): CompiledAccess {
  const kept = remembered.get(config)
  if (kept !== undefined) {
    remembered.delete(config)
    return kept
  }
  return compileAll(config, failIn(config.file, undefined))
}

/** parseConfig's step: compile with its located `fail` and remember the result. */
export function checkConfigAccess (config: ProxyConfig, fail: Fail): void {
  rememberAccess(config, compileAll(config, fail))
}
