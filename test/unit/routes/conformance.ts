/**
 * Route-matching conformance suite (hono `common.case.test.ts` style, STYLE C.6): one list of route
 * tables and lookups, run against every matcher implementation — the naive reference (reference.ts), the
 * compiled trie (match.ts), and the compiled trie after a structured clone (what a worker receives).
 *
 * Every lookup is checked twice: in a buffer of exactly the name, and embedded at an offset between
 * guard bytes (`\0x` before, `.x` after) that change the answer of any matcher reading outside
 * buf[start, end).
 *
 * Semantics under test (compile.ts header): exact names; `*.S` covers one or more labels before `.S`
 * but not S itself; exact beats wildcard; longest wildcard suffix wins; ASCII case-insensitive; one
 * trailing dot ignored; IDNA patterns match their A-label form; malformed names never match.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { RouteSpec } from '../../../src/routes/index.ts'

/** a matcher under test: the route target for buf[start, end), or -1 */
export type Matcher = (buf: Uint8Array, start: number, end: number) => number
/** builds a matcher from a route table; must throw if the table does not compile */
export type MakeMatcher = (routes: readonly RouteSpec[]) => Matcher

export interface Lookup {
  /** a string is sent as latin1 bytes (one byte per character); a Uint8Array as is */
  name: string | Uint8Array
  target: number
}

export interface RouteCase {
  title: string
  routes: RouteSpec[]
  lookups: Lookup[]
}

const GUARD_BEFORE = [0x00, 0x78] // '\0' 'x': a matcher reading left of start sees a longer first label
const GUARD_AFTER = [0x2e, 0x78] // '.' 'x': a matcher reading right of end sees another label

function bytesOf (name: string | Uint8Array): Uint8Array {
  return typeof name === 'string' ? new Uint8Array(Buffer.from(name, 'latin1')) : name
}

function label (name: string | Uint8Array): string {
  return typeof name === 'string' ? JSON.stringify(name) : 'bytes ' + Buffer.from(name).toString('hex')
}

const issueExample = JSON.parse(
  readFileSync(new URL('../../fixtures/routes/issue-example.json', import.meta.url), 'utf8'),
) as { routes: RouteSpec[], lookups: Lookup[] }

const L63 = 'a'.repeat(63)
/** 242 characters ending in '.', so NAME_253 is exactly 253 characters */
const PREFIX_242 = [L63, L63, L63, 'b'.repeat(49)].join('.') + '.'
const NAME_253 = PREFIX_242 + 'example.com'

