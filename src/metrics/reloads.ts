/**
 * Main thread bookkeeping of route-table reloads: how many succeeded and failed, which table generation
 * is in force, and the last result (for /status and `hellogate status`). Whoever runs a reload (SIGHUP
 * or POST /reload) records its outcome here exactly once.
 *
 * Generation 1 is the table loaded at startup; each successful reload adds 1. A failed reload leaves
 * the generation (and the table in force) unchanged.
 */

export interface ReloadRecord {
  readonly ok: boolean
  /** Date.now() when it finished */
  readonly at: number
  readonly ms: number
  /** ok: routes in the new table */
  readonly routes: number | null
  /** ok: keys that changed but need a restart */
  readonly needsRestart: readonly string[]
  /** failed: error code and message */
  readonly code: string | null
  readonly message: string | null
}

export interface ReloadSnapshot {
  readonly ok: number
  readonly error: number
  readonly generation: number
  /** routes in the table in force */
  readonly routes: number
  /** Date.now() when the table in force was installed */
  readonly loadedAt: number
  readonly last: ReloadRecord | null
}

export class ReloadLedger {
  private okCount = 0
  private errorCount = 0
  private generation = 1
  private routes: number
  private loadedAt: number
  private last: ReloadRecord | null = null

  constructor (routes: number, now = Date.now()) {
    this.routes = routes
    this.loadedAt = now
  }

  recordOk (routes: number, ms: number, needsRestart: readonly string[], now = Date.now()): number {
    this.okCount++
    this.generation++
    this.routes = routes
    this.loadedAt = now
    this.last = { ok: true, at: now, ms, routes, needsRestart: [...needsRestart], code: null, message: null }
    return this.generation
  }

  recordError (code: string, message: string, ms: number, now = Date.now()): void {
    this.errorCount++
    this.last = { ok: false, at: now, ms, routes: null, needsRestart: [], code, message }
  }

  snapshot (): ReloadSnapshot {
    return {
      ok: this.okCount,
      error: this.errorCount,
      generation: this.generation,
      routes: this.routes,
      loadedAt: this.loadedAt,
      last: this.last,
    }
  }
}
