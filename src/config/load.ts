/**
 * Config file loading: read → parse (YAML or JSON) → validate (validate.ts) → deep-frozen ProxyConfig.
 *
 * Contract:
 *  - Format by extension (`.json` → JSON, `.yaml`/`.yml` → YAML); any other name is sniffed: a first
 *    non-blank character of `{` means JSON, anything else YAML.
 *  - YAML is parsed as YAML 1.2 (core schema: `yes` is a string, `5:00` is a string), duplicate keys are
 *    a syntax error, multiple documents are a syntax error.
 *  - JSON is parsed with JSON.parse (duplicate keys: the last one wins, as JSON.parse does).
 *  - `${NAME}` in string values is replaced by the environment variable NAME before validation (env.ts);
 *    a variable that is not set is an error at its file:line:col.
 *  - Read failures → HG_ERR_CONFIG_READ, parse failures → HG_ERR_CONFIG_SYNTAX, both naming the file;
 *    validation errors (validate.ts) carry `file:line:col` located through the parsed document.
 *
 *  - A JSON file is first read without building its routes object (json-routes.ts: entries go from the
 *    bytes to the compiler); on anything that reader does not take, or any fault, the whole text is
 *    parsed the ordinary way, so every message and position is the ordinary path's.
 *
 * Limits: files over LIMITS.configFileMaxBytes are refused before reading (HG_ERR_CONFIG_READ).
 * Cost (2-vCPU VM, CPU time): JSON 1M routes ≈ 3.6 s and ~540 MB peak RSS (bench/load-config), YAML
 * 300k routes ≈ 10 s and ~800 MB (the yaml package builds a full node tree with positions); for route
 * tables in the 100k+ range prefer JSON.
 */
import { readFileSync, statSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { extname } from 'node:path'

import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml'
import type { Document } from 'yaml'

import { ErrorCode, ErrorSource, isProxyError, ProxyError } from '../errors.ts'
import { LIMITS } from './defaults.ts'
import { substituteEnv } from './env.ts'
import { failIn, formatKeyPath, type KeyPath, type Locator } from './fault.ts'
import { findRouteOffset, NOT_PLAIN, splitJsonConfig } from './json-routes.ts'
import { parseConfigFrom, type LoadHooks } from './validate.ts'
import type { ProxyConfig } from './types.ts'

export type ConfigFormat = 'yaml' | 'json'

/** largest number of YAML aliases expanded (yaml's own default; stops "billion laughs" documents) */
const MAX_YAML_ALIASES = 100

/** Format from the file name, else from the first non-blank character. */
export function detectFormat (file: string, text: string): ConfigFormat {
  const ext = extname(file).toLowerCase()
  if (ext === '.json') return 'json'
  if (ext === '.yaml' || ext === '.yml') return 'yaml'
  return /^\s*\{/.test(text) ? 'json' : 'yaml'
}

function syntaxError (file: string, detail: string, cause?: unknown): ProxyError {
  return new ProxyError(ErrorCode.CONFIG_SYNTAX, `${file}: ${detail}`, { source: ErrorSource.Config, file, cause })
}

/** Locator over a parsed YAML document (JSON text parses as YAML too, for positions only). */
function documentLocator (doc: Document, lines: LineCounter): Locator {
  return (path: KeyPath, target: 'key' | 'value') => {
    let node: unknown = doc.contents
    let keyNode: unknown
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find(p => keyText(p.key) === String(seg))
        if (pair === undefined) return undefined
        keyNode = pair.key
        node = pair.value
      } else if (isSeq(node) && typeof seg === 'number') {
        keyNode = undefined
        node = node.items[seg]
      } else {
        return undefined
      }
    }
    const n = target === 'key' && keyNode !== undefined ? keyNode : node
    const range = (n as { range?: [number, number, number] } | null | undefined)?.range
    if (range === undefined) return undefined
    const pos = lines.linePos(range[0])
    return `${pos.line}:${pos.col}`
  }
}

/** A scalar key's text; complex keys (rare, never valid here) by their YAML form. */
function keyText (key: unknown): string {
  return String(isScalar(key) ? key.value : key)
}

/**
 * Duplicate keys in any mapping → CONFIG_SYNTAX naming the key path and both positions. Done here in one
 * O(n) pass because yaml's own `uniqueKeys` check scans the map per insert: O(n²), 4 s for 10k routes.
 */
