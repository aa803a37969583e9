/**
 * An admin endpoint on 127.0.0.1:0 over the real createAdminTarget with plain sources, whose phase the
 * test sets and whose reloads it gates; plus a raw HTTP/1.1 client for requests fetch() will not send.
 * Every server started here is closed by closeTestAdmins() (call it in afterEach).
 */
import net from 'node:net'
import { startAdminServer, type AdminServer } from '../../src/admin/server.ts'
import { createAdminTarget, Phase, trackReloads, type AdminTarget, type ReloadOutcome } from '../../src/admin/target.ts'
import { ReloadLedger } from '../../src/metrics/reloads.ts'

export const TEST_ADMIN_TOKEN = 'test-token-0123456789abcdef'

export interface TestAdmin {
  server: AdminServer
  port: number
  setPhase: (p: Phase) => void
  /** the next reload waits for the returned release() and answers `outcome` */
  gateReload: (outcome: ReloadOutcome) => () => void
  ledger: ReloadLedger
}

let open: AdminServer[] = []

export async function closeTestAdmins (): Promise<void> {
  await Promise.all(open.map((s) => s.close()))
  open = []
}

export async function startTestAdmin (token: string | null, patch: Partial<AdminTarget> = {}): Promise<TestAdmin> {
  let phase: Phase = Phase.Running
  let next: { outcome: ReloadOutcome, gate: Promise<void> } = { outcome: { ok: true, routes: 1, ms: 1, needsRestart: [] }, gate: Promise.resolve() }
  const ledger = new ReloadLedger(1)
  const target = createAdminTarget({
    version: '0.0.0-test',
    phase: () => phase,
    stats: () => ({ counters: { conn_accepted: 7, conn_active: 1 }, active: [1], accepted: [7], restarts: 0 }),
    reloads: () => ledger.snapshot(),
    reload: trackReloads(ledger, async () => { await next.gate; return next.outcome }),
  })
  const server = await startAdminServer({ listen: { host: '127.0.0.1', port: 0 }, token }, { ...target, ...patch })
  open.push(server)
  return {
    server,
    port: server.address.port,
    ledger,
    setPhase: (p) => { phase = p },
    gateReload: (outcome) => {
      let release!: () => void
      next = { outcome, gate: new Promise<void>((resolve) => { release = resolve }) }
      return release
    },
  }
}

/** Raw HTTP/1.1 over TCP: write `parts` in order, resolve with everything read until the server closes. */
export function rawHttp (port: number, parts: Array<string | Buffer>, gapMs = 0): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    let got = ''
    s.setEncoding('latin1')
    s.on('data', (d: string) => { got += d })
    s.on('error', () => {})
    const guard = setTimeout(() => { s.destroy() }, 5000)
    s.on('close', () => { clearTimeout(guard); resolve(got) })
    s.on('connect', async () => {
      for (const p of parts) {
        if (s.destroyed) return
        s.write(p)
        if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs))
      }
    })
  })
}
