/** pool/ — worker threads and accept models. CONTRACT STUB (owned by the relay/pool author). */
import type { ProxyConfig } from '../config/types.ts'
import type { Logger } from 'pino'

export interface ProxyStats {
  /** per outcome name, summed over workers */
  outcomes: Record<string, number>
  /** per worker: connections currently open */
  active: number[]
  accepted: number
  bytesUp: number
  bytesDown: number
}

export interface ProxyHandle {
  /** bound addresses (port resolved when 0 was asked) */
  readonly addresses: ReadonlyArray<{ host: string, port: number }>
  stats (): Promise<ProxyStats>
  /** stop accepting, let open connections finish up to graceMs, then close them */
  close (graceMs?: number): Promise<void>
}

export async function startProxy (_config: ProxyConfig, _logger: Logger): Promise<ProxyHandle> {
  throw new Error('not implemented')
}
