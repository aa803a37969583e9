/**
 * `hellogate bench` command line → BenchOptions (and its --help text).
 *
 * Contract: `parseBenchArgs(argv)` takes the arguments after `bench`; returns the options, or
 * `'help'` for --help; throws ProxyError HG_ERR_CLI_USAGE for anything wrong, with a message that
 * names the option. Nothing is opened or resolved here (the CA file is read by the caller).
 *
 * Limits: node:util parseArgs, strict (unknown options are usage errors); every bound below is a
 * named constant with its reason.
 */
import { parseArgs } from 'node:util'

import { parseDuration, parseHostPort } from '../config/values.ts'
import type { HostPort } from '../config/types.ts'
import { ErrorCode, ErrorSource, ProxyError } from '../errors.ts'
import { checkHostNameText, describeNameStatus } from '../names/index.ts'

export const BENCH_MODES = ['newconn', 'keepalive', 'bulk'] as const
export type BenchMode = typeof BENCH_MODES[number]

/** 30 s: long enough for a stable rate and p99 on a small host, short enough to repeat */
export const DEFAULT_DURATION_MS = 30_000
/** below 100 ms the first handshakes dominate and a rate means nothing */
export const MIN_DURATION_MS = 100
/** a day: a soak test; longer runs belong to a monitoring tool, not a benchmark */
export const MAX_DURATION_MS = 24 * 3_600_000
/** 16 loops: enough to keep a small proxy busy from one client core without queueing in the client */
export const DEFAULT_CONCURRENCY = 16
/** each loop holds one socket (two fds on a local proxy); 10k stays under common `ulimit -n` setups */
export const MAX_CONCURRENCY = 10_000
/** load threads: one per client core is the useful most; 64 covers any single client host we target */
export const MAX_THREADS = 64
/** SNI names rotated over; a list longer than this is a route-table test, not a benchmark */
export const MAX_SNI_NAMES = 1000
/** request paths longer than this are typos (and would not fit common origins' request-line limits) */
const MAX_PATH_LENGTH = 2048

export interface BenchOptions {
  target: HostPort
  /** SNI names, rotated per connection */
  sni: string[]
  mode: BenchMode
  durationMs: number
  concurrency: number
  /** load threads, each running concurrency / threads connections */
  threads: number
  /** output directory; undefined: ./hellogate-bench-<timestamp>/ */
  out: string | undefined
  /** PEM file of CAs to verify the origin's certificate against; undefined: no verification */
  ca: string | undefined
  /** request path (keepalive, bulk and newconn's one request) */
  path: string
  /** newconn: handshake only, no HTTP request (for origins that do not speak HTTP) */
  handshakeOnly: boolean
}

export const BENCH_USAGE = `Usage: hellogate bench --target HOST:PORT --sni NAME[,NAME...] [options]

Load generator for a TLS passthrough edge (hellogate or any TLS endpoint): real TLS handshakes
with the given server names, through the proxy to the origins, measured from this host.

Options:
      --target HOST:PORT   where to connect: the proxy's listener ([v6]:port for IPv6)
      --sni NAMES          server names (comma-separated), rotated per connection
      --mode MODE          newconn (default): a new TLS connection per request, full handshake
                             each time (no session resumption); rate in connections/s
                           keepalive: --concurrency persistent connections, HTTP/1.1 requests
                             (GET PATH, Host = the SNI) one after another; rate in requests/s
                           bulk: like keepalive, but the result is throughput in MB/s of
                             response bytes; point --path at something large (the demo origins
                             serve /bytes/N: N bytes)
      --duration D         how long to run: 30s (default), 500ms, 5m
      --concurrency N      connections in flight at once (default ${DEFAULT_CONCURRENCY})
      --threads N          spread them over N load threads (default 1): one thread saturates one
                           client core at a few thousand handshakes/s; use up to the client's cores
      --path PATH          request path (default /)
      --handshake-only     newconn only: close after the handshake, send no request
                           (for origins that do not speak HTTP/1.1)
      --ca FILE            verify the origin's certificate against these CAs (PEM); without it
                           certificates are NOT verified: this measures, it does not check trust
      --out DIR            results directory (default ./hellogate-bench-<timestamp>/):
                           results.json and chart.svg
  -h, --help               show this help

While it runs, a progress bar on stderr (a line every few seconds when stderr is not a terminal).
At the end: rate, handshake and request latency percentiles (p50/p90/p99/max), errors by code.
Exit status: 0 when at least one operation succeeded, 1 when none did (or the results could not
be written), 2 usage error.

Example, against the demo (npm start / hellogate demo):
  hellogate bench --target 127.0.0.1:8443 --sni alpha.demo.hellogate.test,beta.demo.hellogate.test --duration 10s
  hellogate bench --target 127.0.0.1:8443 --sni alpha.demo.hellogate.test --mode bulk --path /bytes/16777216
`

