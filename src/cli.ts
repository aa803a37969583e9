#!/usr/bin/env node
/**
 * The `hellogate` command (package bin → dist/cli.js). The ONLY module that calls process.exit.
 *
 *   hellogate serve --config FILE   load config, start the proxy, run until SIGINT/SIGTERM, drain, exit 0
 *   hellogate check --config FILE   validate the config and print a summary of the compiled route table
 *   hellogate demo [--port N]       two local TLS origins + the proxy in front, with commands to try
 *   hellogate status|reload|top --admin ADDR [--token T]   ask a running proxy's admin endpoint
 *   hellogate bench --target HOST:PORT --sni NAMES [...]  TLS load generator (bench/, own options)
 *   hellogate routes get|put|rm|list --config FILE     edit the routes in source.etcd (source/cli.ts)
 *   hellogate --help | --version
 *
 * Exit status: 0 ok; 1 invalid config or startup failure (message on stderr; a runtime that lacks
 * what the accept model needs is HG_ERR_UNSUPPORTED_RUNTIME, found by pool/runtime.ts's probe);
 * 2 usage error (HG_ERR_CLI_USAGE). A second SIGINT/SIGTERM during the drain exits at once with status 1.
 * SIGHUP reloads the routes from the same file (pool/reload.ts); SIGUSR2 reopens log.file (logrotate).
 *
 * Limits: argv parsing is node:util parseArgs (strict: unknown options are usage errors).
 */
import { closeSync, openSync, readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import type { Logger } from 'pino'

import type { ProxyConfig } from './config/index.ts'
import { ErrorCode, ErrorSource, isProxyError, ProxyError } from './errors.ts'
import { ROUTES_ARGS, ROUTES_OPS, type RoutesOp } from './source/ops.ts'

// Everything else is imported lazily by the command that needs it: `--help`, `--version` and usage
// errors then start in node's bare startup time (~2x faster than loading pino, yaml and the pool).
const loadConfigModule = async () => await import('./config/index.ts')
const loadLogModule = async () => await import('./log/index.ts')

const EXIT_OK = 0
/** invalid config, or the proxy could not start */
const EXIT_FAILURE = 1
/** bad command line */
const EXIT_USAGE = 2

const USAGE = `Usage: hellogate <command> [options]

SNI-routing TLS passthrough proxy: reads the ClientHello's server_name, forwards the untouched
bytes to the matching origin, which completes the TLS handshake itself.

Commands:
  serve --config FILE   run the proxy until SIGINT/SIGTERM, then drain and exit
                        (SIGHUP reloads the routes, SIGUSR2 reopens log.file)
  check --config FILE   validate FILE and print a summary of the route table
        [--probe]       also handshake with each pool's servers and warn where a certificate
                        served for one pool covers names routed to another (HTTP/2 coalescing)
  demo [--port N]       start two local TLS origins and the proxy in front (default port 8443),
                        with the admin endpoint on 127.0.0.1 (its address is printed)
  status --admin ADDR [--token T] [--json]
                        print a running proxy's status (workers, table, reloads, counters)
  reload --admin ADDR [--token T]
                        reload the proxy's config (POST /reload) and print the result
  routes list|get PATTERN|put PATTERN VALUE|rm PATTERN --config FILE
                        the routes under FILE's source.etcd.prefix, validated as in the file
  top --admin ADDR [--token T] [--iterations N]
                        live view, refreshed every second, until Ctrl-C (or N frames)
  bench --target HOST:PORT --sni NAME[,NAME...] [--duration 30s] [--mode newconn|keepalive|bulk]
        [--concurrency N] [--out DIR]
                        load-test a TLS edge from this host: handshakes/s, requests/s or MB/s,
                        latency percentiles, JSON results and an SVG chart ('hellogate bench --help')

Options:
  -c, --config FILE     config file (YAML or JSON)
      --port N          demo only: proxy port (0 = any free port)
      --admin ADDR      admin endpoint: host:port, [v6]:port, :port or http://host:port
      --token T         bearer token (default: $HELLOGATE_ADMIN_TOKEN, which stays out of ps)
      --json            status only: print the raw JSON
      --iterations N    top only: stop after N frames
  -h, --help            show this help
  -V, --version         print the version

Exit status: 0 ok, 1 invalid config, startup failure, unreachable admin endpoint or refused
reload, 2 usage error.
`

function usageError (message: string): ProxyError {
  return new ProxyError(ErrorCode.CLI_USAGE, message, { source: ErrorSource.Config })
}

function readVersion (): string {
  // src/cli.ts and dist/cli.js both sit one level below package.json
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown }
  return typeof pkg.version === 'string' ? pkg.version : '0.0.0'
}

