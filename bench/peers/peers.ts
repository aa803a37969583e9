/**
 * Peer SNI proxies for `bench:peers`: HAProxy, nginx (stream + ssl_preread) and sniproxy.
 *
 * Contract: each `PeerDef` knows its Debian packages, how to detect it, its version string, and how
 * to write a config that routes exactly `bench.hellogate.test` → the origin and rejects anything
 * else, with one worker/thread/process, and run it in the foreground (never daemonised) so the
 * harness can pin it with taskset and stop it by pid. Configs are generated into the run's temp dir.
 * `ensureInstalled()` apt-installs missing peers when running as root (and stops any service the
 * packages auto-started, via `service NAME stop`); otherwise it reports what is missing.
 *
 * Parity with hellogate (`workers: 1`): haproxy `nbthread 1`; nginx `worker_processes 1` (the
 * harness measures master+worker, the master is idle); sniproxy is single-process by design.
 * Connection caps are set to what the fd limit allows (`maxConn`); timeouts match hellogate's
 * defaults (connect 5 s, hello/inspect 5 s, idle 5 m). Logging is off or at warning level.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { hasCommand, spawnChild, waitForPort, freePort } from '../lib/children.ts'
import { BENCH_SNI, type Running } from '../lib/targets.ts'

export type PeerName = 'haproxy' | 'nginx' | 'sniproxy'
export const PEER_NAMES: readonly PeerName[] = ['haproxy', 'nginx', 'sniproxy']

/** Debian's nginx builds the stream module (with ssl_preread) as a separate dynamic module package. */
const NGINX_STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so'
/** apt-get install can take minutes on a cold cache; bound it anyway. */
const APT_TIMEOUT_MS = 10 * 60_000

export interface PeerContext {
  dir: string
  originPort: number
  cpu: number | undefined
  nofile: number
  /**
   * Concurrent client connections the peer must accept; (nofile − headroom) / 2, since each costs
   * two fds. HAProxy refuses to start when 2 × maxconn + its own fds exceed a limit it cannot raise.
   */
  maxConn: number
}

export interface PeerDef {
  name: PeerName
  binary: string
  packages: string[]
  /** Missing pieces that `packages` would provide, empty when ready to run. */
  missing: () => string[]
  version: () => string
  start: (ctx: PeerContext) => Promise<Running>
}

function firstLine (cmd: string, args: string[]): string {
  try {
    // nginx -v and sniproxy -V print on stderr; capture both.
    const out = execFileSync('sh', ['-c', '"$0" "$@" 2>&1', cmd, ...args], { encoding: 'utf8', timeout: 5_000 })
    return out.split('\n').find((l) => l.trim().length > 0)?.trim() ?? 'unknown'
  } catch (err) {
    const out = (err as { stdout?: string }).stdout ?? ''
    return out.split('\n')[0]?.trim() ?? 'unknown'
  }
}

/** HAProxy's `global` and `defaults` sections for one thread in TCP mode (the peer and the PROXY front). */
function haproxyHead (maxConn: number): string[] {
  return [
    'global',
    '  nbthread 1',
    `  maxconn ${maxConn}`,
    '',
    'defaults',
    '  mode tcp',
    '  timeout connect 5s',
    '  timeout client 5m',
    '  timeout server 5m',
    `  maxconn ${maxConn}`,
    '',
  ]
}

const haproxy: PeerDef = {
  name: 'haproxy',
  binary: '/usr/sbin/haproxy',
  packages: ['haproxy'],
  missing: () => hasCommand('haproxy') ? [] : ['haproxy'],
  version: () => firstLine('haproxy', ['-v']),
  async start (ctx) {
    const port = await freePort()
    const cfg = path.join(ctx.dir, 'haproxy.cfg')
    writeFileSync(cfg, [
      ...haproxyHead(ctx.maxConn),
      'frontend fe_tls',
      `  bind 127.0.0.1:${port}`,
      '  tcp-request inspect-delay 5s',
      '  tcp-request content accept if { req_ssl_hello_type 1 }',
      `  use_backend be_bench if { req.ssl_sni -i ${BENCH_SNI} }`,
      '  # no default_backend: anything else is rejected',
      '',
      'backend be_bench',
      `  server origin 127.0.0.1:${ctx.originPort}`,
      '',
    ].join('\n'))
    const child = spawnChild('haproxy', 'haproxy', ['-db', '-f', cfg], { cpu: ctx.cpu, nofile: ctx.nofile, log: path.join(ctx.dir, 'haproxy.log') })
    await waitForPort(port, child)
    return { child, port }
  },
}

