/**
 * Split-feeding helpers for the assembler (Envoy tls_inspector_test `MultipleReads`, pg-protocol
 * "split buffer, single message parsing").
 *
 * Contract: every chunk handed to the assembler is a fresh copy (`Buffer.from`), as a socket would
 * deliver it and so that the assembler may keep it; the original bytes are never passed in, so a
 * caller can compare `received()` with them afterwards. Test-only: allocates freely.
 */
import { HelloAssembler, HelloStatus } from '../../src/hello/index.ts'

export interface FeedResult {
  /** the assembler after the last push */
  asm: HelloAssembler
  /** the status returned by each push, in order */
  statuses: HelloStatus[]
  /** the final status */
  status: HelloStatus
}

/** Push `bytes` as chunks of the given sizes (the rest, if any, as one more chunk). */
export function feedChunks (bytes: Uint8Array, sizes: number[], asm = new HelloAssembler()): FeedResult {
  const statuses: HelloStatus[] = []
  let off = 0
  for (const n of sizes) {
    if (off >= bytes.length) break
    statuses.push(asm.push(Buffer.from(bytes.subarray(off, off + n))))
    off += n
  }
  if (off < bytes.length) statuses.push(asm.push(Buffer.from(bytes.subarray(off))))
  return { asm, statuses, status: statuses[statuses.length - 1] ?? HelloStatus.NeedMore }
}

/** Push the whole input as one chunk. */
export function feedWhole (bytes: Uint8Array, asm = new HelloAssembler()): FeedResult {
  return feedChunks(bytes, [], asm)
}

/** Push one byte at a time (Envoy `MultipleReads`). */
export function feedByteByByte (bytes: Uint8Array, asm = new HelloAssembler()): FeedResult {
  return feedChunks(bytes, Array.from({ length: bytes.length }, () => 1), asm)
}

/**
 * For every split point s in 1..len-1, feed bytes[0, s) then bytes[s, len) into a fresh assembler
 * and hand the result to `check` (pg-protocol's beginning/middle/end splits, exhaustively).
 */
export function feedEverySplit (
  bytes: Uint8Array,
  check: (r: FeedResult, split: number) => void,
  makeAssembler: () => HelloAssembler = () => new HelloAssembler(),
): void {
  for (let s = 1; s < bytes.length; s++) {
    check(feedChunks(bytes, [s], makeAssembler()), s)
  }
}
