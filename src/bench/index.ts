/**
 * bench/ — `hellogate bench`: a TLS passthrough load generator shipped in the package, so an operator
 * can measure an edge host from where it runs, with nothing but the installed `hellogate` (node:tls;
 * no benchmark library at run time).
 *
 * Contract: `runBench(argv, io)` runs the command (argv = the arguments after `bench`) and resolves
 * with its exit status: 0 when at least one operation succeeded, 1 when none did or the results could
 * not be written. Bad usage (including an unreadable --ca) throws ProxyError HG_ERR_CLI_USAGE; the CLI
 * prints it like any other usage error. `io.signal` aborting (Ctrl-C) ends the run early; the results
 * of the time run so far are still written.
 *
 * Modules: options.ts (argv, --help text), load.ts (the TLS loops), threads.ts + thread.ts (--threads), http1.ts (response reader, pure),
 * stats.ts (percentiles, pure), svg.ts (chart, pure), progress.ts (stderr), report.ts (results).
 */
import { lookup } from 'node:dns/promises'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'

import { ErrorCode, ErrorSource, ProxyError } from '../errors.ts'
import { startLoad } from './load.ts'
import type { LoadSpec } from './load.ts'
import { BENCH_USAGE, parseBenchArgs } from './options.ts'
import type { BenchOptions } from './options.ts'
import { startProgress } from './progress.ts'
import type { ProgressStream } from './progress.ts'
import { buildResults, chartInput, formatSummary } from './report.ts'
import { renderChart } from './svg.ts'
import { startThreadedLoad } from './threads.ts'

export { BENCH_USAGE, BENCH_MODES, parseBenchArgs } from './options.ts'
export type { BenchMode, BenchOptions } from './options.ts'
export type { BenchResults } from './report.ts'

export interface BenchIo {
  stdout: { write: (s: string) => boolean }
  stderr: ProgressStream
  version: string
  signal?: AbortSignal | undefined
}

/** `20261204T053600Z`: sorts by time, no characters a shell or a file system minds */
function timestamp (d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
}

async function readCa (file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch (err) {
    throw new ProxyError(ErrorCode.CLI_USAGE, `bench: cannot read --ca ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { source: ErrorSource.Config })
  }
}

export async function runBench (argv: readonly string[], io: BenchIo): Promise<number> {
  const parsed = parseBenchArgs(argv)
  if (parsed === 'help') {
    io.stdout.write(BENCH_USAGE)
    return 0
  }
  const opts: BenchOptions = parsed
  const ca = opts.ca === undefined ? null : await readCa(opts.ca)
  const startedAt = new Date()
  const dir = resolve(opts.out ?? `hellogate-bench-${timestamp(startedAt)}`)
  const fail = (message: string): number => {
    io.stderr.write(`hellogate: bench: ${message}\n`)
    return 1
  }
  let address: string
  try {
    // once, before the run: DNS is not what is being measured
    address = (await lookup(opts.target.host)).address
  } catch (err) {
    return fail(`cannot resolve ${opts.target.host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  try {
    // before the run, so a bad --out fails in a second, not after the whole duration
    await mkdir(dir, { recursive: true })
  } catch (err) {
    return fail(`cannot create ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }

  const spec: LoadSpec = {
    host: address,
    port: opts.target.port,
    sni: opts.sni,
    mode: opts.mode,
    durationMs: opts.durationMs,
    concurrency: opts.concurrency,
    path: opts.path,
    handshakeOnly: opts.handshakeOnly,
    ca,
  }
  // one thread runs in this one; more start worker threads, each with its share of the connections
  const run = opts.threads === 1 ? startLoad(spec) : startThreadedLoad(spec, opts.threads)
  const onAbort = (): void => { run.stop() }
  io.signal?.addEventListener('abort', onAbort, { once: true })
  const progress = startProgress(run, io.stderr)
  await run.done
  progress.stop()
  if (run.unclosed > 0) io.stderr.write(`hellogate: bench: ${run.unclosed} connections did not report closed within the stop bound\n`)
  io.signal?.removeEventListener('abort', onAbort)

  const files = { json: join(dir, 'results.json'), svg: join(dir, 'chart.svg') }
  const results = buildResults(run, { version: io.version, startedAt, options: opts, address, files })
  try {
    await writeFile(files.json, JSON.stringify(results, null, 2) + '\n')
    await writeFile(files.svg, renderChart(chartInput(run, results)))
  } catch (err) {
    io.stdout.write(formatSummary(results))
    return fail(`cannot write the results to ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  io.stdout.write(formatSummary(results))
  if (results.completed === 0) return fail(`nothing succeeded against ${results.options.target}; errors: ${JSON.stringify(results.errorsByCode)}`)
  return 0
}
