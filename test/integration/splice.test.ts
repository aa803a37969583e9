/**
 * The data phase in whichever relay this run selects (vitest project `integration`: the native splice
 * relay where dist/native/splice.node is built; project `integration-js`: HELLOGATE_RELAY=js), with
 * what the relay must keep whatever moves the bytes: exact bytes both ways under backpressure, half-close
 * each way, a reset mid-transfer, the idle timeout and the shutdown deadline on handed-over sessions,
 * and the startup line that says which relay runs (and the fallback when the addon cannot load).
 * Real sockets on 127.0.0.1:0; the origins here are raw TCP servers, the client sends a real ClientHello
 * and then arbitrary bytes, as a TLS client's records would be to the proxy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import net from 'node:net'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
import { buildClientHello, wrapRecords } from '../helpers/build-hello.ts'
import { closedPort, startBlackholeOrigin, startCliProxy, startTestProxy, startTlsOrigin, tlsRequest, waitFor } from '../helpers/servers.ts'
import { INTAKE_ENV, ORIGIN_DIAL_ENV, RELAY_ENV, SPLICE_ADDON_ENV, SPLICE_AFTER_BYTES, SPLICE_AFTER_ENV } from '../../src/relay/index.ts'

const NAME = 'splice.test.hellogate.example'
const HELLO = Buffer.from(wrapRecords(buildClientHello({ sni: NAME }), 1))
/** routed to `localhost:PORT`: a host name, which the addon does not dial */
const LOCALHOST_NAME = 'localhost.splice.test.hellogate.example'
const LOCALHOST_HELLO = Buffer.from(wrapRecords(buildClientHello({ sni: LOCALHOST_NAME }), 1))
/** the relay this run expects: what the startup line must say and what relay_spliced must show */
const ADDON_BUILT = process.platform === 'linux' && existsSync(new URL('../../dist/native/splice.node', import.meta.url))
const MODE = process.env[RELAY_ENV] !== 'js' && ADDON_BUILT ? 'splice' : 'js'
/** who opens origin connections to IP addresses: the addon (the default where it runs) or Node (vitest project `integration-node-dial`) */
const DIAL = MODE === 'splice' && process.env[ORIGIN_DIAL_ENV] !== 'js' ? 'addon' : 'node'
/** whether reuseport TLS listeners accept at the handle level and the addon reads the hellos (only where it dials) */
const INTAKE = DIAL === 'addon' && process.env[INTAKE_ENV] !== 'js'
// every proxy below hands its connections over right after the hello (the shipped default waits for
// SPLICE_AFTER_BYTES), so that each case runs in the splice relay from its first byte; the last describe
// starts its proxy with the default
process.env[SPLICE_AFTER_ENV] = '0'
/** several pipes' worth (64 KiB each) both ways, small enough for 2 shared cores */
const BIG = 8 * 1024 * 1024

/** Deterministic bytes, different per seed (a shifted pattern: a lost or repeated chunk changes the hash). */
function pattern (n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed + (i >>> 16)) & 0xff
  return b
}

function sha (b: Buffer): string {
  return createHash('sha256').update(b).digest('hex')
}

/** A raw TCP origin: `onConnection` gets each accepted socket (allowHalfOpen, as the proxy's origins). */
async function startOrigin (onConnection: (s: net.Socket) => void): Promise<{ port: number, close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    s.on('error', () => {})
    onConnection(s)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/**
 * Collect everything a socket reads; `closed` settles with the bytes at its FIN or its close, whichever
 * comes first (these sockets are half-open capable: a FIN alone does not close them).
 */
function collect (s: net.Socket): { chunks: Buffer[], ended: () => boolean, closed: Promise<Buffer> } {
  const chunks: Buffer[] = []
  let ended = false
  s.on('data', (c: Buffer) => chunks.push(c))
  const closed = new Promise<Buffer>((resolve) => {
    s.on('end', () => { ended = true; resolve(Buffer.concat(chunks)) })
    s.on('close', () => resolve(Buffer.concat(chunks)))
  })
  return { chunks, ended: () => ended, closed }
}

function connect (port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => resolve(s))
    s.once('error', reject)
  })
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * A connection through the proxy: the hello, a pause (the origin connect), `up`, then wait until
 * `downLength` bytes came back; the caller ends it.
 */
