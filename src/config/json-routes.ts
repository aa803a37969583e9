/**
 * config/json-routes — a JSON config file read without building its `routes` object: the top level is
 * split into its keys, every key but `routes` parsed with JSON.parse, and the routes map handed on as a
 * RouteSource that reads its entries straight from the bytes, one at a time, as the build step asks.
 *
 * Why: JSON.parse of a million-route file builds a million-key object (~115 MB of heap), which the build
 * step then walks once and drops; reading the entries in place costs two strings per route, and the
 * pattern strings, which ProxyConfig keeps, are flat copies that do not pin the file's text.
 *
 * Contract: `splitJsonConfig(bytes)` returns `{ rest, routes, expected }` for the common shape: a
 * top-level object whose `routes` (at most once) maps keys to a string or an object value, strings
 * without escapes or control characters. Anything else throws NOT_PLAIN (a syntax error, an escape, a
 * number or a list as a route's value, a key `__proto__`, a second `routes`): load.ts then parses the
 * text the ordinary way, which also gives the ordinary error message and position. Values other than
 * routes (and a route's object value) go through JSON.parse, so their syntax is JSON.parse's.
 * `routes` reads the entries when called (once); a malformed entry throws NOT_PLAIN then.
 *
 * Limits: bytes are UTF-8 (what readFile decodes); strings with a byte ≥ 0x80 are decoded as UTF-8,
 * the rest as Latin-1 (the same characters, decoded faster). One pass over the routes' bytes to find
 * where they end, one to read them.
 */
import type { RouteSource } from './validate.ts'

/** thrown where the text is not the plain shape read here; the caller falls back to JSON.parse */
export const NOT_PLAIN = new Error('config JSON is not in the plain shape the fast reader takes')

/** Buffer's decoders with explicit ranges (on Buffer.prototype since Node 0.x; faster than toString) */
interface Slicer extends Uint8Array {
  latin1Slice: (start: number, end: number) => string
  utf8Slice: (start: number, end: number) => string
}

const QUOTE = 0x22 // '"'
const BACKSLASH = 0x5c // '\'
const COLON = 0x3a // ':'
const COMMA = 0x2c // ','
const OPEN_BRACE = 0x7b // '{'
const CLOSE_BRACE = 0x7d // '}'
const OPEN_BRACKET = 0x5b // '['
const CLOSE_BRACKET = 0x5d // ']'
/** the lowest byte allowed unescaped in a JSON string (RFC 8259 §7: control characters must be escaped) */
const FIRST_PRINTABLE = 0x20
const ASCII_END = 0x80
/** bytes of `"pattern": "host:port",` and its indentation in a typical table: sizes the compiler's arrays */
const BYTES_PER_ROUTE_GUESS = 40

/** JSON whitespace (RFC 8259 §2): space, tab, line feed, carriage return */
function isSpace (c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09
}

export interface SplitConfig {
  /** every top-level key but routes, parsed; `routes: {}` in its place when the file has routes */
  readonly rest: Record<string, unknown>
  /** the routes map's entries, read from the bytes when called; undefined when routes is not a map */
  readonly routes: RouteSource | undefined
  /** a guess at the route count, from the bytes the routes take */
  readonly expected: number
}

class Reader {
  readonly b: Slicer
  i = 0

  constructor (bytes: Uint8Array) {
    this.b = bytes as Slicer
  }

  /** skip whitespace; the byte there (-1 at the end) */
  peek (): number {
    const b = this.b
    while (this.i < b.length && isSpace(b[this.i]!)) this.i++
    return this.i < b.length ? b[this.i]! : -1
  }

  expect (c: number): void {
    if (this.peek() !== c) throw NOT_PLAIN
    this.i++
  }

  /** a string without escapes at i (after whitespace), decoded; i moves past its closing quote */
  plainString (): string {
    if (this.peek() !== QUOTE) throw NOT_PLAIN
    const b = this.b
    const start = ++this.i
    let high = 0
    for (let i = start; i < b.length; i++) {
      const c = b[i]!
      if (c === QUOTE) {
        this.i = i + 1
        return high >= ASCII_END ? b.utf8Slice(start, i) : b.latin1Slice(start, i)
      }
      if (c === BACKSLASH || c < FIRST_PRINTABLE) throw NOT_PLAIN
      high |= c
    }
    throw NOT_PLAIN
  }

