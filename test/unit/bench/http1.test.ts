/**
 * bench/http1.ts: the response reader the keepalive and bulk loops rely on to know where one
 * response ends and the next request may go. Every framing is also fed one byte at a time.
 */
import { describe, expect, it } from 'vitest'

import { MAX_HEAD_BYTES, ReadStatus, ResponseReader, describeReadStatus } from '../../../src/bench/http1.ts'

const enc = (s: string): Uint8Array => Buffer.from(s, 'latin1')

/** whole buffer at once, then byte by byte: both must give the same answer */
function readBoth (text: string, isHead = false): Array<{ r: number, status: number, body: number, close: boolean }> {
  const bytes = enc(text)
  const out = []
  const a = new ResponseReader()
  a.reset(isHead)
  out.push({ r: a.feed(bytes, 0, bytes.length), status: a.status, body: a.bodyBytes, close: a.close })
  const b = new ResponseReader()
  b.reset(isHead)
  let r: number = ReadStatus.More
  let i = 0
  for (; i < bytes.length && r === ReadStatus.More; i++) r = b.feed(bytes, i, i + 1)
  // byte-at-a-time: report the total consumed the same way as the whole-buffer feed
  out.push({ r: r >= 0 ? i : r, status: b.status, body: b.bodyBytes, close: b.close })
  return out
}

describe('ResponseReader', () => {
  it('ends a Content-Length response exactly after its body, leaving the bytes after it', () => {
    const resp = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'
    for (const x of readBoth(resp + 'HTTP/1.1')) expect(x).toEqual({ r: resp.length, status: 200, body: 5, close: false })
  })

  it('reads chunked bodies with extensions and trailers', () => {
    const resp = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n'
    for (const x of readBoth(resp)) expect(x).toEqual({ r: resp.length, status: 200, body: 15, close: false })
  })

  it('runs a body without length to EOF and says the connection closes', () => {
    const r = new ResponseReader()
    r.reset()
    const b = enc('HTTP/1.1 200 OK\r\n\r\nabc')
    expect(r.feed(b, 0, b.length)).toBe(ReadStatus.More)
    expect(r.eof()).toBe(true)
    expect(r.bodyBytes).toBe(3)
    expect(r.close).toBe(true)
  })

  it('reports an EOF in the middle of a Content-Length body as not clean', () => {
    const r = new ResponseReader()
    r.reset()
    const b = enc('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc')
    expect(r.feed(b, 0, b.length)).toBe(ReadStatus.More)
    expect(r.eof()).toBe(false)
  })

  it('skips 1xx interim responses, and HEAD/204/304 have no body', () => {
    const resp = 'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n'
    for (const x of readBoth(resp)) expect(x).toEqual({ r: resp.length, status: 204, body: 0, close: true })
    const head = 'HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n'
    for (const x of readBoth(head, true)) expect(x).toEqual({ r: head.length, status: 200, body: 0, close: false })
  })

  it('refuses a bad status line, a bad length, a bad chunk size and an endless header block', () => {
    for (const x of readBoth('SSH-2.0-OpenSSH\r\n\r\n')) expect(x.r).toBe(ReadStatus.BadStatusLine)
    for (const x of readBoth('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n')) expect(x.r).toBe(ReadStatus.BadLength)
    for (const x of readBoth('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')) expect(x.r).toBe(ReadStatus.BadChunk)
    const big = enc('HTTP/1.1 200 OK\r\nX: ' + 'a'.repeat(MAX_HEAD_BYTES))
    const r = new ResponseReader()
    r.reset()
    expect(r.feed(big, 0, big.length)).toBe(ReadStatus.HeadTooLarge)
    expect(describeReadStatus(ReadStatus.HeadTooLarge)).toBe('HTTP_HEAD_TOO_LARGE')
  })

  it('can be reused: reset() forgets the previous response', () => {
    const r = new ResponseReader()
    const one = enc('HTTP/1.1 500 Oops\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno')
    r.reset()
    expect(r.feed(one, 0, one.length)).toBe(one.length)
    const two = enc('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n')
    r.reset()
    expect(r.feed(two, 0, two.length)).toBe(two.length)
    expect({ status: r.status, close: r.close, body: r.bodyBytes }).toEqual({ status: 200, close: false, body: 0 })
  })
})
