/**
 * relay/policy — the access decision for a routed connection, and the connection's JA4 fingerprint.
 *
 * Contract:
 *  - `buildAccessTables(config)` (off the connection path, with the route tables) turns the config's lists,
 *    compiled at load (config/access.ts), into `AccessTables`: the global list, and per route index the
 *    route's own rule (CIDRs and JA4 sets). Plain data and typed arrays: it crosses postMessage with the
 *    route state.
 *  - `admitRouted(s)` runs once per connection after routing (accept.ts routeHello) and before the origin
 *    is contacted: false means refused (the caller sends access_denied and counts `denied`). The global list
 *    is checked first, then the route's; within a list deny wins, and a non-empty allow admits only its
 *    members (access/cidr.ts). The `default:` route has only the global list.
 *  - The client address is the one a PROXY header carried (relay/proxy-in.ts) when there was one, else the
 *    socket's. A JA4 rule computes the fingerprint (fingerprint/ja4.ts) from the hello already parsed;
 *    `sessionJa4` keeps it on the session for the access log and the PROXY v2 TLV to the origin, so it is
 *    computed at most once, and only when a rule, the log (log.ja4) or a v2 origin needs it.
 *
 * Cost: nothing when no list exists (two null/length checks); otherwise one address parse (socket text →
 * bytes; a PROXY header gives bytes directly) and one binary search per non-empty list
 * (bench/micro access-cidr: 100 000 prefixes cost what 10 do).
 */
import type { AccessList } from '../access/index.ts'
import { AccessVerdict, checkAccess } from '../access/index.ts'
import { compileConfigAccess } from '../config/access.ts'
import type { ProxyConfig } from '../config/types.ts'
import { JA4_LENGTH, writeJa4 } from '../fingerprint/index.ts'
import { parseIp } from '../proxyproto/index.ts'
import type { Session } from './session.ts'
import { socketAddress } from './splice.ts'

/** One route's rule: its CIDR lists (null: none) and JA4 sets (null: none). */
export interface RouteAccessRule {
  readonly cidr: AccessList | null
  readonly allowJa4: ReadonlySet<string> | null
  readonly denyJa4: ReadonlySet<string> | null
}

export interface AccessTables {
  /** `access:` (null: none) */
  readonly global: AccessList | null
  /** route index → index into `rules`, -1 for none; empty when no route has a rule */
  readonly routeRule: Int32Array
  readonly rules: readonly RouteAccessRule[]
}

/** The tables of a config without any list: every check is skipped. */
export const NO_ACCESS: AccessTables = Object.freeze({ global: null, routeRule: new Int32Array(0), rules: Object.freeze([]) })

function ja4Set (list: readonly string[]): ReadonlySet<string> | null {
  return list.length === 0 ? null : new Set(list)
}

/** The access tables of a validated config (its CIDR lists compiled once, config/access.ts). */
export function buildAccessTables (config: ProxyConfig): AccessTables {
  const compiled = compileConfigAccess(config)
  const rules: RouteAccessRule[] = []
  let routeRule: Int32Array = new Int32Array(0)
  config.routes.forEach((r, i) => {
    if (r.access === undefined) return
    if (routeRule.length === 0) routeRule = new Int32Array(new SharedArrayBuffer(config.routes.length * 4)).fill(-1)
    routeRule[i] = rules.length
    rules.push({ cidr: compiled.routes.get(i) ?? null, allowJa4: ja4Set(r.access.allowJa4), denyJa4: ja4Set(r.access.denyJa4) })
  })
  if (compiled.global === null && rules.length === 0) return NO_ACCESS
  return { global: compiled.global, routeRule, rules }
}

/** Scratch for the socket address as bytes (one per thread; checkAccess reads it synchronously). */
const ADDR = new Uint8Array(16)

/** The client's address into `ADDR` (carried, else the socket's); its family, 0 when unknown. */
function clientAddressBytes (s: Session, out: Uint8Array): number {
  const pin = s.proxyIn
  if (pin !== null && pin.family !== 0) {
    out.set(pin.srcAddr)
    return pin.family
  }
  return parseIp(socketAddress(s), out, 0)
}

/**
 * The access decision for a session whose route is recorded (`routeIndex`; the hello still held by the
 * assembler). True: go on to the origin. False: refused; `s.detail` says which list.
 */
