/**
 * ProxyError crosses threads as data (postMessage loses the class): toJSON → fromJSON keeps the code,
 * source, file, key and the cause's errno code, which callers act on (the demo's EADDRINUSE fallback).
 */
import { describe, expect, it } from 'vitest'
import { ErrorCode, ErrorSource, ProxyError } from '../../src/errors.ts'

describe('ProxyError wire form', () => {
  it('survives structured clone with its code, source, key and cause code', () => {
    const cause = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' })
    const err = new ProxyError(ErrorCode.LISTEN, 'cannot listen on 127.0.0.1:1: EADDRINUSE', { cause, source: ErrorSource.Internal, key: 'listen' })
    const back = ProxyError.fromJSON(structuredClone(err.toJSON()))
    expect(back).toBeInstanceOf(ProxyError)
    expect(back.code).toBe(ErrorCode.LISTEN)
    expect(back.source).toBe(ErrorSource.Internal)
    expect(back.key).toBe('listen')
    expect(back.file).toBeUndefined()
    expect(back.message).toBe(err.message)
    expect((back.cause as { code?: string }).code).toBe('EADDRINUSE')
  })

  it('has no cause when the original had none', () => {
    const back = ProxyError.fromJSON(new ProxyError(ErrorCode.WORKER_START, 'x').toJSON())
    expect(back.cause).toBeUndefined()
  })
})
