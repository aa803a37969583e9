/**
 * routes/ — compiled domain→origin table. CONTRACT STUB: the routes/ owner replaces the bodies;
 * the exported names and signatures below are what config/, relay/ and pool/ code against.
 */
import type { CompiledRoutes, RouteSpec } from './types.ts'

export type { CompiledRoutes, RouteSpec } from './types.ts'

/** Route compile failures, as codes (routes/ never throws on bad input). */
export const RouteError = {
  InvalidPattern: 1,
  Duplicate: 2,
} as const
export type RouteError = typeof RouteError[keyof typeof RouteError]

export type CompileResult =
  | { ok: true, table: CompiledRoutes }
  | { ok: false, error: RouteError, index: number, pattern: string }

/**
 * Canonical form of a config pattern: Unicode → A-labels (IDNA), lower-case, one trailing dot removed,
 * `*.` kept as prefix for wildcards. null when it is not a valid host name / wildcard pattern.
 */
export function normalizePattern (_input: string): string | null { return null }

/** Compile patterns (any form normalizePattern accepts) into the immutable table. */
export function compileRoutes (_specs: readonly RouteSpec[]): CompileResult {
  return { ok: false, error: RouteError.InvalidPattern, index: 0, pattern: '' }
}

/**
 * Look up the name in buf[start, end) (ASCII, any case, optional single trailing dot).
 * Returns the route target, or -1. Allocation-free.
 */
export function matchServerName (_table: CompiledRoutes, _buf: Uint8Array, _start: number, _end: number): number {
  return -1
}