export function admitRouted (s: Session): boolean {
  return admit(s, s.ctx.state.access, clientAddressBytes, sessionJa4)
}

/** What the access decision reads of a TCP session or a QUIC flow (quic-relay/). */
export interface AccessSubject {
  readonly routeIndex: number
  detail: string | null
}

/**
 * The access decision, one for every transport: the global list, then the route's CIDR list, then its
 * JA4 lists; deny wins, a non-empty allow list admits only its members. `addressOf` writes the client
 * address into ADDR and returns its family, `ja4Of` gives the hello's JA4 (or null); both are module-level
 * functions, asked only when a list needs them.
 */
export function admit<T extends AccessSubject> (x: T, tables: AccessTables, addressOf: (x: T, out: Uint8Array) => number, ja4Of: (x: T) => string | null): boolean {
  const ruleIndex = x.routeIndex >= 0 && x.routeIndex < tables.routeRule.length ? tables.routeRule[x.routeIndex]! : -1
  if (tables.global === null && ruleIndex < 0) return true
  let family = -1
  if (tables.global !== null) {
    family = addressOf(x, ADDR)
    if (checkAccess(tables.global, ADDR, 0, family) === AccessVerdict.Deny) {
      x.detail = 'access'
      return false
    }
  }
  if (ruleIndex < 0) return true
  const rule = tables.rules[ruleIndex]!
  if (rule.cidr !== null) {
    if (family < 0) family = addressOf(x, ADDR)
    if (checkAccess(rule.cidr, ADDR, 0, family) === AccessVerdict.Deny) {
      x.detail = 'route_access'
      return false
    }
  }
  if (rule.denyJa4 !== null || rule.allowJa4 !== null) {
    // an SSLv2 hello has no JA4: it matches no entry (so an allowJa4 list refuses it)
    const ja4 = ja4Of(x)
    if ((ja4 !== null && rule.denyJa4?.has(ja4) === true) || (rule.allowJa4 !== null && (ja4 === null || !rule.allowJa4.has(ja4)))) {
      x.detail = 'ja4'
      return false
    }
  }
  return true
}

/**
 * JA4 of a handshake held as bytes (`hs[0, hs.length)`), with its transport letter: `t` for TCP, `q` for
 * QUIC (JA4's first character). Null when the hello has none.
 */
export function helloJa4 (hs: Uint8Array, transport: 't' | 'q'): string | null {
  if (writeJa4(hs, 0, hs.length, JA4_BUF, 0) !== JA4_LENGTH) return null
  if (transport === 'q') JA4_BUF[0] = 0x71
  // one native latin1 string of 36 characters (the log line and the rule sets want a string)
  return JA4_BUF.toString('latin1', 0, JA4_LENGTH)
}

/**
 * The session's JA4 (computed on first use while the hello is held, then kept), or null when there is none
 * (an SSLv2-compatible hello, or the hello already released).
 */
export function sessionJa4 (s: Session): string | null {
  if (s.ja4 !== null) return s.ja4
  const asm = s.assembler
  if (asm === null || asm.info.sslv2) return null
  s.ja4 = helloJa4(asm.hs, 't')
  return s.ja4
}

/** JA4 is written here, then read out as a string or as TLV bytes (one per thread, used synchronously). */
const JA4_BUF = Buffer.allocUnsafeSlow(JA4_LENGTH)

/**
 * The session's JA4 as bytes for the PROXY v2 TLV (PP2_TYPE_HELLOGATE_JA4): `JA4_BUF[0, JA4_LENGTH)`,
 * valid until the next call on this thread; null when the hello has none.
 */
export function ja4Bytes (s: Session): Uint8Array | null {
  const ja4 = sessionJa4(s)
  if (ja4 === null) return null
  JA4_BUF.write(ja4, 0, JA4_LENGTH, 'latin1')
  return JA4_BUF
}

/**
 * The PROXY v2 TLV type that carries the client's JA4 to origins (36 ASCII bytes). §2.2.8 of HAProxy's
 * proxy-protocol.txt reserves 0xE0–0xEF for application-specific data; 0xE4 is hellogate's choice, away
 * from 0xE0–0xE2 that other software is known to use for its own data.
 */
export const PP2_TYPE_HELLOGATE_JA4 = 0xe4
