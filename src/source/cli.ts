/**
 * `hellogate routes get|put|rm|list --config FILE`: edit the routes under `source.etcd.prefix` with the
 * same etcd client options as `serve` (TLS, auth) and the same validation as the file, so that nobody
 * needs etcdctl and no key that `serve` would leave out gets written.
 *
 *   routes list               every route key: `pattern value`, one a line, in key order
 *   routes get PATTERN        the value of one route (exit 1 when there is none)
 *   routes put PATTERN VALUE  validate (fleet.ts, with the file and etcd's pools as serve sees them), then put
 *   routes rm PATTERN         delete one route (exit 1 when there was none)
 *
 * Contract: returns the exit status (0 done, 1 refused or etcd unreachable: the reason on `err`); never
 * throws for a config, validation or etcd error. A put that the file shadows is written with a warning
 * (the file's route stays in force on every host until it is removed from the file).
 * Limits: one request per command (list: one range of the routes/ prefix), CALL_TIMEOUT_MS each.
 */
import type { Writable } from 'node:stream'

import { Etcd3 } from 'etcd3'

import { loadConfigFile, loadConfigValue } from '../config/load.ts'
import type { EtcdSourceConfig } from '../config/types.ts'
import { ErrorCode, isProxyError } from '../errors.ts'
import { etcdClientOptions, etcdError, readPrefix } from './etcd.ts'
import { compileFleet, ROUTES_DIR } from './fleet.ts'
import type { RoutesOp } from './ops.ts'

export interface RoutesCommand {
  readonly op: RoutesOp
  readonly args: readonly string[]
  readonly config: string
  readonly out: Writable
  readonly err: Writable
}

const EXIT_OK = 0
const EXIT_FAILURE = 1

export async function runRoutesCommand (cmd: RoutesCommand): Promise<number> {
  const fail = (message: string): number => { cmd.err.write(`hellogate: ${message}\n`); return EXIT_FAILURE }
  let etcd: EtcdSourceConfig
  try {
    const config = await loadConfigFile(cmd.config)
    if (config.source.etcd === null) return fail(`${ErrorCode.CONFIG_INVALID}: ${cmd.config}: source.etcd is not set; routes edits etcd's routes`)
    etcd = config.source.etcd
  } catch (err) {
    if (!isProxyError(err)) throw err
    return fail(`${err.code}: ${err.message}`)
  }
  let client: Etcd3
  try {
    client = new Etcd3(await etcdClientOptions(etcd))
  } catch (err) {
    return fail(`${ErrorCode.SOURCE_ETCD}: ${etcdError(etcd, 'cannot set up the client', err).message}`)
  }
  const key = (pattern: string): string => etcd.prefix + ROUTES_DIR + pattern
  try {
    switch (cmd.op) {
      case 'list': {
        const all = await client.getAll().prefix(etcd.prefix + ROUTES_DIR).strings()
        for (const [k, v] of Object.entries(all)) cmd.out.write(`${k.slice(key('').length)} ${v}\n`)
        return EXIT_OK
      }
      case 'get': {
        const v = await client.get(key(cmd.args[0]!)).string()
        if (v === null) return fail(`no route ${key(cmd.args[0]!)}`)
        cmd.out.write(v + '\n')
        return EXIT_OK
      }
      case 'put': {
        const [pattern, value] = [cmd.args[0]!, cmd.args[1]!]
        // validated as serve would: the file's value and etcd's pools, this route alone
        const state = await readPrefix(client, etcd.prefix)
        const raw = await loadConfigValue(cmd.config)
        let result
        try {
          result = compileFleet({ file: cmd.config, raw, prefix: etcd.prefix, routes: { names: [pattern], texts: [value] }, upstreams: [...state.upstreams] })
        } catch (err) {
          if (!isProxyError(err)) throw err
          return fail(`${err.code}: ${err.message}`)
        }
        const own = result.skipped.find((s) => s.key === key(pattern))
        if (own !== undefined) return fail(`${own.code}: ${own.key}: ${own.reason}`)
        if (result.shadowed.includes(key(pattern))) {
          cmd.err.write(`hellogate: warning: ${cmd.config} routes the same pattern; its route stays in force while it is there\n`)
        }
        await client.put(key(pattern)).value(value.trim())
        cmd.out.write(`put ${key(pattern)}\n`)
        return EXIT_OK
      }
      case 'rm': {
        const res = await client.delete().key(key(cmd.args[0]!)).exec()
        if (Number(res.deleted) === 0) return fail(`no route ${key(cmd.args[0]!)}`)
        cmd.out.write(`deleted ${key(cmd.args[0]!)}\n`)
        return EXIT_OK
      }
    }
  } catch (err) {
    if (isProxyError(err)) return fail(`${err.code}: ${err.message}`)
    return fail(`${ErrorCode.SOURCE_ETCD}: ${etcdError(etcd, cmd.op, err).message}`)
  } finally {
    client.close()
  }
}
