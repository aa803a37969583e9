/**
 * External command-line tools some tests drive (openssl, curl): find out once whether they run here, so a
 * test that needs one is skipped with a printed reason instead of failing on a spawn error.
 *
 * Contract: `haveTool(cmd, probeArgs, needs)` runs `cmd probeArgs…` once per process; true when it exits 0.
 * When it does not, it prints `skipped: <cmd> not found (<needs>)` to stderr and returns false; use the
 * result with vitest's `it.skipIf` / `describe.skipIf`. CI (.ci/run) checks the tools up front, so there the
 * tests always run.
 * Limits: each probe is bounded by PROBE_TIMEOUT_MS.
 */
import { execFileSync } from 'node:child_process'

/** ms. `openssl version` / `curl --version` answer at once; this only bounds a hung binary. */
const PROBE_TIMEOUT_MS = 10_000

const found = new Map<string, boolean>()

export function haveTool (cmd: string, probeArgs: readonly string[], needs: string): boolean {
  let ok = found.get(cmd)
  if (ok === undefined) {
    try {
      execFileSync(cmd, probeArgs, { stdio: 'ignore', timeout: PROBE_TIMEOUT_MS })
      ok = true
    } catch {
      ok = false
    }
    found.set(cmd, ok)
  }
  if (!ok) console.error('skipped: ' + cmd + ' not found (' + needs + ')')
  return ok
}
