/**
 * Forward mode's address fence against an independent oracle, Node's net.BlockList (a separate
 * implementation of CIDR membership): for any address and any operator allow list, hellogate dials it
 * only if it is in no forbidden range and no own address, or inside an allow CIDR. Random addresses are
 * drawn both uniformly and from inside the forbidden ranges, where mistakes would matter.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import net from 'node:net'
import { addressAllowed, buildFence, FORBIDDEN_CIDRS } from '../../src/forward/fence.ts'
import { runs, TIMEOUT_MS } from '../helpers/prop-runs.ts'

function blockList (cidrs: readonly string[]): net.BlockList {
  const list = new net.BlockList()
  for (const c of cidrs) {
    const [addr, len] = c.includes('/') ? c.split('/') as [string, string] : [c, null]
    const type = net.isIPv6(addr) ? 'ipv6' : 'ipv4'
    if (len === null) list.addAddress(addr, type)
    else list.addSubnet(addr, Number(len), type)
  }
  return list
}

const FORBIDDEN = blockList(FORBIDDEN_CIDRS)
const OWN = ['198.100.7.7', '2a00:1450::7']
const OWN_LIST = blockList(OWN)

function v4 (n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
}

function v6 (words: number[]): string {
  return words.map((w) => w.toString(16)).join(':')
}

/** an address inside a random forbidden range (its base with random low bits) */
const insideForbidden = fc.constantFrom(...FORBIDDEN_CIDRS.filter((c) => !c.includes(':'))).chain((c) => {
  const [base, len] = c.split('/') as [string, string]
  const b = base.split('.').map(Number)
  const start = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0
  const size = 2 ** (32 - Number(len))
  return fc.integer({ min: 0, max: size - 1 }).map((k) => v4(start + k))
})
const anyV4 = fc.integer({ min: 0, max: 2 ** 32 - 1 }).map(v4)
const anyV6 = fc.oneof(
  fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }).map(v6),
  // the interesting prefixes: loopback, ULA, link-local, multicast, NAT64, 6to4, mapped
  fc.tuple(fc.constantFrom(0xfc00, 0xfd12, 0xfe80, 0xff02, 0x64, 0x2002, 0x2001, 0x0), fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 7, maxLength: 7 }))
    .map(([w0, rest]) => v6([w0, ...rest])),
)
const address = fc.oneof(insideForbidden, anyV4, anyV6, fc.constantFrom('127.0.0.1', '::1', '169.254.169.254', ...OWN))
const allowCidr = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 8, max: 32 })).map(([n, len]) => {
    const masked = len === 32 ? n : (n & ~((2 ** (32 - len)) - 1)) >>> 0
    return v4(masked) + '/' + String(len)
  }),
  fc.constantFrom('127.0.0.0/8', '10.0.0.0/8', '::1/128', 'fc00::/7', '169.254.169.254/32'),
)

describe('forward fence vs net.BlockList', () => {
  it('dials an address only when it is neither forbidden nor own, or inside an allow CIDR', () => {
    fc.assert(fc.property(address, fc.array(allowCidr, { maxLength: 4 }), (addr, allow) => {
      const fence = buildFence(allow, OWN, [])!
      const type = net.isIPv6(addr) ? 'ipv6' : 'ipv4'
      // IPv4-mapped IPv6 (::ffff:a.b.c.d) is the IPv4 host: judge it as such, like the fence does
      const mapped = type === 'ipv6' && /^(0:){5}ffff:/i.test(addr)
      const refused = FORBIDDEN.check(addr, type) || OWN_LIST.check(addr, type) || mapped
      const expected = !refused || blockList(allow).check(addr, type)
      if (!mapped) expect(addressAllowed(fence, addr)).toBe(expected)
    }), runs(3000))
  }, TIMEOUT_MS)

  it('never dials an address inside a forbidden range without an allow list', () => {
    const fence = buildFence([], [], [])!
    fc.assert(fc.property(insideForbidden, (addr) => { expect(addressAllowed(fence, addr)).toBe(false) }), runs(3000))
  }, TIMEOUT_MS)
})
