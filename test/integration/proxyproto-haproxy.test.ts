/**
 * HAProxy as a consumer of our PROXY headers (skipped where /usr/sbin/haproxy is not installed, as in
 * bench:peers): a frontend with `accept-proxy` logs the client and destination addresses it recovered
 * and the AUTHORITY and UNIQUE_ID TLVs (fc_pp_authority, fc_pp_unique_id), while the ALPN and custom
 * TLVs ride along. This is the receiver the issue names for origins that need the client's address.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildProxyHeader, ProxyHeaderFields } from '../../src/proxyproto/index.ts'
import { closedPort, tempFile, waitFor } from '../helpers/servers.ts'

const HAPROXY = '/usr/sbin/haproxy'
if (!existsSync(HAPROXY)) console.log('skipped: ' + HAPROXY + ' not found (HAProxy as a PROXY-protocol consumer; .ci/run installs Debian\'s haproxy when it runs as root with apt)')

describe.skipIf(!existsSync(HAPROXY))('HAProxy reads our PROXY headers', () => {
  let child: ChildProcess
  let port = 0
  const lines: string[] = []

  beforeAll(async () => {
    port = await closedPort()
    const cfg = tempFile('haproxy.cfg', '')
    writeFileSync(cfg, [
      'global', '  log stdout format raw local0',
      'defaults', '  mode tcp', '  log global', '  timeout connect 1s', '  timeout client 2s', '  timeout server 2s',
      'frontend fe', '  bind 127.0.0.1:' + String(port) + ' accept-proxy',
      '  log-format "SRC=%ci:%cp DST=%fi:%fp AUTH=%[fc_pp_authority] UID=%[fc_pp_unique_id]"',
      '  tcp-request content reject', '',
    ].join('\n'))
    child = spawn(HAPROXY, ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout!.on('data', (d: Buffer) => { lines.push(...d.toString().split('\n').filter((l) => l.length > 0)) })
    await waitFor(() => {
      const s = net.connect(port, '127.0.0.1')
      s.on('error', () => {})
      s.on('connect', () => { s.destroy(); lines.push('ready') })
      return lines.includes('ready')
    }, 5000, 100)
  })

  afterAll(async () => {
    if (child.exitCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    process.kill(child.pid!, 'SIGTERM')
    await exited
  })

  async function send (f: ProxyHeaderFields, version: 1 | 2): Promise<string> {
    const before = lines.filter((l) => l.startsWith('SRC=')).length
    const s = net.connect(port, '127.0.0.1')
    s.on('error', () => {})
    s.on('connect', () => { s.write(buildProxyHeader(version, f) as Uint8Array); s.write('hello') })
    await waitFor(() => lines.filter((l) => l.startsWith('SRC=')).length > before, 5000)
    s.destroy()
    return lines.filter((l) => l.startsWith('SRC='))[before]!
  }

  it('recovers addresses (IPv4-mapped as IPv4, IPv6, mixed families) and the SNI and connection id', async () => {
    const f = new ProxyHeaderFields()
    const sni = Buffer.from('api.shop.example')
    Object.assign(f, {
      srcAddress: '::ffff:198.51.100.7',
      srcPort: 50123,
      dstAddress: '203.0.113.1',
      dstPort: 443,
      authorityBuf: sni,
      authorityEnd: sni.length,
      uniqueId: '01J9Z3K5V6W7X8Y9Z0ABCDEFGH',
      alpnBuf: Buffer.from('h2'),
      alpnEnd: 2,
      customType: 0xe0,
      customBuf: Buffer.from('t13d1516h2_8daaf6152771_e5627efa2ab1'),
      customEnd: 36,
    })
    expect(await send(f, 2)).toBe('SRC=198.51.100.7:50123 DST=203.0.113.1:443 AUTH=api.shop.example UID=01J9Z3K5V6W7X8Y9Z0ABCDEFGH')
    Object.assign(f, { srcAddress: '2001:db8::7', dstAddress: '2001:db8::1' })
    expect(await send(f, 2)).toBe('SRC=2001:db8::7:50123 DST=2001:db8::1:443 AUTH=api.shop.example UID=01J9Z3K5V6W7X8Y9Z0ABCDEFGH')
    expect(await send(f, 1)).toBe('SRC=2001:db8::7:50123 DST=2001:db8::1:443 AUTH=- UID=-')
    Object.assign(f, { srcAddress: '192.0.2.9' })
    expect(await send(f, 2)).toBe('SRC=::ffff:192.0.2.9:50123 DST=2001:db8::1:443 AUTH=api.shop.example UID=01J9Z3K5V6W7X8Y9Z0ABCDEFGH')
  })
})
