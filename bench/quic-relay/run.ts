/**
 * QUIC flow relay under load: `npm run bench:quic` (`-- --flows N --window W --seconds S`).
 *
 * A UDP echo origin and a client in this process; the client opens `flows` flows (one socket each),
 * each starting with a protected v1 Initial for bench.example (test/helpers/quic-initial.ts) so that
 * hellogate routes it, then keeps `window` 1200-byte datagrams in flight per flow for `seconds`,
 * sending one for each echo that comes back. The same run goes straight at the origin and through
 * hellogate (built dist/, one worker, `quic.listen` on 127.0.0.1); the figure is echoed datagrams per
 * second, the ratio through/direct, and the mean round trip. Client, origin and proxy share the
 * machine's cores, so the ratio is the number to read, not the absolute rate.
 *
 * Limits: the client counts only echoes of datagrams it sent; a datagram lost (a full socket buffer)
 * shrinks its flow's window for the rest of the run, which shows as a lower rate, never as a hang.
 */
import dgram from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import pino from 'pino'
import { parseConfig } from '../../dist/config/index.js'
import { startProxy } from '../../dist/pool/index.js'
import { buildClientHello } from '../../test/helpers/build-hello.ts'
import { V1, helloDatagrams } from '../../test/helpers/quic-initial.ts'

/** bytes: a full-size QUIC datagram (the 1200-byte minimum every path must carry, RFC 9000 §14) */
const DATAGRAM_BYTES = 1200

function arg (name: string, def: number): number {
  const i = process.argv.indexOf('--' + name)
  return i < 0 ? def : Number(process.argv[i + 1])
}

const FLOWS = arg('flows', 16)
const WINDOW = arg('window', 16)
const SECONDS = arg('seconds', 5)

async function bind (socket: dgram.Socket): Promise<number> {
  await new Promise<void>((resolve) => { socket.bind(0, '127.0.0.1', resolve) })
  return socket.address().port
}

async function echoOrigin (): Promise<{ port: number, close: () => void }> {
  const s = dgram.createSocket('udp4')
  s.on('message', (msg, rinfo) => { s.send(msg, rinfo.port, rinfo.address) })
  const port = await bind(s)
  return { port, close: () => { s.close() } }
}

interface RunResult { perSecond: number, rttMs: number }

async function run (port: number): Promise<RunResult> {
  const hello = buildClientHello({ sni: 'bench.example', alpn: ['h3'] })
  const payload = randomBytes(DATAGRAM_BYTES)
  let echoed = 0
  let rttSum = 0
  let stopping = false
  const sockets: dgram.Socket[] = []
  const started = new Float64Array(FLOWS)
  for (let f = 0; f < FLOWS; f++) {
    const s = dgram.createSocket('udp4')
    sockets.push(s)
    await bind(s)
    const initial = helloDatagrams(hello, [[{ offset: 0, length: hello.length }]], V1, randomBytes(8))[0]!
    s.on('message', () => {
      if (stopping) return
      echoed++
      rttSum += performance.now() - started[f]!
      started[f] = performance.now()
      s.send(payload, port, '127.0.0.1')
    })
    // the flow's first datagram routes it; its echo keeps the window's count
    s.send(initial, port, '127.0.0.1')
  }
  // let every flow route before the window opens
  await new Promise((resolve) => setTimeout(resolve, 200))
  const t0 = performance.now()
  echoed = 0
  rttSum = 0
  for (let f = 0; f < FLOWS; f++) {
    started[f] = performance.now()
    for (let w = 1; w < WINDOW; w++) sockets[f]!.send(payload, port, '127.0.0.1')
  }
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000))
  stopping = true
  const elapsed = (performance.now() - t0) / 1000
  for (const s of sockets) s.close()
  // rttSum samples one datagram per echo per flow: the time between successive echoes times the window
  return { perSecond: echoed / elapsed, rttMs: echoed === 0 ? 0 : (rttSum / echoed) * WINDOW }
}

const origin = await echoOrigin()
const direct = await run(origin.port)
const config = parseConfig({
  listen: '127.0.0.1:0',
  workers: 1,
  routes: { 'bench.example': '127.0.0.1:' + String(origin.port) },
  log: { level: 'silent', access: false },
  quic: { listen: '127.0.0.1:0' },
}, '<bench>')
const proxy = await startProxy(config, pino({ level: 'silent' }))
const through = await run(proxy.quicAddresses[0]!.port)
const counters = proxy.stats().counters
await proxy.close(100)
origin.close()

console.log(`quic relay: ${FLOWS} flows × window ${WINDOW} × ${DATAGRAM_BYTES} B, ${SECONDS} s each, 1 worker`)
console.log(`  direct   ${Math.round(direct.perSecond)} datagrams/s echoed, round trip ${direct.rttMs.toFixed(3)} ms`)
console.log(`  through  ${Math.round(through.perSecond)} datagrams/s echoed, round trip ${through.rttMs.toFixed(3)} ms`)
console.log(`  ratio    ${(through.perSecond / direct.perSecond).toFixed(2)} of direct; hellogate relayed ${counters.quic_datagrams_up} up, ${counters.quic_datagrams_down} down, flows ${counters.quic_flows_opened}`)
