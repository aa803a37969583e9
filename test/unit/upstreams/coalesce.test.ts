/**
 * The coalescing warning as a pure function: RFC 6125 wildcards (one label), hellogate's route
 * precedence deciding where a covered name really goes, and the default route.
 */
import { describe, expect, it } from 'vitest'
import { coalescingWarnings, dnsNamesFromAltNames, type RoutedName } from '../../../src/upstreams/index.ts'

function names (routes: RoutedName[], certNames: string[], def: string | null = null): string[] {
  return coalescingWarnings(routes, [{ pool: 'X', server: '10.0.0.1:443', names: certNames }], def).map((w) => w.name + '→' + w.routedPool)
}

describe('coalescingWarnings', () => {
  const routes: RoutedName[] = [
    { name: 'shop.example', pool: 'X' },
    { name: '*.shop.example', pool: 'X' },
    { name: 'api.shop.example', pool: 'Y' },
    { name: 'a.b.shop.example', pool: 'Z' },
    { name: 'admin.example', pool: 'Y' },
    { name: '*.static.example', pool: 'Y' },
  ]

  it('says which certificate covers which name routed elsewhere, in the issue\'s words', () => {
    const w = coalescingWarnings(routes, [{ pool: 'X', server: '10.0.0.1:443', names: ['*.shop.example'] }])
    expect(w).toEqual([{
      certPool: 'X',
      server: '10.0.0.1:443',
      certName: '*.shop.example',
      name: 'api.shop.example',
      routedPool: 'Y',
      message: 'certificate served for pool X (10.0.0.1:443, name *.shop.example) also covers name api.shop.example routed to pool Y',
    }])
  })

  it('a wildcard covers exactly one label (RFC 6125 §6.4.3)', () => {
    // a.b.shop.example (two labels) and shop.example itself are not covered
    expect(names(routes, ['*.shop.example'])).toEqual(['api.shop.example→Y'])
    // directly over one label, like `*.com`: browsers refuse it, so it covers nothing
    expect(names(routes, ['*.example'])).toEqual([])
    expect(names(routes, ['*.b.shop.example'])).toEqual(['a.b.shop.example→Z'])
  })

  it('exact certificate names are routed as hellogate routes them: exact, then the longest wildcard', () => {
    expect(names(routes, ['api.shop.example', 'www.shop.example', 'x.y.shop.example'])).toEqual(['api.shop.example→Y'])
    expect(names(routes, ['img.static.example'])).toEqual(['img.static.example→Y'])
    expect(names(routes, ['nothing.example'])).toEqual([])
    expect(names(routes, ['nothing.example'], 'D')).toEqual(['nothing.example→D'])
  })

  it('a wildcard over a wildcard route reports the route pattern', () => {
    expect(names(routes, ['*.static.example'])).toEqual(['*.static.example→Y'])
    expect(names([{ name: '*.example', pool: 'Y' }], ['*.a.example'])).toEqual(['*.example→Y'])
    expect(names([{ name: '*.a.example', pool: 'Y' }], ['*.example'])).toEqual([])
    expect(names([], ['*.a.example'], 'D')).toEqual(['*.a.example→D'])
  })

  it('ignores wildcards browsers refuse, and compares in lower case without a trailing dot', () => {
    expect(names(routes, ['*.com', '*', 'f*.shop.example', 'api.*.example', '*.*.example'])).toEqual([])
    expect(names([{ name: 'API.Shop.Example.', pool: 'Y' }], ['*.SHOP.example.'])).toEqual(['api.shop.example→Y'])
  })

  it('reports each (pool, name, routed pool) once', () => {
    expect(names(routes, ['*.shop.example', 'api.shop.example', 'API.shop.example'])).toEqual(['api.shop.example→Y'])
  })
})

describe('dnsNamesFromAltNames', () => {
  it('reads DNS entries, quoted ones included, and skips the rest', () => {
    expect(dnsNamesFromAltNames('DNS:a.example, IP Address:127.0.0.1, DNS:*.B.example, DNS:"we, ird.example", URI:http://x')).toEqual(['a.example', '*.b.example', 'we, ird.example'])
    expect(dnsNamesFromAltNames(undefined)).toEqual([])
  })
})