type AdminCommand = 'status' | 'reload' | 'top'
const ADMIN_COMMANDS: readonly string[] = ['status', 'reload', 'top'] satisfies AdminCommand[]
function isAdminCommand (c: string): c is AdminCommand {
  return ADMIN_COMMANDS.includes(c)
}

interface Invocation {
  command: 'serve' | 'check' | 'demo' | 'help' | 'version' | 'bench' | 'routes' | AdminCommand
  /** bench only: its arguments, parsed by bench/options.ts (it has options of its own) */
  benchArgs?: readonly string[]
  config?: string
  port?: number
  /** check only: probe the pools' certificates for the coalescing warning */
  probe?: boolean
  admin?: string
  token?: string
  json?: boolean
  iterations?: number
  /** routes only: the op and its positional arguments */
  routes?: { op: RoutesOp, args: string[] }
}

/** argv (without node and script) → what to do; throws a ProxyError HG_ERR_CLI_USAGE. */
function parseCommandLine (argv: readonly string[]): Invocation {
  if (argv[0] === 'bench') return { command: 'bench', benchArgs: argv.slice(1) }
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string', short: 'c' },
        port: { type: 'string' },
        probe: { type: 'boolean' },
        admin: { type: 'string' },
        token: { type: 'string' },
        json: { type: 'boolean' },
        iterations: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
    })
  } catch (err) {
    throw usageError((err as Error).message)
  }
  const { values, positionals } = parsed
  if (values.help === true) return { command: 'help' }
  if (values.version === true) return { command: 'version' }
  const [command, ...extra] = positionals
  if (command === undefined) throw usageError('missing command (serve, check, demo, status, reload, top or bench)')
  if (command === 'help') return { command: 'help' }
  if (isAdminCommand(command)) {
    if (extra.length > 0) throw usageError(`unexpected argument '${extra[0] ?? ''}'`)
    return adminInvocation(command, values)
  }
  if (command === 'routes') return routesInvocation(extra, values)
  if (command !== 'serve' && command !== 'check' && command !== 'demo') {
    if (command === 'bench') throw usageError('bench comes first: hellogate bench --target HOST:PORT --sni NAMES')
    throw usageError(`unknown command '${command}' (expected serve, check, demo, routes, status, reload, top or bench)`)
  }
  if (extra.length > 0) throw usageError(`unexpected argument '${extra[0] ?? ''}'`)
  for (const k of ['admin', 'token', 'json', 'iterations'] as const) {
    if (values[k] !== undefined) throw usageError(`--${k} applies to status, reload and top only`)
  }

  if (command === 'demo') {
    if (values.config !== undefined) throw usageError('demo takes no --config (it builds its own)')
    if (values.port === undefined) return { command }
    if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65_535) {
      throw usageError(`--port expects a number 0-65535, got '${values.port}'`)
    }
    return { command, port: Number(values.port) }
  }
  if (values.port !== undefined) throw usageError(`--port applies to demo only; set listen: in the config file for ${command}`)
  if (values.config === undefined || values.config === '') throw usageError(`${command} needs --config FILE`)
  if (values.probe === true) {
    if (command !== 'check') throw usageError('--probe applies to check only')
    return { command, config: values.config, probe: true }
  }
  return { command, config: values.config }
}

