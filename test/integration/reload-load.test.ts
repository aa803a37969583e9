/**
 * Reload under load, the promise: while new TLS connections run back to back (concurrency 4, real
 * node:tls clients through a real worker thread), the table is reloaded 20 times, valid and invalid files
 * alternating. No connection may fail, and each must have followed a table that could have been in force
 * when its hello arrived.
 *
 * Every valid reload routes the one name to a different origin, each with its own certificate, so a
 * connection's certificate names the exact table (generation) that routed it. What can be asserted
 * without racing the worker (a reload's `ok` means the table was sent to the worker; the worker installs
 * it between two of its own events, at some unknown later instant), for a connection open over [start, end]
 * that was routed by generation g:
 *  - g's reload was requested before `end` (a table cannot route a hello before it exists);
 *  - no connection that ended before `start` was routed by a later generation than g (once a later table
 *    routed a hello, the worker has installed it and never goes back);
 *  - never a failed reload's table (invalid files produce none) and never a failed connection.
 * With one worker these are exact; with several, each worker swaps on its own and only the first holds.
 */
import { describe, expect, it } from 'vitest'
import { writeFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { rawConfig, startTestProxy, startTlsOrigin, tempFile, tlsRequest, waitFor, type TlsOrigin } from '../helpers/servers.ts'
import { closeReloadPool } from '../../src/pool/index.ts'

const NAME = 'reload-load.test.hellogate.example'
/** reloads in all; even ones are valid (each a new generation), odd ones invalid */
const RELOADS = 20
const GENERATIONS = RELOADS / 2 + 1
const CONCURRENCY = 4
/** the load runs until every reload is done and at least this many connections completed */
const MIN_CONNECTIONS = 300
/** hard bound on the loop, whatever happens */
const MAX_CONNECTIONS = 3000
/** a few kinds of broken file: a bad pattern, a bad origin, an unknown key, a file that does not parse */
const INVALID = [
  '{ "routes": { "bad pattern!": "127.0.0.1:1" } }',
  '{ "routes": { "' + NAME + '": "no-port" } }',
  '{ "routes": { "' + NAME + '": "127.0.0.1:1" }, "limitz": {} }',
  '{ "routes": ',
]

interface Conn { start: number, end: number, generation: number, error: string | null }

describe('reload under load', () => {
  it('drops no connection across 20 reloads, and each follows a table in force during its life', async () => {
    const origins: TlsOrigin[] = []
    for (let g = 0; g < GENERATIONS; g++) origins.push(await startTlsOrigin('gen' + String(g), [NAME]))
    const generationOf = new Map(origins.map((o, g) => [o.fingerprint, g]))
    const ca = origins.map((o) => o.cert)
    const configFor = (g: number): string => JSON.stringify(rawConfig({ workers: 1, routes: { [NAME]: '127.0.0.1:' + String(origins[g]!.port) } }))
    const proxy = await startTestProxy({ workers: 1, routes: { [NAME]: '127.0.0.1:' + String(origins[0]!.port) } })
    const file = tempFile('reload-load.json', configFor(0))
    /** performance.now() when reload of generation g was requested (generation 0: the start) */
    const requested = [0]
    const conns: Conn[] = []
    const load = { reloading: true }
    const seen = new Set<number>()

    async function client (): Promise<void> {
      while (conns.length < MAX_CONNECTIONS && (load.reloading || conns.length < MIN_CONNECTIONS)) {
        const c: Conn = { start: performance.now(), end: 0, generation: -1, error: null }
        try {
          const r = await tlsRequest(proxy.port, NAME, ca)
          c.generation = generationOf.get(r.fingerprint) ?? -1
          if (!r.body.includes('origin gen')) c.error = 'no answer from an origin: ' + JSON.stringify(r.body)
        } catch (err) {
          c.error = String((err as NodeJS.ErrnoException).code ?? err)
        }
        c.end = performance.now()
        if (c.generation >= 0) seen.add(c.generation)
        conns.push(c)
      }
    }

    try {
      const clients = Promise.all(Array.from({ length: CONCURRENCY }, client))
      const results: boolean[] = []
      for (let i = 0; i < RELOADS; i++) {
        const valid = i % 2 === 0
        const g = i / 2 + 1
        if (valid) {
          writeFileSync(file, configFor(g))
          requested[g] = performance.now()
        } else {
          writeFileSync(file, INVALID[(i >> 1) % INVALID.length]!)
        }
        const r = await proxy.reload(file)
        results.push(r.ok)
        // pace: a valid table must be seen routing before the next reload, an invalid one is followed by a few connections
        if (valid) await waitFor(() => seen.has(g), 10_000, 5)
        else { const n = conns.length; await waitFor(() => conns.length >= n + CONCURRENCY, 10_000, 5) }
      }
      load.reloading = false
      await clients

      expect(results).toEqual(Array.from({ length: RELOADS }, (_, i) => i % 2 === 0))
      const failed = conns.filter((c) => c.error !== null || c.generation < 0)
      expect(failed).toEqual([])
      expect(conns.length).toBeGreaterThanOrEqual(MIN_CONNECTIONS)
      expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: GENERATIONS }, (_, g) => g))
      // a table routes no hello before its reload was asked for
      const early = conns.filter((c) => requested[c.generation]! > c.end)
      expect(early).toEqual([])
      // and once a later table routed a hello, no connection started afterwards goes back to an older one
      const byEnd = [...conns].sort((a, b) => a.end - b.end)
      let newestEnded = -1
      let k = 0
      const stale: Conn[] = []
      for (const c of [...conns].sort((a, b) => a.start - b.start)) {
        while (k < byEnd.length && byEnd[k]!.end < c.start) newestEnded = Math.max(newestEnded, byEnd[k++]!.generation)
        if (c.generation < newestEnded) stale.push(c)
      }
      expect(stale).toEqual([])
      // the proxy counts a session when its last socket closes, a moment after the client saw the end
      await waitFor(() => proxy.stats().outcomes.ok === conns.length)
      expect(proxy.stats().counters.conn_accepted).toBe(conns.length)
    } finally {
      load.reloading = false
      await proxy.close(500)
      await closeReloadPool()
      await Promise.all(origins.map((o) => o.close()))
    }
  })
})
