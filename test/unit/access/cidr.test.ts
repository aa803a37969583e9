/**
 * access/cidr: the allow/deny rule, overlapping and adjacent prefixes, IPv4-mapped addresses, refused
 * entries with their codes, and the compiled ranges against a naive linear matcher written here (BigInt
 * prefix compare per entry, sharing nothing with the range code) on random lists and addresses.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  AccessList, AccessVerdict, checkAccess, checkAccessText, CidrError, compileAccessList, type CidrListError,
} from '../../../src/access/index.ts'

const { Allow, Deny } = AccessVerdict

function compile (allow: string[], deny: string[] = []): AccessList {
  const r = compileAccessList(allow, deny)
  if (!(r instanceof AccessList)) throw new Error('unexpected error ' + JSON.stringify(r))
  return r
}
const at = (l: AccessList, ip: string): string => checkAccessText(l, ip) === Allow ? 'allow' : 'deny'

describe('the rule: deny wins, a non-empty allow list admits only its members', () => {
  it('empty lists allow everyone', () => {
    const l = compile([])
    expect([at(l, '192.0.2.1'), at(l, '2001:db8::1')]).toEqual(['allow', 'allow'])
  })

  it('deny only: everyone but the denied', () => {
    const l = compile([], ['192.0.2.0/24', '2001:db8::/32'])
    expect([at(l, '192.0.2.255'), at(l, '192.0.3.0'), at(l, '2001:db8:ffff::1'), at(l, '2001:db9::')]).toEqual(['deny', 'allow', 'deny', 'allow'])
  })

  it('allow only: just the members (of either family)', () => {
    const l = compile(['10.0.0.0/8'])
    expect([at(l, '10.255.255.255'), at(l, '11.0.0.0'), at(l, '9.255.255.255'), at(l, '2001:db8::1')]).toEqual(['allow', 'deny', 'deny', 'deny'])
  })

  it('deny inside allow wins; allow inside deny does not', () => {
    const l = compile(['10.0.0.0/8', '192.0.2.7'], ['10.1.0.0/16', '192.0.2.0/24'])
    expect([at(l, '10.0.0.1'), at(l, '10.1.2.3'), at(l, '192.0.2.7')]).toEqual(['allow', 'deny', 'deny'])
  })

  it('no address known (family 0) matches nothing: allowed only when there is no allow list', () => {
    expect(checkAccess(compile([]), new Uint8Array(16), 0, 0)).toBe(Allow)
    expect(checkAccess(compile(['0.0.0.0/0']), new Uint8Array(16), 0, 0)).toBe(Deny)
    expect(checkAccessText(compile(['0.0.0.0/0']), 'not an address')).toBe(Deny)
  })
})

describe('prefixes', () => {
  it('overlapping, nested, duplicate and adjacent prefixes merge into disjoint ranges', () => {
    const l = compile(['10.0.0.0/8', '10.1.0.0/16', '10.0.0.0/8', '11.0.0.0/8', '12.0.0.0/9', '12.128.0.0/9', '2001:db8::/33', '2001:db8:8000::/33'])
    expect(l.rangeCount()).toBe(2) // 10/8, 11/8 and 12/9 + 12.128/9 chain into 10.0.0.0–12.255.255.255; the two /33s into one
    expect([at(l, '11.255.255.255'), at(l, '12.200.0.1'), at(l, '13.0.0.0'), at(l, '2001:db8:ffff:ffff::1'), at(l, '2001:db9::')]).toEqual(['allow', 'allow', 'deny', 'allow', 'deny'])
  })

  it('/0 and host entries at the edges of both spaces', () => {
    const all = compile(['0.0.0.0/0', '::/0'])
    expect([at(all, '0.0.0.0'), at(all, '255.255.255.255'), at(all, '::'), at(all, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')]).toEqual(['allow', 'allow', 'allow', 'allow'])
    const hosts = compile(['255.255.255.255', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '0.0.0.0/32', '::/128'])
    expect([at(hosts, '255.255.255.255'), at(hosts, '255.255.255.254'), at(hosts, '0.0.0.0'), at(hosts, '0.0.0.1'), at(hosts, '::'), at(hosts, '::1')]).toEqual(['allow', 'deny', 'allow', 'deny', 'allow', 'deny'])
  })

  it('IPv4-mapped IPv6: clients and CIDRs both count as IPv4; ::/0 does not cover IPv4 clients', () => {
    const l = compile(['::ffff:10.0.0.0/104'], ['::/0'])
    expect([at(l, '10.9.9.9'), at(l, '::ffff:10.9.9.9'), at(l, '11.0.0.1'), at(l, '2001:db8::1')]).toEqual(['allow', 'allow', 'deny', 'deny'])
    const bytes = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3])
    expect(checkAccess(l, bytes, 0, 6)).toBe(Allow)
  })

  it('looks the address up at an offset in a larger buffer', () => {
    const buf = new Uint8Array([9, 9, 192, 0, 2, 5, 9])
    expect(checkAccess(compile(['192.0.2.0/29']), buf, 2, 4)).toBe(Allow)
    expect(checkAccess(compile(['192.0.2.0/30']), buf, 2, 4)).toBe(Deny)
  })
})

describe('invalid entries: a coded error naming the list, index and entry', () => {
  it.each([
    ['10.0.0.0/33', CidrError.Prefix],
    ['2001:db8::/129', CidrError.Prefix],
    ['10.0.0.0/', CidrError.Prefix],
    ['10.0.0.0/08', CidrError.Prefix],
    ['10.0.0.0/-1', CidrError.Prefix],
    ['10.0.0.0/8/8', CidrError.Prefix],
    ['::ffff:10.0.0.0/95', CidrError.Prefix],
    ['10.0.0.1/8', CidrError.HostBits],
    ['2001:db8::1/32', CidrError.HostBits],
    ['10.0.0', CidrError.Syntax],
    ['010.0.0.0/8', CidrError.Syntax],
    ['fe80::1%eth0', CidrError.Syntax],
    ['example.com', CidrError.Syntax],
    ['', CidrError.Syntax],
    [' 10.0.0.0/8', CidrError.Syntax],
  ])('%s → code %i', (entry, code) => {
    const r = compileAccessList(['192.0.2.0/24'], ['198.51.100.0/24', entry]) as CidrListError
    expect(r).not.toBeInstanceOf(AccessList)
    expect([r.list, r.index, r.entry, r.code]).toEqual(['deny', 1, entry, code])
    expect(r.reason.length).toBeGreaterThan(10)
  })

  it('reports the allow list too', () => {
    expect(compileAccessList(['bad'], [])).toMatchObject({ list: 'allow', index: 0, entry: 'bad', code: CidrError.Syntax })
  })
})

/** the oracle: an entry matches when the first `prefix` bits agree (IPv4 as IPv4-mapped, like the module) */
function naiveMatch (entries: { v6: boolean, value: bigint, prefix: number }[], v6: boolean, x: bigint): boolean {
  const bits = v6 ? 128 : 32
  return entries.some((e) => e.v6 === v6 && (x >> BigInt(bits - e.prefix)) === (e.value >> BigInt(bits - e.prefix)))
}
function naiveVerdict (allow: ReturnType<typeof toEntry>[], deny: ReturnType<typeof toEntry>[], v6: boolean, x: bigint): AccessVerdict {
  if (naiveMatch(deny, v6, x)) return Deny
  if (allow.length === 0) return Allow
  return naiveMatch(allow, v6, x) ? Allow : Deny
}
function toEntry (e: { v6: boolean, value: bigint, prefix: number }): { v6: boolean, value: bigint, prefix: number, text: string } {
  const bits = e.v6 ? 128 : 32
  const net = (e.value >> BigInt(bits - e.prefix)) << BigInt(bits - e.prefix)
  return { ...e, value: net, text: text(e.v6, net) + '/' + String(e.prefix) }
}
function text (v6: boolean, x: bigint): string {
  if (!v6) return [24n, 16n, 8n, 0n].map((s) => String((x >> s) & 0xffn)).join('.')
  return Array.from({ length: 8 }, (_, g) => ((x >> BigInt(112 - 16 * g)) & 0xffffn).toString(16)).join(':')
}

