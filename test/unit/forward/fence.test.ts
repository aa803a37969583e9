import { describe, expect, it } from 'vitest'
import { addressAllowed, buildFence, nameAllowed, selfLoop } from '../../../src/forward/fence.ts'

describe('forward fence: addresses', () => {
  const none = buildFence([], ['203.0.114.9'], [])!

  it.each([
    ['127.0.0.1', 'loopback'], ['127.255.0.3', 'loopback'], ['10.1.2.3', 'RFC 1918'], ['172.16.0.1', 'RFC 1918'],
    ['172.31.255.255', 'RFC 1918'], ['192.168.1.1', 'RFC 1918'], ['169.254.169.254', 'link-local (metadata)'],
    ['100.64.0.1', 'CGNAT'], ['0.0.0.0', 'unspecified'], ['255.255.255.255', 'broadcast'], ['224.0.0.1', 'multicast'],
    ['240.0.0.1', 'reserved'], ['198.18.0.1', 'benchmarking'], ['192.0.2.1', 'documentation'],
    ['::1', 'loopback'], ['::', 'unspecified'], ['fe80::1', 'link-local'], ['fc00::1', 'ULA'], ['fd12:3456::1', 'ULA'],
    ['ff02::1', 'multicast'], ['::ffff:127.0.0.1', 'mapped loopback'], ['::ffff:10.0.0.1', 'mapped private'],
    ['64:ff9b::a00:1', 'NAT64 to 10.0.0.1'], ['2002:a00:1::1', '6to4 of 10.0.0.1'], ['2001:0:a00:1::1', 'Teredo'],
    ['203.0.114.9', 'own interface'], ['localhost', 'not an address'], ['', 'empty'], ['1.2.3', 'short'],
    ['fe80::1%lo', 'zone id'],
  ])('refuses %s (%s)', (addr) => {
    expect(addressAllowed(none, addr)).toBe(false)
  })

  it.each(['93.184.216.34', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '172.32.0.1', '100.128.0.1'])('allows public %s', (addr) => {
    expect(addressAllowed(none, addr)).toBe(true)
  })

  it('lets the operator allow a forbidden range, and only that range', () => {
    const f = buildFence(['127.0.0.0/8', 'fd00::/8'], [], [])!
    expect(addressAllowed(f, '127.0.0.1')).toBe(true)
    expect(addressAllowed(f, 'fd00::5')).toBe(true)
    expect(addressAllowed(f, '10.0.0.1')).toBe(false)
    expect(addressAllowed(f, '::1')).toBe(false)
    expect(addressAllowed(f, '169.254.169.254')).toBe(false)
  })

  it('refuses its own listeners even when allowed (no loop): exact and wildcard', () => {
    const f = buildFence(['127.0.0.0/8'], ['203.0.114.9'], [{ host: '0.0.0.0', port: 443 }, { host: '127.0.0.1', port: 8443 }])!
    expect(selfLoop(f, '127.0.0.5', 443)).toBe(true)
    expect(selfLoop(f, '203.0.114.9', 443)).toBe(true)
    expect(selfLoop(f, '127.0.0.1', 8443)).toBe(true)
    expect(selfLoop(f, '127.0.0.2', 8443)).toBe(false)
    expect(selfLoop(f, '127.0.0.5', 444)).toBe(false)
    expect(selfLoop(f, '93.184.216.34', 443)).toBe(false)
  })
})

describe('forward fence: names', () => {
  const suffixes = ['.fwd.example', '.other.example']
  it.each([
    ['a.fwd.example', true], ['x.y.fwd.example', true], ['a.fwd.example.', true], ['a.other.example', true],
    ['fwd.example', false], ['evilfwd.example', false], ['a.fwd.example.evil.net', false], ['a.fwd.examples', false],
    ['a..fwd.example', false], ['a b.fwd.example', false], ['', false], ['.fwd.example', false],
    ['1.2.3.4', false], ['a.fwd.example..', false],
  ])('%s → %s', (name, ok) => {
    expect(nameAllowed(name, suffixes)).toBe(ok)
  })
})
