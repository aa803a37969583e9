/**
 * HAProxy as the load balancer in front of hellogate (skipped where /usr/sbin/haproxy is not installed; .ci/run
 * installs Debian's haproxy as root with apt): `server … send-proxy-v2` and `send-proxy` write the PROXY headers
 * hellogate reads, so the headers come from an implementation other than ours. A real TLS client goes through
 * HAProxy and hellogate to a TLS origin; hellogate's access log must name the client's own port, not HAProxy's.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import tls from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closedPort, startCliProxy, startTlsOrigin, tempFile, waitFor, type CliProxy, type TlsOrigin } from '../helpers/servers.ts'

const HAPROXY = '/usr/sbin/haproxy'
if (!existsSync(HAPROXY)) console.log('skipped: ' + HAPROXY + ' not found (HAProxy as the balancer sending PROXY headers; .ci/run installs Debian\'s haproxy when it runs as root with apt)')

describe.skipIf(!existsSync(HAPROXY))('HAProxy sends PROXY v1/v2 to hellogate', () => {
  let origin: TlsOrigin
  let proxy: CliProxy
  let child: ChildProcess
  let v2Port = 0
  let v1Port = 0

  beforeAll(async () => {
    origin = await startTlsOrigin('o', ['a.example'])
    proxy = await startCliProxy({ routes: {} }, undefined, {
      listen: [{ address: '127.0.0.1:0', proxyProtocol: { accept: ['v1', 'v2'], from: ['127.0.0.1'] } }],
      workers: 1,
      routes: { 'a.example': '127.0.0.1:' + String(origin.port) },
      timeouts: { hello: '2s', connect: '2s', idle: '10s' },
    })
    v2Port = await closedPort()
    v1Port = await closedPort()
    const cfg = tempFile('haproxy.cfg', '')
    writeFileSync(cfg, [
      'defaults', '  mode tcp', '  timeout connect 2s', '  timeout client 5s', '  timeout server 5s',
      'frontend v2', '  bind 127.0.0.1:' + String(v2Port), '  default_backend hg2',
      'frontend v1', '  bind 127.0.0.1:' + String(v1Port), '  default_backend hg1',
      'backend hg2', '  server hg 127.0.0.1:' + String(proxy.port) + ' send-proxy-v2',
      'backend hg1', '  server hg 127.0.0.1:' + String(proxy.port) + ' send-proxy', '',
    ].join('\n'))
    child = spawn(HAPROXY, ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] })
    let up = false
    await waitFor(() => {
      const s = net.connect(v1Port, '127.0.0.1')
      s.on('error', () => {})
      s.on('connect', () => { s.destroy(); up = true })
      return up
    }, 5000, 100)
  }, 30_000)

  afterAll(async () => {
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      process.kill(child.pid!, 'SIGTERM')
      await exited
    }
    await proxy?.close()
    await origin?.close()
  })

  it.each([['v2', () => v2Port], ['v1', () => v1Port]])('%s: the TLS client\'s own address and port reach the access log', async (_v, port) => {
    const localPort = await new Promise<number>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: port(), servername: 'a.example', ca: origin.cert, ALPNProtocols: ['http/1.1'] }, () => {
        const p = s.localPort!
        s.end('GET / HTTP/1.1\r\nHost: a.example\r\n\r\n')
        s.resume()
        s.on('close', () => { resolve(p) })
      })
      s.on('error', reject)
    })
    const line = await proxy.waitForLog((l) => l.evt === 'conn.close' && l.client === '127.0.0.1:' + String(localPort))
    expect(line.outcome).toBe('ok')
    expect(line.sni).toBe('a.example')
  })
})
