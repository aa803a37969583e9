/**
 * QUIC passthrough end to end with a real QUIC stack on both sides: ngtcp2's GnuTLS example client and
 * server (Debian ngtcp2-client / ngtcp2-server), HTTP/3 over the real `hellogate serve`. Two origins with
 * their own certificates and documents; a client asking each name through hellogate's UDP port must get
 * that origin's document (the origin completes the QUIC handshake itself: hellogate holds no key).
 * Skipped, with the reason printed, where the binaries are missing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clientNamespace, GTLS_CLIENT, GTLS_SERVER, haveBinary, ngtcp2Get, startQuicRig, type QuicOrigin, type QuicRig } from '../helpers/quic-stacks.ts'

const HAVE = haveBinary(GTLS_SERVER, 'ngtcp2-server: a real QUIC origin') && haveBinary(GTLS_CLIENT, 'ngtcp2-client: a real QUIC client') &&
  clientNamespace() !== null

describe.skipIf(!HAVE)('QUIC passthrough with ngtcp2 client and origins', () => {
  let rig: QuicRig
  let b: QuicOrigin
  let port = 0

  beforeAll(async () => {
    rig = await startQuicRig(['a.quic.test', 'b.quic.test'], ['origin A\n', 'origin B\n'])
    b = rig.b
    port = rig.port
  }, 30_000)

  afterAll(async () => {
    await rig?.close()
  })

  it('routes each name to its own origin, which completes the handshake and answers over HTTP/3', async () => {
    const ra = await ngtcp2Get(port, 'a.quic.test')
    expect(ra.body, ra.output).toBe('origin A\n')
    const rb = await ngtcp2Get(port, 'b.quic.test')
    expect(rb.body, rb.output).toBe('origin B\n')
    // one access-log line per flow once it idles out: who, which name, which version, what went each way
    const line = await rig.proxy.waitForLog((l) => l.evt === 'quic.close' && l.sni === 'b.quic.test', 10_000)
    expect(line).toMatchObject({ alpn: 'h3', version: '0x00000001', route: 'b.quic.test', origin: '127.0.0.1:' + String(b.port), outcome: 'ok' })
    expect(line.datagramsUp).toBeGreaterThan(1)
    expect(line.datagramsDown).toBeGreaterThan(1)
    expect(line.bytesDown).toBeGreaterThan(1200)
  }, 30_000)

  it('a name without a route reaches no origin and is logged no_route', async () => {
    const r = await ngtcp2Get(port, 'nowhere.quic.test')
    expect(r.body).toBe('')
    const line = await rig.proxy.waitForLog((l) => l.evt === 'quic.close' && l.sni === 'nowhere.quic.test', 10_000)
    expect(line).toMatchObject({ outcome: 'no_route', datagramsUp: 0, datagramsDown: 0 })
  }, 30_000)
})
