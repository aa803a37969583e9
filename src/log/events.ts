/**
 * Stable log event names (STYLE C.4). Dashboards, alerts and tests key on these, so they are part of the
 * public interface: rename one only with a changelog entry.
 *
 * Convention: every line hellogate writes carries the event name twice, as the `evt` field (for
 * structured queries) and as pino's `msg` (for humans tailing the log):
 *   logger.info({ evt: LogEvent.Listening, addresses }, LogEvent.Listening)
 * Numeric fields stay numbers; the SNI is converted to a string only on these slow paths.
 */
export const LogEvent = {
  /** main thread, once: version, node version, config file, pid */
  Startup: 'startup',
  /** main thread, once at start: which data-phase relay the workers run, `relay` (splice | js), and `reason` */
  Relay: 'relay',
  /** main thread, once all listeners are bound: addresses (ports resolved), workers, accept, routes, default */
  Listening: 'listening',
  /** access log line, one per connection at close (when log.access): client, sni, alpn, route, origin,
   * id, upstream, server, attempts, bytesUp, bytesDown, helloMs, connectMs, totalMs, outcome (metrics/outcomes.ts), reason */
  ConnClose: 'conn.close',
  /** QUIC access log line, one per flow when it ends (when log.access): client, sni, alpn, version, id, route,
   * origin, upstream, helloDatagrams, datagramsUp, bytesUp, datagramsDown, bytesDown, dropped, helloMs, totalMs, outcome, reason */
  QuicClose: 'quic.close',
  /** a hello rejected before any origin was chosen (debug; the outcome is also counted) */
  HelloReject: 'hello.reject',
  /** a worker thread finished starting its listeners */
  WorkerReady: 'worker.ready',
  /** a worker thread raised an uncaught error */
  WorkerError: 'worker.error',
  /** a worker reported a fatal startup error (e.g. cannot listen) */
  WorkerFatal: 'worker.fatal',
  /** a worker thread exited: worker, code, respawnInMs */
  WorkerExit: 'worker.exit',
  /** a replacement worker was started */
  WorkerRestart: 'worker.restart',
  /** a listener's accept failed after it was listening (e.g. EMFILE when file descriptors run out) */
  AcceptError: 'accept.error',
  /** a worker refused connections over limits.perClient or limits.maxPendingHellos: counts since the last
   * such line (clientLimited, pendingLimited, intervalMs); at most one line per worker per second */
  LimitsRefused: 'limits.refused',
  /** handoff accept model: passing a socket to a worker failed */
  HandoffError: 'handoff.error',
  /** a worker installed a new route table */
  RoutesSwap: 'routes.swap',
  /** main thread, SIGHUP: the file was reloaded and its routes sent to every worker (routes, ms, needsRestart) */
  Reload: 'reload',
  /** main thread: SIGINT/SIGTERM received (signal, graceMs); shutdown.begin follows */
  Signal: 'signal',
  /** the pool starts draining: graceMs */
  ShutdownBegin: 'shutdown.begin',
  /** every worker drained or was closed: final outcome counts */
  ShutdownDone: 'shutdown.done',
  /** the config file was rejected: code, key, message */
  ConfigError: 'config.error',
  /** the process is about to exit because of an unexpected error */
  Fatal: 'fatal',
  /** main thread: the admin endpoint is listening (url, auth) */
  AdminListening: 'admin.listening',
  /** main thread: a reload asked for over POST /reload finished (ok, routes, ms, or code, message) */
  AdminReload: 'admin.reload',
  /** main thread: an admin request failed inside hellogate (answered 500; the process stays up) */
  AdminError: 'admin.error',
  /** an active check took a server down: pool, server, reason, detail, checks (bad in a row) */
  UpstreamDown: 'upstream.down',
  /** an active check brought a server back: pool, server, checks (good in a row) */
  UpstreamUp: 'upstream.up',
  /** a passive ejection ended (main thread sweep): pool, server */
  UpstreamReturn: 'upstream.return',
  /** a worker ejected a server after consecutive connect failures: pool, server, ejectMs */
  UpstreamEject: 'upstream.eject',
  /** a probe failed without a transition (debug): pool, server, reason, detail */
  UpstreamCheckFailed: 'upstream.check_failed',
  /** a certificate served for one pool covers a name routed to another pool (once per pool): pool, server, warnings */
  UpstreamCoalesce: 'upstream.coalesce',
  /** a callback given to the upstream monitor threw (error) */
  UpstreamCallbackError: 'upstream.callback_error',
  /** main thread, SIGUSR2: log.file reopened by name in every thread (after logrotate renamed it) */
  LogReopen: 'log.reopen',
  /** main thread: a table from etcd is in force: revision, routes, skipped, shadowed, from (etcd or snapshot) */
  SourceApplied: 'source.applied',
  /** main thread: an etcd key was left out of the table: key, code, reason */
  SourceSkip: 'source.skip',
  /** main thread: an etcd key lost to the file's route or pool of the same name: key */
  SourceShadowed: 'source.shadowed',
  /** main thread: etcd unreachable or the watch broken: reason, retryInMs; the table in force stays */
  SourceDisconnected: 'source.disconnected',
  /** main thread: etcd reached again: revision, how (watch resumed, or full re-read after compaction) */
  SourceConnected: 'source.connected',
  /** main thread: serving without etcd at start: reason, from (snapshot or file), snapshot revision */
  SourceNotReady: 'source.not_ready',
  /** main thread: the snapshot file could not be written or read: code, file, message */
  SourceSnapshotError: 'source.snapshot_error',
  /** `hellogate demo`: origins and proxy are up */
  DemoReady: 'demo.ready',
} as const
export type LogEvent = typeof LogEvent[keyof typeof LogEvent]

export const ALL_LOG_EVENTS: readonly LogEvent[] = Object.values(LogEvent)
