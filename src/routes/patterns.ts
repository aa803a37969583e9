/**
 * routes/patterns — a route's canonical pattern, rebuilt from the table itself, for the threads that do
 * not hold the pattern strings (workers: the access log's `route` field) and for the main thread's
 * bounded route-counter labels (leadingPatterns), which need no more than the table in force.
 *
 * Why: a compile's pattern strings (CompiledRoutes.patterns) are ~50 MB for 1M routes, and a structured
 * clone gives every worker its own copy; they are needed only when a connection is logged. The trie
 * already holds every label (lower-case A-label bytes, the canonical form) and `routeNode` says which
 * node a route names, so the pattern is the labels from that node up to the root, joined by dots, with
 * `*.` in front when the route is the node's wildcard. That costs 4 bytes a route in the shared table
 * instead of a string per route per thread.
 *
 * Contract: `patternOf(table, i)` equals the compile's `patterns[i]` for every route i of a verified
 * table (compile.ts or verifyTable), null for an index outside the table. It allocates the string (one
 * short string per label, ≤ 253 characters in all), so callers run it only for a connection that is
 * logged, never on the unlogged path. Pure: no node:* imports.
 */
import { INFO_LENGTH_MASK, N_HEADER_WORDS, N_INFO, N_PARENT, N_WILDCARD, ROOT } from './constants.ts'
import type { RouteTable } from './types.ts'

/** Canonical pattern of route `route` (as compiled: A-labels, lower-case, `*.` kept), or null if none. */
export function patternOf (table: RouteTable, route: number): string | null {
  if (!(Number.isInteger(route) && route >= 0 && route < table.size)) return null
  const nodes = table.nodes
  const bytes = table.nodeBytes
  let id = table.routeNode[route]!
  let out = nodes[id + N_WILDCARD] === route ? '*.' : ''
  // labels from the route's node up to the root are the name left to right
  for (let first = true; id !== ROOT; first = false) {
    const start = (id + N_HEADER_WORDS) * 4
    const label = String.fromCharCode.apply(null, bytes.subarray(start, start + (nodes[id + N_INFO]! & INFO_LENGTH_MASK)) as unknown as number[])
    out = first ? out + label : out + '.' + label
    id = nodes[id + N_PARENT]!
  }
  return out
}

/** Patterns of the first min(count, table.size) routes, in route order (e.g. bounded metric labels). */
export function leadingPatterns (table: RouteTable, count: number): string[] {
  const n = Math.min(count, table.size)
  const out = new Array<string>(n)
  for (let i = 0; i < n; i++) out[i] = patternOf(table, i)!
  return out
}
