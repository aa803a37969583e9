/**
 * upstreams/ — pools of origin servers at run time: the shared server table, server choice, active
 * health checks, and the certificate-coalescing check.
 *
 *   types.ts     PoolSpec (the input: validated `upstreams:` config, mapped by the caller)
 *   state.ts     ServerTable in SharedArrayBuffers: health, ejection, gauges, counters; carryOver
 *   balance.ts   pickServer: smooth weighted round-robin, leastconn, Maglev hash; backups; retries
 *   swrr.ts      nginx's smooth weighted round-robin, unrolled into one cycle per tier
 *   maglev.ts    weighted Maglev lookup table
 *   hash.ts      stable 32-bit hashes of server keys and client addresses
 *   probe.ts     one TCP or TLS probe of one server (PROXY header first when the pool wants one)
 *   health.ts    UpstreamMonitor: active checks (rise/fall) and ejection expiry, main thread only
 *   coalesce.ts  coalescing warnings and probeCertificates for `hellogate check --probe`
 */
export { Balance, type HealthCheckKind, type HealthSpec, type PoolSpec, type ProxyProtocolMode, type ServerSpec } from './types.ts'
export {
  acquireServer, BalanceCode, carryOver, createServerTable, ejectionMs, MAIN_ROW, MAX_EJECT_MS, MAX_SERVERS_PER_POOL,
  MAX_WEIGHT, recordCheck, releaseServer, reportConnectFailure, reportConnectOk, SERVER_COUNTER_NAMES, ServerCounter,
  serverBit, serverLabel, serverStats, serverUsable, sweepEjections, Transition, type ServerStats, type ServerTable,
} from './state.ts'
export { MAX_PROBES, pickServer } from './balance.ts'
export { fmix32, hashClientAddress, hashString } from './hash.ts'
export { buildMaglev, maglevSize, MAGLEV_PRIMES } from './maglev.ts'
export { MAX_SWRR_CYCLE, swrrCycle } from './swrr.ts'
export { dnsNamesFromAltNames, peerCertificateNames, probeServer, ProbeReason, type ProbeOptions, type ProbeResult } from './probe.ts'
export { EJECT_SWEEP_MS, FIRST_CHECK_SPREAD_MS, UpstreamLogEvent, UpstreamMonitor, type CertificateEvent, type MonitorOptions } from './health.ts'
export {
  coalescingWarnings, probeCertificates, type CertificateProbe, type CoalescingWarning, type PoolCertificate, type ProbeTarget,
  type RoutedName,
} from './coalesce.ts'
export { probeConfig, routedNames, PROBE_NAMES_PER_POOL, type ConfigProbeReport } from './probe-config.ts'