/** routes OP ARGS --config FILE: the op's own arguments, and --config only. */
function routesInvocation (extra: readonly string[], values: { config?: string, port?: string, admin?: string, token?: string, json?: boolean, iterations?: string, probe?: boolean }): Invocation {
  const [op, ...args] = extra
  if (op === undefined || !(ROUTES_OPS as readonly string[]).includes(op)) {
    throw usageError(`routes needs one of ${ROUTES_OPS.join(', ')}${op === undefined ? '' : `, got '${op}'`}`)
  }
  const want = ROUTES_ARGS[op as RoutesOp]
  if (args.length !== want.length) throw usageError(`routes ${op} takes ${want.length === 0 ? 'no argument' : want.join(' ')}`)
  for (const k of ['port', 'admin', 'token', 'json', 'iterations', 'probe'] as const) {
    if (values[k] !== undefined) throw usageError(`--${k} does not apply to routes`)
  }
  if (values.config === undefined || values.config === '') throw usageError('routes needs --config FILE (its source.etcd)')
  return { command: 'routes', config: values.config, routes: { op: op as RoutesOp, args } }
}

/** status / reload / top: --admin required; --json for status, --iterations for top only. */
function adminInvocation (command: AdminCommand, values: { config?: string, port?: string, admin?: string, token?: string, json?: boolean, iterations?: string }): Invocation {
  if (values.config !== undefined || values.port !== undefined) throw usageError(`${command} talks to a running proxy: give --admin ADDR, not --config or --port`)
  if (values.admin === undefined || values.admin === '') throw usageError(`${command} needs --admin ADDR (the proxy's admin.listen address)`)
  if (values.json !== undefined && command !== 'status') throw usageError('--json applies to status only')
  if (values.iterations !== undefined && command !== 'top') throw usageError('--iterations applies to top only')
  const inv: Invocation = { command, admin: values.admin }
  if (values.token !== undefined) inv.token = values.token
  if (values.json === true) inv.json = true
  if (values.iterations !== undefined) {
    if (!/^\d{1,6}$/.test(values.iterations) || Number(values.iterations) < 1) throw usageError(`--iterations expects a number of frames (1 or more), got '${values.iterations}'`)
    inv.iterations = Number(values.iterations)
  }
  return inv
}

/**
 * status / reload / top against a running proxy's admin endpoint (admin/client.ts, admin/top.ts).
 * An unreachable endpoint or a refused token is HG_ERR_ADMIN_REQUEST: message on stderr, exit 1.
 */