function checkUniqueKeys (node: unknown, path: Array<string | number>, file: string, lines: LineCounter): void {
  if (isMap(node)) {
    const seen = new Map<string, unknown>()
    for (const pair of node.items) {
      const k = keyText(pair.key)
      const first = seen.get(k)
      if (first !== undefined) {
        const at = (n: unknown): string => {
          const r = (n as { range?: [number, number, number] } | null)?.range
          if (r === undefined) return '?'
          const p = lines.linePos(r[0])
          return `${p.line}:${p.col}`
        }
        throw new ProxyError(ErrorCode.CONFIG_SYNTAX,
          `${file}:${at(pair.key)}: ${formatKeyPath([...path, k])}: duplicate key (first at ${at(first)}); YAML map keys must be unique`,
          { source: ErrorSource.Config, file, key: formatKeyPath([...path, k]) })
      }
      seen.set(k, pair.key)
      checkUniqueKeys(pair.value, [...path, k], file, lines)
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => { checkUniqueKeys(item, [...path, i], file, lines) })
  }
}

function parseYaml (text: string, file: string): { value: unknown, locate: Locator } {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: false })
  const first = doc.errors[0]
  if (first !== undefined) {
    // yaml's message already carries "at line L, column C" plus a caret excerpt
    let detail = `invalid YAML: ${first.message}`
    const lineText = text.split('\n')[(first.linePos?.[0].line ?? 0) - 1] ?? ''
    if (/\[[0-9a-fA-F:.%]*:[0-9a-fA-F:.%]*\]:\d/.test(lineText)) {
      detail += '\nhint: quote IPv6 addresses in YAML, e.g. "[::1]:8443" (an unquoted [ starts a list)'
    }
    throw syntaxError(file, detail, first)
  }
  checkUniqueKeys(doc.contents, [], file, lines)
  let value: unknown
  try {
    value = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES })
  } catch (err) {
    throw syntaxError(file, `invalid YAML: ${(err as Error).message}`, err)
  }
  return { value, locate: documentLocator(doc, lines) }
}

function parseJson (text: string, file: string): { value: unknown, locate: Locator } {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw syntaxError(file, `invalid JSON: ${(err as Error).message}`, err)
  }
  // positions are only needed on the error path: build the YAML CST lazily then, except for a route's
  // key or value, found by scanning the bytes (a million-route file's CST takes gigabytes)
  let lazy: Locator | undefined
  let bytes: Buffer | undefined
  const locate: Locator = (path, target) => {
    if (path.length === 2 && path[0] === 'routes' && typeof path[1] === 'string') {
      bytes ??= Buffer.from(text, 'utf8')
      const where = routePosition(bytes, path[1], target)
      if (where !== undefined) return where
    }
    if (lazy === undefined) {
      const lines = new LineCounter()
      lazy = documentLocator(parseDocument(text, { lineCounter: lines, uniqueKeys: false }), lines)
    }
    return lazy(path, target)
  }
  return { value, locate }
}

/**
 * `line:col` of route `source`'s key or value in JSON bytes, counted as the YAML locator counts (1-based,
 * col in characters); undefined where that is not certain (not the plain shape, a carriage return
 * alone, which YAML may count as a line break).
 */
function routePosition (bytes: Buffer, source: string, target: 'key' | 'value'): string | undefined {
  const offset = findRouteOffset(bytes, source, target)
  if (offset === undefined) return undefined
  let line = 1
  let lineStart = 0
  for (let i = 0; i < offset; i++) {
    const c = bytes[i]!
    if (c === LF) {
      line++
      lineStart = i + 1
    } else if (c === CR && bytes[i + 1] !== LF) {
      return undefined
    }
  }
  return `${line}:${bytes.toString('utf8', lineStart, offset).length + 1}`
}

const LF = 0x0a
const CR = 0x0d

/**
 * Parse and validate config text (no I/O). `file` names the source in messages; `format` defaults to
 * detectFormat(file, text).
 */
export function parseConfigText (text: string, file: string, format: ConfigFormat = detectFormat(file, text), hooks?: LoadHooks): ProxyConfig {
  const clean = text.charCodeAt(0) === 0xFEFF ? text.slice(1) : text
  if (format === 'json') {
    const fast = parseJsonFast(Buffer.from(clean, 'utf8'), file, hooks)
    if (fast !== undefined) return fast
  }
  return parseTextSlow(clean, file, format, hooks)
}

/** Parse config text (byte order mark removed) into its value with the environment substituted, not yet validated. */
function parseConfigValue (clean: string, file: string, format: ConfigFormat): { value: unknown, locate: Locator } {
  const { value, locate } = format === 'json' ? parseJson(clean, file) : parseYaml(clean, file)
  return { value: substituteEnv(value, failIn(file, locate)), locate }
}

/** the whole text parsed (JSON.parse or yaml), then validated: every error with its position */
function parseTextSlow (clean: string, file: string, format: ConfigFormat, hooks?: LoadHooks): ProxyConfig {
  const { value, locate } = parseConfigValue(clean, file, format)
  return parseConfigFrom(value, file, locate, undefined, 0, hooks)
}

