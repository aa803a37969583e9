import { describe, expect, it } from 'vitest'
import { HeadError, HeadStatus, headErrorName, HostKind, HttpHeadReader, MAX_HEAD_BYTES } from '../../../src/http/index.ts'

const enc = (s: string): Buffer => Buffer.from(s, 'latin1')

function read (text: string | Buffer): HttpHeadReader {
  const r = new HttpHeadReader()
  r.push(typeof text === 'string' ? enc(text) : text)
  return r
}

function host (r: HttpHeadReader): string {
  return Buffer.from(r.head.subarray(r.hostStart, r.hostEnd)).toString('latin1')
}

const GOOD = 'GET /x HTTP/1.1\r\nUser-Agent: t\r\nHost: Shop.Example\r\nAccept: */*\r\n\r\n'

describe('HttpHeadReader: valid heads', () => {
  it('finds the Host (case-insensitive field name, OWS trimmed) and keeps every byte', () => {
    const r = read(GOOD + 'BODY')
    expect(r.status).toBe(HeadStatus.Ok)
    expect(host(r)).toBe('Shop.Example')
    expect(r.hostKind).toBe(HostKind.Name)
    expect(r.headLength).toBe(GOOD.length)
    expect(Buffer.from(r.received()).toString('latin1')).toBe(GOOD + 'BODY')
  })

  it.each([
    ['hOsT:a.example\r\n', 'a.example'],
    ['Host:  \ta.example \t\r\n', 'a.example'],
    ['Host: a.example:8080\r\n', 'a.example'],
    ['Host: a.example.\r\n', 'a.example.'],
  ])('reads %j as %s', (line, name) => {
    const r = read('GET / HTTP/1.0\r\n' + line + '\r\n')
    expect(r.status).toBe(HeadStatus.Ok)
    expect(host(r)).toBe(name)
  })

  it.each(['127.0.0.1', '127.0.0.1:80', '[::1]', '[2001:db8::1]:8080'])('reads address literal %s as an address', (v) => {
    const r = read('GET / HTTP/1.1\r\nHost: ' + v + '\r\n\r\n')
    expect(r.status).toBe(HeadStatus.Ok)
    expect(r.hostKind).toBe(HostKind.Address)
  })

  it('gives the same answer for every split into two chunks and byte by byte', () => {
    const wire = enc(GOOD + 'tail')
    for (let cut = 1; cut < wire.length; cut++) {
      const r = new HttpHeadReader()
      const first = r.push(wire.subarray(0, cut))
      expect(first === HeadStatus.NeedMore || cut >= GOOD.length).toBe(true)
      r.push(wire.subarray(cut))
      expect(r.status).toBe(HeadStatus.Ok)
      expect(host(r)).toBe('Shop.Example')
      // a chunk after the completing one is not the reader's (the relay forwards it)
      expect(Buffer.from(r.received()).equals(cut >= GOOD.length ? wire.subarray(0, cut) : wire)).toBe(true)
    }
    const r = new HttpHeadReader()
    for (let i = 0; i < wire.length && r.status === HeadStatus.NeedMore; i++) r.push(wire.subarray(i, i + 1))
    expect(r.status).toBe(HeadStatus.Ok)
    expect(host(r)).toBe('Shop.Example')
  })

  it('accepts OPTIONS * and keeps a terminal status sticky', () => {
    const r = read('OPTIONS * HTTP/1.1\r\nHost: a.example\r\n\r\n')
    expect(r.status).toBe(HeadStatus.Ok)
    expect(r.push(enc('more'))).toBe(HeadStatus.Ok)
    expect(r.length).toBe('OPTIONS * HTTP/1.1\r\nHost: a.example\r\n\r\n'.length)
  })
})

