/**
 * User-space instructions per new TLS connection, counted by callgrind: a cost that does not move with
 * the load of a shared machine (CPU time does, by ±30 % per round on the 2-vCPU dev box at load 10).
 *
 * Usage: `node profiles/instructions.ts [--targets LIST] [--conns 300] [--warm 100] [--access-log]`
 *   LIST: `haproxy`, `hellogate` (dist/cli.js) or `hellogate=PATH/dist/cli.js`, `hellogate+FLAG=PATH`
 *   (a Node/V8 flag, e.g. `hellogate+--single-threaded-gc=dist/cli.js`), comma-separated.
 *
 * Per target: the bench origin (bench/load/origin.ts, not traced) and the proxy under
 * `valgrind --tool=callgrind --instr-atstart=no` with the bench:peers config (`workers: 1` /
 * `nbthread 1`); `--warm` connections to get the JIT and caches into their steady state, then
 * instrumentation on (`callgrind_control -i on`) for exactly `--conns` new TLS connections (handshake +
 * `GET /` + close, 8 in flight), off, and the proxy is stopped (SIGTERM) so callgrind writes its totals.
 * The figure is instructions (Ir) of every thread of the proxy ÷ connections, and per thread (largest first).
 *
 * Limits: user space only (the kernel's share is in profiles/syscalls.ts); under valgrind the threads
 * run one at a time and ~50× slower, so more connections arrive per event-loop wakeup than in a normal
 * run — the same for both sides of a comparison, but absolute figures are not CPU time.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { envHeader, formatEnvHeader } from '../bench/lib/env.ts'
import { freePort, installCleanup, spawnChild, stopAll, waitForPort, type Child } from '../bench/lib/children.ts'
import { BENCH_SNI, NODE, proxyConfigYaml, startOrigin } from '../bench/lib/targets.ts'
import { REPO_ROOT } from '../bench/lib/results.ts'
import { churn } from '../bench/lib/tls-churn.ts'

const { values } = parseArgs({
  options: {
    targets: { type: 'string', default: 'hellogate,haproxy' },
    conns: { type: 'string', default: '300' },
    warm: { type: 'string', default: '100' },
    'access-log': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
})

/** valgrind start-up of node is tens of seconds on a busy 2-vCPU box */
const READY_TIMEOUT_MS = 240_000
/** SIGTERM to exit, callgrind writing its file included */
const EXIT_TIMEOUT_MS = 120_000

interface Target { label: string, kind: 'hellogate' | 'haproxy', cli: string, nodeArgs: string[] }

function parseTargets (list: string): Target[] {
  return list.split(',').map((t) => {
    if (t === 'haproxy') return { label: t, kind: 'haproxy', cli: '', nodeArgs: [] }
    const [head, cli] = t.split('=')
    const [name, ...flags] = (head ?? '').split('+')
    if (name !== 'hellogate') throw new Error(`unknown target ${t}`)
    return { label: t, kind: 'hellogate', cli: path.resolve(REPO_ROOT, cli ?? 'dist/cli.js'), nodeArgs: flags }
  })
}

async function load (port: number, n: number): Promise<{ completed: number, errors: number }> {
  const r = await churn({ host: '127.0.0.1', port, servername: BENCH_SNI, path: '/', concurrency: 8, durationMs: 600_000, maxConnections: n }).done
  return { completed: r.completed, errors: r.errors }
}

function totalIr (file: string): number {
  const m = /^totals:\s+(\d+)/m.exec(readFileSync(file, 'utf8'))
  return m === null ? NaN : Number(m[1])
}

async function measure (t: Target, originPort: number, dir: string): Promise<Record<string, unknown>> {
  const port = await freePort()
  const outFile = path.join(dir, `${t.label.replace(/[^a-z0-9]+/gi, '_')}.callgrind`)
  const vg = ['--tool=callgrind', '--instr-atstart=no', '--separate-threads=yes', '--smc-check=all-non-file', `--callgrind-out-file=${outFile}`]
  let child: Child
  if (t.kind === 'hellogate') {
    const cfg = path.join(dir, `${path.basename(outFile)}.yaml`)
    writeFileSync(cfg, proxyConfigYaml(port, originPort, values['access-log'] ? { level: 'info', accessLog: true } : {}))
    child = spawnChild(t.label, 'valgrind', [...vg, NODE, ...t.nodeArgs, t.cli, 'serve', '--config', cfg], { cpu: undefined, log: `${outFile}.log`, cwd: REPO_ROOT })
  } else {
    const cfg = path.join(dir, 'haproxy.cfg')
    writeFileSync(cfg, ['global', '  nbthread 1', '  maxconn 1000', 'defaults', '  mode tcp', '  timeout connect 5s', '  timeout client 5m', '  timeout server 5m',
      'frontend fe_tls', `  bind 127.0.0.1:${port}`, '  tcp-request inspect-delay 5s', '  tcp-request content accept if { req_ssl_hello_type 1 }',
      `  use_backend be_bench if { req.ssl_sni -i ${BENCH_SNI} }`, 'backend be_bench', `  server origin 127.0.0.1:${originPort}`, ''].join('\n'))
    child = spawnChild(t.label, 'valgrind', [...vg, 'haproxy', '-db', '-f', cfg], { cpu: undefined, log: `${outFile}.log` })
  }
  await waitForPort(port, child, READY_TIMEOUT_MS)
  const warm = await load(port, Number(values.warm))
  spawnSync('callgrind_control', ['-i', 'on', String(child.pid)], { stdio: 'ignore' })
  const r = await load(port, Number(values.conns))
  spawnSync('callgrind_control', ['-i', 'off', String(child.pid)], { stdio: 'ignore' })
  process.kill(child.pid, 'SIGTERM')
  await Promise.race([child.exited, new Promise((resolve) => setTimeout(resolve, EXIT_TIMEOUT_MS))])
  const files = readdirSync(dir).filter((f) => f.startsWith(path.basename(outFile)) && !f.endsWith('.log') && !f.endsWith('.yaml'))
  const byThread = files.map((f) => totalIr(path.join(dir, f))).filter((x) => x > 0).sort((a, b) => b - a)
  const ir = byThread.reduce((s, x) => s + x, 0)
  const k = (x: number): number => Math.round(x / r.completed / 100) / 10
  const out = { target: t.label, warm: warm.completed, connections: r.completed, errors: r.errors + warm.errors, ir, irPerConnection: Math.round(ir / r.completed), kIrPerConnectionByThread: byThread.map(k) }
  console.log(`${t.label}: ${r.completed} connections (${out.errors} errors): ${k(ir)} k instructions per connection; by thread (k): ${out.kIrPerConnectionByThread.join(', ')}`)
  return out
}

async function main (): Promise<void> {
  installCleanup()
  const env = envHeader('not pinned (instruction counts, not times)')
  console.log(formatEnvHeader(env))
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hellogate-instr-'))
  const origin = await startOrigin({ cpu: undefined, nofile: undefined, dir })
  const results: Array<Record<string, unknown>> = []
  for (const t of parseTargets(values.targets)) results.push(await measure(t, origin.port, dir))
  await stopAll()
  if (values.out !== undefined) writeFileSync(values.out, JSON.stringify({ env, options: values, results }, null, 2) + '\n')
  rmSync(dir, { recursive: true, force: true })
}

main().catch(async (err: unknown) => {
  process.stderr.write(`instructions failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  await stopAll()
  process.exit(1)
})
