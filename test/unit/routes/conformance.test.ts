/**
 * Runs the route conformance suite (conformance.ts) against every matcher: the naive reference, the
 * compiled trie, and the compiled trie after structuredClone (what a worker thread receives).
 */
import { compileRoutes, matchRouteIndex, matchServerName, verifyTable } from '../../../src/routes/index.ts'
import type { CompiledRoutes, RouteSpec } from '../../../src/routes/index.ts'
import { referenceCompile, referenceMatchBytes } from '../../../src/routes/reference.ts'
import { runRouteSuite } from './conformance.ts'
import type { Matcher } from './conformance.ts'

function compileOrThrow (routes: readonly RouteSpec[]): CompiledRoutes {
  const r = compileRoutes(routes)
  if (!r.ok) throw new Error('route table did not compile: ' + JSON.stringify(r))
  return r.table
}

runRouteSuite('reference (naive linear)', (routes): Matcher => {
  const r = referenceCompile(routes)
  if (!r.ok) throw new Error('route table rejected by the reference: ' + JSON.stringify(r))
  return (buf, start, end) => referenceMatchBytes(r.patterns, r.targets, buf, start, end)
})

runRouteSuite('compiled trie (matchServerName)', (routes): Matcher => {
  const table = compileOrThrow(routes)
  return (buf, start, end) => matchServerName(table, buf, start, end)
})

runRouteSuite('compiled trie (matchRouteIndex → targets)', (routes): Matcher => {
  const table = compileOrThrow(routes)
  return (buf, start, end) => {
    const i = matchRouteIndex(table, buf, start, end)
    return i < 0 ? -1 : table.targets[i] ?? -2
  }
})

runRouteSuite('compiled trie after structuredClone (worker copy)', (routes): Matcher => {
  const table = structuredClone(compileOrThrow(routes))
  if (!verifyTable(table)) throw new Error('cloned table failed verifyTable')
  return (buf, start, end) => matchServerName(table, buf, start, end)
})
