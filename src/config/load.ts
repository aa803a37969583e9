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
 * Limits: files over LIMITS.configFileMaxBytes are refused before reading (HG_ERR_CONFIG_READ).
 * Cost (2-core dev VM, 100k routes): JSON ≈ 0.8 s, YAML several seconds (the yaml package builds a full
 * node tree with positions); for route tables in the 100k+ range prefer JSON.
 */
import { readFileSync, statSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { extname } from 'node:path'

import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml'
import type { Document } from 'yaml'

import { ErrorCode, ErrorSource, ProxyError } from '../errors.ts'
import { LIMITS } from './defaults.ts'
import { substituteEnv } from './env.ts'
import { failIn, formatKeyPath, type KeyPath, type Locator } from './fault.ts'
import { parseConfig } from './validate.ts'
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
  // positions are only needed on the error path: build the YAML CST lazily then
  let lazy: Locator | undefined
  const locate: Locator = (path, target) => {
    if (lazy === undefined) {
      const lines = new LineCounter()
      lazy = documentLocator(parseDocument(text, { lineCounter: lines, uniqueKeys: false }), lines)
    }
    return lazy(path, target)
  }
  return { value, locate }
}

/**
 * Parse and validate config text (no I/O). `file` names the source in messages; `format` defaults to
 * detectFormat(file, text).
 */
export function parseConfigText (text: string, file: string, format: ConfigFormat = detectFormat(file, text)): ProxyConfig {
  const { value, locate } = parseConfigValue(text, file, format)
  return parseConfig(value, file, locate)
}

/** Parse config text into its value with the environment substituted, not yet validated. */
function parseConfigValue (text: string, file: string, format: ConfigFormat = detectFormat(file, text)): { value: unknown, locate: Locator } {
  const clean = text.charCodeAt(0) === 0xFEFF ? text.slice(1) : text
  const { value, locate } = format === 'json' ? parseJson(clean, file) : parseYaml(clean, file)
  return { value: substituteEnv(value, failIn(file, locate)), locate }
}

/**
 * Read and parse a config file into its value (environment substituted), not validated: what a source
 * of further routes (source/, etcd) merges its entries into before the whole is validated.
 */
export async function loadConfigValue (file: string): Promise<unknown> {
  return parseConfigValue(await readConfigText(file), file).value
}

async function readConfigText (file: string): Promise<string> {
  try {
    const st = await stat(file)
    if (st.isFile() && st.size > LIMITS.configFileMaxBytes) throw tooLarge(file, st.size)
    return await readFile(file, 'utf8')
  } catch (err) {
    throw err instanceof ProxyError ? err : readError(file, err)
  }
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

/** Read, parse and validate a config file. Rejects with ProxyError (HG_ERR_CONFIG_*). */
export async function loadConfigFile (file: string): Promise<ProxyConfig> {
  return parseConfigText(await readConfigText(file), file)
}

/** Synchronous loadConfigFile, for tools that cannot await. */
export function loadConfigFileSync (file: string): ProxyConfig {
  let text: string
  try {
    const st = statSync(file)
    if (st.isFile() && st.size > LIMITS.configFileMaxBytes) throw tooLarge(file, st.size)
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw err instanceof ProxyError ? err : readError(file, err)
  }
  return parseConfigText(text, file)
}
