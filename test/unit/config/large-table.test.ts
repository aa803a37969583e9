/**
 * Large route tables: a JSON file is read without building its routes object (config/json-routes.ts),
 * and entries can be fed without a file (parseConfigWithRoutes). Both must give exactly the config the
 * ordinary path gives (JSON.parse of the whole text, then parseConfig), hence the same lookups; and a
 * fault deep in a big file must still be reported by the ordinary path, with its file:line:col.
 * Not timed: the speed and memory targets are bench/load-config's.
 */
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { compileConfigRoutes, loadConfigFile, parseConfig, parseConfigWithRoutes, type ProxyConfig } from '../../../src/config/index.ts'
import { buildRouteState, routeStateFromTable } from '../../../src/pool/index.ts'
import { splitJsonConfig } from '../../../src/config/json-routes.ts'
import { parseConfigFrom } from '../../../src/config/validate.ts'
import { ErrorCode, ProxyError } from '../../../src/errors.ts'
import { matchServerName, verifyTable, type CompiledRoutes } from '../../../src/routes/index.ts'
import { referenceMatch } from '../../../src/routes/reference.ts'

/** routes in the generated table: above validate.ts's shared-memory threshold, small enough to stay quick */
const ROUTES = 50_000
/** generous: the ordinary path (a YAML CST for positions) over 50 000 routes on a busy 2-CPU machine */
const TIMEOUT_MS = 120_000
/** lines before the first route in text() */
const HEADER_LINES = 9

let dir: string
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'hellogate-large-table-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

/** route i as written: a mix of exact, wildcard, upper-case, trailing-dot and Unicode patterns */
function pattern (i: number): string {
  switch (i % 10) {
    case 0: return `*.w${i}.c${i % 97}.example.net`
    case 1: return `N${i}.C${i % 97}.Example.COM`
    case 2: return `n${i}.c${i % 97}.example.org.`
    case 3: return `bücher${i}.example.de`
    default: return `n${i}.c${i % 97}.example.com`
  }
}

