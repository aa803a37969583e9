/** The host-name rule (src/names/host-name.ts): what it accepts, why it refuses, the fold table. */
import { describe, expect, it } from 'vitest'
import {
  checkHostName, checkHostNameText, checkLabels, describeNameStatus, NAME_FOLD, NameStatus,
} from '../../../src/names/index.ts'

/** checkHostName over a name given as a latin1 string; returns the matched text or the NameStatus */
function check (name: string): string | number {
  const b = Buffer.from(name, 'latin1')
  const end = checkHostName(b, 0, b.length)
  return end < 0 ? end : b.subarray(0, end).toString('latin1')
}

describe('checkHostName', () => {
  it.each([
    ['example.com', 'example.com'],
    ['a', 'a'],
    ['EXAMPLE.Com', 'EXAMPLE.Com'], // case kept: the matcher folds it
    ['example.com.', 'example.com'], // one trailing dot: absolute name, dot excluded
    ['_acme-challenge.example.com', '_acme-challenge.example.com'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
    ['1.2.3.4a', '1.2.3.4a'], // last label not all digits
    ['1.example.com', '1.example.com'], // numeric labels are fine before the last
    ['example.c0m', 'example.c0m'],
    ['-a-.example', '-a-.example'], // '-' first and last in a label (module header: why)
    ['-.example', '-.example'],
    ['a.0xg', 'a.0xg'], // 0x followed by a non-hex letter is a name
  ])('accepts %j as %j', (name, want) => {
    expect(check(name)).toBe(want)
  })

  it.each([
    ['', NameStatus.Empty, 'empty'],
    ['.', NameStatus.Empty, 'a lone dot'],
    ['..', NameStatus.EmptyLabel, 'two dots'],
    ['.example.com', NameStatus.EmptyLabel, 'leading dot'],
    ['example..com', NameStatus.EmptyLabel, 'empty label'],
    ['example.com..', NameStatus.EmptyLabel, 'two trailing dots'],
    ['exa mple.com', NameStatus.BadByte, 'space'],
    ['example.com\u0000', NameStatus.BadByte, 'NUL'],
    ['*.example.com', NameStatus.BadByte, "'*'"],
    ['example.com:443', NameStatus.BadByte, "':'"],
    ['[::1]', NameStatus.BadByte, 'IPv6 literal'],
    ['::1', NameStatus.BadByte, 'bare IPv6'],
    ['ex/ample.com', NameStatus.BadByte, "'/'"],
    ['ex%41mple.com', NameStatus.BadByte, "'%'"],
    ['b\u00fccher.example', NameStatus.BadByte, 'a byte >= 0x80 (latin1 u-umlaut)'],
    [Buffer.from('bücher.example', 'utf8').toString('latin1'), NameStatus.BadByte, 'UTF-8 bytes'],
    ['127.0.0.1', NameStatus.EndsInNumber, 'IPv4 literal'],
    ['192.0.2.255.', NameStatus.EndsInNumber, 'IPv4 literal with trailing dot'],
    ['010.000.000.001', NameStatus.EndsInNumber, 'IPv4 literal with leading zeros'],
    ['1.2.3', NameStatus.EndsInNumber, 'inet_aton reads it as 1.2.0.3'],
    ['1.2.3.4.5', NameStatus.EndsInNumber, 'five numbers: the URL parser fails it as IPv4'],
    ['256.1.1.1', NameStatus.EndsInNumber, 'not an IPv4 octet, still a number'],
    ['123', NameStatus.EndsInNumber, 'one number (inet_aton: 0.0.0.123)'],
    ['a.123', NameStatus.EndsInNumber, 'last label all digits'],
    ['0-0.1.1.1', NameStatus.EndsInNumber, 'last label all digits'],
    ['a.0x7f', NameStatus.EndsInNumber, 'hex number'],
    ['a.0X7F', NameStatus.EndsInNumber, 'hex number, upper case'],
    ['a.0x', NameStatus.EndsInNumber, 'bare 0x is the number 0 to the URL parser'],
    ['a'.repeat(64) + '.com', NameStatus.LabelTooLong, 'label of 64'],
    [('a'.repeat(63) + '.').repeat(3) + 'a'.repeat(62), NameStatus.TooLong, 'name of 254'],
  ] as Array<[string, number, string]>)('rejects %j as %d (%s)', (name, status) => {
    expect(check(name)).toBe(status)
  })

  it('accepts a 63-byte label and a 253-byte name (the limits themselves)', () => {
    expect(check('a'.repeat(63) + '.com')).toBe('a'.repeat(63) + '.com')
    const n253 = ('a'.repeat(63) + '.').repeat(3) + 'a'.repeat(61)
    expect(n253.length).toBe(253)
    expect(check(n253)).toBe(n253)
    expect(check(n253 + '.')).toBe(n253) // 254 with the trailing dot is still 253 without
  })

  it('validates only the given range of a larger buffer', () => {
    const b = Buffer.from('xx.example.com!!', 'latin1')
    expect(checkHostName(b, 3, 14)).toBe(14)
    expect(checkHostName(b, 3, 16)).toBe(NameStatus.BadByte)
    expect(checkHostName(b, 5, 5)).toBe(NameStatus.Empty)
    expect(checkHostName(b, 0, 17)).toBe(NameStatus.OutOfRange) // out of range: refused, not read
    expect(checkHostName(b, -1, 3)).toBe(NameStatus.OutOfRange)
  })
})

describe('checkLabels', () => {
  it.each([
    ['a', 0], ['a.b', 0], ['-.-', 0], ['123', 0], ['', NameStatus.EmptyLabel], ['a.', NameStatus.EmptyLabel],
    ['.a', NameStatus.EmptyLabel], ['a..b', NameStatus.EmptyLabel], ['a b', NameStatus.BadByte],
    ['a'.repeat(64), NameStatus.LabelTooLong],
  ])('%j → %d', (text, want) => {
    const b = Buffer.from(text, 'latin1')
    expect(checkLabels(b, 0, b.length)).toBe(want)
  })
})

describe('checkHostNameText', () => {
  it('applies the same rule to strings, from an offset', () => {
    expect(checkHostNameText('origin.internal')).toBe(15)
    expect(checkHostNameText('origin.')).toBe(6)
    expect(checkHostNameText('*.example.com', 2)).toBe(13)
    expect(checkHostNameText('1.2.3')).toBe(NameStatus.EndsInNumber)
    expect(checkHostNameText('bücher.example')).toBe(NameStatus.BadByte)
    expect(checkHostNameText('\u0161.example')).toBe(NameStatus.BadByte) // U+0161: its low byte is no letter either
    expect(checkHostNameText('\u0141.example')).toBe(NameStatus.BadByte) // U+0141: low byte 0x41 'A' must not pass
    expect(checkHostNameText('')).toBe(NameStatus.Empty)
    expect(checkHostNameText('a'.repeat(300))).toBe(NameStatus.TooLong)
  })

  it('describes every status in words', () => {
    for (const status of Object.values(NameStatus)) expect(describeNameStatus(status)).not.toBe('not a host name')
  })
})

describe('NAME_FOLD', () => {
  it('maps exactly letters, digits, "-" and "_" to their lower-case form, everything else to 0', () => {
    const allowed: number[] = []
    for (let c = 0; c < 256; c++) if (NAME_FOLD[c] !== 0) allowed.push(c)
    expect(String.fromCharCode(...allowed)).toBe('-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz')
    expect(String.fromCharCode(...allowed.map((c) => NAME_FOLD[c]!))).toBe('-0123456789abcdefghijklmnopqrstuvwxyz_abcdefghijklmnopqrstuvwxyz')
  })
})
