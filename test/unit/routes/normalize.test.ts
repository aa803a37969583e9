/** normalizePattern: canonical form of config patterns, and what it rejects (src/routes/normalize.ts). */
import { describe, expect, it } from 'vitest'
import { MAX_PATTERN_INPUT_LENGTH } from '../../../src/routes/constants.ts'
import { normalizePattern } from '../../../src/routes/index.ts'
import { normalizeViaIdna } from '../../../src/routes/normalize.ts'

const L63 = 'a'.repeat(63)
/** 253 characters: 63 + 1 + 63 + 1 + 63 + 1 + 61 */
const NAME_253 = [L63, L63, L63, 'b'.repeat(61)].join('.')

const CANONICAL: Array<[string, string]> = [
  ['example.com', 'example.com'],
  ['EXAMPLE.com', 'example.com'],
  ['example.com.', 'example.com'],
  ['Example.COM.', 'example.com'],
  ['*.example.com', '*.example.com'],
  ['*.EXAMPLE.com.', '*.example.com'],
  ['*.com', '*.com'],
  ['localhost', 'localhost'],
  ['a_b.example', 'a_b.example'],
  ['_acme-challenge.example.com', '_acme-challenge.example.com'],
  ['-a-.example', '-a-.example'],
  ['1.example.com', '1.example.com'],
  ['123.com', '123.com'],
  ['example.c0m', 'example.c0m'],
  ['0x.example', '0x.example'],
  ['bücher.example', 'xn--bcher-kva.example'],
  ['Bücher.EXAMPLE.', 'xn--bcher-kva.example'],
  ['*.bücher.example', '*.xn--bcher-kva.example'],
  ['faß.de', 'xn--fa-hia.de'],
  ['münchen.de', 'xn--mnchen-3ya.de'],
  ['ＡＢＣ.com', 'abc.com'], // UTS #46 maps fullwidth letters
  ['example。com', 'example.com'], // ideographic full stop is a label separator
  ['a\u00adb.com', 'ab.com'], // soft hyphen is deleted by the mapping
  ['😀.com', 'xn--e28h.com'],
  ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
  ['XN--BCHER-KVA.example', 'xn--bcher-kva.example'],
  [L63 + '.com', L63 + '.com'],
  [NAME_253, NAME_253],
  [NAME_253 + '.', NAME_253],
  ['*.' + NAME_253.slice(2), '*.' + NAME_253.slice(2)],
]

const INVALID: Array<[string, string]> = [
  ['', 'empty'],
  ['.', 'only a dot'],
  ['..', 'two dots'],
  ['example.com..', 'two trailing dots'],
  ['.example.com', 'leading empty label'],
  ['a..example.com', 'empty label inside'],
  [L63 + 'a.com', 'label of 64 octets'],
  ['c' + NAME_253, 'name of 254 characters'],
  ['*.' + NAME_253, 'wildcard pattern over 253 characters'],
  ['*.' + NAME_253.slice(1), 'wildcard pattern of 254 characters'],
  ['*', 'bare *'],
  ['*.', 'bare *.'],
  ['*.*.example.com', 'second wildcard label'],
  ['a.*.example.com', '* inside'],
  ['*example.com', '* without a dot'],
  ['a*.example.com', '* inside a label'],
  ['**.example.com', '** label'],
  ['example.*', 'trailing *'],
  ['*.example.com.*', '* at the end'],
  ['ex ample.com', 'space'],
  [' example.com', 'leading space'],
  ['example.com ', 'trailing space'],
  ['exa\tmple.com', 'tab (domainToASCII would drop it)'],
  ['a%41.com', 'percent (domainToASCII would decode it)'],
  ['a%41.bücher.example', 'percent on the IDNA path'],
  ['a b.bücher.example', 'space on the IDNA path'],
  ['example.com:443', 'port'],
  ['http://example.com', 'URL'],
  ['user@example.com', 'userinfo'],
  ['example.com/', 'path'],
  ['ex"ample.com', 'quote'],
  ['exa\u0000mple.com', 'NUL'],
  ['1.2.3.4', 'IPv4 literal'],
  ['127.0.0.1.', 'IPv4 literal with trailing dot'],
  ['0x7f.1', 'hex IPv4 shorthand'],
  ['example.123', 'numeric last label'],
  ['foo.0x1f', 'hex last label'],
  ['foo.0X1F', 'hex last label, upper case'],
  ['foo.0x', 'bare 0x last label'],
  ['*.10', 'wildcard over a numeric label'],
  ['[::1]', 'IPv6 literal'],
  ['::1', 'bare IPv6'],
  ['[2001:db8::1]', 'IPv6 literal'],
  ['a\uff0a.com', 'fullwidth asterisk maps to *'],
  ['*.\uff0a.com', 'fullwidth asterisk label'],
  ['ex\u2024ample.com', 'U+2024 one dot leader is disallowed by UTS #46'],
  ['a'.repeat(MAX_PATTERN_INPUT_LENGTH + 1), 'input over MAX_PATTERN_INPUT_LENGTH'],
]

describe('normalizePattern', () => {
  it.each(CANONICAL)('canonicalises %j to %j', (input, want) => {
    expect(normalizePattern(input)).toBe(want)
  })

  it.each(CANONICAL)('is idempotent on %j', (input) => {
    const once = normalizePattern(input)
    expect(once).not.toBeNull()
    expect(normalizePattern(once!)).toBe(once)
  })

  it.each(INVALID)('rejects %j (%s)', (input) => {
    expect(normalizePattern(input)).toBeNull()
  })

  it.each([...CANONICAL.map(([i]) => i), ...INVALID.map(([i]) => i)])(
    'gives the same answer through the ASCII fast path and through domainToASCII for %j', (input) => {
      expect(normalizePattern(input)).toBe(normalizeViaIdna(input))
    })

  it('rejects non-string input instead of throwing (config is untyped JSON/YAML)', () => {
    for (const bad of [undefined, null, 42, {}, ['a.com']]) {
      expect(normalizePattern(bad as unknown as string)).toBeNull()
      expect(normalizeViaIdna(bad as unknown as string)).toBeNull()
    }
  })

  it('accepts a Unicode input longer than 253 that maps to a short name, up to MAX_PATTERN_INPUT_LENGTH', () => {
    const softHyphens = '\u00ad'.repeat(600)
    expect(normalizePattern('a' + softHyphens + '.com')).toBe('a.com')
  })
})
