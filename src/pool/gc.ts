/**
 * Measurement hook: one full, synchronous GC in every thread of the proxy (POST /debug/gc). Memory per
 * idle connection is an RSS delta; at ten thousand connections the V8 heaps' state after their last
 * GC moves RSS by tens of MB either way (profiles/20261204-idle-memory), more than the connections
 * retain, so a bench collects in every thread before each reading. `gc` is on the global object only
 * when node runs with --expose-gc, which no production start sets: without it nothing is collected and
 * the answer says so.
 */
import { getHeapStatistics } from 'node:v8'

/** How long the main thread waits for every worker's `gc-done`: a full GC of a large heap takes ~100 ms per GiB. */
export const GC_ACK_MS = 10_000

/**
 * What POST /debug/gc answers. heapUsedBytes: the live bytes of every collected thread's V8 heap right
 * after its GC — deterministic where RSS is not (a collected heap keeps its pages mapped for reuse, so
 * an RSS delta depends on how much free heap earlier traffic left behind); it leaves out native memory
 * (libuv handles, Node's socket wraps, buffers outside the heap), which mallocInUseBytes counts where the
 * native addon loads (relay/splice.ts: glibc mallinfo2).
 */
export type GcResult =
  | {
    readonly ok: true
    /** threads that collected: the main thread and each worker up */
    readonly threads: number
    readonly ms: number
    readonly heapUsedBytes: number
    /** bytes malloc holds for the process after the GCs (the native side: libuv handles, socket wraps); null where unknown */
    readonly mallocInUseBytes: number | null
  }
  | { readonly ok: false, readonly reason: string }

export const GC_UNAVAILABLE = 'node runs without --expose-gc: start it as `node --expose-gc dist/cli.js serve …` to collect on demand'

/** This thread's V8 heap in use now (after collectGarbage: its live bytes). */
export function heapUsedBytes (): number {
  return getHeapStatistics().used_heap_size
}

/** One full GC of this thread's heap; false when node runs without --expose-gc. */
export function collectGarbage (): boolean {
  const gc = (globalThis as { gc?: () => void }).gc
  if (typeof gc !== 'function') return false
  gc()
  return true
}
