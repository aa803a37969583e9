/**
 * The `hellogate routes` ops and their arguments, apart from source/cli.ts so that the CLI's argument
 * parser needs no etcd client loaded (usage errors and --help stay at node's bare startup time).
 */
export const ROUTES_OPS = ['get', 'put', 'rm', 'list'] as const
export type RoutesOp = typeof ROUTES_OPS[number]

/** positional arguments each op takes after its name */
export const ROUTES_ARGS: Readonly<Record<RoutesOp, readonly string[]>> = { list: [], get: ['PATTERN'], put: ['PATTERN', 'VALUE'], rm: ['PATTERN'] }