/** The cases. Targets differ from route indices where they can, to catch index/target mix-ups. */
export const ROUTE_CASES: RouteCase[] = [
  {
    title: 'issue example (test/fixtures/routes/issue-example.json)',
    routes: issueExample.routes,
    lookups: issueExample.lookups,
  },
  {
    title: 'issue example, more names',
    routes: issueExample.routes,
    lookups: [
      { name: 'B.EXAMPLE.COM', target: 1 },
      { name: 'x.b.example.com.', target: 2 },
      { name: 'a.b.example.com', target: 2 },
      { name: 'y.x.b.example.com', target: 2 },
      { name: 'y.a.example.com', target: 1 }, // an exact name does not cover its subdomains
      { name: 'a.example.com.', target: 0 },
      { name: 'example.com.', target: -1 },
      { name: 'com', target: -1 },
      { name: 'x.example.org', target: -1 },
      { name: 'aa.example.com', target: 1 },
    ],
  },
  {
    title: 'exact names only',
    routes: [
      { pattern: 'example.com', target: 15 },
      { pattern: 'www.example.com', target: 16 },
      { pattern: 'a.b.c.d.e.f', target: 17 },
      { pattern: 'localhost', target: 18 },
    ],
    lookups: [
      { name: 'example.com', target: 15 },
      { name: 'www.example.com', target: 16 },
      { name: 'wwww.example.com', target: -1 },
      { name: 'ww.example.com', target: -1 },
      { name: 'x.www.example.com', target: -1 },
      { name: 'example.co', target: -1 },
      { name: 'xample.com', target: -1 },
      { name: 'example.comm', target: -1 },
      { name: 'a.b.c.d.e.f', target: 17 },
      { name: 'b.c.d.e.f', target: -1 },
      { name: 'x.a.b.c.d.e.f', target: -1 },
      { name: 'localhost', target: 18 },
      { name: 'localhost.', target: 18 },
      { name: 'LOCALHOST', target: 18 },
    ],
  },
  {
    title: 'ASCII case and one trailing dot are ignored, in patterns and names',
    routes: [
      { pattern: 'MiXeD.Example.COM', target: 20 },
      { pattern: 'dotted.example.com.', target: 21 },
      { pattern: '*.WILD.Example.com', target: 22 },
    ],
    lookups: [
      { name: 'mixed.example.com', target: 20 },
      { name: 'MIXED.EXAMPLE.COM', target: 20 },
      { name: 'mIxEd.eXaMpLe.cOm.', target: 20 },
      { name: 'dotted.example.com', target: 21 },
      { name: 'DOTTED.example.com.', target: 21 },
      { name: 'dotted.example.com..', target: -1 },
      { name: 'A.wild.EXAMPLE.com', target: 22 },
      { name: 'a.b.WILD.example.COM.', target: 22 },
      { name: 'wild.example.com', target: -1 },
    ],
  },
  {
    title: 'IDNA: Unicode patterns match their A-label (xn--) form',
    routes: [
      { pattern: 'bücher.example', target: 31 },
      { pattern: '*.münchen.de', target: 32 },
      { pattern: 'faß.de', target: 33 },
      { pattern: 'ÄÖÜ.example', target: 34 },
    ],
    lookups: [
      { name: 'xn--bcher-kva.example', target: 31 },
      { name: 'XN--BCHER-KVA.EXAMPLE.', target: 31 },
      { name: 'www.xn--mnchen-3ya.de', target: 32 },
      { name: 'a.b.xn--mnchen-3ya.de', target: 32 },
      { name: 'xn--mnchen-3ya.de', target: -1 },
      { name: 'xn--fa-hia.de', target: 33 },
      { name: 'fass.de', target: -1 }, // non-transitional UTS #46: ß is kept, not mapped to ss
      { name: 'xn--4ca0bs.example', target: 34 },
      { name: new TextEncoder().encode('bücher.example'), target: -1 }, // raw UTF-8 is not a host name
    ],
  },
  {
    title: 'wildcards at several depths: the longest matching suffix wins',
    routes: [
      { pattern: '*.a.example', target: 41 },
      { pattern: '*.b.a.example', target: 42 },
      { pattern: '*.d.c.b.a.example', target: 44 },
    ],
    lookups: [
      { name: 'x.a.example', target: 41 },
      { name: 'b.a.example', target: 41 },
      { name: 'x.b.a.example', target: 42 },
      { name: 'c.b.a.example', target: 42 },
      { name: 'x.c.b.a.example', target: 42 },
      { name: 'd.c.b.a.example', target: 42 },
      { name: 'x.d.c.b.a.example', target: 44 },
      { name: 'y.x.d.c.b.a.example', target: 44 },
      { name: 'x.y.z.w.v.u.t.d.c.b.a.example', target: 44 },
      { name: 'x.e.c.b.a.example', target: 42 },
      { name: 'a.example', target: -1 },
      { name: 'example', target: -1 },
      { name: 'x.example', target: -1 },
    ],
  },
  {
    title: 'exact beats wildcard, whatever the order',
    routes: [
      { pattern: '*.example.com', target: 51 },
      { pattern: 'www.example.com', target: 52 },
      { pattern: '*.www.example.com', target: 53 },
      { pattern: 'deep.x.www.example.com', target: 54 },
    ],
    lookups: [
      { name: 'www.example.com', target: 52 },
      { name: 'x.www.example.com', target: 53 },
      { name: 'deep.x.www.example.com', target: 54 },
      { name: 'deeper.x.www.example.com', target: 53 },
      { name: 'a.deep.x.www.example.com', target: 53 },
      { name: 'w.example.com', target: 51 },
      { name: 'example.com', target: -1 },
    ],
  },
  {
    title: 'an exact name and a wildcard on the same suffix',
    routes: [
      { pattern: '*.example.com', target: 61 },
      { pattern: 'example.com', target: 62 },
    ],
    lookups: [
      { name: 'example.com', target: 62 },
      { name: 'a.example.com', target: 61 },
      { name: 'a.b.example.com', target: 61 },
    ],
  },
  {
    title: 'underscore and hyphen are name characters',
    routes: [
      { pattern: '_acme-challenge.example.com', target: 71 },
      { pattern: '*._tcp.example.com', target: 72 },
      { pattern: 'x-y.example.com', target: 73 },
      { pattern: '-.example.com', target: 74 },
    ],
    lookups: [
      { name: '_acme-challenge.example.com', target: 71 },
      { name: '_ACME-CHALLENGE.EXAMPLE.COM', target: 71 },
      { name: 'sip._tcp.example.com', target: 72 },
      { name: '_sip._tcp.example.com', target: 72 },
      { name: 'x-y.example.com', target: 73 },
      { name: 'x_y.example.com', target: -1 },
      { name: '-.example.com', target: 74 },
      { name: '_tcp.example.com', target: -1 },
    ],
  },
  {
    title: 'a wildcard over a TLD',
    routes: [
      { pattern: '*.com', target: 81 },
      { pattern: '*.example.com', target: 82 },
    ],
    lookups: [
      { name: 'a.com', target: 81 },
      { name: 'example.com', target: 81 },
      { name: 'x.example.com', target: 82 },
      { name: 'com', target: -1 },
      { name: 'a.org', target: -1 },
    ],
  },
  {
    title: 'the same label at different depths',
    routes: [
      { pattern: 'com', target: 91 },
      { pattern: 'com.com', target: 92 },
      { pattern: '*.com.com', target: 93 },
      { pattern: 'ab.com', target: 94 },
      { pattern: 'abc.com', target: 95 },
      { pattern: 'a.com', target: 96 },
      { pattern: 'b.abc.com', target: 97 },
    ],
    lookups: [
      { name: 'com', target: 91 },
      { name: 'com.com', target: 92 },
      { name: 'com.com.com', target: 93 },
      { name: 'ab.com', target: 94 },
      { name: 'abc.com', target: 95 },
      { name: 'a.com', target: 96 },
      { name: 'abcd.com', target: -1 },
      { name: 'b.abc.com', target: 97 },
      { name: 'b.ab.com', target: -1 },
      { name: 'c.com', target: -1 },
    ],
  },
  {
    title: 'malformed names never match, even under a wildcard',
    routes: [
      { pattern: '*.example.com', target: 101 },
      { pattern: 'example.com', target: 102 },
    ],
    lookups: [
      { name: '', target: -1 },
      { name: '.', target: -1 },
      { name: '..', target: -1 },
      { name: '.example.com', target: -1 },
      { name: 'a..example.com', target: -1 },
      { name: '..example.com', target: -1 },
      { name: 'a.b..example.com', target: -1 },
      { name: 'a b.example.com', target: -1 },
      { name: 'a*.example.com', target: -1 },
      { name: '*.example.com', target: -1 },
      { name: 'a/.example.com', target: -1 },
      { name: 'a:443.example.com', target: -1 },
      { name: 'x\u00e9.example.com', target: -1 },
      { name: 'x.y\u0000.example.com', target: -1 },
      { name: 'example.com\u0000', target: -1 },
      { name: 'exa mple.com', target: -1 },
      { name: 'EXAMPLE.COM', target: 102 },
      { name: 'example.com.', target: 102 },
      { name: L63 + '.example.com', target: 101 },
      { name: L63 + 'a.example.com', target: -1 }, // 64-octet label
      { name: 'x.' + L63 + 'a.example.com', target: -1 },
      { name: L63 + 'a.x.example.com', target: -1 },
      // junk left of the deepest matching node: the part the wildcard covers is validated too
      { name: 'a b.x.example.com', target: -1 },
      { name: 'a*.x.example.com', target: -1 },
      { name: 'x\u00e9.y.example.com', target: -1 },
      { name: 'a..x.example.com', target: -1 },
      { name: '.x.example.com', target: -1 },
      { name: 'x..y.example.com', target: -1 },
      { name: 'x.', target: -1 },
      { name: 'a.b.c.x.example.com', target: 101 },
      { name: NAME_253, target: 101 },
      { name: NAME_253 + '.', target: 101 },
      { name: 'c' + NAME_253, target: -1 }, // 254 characters
      { name: 'c' + NAME_253 + '.', target: -1 },
    ],
  },
  {
    title: 'an empty table matches nothing',
    routes: [],
    lookups: [
      { name: 'example.com', target: -1 },
      { name: 'a', target: -1 },
    ],
  },
  {
    title: 'a thousand siblings and a wildcard over them (hashed child lookup)',
    routes: [
      ...Array.from({ length: 1000 }, (_, i) => ({ pattern: 'h' + String(i) + '.example.com', target: 1000 + i })),
      { pattern: '*.example.com', target: 5000 },
      { pattern: '*.h7.example.com', target: 5007 },
    ],
    lookups: [
      { name: 'h0.example.com', target: 1000 },
      { name: 'h999.example.com', target: 1999 },
      { name: 'H500.EXAMPLE.COM', target: 1500 },
      { name: 'h1000.example.com', target: 5000 },
      { name: 'x.h7.example.com', target: 5007 },
      { name: 'x.h8.example.com', target: 5000 },
      { name: 'h7.example.com', target: 1007 },
    ],
  },
]

