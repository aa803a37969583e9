/**
 * hello/ — the zero-copy, incremental ClientHello reader. CONTRACT STUB: the hello/ owner replaces the
 * bodies; the exported names and signatures below are what relay/ codes against.
 */
import { HelloInfo, HelloStatus } from './types.ts'

export { HelloInfo, HelloStatus } from './types.ts'

/** Parse one complete handshake message (type byte included) in buf[start, end). Pure, no allocation. */
export function parseClientHello (_buf: Uint8Array, _start: number, _end: number, _out: HelloInfo): HelloStatus {
  return HelloStatus.Malformed
}

/**
 * Incremental reader: fed chunks as they arrive; answers NeedMore / Ok / NoSni / a rejection.
 * Takes ownership of pushed chunks (callers must not reuse their memory).
 */
export class HelloAssembler {
  readonly info = new HelloInfo()
  readonly maxHelloBytes: number
  constructor (maxHelloBytes: number) { this.maxHelloBytes = maxHelloBytes }
  push (_chunk: Buffer): HelloStatus { return HelloStatus.NeedMore }
  /** every byte received so far, exactly as received (zero-copy when it was a single chunk) */
  received (): Buffer { return Buffer.alloc(0) }
  /** the bytes that `info` offsets index (handshake message, record headers stripped) */
  get hs (): Uint8Array { return new Uint8Array(0) }
  /** number of bytes received so far */
  get length (): number { return 0 }
  reset (): void {}
}
