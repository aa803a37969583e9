/**
 * Runtime feature probes, run by startProxy before anything listens (so the CLI and any library caller
 * get them alike): each accept model needs one feature of Node.js, and a runtime without it must fail
 * at start with HG_ERR_UNSUPPORTED_RUNTIME, never start and then refuse every connection.
 *
 *  - handoff: a listener-accepted net.Socket must be transferable in a postMessage transfer list
 *    (Node ≥ 24.20). Without it every transfer throws, and each connection would be refused as
 *    `overloaded`. Probed by doing it: accept a loopback connection and move it through a MessageChannel.
 *  - reuseport: two listeners must be able to bind one port with `reusePort` (Linux, FreeBSD; Node ≥ 22.12).
 *    Without it the option is ignored or refused, and the second worker's bind fails with a misleading
 *    EADDRINUSE. Probed by binding 127.0.0.1:0 twice.
 *
 * Not a version number: the probes test the feature itself, so a backport or a platform difference
 * cannot fool them. Each runs once per process (results are cached); both take about a millisecond and
 * use only 127.0.0.1.
 */
import net from 'node:net'
import { once } from 'node:events'
import { MessageChannel } from 'node:worker_threads'
import { ErrorCode, ErrorSource, ProxyError } from '../errors.ts'
import type { AcceptModel } from '../config/types.ts'

/** A probe that has not finished by then failed: both are a loopback round trip. */
const PROBE_TIMEOUT_MS = 5000

const probes = new Map<AcceptModel, Promise<string | null>>()

/** Resolve when this runtime has what `accept` needs; reject with HG_ERR_UNSUPPORTED_RUNTIME if not. */
export async function assertRuntimeSupports (accept: AcceptModel): Promise<void> {
  let probe = probes.get(accept)
  if (probe === undefined) {
    probe = accept === 'handoff' ? probeSocketTransfer() : probeReusePort()
    probes.set(accept, probe)
  }
  const missing = await probe
  if (missing === null) return
  throw new ProxyError(ErrorCode.UNSUPPORTED_RUNTIME, 'accept: ' + accept + ' needs what this runtime (Node.js ' + process.version + ', ' + process.platform + ') lacks: ' + missing, { source: ErrorSource.Internal })
}

/** null when an accepted socket can be moved through a transfer list; else what failed. */
export async function probeSocketTransfer (): Promise<string | null> {
  const server = net.createServer({ pauseOnConnect: true })
  const channel = new MessageChannel()
  let client: net.Socket | null = null
  let accepted: net.Socket | null = null
  try {
    server.listen({ host: '127.0.0.1', port: 0 })
    await once(server, 'listening', { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) })
    client = net.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port })
    client.on('error', ignore)
    accepted = (await once(server, 'connection', { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) }))[0] as net.Socket
    const arrived = once(channel.port2, 'message', { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) })
    try {
      channel.port1.postMessage(accepted, [accepted as never])
    } catch (err) {
      arrived.catch(ignore)
      return 'a socket cannot be transferred to a worker thread (' + errorText(err) + '); use accept: reuseport, or Node.js >= 24.20'
    }
    const moved = (await arrived)[0] as unknown
    if (!(moved instanceof net.Socket)) return 'a transferred socket did not arrive as a net.Socket'
    moved.destroy()
    return null
  } catch (err) {
    return 'the socket transfer probe failed (' + errorText(err) + ')'
  } finally {
    accepted?.destroy()
    client?.destroy()
    channel.port1.close()
    channel.port2.close()
    server.close()
  }
}

/** null when two listeners can share a port with reusePort; else what failed. */
export async function probeReusePort (): Promise<string | null> {
  const first = net.createServer()
  const second = net.createServer()
  try {
    first.listen({ host: '127.0.0.1', port: 0, reusePort: true })
    await once(first, 'listening', { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) })
    second.listen({ host: '127.0.0.1', port: (first.address() as net.AddressInfo).port, reusePort: true })
    await once(second, 'listening', { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) })
    return null
  } catch (err) {
    return 'two listeners cannot share a port with reusePort (' + errorText(err) + '); use accept: handoff, or a Node.js and OS with SO_REUSEPORT (Linux, FreeBSD)'
  } finally {
    first.close()
    second.close()
  }
}

function errorText (err: unknown): string {
  const e = err as { code?: unknown, message?: unknown }
  return typeof e.code === 'string' ? e.code : String(e.message)
}

function ignore (): void {}
