/**
 * routes/types — the compiled, immutable domain→origin table and the route spec it is built from.
 *
 * Contract: RouteTable is made only of numbers and typed arrays, so it survives structured clone /
 * postMessage to worker threads unchanged (verifyTable() re-checks it on arrival; shareTable() puts it on
 * SharedArrayBuffers so N workers hold one copy) and is swapped whole on reload (STYLE C.2 rule 7).
 * CompiledRoutes is what a compile returns: the RouteTable plus the canonical pattern strings, which the
 * main thread keeps (config's RouteEntry.pattern) and never posts: a worker that needs a route's pattern
 * (the access log) rebuilds it from the trie with patternOf (patterns.ts). Nothing mutates either after
 * the compile returns.
 * The layout constants (record fields, strides, hash) live in constants.ts; compile.ts documents the trie.
 */

/** A route as written in config, before compilation. */
export interface RouteSpec {
  /** `a.example.com`, `*.example.net`, Unicode allowed (converted to A-labels) */
  pattern: string
  /** index into the caller's origin list (CompiledRoutes.targets carries it back); int32 ≥ 0 */
  target: number
}

/**
 * Trie over labels, right to left (`www.example.com` is root → `com` → `example` → `www`). Node 0 is the
 * root. Children are found through one global open-addressing hash keyed by (parent, label).
 */
export interface RouteTable {
  /** format version of this layout (constants.ts ROUTES_FORMAT_VERSION); bumped when the layout changes */
  readonly version: 3
  /** number of distinct patterns compiled (= targets.length = routeNode.length) */
  readonly size: number
  /** how many of them are exact names */
  readonly exactCount: number
  /** how many of them are `*.` wildcards */
  readonly wildcardCount: number
  /** number of trie nodes, root included */
  readonly nodeCount: number
  /**
   * The node heap: one variable-length record per node, its id = its word offset (constants.ts): [N_PARENT]
   * parent id (-1 for the root), [N_EXACT] route index of the exact pattern ending here or -1,
   * [N_WILDCARD] route index of `*.<this name>` or -1, [N_INFO] label length | INFO_HAS_CHILDREN, then the label's
   * lower-case bytes, 4 per word. The root is the record at word 0.
   */
  readonly nodes: Int32Array
  /** byte view of the same buffer as `nodes` (structured clone keeps the two views sharing it) */
  readonly nodeBytes: Uint8Array
  /**
   * Open-addressing hash (linear probing), SLOT_STRIDE int32 per slot: [key = slotKey(labelHash, parent),
   * child id]. Child id 0 marks an empty slot (the root is nobody's child). Slot count is a power of
   * two and less than half full.
   */
  readonly slots: Int32Array
  /** slot count − 1 */
  readonly slotMask: number
  /** target per route, in input order */
  readonly targets: Int32Array
  /**
   * Route index → id of the node its pattern names (the route is that node's N_EXACT or, for `*.`, its
   * N_WILDCARD): what patternOf walks up from. 4 bytes a route, shared with the rest of the table.
   */
  readonly routeNode: Int32Array
}

/** A compile's result: the table, and its patterns as strings for the thread that compiled it. */
export interface CompiledRoutes extends RouteTable {
  /** the compiled patterns in canonical form (A-label, lower-case, `*.` prefix), in input order */
  readonly patterns: readonly string[]
}
