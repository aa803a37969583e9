/**
 * upstreams/hash — the 32-bit hashes behind Maglev: server keys (at table build) and client addresses
 * (per connection). Pure, no allocation.
 *
 * FNV-1a over UTF-16 code units, finished with MurmurHash3's fmix32 avalanche: FNV alone leaves the
 * low bits of short, similar strings (`10.0.0.1`, `10.0.0.2`) correlated, and Maglev takes them
 * modulo the table size. The results are stable across processes and releases: a client keeps its
 * server across restarts and reloads as long as the pool is unchanged. Changing these functions
 * moves clients; do it only on purpose.
 */

const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193

/** MurmurHash3 fmix32: every input bit affects every output bit. */
export function fmix32 (h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** Hash of `text` with a seed (different seeds give independent hashes: Maglev's offset and skip). */
export function hashString (text: string, seed: number): number {
  let h = (FNV_OFFSET ^ seed) >>> 0
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME)
  return fmix32(h)
}

/**
 * The per-connection key of `balance: hash`: the client's address without its port, so every
 * connection of one client lands on one server. `undefined` (socket already gone) hashes as ''.
 */
export function hashClientAddress (address: string | undefined): number {
  return hashString(address ?? '', 0)
}
