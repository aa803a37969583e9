/**
 * A small well-formedness check for the SVG documents `hellogate bench` writes (no XML parser
 * dependency): XML declaration, balanced tags, one root, no raw < or bare & in text.
 */
import { expect } from 'vitest'

/** Tag balance of an XML document (no DTD, no CDATA: what renderChart writes); returns the root's name. */
export function checkXml (doc: string): string {
  expect(doc.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n')).toBe(true)
  const stack: string[] = []
  let root = ''
  const body = doc.slice(doc.indexOf('?>') + 2)
  // text between tags must not hold a raw < or an unescaped &
  for (const text of body.split(/<[^>]*>/)) {
    expect(text).not.toMatch(/[<>]/)
    expect(text).not.toMatch(/&(?!(amp|lt|gt|quot|apos);)/)
  }
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g)) {
    const [, close, name, , selfClose] = m
    if (close === '/') {
      expect(stack.pop()).toBe(name)
    } else {
      if (stack.length === 0) { expect(root).toBe(''); root = name! }
      if (selfClose !== '/') stack.push(name!)
    }
  }
  expect(stack).toEqual([])
  // every < opened a tag the pattern above matched
  expect((body.match(/</g) ?? []).length).toBe([...body.matchAll(/<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g)].length)
  return root
}
