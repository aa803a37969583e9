/**
 * routes/constants — compile limits and the compiled-table layout shared by compile.ts (writer), match.ts
 * (hot-path reader) and reference.ts (oracle). The name limits (63-byte labels, 253-byte names) are
 * names/'s: the table stores labels of at most names' MAX_LABEL_LENGTH bytes in the 8-bit INFO_LENGTH_MASK.
 *
 * Contract: every number here is part of the CompiledRoutes format (`ROUTES_FORMAT_VERSION`): change
 * one and bump the version, because a table compiled by one build may be posted to a worker of another.
 * Pure: no imports, no allocation beyond module load.
 */

/**
 * Format version of RouteTable (types.ts); 2 = one node heap of variable-length records + global child
 * hash; 3 = plus `routeNode` (route → node), the patterns no longer part of the posted table.
 */
export const ROUTES_FORMAT_VERSION = 3

// ---- pattern input ----------------------------------------------------------------------------------

/**
 * Cap on a pattern as written in config, before IDNA. UTS #46 mapping can delete characters (U+00AD soft
 * hyphen maps to nothing), so the raw string may legitimately exceed 253, but nothing valid is 4× longer;
 * the cap bounds the work domainToASCII does on a hostile or broken config file.
 */
export const MAX_PATTERN_INPUT_LENGTH = 1024

// ---- compile limits ---------------------------------------------------------------------------------

/**
 * Most routes one table may hold: 2^22 = 4,194,304, 4× the 1M-route table the benchmarks use as the
 * largest realistic deployment (~90 bytes a route, so ~380 MB per copy, and every worker holds a copy).
 * It also keeps route indices far inside int32.
 */
export const MAX_ROUTES = 4_194_304
/**
 * Most int32 words in the node heap (2^29 words = 2 GiB). Node ids are word offsets and label byte
 * offsets are computed as int32 (word << 2), which needs words ≤ 2^29; the slot array then holds at most
 * 2^28 slots (a record is ≥ 5 words). A 1M-route table of `<7–13 letters>.com` uses ~7.2M words.
 */
export const MAX_HEAP_WORDS = 536_870_912
/** Largest route target accepted; targets are stored as int32 and -1 means "no route". */
export const MAX_TARGET = 0x7fffffff

// ---- node heap (CompiledRoutes.nodes / nodeBytes) ---------------------------------------------------

/**
 * Every node is one variable-length record in a single Int32Array, and its id is the record's word
 * offset: a 4-word header, then the label's lower-case bytes packed 4 per word (read through the
 * Uint8Array view nodeBytes over the same buffer). Header and label share one or two cache lines, so a
 * child lookup costs two random memory accesses (the hash slot, then the record) instead of three with
 * separate parallel arrays. With 1M routes the table (~49 MB) does not fit in cache and those accesses
 * are what a lookup pays for: cycling over 1024 names of a 1M-route table, an exact hit went from 107 to
 * 80 ns (min of 3 fresh processes, thread CPU time) against the parallel-array layout of the first draft.
 */
export const N_HEADER_WORDS = 4
/** word: id (word offset) of the parent record; -1 for the root */
export const N_PARENT = 0
/** word: route index (into patterns/targets) of the exact pattern naming this node, -1 if none */
export const N_EXACT = 1
/** word: route index of the pattern `*.<this node's name>`, -1 if none */
export const N_WILDCARD = 2
/**
 * word: bits 0–7 the label length in bytes (1..63; 0 for the root; the bytes start at byte
 * (id + N_HEADER_WORDS) × 4), bit 8 INFO_HAS_CHILDREN
 */
export const N_INFO = 3
/** N_INFO bits holding the label length */
export const INFO_LENGTH_MASK = 0xff
/**
 * N_INFO flag: the node has at least one child. Lets a lookup that reaches a leaf skip the hash probe for
 * the next label: `www.customer.net` under a leaf `*.customer.net` then costs one random memory access
 * less (the common wildcard shape; same 1M-route run: wildcard hit 137 → 99 ns).
 */
export const INFO_HAS_CHILDREN = 0x100
/** id of the root (the empty suffix) — word 0; never anybody's child, so id 0 also marks an empty slot */
export const ROOT = 0

/** words taken by a record whose label has `len` bytes */
export function recordWords (len: number): number {
  return N_HEADER_WORDS + ((len + 3) >> 2)
}

/** words taken by the record at `id` (its label length read from its info word) */
export function recordWordsAt (nodes: Int32Array, id: number): number {
  return recordWords(nodes[id + N_INFO]! & INFO_LENGTH_MASK)
}

// ---- child hash (CompiledRoutes.slots) --------------------------------------------------------------

/**
 * int32 per hash slot: [key, child node id]. Keeping the 32-bit key in the slot lets a probe reject a
 * foreign entry without touching the node record (one cache miss saved per collision).
 */
export const SLOT_STRIDE = 2
/**
 * Highest load factor of the open-addressing table. Linear probing at α = 0.5 costs ~1.5 probes for a hit
 * and ~2.5 for a miss (Knuth, TAOCP vol. 3 §6.4); at 8 bytes a slot that is 16–32 bytes per node.
 */
export const MAX_LOAD_NUM = 1
export const MAX_LOAD_DEN = 2
/** smallest slot count (power of two) */
export const MIN_SLOTS = 8

/** FNV-1a 32-bit offset basis and prime (Fowler/Noll/Vo, draft-eastlake-fnv). */
export const FNV_OFFSET = 0x811c9dc5 | 0
export const FNV_PRIME = 0x01000193

/**
 * Slot key of the child labelled with FNV-1a hash `labelHash` under node `parent`. The label hash is taken
 * over the label's lower-case bytes from RIGHT to LEFT (the order match.ts meets them while it looks for
 * the label's start). Parent is spread by the golden-ratio multiplier, then murmur3's fmix32 finalizer
 * mixes everything into the low bits that pick the slot. Both steps are bijective for a fixed parent, so
 * two siblings share a key only if their label hashes collide; bytes are always compared on a key match.
 */
export function slotKey (labelHash: number, parent: number): number {
  let h = (labelHash + Math.imul(parent, 0x9e3779b1)) | 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h
}