async function runAdminCommand (inv: Invocation): Promise<number> {
  const { runReload, runStatus, runTop } = await import('./admin/index.ts')
  const opts = { admin: inv.admin ?? '', token: inv.token, out: process.stdout }
  try {
    if (inv.command === 'status') return await runStatus({ ...opts, json: inv.json === true })
    if (inv.command === 'reload') return await runReload(opts)
    // Ctrl-C ends the live view between two frames, with status 0
    const stop = new AbortController()
    const onSignal = (): void => { stop.abort() }
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    try {
      return await runTop({ ...opts, signal: stop.signal, ...(inv.iterations === undefined ? {} : { iterations: inv.iterations }) })
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  } catch (err) {
    if (!isProxyError(err)) throw err
    // a malformed ADDR is found by the client's parser: a usage error like any other
    if (err.code === ErrorCode.CLI_USAGE) {
      printError(`${err.code}: ${err.message}\nRun 'hellogate --help' for usage.`)
      return EXIT_USAGE
    }
    printError(`${err.code}: ${err.message}`)
    return EXIT_FAILURE
  }
}

/**
 * `hellogate bench` (bench/index.ts). Its usage errors (HG_ERR_CLI_USAGE) come back as a throw and are
 * printed by main like every other; Ctrl-C ends the run early and still writes the results.
 */
async function runBenchCommand (args: readonly string[], version: string): Promise<number> {
  const { runBench } = await import('./bench/index.ts')
  const stop = new AbortController()
  const onSignal = (): void => { stop.abort() }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    return await runBench(args, { stdout: process.stdout, stderr: process.stderr, version, signal: stop.signal })
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

function printError (message: string): void {
  process.stderr.write(`hellogate: ${message}\n`)
}

/** Resolves on the first SIGINT/SIGTERM; a second one exits immediately (status 1). */
function waitForSignal (logger: Logger, log: Awaited<ReturnType<typeof loadLogModule>>): Promise<NodeJS.Signals> {
  const { flushLoggerSync, LogEvent } = log
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      const force = (again: NodeJS.Signals): void => {
        logger.warn({ evt: LogEvent.Fatal, signal: again, reason: 'second signal during shutdown' }, LogEvent.Fatal)
        flushLoggerSync(logger)
        process.exit(EXIT_FAILURE)
      }
      process.once('SIGINT', force)
      process.once('SIGTERM', force)
      resolve(signal)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
}

async function runServe (file: string, version: string): Promise<number> {
  const [{ loadConfigFile }, log, { closeReloadPool, WorkerPrestart }, { startServing }] =
    await Promise.all([loadConfigModule(), loadLogModule(), import('./pool/index.ts'), import('./lifecycle.ts')])
  const { createLogger, flushLogger, LogEvent } = log
  const prestart = new WorkerPrestart()
  let config: ProxyConfig
  try {
    // the workers start (threads, modules) on the other cores while this thread compiles the table
    config = await loadConfigFile(file, { onWorkers: (n) => { prestart.start(n) } })
  } catch (err) {
    await prestart.close()
    if (!isProxyError(err)) throw err
    printError(err.message)
    const logger = createLogger({ level: 'info' })
    logger.error({ evt: LogEvent.ConfigError, code: err.code, key: err.key, file: err.file, message: err.message }, LogEvent.ConfigError)
    await flushLogger(logger)
    return EXIT_FAILURE
  }

  const refused = await checkStartup(config)
  if (refused !== null) {
    await prestart.close()
    printError(refused)
    return EXIT_FAILURE
  }
  const logger = createLogger({ level: config.log.level, file: config.log.file })
  logger.info({ evt: LogEvent.Startup, version, node: process.version, config: config.file }, LogEvent.Startup)
  // source.etcd: etcd's routes (or the snapshot) merged with the file's, before anything listens
  let serving
  try {
    serving = await startServing({ config, file, prestart }, logger, version)
  } catch (err) {
    logger.fatal({ evt: LogEvent.Fatal, err }, LogEvent.Fatal)
    await flushLogger(logger)
    printError(isProxyError(err) ? `${err.code}: ${err.message}` : `cannot start: ${String((err as Error).stack ?? err)}`)
    return EXIT_FAILURE
  }
  const { proxy, life, source } = serving
  config = serving.config
  // SIGHUP and POST /reload run the same reload; its result (new routes, or the config error with the
  // running table kept) is logged by handle.reload itself
  const reload = (): void => { life.reload().catch(ignoreError) }
  const reopen = (): void => { proxy.reopenLogs() }
  process.on('SIGHUP', reload)
  process.on('SIGUSR2', reopen)
  const signal = await waitForSignal(logger, log)
  process.off('SIGHUP', reload)
  process.off('SIGUSR2', reopen)
  logger.info({ evt: LogEvent.Signal, signal, graceMs: config.timeouts.shutdownMs }, LogEvent.Signal)
  await source?.close()
  await life.close(() => proxy.close(config.timeouts.shutdownMs))
  await closeReloadPool()
  await flushLogger(logger)
  return EXIT_OK
}

/**
 * What must be refused before anything starts, as the message to print (null: go on): an admin endpoint
 * off loopback without a token (HG_ERR_ADMIN_TOKEN), a log file that cannot be opened for append.
 */
async function checkStartup (config: ProxyConfig): Promise<string | null> {
  const admin = await checkAdmin(config)
  if (admin !== null) return admin
  if (config.log.file !== null) {
    try {
      closeSync(openSync(config.log.file, 'a'))
    } catch (err) {
      return `cannot open log.file ${config.log.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`
    }
  }
  return null
}

/** `serve` and `check`: the admin endpoint would refuse to start (HG_ERR_ADMIN_TOKEN), as the message; else null. */
async function checkAdmin (config: ProxyConfig): Promise<string | null> {
  if (config.admin === null) return null
  const { checkAdminOptions } = await import('./admin/index.ts')
  try {
    checkAdminOptions(config.admin)
  } catch (err) {
    if (!isProxyError(err)) throw err
    return `${err.code}: ${err.message}`
  }
  return null
}

async function routeSummary (config: ProxyConfig): Promise<string> {
  const [{ compileConfigRoutes }, { describeTable }] = await Promise.all([loadConfigModule(), import('./routes/index.ts')])
  const d = describeTable(compileConfigRoutes(config))
  return `${config.routes.length} (${d.exact} exact, ${d.wildcard} wildcard); compiled table ${d.nodes} nodes, ${d.bytes} bytes`
}

async function runCheck (file: string, probe: boolean): Promise<number> {
  const { describeEdge, describeUpstreams, formatDuration, formatHostPort, loadConfigFile } = await loadConfigModule()
  let config: ProxyConfig
  let routes: string
  try {
    config = await loadConfigFile(file)
    routes = await routeSummary(config)
  } catch (err) {
    printError(isProxyError(err) ? err.message : (err as Error).message)
    return EXIT_FAILURE
  }
  const refused = await checkAdmin(config)
  if (refused !== null) {
    printError(refused)
    return EXIT_FAILURE
  }
  const t = config.timeouts
  const lines = [
    `config OK: ${config.file}`,
    `  listen    ${config.listen.map((l) => formatHostPort(l) + (l.proxyProtocol === undefined ? '' : ` (PROXY ${l.proxyProtocol.accept.join('/')} from ${l.proxyProtocol.from.length} CIDRs)`)).join(', ')}`,
    `  workers   ${config.workers}`,
    `  accept    ${config.accept}${config.accept === 'handoff' ? ` (balance ${config.balance})` : ''}`,
    `  routes    ${routes}`,
    `  default   ${config.default === null ? 'reject' : config.upstreams[config.default]!.name}`,
    `  upstreams ${describeUpstreams(config).join('\n')}`,
    `  timeouts  hello ${formatDuration(t.helloMs)}, connect ${formatDuration(t.connectMs)}, idle ${formatDuration(t.idleMs)}, shutdown ${formatDuration(t.shutdownMs)}`,
    `  limits    maxHelloBytes ${config.limits.maxHelloBytes}, maxConnections ${config.limits.maxConnections}, maxPendingHellos ${config.limits.maxPendingHellos}, perClient ${describePerClient(config.limits.perClient)}`,
    `  log       level ${config.log.level}, access ${config.log.access ? 'on' : 'off'}, to ${config.log.file ?? 'stdout'}`,
    `  admin     ${config.admin === null ? 'off' : `${formatHostPort(config.admin.listen)}, ${config.admin.token === null ? 'no token' : 'bearer token'}`}`,
  ]
  lines.push(...describeEdge(config))
  const routeLists = config.routes.filter((r) => r.access !== undefined).length
  if (config.access !== null || routeLists > 0) {
    const g = config.access
    lines.push(`  access    ${g === null ? 'no global lists' : `allow ${g.allow.length}, deny ${g.deny.length} entries`}; ${routeLists} routes with their own lists`)
  }
  // the file's part only: etcd's routes join it when serve starts (check does not dial etcd)
  const etcd = config.source.etcd
  if (etcd !== null) lines.push(`  source    etcd ${etcd.endpoints.join(', ')} prefix ${etcd.prefix}, cache ${etcd.cache ?? 'none'} (routes above: the file's; serve adds etcd's)`)
  if (probe) lines.push(...await coalescingReport(config))
  process.stdout.write(lines.join('\n') + '\n')
  return EXIT_OK
}

/** `check --probe`: what each pool's servers present, and the coalescing warnings (upstreams/ probe-config.ts). */
async function coalescingReport (config: ProxyConfig): Promise<string[]> {
  const { probeConfig } = await import('./upstreams/index.ts')
  const report = await probeConfig(config)
  const lines = ['  probe     ' + String(report.probes.length) + ' handshakes']
  for (const p of report.probes) {
    lines.push('    ' + p.pool + ' ' + p.server + ' ' + p.name + ': ' + (p.names === null ? 'no certificate (' + (p.error ?? '?') + ')' : p.names.join(', ')))
  }
  if (report.warnings.length === 0) lines.push('  coalescing: no certificate covers a name routed to another pool')
  for (const w of report.warnings) lines.push('warning: ' + w.message)
  return lines
}

function describePerClient (p: ProxyConfig['limits']['perClient']): string {
  if (p === null) return 'off'
  const parts: string[] = []
  if (p.maxConnections !== null) parts.push(`${p.maxConnections} open`)
  if (p.newPerSecond !== null) parts.push(`${p.newPerSecond}/s (burst ${p.burst})`)
  return parts.join(', ') + ' per address, per worker'
}

async function runDemo (port: number | undefined, version: string): Promise<number> {
  const [log, { formatDemoInstructions, startDemo }, { createLifecycle }] = await Promise.all([loadLogModule(), import('./demo/index.ts'), import('./lifecycle.ts')])
  const { createLogger, flushLogger, LogEvent } = log
  const logger = createLogger({ level: 'info' })
  let demo
  let life
  try {
    demo = await startDemo({ logger, port, admin: true })
    // startDemo without an injected startProxy runs pool/startProxy: its handle is a full ProxyHandle
    const proxy = demo.proxy as import('./pool/index.ts').ProxyHandle
    life = createLifecycle(proxy, logger, version)
    try {
      await life.start(demo.config.admin)
    } catch (err) {
      await demo.close()
      throw err
    }
  } catch (err) {
    logger.fatal({ evt: LogEvent.Fatal, err }, LogEvent.Fatal)
    await flushLogger(logger)
    printError(`demo could not start: ${isProxyError(err) ? err.message : String((err as Error).stack ?? err)}`)
    return EXIT_FAILURE
  }
  const adminUrl = life.admin?.url ?? null
  logger.info({ evt: LogEvent.DemoReady, port: demo.port, alpha: demo.origins.alpha.port, beta: demo.origins.beta.port, admin: adminUrl }, LogEvent.DemoReady)
  await flushLogger(logger)
  process.stdout.write('\n' + formatDemoInstructions(demo, adminUrl) + '\n')
  const signal = await waitForSignal(logger, log)
  logger.info({ evt: LogEvent.Signal, signal, graceMs: demo.config.timeouts.shutdownMs }, LogEvent.Signal)
  const running = demo
  await life.close(() => running.close())
  await flushLogger(logger)
  return EXIT_OK
}

async function main (argv: readonly string[]): Promise<number> {
  let inv: Invocation
  try {
    inv = parseCommandLine(argv)
    if (inv.command === 'bench') return await runBenchCommand(inv.benchArgs ?? [], readVersion())
  } catch (err) {
    if (!isProxyError(err) || err.code !== ErrorCode.CLI_USAGE) throw err
    const help = argv[0] === 'bench' ? 'hellogate bench --help' : 'hellogate --help'
    printError(`${err.code}: ${err.message}\nRun '${help}' for usage.`)
    return EXIT_USAGE
  }
  const version = readVersion()
  switch (inv.command) {
    case 'help':
      process.stdout.write(USAGE)
      return EXIT_OK
    case 'version':
      process.stdout.write(version + '\n')
      return EXIT_OK
    default:
      break
  }
  switch (inv.command) {
    case 'serve': return await runServe(inv.config ?? '', version)
    case 'check': return await runCheck(inv.config ?? '', inv.probe === true)
    case 'demo': return await runDemo(inv.port, version)
    case 'routes': {
      const { runRoutesCommand } = await import('./source/cli.ts')
      return await runRoutesCommand({ op: inv.routes!.op, args: inv.routes!.args, config: inv.config ?? '', out: process.stdout, err: process.stderr })
    }
    default: return await runAdminCommand(inv)
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
  // serve/demo leave nothing running after close; exit explicitly so a stray handle cannot keep us alive
  process.exit(code)
}, (err: unknown) => {
  printError(`internal error: ${String((err as Error).stack ?? err)}`)
  process.exit(EXIT_FAILURE)
})

/** handle.reload logs its own failures and does not reject */
function ignoreError (): void {}
