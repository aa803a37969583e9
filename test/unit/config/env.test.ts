/**
 * `${NAME}` environment substitution in config string values (config/env.ts through the loader), and the
 * `admin` / `log.file` keys it exists for: substituted before validation, a variable that is not set is a
 * config error at the value's file:line:col, `$${` is a literal `${`, keys are never substituted.
 */
/* eslint-disable no-template-curly-in-string -- the tests write the config syntax ${NAME} literally */
import { describe, expect, it } from 'vitest'

import { parseConfigText } from '../../../src/config/index.ts'
import { substituteEnv } from '../../../src/config/env.ts'
import { failIn } from '../../../src/config/fault.ts'
import { ErrorCode, ProxyError } from '../../../src/errors.ts'

const VAR = 'HELLOGATE_TEST_ENV_TOKEN'

function yaml (admin: string): string {
  return `routes:\n  a.example.com: 127.0.0.1:443\nadmin:\n  listen: 127.0.0.1:9901\n${admin}\n`
}

describe('environment substitution', () => {
  it('replaces ${NAME} in string values before validation', () => {
    process.env[VAR] = 'secret-token-0123456789'
    process.env.HELLOGATE_TEST_ENV_PORT = '9902'
    try {
      const c = parseConfigText(yaml(`  token: \${${VAR}}`), 'x.yaml')
      expect(c.admin).toEqual({ listen: { host: '127.0.0.1', port: 9901 }, token: 'secret-token-0123456789' })
      // inside a longer string, and validated after substitution (a port becomes a HostPort)
      const d = parseConfigText('routes: { a.example.com: "127.0.0.1:${HELLOGATE_TEST_ENV_PORT}" }\n', 'x.yaml')
      expect(d.upstreams[d.routes[0]!.upstream]!.servers[0]!.port).toBe(9902)
    } finally {
      delete process.env[VAR]
      delete process.env.HELLOGATE_TEST_ENV_PORT
    }
  })

  it('a variable that is not set is a config error at file:line:col', () => {
    delete process.env[VAR]
    let err: unknown
    try {
      parseConfigText(yaml(`  token: \${${VAR}}`), 'x.yaml')
    } catch (e) { err = e }
    expect(err).toBeInstanceOf(ProxyError)
    expect((err as ProxyError).code).toBe(ErrorCode.CONFIG_INVALID)
    expect((err as ProxyError).key).toBe('admin.token')
    expect((err as ProxyError).message).toBe(`x.yaml:5:10: admin.token: environment variable ${VAR} is not set (the value refers to \${${VAR}})`)
  })

  it('$${ is a literal ${, a malformed reference is an error, keys stay as written', () => {
    const fail = failIn('x', undefined)
    expect(substituteEnv({ a: ['$${X}'] }, fail, {})).toEqual({ a: ['${X}'] })
    expect(() => substituteEnv({ a: '${1X}' }, fail, {})).toThrow(/is not an environment variable reference/)
    expect(substituteEnv({ '${X}': 'v' }, fail, { X: 'y' })).toEqual({ '${X}': 'v' })
  })
})

describe('admin and log.file keys', () => {
  it('admin is off by default, log.file defaults to stdout (null)', () => {
    const c = parseConfigText('routes: { a.example.com: 127.0.0.1:443 }\n', 'x.yaml')
    expect(c.admin).toBeNull()
    expect(c.log.file).toBeNull()
  })

  it('admin.listen is checked like a listen address; unknown admin keys are refused', () => {
    expect(() => parseConfigText(yaml('  tokne: x'), 'x.yaml')).toThrow(/admin\.tokne: unknown key \(did you mean 'token'\?\)/)
    expect(() => parseConfigText('routes: { a.example.com: 127.0.0.1:443 }\nadmin: { listen: nowhere }\n', 'x.yaml')).toThrow(/admin\.listen/)
    const c = parseConfigText('routes: { a.example.com: 127.0.0.1:443 }\nlog: { file: /tmp/hg.log }\n', 'x.yaml')
    expect(c.log.file).toBe('/tmp/hg.log')
  })
})