async function exchange (port: number, up: Buffer, downLength: number, hello = HELLO): Promise<{ client: net.Socket, got: ReturnType<typeof collect> }> {
  const client = await connect(port)
  const got = collect(client)
  client.write(hello)
  await sleep(50)
  client.write(up)
  while (Buffer.concat(got.chunks).length < downLength) await sleep(10)
  return { client, got }
}

describe('data-phase relay (' + MODE + ', origin dialed by ' + DIAL + ')', () => {
  it('says at startup which relay runs, and why', async () => {
    const origin = await startOrigin((s) => s.end())
    const proxy = await startCliProxy({ workers: 1, routes: { [NAME]: '127.0.0.1:' + String(origin.port) } })
    try {
      const line = await proxy.waitForLog((l) => l.evt === 'relay')
      expect(line.relay).toBe(MODE)
      expect(String(line.reason)).toMatch(MODE === 'js'
        ? /HELLOGATE_RELAY=js|not loaded|Linux only/
        : DIAL === 'addon'
          ? /native addon loaded from .*splice\.node; origin connects to IP addresses in the addon; hellos read in the addon on reuseport TLS listeners; hand-over after 0 bytes \(HELLOGATE_SPLICE_AFTER\)/
          : /native addon loaded from .*splice\.node; origin connects through Node \(HELLOGATE_ORIGIN_DIAL=js\); hand-over after 0 bytes \(HELLOGATE_SPLICE_AFTER\)/)
    } finally {
      await proxy.close()
      await origin.close()
    }
  })

  it('falls back to the JavaScript relay, and says so, when the addon cannot be loaded', async () => {
    const alpha = await startTlsOrigin('alpha', [NAME])
    const saved = process.env[SPLICE_ADDON_ENV]
    process.env[SPLICE_ADDON_ENV] = '/nonexistent/hellogate/splice.node'
    let proxy: Awaited<ReturnType<typeof startCliProxy>> | undefined
    try {
      proxy = await startCliProxy({ workers: 1, routes: { [NAME]: '127.0.0.1:' + String(alpha.port) } })
      const line = await proxy.waitForLog((l) => l.evt === 'relay')
      expect(line.relay).toBe('js')
      expect(String(line.reason)).toMatch(process.env[RELAY_ENV] === 'js' ? /HELLOGATE_RELAY=js/ : /native addon not loaded \(.*nonexistent/)
      // and the proxy relays all the same
      const res = await tlsRequest(proxy.port, NAME, alpha.cert)
      expect(res.body).toContain('origin alpha')
    } finally {
      if (saved === undefined) delete process.env[SPLICE_ADDON_ENV]
      else process.env[SPLICE_ADDON_ENV] = saved
      await proxy?.close()
      await alpha.close()
    }
  })

  it('writes each session\'s exact bytes in the access log, ended by FINs or by the idle timeout', async () => {
    const reply = pattern(700_000, 17)
    const origin = await startOrigin((s) => {
      s.write(reply)
      s.resume()
      s.on('end', () => s.end())
    })
    const proxy = await startCliProxy({ workers: 1, routes: { [NAME]: '127.0.0.1:' + String(origin.port) }, timeouts: { idle: '1s' } })
    try {
      const sent = pattern(500_000, 19)
      for (const finish of ['fin', 'idle'] as const) {
        const { client, got } = await exchange(proxy.port, sent, reply.length)
        if (finish === 'fin') client.end()
        await got.closed
        client.destroy()
        const line = await proxy.waitForLog((l) => l.evt === 'conn.close' && l.outcome === (finish === 'fin' ? 'ok' : 'idle_timeout'), 5000)
        expect(line.bytesUp).toBe(HELLO.length + sent.length)
        expect(line.bytesDown).toBe(reply.length)
      }
    } finally {
      await proxy.close()
      await origin.close()
    }
  })

  describe('bytes', () => {
    const down = pattern(BIG, 7)
    const up = pattern(BIG, 91)
    let origin: Awaited<ReturnType<typeof startOrigin>>
    let received: Promise<Buffer>[] = []
    let originSockets: net.Socket[] = []
    /** what the origin does with each connection, set per test */
    let behave: (s: net.Socket) => void = () => {}
    let proxy: Awaited<ReturnType<typeof startTestProxy>>

    beforeAll(async () => {
      origin = await startOrigin((s) => {
        originSockets.push(s)
        received.push(collect(s).closed)
        behave(s)
      })
      proxy = await startTestProxy({ workers: 1, routes: { [NAME]: '127.0.0.1:' + String(origin.port) }, timeouts: { idle: '1s' } })
    })

    afterAll(async () => {
      await proxy.close(500)
      await origin.close()
    })

    function reset (b: (s: net.Socket) => void): void {
      received = []
      originSockets = []
      behave = b
    }

    it('relays 8 MiB each way at once with slow readers: exact bytes, counted', async () => {
      const before = proxy.stats().counters
      reset((s) => { s.write(down, () => s.end()) })
      const client = await connect(proxy.port)
      const got = collect(client)
      client.pause()
      client.write(HELLO)
      // after the origin connect: bytes sent during it are held by Node, and the connection would stay on
      // the JavaScript relay (splice.ts trySplice)
      await waitFor(() => originSockets.length === 1)
      await sleep(20)
      client.write(up, () => client.end())
      // a slow reader: bursts with pauses
      for (let i = 0; i < 10 && !got.ended(); i++) {
        client.resume()
        await sleep(20)
        client.pause()
        await sleep(20)
      }
      client.resume()
      const clientGot = await got.closed
      const originGot = await received[0]!
      expect(clientGot.length).toBe(down.length)
      expect(sha(clientGot)).toBe(sha(down))
      expect(originGot.length).toBe(HELLO.length + up.length)
      expect(sha(originGot)).toBe(sha(Buffer.concat([HELLO, up])))
      await waitFor(() => proxy.stats().outcomes.ok === before.outcome_ok! + 1)
      const after = proxy.stats().counters
      expect(after.bytes_up! - before.bytes_up!).toBe(HELLO.length + up.length)
      expect(after.bytes_down! - before.bytes_down!).toBe(down.length)
      expect(after.relay_spliced! - before.relay_spliced!).toBe(MODE === 'splice' ? 1 : 0)
    })

    it('holds a 64 MiB sender back while the reader reads nothing, then delivers every byte', async () => {
      const size = 64 * 1024 * 1024
      const block = pattern(1024 * 1024, 13)
      reset((s) => {
        for (let i = 0; i < size / block.length; i++) s.write(block)
        s.end()
      })
      const client = await connect(proxy.port)
      let n = 0
      const hash = createHash('sha256')
      client.on('data', (c: Buffer) => { n += c.length; hash.update(c) })
      const done = new Promise((resolve) => client.on('end', resolve))
      client.pause()
      client.write(HELLO)
      await waitFor(() => originSockets.length === 1)
      // the reader waits: what the origin's kernel accepted stays far below what it wrote (loopback
      // buffers can grow to tens of MiB), i.e. the proxy passes the backpressure on, taking in no more
      // than its socket buffers and one pipe
      await sleep(500)
      const o = originSockets[0]!
      expect(o.writableLength).toBeGreaterThan(0)
      client.resume()
      await done
      client.destroy()
      const whole = createHash('sha256')
      for (let i = 0; i < size / block.length; i++) whole.update(block)
      expect(n).toBe(size)
      expect(hash.digest('hex')).toBe(whole.digest('hex'))
    })

    it('client FIN first: it reaches the origin, which then still sends 1 MiB that arrives whole', async () => {
      const reply = pattern(1024 * 1024, 3)
      reset((s) => { s.on('end', () => s.end(reply)) })
      const client = await connect(proxy.port)
      const got = collect(client)
      client.write(HELLO)
      await waitFor(() => originSockets.length === 1)
      await sleep(50)
      client.end(up.subarray(0, 200_000))
      const clientGot = await got.closed
      expect(sha(clientGot)).toBe(sha(reply))
      expect(sha(await received[0]!)).toBe(sha(Buffer.concat([HELLO, up.subarray(0, 200_000)])))
    })

    it('origin FIN first: it reaches the client, which then still sends 1 MiB that arrives whole', async () => {
      const greeting = pattern(300_000, 5)
      const more = pattern(1024 * 1024, 11)
      let originEnded = false
      reset((s) => {
        s.end(greeting)
        s.on('end', () => { originEnded = true })
      })
      const client = await connect(proxy.port)
      const got = collect(client)
      client.write(HELLO)
      await waitFor(() => got.ended(), 5000)
      expect(sha(Buffer.concat(got.chunks))).toBe(sha(greeting))
      client.end(more)
      await got.closed
      await waitFor(() => originEnded)
      expect(sha(await received[0]!)).toBe(sha(Buffer.concat([HELLO, more])))
    })

    it('an origin reset mid-transfer closes the client promptly and counts relay_error', async () => {
      const before = proxy.stats().outcomes.relay_error!
      reset((s) => {
        s.write(down.subarray(0, 256 * 1024))
        setTimeout(() => s.resetAndDestroy(), 100)
      })
      const client = await connect(proxy.port)
      client.on('error', () => {})
      const got = collect(client)
      client.write(HELLO)
      // keep the client sending: the proxy's write towards the reset origin fails
      const timer = setInterval(() => { if (client.writable) client.write(up.subarray(0, 16 * 1024)) }, 5)
      try {
        await got.closed
      } finally {
        clearInterval(timer)
      }
      await waitFor(() => proxy.stats().outcomes.relay_error === before + 1)
    })

    it('closes a relayed session silent both ways past timeouts.idle (idle_timeout), not one with traffic', async () => {
      const before = proxy.stats()
      reset(() => {})
      const busy = await connect(proxy.port)
      const quiet = await connect(proxy.port)
      const busyGot = collect(busy)
      const quietGot = collect(quiet)
      busy.write(HELLO)
      quiet.write(HELLO)
      await waitFor(() => originSockets.length === 2)
      const t0 = Date.now()
      // bytes on the busy one every 300 ms for 2 s: about two idle periods
      for (let i = 0; i < 7; i++) {
        await sleep(300)
        busy.write('ping')
      }
      await quietGot.closed
      expect(Date.now() - t0).toBeGreaterThanOrEqual(900)
      expect(busyGot.ended()).toBe(false)
      expect(busy.destroyed).toBe(false)
      await busyGot.closed
      await waitFor(() => proxy.stats().outcomes.idle_timeout === before.outcomes.idle_timeout! + 2)
      expect(proxy.stats().counters.relay_spliced! - before.counters.relay_spliced!).toBe(MODE === 'splice' ? 2 : 0)
    })
  })

  it('close({ deadline }) ends relayed sessions at the deadline (shutdown) and returns', async () => {
    const origin = await startOrigin(() => {})
    const proxy = await startTestProxy({ workers: 1, routes: { [NAME]: '127.0.0.1:' + String(origin.port) } })
    const clients: Array<ReturnType<typeof collect>> = []
    try {
      for (let i = 0; i < 3; i++) {
        const c = await connect(proxy.port)
        clients.push(collect(c))
        c.write(HELLO)
      }
      await waitFor(() => proxy.stats().counters.origin_connect_ok === 3)
      await sleep(50)
      expect(proxy.stats().counters.relay_spliced).toBe(MODE === 'splice' ? 3 : 0)
      const t0 = Date.now()
      await proxy.close(400)
      expect(Date.now() - t0).toBeGreaterThanOrEqual(350)
      await Promise.all(clients.map((c) => c.closed))
      expect(proxy.stats().outcomes.shutdown).toBe(3)
    } finally {
      await origin.close()
    }
  })
})

describe('hand-over point (' + MODE + ', origin dialed by ' + DIAL + ', the shipped default of ' + String(SPLICE_AFTER_BYTES) + ' bytes)', () => {
  let proxy: Awaited<ReturnType<typeof startTestProxy>>
  let origin: Awaited<ReturnType<typeof startOrigin>>
  /** what the next connection's origin sends back once it has read `expectUp` bytes, then its FIN */
  let reply: Buffer = Buffer.alloc(0)
  let expectUp = 0
  const received: Array<Promise<Buffer>> = []

  beforeAll(async () => {
    origin = await startOrigin((s) => {
      const chunks: Buffer[] = []
      let n = 0
      let replied = false
      received.push(new Promise((resolve) => s.on('end', () => { s.end(); resolve(Buffer.concat(chunks)) })))
      s.on('data', (c: Buffer) => {
        chunks.push(c)
        n += c.length
        if (!replied && n >= expectUp) { replied = true; s.write(reply) }
      })
    })
    const saved = process.env[SPLICE_AFTER_ENV]
    delete process.env[SPLICE_AFTER_ENV]
    try {
      // LOCALHOST_NAME's origin is a host name: the addon dials IP literals only, so Node connects it
      proxy = await startTestProxy({ workers: 1, routes: { [NAME]: '127.0.0.1:' + String(origin.port), [LOCALHOST_NAME]: 'localhost:' + String(origin.port) } })
    } finally {
      process.env[SPLICE_AFTER_ENV] = saved
    }
  })
  afterAll(async () => {
    await proxy.close()
    await origin.close()
  })

  for (const [label, hello, upBytes, downBytes, spliced] of [
    // an origin the addon dialed has no net.Socket to relay through: the addon relays from the first byte
    [DIAL === 'addon' ? 'a short exchange (handshake-sized) to an IP origin is relayed by the addon that dialed it' : 'a short exchange (handshake-sized) stays on the JavaScript relay', HELLO, 1500, 4000, DIAL === 'addon' ? 1 : 0],
    ['a short exchange to a host-name origin (connected by Node) stays on the JavaScript relay', LOCALHOST_HELLO, 1500, 4000, 0],
    ['a bulk transfer is handed over mid-stream, every byte exact both ways', HELLO, 1024 * 1024, 3 * 1024 * 1024, 1],
  ] as const) {
    it(label, async () => {
      const before = proxy.stats()
      const up = pattern(upBytes, 23)
      const down = pattern(downBytes, 29)
      reply = down
      expectUp = hello.length + up.length
      const { client, got } = await exchange(proxy.port, up, down.length, hello)
      client.end()
      const clientGot = await got.closed
      const originGot = await received[received.length - 1]!
      expect(sha(clientGot)).toBe(sha(down))
      expect(sha(originGot)).toBe(sha(Buffer.concat([hello, up])))
      await waitFor(() => proxy.stats().outcomes.ok === before.outcomes.ok! + 1)
      const after = proxy.stats().counters
      expect(after.bytes_up! - before.counters.bytes_up!).toBe(hello.length + up.length)
      expect(after.bytes_down! - before.counters.bytes_down!).toBe(down.length)
      expect(after.relay_spliced! - before.counters.relay_spliced!).toBe(MODE === 'splice' ? spliced : 0)
      // the addon read the hello; only a host-name origin (Node connects it) needed a client socket
      expect(after.intake_native! - before.counters.intake_native!).toBe(INTAKE ? 1 : 0)
      expect(after.intake_wrapped! - before.counters.intake_wrapped!).toBe(INTAKE && hello === LOCALHOST_HELLO ? 1 : 0)
      client.destroy()
    })
  }
})

// the client leg: hellos read by the addon on a reuseport TLS listener (accept.ts handleNativeConnection),
// and every way such a client leaves the addon's path keeps the socket path's outcome
describe('client intake (' + MODE + ', origin dialed by ' + DIAL + (INTAKE ? ', hellos read by the addon' : ', hellos read by Node') + ')', () => {
  let proxy: Awaited<ReturnType<typeof startTestProxy>>
  let origin: Awaited<ReturnType<typeof startOrigin>>
  const received: Array<Promise<Buffer>> = []

  beforeAll(async () => {
    origin = await startOrigin((s) => {
      const got = collect(s)
      received.push(got.closed)
      s.on('end', () => s.end(Buffer.from('bye')))
    })
    proxy = await startTestProxy({ workers: 1, routes: { [NAME]: '127.0.0.1:' + String(origin.port) }, timeouts: { hello: '1s' } })
  })
  afterAll(async () => {
    await proxy.close()
    await origin.close()
  })

  /** counters and outcomes moved since `before` */
  function moved (before: ReturnType<typeof proxy.stats>): (k: string) => number {
    const after = proxy.stats()
    return (k) => k.startsWith('outcome_')
      ? (after.outcomes[k.slice(8)] ?? 0) - (before.outcomes[k.slice(8)] ?? 0)
      : after.counters[k]! - before.counters[k]!
  }

  it('reads a hello that arrives in three segments (one read each), relays it exactly and never makes a client socket', async () => {
    const before = proxy.stats()
    const client = await connect(proxy.port)
    client.setNoDelay(true)
    const got = collect(client)
    for (const part of [HELLO.subarray(0, 3), HELLO.subarray(3, 200), HELLO.subarray(200)]) {
      client.write(part)
      await sleep(30)
    }
    client.end(Buffer.from('after the hello'))
    expect((await got.closed).toString()).toBe('bye')
    expect(sha(await received[received.length - 1]!)).toBe(sha(Buffer.concat([HELLO, Buffer.from('after the hello')])))
    await waitFor(() => moved(before)('outcome_ok') === 1)
    const d = moved(before)
    expect(d('hello_segmented')).toBe(1)
    expect(d('intake_native')).toBe(INTAKE ? 1 : 0)
    expect(d('intake_wrapped')).toBe(0)
    client.destroy()
  })

  it('refuses a name with no route with its alert, through the socket it then makes (no byte forwarded)', async () => {
    const before = proxy.stats()
    const conns = received.length
    const client = await connect(proxy.port)
    const got = collect(client)
    client.write(Buffer.from(wrapRecords(buildClientHello({ sni: 'nowhere.hellogate.example' }), 1)))
    const reply = await got.closed
    // a TLS alert record (content type 21, record version 3.1): fatal (2), unrecognized_name (112)
    expect([...reply]).toEqual([21, 3, 1, 0, 2, 2, 112])
    await waitFor(() => moved(before)('outcome_no_route') === 1)
    expect(moved(before)('intake_wrapped')).toBe(INTAKE ? 1 : 0)
    expect(received.length).toBe(conns)
    client.destroy()
  })

  for (const [label, bytes, outcome] of [
    ['an empty connection (FIN at once) is not_tls', Buffer.alloc(0), 'not_tls'],
    ['a partial hello then FIN is malformed', HELLO.subarray(0, 100), 'malformed'],
  ] as const) {
    it(label + ', as on a client socket', async () => {
      const before = proxy.stats()
      const client = await connect(proxy.port)
      const got = collect(client)
      client.end(bytes)
      await got.closed
      await waitFor(() => moved(before)('outcome_' + outcome) === 1)
      expect(moved(before)('intake_wrapped')).toBe(INTAKE ? 1 : 0)
      client.destroy()
    })
  }

  it('counts a client reset during the hello as client_abort, and one silent past timeouts.hello as hello_timeout', async () => {
    const before = proxy.stats()
    const a = await connect(proxy.port)
    a.write(HELLO.subarray(0, 50))
    await sleep(50)
    a.resetAndDestroy()
    const b = await connect(proxy.port)
    b.on('error', () => {})
    await waitFor(() => moved(before)('outcome_client_abort') === 1)
    await waitFor(() => moved(before)('outcome_hello_timeout') === 1, 5000)
    const d = moved(before)
    expect(d('intake_native')).toBe(INTAKE ? 2 : 0)
    // neither needed a client socket: a reset and a timeout close the handle
    expect(d('intake_wrapped')).toBe(0)
    b.destroy()
  })

  it('reads hellos through Node sockets on a handoff listener (the main thread accepts)', async () => {
    const p = await startTestProxy({ workers: 1, accept: 'handoff', routes: { [NAME]: '127.0.0.1:' + String(origin.port) } })
    try {
      const { client, got } = await exchange(p.port, Buffer.from('x'), 0)
      client.end()
      await got.closed
      await waitFor(() => p.stats().outcomes.ok === 1)
      expect(p.stats().counters.intake_native).toBe(0)
      client.destroy()
    } finally {
      await p.close()
    }
  })
})

/** Open file descriptors of this process (the in-process proxy's worker threads share them). */
function openFds (): number {
  return readdirSync('/proc/self/fd').length
}

// in every run: the addon closes the origin fds it opened (dial), Node the ones it opened
describe('origin connections (' + MODE + ', origin dialed by ' + DIAL + ')', () => {
  it('leaves no fd behind: refused, timed out, abandoned while connecting, and relayed connections', async () => {
    const hello = (sni: string): Buffer => Buffer.from(wrapRecords(buildClientHello({ sni }), 1))
    const origin = await startOrigin((s) => {
      s.on('data', () => {})
      s.on('end', () => s.end(Buffer.from('bye')))
    })
    const refused = await closedPort()
    const hole = await startBlackholeOrigin()
    const proxy = await startTestProxy({
      workers: 1,
      routes: {
        [NAME]: '127.0.0.1:' + String(origin.port),
        ['refused.' + NAME]: '127.0.0.1:' + String(refused),
        ['hole.' + NAME]: '127.0.0.1:' + String(hole.port),
      },
      timeouts: { connect: '300ms' },
    })
    /** one connection: the hello, then FIN (`end`) or a reset (a FIN alone is a half-close the proxy waits out) after `ms`; settles when the client socket closes */
    const one = async (h: Buffer, how: 'end' | 'reset', ms = 0): Promise<void> => {
      const c = await connect(proxy.port)
      c.on('error', () => {})
      c.resume()
      const closed = new Promise<void>((resolve) => c.on('close', () => resolve()))
      c.write(h)
      if (ms > 0) await sleep(ms)
      if (how === 'end') c.end()
      else c.resetAndDestroy()
      await closed
    }
    try {
      const settled = async (n: number): Promise<void> => {
        await waitFor(() => proxy.stats().counters.conn_active === 0 && Object.values(proxy.stats().outcomes).reduce((a, b) => a + b!, 0) === n)
      }
      for (let i = 0; i < 3; i++) await one(HELLO, 'end', 30)
      await settled(3)
      await sleep(100)
      const baseline = openFds()
      const before = proxy.stats()
      const runs: Array<Promise<void>> = []
      for (let i = 0; i < 10; i++) runs.push(one(hello('refused.' + NAME), 'end', 30))
      for (let i = 0; i < 5; i++) runs.push(one(hello('hole.' + NAME), 'end', 600))
      for (let i = 0; i < 5; i++) runs.push(one(hello('hole.' + NAME), 'reset', 50))
      for (let i = 0; i < 10; i++) runs.push(one(HELLO, 'end', 30))
      await Promise.all(runs)
      await settled(33)
      const after = proxy.stats()
      const delta = (k: string): number => after.outcomes[k]! - (before.outcomes[k] ?? 0)
      expect(delta('origin_connect_failed')).toBe(10)
      expect(delta('origin_connect_timeout')).toBe(5)
      expect(delta('client_abort')).toBe(5)
      expect(delta('ok')).toBe(10)
      await sleep(100)
      // the relayed connections may have left a pipe or two in the addon's pool; nothing else stays open
      expect(openFds()).toBeLessThanOrEqual(baseline + 2)
    } finally {
      await proxy.close()
      await hole.close()
      await origin.close()
    }
  })
})
