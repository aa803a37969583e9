/**
 * Every config default and every hard limit, in one place (fastify `defaultInitOptions` style).
 *
 * Contract: `DEFAULTS` holds the value used when a key is absent from the config file, in the *file's*
 * vocabulary (durations in milliseconds). `LIMITS` holds the bounds schema.ts and validate.ts enforce; a value outside
 * them is a startup error (HG_ERR_CONFIG_INVALID), never silently clamped. Each entry carries its unit
 * and the reason for the number.
 *
 * Limits: nothing here is read on the hot path; the pool copies the resolved values out of ProxyConfig.
 * The ClientHello caps are hello/'s (hello/constants.ts, with their reasons): the reader enforces them, so
 * they are defined where it is and only referred to here.
 */
import { DEFAULT_MAX_HELLO_BYTES, MAX_HELLO_BYTES_LIMIT } from '../hello/index.ts'

/** Defaults for every optional key. Units are in the trailing comments. */
export const DEFAULTS = {
  /** loopback only: exposing a proxy on all interfaces must be an explicit choice */
  listen: '127.0.0.1:8443',
  /** `auto` → os.availableParallelism(): one worker thread per core the process may run on */
  workers: 'auto',
  /** SO_REUSEPORT: the kernel spreads accepts over the workers, no main-thread hop per connection */
  accept: 'reuseport',
  /** handoff only: pick the worker with the fewest open connections (long-lived tunnels skew round robin) */
  balance: 'leastconn',
  /** `reject`: an unknown SNI gets an unrecognized_name alert rather than a guess at an origin */
  default: 'reject',
  timeouts: {
    /**
     * ms. Time from accept until the whole ClientHello has arrived. Real clients send it in the first
     * flight (one RTT after the TCP handshake); 5 s covers a slow mobile link while bounding how long a
     * slowloris-style client can hold a connection slot without sending anything routable.
     */
    helloMs: 5_000,
    /** ms. TCP connect to the origin; 5 s is a few SYN retransmits (1 s, 2 s) and then fail fast. */
    connectMs: 5_000,
    /**
     * ms. No byte in either direction for this long closes both sides. 5 min outlasts HTTP keep-alive gaps and
     * WebSocket pings (typically every 30–60 s) while freeing the slots of abandoned tunnels.
     */
    idleMs: 300_000,
    /** ms. After SIGTERM/SIGINT: stop accepting, let open relays finish for up to this long, then close them. */
    shutdownMs: 30_000,
  },
  limits: {
    /** bytes. The assembled ClientHello may be at most this long; 16 KiB (hello/ DEFAULT_MAX_HELLO_BYTES says why). */
    maxHelloBytes: DEFAULT_MAX_HELLO_BYTES,
    /** connections, whole process (split evenly across workers). Each costs two fds and two socket buffers. */
    maxConnections: 100_000,
    /**
     * connections, whole process (split evenly across workers): accepted but still waiting for their
     * ClientHello. A real client sends its hello one RTT after connecting, so even at 100 ms RTT 10 000
     * waiting means ~100 000 new connections/s — more than a worker share accepts; what is left over is
     * a slowloris holding slots for timeouts.hello, and the cap keeps it from starving real clients.
     */
    maxPendingHellos: 10_000,
  },
  /**
   * limits.perClient: off unless configured. Many clients share an address (carrier NAT, corporate
   * proxies), so any per-address number is a choice about the deployment, not a safe universal default.
   * When `newPerSecond` is set and `burst` is not, the burst is one second's worth: ceil(newPerSecond).
   */
  perClient: null,
  http: {
    /** the port plain HTTP is served on everywhere: an origin behind a port-80 listener listens on 80 too */
    originPort: 80,
  },
  forward: {
    /** forward routes carry TLS passthrough: the name's HTTPS port */
    port: 443,
    /** and plain HTTP (http: listener) on the name's HTTP port */
    httpPort: 80,
    /**
     * ms. A name must resolve within this; 2 s covers a recursive resolver's cold lookup (a few hundred ms)
     * with one retry, and bounds how long a client holds a slot on a name that never answers.
     */
    timeoutMs: 2_000,
  },
  log: {
    /** pino level name */
    level: 'info',
    /** one `conn.close` line per connection */
    access: true,
    /**
     * `ja4` in each conn.close line (only when `access` is on). On: an operator who logs every connection
     * wants to recognise clients by it, and it costs one walk and two sha256 of the hello: 2.4 µs for
     * Chromium's (bench/micro, README "Edge policy modules"), against the tens of µs of proxy CPU a
     * connection costs in all (bench:policy) and the log line itself.
     */
    ja4: true,
  },
  /**
   * `quic:` — UDP listeners for QUIC (HTTP/3) passthrough; off unless configured (a UDP port open on
   * all interfaces must be an explicit choice, as for `listen`).
   */
  quic: {
    /**
     * `drop`: a long header with a version hellogate cannot read (or a Version Negotiation packet, which
     * no client sends to start a connection) is dropped; the client falls back to TCP or to a version we
     * read. `default` would hand flows we cannot route by name to the `default:` pool, blind.
     */
    unknownVersion: 'drop',
    /**
     * ms. A flow without a datagram either way for this long is forgotten and its origin socket closed.
     * 30 s is the max_idle_timeout many stacks use by default (Chromium, quic-go, ngtcp2's examples), and
     * QUIC keeps idle connections alive with PINGs well inside it.
     */
    idleMs: 30_000,
    /**
     * flows per worker. Each relayed flow holds an origin UDP socket (one fd) and a flow entry (~1 KiB);
     * 50 000 per worker stays below the default fd ceilings of a few workers together.
     */
    maxFlows: 50_000,
    /**
     * flows per worker still waiting for their ClientHello. A real client completes its hello in one or two
     * datagrams sent back to back, so thousands waiting means a flood of spoofed or broken 4-tuples; each
     * holds up to maxPendingBytes, so this also bounds the worker's buffered bytes (here 1000 × 16 KiB = 16 MiB).
     */
    maxPendingFlows: 1_000,
    /**
     * bytes per pending flow: the datagrams held until the hello routes the flow (Initials, 0-RTT). A
     * post-quantum hello is 2 datagrams (~2.5 KB) and 0-RTT a few more; 16 KiB is a dozen full-size
     * datagrams, and datagrams past it are dropped (the client retransmits them).
     */
    maxPendingBytes: 16 * 1024,
  },
  /**
   * A pool declared under `upstreams:`. (A route's bare host:port is an implicit one-server pool that
   * behaves as a single origin always has: IMPLICIT_POOL in validate.ts, no checks, no retries.)
   */
  upstream: {
    /**
     * Fewest open connections (weighted). A passthrough connection is a tunnel that may carry an HTTP/2
     * session for minutes: round robin evens out connection starts, not load; HAProxy recommends
     * leastconn "where very long sessions are expected". Same reason as the handoff `balance` above.
     */
    balance: 'leastconn',
    health: {
      /**
       * `tcp`: a connect proves the server listens, works for every pool and needs no name. `tls` proves
       * more (a ServerHello for the route's name) but needs a name, so it is chosen explicitly. HAProxy's
       * plain `check` is also a layer-4 connect.
       */
      check: 'tcp',
      /**
       * ms. 5 s: HAProxy's `inter` default is 2 s, but a TLS check costs the origin a handshake each time,
       * and a dead server is caught sooner than any interval by passive ejection (connect failures). With
       * fall 3 a silent server is marked down within 15 s.
       */
      intervalMs: 5_000,
      /** ms. A ServerHello comes one RTT after the hello; 2 s covers another continent and stays below the interval. */
      timeoutMs: 2_000,
      /** good checks in a row before a down server takes connections again (HAProxy's default) */
      rise: 2,
      /** failed checks in a row before a server is marked down: one lost probe does not flap it (HAProxy's default) */
      fall: 3,
    },
    passive: {
      /** consecutive connect failures that eject a server; the same evidence as `fall` active checks */
      failures: 3,
      /** ms. First ejection; it grows with each repeated ejection. 30 s is Envoy's `base_ejection_time`. */
      ejectMs: 30_000,
    },
    connect: {
      /**
       * Connect attempts on another server after the first one failed. A refused connect is retried at
       * once, but one that times out has already cost `connect.timeout` before the client sees a byte,
       * so more than one retry is the operator's choice.
       */
      retries: 1,
    },
    /** the origin sees hellogate's address unless it is set up to read a PROXY header */
    proxyProtocol: 'off',
  },
} as const

