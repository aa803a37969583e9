/**
 * config/fault — how every config error is worded: `file:line:col: dotted.key: what was expected, got …`.
 *
 * Contract: `configError` builds the ProxyError (source Config, `file` and `key` set) for a fault at a key
 * path; the `line:col` part is present when a Locator knows the path (load.ts builds one from the parsed
 * document), else the message starts with the file alone. `formatKeyPath` writes paths the way the
 * messages and the README show them: `timeouts.hello`, `listen[1]`, `routes."*.example.net"`.
 */
import { ErrorSource, ProxyError, type ErrorCode } from '../errors.ts'

/** One step of a key path: an object key or a list index. */
export type KeyPath = ReadonlyArray<string | number>

/**
 * Maps a key path to a `line:col` string in the source file (1-based), or undefined when unknown.
 * `target: 'key'` asks for the key itself (unknown keys), `'value'` for its value.
 */
export type Locator = (path: KeyPath, target: 'key' | 'value') => string | undefined

/** Reports a fault at a key path; never returns (throws the ProxyError configError builds). */
export type Fail = (code: ErrorCode, path: KeyPath, detail: string, target?: 'key' | 'value') => never

/** `['routes', '*.a.com']` → `routes."*.a.com"`, `['listen', 1]` → `listen[1]`. */
export function formatKeyPath (path: KeyPath): string {
  let out = ''
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(seg)) out += out === '' ? seg : `.${seg}`
    else out += (out === '' ? '' : '.') + JSON.stringify(seg)
  }
  return out
}

/** The ProxyError for a fault at `path` in `file`, located through `locate` when it knows the path. */
export function configError (
  file: string, locate: Locator | undefined, code: ErrorCode, path: KeyPath, detail: string, target: 'key' | 'value' = 'value',
): ProxyError {
  const key = formatKeyPath(path)
  const where = locate?.(path, target)
  const prefix = where === undefined ? file : `${file}:${where}`
  return new ProxyError(code, `${prefix}: ${key === '' ? '(top level)' : key}: ${detail}`, {
    source: ErrorSource.Config,
    file,
    key,
  })
}

/** A Fail that throws configError's ProxyError for `file`. */
export function failIn (file: string, locate: Locator | undefined): Fail {
  return (code, path, detail, target = 'value') => { throw configError(file, locate, code, path, detail, target) }
}
