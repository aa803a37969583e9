/**
 * Binding listeners, on either thread: the main thread's in the `handoff` accept model, each worker's
 * own (`reusePort`) in `reuseport`. One function so that a bind failure reads the same from both:
 * HG_ERR_LISTEN, "cannot listen on HOST:PORT: CODE", the errno error as `.cause` (the demo's busy-port
 * fallback looks for EADDRINUSE there).
 *
 * Contract: `listenOn` resolves once the server listens, with no 'error' listener of its own left on
 * it; the caller adds the one for accept errors after listening (EMFILE/ENFILE when fds run out must not
 * take the thread down).
 */
import net from 'node:net'
import type { HostPort } from '../config/types.ts'
import { formatHostPort } from '../config/index.ts'
import { ErrorCode, ErrorSource, ProxyError } from '../errors.ts'

/**
 * Accept queue per listener: a burst of new connections waits in the kernel instead of being refused
 * while the event loop is busy; the kernel caps it at net.core.somaxconn.
 */
export const LISTEN_BACKLOG = 4096

export function listenOn (server: net.Server, addr: HostPort, reusePort: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    function onError (err: NodeJS.ErrnoException): void {
      reject(new ProxyError(ErrorCode.LISTEN, 'cannot listen on ' + formatHostPort(addr) + ': ' + (err.code ?? err.message), { cause: err, source: ErrorSource.Internal }))
    }
    server.once('error', onError)
    server.listen({ host: addr.host, port: addr.port, reusePort, backlog: LISTEN_BACKLOG }, () => {
      server.removeListener('error', onError)
      resolve()
    })
  })
}

/** The address a listening server is bound to, with the host as configured and the port as resolved. */
export function boundAddress (server: net.Server, addr: HostPort): HostPort {
  return { host: addr.host, port: (server.address() as net.AddressInfo).port }
}

/** Close servers (stop accepting); resolves once each has closed. */
export async function closeServers (servers: readonly net.Server[]): Promise<void> {
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => { s.close(() => { resolve() }) })))
}
