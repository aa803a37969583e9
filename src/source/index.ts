/**
 * source/ — route tables from somewhere other than the config file: etcd v3 (`source.etcd`), read at one
 * revision, watched, merged under the file's routes, cached in a snapshot; and the `hellogate routes`
 * commands that edit the same keys. Main thread only (workers only ever receive compiled tables).
 *
 *  - fleet.ts     key layout and the merge + validation of etcd's entries (no I/O; runs in the reload pool)
 *  - etcd.ts      EtcdSource: the client, the first read, the watch, coalescing, reconnects
 *  - snapshot.ts  the `cache` file, written atomically after each applied revision
 *  - cli.ts       `hellogate routes get|put|rm|list` (ops.ts: its argument table, for the CLI's parser)
 */
export { COALESCE_MS, EtcdSource, readPrefix, type EtcdSourceStatus } from './etcd.ts'
export { compileFleet, fleetEntries, MAX_COMPILE_PASSES, ROUTES_DIR, splitKey, UPSTREAMS_DIR, type FleetEntries, type FleetInput, type FleetResult, type SkippedKey } from './fleet.ts'
export { readSnapshot, writeSnapshot, SNAPSHOT_VERSION, type Snapshot } from './snapshot.ts'
