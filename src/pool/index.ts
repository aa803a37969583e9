/** pool/ — worker threads, the two accept models, supervision and graceful shutdown. */
export { startProxy, RESPAWN_MIN_MS, RESPAWN_MAX_MS, MAX_PENDING_HANDOFF, type ProxyHandle, type ProxyStats } from './main.ts'
export { buildRouteState, routeStateFromTable } from './route-state.ts'
export { loadRoutesOffThread, closeReloadPool, restartOnlyChanges } from './reload.ts'