describe('against a naive linear matcher', () => {
  // values drawn near a few bases so that random prefixes overlap and nest often
  const bases4 = [0x0a000000n, 0xc0000200n, 0xffffff00n]
  const bases6 = [0x20010db8n << 96n, 0xfe80n << 112n]
  const value = (v6: boolean): fc.Arbitrary<bigint> => v6
    ? fc.tuple(fc.constantFrom(...bases6), fc.bigInt({ min: 0n, max: (1n << 40n) - 1n })).map(([b, o]) => b + (o << 56n) + o)
    : fc.tuple(fc.constantFrom(...bases4), fc.bigInt({ min: 0n, max: 0xffffn })).map(([b, o]) => (b + o) & 0xffffffffn)
  const entry = fc.boolean().chain((v6) => fc.record({ v6: fc.constant(v6), value: value(v6), prefix: fc.integer({ min: v6 ? 0 : 0, max: v6 ? 128 : 32 }) })).map(toEntry)

  it('agrees on every address drawn, for random allow/deny lists', () => {
    fc.assert(fc.property(fc.array(entry, { maxLength: 20 }), fc.array(entry, { maxLength: 20 }), fc.array(fc.boolean().chain((v6) => fc.tuple(fc.constant(v6), value(v6))), { minLength: 1, maxLength: 30 }), (allow, deny, probes) => {
      const l = compile(allow.map((e) => e.text), deny.map((e) => e.text))
      for (const [v6, x] of probes) {
        expect(checkAccessText(l, text(v6, x)), text(v6, x)).toBe(naiveVerdict(allow, deny, v6, x))
      }
    }), { seed: 12, numRuns: 300 })
  })
})

