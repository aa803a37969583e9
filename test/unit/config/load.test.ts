/**
 * Config files: YAML and JSON (by extension or sniffed), file:line:col in validation errors, syntax and
 * read errors, and the shipped examples/ staying valid.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { detectFormat, loadConfigFile, loadConfigFileSync, parseConfigText } from '../../../src/config/index.ts'
import { ErrorCode, ProxyError } from '../../../src/errors.ts'

const EXAMPLES = new URL('../../../examples/', import.meta.url).pathname

let dir: string
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'hellogate-config-test-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

async function write (name: string, text: string): Promise<string> {
  const p = join(dir, name)
  await writeFile(p, text)
  return p
}

async function loadError (path: string): Promise<ProxyError> {
  try {
    await loadConfigFile(path)
  } catch (err) {
    expect(err).toBeInstanceOf(ProxyError)
    return err as ProxyError
  }
  throw new Error(`expected ${path} to be rejected`)
}

const YAML = `listen:
  - 127.0.0.1:8443
  - "[::1]:8443"
workers: 2
accept: handoff
balance: roundrobin
routes:
  a.example.com: 10.0.0.1:443
  "*.example.net": 10.0.0.2:8443
default: reject
timeouts: { hello: 5s, connect: 5s, idle: 5m, shutdown: 10s }
limits: { maxHelloBytes: 16384, maxConnections: 100000 }
log: { level: info, access: true }
`
const JSON_TEXT = JSON.stringify({
  listen: ['127.0.0.1:8443', '[::1]:8443'],
  workers: 2,
  accept: 'handoff',
  balance: 'roundrobin',
  routes: { 'a.example.com': '10.0.0.1:443', '*.example.net': '10.0.0.2:8443' },
  default: 'reject',
  timeouts: { hello: '5s', connect: '5s', idle: '5m', shutdown: '10s' },
  limits: { maxHelloBytes: 16384, maxConnections: 100000 },
  log: { level: 'info', access: true },
}, null, 2)

describe('formats', () => {
  it('YAML and JSON files describe the same config', async () => {
    const y = await loadConfigFile(await write('same.yaml', YAML))
    const j = await loadConfigFile(await write('same.json', JSON_TEXT))
    expect({ ...y, file: '' }).toEqual({ ...j, file: '' })
    expect(y.file).toBe(join(dir, 'same.yaml'))
    expect(y.listen).toEqual([{ host: '127.0.0.1', port: 8443 }, { host: '::1', port: 8443 }])
    expect(y.timeouts.shutdownMs).toBe(10_000)
  })

  it('sniffs the format when the extension says nothing', async () => {
    expect(detectFormat('x.conf', '  {"routes": {}}')).toBe('json')
    expect(detectFormat('x.conf', 'routes: {}')).toBe('yaml')
    expect(detectFormat('x.YML', '{')).toBe('yaml')
    expect(detectFormat('x.json', 'routes:')).toBe('json')
    const a = await loadConfigFile(await write('sniff-json.conf', JSON_TEXT))
    const b = await loadConfigFile(await write('sniff-yaml', YAML))
    expect(a.routes).toEqual(b.routes)
  })

  it('.yml works and a UTF-8 BOM is ignored', async () => {
    const c = await loadConfigFile(await write('bom.yml', '\uFEFF' + YAML))
    expect(c.routes.length).toBe(2)
    const j = parseConfigText('\uFEFF' + JSON_TEXT, 'bom.json')
    expect(j.routes.length).toBe(2)
  })

  it('YAML 1.2: yes is a string, 5:00 is a string', () => {
    expect(() => parseConfigText('routes: {a.com: "1.2.3.4:1"}\nlog: {access: yes}\n', 'x.yaml')).toThrow("log.access: expected true or false, got 'yes'")
    expect(() => parseConfigText('routes: {a.com: "1.2.3.4:1"}\ntimeouts: {hello: 5:00}\n', 'x.yaml')).toThrow("got '5:00'")
  })

  it('the sync loader gives the same result', async () => {
    const p = await write('sync.yaml', YAML)
    expect(loadConfigFileSync(p)).toEqual(await loadConfigFile(p))
  })
})

describe('errors name file, line:col and key', () => {
  it('YAML: invalid value', async () => {
    const p = await write('bad-duration.yaml', 'routes:\n  a.example.com: 10.0.0.1:443\ntimeouts:\n  hello: x\n')
    const err = await loadError(p)
    expect(err.code).toBe(ErrorCode.CONFIG_INVALID)
    expect(err.message).toBe(`${p}:4:10: timeouts.hello: expected a duration like 5s, 250ms or 5m (a bare number is milliseconds), got 'x'`)
    expect(err.file).toBe(p)
    expect(err.key).toBe('timeouts.hello')
  })

  it('YAML: unknown key points at the key', async () => {
    const p = await write('unknown.yaml', 'routes:\n  a.example.com: 10.0.0.1:443\nlimits:\n  maxConections: 5\n')
    const err = await loadError(p)
    expect(err.code).toBe(ErrorCode.CONFIG_UNKNOWN_KEY)
    expect(err.message.startsWith(`${p}:4:3: limits.maxConections: unknown key (did you mean 'maxConnections'?)`)).toBe(true)
  })

  it('YAML: route pattern errors point at the pattern, list items at the item', async () => {
    const p1 = await write('pattern.yaml', 'routes:\n  a.example.com: 10.0.0.1:443\n  "bad..name": 10.0.0.1:443\n')
    expect((await loadError(p1)).message.startsWith(`${p1}:3:3: routes."bad..name": `)).toBe(true)
    const p3 = await write('dup-pattern.yaml', 'routes:\n  a.example.com: 10.0.0.1:443\n  A.Example.com.: 10.0.0.2:443\n')
    const dup = await loadError(p3)
    expect(dup.code).toBe(ErrorCode.ROUTE_DUPLICATE)
    expect(dup.message).toBe(`${p3}:3:3: routes."A.Example.com.": same pattern as routes."a.example.com" (both are 'a.example.com' after normalisation)`)
    const p2 = await write('list.yaml', 'listen:\n  - 127.0.0.1:1\n  - nope\nroutes: {a.com: "1.2.3.4:1"}\n')
    expect((await loadError(p2)).message.startsWith(`${p2}:3:5: listen[1]: `)).toBe(true)
  })

  it('JSON: positions too', async () => {
    const p = await write('bad.json', '{\n  "routes": { "a.example.com": "10.0.0.1:443" },\n  "workers": "many"\n}\n')
    const err = await loadError(p)
    expect(err.message).toBe(`${p}:3:14: workers: expected auto or an integer between 1 and 256, got 'many'`)
  })

  it('in-memory configs name their pseudo-file', () => {
    expect(() => parseConfigText('routes: 5', '<inline>')).toThrow(/^<inline>:1:9: routes: expected a mapping/)
  })
})

describe('syntax errors', () => {
  it.each([
    ['v6.yaml', 'routes:\n  a.com: [::1]:443\n', 'hint: quote IPv6 addresses in YAML'],
    ['listen6.yaml', 'listen: [::1]:8443\nroutes: {a.com: "1.2.3.4:1"}\n', 'hint: quote IPv6'],
    ['multi.yaml', 'routes: {a.com: "1.2.3.4:1"}\n---\nroutes: {}\n', 'invalid YAML'],
    ['tab.yaml', 'routes:\n\ta.com: 1.2.3.4:1\n', 'invalid YAML'],
    ['alias.yaml', 'routes: *nope\n', 'invalid YAML'],
    ['comma.json', '{"routes": {"a.com": "1.2.3.4:1"},}', 'invalid JSON'],
    ['truncated.json', '{"routes": {', 'invalid JSON'],
  ])('%s', async (name, text, fragment) => {
    const p = await write(name, text)
    const err = await loadError(p)
    expect(err.code).toBe(ErrorCode.CONFIG_SYNTAX)
    expect(err.message.startsWith(`${p}: invalid `)).toBe(true)
    expect(err.message).toContain(fragment)
    expect(err.file).toBe(p)
  })
})

describe('duplicate YAML keys', () => {
  it.each([
    ['routes:\n  a.com: 1.2.3.4:1\n  b.com: 1.2.3.4:1\n  a.com: 1.2.3.4:2\n', ':4:3: routes."a.com": duplicate key (first at 2:3)', 'routes."a.com"'],
    ['routes: {a.com: "1.2.3.4:1"}\nworkers: 1\nworkers: 2\n', ':3:1: workers: duplicate key (first at 2:1)', 'workers'],
    ['routes: {a.com: "1.2.3.4:1"}\nlisten:\n  - 127.0.0.1:1\ntimeouts: {hello: 1s, hello: 2s}\n', ':4:23: timeouts.hello: duplicate key (first at 4:12)', 'timeouts.hello'],
  ])('%j', async (text, fragment, key) => {
    const p = await write('dup.yaml', text)
    const err = await loadError(p)
    expect(err.code).toBe(ErrorCode.CONFIG_SYNTAX)
    expect(err.message).toContain(p + fragment)
    expect(err.key).toBe(key)
  })

  it('checks keys in linear time (yaml\'s uniqueKeys is quadratic)', async () => {
    const n = 20_000
    let text = 'routes:\n'
    for (let i = 0; i < n; i++) text += `  h${i}.example.com: 10.0.0.1:443\n`
    const t = performance.now()
    const c = parseConfigText(text, 'big.yaml')
    const ms = performance.now() - t
    expect(c.routes).toHaveLength(n)
    // generous bound for a loaded CI box; the quadratic check took ~15 s here
    expect(ms).toBeLessThan(10_000)
  }, 20_000)
})

describe('read errors', () => {
  it('missing file', async () => {
    const err = await loadError(join(dir, 'nope.yaml'))
    expect(err.code).toBe(ErrorCode.CONFIG_READ)
    expect(err.message).toBe(`${join(dir, 'nope.yaml')}: cannot read config file: no such file`)
    expect((err.cause as NodeJS.ErrnoException).code).toBe('ENOENT')
    expect(() => loadConfigFileSync(join(dir, 'nope.yaml'))).toThrow(ProxyError)
  })

  it('a directory', async () => {
    const d = join(dir, 'adir.yaml')
    await mkdir(d)
    const err = await loadError(d)
    expect(err.code).toBe(ErrorCode.CONFIG_READ)
    expect(err.message).toContain('is a directory')
  })

  it('an empty file is a validation error, not a crash', async () => {
    const err = await loadError(await write('empty.yaml', '# nothing here\n'))
    expect(err.code).toBe(ErrorCode.CONFIG_INVALID)
    expect(err.message).toContain('the file is empty')
  })
})

describe('examples/', () => {
  it('every shipped example loads', async () => {
    const files = (await readdir(EXAMPLES)).filter(f => /\.(ya?ml|json)$/.test(f))
    expect(files.length).toBeGreaterThanOrEqual(2)
    for (const f of files) {
      const c = await loadConfigFile(join(EXAMPLES, f))
      expect(c.routes.length, f).toBeGreaterThan(0)
    }
  })

  it('the annotated example spells out every default', async () => {
    const c = await loadConfigFile(join(EXAMPLES, 'hellogate.yaml'))
    const d = parseConfigText('routes: {a.com: "1.2.3.4:1"}', 'x.yaml')
    expect({ ...c.timeouts }).toEqual({ ...d.timeouts })
    expect({ ...c.limits }).toEqual({ ...d.limits })
    expect({ ...c.log }).toEqual({ ...d.log })
    expect(c.listen).toEqual(d.listen)
    expect(c.routes.map(r => r.pattern)).toContain('xn--bcher-kva.example.org')
  })
})
