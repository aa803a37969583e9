/**
 * Run settings shared by the fast-check property files: a fixed seed in CI, `FUZZ=1` for 100× more
 * cases under a time budget (undici test:fuzzing's interruptAfterTimeLimit).
 */
import type fc from 'fast-check'

export const FUZZ = process.env.FUZZ !== undefined && process.env.FUZZ !== ''
/** FUZZ mode: a fresh seed per run unless FUZZ_SEED is given (fast-check prints it on failure) */
export const SEED = FUZZ ? Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) : 42
/** FUZZ mode: at most this long per property */
export const FUZZ_BUDGET_MS = 60_000
export const runs = (n: number): fc.Parameters<unknown> => FUZZ
  ? { seed: SEED, numRuns: n * 100, interruptAfterTimeLimit: FUZZ_BUDGET_MS }
  : { seed: SEED, numRuns: n }
/** per-test timeout: generous, since CI machines are shared */
export const TIMEOUT_MS = FUZZ ? FUZZ_BUDGET_MS + 30_000 : 30_000
