/**
 * Every committed ClientHello fixture (real clients' captures and the crafted corpus) through a running
 * proxy, in both accept models: on `reuseport` the addon reads the hello where it dials (relay/accept.ts
 * handleNativeConnection, one read per segment), on `handoff` Node does. The same bytes must reach the
 * origin, byte for byte, however the client segments them, and every refused seed must end with the
 * outcome its parser status names and no origin connection at all.
 * Real sockets on 127.0.0.1:0; the origin is a raw TCP server that records what it receives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import net from 'node:net'
import { HelloAssembler, HelloStatus, sniToString } from '../../src/hello/index.ts'
import { loadCorpus, loadRealHellos } from '../helpers/hello-fixtures.ts'
import { startTestProxy, waitFor } from '../helpers/servers.ts'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

const real = loadRealHellos().map((h) => ({ name: h.client + ' (' + h.file + ')', sni: h.sni, wire: h.wire }))
const corpus = loadCorpus()
// seeds the parser accepts: routed like real hellos (their SNI), the rest refused
const routedSeeds = corpus.filter((c) => c.status === HelloStatus.Ok).map((c) => ({ name: c.file, sni: sniOf(c.bytes), wire: c.bytes }))
const refusedSeeds = corpus.filter((c) => c.status !== HelloStatus.Ok)

/** The name a seed carries, as the parser reads it (the route the proxy must find for it). */
function sniOf (bytes: Buffer): string {
  const asm = new HelloAssembler()
  asm.push(bytes)
  return sniToString(asm.hs, asm.info)
}

/** The outcome a refused seed must end with: no route is configured without SNI, so NoSni is no_sni. */
function outcomeOf (status: HelloStatus): string {
  switch (status) {
    case HelloStatus.NoSni: return 'no_sni'
    case HelloStatus.NotTls: return 'not_tls'
    case HelloStatus.TooLarge: return 'too_large'
    default: return 'malformed'
  }
}

/** How a client may cut the bytes into TCP segments: whole, 1 byte then the rest, the record header alone, 97-byte pieces. */
const SPLITS: Array<[string, (n: number) => number[]]> = [
  ['in one segment', () => []],
  ['one byte, then the rest', () => [1]],
  ['the record header, then the rest', () => [5]],
  ['in 97-byte segments', (n) => Array.from({ length: Math.floor((n - 1) / 97) }, (_, i) => (i + 1) * 97)],
]

function segments (wire: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = []
  let at = 0
  for (const c of cuts) {
    if (c <= at || c >= wire.length) continue
    out.push(wire.subarray(at, c))
    at = c
  }
  out.push(wire.subarray(at))
  return out
}

describe.each(['reuseport', 'handoff'] as const)('every fixture hello through the proxy, accept=%s', (accept) => {
  let proxy: Awaited<ReturnType<typeof startTestProxy>>
  let server: net.Server
  const sockets = new Set<net.Socket>()
  /** what each origin connection received, in accept order */
  const received: Array<Promise<Buffer>> = []

  beforeAll(async () => {
    server = net.createServer({ allowHalfOpen: true }, (s) => {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {})
      const chunks: Buffer[] = []
      s.on('data', (c: Buffer) => chunks.push(c))
      received.push(new Promise((resolve) => s.on('end', () => { s.end(Buffer.from('bye')); resolve(Buffer.concat(chunks)) })))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const origin = '127.0.0.1:' + String((server.address() as net.AddressInfo).port)
    const routes: Record<string, string> = {}
    for (const h of [...real, ...routedSeeds]) routes[h.sni] = origin
    proxy = await startTestProxy({ workers: 1, accept, routes })
  })
  afterAll(async () => {
    await proxy.close()
    for (const s of sockets) s.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  async function send (parts: Buffer[]): Promise<Buffer> {
    const client = net.connect({ port: proxy.port, host: '127.0.0.1', allowHalfOpen: true })
    client.setNoDelay(true)
    client.on('error', () => {})
    const chunks: Buffer[] = []
    client.on('data', (c: Buffer) => chunks.push(c))
    const closed = new Promise<void>((resolve) => { client.on('end', resolve); client.on('close', () => resolve()) })
    await new Promise<void>((resolve) => client.once('connect', resolve))
    for (const [i, p] of parts.entries()) {
      if (i > 0) await sleep(15)
      client.write(p)
    }
    client.end()
    await closed
    client.destroy()
    return Buffer.concat(chunks)
  }

  for (const h of [...real, ...routedSeeds]) {
    for (const [how, cuts] of SPLITS) {
      it(h.name + ' ' + how + ': the origin receives exactly these bytes', async () => {
        const before = proxy.stats().outcomes.ok ?? 0
        const n = received.length
        const reply = await send(segments(h.wire, cuts(h.wire.length)))
        expect(reply.toString()).toBe('bye')
        expect(received.length).toBe(n + 1)
        expect((await received[n]!).equals(h.wire)).toBe(true)
        await waitFor(() => (proxy.stats().outcomes.ok ?? 0) === before + 1)
      })
    }
  }

  for (const c of refusedSeeds) {
    it(c.file + ' (' + c.what + ') ends as ' + outcomeOf(c.status) + ' and opens no origin connection', async () => {
      const outcome = outcomeOf(c.status)
      const before = proxy.stats().outcomes[outcome] ?? 0
      const n = received.length
      await send([c.bytes])
      await waitFor(() => (proxy.stats().outcomes[outcome] ?? 0) === before + 1)
      expect(received.length).toBe(n)
    })
  }
})
