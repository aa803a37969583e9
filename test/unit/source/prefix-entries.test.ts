/**
 * source/etcd PrefixEntries: a read's entries kept as two arrays, the Map built on the first edit, and the
 * columns a compile takes never changed by a later edit (the reload thread reads them after the watch
 * has moved on).
 */
import { describe, expect, it } from 'vitest'

import { PrefixEntries } from '../../../src/source/etcd.ts'

describe('PrefixEntries', () => {
  it('keeps a read in order and hands its arrays out as columns', () => {
    const e = new PrefixEntries()
    e.append('a.example.com', '10.0.0.1:443')
    e.append('b.example.com', 'web')
    expect(e.size).toBe(2)
    expect([...e]).toEqual([['a.example.com', '10.0.0.1:443'], ['b.example.com', 'web']])
    expect([...e.keys()]).toEqual(['a.example.com', 'b.example.com'])
    expect(e.columns()).toEqual({ names: ['a.example.com', 'b.example.com'], texts: ['10.0.0.1:443', 'web'] })
  })

  it('applies edits (put of a new or a known name, delete) without changing columns taken before', () => {
    const e = new PrefixEntries()
    e.append('a.example.com', '10.0.0.1:443')
    e.append('b.example.com', 'web')
    const before = e.columns()
    e.set('b.example.com', 'api')
    e.set('c.example.com', '10.0.0.3:443')
    expect(e.delete('a.example.com')).toBe(true)
    expect(e.delete('zzz.example.com')).toBe(false)
    const after = e.columns()
    e.set('d.example.com', '10.0.0.4:443')
    expect(before).toEqual({ names: ['a.example.com', 'b.example.com'], texts: ['10.0.0.1:443', 'web'] })
    expect(after).toEqual({ names: ['b.example.com', 'c.example.com'], texts: ['api', '10.0.0.3:443'] })
    expect(e.size).toBe(3)
    expect([...e.keys()]).toEqual(['b.example.com', 'c.example.com', 'd.example.com'])
  })

  it('takes a snapshot\'s pairs', () => {
    const e = PrefixEntries.from([['x.example.com', 'web'], ['y.example.com', '10.0.0.1:443']])
    e.append('z.example.com', 'api')
    expect([...e]).toEqual([['x.example.com', 'web'], ['y.example.com', '10.0.0.1:443'], ['z.example.com', 'api']])
  })
})
