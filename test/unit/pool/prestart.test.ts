/**
 * pool/prestart.ts: workers started before the config is compiled. Real worker threads (worker.ts):
 * a prestarted one waits for its `init` message, so these tests never give it one and stop it by
 * terminate; that it serves once given its data is what every `serve` integration test checks.
 */
import { describe, expect, it } from 'vitest'

import { WorkerPrestart } from '../../../src/pool/index.ts'

describe('WorkerPrestart', () => {
  it('starts the count it is told once, hands each worker out once, then none', async () => {
    const prestart = new WorkerPrestart()
    prestart.start(2)
    // a load that falls back to its slow path reports the count again: no more threads for it
    prestart.start(5)
    const a = prestart.take()
    const b = prestart.take()
    expect(a).not.toBeNull()
    expect(b).not.toBeNull()
    expect(a).not.toBe(b)
    expect(prestart.take()).toBeNull()
    expect(await prestart.close()).toEqual([])
    await Promise.all([a!.terminate(), b!.terminate()])
  })

  it('close() stops the workers never taken, and none starts after it', async () => {
    const prestart = new WorkerPrestart()
    prestart.start(3)
    const taken = prestart.take()!
    // the two left, waiting for data that will never come (the config was invalid): close() resolves
    // once both threads have exited (terminate()'s promise; the code is 0 or 1 depending on how far
    // the thread had got)
    const codes = await prestart.close()
    expect(codes).toHaveLength(2)
    expect(codes.every((c) => c === 0 || c === 1)).toBe(true)
    expect(prestart.take()).toBeNull()
    prestart.start(2)
    expect(prestart.take()).toBeNull()
    // the one taken is the Supervisor's to stop, not close()'s
    expect(typeof await taken.terminate()).toBe('number')
  })
})
