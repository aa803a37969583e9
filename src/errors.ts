/**
 * Error code registry (fastify lib/errors.js, undici UND_ERR_*).
 *
 * Three layers (STYLE C.3):
 *  1. hello/ and routes/ never build Error objects: they return numeric status codes.
 *  2. Per-connection outcomes are counted and logged by `Outcome` name (metrics/outcomes.ts), never thrown.
 *  3. Programmer and config errors are thrown as ProxyError at startup, before anything listens.
 *
 * Sources (pingora ErrorSource): `config` (the operator's input: config file, command line), `origin`
 * (an origin server: a failed connect attempt, normalised with the socket error as `.cause` the way
 * undici's connector does, and handed to the one place that decides retry or fail, relay/connect.ts;
 * it is never thrown, the connection's fate is still an Outcome) and `internal` (this process: bind,
 * worker start, bugs). There is no `client` source: a client's misbehaviour is always an Outcome
 * (layer 2), so no error can come from one.
 *
 * Every code here is listed in README.md's "Error codes" table; test/unit/docs.test.ts keeps the two in sync.
 */

export const ErrorSource = {
  Origin: 'origin',
  Internal: 'internal',
  Config: 'config',
} as const
export type ErrorSource = typeof ErrorSource[keyof typeof ErrorSource]

export const ErrorCode = {
  /** the config file could not be read */
  CONFIG_READ: 'HG_ERR_CONFIG_READ',
  /** the config file is not valid YAML or JSON */
  CONFIG_SYNTAX: 'HG_ERR_CONFIG_SYNTAX',
  /** a key has a value of the wrong type or out of range */
  CONFIG_INVALID: 'HG_ERR_CONFIG_INVALID',
  /** a key that the schema does not know */
  CONFIG_UNKNOWN_KEY: 'HG_ERR_CONFIG_UNKNOWN_KEY',
  /** a route pattern that is not a valid host name or wildcard */
  ROUTE_INVALID: 'HG_ERR_ROUTE_INVALID',
  /** the same pattern listed twice (after case folding and IDNA) */
  ROUTE_DUPLICATE: 'HG_ERR_ROUTE_DUPLICATE',
  /** a listener could not bind */
  LISTEN: 'HG_ERR_LISTEN',
  /** the running Node.js lacks a feature the chosen accept model needs */
  UNSUPPORTED_RUNTIME: 'HG_ERR_UNSUPPORTED_RUNTIME',
  /** a worker thread failed to start */
  WORKER_START: 'HG_ERR_WORKER_START',
  /** bad command-line usage */
  CLI_USAGE: 'HG_ERR_CLI_USAGE',
  /** an origin connect attempt failed (refused, reset, unreachable); `.cause` is the socket error */
  ORIGIN_CONNECT: 'HG_ERR_ORIGIN_CONNECT',
  /** an origin did not accept within timeouts.connect */
  ORIGIN_CONNECT_TIMEOUT: 'HG_ERR_ORIGIN_CONNECT_TIMEOUT',
  /** an internal invariant failed (a bug); uncaught in a worker, it ends the worker, which is replaced */
  INTERNAL: 'HG_ERR_INTERNAL',
  /** admin.token is missing where it is required (listen not on loopback) or too short */
  ADMIN_TOKEN: 'HG_ERR_ADMIN_TOKEN',
  /** a CLI admin command could not get an answer from the admin endpoint */
  ADMIN_REQUEST: 'HG_ERR_ADMIN_REQUEST',
  /** a reload was asked for while another one was still compiling */
  RELOAD_BUSY: 'HG_ERR_RELOAD_BUSY',
  /** etcd (source.etcd) could not be reached or refused a request; hellogate keeps the table in force */
  SOURCE_ETCD: 'HG_ERR_SOURCE_ETCD',
  /** the source.etcd.cache snapshot cannot be read or is not a snapshot (hellogate starts without it) */
  SOURCE_SNAPSHOT: 'HG_ERR_SOURCE_SNAPSHOT',
} as const
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode]

export interface ProxyErrorOptions {
  source?: ErrorSource
  cause?: unknown
  /** config file the error refers to, if any */
  file?: string
  /** dotted config key path the error refers to, if any */
  key?: string
}

export class ProxyError extends Error {
  readonly code: ErrorCode
  readonly source: ErrorSource
  readonly file: string | undefined
  readonly key: string | undefined

  constructor (code: ErrorCode, message: string, options: ProxyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'ProxyError'
    this.code = code
    this.source = options.source ?? ErrorSource.Internal
    this.file = options.file
    this.key = options.key
  }

  /** plain object for postMessage: classes do not survive structured clone (rebuild with `fromJSON`) */
  toJSON (): ProxyErrorJSON {
    const o: ProxyErrorJSON = { code: this.code, message: this.message, source: this.source }
    if (this.file !== undefined) o.file = this.file
    if (this.key !== undefined) o.key = this.key
    const cause = this.cause as { code?: unknown, message?: unknown } | null | undefined
    if (cause !== null && typeof cause === 'object') {
      o.cause = { message: String(cause.message) }
      if (typeof cause.code === 'string') o.cause.code = cause.code
    }
    return o
  }

  /** The error `toJSON` described, on this side of a thread boundary (its cause as a plain { code, message }). */
  static fromJSON (o: ProxyErrorJSON): ProxyError {
    const options: ProxyErrorOptions = { source: o.source }
    if (o.cause !== undefined) options.cause = o.cause
    if (o.file !== undefined) options.file = o.file
    if (o.key !== undefined) options.key = o.key
    return new ProxyError(o.code, o.message, options)
  }
}

/** ProxyError as structured-clone-safe data; `cause` keeps only the errno `code` and message. */
export interface ProxyErrorJSON {
  code: ErrorCode
  message: string
  source: ErrorSource
  file?: string
  key?: string
  cause?: { code?: string, message: string }
}

export function isProxyError (e: unknown): e is ProxyError {
  return e instanceof ProxyError
}
