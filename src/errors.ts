/**
 * Error code registry (fastify lib/errors.js, undici UND_ERR_*).
 *
 * Three layers (STYLE C.3):
 *  1. hello/ and routes/ never build Error objects: they return numeric status codes.
 *  2. Per-connection outcomes are counted and logged by `Outcome` name (metrics/outcomes.ts), never thrown.
 *  3. Programmer and config errors are thrown as ProxyError at startup, before anything listens.
 *
 * Every code here is listed in README.md's "Error codes" table; test/unit/errors.test.ts keeps the two in sync.
 */

export const ErrorSource = {
  Client: 'client',
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
  /** admin.token is missing where it is required (listen not on loopback) or too short */
  ADMIN_TOKEN: 'HG_ERR_ADMIN_TOKEN',
  /** a CLI admin command could not get an answer from the admin endpoint */
  ADMIN_REQUEST: 'HG_ERR_ADMIN_REQUEST',
  /** a reload was asked for while another one was still compiling */
  RELOAD_BUSY: 'HG_ERR_RELOAD_BUSY',
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

  /** plain object for postMessage: classes do not survive structured clone */
  toJSON (): { code: ErrorCode, message: string, source: ErrorSource, file?: string, key?: string } {
    const o: { code: ErrorCode, message: string, source: ErrorSource, file?: string, key?: string } =
      { code: this.code, message: this.message, source: this.source }
    if (this.file !== undefined) o.file = this.file
    if (this.key !== undefined) o.key = this.key
    return o
  }
}

export function isProxyError (e: unknown): e is ProxyError {
  return e instanceof ProxyError
}