/**
 * Read and parse a config file into its value (environment substituted), not validated: what a source
 * of further routes (source/, etcd) merges its entries into before the whole is validated.
 */
export async function loadConfigValue (file: string): Promise<unknown> {
  const text = (await readConfigBytes(file)).toString('utf8')
  const clean = text.charCodeAt(0) === 0xFEFF ? text.slice(1) : text
  return parseConfigValue(clean, file, detectFormat(file, clean)).value
}

/** The file's bytes, size-capped; read errors as HG_ERR_CONFIG_READ. */
async function readConfigBytes (file: string): Promise<Buffer> {
  try {
    const st = await stat(file)
    if (st.isFile() && st.size > LIMITS.configFileMaxBytes) throw tooLarge(file, st.size)
    return await readFile(file)
  } catch (err) {
    throw err instanceof ProxyError ? err : readError(file, err)
  }
}

/**
 * A JSON config read without building its routes object (json-routes.ts), or undefined when that is
 * not possible or finds any fault: then the caller parses the text the ordinary way, which reports the
 * fault with its position and the ordinary wording. So this path is only ever taken by a valid file,
 * and gives the config parseTextSlow would (same checks, same order, same values).
 */
function parseJsonFast (bytes: Uint8Array, file: string, hooks?: LoadHooks): ProxyConfig | undefined {
  try {
    const { rest, routes, expected } = splitJsonConfig(bytes)
    return parseConfigFrom(substituteEnv(rest, failIn(file, undefined)), file, undefined, routes, expected, hooks)
  } catch (err) {
    if (err === NOT_PLAIN || err instanceof SyntaxError || isProxyError(err)) return undefined
    throw err
  }
}

/** UTF-8 byte order mark */
const BOM = [0xEF, 0xBB, 0xBF] as const

/**
 * Parse and validate the bytes of a config file: a JSON file through the fast path first (no text of
 * the whole file, no routes object), anything else or any fault through parseConfigText.
 */
function parseConfigBytes (bytes: Buffer, file: string, hooks?: LoadHooks): ProxyConfig {
  const from = bytes[0] === BOM[0] && bytes[1] === BOM[1] && bytes[2] === BOM[2] ? BOM.length : 0
  if (sniffJson(file, bytes, from)) {
    const fast = parseJsonFast(bytes.subarray(from), file, hooks)
    if (fast !== undefined) return fast
    return parseTextSlow(bytes.toString('utf8', from), file, 'json', hooks)
  }
  const text = bytes.toString('utf8')
  return parseConfigText(text, file, detectFormat(file, text), hooks)
}

/** detectFormat(file, text) === 'json', decided on the bytes where that is certain (else false) */
function sniffJson (file: string, bytes: Buffer, from: number): boolean {
  const ext = extname(file).toLowerCase()
  if (ext === '.json') return true
  if (ext === '.yaml' || ext === '.yml') return false
  let i = from
  while (i < bytes.length && (bytes[i] === 0x20 || (bytes[i]! >= 0x09 && bytes[i]! <= 0x0d))) i++
  // a non-ASCII byte first may be Unicode white space before a '{': parseConfigText decides then
  return bytes[i] === 0x7b
}

function readError (file: string, err: unknown): ProxyError {
  const e = err as NodeJS.ErrnoException
  const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.code === 'EACCES' ? 'permission denied' : e.message
  return new ProxyError(ErrorCode.CONFIG_READ, `${file}: cannot read config file: ${why}`, { source: ErrorSource.Config, file, cause: err })
}

function tooLarge (file: string, size: number): ProxyError {
  return new ProxyError(ErrorCode.CONFIG_READ,
    `${file}: config file is ${size} bytes, more than the ${LIMITS.configFileMaxBytes} byte limit`, { source: ErrorSource.Config, file })
}

/**
 * Read, parse and validate a config file. Rejects with ProxyError (HG_ERR_CONFIG_*). `hooks`: what the
 * caller learns while it is built (validate.ts LoadHooks).
 */
export async function loadConfigFile (file: string, hooks?: LoadHooks): Promise<ProxyConfig> {
  return parseConfigBytes(await readConfigBytes(file), file, hooks)
}

/** Synchronous loadConfigFile, for tools that cannot await. */
export function loadConfigFileSync (file: string): ProxyConfig {
  let bytes: Buffer
  try {
    const st = statSync(file)
    if (st.isFile() && st.size > LIMITS.configFileMaxBytes) throw tooLarge(file, st.size)
    bytes = readFileSync(file)
  } catch (err) {
    throw err instanceof ProxyError ? err : readError(file, err)
  }
  return parseConfigBytes(bytes, file)
}
