/**
 * Route-table generator for the config-load benchmark: N routes as a JSON or YAML config file.
 *
 * Contract: `writeRoutesFile(file, format, routes, origins)` writes a valid config with `routes` routes:
 * route i is `n<i>.c<i % 1000>.example.com` (every WILDCARD_EVERY-th one `*.w<i>.c<i % 1000>.example.net`)
 * to the host:port `10.a.b.c:443` of origin `i % origins` (origins = routes: a distinct address per
 * route, the worst case for implicit pools). The text is produced in chunks and appended, so generating a
 * 1M-route file never holds it whole in this process. `listen` is the proxy's address (a fixed port
 * for `serve` runs, which wait for it to accept); `workers` worker threads (2 unless told), shutdown 0 so that a stop is immediate,
 * log level info for the `listening` line (written once every worker is up), access log off.
 *
 * Limits: origins up to 2^24 (the 10.0.0.0/8 addresses); names stay far below every names/ limit.
 */
import { appendFileSync, writeFileSync } from 'node:fs'

export type Format = 'json' | 'yaml'

/** one route in WILDCARD_EVERY is a wildcard: CDN tables are mostly exact names with some subtrees */
const WILDCARD_EVERY = 20
/** routes written per appendFileSync: ~1 MB of text, few syscalls, bounded memory */
const CHUNK_ROUTES = 20_000
/** second-level fanout: one `.com` node with 1000 children, each with its own names below */
const FANOUT = 1000

export function routePattern (i: number): string {
  return i % WILDCARD_EVERY === 0 ? `*.w${i}.c${i % FANOUT}.example.net` : `n${i}.c${i % FANOUT}.example.com`
}

export function routeTarget (i: number, origins: number): string {
  const o = i % origins
  return `10.${(o >>> 16) & 255}.${(o >>> 8) & 255}.${o & 255}:443`
}

/** Write the config file; returns its size in bytes. */
export function writeRoutesFile (file: string, format: Format, routes: number, origins: number = routes, listen = '127.0.0.1:0', workers = 2): number {
  let bytes = 0
  const put = (s: string, first = false): void => {
    if (first) writeFileSync(file, s)
    else appendFileSync(file, s)
    bytes += Buffer.byteLength(s)
  }
  put(format === 'json'
    ? `{\n  "listen": "${listen}",\n  "workers": ${workers},\n  "timeouts": { "shutdown": 0 },\n  "log": { "level": "info", "access": false },\n  "routes": {\n`
    : `listen: ${listen}\nworkers: ${workers}\ntimeouts:\n  shutdown: 0\nlog:\n  level: info\n  access: false\nroutes:\n`, true)
  for (let start = 0; start < routes; start += CHUNK_ROUTES) {
    const lines: string[] = []
    const end = Math.min(routes, start + CHUNK_ROUTES)
    for (let i = start; i < end; i++) {
      const p = routePattern(i)
      const t = routeTarget(i, origins)
      lines.push(format === 'json' ? `    "${p}": "${t}"${i === routes - 1 ? '' : ','}` : `  "${p}": ${t}`)
    }
    put(lines.join('\n') + '\n')
  }
  if (format === 'json') put('  }\n}\n')
  return bytes
}
