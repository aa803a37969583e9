/** pool/ — worker threads, the two accept models, supervision, reload and graceful shutdown. */
export { startProxy, crashWorker, RESPAWN_MIN_MS, RESPAWN_MAX_MS, MAX_PENDING_HANDOFF, type ProxyHandle, type ProxyStats, type StartOptions } from './main.ts'
export { WorkerPrestart } from './prestart.ts'
export type { MetricSources } from './supervisor.ts'
export { buildRouteState, routeStateFromTable } from './route-state.ts'
export { loadRoutesOffThread, reloadFromFile, reloadFromValue, closeReloadPool, restartOnlyChanges, type ReloadResult, type Reloadable } from './reload.ts'
export { assertRuntimeSupports, probeSocketTransfer, probeReusePort } from './runtime.ts'
