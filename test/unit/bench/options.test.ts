/**
 * bench/options.ts: what `hellogate bench` accepts, and a coded usage error naming the option for
 * everything else (the CLI turns it into exit 2, test/integration/bench-cli.test.ts).
 */
import { describe, expect, it } from 'vitest'

import { DEFAULT_CONCURRENCY, DEFAULT_DURATION_MS, parseBenchArgs } from '../../../src/bench/options.ts'
import { ErrorCode, isProxyError } from '../../../src/errors.ts'

function usage (args: string[]): string {
  try {
    parseBenchArgs(args)
  } catch (err) {
    if (isProxyError(err) && err.code === ErrorCode.CLI_USAGE) return err.message
    throw err
  }
  throw new Error(`accepted: ${args.join(' ')}`)
}

describe('parseBenchArgs', () => {
  it('defaults: newconn, 30 s, 16 connections, path /, no verification', () => {
    expect(parseBenchArgs(['--target', 'Edge.Example:443', '--sni', 'a.example, b.example'])).toEqual({
      target: { host: 'edge.example', port: 443 },
      sni: ['a.example', 'b.example'],
      mode: 'newconn',
      durationMs: DEFAULT_DURATION_MS,
      concurrency: DEFAULT_CONCURRENCY,
      threads: 1,
      out: undefined,
      ca: undefined,
      path: '/',
      handshakeOnly: false,
    })
  })

  it('takes every option', () => {
    expect(parseBenchArgs(['--target', '[::1]:8443', '--sni', 'a.example', '--mode', 'bulk', '--duration', '1.5s', '--concurrency', '64', '--out', 'x', '--ca', 'ca.pem', '--path', '/bytes/1024'])).toMatchObject({
      target: { host: '::1', port: 8443 }, mode: 'bulk', durationMs: 1500, concurrency: 64, out: 'x', ca: 'ca.pem', path: '/bytes/1024',
    })
    expect(parseBenchArgs(['--help'])).toBe('help')
    expect(parseBenchArgs(['--target', '127.0.0.1:1', '--sni', 'a.example', '--handshake-only'])).toMatchObject({ handshakeOnly: true })
  })

  it.each([
    [['--sni', 'a.example'], 'needs --target'],
    [['--target', '127.0.0.1:443'], 'needs --sni'],
    [['--target', '127.0.0.1', '--sni', 'a.example'], 'missing :port'],
    [['--target', '127.0.0.1:0', '--sni', 'a.example'], 'out of range'],
    [['--target', '127.0.0.1:443', '--sni', ','], '--sni has no names'],
    [['--target', '127.0.0.1:443', '--sni', 'bad name'], "--sni 'bad name' is not a host name"],
    [['--target', '127.0.0.1:443', '--sni', 'a.example', '--mode', 'fast'], "--mode 'fast'"],
    [['--target', '127.0.0.1:443', '--sni', 'a.example', '--duration', '30'], "--duration '30'"],
    [['--target', '127.0.0.1:443', '--sni', 'a.example', '--duration', '10ms'], '100ms to 24h'],
    [['--target', '127.0.0.1:443', '--sni', 'a.example', '--concurrency', '0'], "--concurrency '0'"],
    [['--target', '127.0.0.1:443', '--sni', 'a.example', '--concurrency', '10001'], "--concurrency '10001'"],
    [['--target', '127.0.0.1:443', '--sni', 'a.example', '--path', 'x y'], "--path 'x y'"],
    [['--target', '127.0.0.1:443', '--sni', 'a.example', '--threads', '0'], "--threads '0'"],
    [['--target', '127.0.0.1:443', '--sni', 'a.example', '--concurrency', '2', '--threads', '4'], 'more than --concurrency 2'],
    [['--target', '127.0.0.1:443', '--sni', 'a.example', '--mode', 'keepalive', '--handshake-only'], 'newconn only'],
    [['--target', '127.0.0.1:443', '--sni', 'a.example', 'extra'], "unexpected argument 'extra'"],
    [['--target', '127.0.0.1:443', '--sni', 'a.example', '--bogus'], "Unknown option '--bogus'"],
  ])('%j → %s', (args, message) => {
    const m = usage(args)
    expect(m).toContain(message)
    expect(m.startsWith('bench: ')).toBe(true)
  })
})
