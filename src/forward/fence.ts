/**
 * forward/fence — which names forward mode may dial and which addresses it may connect to. Pure: names and
 * address bytes in, verdicts out (no node:*; dial.ts does the DNS and the socket).
 *
 * Contract:
 *  - `nameAllowed(name, suffixes)`: the name (lower case, at most one trailing dot) is a valid host name
 *    (names/) strictly under one of the suffixes (`.example.net`). Anything else is never resolved.
 *  - `buildFence(allow, own)` → an AddressFence: every address in FORBIDDEN_CIDRS (loopback, private,
 *    link-local, CGNAT, multicast, unspecified, broadcast, reserved and documentation ranges, and IPv6
 *    ranges that embed or translate to IPv4: NAT64, 6to4, Teredo) and every address in `own` (this host's
 *    interface and listen addresses) is refused unless it is inside an `allow` CIDR. IPv4-mapped IPv6 is
 *    judged as the IPv4 address (access/ cidr.ts does the mapping).
 *  - `addressAllowed(fence, text)`: the verdict for one resolved address in text form; text that is not an
 *    address is refused. `selfLoop(fence, text, port)`: the address and port are one of our own listeners
 *    (an exact listen address, or a wildcard listener's port on any own or loopback address): refused even
 *    when `allow` covers the address, because a forward route dialing ourselves would loop.
 *
 * Limits: the lists are compiled once per config (access/ sorted ranges, one binary search per lookup).
 */
import { AccessList, AccessVerdict, checkAccessText, compileAccessList } from '../access/index.ts'
import { checkHostNameText } from '../names/index.ts'

/**
 * Addresses no forward route dials unless the operator allows them: each range with the registry entry
 * that reserves it (IANA IPv4/IPv6 Special-Purpose Address Registries, RFC 6890).
 */
export const FORBIDDEN_CIDRS: readonly string[] = [
  '0.0.0.0/8', // "this network", unspecified (RFC 791, RFC 1122 §3.2.1.3)
  '10.0.0.0/8', // private (RFC 1918)
  '100.64.0.0/10', // shared address space, carrier-grade NAT (RFC 6598)
  '127.0.0.0/8', // loopback (RFC 1122)
  '169.254.0.0/16', // link-local, cloud metadata services live here (RFC 3927)
  '172.16.0.0/12', // private (RFC 1918)
  '192.0.0.0/24', // IETF protocol assignments (RFC 6890)
  '192.0.2.0/24', // documentation TEST-NET-1 (RFC 5737)
  '192.88.99.0/24', // 6to4 relay anycast, deprecated (RFC 7526)
  '192.168.0.0/16', // private (RFC 1918)
  '198.18.0.0/15', // benchmarking (RFC 2544)
  '198.51.100.0/24', // documentation TEST-NET-2 (RFC 5737)
  '203.0.113.0/24', // documentation TEST-NET-3 (RFC 5737)
  '224.0.0.0/4', // multicast (RFC 5771)
  '240.0.0.0/4', // reserved, and 255.255.255.255 limited broadcast (RFC 1112, RFC 919)
  '::/128', // unspecified (RFC 4291)
  '::1/128', // loopback (RFC 4291)
  '64:ff9b::/96', // NAT64 well-known prefix: reaches any IPv4 address, private ones included (RFC 6052)
  '64:ff9b:1::/48', // local-use NAT64 (RFC 8215)
  '100::/64', // discard-only (RFC 6666)
  '2001::/23', // IETF protocol assignments, Teredo 2001::/32 included (RFC 2928, RFC 4380)
  '2001:db8::/32', // documentation (RFC 3849)
  '2002::/16', // 6to4: embeds an IPv4 address (RFC 3056)
  'fc00::/7', // unique local (RFC 4193)
  'fe80::/10', // link-local (RFC 4291)
  'fec0::/10', // site-local, deprecated (RFC 3879)
  'ff00::/8', // multicast (RFC 4291)
]