describe('HttpHeadReader: refused heads (400 unless said)', () => {
  it.each([
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: a.example\r\nX-A: 1\r\n  continued\r\n\r\n', HeadError.ObsFold],
    ['obs-fold with HTAB', 'GET / HTTP/1.1\r\nX-A: 1\r\n\tHost: b.example\r\n\r\n', HeadError.ObsFold],
    ['NUL in a value', 'GET / HTTP/1.1\r\nHost: a.example\r\nX-A: a\u0000b\r\n\r\n', HeadError.ControlByte],
    ['NUL in the Host', 'GET / HTTP/1.1\r\nHost: a.exa\u0000mple\r\n\r\n', HeadError.ControlByte],
    ['bare CR in a value', 'GET / HTTP/1.1\r\nX-A: a\rHost: b.example\r\nHost: a.example\r\n\r\n', HeadError.BareCr],
    ['bare LF', 'GET / HTTP/1.1\r\nX-A: a\nHost: b.example\r\n\r\n', HeadError.BareLf],
    ['LF-only lines', 'GET / HTTP/1.1\nHost: a.example\n\n', HeadError.BareLf],
    ['space before the colon', 'GET / HTTP/1.1\r\nHost : a.example\r\n\r\n', HeadError.FieldName],
    ['missing Host', 'GET / HTTP/1.1\r\nAccept: */*\r\n\r\n', HeadError.NoHost],
    ['empty Host', 'GET / HTTP/1.1\r\nHost: \r\n\r\n', HeadError.NoHost],
    ['two Hosts', 'GET / HTTP/1.1\r\nHost: a.example\r\nhost: b.example\r\n\r\n', HeadError.TwoHosts],
    ['two identical Hosts', 'GET / HTTP/1.1\r\nHost: a.example\r\nHost: a.example\r\n\r\n', HeadError.TwoHosts],
    ['userinfo', 'GET / HTTP/1.1\r\nHost: user:pw@a.example\r\n\r\n', HeadError.HostUserinfo],
    ['userinfo without password', 'GET / HTTP/1.1\r\nHost: evil.example@a.example\r\n\r\n', HeadError.HostUserinfo],
    ['port 0', 'GET / HTTP/1.1\r\nHost: a.example:0\r\n\r\n', HeadError.HostPort],
    ['port 65536', 'GET / HTTP/1.1\r\nHost: a.example:65536\r\n\r\n', HeadError.HostPort],
    ['empty port', 'GET / HTTP/1.1\r\nHost: a.example:\r\n\r\n', HeadError.HostPort],
    ['port with letters', 'GET / HTTP/1.1\r\nHost: a.example:80x\r\n\r\n', HeadError.HostPort],
    ['two ports', 'GET / HTTP/1.1\r\nHost: a.example:80:81\r\n\r\n', HeadError.HostPort],
    ['invalid name', 'GET / HTTP/1.1\r\nHost: a..example\r\n\r\n', HeadError.HostInvalid],
    ['name with a slash', 'GET / HTTP/1.1\r\nHost: a.example/x\r\n\r\n', HeadError.HostInvalid],
    ['unterminated IPv6', 'GET / HTTP/1.1\r\nHost: [::1\r\n\r\n', HeadError.HostInvalid],
    ['Host as a list', 'GET / HTTP/1.1\r\nHost: a.example, b.example\r\n\r\n', HeadError.HostInvalid],
    ['absolute-form target', 'GET http://b.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n', HeadError.Target],
    ['CONNECT authority-form', 'CONNECT b.example:443 HTTP/1.1\r\nHost: a.example\r\n\r\n', HeadError.Target],
    ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', HeadError.Version],
    ['HTTP/1.2', 'GET / HTTP/1.2\r\nHost: a.example\r\n\r\n', HeadError.Version],
    ['HTTP/0.9', 'GET /\r\n\r\n', HeadError.RequestLine],
    ['TLS bytes', '\u0016\u0003\u0001\u0002\u0000\u0001\r\n\r\n', HeadError.RequestLine],
    ['no request line', '\r\n', HeadError.RequestLine],
    ['leading space in method', ' GET / HTTP/1.1\r\nHost: a.example\r\n\r\n', HeadError.RequestLine],
  ])('%s', (_what, text, error) => {
    const r = read(text)
    expect(headErrorName(r.error)).toBe(headErrorName(error))
    expect(r.status).toBe(HeadStatus.BadRequest)
    expect(r.hostKind === HostKind.None || r.error !== HeadError.None).toBe(true)
  })

  it('refuses a head longer than MAX_HEAD_BYTES with TooLarge, having kept no more than that', () => {
    const r = new HttpHeadReader()
    r.push(enc('GET / HTTP/1.1\r\nHost: a.example\r\n'))
    const filler = enc('X-Pad: ' + 'a'.repeat(1000) + '\r\n')
    let st: HeadStatus = HeadStatus.NeedMore
    for (let i = 0; i < 40 && st === HeadStatus.NeedMore; i++) {
      st = r.push(filler)
      expect(r.length).toBeLessThanOrEqual(MAX_HEAD_BYTES + filler.length)
    }
    expect(st).toBe(HeadStatus.TooLarge)
    expect(r.error).toBe(HeadError.TooLarge)
  })

  it('refuses one long line without an LF at MAX_HEAD_BYTES', () => {
    const r = read('GET /' + 'a'.repeat(MAX_HEAD_BYTES) + ' HTTP/1.1\r\nHost: a.example\r\n\r\n')
    expect(r.status).toBe(HeadStatus.TooLarge)
  })

  it('takes a head of exactly MAX_HEAD_BYTES', () => {
    const start = 'GET / HTTP/1.1\r\nHost: a.example\r\nX-Pad: '
    const end = '\r\n\r\n'
    const r = read(start + 'a'.repeat(MAX_HEAD_BYTES - start.length - end.length) + end)
    expect(r.status).toBe(HeadStatus.Ok)
  })
})