/**
 * Register the suite for one matcher implementation. `skip` maps a case title to the reason it is
 * skipped for this implementation (none are today; the hook keeps skips named and explained).
 */
export function runRouteSuite (name: string, makeMatcher: MakeMatcher, skip: Record<string, string> = {}): void {
  describe('route conformance: ' + name, () => {
    for (const c of ROUTE_CASES) {
      const reason = skip[c.title]
      describe.skipIf(reason !== undefined)(c.title + (reason === undefined ? '' : ' (skipped: ' + reason + ')'), () => {
        it.each(c.lookups.map((l) => [label(l.name), l] as const))('%s', (_title, l) => {
          const match = makeMatcher(c.routes)
          const bytes = bytesOf(l.name)
          expect(match(bytes, 0, bytes.length)).toBe(l.target)
          const padded = new Uint8Array(GUARD_BEFORE.length + bytes.length + GUARD_AFTER.length)
          padded.set(GUARD_BEFORE, 0)
          padded.set(bytes, GUARD_BEFORE.length)
          padded.set(GUARD_AFTER, GUARD_BEFORE.length + bytes.length)
          expect(match(padded, GUARD_BEFORE.length, GUARD_BEFORE.length + bytes.length)).toBe(l.target)
        })
      })
    }
  })
}
