/**
 * One load process of the accept-model study: a connection generator plus one shard of the origin.
 *
 * Usage (spawned by run.ts with an IPC channel; not meant to be run by hand):
 *   node bench/accept/client.ts --origin-port P --hello FILE --concurrency C
 *
 * Contract:
 * - Origin shard: a plain `net.Server` on 127.0.0.1:P with `reusePort`, so K load processes share
 *   the origin port and the kernel spreads the proxy's origin connections over them (one
 *   single-threaded origin would cap the proxy at 8 workers). On the first bytes it writes
 *   ORIGIN_REPLY and ends; it never parses TLS.
 * - Generator: after `start {port}`, keeps C connections in flight to the proxy. Each is one
 *   "connection" of the study: connect, write the pre-built ClientHello (real bytes, one write), read
 *   until the proxy relays the origin's FIN, check that exactly ORIGIN_REPLY arrived, close. Plain
 *   TCP, no TLS: the proxy only reads the hello, so the handshake's crypto would only add noise.
 *   The servers close first (origin → proxy → client), so TIME_WAIT lands on the listening sides
 *   and this process never runs out of ephemeral ports.
 * - `snap` → cumulative counts; `stop-load` → stops opening, waits for in-flight connections
 *   (at most DRAIN_MS), replies `drained`; `exit` → closes the origin shard and exits.
 *
 * Limits: bounded in-flight count (C) and per-connection deadline (CONN_TIMEOUT_MS); after a failed
 * connection the slot waits ERROR_BACKOFF_MS so a dead proxy cannot spin the CPU.
 */
import { readFileSync } from 'node:fs'
import net, { type Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { ORIGIN_REPLY, type ClientCounts, type ClientDrained, type ClientReady, type ClientSnapReply } from './protocol.ts'

/** Per-connection deadline (connect → close); a healthy exchange on loopback takes well under 100 ms. */
const CONN_TIMEOUT_MS = 5_000
/** Pause before a slot retries after a failure, so errors cannot turn into a busy loop. */
const ERROR_BACKOFF_MS = 10
/** Longest wait for in-flight connections after `stop-load`. */
const DRAIN_MS = 5_000
/** Listen backlog of the origin shard: bursts of C × K connects must not overflow it. */
const ORIGIN_BACKLOG = 4096

const { values } = parseArgs({
  options: {
    'origin-port': { type: 'string' },
    hello: { type: 'string' },
    concurrency: { type: 'string', default: '16' },
  },
})

const hello = readFileSync(values.hello ?? '')
const concurrency = Math.max(1, Number(values.concurrency))
const replyFirst = ORIGIN_REPLY[0]

const counts: ClientCounts = { completed: 0, errors: {}, originErrors: {}, originAccepted: 0, latencyMsSum: 0 }
let proxyPort = 0
let running = false
let inflight = 0
const open = new Set<Conn>()
let onIdle: (() => void) | null = null

function bump (map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1
}

// ---- origin shard ------------------------------------------------------------------------------

function onOriginConnection (socket: Socket): void {
  counts.originAccepted++
  socket.once('data', () => { socket.end(ORIGIN_REPLY) })
  socket.resume()
  socket.on('error', (err: NodeJS.ErrnoException) => { bump(counts.originErrors, err.code ?? 'error') })
}

const origin = net.createServer({ noDelay: true }, onOriginConnection)

// ---- generator ---------------------------------------------------------------------------------

/** Per-connection state: one small object, the socket's listeners read it through `this`. */
interface Conn {
  socket: Socket
  got: number
  firstOk: boolean
  ended: boolean
  failed: string | null
  startMs: number
}

function openOne (): void {
  inflight++
  const socket = net.connect({ host: '127.0.0.1', port: proxyPort, noDelay: true })
  const c: Conn = { socket, got: 0, firstOk: false, ended: false, failed: null, startMs: performance.now() }
  open.add(c)
  socket.setTimeout(CONN_TIMEOUT_MS)
  socket.once('connect', () => { socket.write(hello) })
  socket.on('data', (chunk: Buffer) => {
    if (c.got === 0) c.firstOk = chunk[0] === replyFirst
    c.got += chunk.length
  })
  socket.once('end', () => { c.ended = true })
  socket.once('timeout', () => { c.failed ??= 'timeout'; socket.destroy() })
  socket.once('error', (err: NodeJS.ErrnoException) => { c.failed ??= err.code ?? 'error' })
  socket.once('close', () => { onClose(c) })
}

function onClose (c: Conn): void {
  open.delete(c)
  inflight--
  let failure = c.failed
  if (failure === null && !(c.ended && c.got === ORIGIN_REPLY.length && c.firstOk)) {
    failure = c.got === 0 ? 'no_reply' : 'short_reply'
  }
  if (failure === null) {
    counts.completed++
    counts.latencyMsSum += performance.now() - c.startMs
  } else bump(counts.errors, failure)
  if (!running) {
    if (inflight === 0) onIdle?.()
    return
  }
  if (failure === null) openOne()
  else setTimeout(refill, ERROR_BACKOFF_MS)
}

function refill (): void {
  if (running) openOne()
  else if (inflight === 0) onIdle?.()
}

function start (port: number): void {
  proxyPort = port
  running = true
  for (let i = inflight; i < concurrency; i++) openOne()
}

function stopLoad (): void {
  running = false
  const finish = (leftOpen: number): void => {
    onIdle = null
    clearTimeout(timer)
    const reply: ClientDrained = { type: 'drained', leftOpen, ...counts }
    process.send?.(reply)
  }
  const timer = setTimeout(() => {
    const left = open.size
    // each one's 'close' still runs onClose (after this reply) and counts it as drain_timeout
    for (const c of open) { c.failed ??= 'drain_timeout'; c.socket.destroy() }
    finish(left)
  }, DRAIN_MS)
  if (inflight === 0) { finish(0); return }
  onIdle = () => { finish(0) }
}

// ---- IPC ---------------------------------------------------------------------------------------

process.on('message', (msg: { type?: string, port?: number }) => {
  switch (msg.type) {
    case 'start':
      start(msg.port ?? 0)
      return
    case 'snap': {
      const reply: ClientSnapReply = { type: 'snap', ...counts, errors: { ...counts.errors }, originErrors: { ...counts.originErrors } }
      process.send?.(reply)
      return
    }
    case 'stop-load':
      stopLoad()
      return
    case 'exit':
      running = false
      origin.close()
      process.exit(0)
  }
})
process.once('disconnect', () => { process.exit(0) })

origin.listen({ host: '127.0.0.1', port: Number(values['origin-port']), reusePort: true, backlog: ORIGIN_BACKLOG }, () => {
  const ready: ClientReady = { type: 'ready', pid: process.pid }
  process.send?.(ready)
})
origin.on('error', (err) => {
  process.stderr.write(`client: origin shard: ${err.message}\n`)
  process.exit(1)
})
