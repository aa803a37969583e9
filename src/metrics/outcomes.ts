/**
 * Connection outcomes: one per connection, set once when its fate is known, counted per worker and
 * written in the access log as `outcome`. The README's "Outcomes" table lists each one
 * (test/unit/docs.test.ts keeps them in sync).
 */
export const Outcome = {
  /** relayed until both sides closed cleanly (or one side closed and the other followed) */
  Ok: 'ok',
  /** first bytes were not a TLS handshake, or the client closed before sending any */
  NotTls: 'not_tls',
  /** no SNI (or SSLv2 hello) and no default route */
  NoSni: 'no_sni',
  /** SNI had no route and no default route: unrecognized_name alert sent */
  NoRoute: 'no_route',
  /** malformed hello: alert sent, nothing forwarded */
  Malformed: 'malformed',
  /** hello exceeded limits.maxHelloBytes (plain HTTP: the request head exceeded 16 KiB, 431 sent) */
  TooLarge: 'too_large',
  /** no complete hello (plain HTTP: request head) within timeouts.hello */
  HelloTimeout: 'hello_timeout',
  /** client closed (FIN or reset) before its hello was complete */
  ClientAbort: 'client_abort',
  /** origin refused or failed the TCP connection */
  OriginConnectFailed: 'origin_connect_failed',
  /** the route's pool had no usable server (all down by health check or ejected, no backup up): nothing tried */
  NoHealthyOrigin: 'no_healthy_origin',
  /** origin did not accept within timeouts.connect */
  OriginConnectTimeout: 'origin_connect_timeout',
  /** no byte either way for timeouts.idle after the relay started */
  IdleTimeout: 'idle_timeout',
  /** a socket error (reset) during the relay */
  RelayError: 'relay_error',
  /** the proxy is over limits.maxConnections */
  Overloaded: 'overloaded',
  /** the client address was over limits.perClient (open connections or new connections per second) */
  ClientLimited: 'client_limited',
  /** the worker already had its share of limits.maxPendingHellos connections waiting for their hello */
  PendingLimited: 'pending_limited',
  /** closed by shutdown after the drain deadline */
  Shutdown: 'shutdown',
  /** plain HTTP: the request head was malformed (obs-fold, NUL, bare CR/LF, no or two Hosts, invalid Host, …): 400 sent, nothing forwarded */
  HttpBadRequest: 'http_bad_request',
  /** forward route: the name resolved to an address the fence refuses (private, loopback, this host, …): nothing dialed */
  ForwardRefused: 'forward_refused',
  /**
   * a listen address with proxyProtocol: the peer is not in its `from` list, or its PROXY header is malformed,
   * too long, of a version not accepted, or missing within timeouts.hello; nothing forwarded
   */
  ProxyHeaderInvalid: 'proxy_header_invalid',
  /** refused by an access list (access, or the route's allow/deny/allowJa4/denyJa4): access_denied alert sent */
  Denied: 'denied',
} as const
export type Outcome = typeof Outcome[keyof typeof Outcome]

export const ALL_OUTCOMES: readonly Outcome[] = Object.values(Outcome)
