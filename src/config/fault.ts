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

/** longest value quoted back in an error message; longer ones are cut with an ellipsis */
const MAX_SHOWN_VALUE_CHARS = 60

/** The value as an error message shows it: strings quoted, containers named. */
export function show (v: unknown): string {
  if (typeof v === 'string') {
    const s = v.length > MAX_SHOWN_VALUE_CHARS ? `${v.slice(0, MAX_SHOWN_VALUE_CHARS)}…` : v
    return `'${s}'`
  }
  if (v === null) return 'null (an empty value)'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  return String(v)
}

/** Levenshtein distance, for "did you mean" (tiny inputs only). */
function editDistance (a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.length]!
}

/** shortest common start that makes a prefix a hint (`health` for `healthcheck`, not `h` for `hash`) */
const MIN_PREFIX_HINT = 4

/**
 * ` (did you mean 'x'?)` when one of `known` is close to `word`, else ''. Close: the same letters in
 * another case, a typo or near-synonym (maxHelloSize → maxHelloBytes) of up to a third of the word's
 * length in edits (at least 2), or one word extending the other (healthcheck → health, server → servers).
 */
export function didYouMean (word: string, known: Iterable<string>): string {
  const limit = Math.max(2, Math.floor(word.length / 3))
  const w = word.toLowerCase()
  // the same letters in another case first: `denyJA4` means `denyJa4`, not the prefix `deny`
  const list = [...known] // may be a one-shot iterator
  for (const c of list) if (c.toLowerCase() === w) return ` (did you mean '${c}'?)`
  for (const c of list) {
    const k = c.toLowerCase()
    const prefix = Math.min(k.length, w.length) >= MIN_PREFIX_HINT && (w.startsWith(k) || k.startsWith(w))
    if (k === w || editDistance(c, word) <= limit || prefix) return ` (did you mean '${c}'?)`
  }
  return ''
}
