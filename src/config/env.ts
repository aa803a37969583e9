/**
 * config/env — `${NAME}` in a config file's string values is replaced by the environment variable NAME,
 * so that secrets (admin.token) stay out of the file: `token: ${HELLOGATE_ADMIN_TOKEN}`.
 *
 * Contract:
 *  - Only string values are substituted, never keys (a route pattern or pool name is not a secret, and a
 *    key that changes with the environment would make the file's meaning depend on it).
 *  - NAME is a shell-style variable name (`[A-Za-z_][A-Za-z0-9_]*`); `$${` writes a literal `${`.
 *  - A variable that is not set is a config error (HG_ERR_CONFIG_INVALID) at the value's file:line:col:
 *    an empty token silently turning into "no token" is the mistake this refuses. A variable set to the
 *    empty string substitutes as empty.
 *  - Substitution happens before validation, so the substituted value is validated like a written one.
 *
 * Limits: one pass over the parsed value, in place; a string without `${` costs one `includes`.
 */
import { ErrorCode } from '../errors.ts'
import type { Fail, KeyPath } from './fault.ts'

const VAR = /\$\$\{|\$\{([^}]*)\}/g
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Replace `${NAME}` in every string value of `value` (a parsed config), in place; returns `value`. */
export function substituteEnv (value: unknown, fail: Fail, env: NodeJS.ProcessEnv = process.env): unknown {
  if (typeof value === 'string') return substitute(value, [], fail, env)
  walk(value, [], fail, env)
  return value
}

function walk (node: unknown, path: Array<string | number>, fail: Fail, env: NodeJS.ProcessEnv): void {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const v: unknown = node[i]
      if (typeof v === 'string') { if (v.includes('${')) node[i] = substitute(v, [...path, i], fail, env) } else walk(v, [...path, i], fail, env)
    }
    return
  }
  if (typeof node !== 'object' || node === null) return
  const obj = node as Record<string, unknown>
  for (const key in obj) {
    const v = obj[key]
    if (typeof v === 'string') { if (v.includes('${')) obj[key] = substitute(v, [...path, key], fail, env) } else walk(v, [...path, key], fail, env)
  }
}

function substitute (s: string, path: KeyPath, fail: Fail, env: NodeJS.ProcessEnv): string {
  return s.replace(VAR, (whole, name: string | undefined) => {
    if (name === undefined) return '${'
    if (!NAME.test(name)) return fail(ErrorCode.CONFIG_INVALID, path, `'${whole}' is not an environment variable reference (\${NAME}, NAME of letters, digits and _; write $\${ for a literal \${)`)
    const v = env[name]
    if (v === undefined) return fail(ErrorCode.CONFIG_INVALID, path, `environment variable ${name} is not set (the value refers to \${${name}})`)
    return v
  })
}
