import { describe, expect, it } from 'vitest'
import { HOST_BYTE, checkHostName } from '../../../src/hello/hostname.ts'

/** checkHostName over a name given as a latin1 string; returns the matched text or null */
function check (name: string): string | null {
  const b = Buffer.from(name, 'latin1')
  const end = checkHostName(b, 0, b.length)
  return end < 0 ? null : b.subarray(0, end).toString('latin1')
}

describe('checkHostName', () => {
  it.each([
    ['example.com', 'example.com'],
    ['a', 'a'],
    ['EXAMPLE.Com', 'EXAMPLE.Com'], // case kept: the matcher folds it
    ['example.com.', 'example.com'], // one trailing dot: absolute name, dot excluded
    ['_acme-challenge.example.com', '_acme-challenge.example.com'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
    ['1.2.3', '1.2.3'], // not four labels: not a dotted quad
    ['1.2.3.4.5', '1.2.3.4.5'],
    ['256.1.1.1', '256.1.1.1'], // 256 is no IPv4 octet
    ['1.2.3.4a', '1.2.3.4a'],
    ['123', '123'],
    ['0-0.1.1.1', '0-0.1.1.1'],
  ])('accepts %j as %j', (name, want) => {
    expect(check(name)).toBe(want)
  })

  it.each([
    ['', 'empty'],
    ['.', 'a lone dot'],
    ['..', 'two dots'],
    ['.example.com', 'leading dot'],
    ['example..com', 'empty label'],
    ['example.com..', 'two trailing dots'],
    ['exa mple.com', 'space'],
    ['example.com\u0000', 'NUL'],
    ['*.example.com', "'*'"],
    ['example.com:443', "':'"],
    ['[::1]', 'IPv6 literal'],
    ['::1', 'bare IPv6'],
    ['ex/ample.com', "'/'"],
    ['ex%41mple.com', "'%'"],
    ['b\u00fccher.example', 'a byte >= 0x80 (latin1 u-umlaut)'],
    [Buffer.from('bücher.example', 'utf8').toString('latin1'), 'UTF-8 bytes'],
    ['127.0.0.1', 'IPv4 literal'],
    ['192.0.2.255.', 'IPv4 literal with trailing dot'],
    ['010.000.000.001', 'IPv4 literal with leading zeros'],
    ['a'.repeat(64) + '.com', 'label of 64'],
    [('a'.repeat(63) + '.').repeat(3) + 'a'.repeat(62), 'name of 254'],
  ])('rejects %j (%s)', (name) => {
    expect(check(name)).toBeNull()
  })

  it('accepts a 63-byte label and a 253-byte name (the limits themselves)', () => {
    expect(check('a'.repeat(63) + '.com')).not.toBeNull()
    const n253 = ('a'.repeat(63) + '.').repeat(3) + 'a'.repeat(61)
    expect(n253.length).toBe(253)
    expect(check(n253)).toBe(n253)
    expect(check(n253 + '.')).toBe(n253) // 254 with the trailing dot is still 253 without
  })

  it('validates only the given range of a larger buffer', () => {
    const b = Buffer.from('xx.example.com!!', 'latin1')
    expect(checkHostName(b, 3, 14)).toBe(14)
    expect(checkHostName(b, 3, 16)).toBe(-1)
    expect(checkHostName(b, 5, 5)).toBe(-1)
    expect(checkHostName(b, 0, 17)).toBe(-1) // out of range: refused, not read
  })

  it('classifies exactly letters, digits, "-", "_" and "." as host bytes', () => {
    const allowed: number[] = []
    for (let c = 0; c < 256; c++) if (HOST_BYTE[c] !== 0) allowed.push(c)
    const text = String.fromCharCode(...allowed)
    expect(text).toBe('-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz')
  })
})
