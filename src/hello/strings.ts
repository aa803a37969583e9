/**
 * Slow-path string helpers for logs: turn the offsets in a `HelloInfo` into strings.
 *
 * Contract: these allocate and must never run per chunk or on the routing path — only when a log
 * line or an error report is being built (STYLE C.2 rule 1: "A string is created only for logging on
 * the slow path"). Bytes are decoded as latin1 (one char per byte), which is exact for validated host
 * names (ASCII only) and lossless for arbitrary ALPN bytes (GREASE values included).
 *
 * Limits: output sizes follow the inputs (a host name ≤ 253 chars; an ALPN list < 64 KiB).
 *
 * Index rule (noUncheckedIndexedAccess): `hs[i]!` only after clamping the range to `hs.length` in the
 * same function.
 */
import type { HelloInfo } from './types.ts'

function latin1 (hs: Uint8Array, start: number, end: number): string {
  const e = end < hs.length ? end : hs.length
  let s = ''
  for (let i = start < 0 ? 0 : start; i < e; i++) s += String.fromCharCode(hs[i]!)
  return s
}

/** The SNI as sent (case preserved, trailing dot removed); '' when the hello had none. */
export function sniToString (hs: Uint8Array, info: HelloInfo): string {
  if (info.sniStart < 0) return ''
  return latin1(hs, info.sniStart, info.sniEnd)
}

/** The ALPN protocol names in the client's order; [] when the hello had no ALPN extension. */
export function alpnToStrings (hs: Uint8Array, info: HelloInfo): string[] {
  const names: string[] = []
  if (info.alpnStart < 0) return names
  const end = info.alpnEnd < hs.length ? info.alpnEnd : hs.length
  let p = info.alpnStart
  while (p < end) {
    const n = hs[p]!
    names.push(latin1(hs, p + 1, p + 1 + n))
    p += 1 + n
  }
  return names
}