const nginx: PeerDef = {
  name: 'nginx',
  binary: '/usr/sbin/nginx',
  packages: ['nginx', 'libnginx-mod-stream'],
  missing: () => [
    ...(hasCommand('nginx') ? [] : ['nginx']),
    ...(existsSync(NGINX_STREAM_MODULE) ? [] : ['libnginx-mod-stream']),
  ],
  version: () => firstLine('nginx', ['-v']),
  async start (ctx) {
    const port = await freePort()
    const cfg = path.join(ctx.dir, 'nginx.conf')
    writeFileSync(cfg, [
      `load_module ${NGINX_STREAM_MODULE};`,
      'daemon off;',
      'worker_processes 1;',
      `worker_rlimit_nofile ${ctx.nofile};`,
      `pid ${path.join(ctx.dir, 'nginx.pid')};`,
      `error_log ${path.join(ctx.dir, 'nginx-error.log')} warn;`,
      `events { worker_connections ${2 * ctx.maxConn + 64}; }`,
      'stream {',
      '  map $ssl_preread_server_name $bench_upstream {',
      `    ${BENCH_SNI} 127.0.0.1:${ctx.originPort};`,
      '    default "";', // empty upstream → connection closed: the "reject" route
      '  }',
      '  server {',
      `    listen 127.0.0.1:${port};`,
      '    ssl_preread on;',
      '    preread_timeout 5s;',
      '    proxy_connect_timeout 5s;',
      '    proxy_timeout 5m;',
      '    proxy_pass $bench_upstream;',
      '  }',
      '}',
      '',
    ].join('\n'))
    // -e: error log before the config is read (else /var/log/nginx/error.log); -p: prefix for temp paths.
    const child = spawnChild('nginx', 'nginx', ['-p', ctx.dir, '-e', path.join(ctx.dir, 'nginx-error.log'), '-c', cfg], {
      cpu: ctx.cpu,
      nofile: ctx.nofile,
      log: path.join(ctx.dir, 'nginx.log'),
    })
    await waitForPort(port, child)
    return { child, port }
  },
}

const sniproxy: PeerDef = {
  name: 'sniproxy',
  binary: '/usr/sbin/sniproxy',
  packages: ['sniproxy'],
  missing: () => hasCommand('sniproxy') ? [] : ['sniproxy'],
  version: () => firstLine('sniproxy', ['-V']),
  async start (ctx) {
    const port = await freePort()
    const cfg = path.join(ctx.dir, 'sniproxy.conf')
    const escaped = BENCH_SNI.replaceAll('.', '\\\\.') // table keys are PCRE; \\ in the file is one \
    writeFileSync(cfg, [
      `pidfile ${path.join(ctx.dir, 'sniproxy.pid')}`,
      'error_log {',
      `  filename ${path.join(ctx.dir, 'sniproxy-error.log')}`,
      '  priority warning',
      '}',
      `listener 127.0.0.1:${port} {`,
      '  protocol tls',
      '  table bench',
      '}',
      'table bench {',
      `  ^${escaped}$ 127.0.0.1:${ctx.originPort}`,
      '}',
      '',
    ].join('\n'))
    const child = spawnChild('sniproxy', 'sniproxy', ['-f', '-c', cfg], { cpu: ctx.cpu, nofile: ctx.nofile, log: path.join(ctx.dir, 'sniproxy.log') })
    await waitForPort(port, child)
    return { child, port }
  },
}

