/**
 * admin/ — the operations surface of a running proxy: the admin HTTP endpoint (server.ts) over a narrow
 * AdminTarget (target.ts), and the CLI clients for it (client.ts: status, reload; top.ts: live view).
 * Nothing here is on the connection path.
 */
export {
  ADMIN_MAX_BODY_BYTES, ADMIN_MAX_CONNECTIONS, ADMIN_TOKEN_MIN_LENGTH, checkAdminOptions, isLoopback, startAdminServer,
} from './server.ts'
export type { AdminOptions, AdminServer } from './server.ts'
export { createAdminTarget, Phase, readiness, trackReloads } from './target.ts'
export type { AdminTarget, AdminTargetSources, Readiness, ReloadError, ReloadOutcome, RouteCount, StatusJson, WorkerStatus } from './target.ts'
export {
  ADMIN_TOKEN_ENV, adminRequest, fetchStatus, formatReload, formatStatus, parseAdminAddress, requestReload, resolveToken, runReload, runStatus,
} from './client.ts'
export type { AdminClientOptions, ReloadAnswer } from './client.ts'
export { computeTop, renderTop, runTop, TOP_INTERVAL_MS } from './top.ts'
export type { TopOptions, TopView } from './top.ts'