/** Hard bounds enforced by schema.ts and validate.ts. Min/max are inclusive. */
export const LIMITS = {
  /** bytes. 64 KiB, as rustls caps handshake messages (hello/ MAX_HELLO_BYTES_LIMIT says why). */
  maxHelloBytesMax: MAX_HELLO_BYTES_LIMIT,
  /**
   * bytes. Below this even a minimal TLS 1.2 hello with an SNI and a few cipher suites does not fit
   * (record 5 + handshake 4 + version 2 + random 32 + session id 33 + suites + extensions ≈ 200–500).
   */
  maxHelloBytesMin: 512,
  /** connections. At least one per worker, otherwise a worker's share rounds down to zero. */
  maxConnectionsMin: 1,
  /**
   * connections. 2^24: far above Linux's default per-process fd ceiling (fs.nr_open = 1,048,576, two fds
   * per relayed connection); a larger number is a typo, not a capacity plan.
   */
  maxConnectionsMax: 16_777_216,
  /** connections. At least one may wait for its hello, or nothing would ever be served. */
  maxPendingHellosMin: 1,
  /** connections per address: at least one, or the address could never connect. */
  perClientConnectionsMin: 1,
  /**
   * new connections per second per address. 10^6 is above what one worker can accept (tens of thousands
   * per second); a larger number is a typo, and a limit that never binds is written by leaving it out.
   */
  perClientRateMax: 1_000_000,
  /** connections back to back per address: at least one, or no connection could ever pass. */
  perClientBurstMin: 1,
  /** see perClientRateMax: a bucket larger than a million connections never empties in practice. */
  perClientBurstMax: 1_000_000,
  /** worker threads. Each is a V8 isolate (~10 MiB baseline); past 256 the scheduler, not us, is the limit. */
  workersMax: 256,
  /** ms. Node timers overflow above 2^31-1 ms (~24.8 days) and fire after 1 ms instead (TIMEOUT_MAX). */
  durationMaxMs: 2_147_483_647,
  /** ms. A hello deadline below 100 ms drops legitimate clients one RTT away on a slow link. */
  helloMinMs: 100,
  /** ms. Below 100 ms an origin in another region cannot finish a TCP handshake. */
  connectMinMs: 100,
  /** ms. Below 1 s keep-alive connections between requests would be cut constantly. */
  idleMinMs: 1_000,
  /** ms. 0 is allowed: close every connection as soon as shutdown begins. */
  shutdownMinMs: 0,
  /**
   * entries in one access list (allow, deny, proxyProtocol.from). 2^20: ten times the 100 000-prefix lists
   * measured (bench/micro access-cidr); compiling one costs about a second per million entries, and the
   * lookup does not grow with it (access/cidr.ts).
   */
  accessEntriesMax: 1_048_576,
  /** JA4 fingerprints in one route's allowJa4/denyJa4: a Set lookup per connection; more is generated config gone wrong. */
  ja4EntriesMax: 65_536,
  /** addresses. A handful of listeners per process; more is almost certainly generated config gone wrong. */
  listenMax: 64,
  /**
   * forward.suffixes entries. Forward mode is for a few domains an operator controls; hundreds of suffixes
   * is an allowlist nobody reviews, which is what the fence exists to prevent.
   */
  forwardSuffixesMax: 256,
  /** forward.allow entries: exceptions to the address fence, which should be few and deliberate. */
  forwardAllowMax: 1024,
  /** forward.resolvers entries: c-ares tries them in order; more than a handful only adds timeouts. */
  forwardResolversMax: 8,
  /** ms. A lookup needs at least one round trip to the resolver. */
  forwardTimeoutMinMs: 100,
  /** ms. Below 1 s a QUIC flow would be dropped between a client's PINGs (stacks send them at a fraction of the idle timeout). */
  quicIdleMinMs: 1_000,
  /** flows per worker: at least one, or nothing would ever be relayed. */
  quicFlowsMin: 1,
  /** flows per worker. 2^20 origin sockets is Linux's default fs.nr_open; more is a typo. */
  quicFlowsMax: 1_048_576,
  /**
   * bytes per pending flow: one full-size Initial datagram (1200 bytes, RFC 9000 §14.1) must fit, or no
   * flow could ever be routed.
   */
  quicPendingBytesMin: 1_200,
  /** bytes per pending flow. 1 MiB is far past any hello plus 0-RTT flight; more is a typo that lets a flood hold gigabytes. */
  quicPendingBytesMax: 1_048_576,
  /**
   * pools, counting each distinct host:port target as its own implicit pool. The shared server table
   * indexes pools up to this (upstreams/state.ts MAX_POOLS, kept equal by a test); more distinct origins
   * than this belong in pools with several servers each.
   */
  poolsMax: 65_536,
  /** servers in one pool. Each has shared per-server gauges, and a consistent-hash table needs ~100 slots per server; a larger pool is generated config gone wrong. */
  serversPerPoolMax: 1024,
  /** server weight. HAProxy's range is 0-256; 0 would take the server out of rotation, which is what removing it (or `backup`) says clearly. */
  weightMin: 1,
  /** see weightMin */
  weightMax: 256,
  /** health checks in a row for rise/fall. At the shortest interval 100 is over a minute and a half of evidence; more is a typo. */
  riseFallMax: 100,
  /** ms. Checks more often than once a second cost origins a handshake each time and detect nothing sooner than passive ejection. */
  healthIntervalMinMs: 1_000,
  /** ms. Same floor as a connect: below 100 ms an origin in another region cannot answer. */
  healthTimeoutMinMs: 100,
  /** consecutive connect failures for passive ejection; 0 turns it off. Past 100 a dead server would take 100 failed clients first. */
  passiveFailuresMax: 100,
  /** ms. An ejection shorter than a second would retry a dead server at once. */
  ejectMinMs: 1_000,
  /** connect retries on another server. Each may wait `connect.timeout` before the client gets a byte; past 10 the client has left. */
  connectRetriesMax: 10,
  /** characters in a pool name: it is printed in logs and `check`, and will label metrics. */
  poolNameMaxChars: 64,
  /** bytes in an ALPN protocol id: RFC 7301 §3.1 `opaque ProtocolName<1..2^8-1>` */
  alpnProtocolMaxBytes: 255,
  /**
   * bytes. Largest config file we read: a million routes at ~60 bytes per line is ~60 MiB; anything bigger
   * is the wrong file (and YAML parsing it would take seconds and gigabytes).
   */
  configFileMaxBytes: 128 * 1024 * 1024,
  /** etcd endpoints. A cluster has 3, 5 or 7 members; more than 16 listed is a list of something else. */
  etcdEndpointsMax: 16,
} as const
