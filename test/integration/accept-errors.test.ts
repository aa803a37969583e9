/**
 * Out of file descriptors (EMFILE) on a reuseport listener whose accepts the worker takes at the handle
 * level (the addon reads hellos): libuv's reserve-descriptor trick accepts and closes what it cannot keep,
 * connections it did accept fail their origin connect (socket(2) gets EMFILE too) and are closed with that
 * outcome — no client hangs, the process stays up — and once descriptors are back the same listener
 * relays again. The proxy is the real CLI as a child process; its soft descriptor limit is lowered and
 * raised from outside with prlimit(1) (util-linux; skipped, saying so, where that command is missing).
 *
 * Not covered: `handoff` under the same squeeze left 2 of 12 clients open with no session in one run
 * (the main thread's accept and the socket transfer; see the 2026-12-04 closing note).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import net from 'node:net'
import { buildClientHello, wrapRecords } from '../helpers/build-hello.ts'
import { startCliProxy } from '../helpers/servers.ts'

const NAME = 'accept-errors.test.hellogate.example'
const HELLO = Buffer.from(wrapRecords(buildClientHello({ sni: NAME }), 1))
const HAS_PRLIMIT = ((): boolean => { try { execFileSync('prlimit', ['--version'], { stdio: 'ignore' }); return true } catch { return false } })()

/** The soft descriptor limit only (raising a hard one needs CAP_SYS_RESOURCE, which a container may lack). */
function setNofile (pid: number, n: number): void {
  execFileSync('prlimit', ['--pid', String(pid), '--nofile=' + String(n) + ':'])
}

function openFds (pid: number): number {
  return readdirSync('/proc/' + String(pid) + '/fd').length
}

function connect (port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => resolve(s))
    s.once('error', reject)
  })
}

describe.skipIf(!HAS_PRLIMIT)('out of file descriptors, accept=reuseport' + (HAS_PRLIMIT ? '' : ' (skipped: prlimit(1) not found)'), () => {
  let origin: net.Server
  let originPort = 0

  beforeAll(async () => {
    origin = net.createServer({ allowHalfOpen: true }, (s) => {
      s.on('error', () => {})
      s.on('data', () => {})
      s.on('end', () => s.end(Buffer.from('bye')))
    })
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve))
    originPort = (origin.address() as net.AddressInfo).port
  })
  afterAll(async () => {
    await new Promise<void>((resolve) => origin.close(() => resolve()))
  })

  it('closes every client while descriptors run out (none hangs, the process stays up), and relays again once they are back', { timeout: 40_000 }, async () => {
    const proxy = await startCliProxy({
      workers: 1,
      accept: 'reuseport',
      routes: { [NAME]: '127.0.0.1:' + String(originPort) },
      // far beyond the wait below: a client closed in time was closed by the failure path, not a deadline
      timeouts: { hello: '60s', connect: '60s' },
    })
    const pid = proxy.child.pid!
    const held: net.Socket[] = []
    try {
      await proxy.waitForLog((l) => l.evt === 'listening')
      // room for a couple of descriptors beyond what the process holds now, then none
      setNofile(pid, openFds(pid) + 2)
      const closed: Array<Promise<string>> = []
      for (let i = 0; i < 12; i++) {
        const s = await connect(proxy.port)
        s.on('error', () => {})
        const got: Buffer[] = []
        s.on('data', (c: Buffer) => got.push(c))
        closed.push(new Promise((resolve) => s.on('close', () => resolve(Buffer.concat(got).toString()))))
        s.end(HELLO)
        held.push(s)
      }
      // every one ends at once: relayed (the origin's reply), or closed by the proxy with nothing (dropped
      // at accept, or its origin connect failed with EMFILE); none waits for a timeout
      const replies = await Promise.race([
        Promise.all(closed),
        new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('a client was still open after 15 s')), 15_000)),
      ])
      for (const r of replies) expect(['bye', '']).toContain(r)
      // the descriptors did run out: some connections were refused
      expect(replies.filter((r) => r === '').length).toBeGreaterThan(0)
      expect(proxy.child.exitCode).toBe(null)
      setNofile(pid, 4096)
      // the listener still accepts: a hello is relayed and the origin's reply comes back
      const client = await connect(proxy.port)
      const got: Buffer[] = []
      client.on('data', (c: Buffer) => got.push(c))
      const ended = new Promise<void>((resolve) => client.on('end', resolve))
      client.end(HELLO)
      await ended
      expect(Buffer.concat(got).toString()).toBe('bye')
      client.destroy()
    } finally {
      for (const s of held) s.destroy()
      await proxy.close()
    }
  })
})
