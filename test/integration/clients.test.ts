/**
 * The real CLI (`hellogate serve --config`) with real clients: openssl s_client and curl must complete
 * the handshake with the origin's own certificate and get that origin's response, through at least
 * two workers, in each accept model. The access log (stdout NDJSON) must carry one line per connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { promisify } from 'node:util'
import { buildClientHello, wrapRecords } from '../helpers/build-hello.ts'
import { rawExchange, startCliProxy, startTlsOrigin, tempFile, type CliProxy, type TlsOrigin } from '../helpers/servers.ts'
import { haveTool } from '../helpers/tools.ts'

const run = promisify(execFile)
const ALPHA = 'alpha.cli.hellogate.example'
const BETA = 'beta.cli.hellogate.example'
const OPENSSL = haveTool('openssl', ['version'], 'clients.test.ts: the openssl s_client test')
const CURL = haveTool('curl', ['--version'], 'clients.test.ts: the curl and access-log tests')

describe.each(['reuseport', 'handoff'] as const)('hellogate serve, accept=%s', (accept) => {
  let alpha: TlsOrigin
  let beta: TlsOrigin
  let proxy: CliProxy

  beforeAll(async () => {
    alpha = await startTlsOrigin('alpha', [ALPHA])
    beta = await startTlsOrigin('beta', [BETA])
    proxy = await startCliProxy({
      accept,
      workers: 2,
      routes: { [ALPHA]: '127.0.0.1:' + String(alpha.port), [BETA]: '127.0.0.1:' + String(beta.port) },
    })
  })

  afterAll(async () => {
    const code = await proxy.close()
    expect(code).toBe(0)
    await Promise.all([alpha.close(), beta.close()])
  })

  it.skipIf(!OPENSSL)('openssl s_client sees each origin\'s own certificate and response', async () => {
    for (const [name, origin] of [[ALPHA, alpha], [BETA, beta]] as const) {
      const caFile = tempFile('ca.pem', origin.cert)
      const { stdout } = await run('sh', ['-c',
        'printf "GET / HTTP/1.1\\r\\nHost: ' + name + '\\r\\n\\r\\n" | openssl s_client -connect 127.0.0.1:' + String(proxy.port) +
        ' -servername ' + name + ' -CAfile ' + caFile + ' -verify_return_error -showcerts -ign_eof 2>/dev/null'], { timeout: 15_000 })
      expect(stdout).toContain('Verify return code: 0 (ok)')
      expect(stdout).toContain('origin ' + origin.name)
      const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(stdout)?.[0]
      expect(new X509Certificate(pem!).fingerprint256).toBe(origin.fingerprint)
    }
  })

  it.skipIf(!CURL)('curl verifies each origin against its own certificate and gets its response', async () => {
    for (const [name, origin] of [[ALPHA, alpha], [BETA, beta]] as const) {
      const caFile = tempFile('ca.pem', origin.cert)
      const { stdout } = await run('curl', ['-sS', '--max-time', '10', '--cacert', caFile,
        '--resolve', name + ':' + String(proxy.port) + ':127.0.0.1', 'https://' + name + ':' + String(proxy.port) + '/'])
      expect(stdout).toBe('origin ' + origin.name + '\n')
    }
  })

  it.skipIf(!CURL)('spreads connections over both workers and writes one access-log line per connection', async () => {
    const caFile = tempFile('ca.pem', alpha.cert)
    const jobs = Array.from({ length: 12 }, () => run('curl', ['-sS', '--max-time', '10', '--cacert', caFile,
      '--resolve', ALPHA + ':' + String(proxy.port) + ':127.0.0.1', 'https://' + ALPHA + ':' + String(proxy.port) + '/']))
    await Promise.all(jobs)
    // curl offers ALPN (openssl s_client above did not), so its lines carry the client's list
    const line = await proxy.waitForLog((l) => l.evt === 'conn.close' && l.sni === ALPHA && l.outcome === 'ok' && l.alpn !== null)
    expect(line).toMatchObject({ route: ALPHA, origin: '127.0.0.1:' + String(alpha.port), outcome: 'ok' })
    expect(String(line.alpn).split(',')).toContain('http/1.1')
    expect(line.bytesUp).toBeGreaterThan(0)
    expect(line.bytesDown).toBeGreaterThan(0)
    expect(typeof line.helloMs).toBe('number')
    expect(typeof line.connectMs).toBe('number')
    expect(typeof line.totalMs).toBe('number')
    expect(String(line.client)).toMatch(/^127\.0\.0\.1:\d+$/)
    // access lines are flushed at least every second; wait for all of them
    const deadline = Date.now() + 5000
    while (proxy.logs.filter((l) => l.evt === 'conn.close' && l.sni === ALPHA).length < 12 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const workers = new Set(proxy.logs.filter((l) => l.evt === 'conn.close' && l.sni === ALPHA).map((l) => l.worker))
    expect(proxy.logs.filter((l) => l.evt === 'conn.close' && l.sni === ALPHA).length).toBeGreaterThanOrEqual(12)
    expect(workers.size).toBe(2)
  })

  it('logs a rejected hello with its coded outcome', async () => {
    await rawExchange(proxy.port, [Buffer.from(wrapRecords(buildClientHello({ sni: 'unknown.example.org' }), 1))])
    const line = await proxy.waitForLog((l) => l.evt === 'conn.close' && l.sni === 'unknown.example.org')
    expect(line).toMatchObject({ outcome: 'no_route', origin: null, bytesDown: 0 })
  })
})