describe('large lists (the 16-bit bucket index)', () => {
  /** deterministic PRNG (mulberry32) */
  function rng (seed: number): () => number {
    let a = seed
    return () => {
      a = (a + 0x6d2b79f5) | 0
      let t = Math.imul(a ^ (a >>> 15), 1 | a)
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    }
  }
  const big = (r: () => number, bits: number): bigint => {
    let x = 0n
    for (let k = 0; k < bits; k += 16) x = (x << 16n) | BigInt(Math.floor(r() * 65536))
    return x
  }

  it('agrees with the naive matcher on 3000 prefixes (some spanning many buckets) and 6000 probes', () => {
    const r = rng(99)
    const mk = (v6: boolean): ReturnType<typeof toEntry> => {
      const bits = v6 ? 128 : 32
      // short prefixes (/4–/15 for IPv4, /4–/15 for IPv6) span many 16-bit buckets; long ones sit inside one
      const prefix = r() < 0.1 ? 4 + Math.floor(r() * 12) : (v6 ? 16 + Math.floor(r() * 113) : 16 + Math.floor(r() * 17))
      return toEntry({ v6, value: big(r, bits) & ((1n << BigInt(bits)) - 1n), prefix })
    }
    const allow = Array.from({ length: 1500 }, (_, i) => mk(i % 2 === 0))
    const deny = Array.from({ length: 1500 }, (_, i) => mk(i % 2 === 1))
    const l = compile(allow.map((e) => e.text), deny.map((e) => e.text))
    expect(l.allow.v4Index.length).toBe(65537) // the index is in use
    expect(l.deny.v6Index.length).toBe(65537)
    for (let q = 0; q < 6000; q++) {
      const v6 = q % 2 === 0
      // half the probes inside a listed prefix (its network address with random host bits), half anywhere
      const e = (q % 4 < 2 ? allow : deny)[Math.floor(r() * 1500)]!
      const bits = v6 ? 128 : 32
      const x = e.v6 === v6 && r() < 0.5
        ? e.value | (big(r, bits) & ((1n << BigInt(bits - e.prefix)) - 1n))
        : big(r, bits) & ((1n << BigInt(bits)) - 1n)
      expect(checkAccessText(l, text(v6, x)), text(v6, x)).toBe(naiveVerdict(allow, deny, v6, x))
    }
  })

  it('a range that starts buckets before the client\'s bucket still matches', () => {
    // every other /16, so that they do not merge into one range
    const entries = ['10.0.0.0/8', ...Array.from({ length: 100 }, (_, i) => `192.${String(2 * i)}.0.0/16`)]
    const l = compile(entries)
    expect(l.allow.v4Index.length).toBe(65537)
    expect([at(l, '10.200.1.1'), at(l, '10.0.0.0'), at(l, '10.255.255.255'), at(l, '11.0.0.0'), at(l, '192.98.3.3'), at(l, '192.99.0.0')]).toEqual(['allow', 'allow', 'allow', 'deny', 'allow', 'deny'])
  })
})