export class AddressFence {
  /** forbidden ranges plus own addresses, as a deny list */
  readonly refused: AccessList
  /** the operator's exceptions, as an allow list (null: none) */
  readonly allow: AccessList | null
  /** own listeners: exact `ip|port` keys, and ports of wildcard listeners */
  readonly listenExact: ReadonlySet<string>
  readonly listenAnyPort: ReadonlySet<number>
  /** own addresses (interfaces, specific listen hosts), text as given */
  readonly own: ReadonlySet<string>

  constructor (refused: AccessList, allow: AccessList | null, listenExact: Set<string>, listenAnyPort: Set<number>, own: Set<string>) {
    this.refused = refused
    this.allow = allow
    this.listenExact = listenExact
    this.listenAnyPort = listenAnyPort
    this.own = own
  }
}

export interface Listener {
  readonly host: string
  readonly port: number
}

function isWildcard (host: string): boolean {
  return host === '' || host === '0.0.0.0' || host === '::' || host === '[::]'
}

/**
 * The fence for a config: `allow` CIDRs (validated by config/), this host's own addresses (interfaces;
 * dial.ts reads them), and its listeners (for the loop rule). Own addresses that are not addresses (a
 * listen host name) are skipped. Returns null only when an allow entry does not compile (config/ checked it).
 */
export function buildFence (allow: readonly string[], ownAddresses: readonly string[], listeners: readonly Listener[]): AddressFence | null {
  const own = new Set<string>()
  const deny = [...FORBIDDEN_CIDRS]
  for (const a of ownAddresses) {
    if (!isAddress(a)) continue
    own.add(a)
    deny.push(a)
  }
  const exact = new Set<string>()
  const anyPort = new Set<number>()
  for (const l of listeners) {
    if (isWildcard(l.host)) anyPort.add(l.port)
    else exact.add(l.host + '|' + String(l.port))
  }
  const refused = compileAccessList([], dedupeValid(deny))
  const allowList = allow.length === 0 ? null : compileAccessList(allow, [])
  if (!(refused instanceof AccessList)) return null
  if (allowList !== null && !(allowList instanceof AccessList)) return null
  return new AddressFence(refused, allowList, exact, anyPort, own)
}

/** Entries that compile on their own (an interface address with a zone id, e.g. fe80::1%eth0, does not). */
function dedupeValid (entries: readonly string[]): string[] {
  const out: string[] = []
  for (const e of new Set(entries)) {
    const one = compileAccessList([], [e])
    if (one instanceof AccessList) out.push(e)
  }
  return out
}

/** The fence's verdict on one resolved address (text): true = may be dialed. */
export function addressAllowed (fence: AddressFence, text: string): boolean {
  const v = checkAccessText(fence.refused, text)
  if (v === AccessVerdict.Allow) {
    // not forbidden; but something that is not an address at all reads as "no address", never allowed
    return isAddress(text)
  }
  return fence.allow !== null && checkAccessText(fence.allow, text) === AccessVerdict.Allow
}

const CHECK = compileAccessList(['0.0.0.0/0', '::/0'], [])

function isAddress (text: string): boolean {
  return CHECK instanceof AccessList && checkAccessText(CHECK, text) === AccessVerdict.Allow
}

const LOOPBACK = compileAccessList(['127.0.0.0/8', '::1/128', '::/128', '0.0.0.0/8'], [])

/** True when address:port is one of our own listeners (module header): never dialed, whatever `allow` says. */
export function selfLoop (fence: AddressFence, text: string, port: number): boolean {
  if (fence.listenExact.has(text + '|' + String(port))) return true
  if (!fence.listenAnyPort.has(port)) return false
  if (fence.own.has(text)) return true
  return LOOPBACK instanceof AccessList && checkAccessText(LOOPBACK, text) === AccessVerdict.Allow
}

/** True when `name` is a host name strictly under one of `suffixes` (lower case, leading dot). */
export function nameAllowed (name: string, suffixes: readonly string[]): boolean {
  const end = checkHostNameText(name)
  if (end < 0) return false
  const bare = end === name.length ? name : name.slice(0, end)
  for (const s of suffixes) {
    if (bare.length > s.length && bare.endsWith(s)) return true
  }
  return false
}