export const PEERS: Record<PeerName, PeerDef> = { haproxy, nginx, sniproxy }

/**
 * HAProxy as a PROXY-protocol consumer: `bind … accept-proxy` (it refuses any connection that does not
 * start with a valid v1/v2 header) in front of the TLS origin, plain `mode tcp`. hellogate's `pp2`
 * target routes to it with `proxyProtocol: v2`, so every connection of that row proves that an
 * independent implementation reads hellogate's header, and the row's CPU is hellogate's cost of writing
 * it. Pinned with the load side: it is the origin's front, not a proxy under test.
 */
export async function startProxyProtocolFront (ctx: PeerContext): Promise<Running> {
  const port = await freePort()
  const cfg = path.join(ctx.dir, 'haproxy-accept-proxy.cfg')
  writeFileSync(cfg, [
    ...haproxyHead(ctx.maxConn),
    'frontend fe_pp',
    `  bind 127.0.0.1:${port} accept-proxy`,
    '  default_backend be_origin',
    '',
    'backend be_origin',
    `  server origin 127.0.0.1:${ctx.originPort}`,
    '',
  ].join('\n'))
  const child = spawnChild('haproxy-accept-proxy', 'haproxy', ['-db', '-f', cfg], { cpu: ctx.cpu, nofile: ctx.nofile, log: path.join(ctx.dir, 'haproxy-accept-proxy.log') })
  await waitForPort(port, child)
  return { child, port }
}

/** Pids whose /proc/PID/exe is `binary`. */
function pidsRunning (binary: string): number[] {
  const out: number[] = []
  for (const name of readdirSync('/proc')) {
    const pid = Number(name)
    if (!Number.isInteger(pid)) continue
    try {
      if (readlinkSync(`/proc/${pid}/exe`) === binary) out.push(pid)
    } catch { /* not ours to read, or gone */ }
  }
  return out
}

/**
 * Install missing peers with apt when root and allowed. Returns one message per action taken, for
 * the console and the JSON. Services the packages auto-start are stopped with `service NAME stop`.
 */
export function ensureInstalled (peers: PeerDef[], allowInstall: boolean): string[] {
  const notes: string[] = []
  const missing = peers.flatMap((p) => p.missing())
  if (missing.length === 0) return notes
  const isRoot = process.getuid?.() === 0
  if (!allowInstall || !isRoot || !hasCommand('apt-get')) {
    notes.push(`not installing ${missing.join(' ')} (${!allowInstall ? '--no-install' : !isRoot ? 'not root' : 'no apt-get'}); those peers are skipped`)
    return notes
  }
  const before = new Map(peers.map((p) => [p.name, new Set(pidsRunning(p.binary))]))
  const cmd = ['apt-get', 'install', '-y', '--no-install-recommends', ...missing]
  process.stderr.write(`running as root: ${cmd.join(' ')} …\n`)
  notes.push(`installed with: ${cmd.join(' ')}`)
  try {
    execFileSync(cmd[0] ?? 'apt-get', cmd.slice(1), { stdio: ['ignore', 'ignore', 'inherit'], timeout: APT_TIMEOUT_MS, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  } catch (err) {
    notes.push(`apt-get install failed (${(err as Error).message.split('\n')[0] ?? ''}); missing peers are skipped`)
    return notes
  }
  for (const p of peers) {
    const fresh = pidsRunning(p.binary).filter((pid) => !(before.get(p.name)?.has(pid) ?? false))
    if (fresh.length === 0) continue
    try {
      execFileSync('service', [p.name, 'stop'], { stdio: 'ignore', timeout: 30_000 })
      notes.push(`stopped the ${p.name} service the package auto-started (pids ${fresh.join(',')}) with \`service ${p.name} stop\``)
    } catch {
      notes.push(`WARNING: the ${p.name} package started pids ${fresh.join(',')} and \`service ${p.name} stop\` failed; left running`)
    }
  }
  return notes
}
