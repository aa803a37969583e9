/** relay/ — per-connection intake, hello phase, origin connect and the byte relay. */
export { handleConnection, handleNativeConnection, onIntakeRead, REJECT_LINGER_MS } from './accept.ts'
export { setOutcome, type Session } from './session.ts'
export { closeSession } from './pipe.ts'
export { acceptAtHandle, chooseRelay, errnoName, initSplice, intakeActive, spliceStats, INTAKE_ENV, ORIGIN_DIAL_ENV, RELAY_ENV, SPLICE_ADDON_ENV, SPLICE_AFTER_BYTES, SPLICE_AFTER_ENV, type RelayChoice } from './splice.ts'
export { buildConnector, nativeDialDone, type Connect, type ConnectorOptions } from './connect.ts'
export { RelayContext, type RouteState, type RelayOptions } from './context.ts'
export { alertFor, AlertDescription } from './reject.ts'
export { clientLimitOptions, ClientLimiter, LIMITED, UNTRACKED, CLIENT_TABLE_MAX } from './client-limits.ts'
