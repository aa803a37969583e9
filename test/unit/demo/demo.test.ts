/**
 * Demo pieces: the origins answer over verified TLS with their own certs, demoConfig validates, startDemo
 * wires certs/temp dir/instructions and cleans up (with an injected proxy, so this file does not depend on
 * the pool), and isPortFree tells a busy port from a free one.
 */
import { existsSync, readFileSync } from 'node:fs'
import { request } from 'node:https'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { once } from 'node:events'
import { Writable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'

import { createLogger } from '../../../src/log/index.ts'
import {
  DEMO_NAMES, demoConfig, formatDemoInstructions, isPortFree, startDemo, startDemoOrigin, startDemoOrigins,
} from '../../../src/demo/index.ts'
import type { DemoOrigin, StartProxyFn } from '../../../src/demo/index.ts'
import { getTestCert } from '../../helpers/certs.ts'

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!()
})

/** GET / from an origin directly, verifying its certificate for `servername`. */
function get (o: DemoOrigin, servername: string): Promise<{ status: number, body: string, header: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: o.port, servername, ca: o.cert.cert, path: '/', agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { body += d })
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body, header: res.headers['x-hellogate-demo-origin'] as string | undefined })
      })
    })
    req.on('error', reject)
    req.end()
  })
}

const silentLogger = createLogger({ level: 'silent', destination: new Writable({ write (_c, _e, cb) { cb() } }) })

describe('demo origins', () => {
  it('each answers with a body naming itself and the SNI, over its own verified certificate', async () => {
    const origins = await startDemoOrigins()
    closers.push(() => origins.close())
    expect(origins.alpha.port).not.toBe(origins.beta.port)
    expect(origins.alpha.cert.fingerprint256).not.toBe(origins.beta.cert.fingerprint256)

    const a = await get(origins.alpha, DEMO_NAMES.alpha)
    expect(a).toEqual({ status: 200, body: 'hello from origin alpha (alpha.demo.hellogate.test)\n', header: 'alpha' })
    const b = await get(origins.beta, `x.${DEMO_NAMES.beta}`)
    expect(b.body).toBe('hello from origin beta (x.beta.demo.hellogate.test)\n')
    expect(origins.alpha.handshakes).toBe(1)
    expect(origins.beta.handshakes).toBe(1)
    // alpha's certificate does not cover beta's names
    await expect(get(origins.alpha, DEMO_NAMES.beta)).rejects.toThrow(/does not match|altnames/i)
  })

  it('reuses a given certificate and closes with open connections', async () => {
    const cert = getTestCert(['reuse.test'])
    const o = await startDemoOrigin({ label: 'gamma', names: [], cert })
    expect(o.cert).toBe(cert)
    const r = await get(o, 'reuse.test')
    expect(r.body).toBe('hello from origin gamma (reuse.test)\n')
    await o.close()
    expect(o.server.listening).toBe(false)
  })
})

describe('demoConfig', () => {
  it('routes alpha, beta and *.beta, rejects the rest, two workers, validated', () => {
    const c = demoConfig({ port: 0, alpha: { host: '127.0.0.1', port: 1001 }, beta: { host: '127.0.0.1', port: 1002 } })
    expect(c.file).toBe('<demo>')
    expect(c.listen).toEqual([{ host: '127.0.0.1', port: 0 }])
    expect(c.workers).toBe(2)
    expect(c.default).toBeNull()
    expect(c.routes.map(r => [r.pattern, c.upstreams[r.upstream]!.servers[0]!.port])).toEqual([
      ['alpha.demo.hellogate.test', 1001],
      ['beta.demo.hellogate.test', 1002],
      ['*.beta.demo.hellogate.test', 1002],
    ])
    expect(Object.isFrozen(c)).toBe(true)
  })
})

describe('isPortFree', () => {
  it('false while something listens, true after it closes', async () => {
    const srv = createServer()
    srv.listen(0, '127.0.0.1')
    await once(srv, 'listening')
    const port = (srv.address() as AddressInfo).port
    expect(await isPortFree('127.0.0.1', port)).toBe(false)
    await new Promise<void>((resolve) => { srv.close(() => { resolve() }) })
    expect(await isPortFree('127.0.0.1', port)).toBe(true)
  })
})

describe('startDemo (injected proxy)', () => {
  it('starts origins, writes certs, hands the config to the proxy, prints instructions, cleans up', async () => {
    let seen: Parameters<StartProxyFn>[0] | undefined
    let closedWith: number | undefined
    const fakeProxy: StartProxyFn = async (config) => {
      seen = config
      return { addresses: [{ host: '127.0.0.1', port: 45678 }], async close (graceMs) { closedWith = graceMs } }
    }
    const demo = await startDemo({ logger: silentLogger, port: 0, startProxy: fakeProxy })
    let closed = false
    closers.push(async () => { if (!closed) await demo.close() })

    expect(seen?.routes.map(r => seen?.upstreams[r.upstream]!.servers[0]!.port)).toEqual([demo.origins.alpha.port, demo.origins.beta.port, demo.origins.beta.port])
    expect(demo.port).toBe(45678)
    expect(demo.fellBack).toBe(false)
    expect(readFileSync(demo.certFiles.alpha, 'utf8')).toBe(demo.origins.alpha.cert.cert)
    expect(readFileSync(demo.certFiles.beta, 'utf8')).toBe(demo.origins.beta.cert.cert)

    const text = formatDemoInstructions(demo)
    expect(text).toContain('proxy on 127.0.0.1:45678')
    expect(text).toContain(demo.origins.alpha.cert.fingerprint256)
    expect(text).toContain(demo.origins.beta.cert.fingerprint256)
    expect(text).toContain(`curl --cacert ${demo.certFiles.alpha} --resolve alpha.demo.hellogate.test:45678:127.0.0.1 https://alpha.demo.hellogate.test:45678/`)
    expect(text).toContain('curl -sk --resolve alpha.demo.hellogate.test:45678:127.0.0.1')
    expect(text).toContain('openssl s_client -connect 127.0.0.1:45678 -servername alpha.demo.hellogate.test </dev/null 2>/dev/null | openssl x509 -noout -subject -fingerprint -sha256')

    await demo.close()
    closed = true
    expect(closedWith).toBe(demo.config.timeouts.shutdownMs)
    expect(existsSync(demo.certDir)).toBe(false)
    expect(demo.origins.alpha.server.listening).toBe(false)
  })

  it('closes the origins and removes the temp dir when the proxy fails to start', async () => {
    let origins: { alpha: number } | undefined
    const failing: StartProxyFn = async (config) => {
      origins = { alpha: config.upstreams[config.routes[0]!.upstream]!.servers[0]!.port }
      throw new Error('boom')
    }
    await expect(startDemo({ logger: silentLogger, port: 0, startProxy: failing })).rejects.toThrow('boom')
    expect(origins).toBeDefined()
    // the origin's port is free again
    expect(await isPortFree('127.0.0.1', origins!.alpha)).toBe(true)
  })
})