/** route i's value: an address (some shared, some written unusually), a pool, or the long form */
function value (i: number): unknown {
  switch (i % 7) {
    case 0: return 'web'
    case 1: return { upstream: 'web', alpn: { h2: `10.1.${(i >> 8) & 255}.${i & 255}:443`, 'http/1.1': 'api' } }
    case 2: return `Origin${i % 50}.Example.internal:8443`
    case 3: return ` 10.2.0.${i % 200}:443 `
    default: return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:443`
  }
}

/** the file, one route per line (route i on line HEADER_LINES + 1 + i); `bad` replaces route i's line */
function text (bad?: { index: number, line: string }): string {
  const lines = [
    '{',
    '  "listen": "127.0.0.1:8443",',
    '  "upstreams": {',
    '    "web": { "servers": ["10.9.0.1:443", "10.9.0.2:443"], "health": { "check": "tcp" } },',
    '    "api": { "servers": ["10.9.1.1:443"] }',
    '  },',
    '  "default": "web",',
    '  "timeouts": { "hello": "3s" },',
    '  "routes": {',
  ]
  for (let i = 0; i < ROUTES; i++) {
    const comma = i === ROUTES - 1 ? '' : ','
    lines.push(bad?.index === i ? bad.line + comma : `    ${JSON.stringify(pattern(i))}: ${JSON.stringify(value(i))}${comma}`)
  }
  lines.push('  },', '  "log": { "level": "warn" }', '}', '')
  return lines.join('\n')
}

/** the ordinary path: JSON.parse of the whole text, then parseConfig (what load.ts falls back to) */
function reference (file: string, t: string): ProxyConfig {
  return parseConfig(JSON.parse(t), file)
}

/** route i's own name (a label in front of a wildcard), a deeper name and a miss */
function probes (r: ProxyConfig['routes'][number]): string[] {
  const name = r.pattern.startsWith('*.') ? `x${r.pattern.slice(1)}` : r.pattern
  return [name, `deeper.${name}`, `${name}x`]
}

/** routes/reference.ts scans every pattern per lookup: it checks one route in this many */
const REFERENCE_SAMPLE_EVERY = 251

/**
 * `table` answers every probe as the table the ordinary path compiled, and a sample of them as the
 * naive reference matcher over the ordinary path's patterns.
 */
function expectSameLookups (table: CompiledRoutes, ref: ProxyConfig): void {
  const refTable = compileConfigRoutes(ref)
  const patterns = ref.routes.map((r) => r.pattern)
  const targets = ref.routes.map((_, i) => i)
  let mismatches = 0
  let checked = 0
  ref.routes.forEach((r, i) => {
    for (const name of probes(r)) {
      const b = Buffer.from(name, 'latin1')
      const got = matchServerName(table, b, 0, b.length)
      if (got !== matchServerName(refTable, b, 0, b.length)) mismatches++
      if (i % REFERENCE_SAMPLE_EVERY === 0) {
        checked++
        if (got !== referenceMatch(patterns, targets, name)) mismatches++
      }
    }
  })
  expect(checked).toBeGreaterThan(500)
  expect(mismatches).toBe(0)
}

async function loadError (file: string): Promise<ProxyError> {
  const err = await loadConfigFile(file).then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(ProxyError)
  return err as ProxyError
}

describe('a 50 000-route JSON file', { timeout: TIMEOUT_MS }, () => {
  it('loads to the config and lookups of the ordinary path, through the fast reader', async () => {
    const t = text()
    const file = join(dir, 'big.json')
    await writeFile(file, t)
    const ref = reference(file, t)
    expect(ref.routes.length).toBe(ROUTES)

    // the fast reader takes this file as it is (no fallback hides a fault in it)
    const split = splitJsonConfig(readFileSync(file))
    const fast = parseConfigFrom(split.rest, file, undefined, split.routes, split.expected)
    expect(fast).toEqual(ref)

    const loaded = await loadConfigFile(file)
    expect(loaded).toEqual(ref)
    const table = compileConfigRoutes(loaded)
    expect(table.nodes.buffer).toBeInstanceOf(SharedArrayBuffer) // compiled where workers share it
    expect([...table.targets]).toEqual(ref.routes.map((_, i) => i))
    expectSameLookups(table, ref)
  })

  it('builds the workers\' per-route arrays from parseConfig\'s columns exactly as from the RouteEntry objects', async () => {
    const file = join(dir, 'columns.json')
    await writeFile(file, text())
    const loaded = await loadConfigFile(file)
    // buildRouteState takes the table and the columns parseConfig kept (no walk over the routes)
    const fromColumns = buildRouteState(loaded)
    // the same table, the per-route values read from config.routes
    const fromRoutes = routeStateFromTable(loaded, { ...fromColumns.routes, patterns: loaded.routes.map((r) => r.pattern) })
    expect(loaded.routes.filter((r) => r.alpn.length > 0).length).toBeGreaterThan(1000)
    for (const k of ['routeUpstream', 'alpnFirst', 'alpnCount', 'alpnProtoStart', 'alpnProto', 'alpnUpstream'] as const) {
      expect([...fromColumns[k]], k).toEqual([...fromRoutes[k]])
    }
    expect(verifyTable(fromColumns.routes)).toBe(true)
  })

  it('tells the worker count before it reads the first route (serve starts the workers then)', () => {
    const raw = JSON.parse(text()) as { routes: Record<string, unknown> }
    const events: string[] = []
    const config = parseConfigFrom({ ...raw, routes: undefined, workers: 3 }, 'kv', undefined, (visit) => {
      events.push('routes')
      for (const [k, v] of Object.entries(raw.routes)) visit(k, v)
    }, 0, { onWorkers: (n) => { events.push(`workers ${n}`) } })
    expect(config.workers).toBe(3)
    expect(events).toEqual(['workers 3', 'routes'])
  })

  it('gives the same config from entries (parseConfigWithRoutes), as a key-value store would feed them', () => {
    const raw = JSON.parse(text()) as { routes: Record<string, unknown> }
    const ref = parseConfig(raw, 'kv')
    const config = parseConfigWithRoutes({ ...raw, routes: undefined }, 'kv', Object.entries(raw.routes))
    expect(config).toEqual(ref)
    expectSameLookups(compileConfigRoutes(config), ref)
  })

  it('reports a bad pattern, a bad target and a duplicate deep in the file at their file:line:col', async () => {
    const index = 41_234
    const line = HEADER_LINES + 1 + index
    const cases = [
      { line: '    "bad*.example.com": "10.0.0.1:443"', col: 5, message: 'routes."bad*.example.com": expected a host name', code: ErrorCode.CONFIG_INVALID },
      { line: '    "deep.example.com": "10.0.0.1:99999"', col: 25, message: 'routes."deep.example.com": expected host:port', code: ErrorCode.CONFIG_INVALID },
      { line: '    "N5.c5.example.com": "10.0.0.1:443"', col: 5, message: 'routes."N5.c5.example.com": same pattern as routes."n5.c5.example.com"', code: ErrorCode.ROUTE_DUPLICATE },
    ]
    for (const c of cases) {
      const file = join(dir, 'bad.json')
      await writeFile(file, text({ index, line: c.line }))
      const err = await loadError(file)
      expect(err.code).toBe(c.code)
      expect(err.message.startsWith(`${file}:${line}:${c.col}: ${c.message}`), err.message).toBe(true)
    }
  })

  it('falls back to the ordinary reader for what the fast one does not take, with the same result', async () => {
    // an escaped key and a duplicate key (JSON.parse: the last value wins, in the first one's place)
    const escaped = text({ index: 7, line: '    "n\\u0037.c7.example.com": "10.0.0.7:443"' })
    const duplicated = text({ index: 8, line: '    "n9.c9.example.com": "10.0.0.8:443"' })
    for (const [name, t] of [['escaped.json', escaped], ['duplicated.json', duplicated]] as const) {
      const file = join(dir, name)
      await writeFile(file, t)
      expect(await loadConfigFile(file)).toEqual(reference(file, t))
    }
  })
})