function usageError (message: string): ProxyError {
  return new ProxyError(ErrorCode.CLI_USAGE, `bench: ${message}`, { source: ErrorSource.Config })
}

/** argv after `bench` → options, or 'help'. Throws HG_ERR_CLI_USAGE. */
export function parseBenchArgs (argv: readonly string[]): BenchOptions | 'help' {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        target: { type: 'string' },
        sni: { type: 'string' },
        mode: { type: 'string' },
        duration: { type: 'string' },
        concurrency: { type: 'string' },
        threads: { type: 'string' },
        out: { type: 'string' },
        ca: { type: 'string' },
        path: { type: 'string' },
        'handshake-only': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (err) {
    throw usageError((err as Error).message)
  }
  const { values, positionals } = parsed
  if (values.help === true) return 'help'
  if (positionals.length > 0) throw usageError(`unexpected argument '${positionals[0] ?? ''}'`)

  if (values.target === undefined || values.target === '') throw usageError('needs --target HOST:PORT (the proxy\'s listener)')
  const target = parseHostPort(values.target, { minPort: 1, allowAnyHost: false })
  if (typeof target === 'string') throw usageError(`--target '${values.target}': ${target}`)

  if (values.sni === undefined || values.sni === '') throw usageError('needs --sni NAME[,NAME...] (the server names to ask for)')
  const sni = values.sni.split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (sni.length === 0) throw usageError('--sni has no names')
  if (sni.length > MAX_SNI_NAMES) throw usageError(`--sni has ${sni.length} names, at most ${MAX_SNI_NAMES}`)
  for (const name of sni) {
    const status = checkHostNameText(name)
    if (status < 0) throw usageError(`--sni '${name}' is not a host name (${describeNameStatus(status)})`)
  }

  const mode = values.mode ?? 'newconn'
  if (!(BENCH_MODES as readonly string[]).includes(mode)) throw usageError(`--mode '${mode}': expected ${BENCH_MODES.join(', ')}`)

  let durationMs = DEFAULT_DURATION_MS
  if (values.duration !== undefined) {
    const ms = parseDuration(values.duration)
    if (ms === undefined) throw usageError(`--duration '${values.duration}': expected a duration with a unit, like 30s, 500ms or 5m`)
    if (ms < MIN_DURATION_MS || ms > MAX_DURATION_MS) throw usageError(`--duration '${values.duration}': expected ${MIN_DURATION_MS}ms to 24h`)
    durationMs = ms
  }

  let concurrency = DEFAULT_CONCURRENCY
  if (values.concurrency !== undefined) {
    if (!/^\d{1,6}$/.test(values.concurrency) || Number(values.concurrency) < 1 || Number(values.concurrency) > MAX_CONCURRENCY) {
      throw usageError(`--concurrency '${values.concurrency}': expected a number 1-${MAX_CONCURRENCY}`)
    }
    concurrency = Number(values.concurrency)
  }

  let threads = 1
  if (values.threads !== undefined) {
    if (!/^\d{1,3}$/.test(values.threads) || Number(values.threads) < 1 || Number(values.threads) > MAX_THREADS) {
      throw usageError(`--threads '${values.threads}': expected a number 1-${MAX_THREADS}`)
    }
    threads = Number(values.threads)
    if (threads > concurrency) throw usageError(`--threads ${threads} is more than --concurrency ${concurrency}: every thread needs a connection`)
  }

  const path = values.path ?? '/'
  // the path goes into the request line verbatim: no spaces or control characters
  if (!path.startsWith('/') || path.length > MAX_PATH_LENGTH || !/^[\x21-\x7e]+$/.test(path)) {
    throw usageError(`--path '${path}': expected an absolute path without spaces, like / or /bytes/1048576`)
  }
  const handshakeOnly = values['handshake-only'] === true
  if (handshakeOnly && mode !== 'newconn') throw usageError('--handshake-only applies to --mode newconn only')
  if (values.out === '') throw usageError('--out needs a directory')
  if (values.ca === '') throw usageError('--ca needs a PEM file')

  return { target, sni, mode: mode as BenchMode, durationMs, concurrency, threads, out: values.out, ca: values.ca, path, handshakeOnly }
}
