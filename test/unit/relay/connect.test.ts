/**
 * buildConnector validates its policy once, when a worker builds it, so that a bad timeout is a coded
 * error at start and never a per-connection surprise (undici buildConnector).
 */
import { describe, expect, it } from 'vitest'
import { buildConnector } from '../../../src/relay/connect.ts'
import { ErrorCode, ProxyError } from '../../../src/errors.ts'

describe('buildConnector', () => {
  it.each([0, -1, 1.5, Number.NaN, Infinity])('refuses connect timeout %s with HG_ERR_CONFIG_INVALID', (timeoutMs) => {
    let err: unknown
    try { buildConnector({ timeoutMs }) } catch (e) { err = e }
    expect(err).toBeInstanceOf(ProxyError)
    expect((err as ProxyError).code).toBe(ErrorCode.CONFIG_INVALID)
  })

  it('returns a plain connect function for a valid timeout', () => {
    expect(typeof buildConnector({ timeoutMs: 5000 })).toBe('function')
  })
})
