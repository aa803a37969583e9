/** Helpers for config tests: the error a config value is refused with. */
import { expect } from 'vitest'

import { parseConfig } from '../../src/config/index.ts'
import { ProxyError } from '../../src/errors.ts'

/** The ProxyError parseConfig throws for `raw` (read as file `file`); fails the test when it accepts it. */
export function configErrorOf (raw: unknown, file: string): ProxyError {
  try {
    parseConfig(raw, file)
  } catch (err) {
    expect(err).toBeInstanceOf(ProxyError)
    return err as ProxyError
  }
  throw new Error('expected parseConfig to throw')
}
