/**
 * piscina task: read, validate and compile a config file into RouteTables (the route side of a RouteState), off the main thread.
 *
 * Why piscina here and nowhere else: this task is big (a 1 000 000-route table takes seconds to parse
 * and compile), so a pool round trip (130–430 µs measured) is noise next to it, and running it on the
 * main thread would stall accepting — in the `handoff` model the main thread accepts every connection.
 * The per-connection path never touches the pool: parsing a hello costs 0.3–0.5 µs inline.
 *
 * The tables' typed arrays are allocated on SharedArrayBuffers here (route-state.ts), so the
 * result crosses back to the main thread, and from there to every worker, without a copy.
 */
import { loadConfigFile } from '../config/index.ts'
import type { ProxyConfig } from '../config/types.ts'
import type { RouteTables } from '../relay/context.ts'
import { buildRouteState } from './route-state.ts'
import { isProxyError, type ProxyErrorJSON } from '../errors.ts'
import { threadId } from 'node:worker_threads'

import { compileFleet, type FleetInput, type FleetResult, type SkippedKey } from '../source/fleet.ts'
import { KeptFleet, type FleetDelta } from '../source/fleet-delta.ts'

/**
 * A config error comes back as data (ProxyError.toJSON), not as a rejection: an Error thrown in a pool
 * thread reaches this side as a plain Error, without its code, source or key.
 * A compiled config comes back with `routes` empty (withoutRoutes): the main thread reads the route
 * side from `state` (its count is `state.routes.size`), and the RouteEntry objects, one per route, were
 * the whole cost of the trip back (100 000 routes: 0.13–0.19 s of structured clone, half of it on the
 * main thread; bench/etcd/compile.ts).
 */
export type CompiledConfig =
  | {
    readonly ok: true
    readonly config: ProxyConfig
    readonly state: RouteTables
    readonly skipped?: readonly SkippedKey[]
    readonly shadowed?: readonly string[]
    /** an etcd compile: the token of the state this thread kept of it (a later delta names it) */
    readonly token?: string
    /** an etcd compile built from a delta without compileFleet (source/fleet-delta.ts) */
    readonly incremental?: boolean
  }
  | { readonly ok: false, readonly error: ProxyErrorJSON }
  /** a delta whose base this thread does not hold (a new thread, a failed compile since): send the whole input */
  | { readonly ok: false, readonly miss: true }

/**
 * A config file by name, or a file's value merged with etcd's entries (source/fleet.ts), or the change
 * to the etcd entries of the compile this thread kept (source/fleet-delta.ts).
 */
export type CompileInput = string | FleetInput | { readonly delta: FleetDelta }

/**
 * What this thread kept of its last etcd compile (fleet-delta.ts), null when none or when the last one
 * failed (a failure may have left it half-applied). A thread retired after RELOAD_POOL_IDLE_MS takes it
 * along: the next delta is a miss.
 */
let kept: KeptFleet | null = null
/** tokens: this thread's id (unique in the process) and a count, so no other thread's state matches */
let compiled = 0

function nextToken (): string {
  return `${threadId}.${++compiled}`
}

const MISS: CompiledConfig = Object.freeze({ ok: false, miss: true })

/** an etcd compile, full or from a delta, keeping its state for the next delta */
function compileEtcd (input: FleetInput | { readonly delta: FleetDelta }): CompiledConfig {
  const token = nextToken()
  let full: FleetInput
  if ('delta' in input) {
    const k = kept
    if (k === null || k.token !== input.delta.base) return MISS
    kept = null
    const result = k.apply(input.delta, token)
    if (result !== null) {
      kept = k
      return compiledFrom(result, token, true)
    }
    full = k.input()
  } else {
    kept = null
    full = input
  }
  const result = compileFleet(full)
  kept = KeptFleet.from(full, result, token)
  return compiledFrom(result, token, false)
}

function compiledFrom ({ config, skipped, shadowed }: FleetResult, token: string, incremental: boolean): CompiledConfig {
  return { ok: true, config: withoutRoutes(config), state: buildRouteState(config), skipped, shadowed, token, incremental }
}

const NO_ROUTES: ProxyConfig['routes'] = Object.freeze([])

/** `config` as it crosses back: everything but its routes (module header) */
function withoutRoutes (config: ProxyConfig): ProxyConfig {
  return Object.freeze({ ...config, routes: NO_ROUTES })
}

export default async function reloadTask (input: CompileInput): Promise<CompiledConfig> {
  try {
    if (typeof input !== 'string') return compileEtcd(input)
    const config = await loadConfigFile(input)
    return { ok: true, config: withoutRoutes(config), state: buildRouteState(config) }
  } catch (err) {
    if (isProxyError(err)) return { ok: false, error: err.toJSON() }
    throw err
  }
}
