/**
 * The `quic:` block: off unless set, defaults from config/defaults.ts, one address or a list (same
 * syntax and duplicate rule as `listen`), bounds on every limit, and `unknownVersion: default` only
 * with a default pool to relay to.
 */
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/config/index.ts'
import { DEFAULTS, LIMITS } from '../../../src/config/defaults.ts'
import { restartOnlyChanges } from '../../../src/pool/index.ts'
import { configErrorOf } from '../../helpers/config.ts'

const base = { routes: { 'a.example': '127.0.0.1:8443' } }

describe('config quic', () => {
  it('is off unless set', () => {
    expect(parseConfig(base, 'q.yaml').quic).toBeNull()
  })

  it('takes one address with every default', () => {
    const q = parseConfig({ ...base, quic: { listen: '0.0.0.0:443' } }, 'q.yaml').quic!
    expect(q).toEqual({
      listen: [{ host: '0.0.0.0', port: 443 }],
      unknownVersion: DEFAULTS.quic.unknownVersion,
      idleMs: DEFAULTS.quic.idleMs,
      maxFlows: DEFAULTS.quic.maxFlows,
      maxPendingFlows: DEFAULTS.quic.maxPendingFlows,
      maxPendingBytes: DEFAULTS.quic.maxPendingBytes,
    })
    expect(Object.isFrozen(q) && Object.isFrozen(q.listen)).toBe(true)
  })

  it('takes a list and every key', () => {
    const q = parseConfig({
      ...base,
      default: '127.0.0.1:9443',
      quic: { listen: ['127.0.0.1:4433', '[::1]:4433'], unknownVersion: 'default', idleTimeout: '10s', maxFlows: 10, maxPendingFlows: 5, maxPendingBytes: 1200 },
    }, 'q.yaml').quic!
    expect(q.listen).toEqual([{ host: '127.0.0.1', port: 4433 }, { host: '::1', port: 4433 }])
    expect([q.unknownVersion, q.idleMs, q.maxFlows, q.maxPendingFlows, q.maxPendingBytes]).toEqual(['default', 10_000, 10, 5, 1200])
  })

  it.each([
    [{ }, 'quic'],
    [{ listen: '127.0.0.1:4433', extra: 1 }, 'quic.extra'],
    [{ listen: 'nowhere' }, 'quic.listen'],
    [{ listen: ['127.0.0.1:4433', '127.0.0.1:4433'] }, 'quic.listen[1]'],
    [{ listen: '127.0.0.1:4433', idleTimeout: '500ms' }, 'quic.idleTimeout'],
    [{ listen: '127.0.0.1:4433', maxFlows: 0 }, 'quic.maxFlows'],
    [{ listen: '127.0.0.1:4433', maxPendingFlows: LIMITS.quicFlowsMax + 1 }, 'quic.maxPendingFlows'],
    [{ listen: '127.0.0.1:4433', maxPendingBytes: 1199 }, 'quic.maxPendingBytes'],
    [{ listen: '127.0.0.1:4433', unknownVersion: 'forward' }, 'quic.unknownVersion'],
    [{ listen: '127.0.0.1:4433', unknownVersion: 'default' }, 'quic.unknownVersion'],
  ])('refuses %j at %s', (quic, key) => {
    const err = configErrorOf({ ...base, quic }, 'q.yaml')
    expect(err.key).toBe(key)
  })

  it('a reload that changes it reports quic as needing a restart', () => {
    const a = parseConfig({ ...base, quic: { listen: '127.0.0.1:4433' } }, 'q.yaml')
    const b = parseConfig({ ...base, quic: { listen: '127.0.0.1:4433', maxFlows: 7 } }, 'q.yaml')
    expect(restartOnlyChanges(a, b)).toEqual(['quic'])
    expect(restartOnlyChanges(a, a)).toEqual([])
  })
})
