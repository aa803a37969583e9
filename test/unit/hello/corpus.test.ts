import { describe, expect, it } from 'vitest'
import { HelloStatus } from '../../../src/hello/index.ts'
import { feedByteByByte, feedEverySplit, feedWhole } from '../../helpers/feed.ts'
import { loadCorpus } from '../../helpers/hello-fixtures.ts'

const SEEDS = loadCorpus()

it('has the named seeds of STYLE C.6', () => {
  const names = SEEDS.map((s) => s.file)
  for (const want of ['valid-sni.bin', 'no-extensions.bin', 'not-tls.bin', 'too-large.bin', 'split-records.bin', 'sslv2.bin']) {
    expect(names).toContain(want)
  }
})

describe.each(SEEDS)('corpus seed $file ($what)', (seed) => {
  it('gets its expected status whole, byte by byte and at every split point', () => {
    const whole = feedWhole(seed.bytes)
    expect(whole.status).toBe(seed.status)
    expect(feedByteByByte(seed.bytes).status).toBe(seed.status)
    feedEverySplit(seed.bytes, (r, s) => { expect(r.status, 'split at ' + String(s)).toBe(seed.status) })
    if (seed.status === HelloStatus.Ok || seed.status === HelloStatus.NoSni) {
      expect(whole.asm.received().equals(seed.bytes)).toBe(true)
    }
  })
})
