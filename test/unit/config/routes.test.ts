/**
 * config/routes: a config's routes are compiled once per load (parseConfig builds the table, the first
 * compileConfigRoutes call takes it), and compile faults become config errors naming the route.
 */
import { describe, expect, it } from 'vitest'

import { compileConfigRoutes, parseConfig, routeErrorName } from '../../../src/config/index.ts'
import type { ProxyConfig } from '../../../src/config/index.ts'
import { takeRememberedTable } from '../../../src/config/routes.ts'
import { ErrorCode, type ProxyError } from '../../../src/errors.ts'
import { configErrorOf } from '../../helpers/config.ts'
import { matchRouteIndex, RouteError } from '../../../src/routes/index.ts'

const ROUTES = { 'a.example.com': '10.0.0.1:443', '*.Example.net': '10.0.0.2:443' }

function errorOf (routes: Record<string, string>): ProxyError {
  return configErrorOf({ routes }, 'r.yaml')
}

describe('compileConfigRoutes', () => {
  it('hands over the table parseConfig compiled, once; later calls compile again', () => {
    const config = parseConfig({ routes: ROUTES }, 'r.yaml')
    const remembered = takeRememberedTable(config)
    expect(remembered).toBeDefined()
    expect(takeRememberedTable(config)).toBeUndefined() // handed over once

    const again = parseConfig({ routes: ROUTES }, 'r.yaml')
    const first = compileConfigRoutes(again) // the remembered table
    expect(takeRememberedTable(again)).toBeUndefined()
    const second = compileConfigRoutes(again) // compiled now
    expect(second).not.toBe(first)
    expect(second).toEqual(first)
    expect(first).toEqual(remembered)
    expect(first.patterns).toEqual(config.routes.map((r) => r.pattern))
    expect(matchRouteIndex(first, Buffer.from('x.EXAMPLE.net'), 0, 13)).toBe(1)
  })

  it('compiles a config that never went through parseConfig (e.g. one that came by postMessage)', () => {
    const config = structuredClone(parseConfig({ routes: ROUTES }, 'r.yaml')) as ProxyConfig
    expect(compileConfigRoutes(config).size).toBe(2)
  })

  it('reports a config that does not compile with the file and the route', () => {
    const good = parseConfig({ routes: ROUTES }, 'r.yaml')
    const bad = { ...good, routes: [...good.routes, { ...good.routes[0]!, source: 'A.example.com' }] }
    expect(() => compileConfigRoutes(bad)).toThrow('r.yaml: routes."A.example.com": same pattern as routes."a.example.com"')
  })
})

describe('compile faults as config errors', () => {
  it.each([
    ['a.123', 'expected a host name (a.example.com) or a wildcard (*.example.com) as the route pattern (the last label is a number'],
    ['a b.com', '(only letters, digits, -, _ and . may appear in a host name)'],
    ['a.*.com', '(`*` only as a whole first label: *.example.com)'],
    ['a..com', '(an empty label'],
    ['x'.repeat(64) + '.com', '(a label longer than 63 characters)'],
  ])('%j', (pattern, fragment) => {
    const err = errorOf({ [pattern]: '10.0.0.1:443' })
    expect(err.code).toBe(ErrorCode.CONFIG_INVALID)
    expect(err.key).toBe(`routes.${JSON.stringify(pattern)}`)
    expect(err.message).toContain(fragment)
  })

  it('names every RouteError', () => {
    expect(Object.values(RouteError).map(routeErrorName)).toEqual(Object.keys(RouteError))
  })
})
