/**
 * The compiled, immutable domain→origin table. Only typed arrays and plain arrays of strings/numbers,
 * so it survives structured clone / postMessage to worker threads unchanged and can be swapped whole.
 */

/** A route as written in config, before compilation. */
export interface RouteSpec {
  /** `a.example.com`, `*.example.net`, Unicode allowed (converted to A-labels) */
  pattern: string
  /** index into the caller's origin list (CompiledRoutes.targets carries it back) */
  target: number
}

/**
 * Trie over labels, right to left. Node 0 is the root.
 * Layout documented in compile.ts. All arrays are frozen in spirit: never mutated after compile.
 */
export interface CompiledRoutes {
  /** format version of this layout; bump when the layout changes */
  readonly version: 1
  /** number of distinct patterns compiled */
  readonly size: number
  /** per node: first child edge index in edge arrays */
  readonly nodeFirstEdge: Int32Array
  /** per node: number of child edges */
  readonly nodeEdgeCount: Int32Array
  /** per node: target for an exact name ending at this node, -1 if none */
  readonly nodeExact: Int32Array
  /** per node: target for `*.<name of this node>`, -1 if none */
  readonly nodeWildcard: Int32Array
  /** per edge: child node index */
  readonly edgeChild: Int32Array
  /** per edge: offset of the label bytes in labelBytes */
  readonly edgeLabelStart: Int32Array
  /** per edge: length of the label */
  readonly edgeLabelLength: Uint8Array
  /** label bytes (lower-case A-labels), concatenated */
  readonly labelBytes: Uint8Array
  /** the compiled patterns in canonical form (A-label, lower-case), for summaries and logs */
  readonly patterns: readonly string[]
  /** target per pattern, same order as patterns */
  readonly targets: Int32Array
}
