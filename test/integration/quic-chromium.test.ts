/**
 * QUIC passthrough with a browser: headless Chromium (HTTP/3 forced for the name) through the real
 * `hellogate serve` to ngtcp2 origins with their own certificates. Chromium's ClientHello carries a
 * post-quantum key share (X25519MLKEM768) and spans two Initial datagrams: the case that needs CRYPTO
 * reassembly across datagrams, and held datagrams sent on in order. Skipped, with the reason printed,
 * where Chromium or ngtcp2's server is missing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM, CHROMIUM_TIMEOUT_MS, chromiumGet, GTLS_SERVER, haveBinary, spkiHash, startQuicRig, type QuicOrigin, type QuicRig } from '../helpers/quic-stacks.ts'

const HAVE = haveBinary(GTLS_SERVER, 'ngtcp2-server: a real QUIC origin') && haveBinary(CHROMIUM, 'chromium: a browser as the QUIC client')

describe.skipIf(!HAVE)('QUIC passthrough with headless Chromium', () => {
  let rig: QuicRig
  let a: QuicOrigin
  let b: QuicOrigin
  let port = 0

  beforeAll(async () => {
    rig = await startQuicRig(['a.chromium.test', 'b.chromium.test'], ['chromium reached A', 'chromium reached B'])
    a = rig.a
    b = rig.b
    port = rig.port
  }, 30_000)

  afterAll(async () => {
    await rig?.close()
  })

  it('loads each name from its own origin over HTTP/3, its two-datagram hello routed by SNI', async () => {
    const spkis = [spkiHash(a.cert), spkiHash(b.cert)]
    for (const [origin, text] of [[a, 'chromium reached A'], [b, 'chromium reached B']] as const) {
      const r = await chromiumGet(port, origin.name, spkis)
      expect(r.body, r.output.split('\n').filter((l) => !l.includes('dbus')).join('\n')).toContain(text)
      const line = await rig.proxy.waitForLog((l) => l.evt === 'quic.close' && l.sni === origin.name, 10_000)
      expect(line).toMatchObject({ alpn: 'h3', route: origin.name, origin: '127.0.0.1:' + String(origin.port), outcome: 'ok' })
      expect(line.helloDatagrams).toBe(2)
    }
  }, 2 * CHROMIUM_TIMEOUT_MS + 20_000)
})
