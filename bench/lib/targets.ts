/**
 * Start the benchmark origin and the Node proxies under test (hellogate from dist/, or the stand-in).
 *
 * Contract:
 * - `startOrigin()` runs bench/load/origin.ts in its own process on a fresh 127.0.0.1 port and
 *   resolves once it accepts connections.
 * - `resolveProxy('hellogate' | 'standin')` picks the entry point: hellogate is
 *   `node dist/cli.js serve --config FILE` and needs `npm run build` first (or set
 *   `HELLOGATE_CLI=src/cli.ts` to run the sources); when the entry point is missing it falls back to
 *   the stand-in and says so in `note`.
 * - `startNodeProxy()` writes the YAML config (the public hellogate config shape, `workers: 1`)
 *   into `dir` and starts the proxy pinned to `cpu`, with RLIMIT_NOFILE raised to `nofile`.
 *
 * Limits: one route (BENCH_SNI → the origin), `default: reject`. Logging at `warn` without access
 * logs by default, so logging cost is not part of the measurement; the shipped default
 * (`log: { level: info, access: true }`) is one option away (`accessLog`), its lines going to the
 * child's log file as stdout would go to a file or a pipe in production.
 */
import { existsSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { REPO_ROOT } from './results.ts'
import { freePort, spawnChild, waitForPort, type Child } from './children.ts'

/** The one routed name; the fixture certificate is issued for it. */
export const BENCH_SNI = 'bench.hellogate.test'
/** hellogate's entry point: dist/cli.js, or `$HELLOGATE_CLI` (e.g. `src/cli.ts` to skip the build; Node 24 strips types). */
export const HELLOGATE_CLI = path.resolve(REPO_ROOT, process.env.HELLOGATE_CLI ?? path.join('dist', 'cli.js'))
export const STANDIN = path.join(REPO_ROOT, 'bench', 'load', 'standin-proxy.ts')
export const ORIGIN = path.join(REPO_ROOT, 'bench', 'load', 'origin.ts')
/** Node 24 running this harness (npm scripts put node_modules/.bin first on PATH). */
export const NODE = process.execPath

export type NodeProxyKind = 'hellogate' | 'standin'

/** What POST /debug/gc reports: every V8 heap's live bytes after the GC, and malloc's in-use bytes (null: unknown). */
export interface GcReading { heapBytes: number, mallocBytes: number | null }

export interface Running {
  child: Child
  port: number
  /**
   * hellogate only: one full GC in every thread of the proxy (POST /debug/gc; it runs under
   * NODE_OPTIONS=--expose-gc and with an admin endpoint for this): the heaps' live bytes after it and
   * the bytes malloc holds (null where unknown), or null when it was refused
   */
  collectGarbage?: () => Promise<GcReading | null>
}

export async function startOrigin (opts: { cpu: number | undefined, nofile: number | undefined, dir: string }): Promise<Running> {
  const port = await freePort()
  const child = spawnChild('origin', NODE, [ORIGIN, '--port', String(port)], {
    cpu: opts.cpu,
    nofile: opts.nofile,
    log: path.join(opts.dir, 'origin.log'),
  })
  await waitForPort(port, child)
  return { child, port }
}

/** Which Node proxy will actually run, and why. */
export function resolveProxy (requested: NodeProxyKind): { kind: NodeProxyKind, note: string } {
  if (requested === 'standin') return { kind: 'standin', note: 'stand-in minimal Node proxy (bench/load/standin-proxy.ts)' }
  if (existsSync(HELLOGATE_CLI)) return { kind: 'hellogate', note: `hellogate from ${path.relative(REPO_ROOT, HELLOGATE_CLI)}` }
  return {
    kind: 'standin',
    note: `${path.relative(REPO_ROOT, HELLOGATE_CLI)} not found (run \`npm run build\`, or set HELLOGATE_CLI=src/cli.ts): FALLING BACK to the stand-in proxy`,
  }
}

export interface ProxyLogOptions {
  /** pino level (default `warn`: only problems, no startup lines) */
  level?: 'warn' | 'info'
  /** one access-log line per connection, as shipped (default false) */
  accessLog?: boolean
}

/**
 * How the one route reaches the origin: `single` is the short form (`name: host:port`); `pool` an explicit
 * one-server upstream (leastconn, TCP health check), the A/B for "a one-server pool costs what a single
 * origin costs"; `pp2` an upstream that writes a PROXY v2 header, for an origin that expects one.
 */
export type RouteShape = 'single' | 'pool' | 'pp2'

/** The YAML config both Node proxies read (hellogate's public config shape). */
export function proxyConfigYaml (listenPort: number, originPort: number, log: ProxyLogOptions = {}, shape: RouteShape = 'single', adminPort?: number): string {
  const route = shape === 'single'
    ? ['routes:', `  ${BENCH_SNI}: 127.0.0.1:${originPort}`]
    : [
        'upstreams:',
        '  bench:',
        `    servers: [127.0.0.1:${originPort}]`,
        '    balance: leastconn',
        '    health: { check: tcp }',
        ...(shape === 'pp2' ? ['    proxyProtocol: v2'] : []),
        'routes:',
        `  ${BENCH_SNI}: bench`,
      ]
  return [
    `listen: 127.0.0.1:${listenPort}`,
    'workers: 1',
    'accept: reuseport',
    ...route,
    'default: reject',
    'timeouts: { hello: 5s, connect: 5s, idle: 5m }',
    'limits: { maxHelloBytes: 16384, maxConnections: 100000 }',
    `log: { level: ${log.level ?? 'warn'}, access: ${String(log.accessLog ?? false)} }`,
    ...(adminPort === undefined ? [] : [`admin: { listen: 127.0.0.1:${adminPort} }`]),
    '',
  ].join('\n')
}

export async function startNodeProxy (kind: NodeProxyKind, opts: {
  originPort: number
  cpu: number | undefined
  nofile: number | undefined
  dir: string
  /** the access log on, as shipped (hellogate only; the stand-in logs nothing per connection) */
  accessLog?: boolean
  /** how the route reaches the origin (hellogate only; default `single`) */
  shape?: RouteShape
  /** file names in `dir` (default: `kind`) */
  label?: string
  /** the data-phase relay (hellogate only): sets HELLOGATE_RELAY; default: the environment's (splice where built) */
  relay?: 'auto' | 'js'
  /** who opens the origin connection (hellogate only): sets HELLOGATE_ORIGIN_DIAL; default: the environment's (the addon where it runs) */
  originDial?: 'auto' | 'js'
  /** who reads the client's hello (hellogate only): sets HELLOGATE_INTAKE; default: the environment's (the addon where it dials) */
  intake?: 'auto' | 'js'
}): Promise<Running> {
  const port = await freePort()
  const label = opts.label ?? kind
  const config = path.join(opts.dir, `${label}.yaml`)
  // hellogate: an admin endpoint on loopback (no token) for POST /debug/gc, and gc exposed for it
  const adminPort = kind === 'hellogate' ? await freePort() : undefined
  // access lines are `info`: the access log needs the shipped level, not bench's quieter `warn`
  writeFileSync(config, proxyConfigYaml(port, opts.originPort, opts.accessLog === true ? { level: 'info', accessLog: true } : {}, opts.shape, adminPort))
  const entry = kind === 'hellogate' ? HELLOGATE_CLI : STANDIN
  const env: NodeJS.ProcessEnv = { ...process.env }
  if (opts.relay !== undefined) env.HELLOGATE_RELAY = opts.relay
  if (opts.originDial !== undefined) env.HELLOGATE_ORIGIN_DIAL = opts.originDial
  if (opts.intake !== undefined) env.HELLOGATE_INTAKE = opts.intake
  if (adminPort !== undefined) env.NODE_OPTIONS = [process.env.NODE_OPTIONS, '--expose-gc'].filter(Boolean).join(' ')
  const child = spawnChild(label, NODE, [entry, 'serve', '--config', config], {
    cpu: opts.cpu,
    nofile: opts.nofile,
    log: path.join(opts.dir, `${label}.log`),
    cwd: REPO_ROOT,
    env,
  })
  await waitForPort(port, child)
  if (adminPort === undefined) return { child, port }
  await waitForPort(adminPort, child)
  return { child, port, collectGarbage: () => postGc(adminPort) }
}

/** POST /debug/gc on a hellogate admin endpoint: every heap's live bytes after the GC and malloc's, or null when refused. */
async function postGc (adminPort: number): Promise<GcReading | null> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/debug/gc`, { method: 'POST' })
  const body = await res.json() as { ok?: boolean, heapUsedBytes?: number, mallocInUseBytes?: number | null }
  if (res.status !== 200 || body.ok !== true || typeof body.heapUsedBytes !== 'number') return null
  return { heapBytes: body.heapUsedBytes, mallocBytes: typeof body.mallocInUseBytes === 'number' ? body.mallocInUseBytes : null }
}
