/**
 * Client bytes that arrive while the origin connect is still in progress (TLS 1.3 early data, or a
 * client that does not wait): the client socket keeps reading during the connect, holds them, and
 * pauses past EARLY_HOLD_BYTES; the origin must get the hello and every later byte once, in order.
 * A black-holed first server (its connect times out, then the pool retries the next one) keeps the
 * connect in progress long enough for the client's later writes to land in that window.
 */
import { describe, expect, it } from 'vitest'
import { buildClientHello, wrapRecords } from '../helpers/build-hello.ts'
import { rawExchange, startBlackholeOrigin, startRecordingOrigin, startTestProxy, waitFor } from '../helpers/servers.ts'
import { EARLY_HOLD_BYTES } from '../../src/relay/pipe.ts'

const NAME = 'early.test.hellogate.example'
/** the black hole's connect deadline: the client's writes (gaps below) all fall inside it */
const CONNECT_TIMEOUT = '400ms'
const GAP_MS = 40

describe('client bytes during the origin connect', () => {
  it('reach the origin after the hello, byte for byte and in order, also past the hold bound (pause, then resume)', async () => {
    const hole = await startBlackholeOrigin()
    const good = await startRecordingOrigin()
    const proxy = await startTestProxy({
      workers: 1,
      upstreams: {
        pool: {
          // roundrobin over two servers: every second connection starts on the black hole
          servers: ['127.0.0.1:' + String(hole.port), '127.0.0.1:' + String(good.port)],
          balance: 'roundrobin',
          health: { check: 'off' },
          passive: { failures: 0 },
          connect: { timeout: CONNECT_TIMEOUT, retries: 1 },
        },
      },
      routes: { [NAME]: 'pool' },
    })
    try {
      const hello = Buffer.from(wrapRecords(buildClientHello({ sni: NAME }), 1))
      // four later writes, 1.5× the hold bound in all: the last ones arrive after the client is paused
      const later = [0, 1, 2, 3].map((i) => Buffer.alloc(Math.ceil(EARLY_HOLD_BYTES * 1.5 / 4), 0x41 + i))
      const all = Buffer.concat([hello, ...later])
      for (let i = 0; i < 2; i++) {
        const before = good.received.length
        const res = await rawExchange(proxy.port, [hello, ...later], { endAfter: true, gapMs: GAP_MS })
        expect(res.error).toBeNull()
        expect(res.data.toString()).toBe('got ' + String(all.length) + ' bytes')
        expect(Buffer.compare(good.received[before]!, all)).toBe(0)
      }
      // at least one of the two waited out the black hole's deadline and was retried: its bytes were held meanwhile
      await waitFor(() => proxy.stats().outcomes.ok === 2)
      expect(proxy.stats().counters.origin_retry).toBeGreaterThanOrEqual(1)
    } finally {
      await proxy.close(500)
      await Promise.all([hole.close(), good.close()])
    }
  })
})