  /** end of the JSON value at i (not validated: JSON.parse of the range does that) */
  skipValue (): number {
    const b = this.b
    let depth = 0
    let i = this.i
    for (; i < b.length; i++) {
      const c = b[i]!
      if (c === QUOTE) {
        for (i++; i < b.length && b[i] !== QUOTE; i++) if (b[i] === BACKSLASH) i++
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        depth++
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        if (depth === 0) break
        if (--depth === 0) { i++; break }
      } else if (depth === 0 && (c === COMMA || isSpace(c))) {
        break
      }
    }
    if (i > b.length || i === this.i) throw NOT_PLAIN
    return i
  }

  /** the JSON value at i (after whitespace), through JSON.parse; i moves past it */
  parsedValue (): unknown {
    this.peek()
    const start = this.i
    const end = this.skipValue()
    this.i = end
    return JSON.parse(this.b.utf8Slice(start, end)) as unknown
  }
}

/** Split a JSON config (UTF-8 bytes, no BOM) into its routes and the rest; throws NOT_PLAIN (module header). */
export function splitJsonConfig (bytes: Uint8Array): SplitConfig {
  const r = new Reader(bytes)
  const rest: Record<string, unknown> = {}
  let routesAt = -1
  let routesEnd = -1
  r.expect(OPEN_BRACE)
  if (r.peek() === CLOSE_BRACE) {
    r.i++
  } else {
    for (;;) {
      const key = r.plainString()
      if (key === '__proto__') throw NOT_PLAIN
      r.expect(COLON)
      if (key === 'routes' && r.peek() === OPEN_BRACE) {
        if (routesAt >= 0 || Object.hasOwn(rest, key)) throw NOT_PLAIN
        routesAt = r.i
        routesEnd = r.skipValue()
        r.i = routesEnd
        rest.routes = {}
      } else {
        if (key === 'routes' && routesAt >= 0) throw NOT_PLAIN
        rest[key] = r.parsedValue()
      }
      const c = r.peek()
      r.i++
      if (c === CLOSE_BRACE) break
      if (c !== COMMA) throw NOT_PLAIN
    }
  }
  if (r.peek() !== -1) throw NOT_PLAIN
  if (routesAt < 0) return { rest, routes: undefined, expected: 0 }
  const from = routesAt
  return { rest, routes: (visit) => { readRoutes(bytes, from, visit) }, expected: Math.ceil((routesEnd - routesAt) / BYTES_PER_ROUTE_GUESS) }
}

/** the entries of the routes object at `from`, in order: `"pattern": "value"` or `"pattern": { … }` */
function readRoutes (bytes: Uint8Array, from: number, visit: (source: string, value: unknown) => void): void {
  const r = new Reader(bytes)
  r.i = from
  r.expect(OPEN_BRACE)
  if (r.peek() === CLOSE_BRACE) return
  for (;;) {
    const source = r.plainString()
    r.expect(COLON)
    const c = r.peek()
    if (c === QUOTE) visit(source, r.plainString())
    else if (c === OPEN_BRACE) visit(source, r.parsedValue())
    else throw NOT_PLAIN
    const next = r.peek()
    r.i++
    if (next === CLOSE_BRACE) return
    if (next !== COMMA) throw NOT_PLAIN
  }
}

/**
 * Offset of route `source`'s key (`target` 'key') or value ('value') in a JSON config, or undefined
 * when the text is not the plain shape (the caller then locates through the YAML CST, as for any key).
 * The first top-level `routes` and the first entry named `source` in it, as that locator finds them.
 * For errors only: a full scan, so that a fault in a million-route file costs no YAML document.
 */
export function findRouteOffset (bytes: Uint8Array, source: string, target: 'key' | 'value'): number | undefined {
  try {
    const r = new Reader(bytes)
    r.expect(OPEN_BRACE)
    for (;;) {
      const key = r.plainString()
      r.expect(COLON)
      if (key === 'routes') break
      r.peek()
      r.i = r.skipValue()
      if (r.peek() !== COMMA) return undefined
      r.i++
    }
    r.expect(OPEN_BRACE)
    for (;;) {
      const at = r.peek()
      const here = r.i
      if (at !== QUOTE) return undefined
      const key = r.plainString()
      r.expect(COLON)
      const valueAt = (r.peek(), r.i)
      if (key === source) return target === 'key' ? here : valueAt
      r.i = r.skipValue()
      if (r.peek() !== COMMA) return undefined
      r.i++
    }
  } catch (err) {
    if (err === NOT_PLAIN) return undefined
    throw err
  }
}
