/**
 * config/ — the config file format and its validated, frozen form (ProxyConfig).
 *
 * Contract: `loadConfigFile(path)` / `parseConfigText(text, file)` / `parseConfig(raw, file)` either
 * return a deep-frozen ProxyConfig or throw a ProxyError whose message names the file, the dotted key
 * and what was expected. Nothing here listens, logs or exits.
 */

/** Defaults for every optional key and the hard limits, each with unit and reason. */
export { DEFAULTS, LIMITS } from './defaults.ts'
/** Read + parse + validate a YAML/JSON config file (async or sync). */
export { detectFormat, loadConfigFile, loadConfigFileSync, loadConfigValue, parseConfigText } from './load.ts'
export type { ConfigFormat } from './load.ts'
/**
 * The config's compiled route table (the one parseConfig built, handed over once; else compiled now), and
 * RouteError code → name. The one place routes are compiled for a config.
 */
export { compileConfigRoutes, routeErrorName, takeRouteColumns, type RouteColumns } from './routes.ts'
/** The pools part of `hellogate check`: pools, servers and the routes that use each. */
export { describeUpstreams } from './summary.ts'
/** The http: and forward: part of `hellogate check` (nothing when they are off). */
export { describeEdge } from './edge.ts'
/**
 * Validate an already-parsed value; or one whose routes come as `[pattern, value]` entries, read once in
 * order (a key-value store, a generated table: no million-key object needed).
 */
export { parseConfig, parseConfigWithRoutes, type LoadHooks } from './validate.ts'
/** Value syntaxes and key paths, shared with the CLI summary and tests. */
export { formatDuration, formatHostPort, parseDuration, parseHostPort } from './values.ts'
export { formatKeyPath, type KeyPath, type Locator } from './fault.ts'
export type {
  AcceptModel, AdminConfig, AlpnRoute, Balance, ConnectConfig, HealthCheck, HealthConfig, HostPort, LogLevel, PassiveConfig, PoolBalance,
  EtcdSourceConfig, ProxyConfig, ProxyProtocol, RouteEntry, ServerConfig, SourceConfig, UpstreamConfig, HttpConfig, ForwardConfig,
} from './types.ts'
