/**
 * routes/compile — RouteSpec[] (compileRoutes) or a stream of routes (RouteCompiler) → CompiledRoutes, once per
 * config load (STYLE C.2 rule 7).
 *
 * SEMANTICS (public, in the README's routing rules; tested by test/unit/routes/conformance.ts against
 * reference.ts):
 *  - `a.example.com` matches that name only (ASCII case-insensitive, one trailing dot ignored).
 *  - `*.example.com` matches any name ending in `.example.com` with ONE OR MORE labels in front
 *    (`x.example.com`, `x.y.example.com`), never `example.com` itself.
 *    NOTE: STYLE.md C.2 rule 8 says "wildcards match exactly one label" (tlsrouter). A route says where a
 *    subtree's connections go, not which names a certificate covers, so a wildcard here covers every
 *    depth below its suffix, as nginx's `server_name *.example.org` does ("matches not only
 *    www.example.org but www.sub.example.org as well"); a deeper route overrides it where needed.
 *  - Precedence: an exact pattern beats every wildcard; among wildcards the longest suffix wins
 *    (`*.b.example.com` beats `*.example.com` for `x.b.example.com`). No match → -1 (the caller's default).
 *  - Patterns are canonicalised by normalize.ts (IDNA → A-labels, lower-case, one trailing dot dropped);
 *    the same canonical pattern twice is RouteError.Duplicate, an invalid one RouteError.InvalidPattern.
 *    compileRoutes never throws on bad input: it reports the first bad spec's index and pattern as written.
 *
 * LAYOUT (types.ts, constants.ts): a trie over labels read right to left. The root is the empty suffix;
 * a node's name is its label + '.' + its parent's name. Every node is one variable-length record in the
 * Int32Array `nodes` (header: parent, exact route, wildcard route, label length; then the label bytes,
 * read through the byte view `nodeBytes`), and its id is the record's word offset. Children are NOT
 * stored per node: one global open-addressing hash `slots` maps (parent, label) → child id, keyed by
 * slotKey(FNV-1a of the label bytes right to left, parent).
 *
 * Why one hash for every node instead of find-my-way's per-node child arrays scanned linearly
 * (STYLE C.11 item 7): with 1M names under `.com` one node has 1M children, so a linear scan makes the
 * lookup depend on the table size. A hash probe costs the same at fanout 1 and fanout 1M: match.ts
 * computes the label hash in the same pass that finds the label's start, so what a small-fanout linear
 * path could save is one slotKey mix (~10 integer ops) and ~1.5 probes per label. Measured (thread CPU
 * time, min of 3 fresh processes, 3-label exact hit, same name repeated): 52 ns over 10 routes, 55 ns
 * over 1M routes; a misses-only lookup at the root is ~12 ns in all. A linear-scan variant was not
 * built: the whole saving it could bring is a few ns per label, for a second code path to keep correct.
 * bench/micro/routes-match.bench.ts is where these numbers are to be tracked.
 *
 * LIMITS: at most MAX_ROUTES routes and MAX_HEAP_WORDS of node records (RouteError.TooMany); targets
 * are int32 in [0, MAX_TARGET] (RouteError.InvalidTarget); pattern limits are normalize.ts's.
 *
 * Indexing: typed-array reads use `!` only on indexes this file produced itself (record ids and label
 * offsets below the heap's end, slots masked by slotMask), which is the range check STYLE C.8 asks for;
 * verifyTable checks the same invariants on a table from elsewhere, with explicit bounds.
 */
import {
  FNV_OFFSET, FNV_PRIME, MAX_HEAP_WORDS, MAX_LOAD_DEN, MAX_LOAD_NUM, MAX_ROUTES, MAX_TARGET,
  INFO_HAS_CHILDREN, INFO_LENGTH_MASK, MIN_SLOTS, N_EXACT, N_HEADER_WORDS, N_INFO, N_PARENT, N_WILDCARD, recordWords,
  recordWordsAt, ROOT, ROUTES_FORMAT_VERSION, SLOT_STRIDE, slotKey,
} from './constants.ts'
import { MAX_LABEL_LENGTH } from '../names/index.ts'
import { normalizePattern } from './normalize.ts'
import type { CompiledRoutes, RouteSpec, RouteTable } from './types.ts'

/** Route compile failures, as codes (routes/ never throws on bad input). */
export const RouteError = {
  /** the pattern is not a valid host name or `*.` wildcard (normalizePattern returned null) */
  InvalidPattern: 1,
  /** the same canonical pattern appeared earlier (`duplicateOf` says where) */
  Duplicate: 2,
  /** target is not an integer in [0, MAX_TARGET] */
  InvalidTarget: 3,
  /** more than MAX_ROUTES specs, or the node heap would pass MAX_HEAP_WORDS; `index` is the first spec over */
  TooMany: 4,
} as const
export type RouteError = typeof RouteError[keyof typeof RouteError]

export type CompileResult =
  | { ok: true, table: CompiledRoutes }
  | {
    ok: false
    error: RouteError
    /** index of the offending spec in the input */
    index: number
    /** its pattern as written in config */
    pattern: string
    /** Duplicate only: index of the earlier spec with the same canonical pattern */
    duplicateOf?: number
  }

const DOT = 0x2e // '.'
const STAR = 0x2a // '*'
const WILDCARD_PREFIX_LENGTH = 2 // '*.'
/** initial heap words per route (a 1-word-label leaf is 5 words, longer labels more); grown ×2 when short */
const INITIAL_WORDS_PER_ROUTE = 7

function nextPow2 (n: number): number {
  let p = MIN_SLOTS
  while (p < n) p *= 2
  return p
}

/** slot count that keeps `children` entries at load < MAX_LOAD_NUM / MAX_LOAD_DEN */
function slotCountFor (children: number): number {
  return nextPow2(Math.ceil(children * MAX_LOAD_DEN / MAX_LOAD_NUM) + 1)
}

/** FNV-1a of the record's label bytes, right to left (the order match.ts hashes them) */
function recordLabelHash (nodes: Int32Array, bytes: Uint8Array, id: number): number {
  const first = (id + N_HEADER_WORDS) * 4
  let h = FNV_OFFSET
  for (let j = first + (nodes[id + N_INFO]! & INFO_LENGTH_MASK) - 1; j >= first; j--) h = Math.imul(h ^ bytes[j]!, FNV_PRIME)
  return h
}

/** Growable trie under construction; finish() freezes it into a CompiledRoutes. */
class TrieBuilder {
  nodes: Int32Array
  bytes: Uint8Array
  /** words of `nodes` in use */
  end: number
  nodeCount = 1
  slots: Int32Array
  slotMask: number

  constructor (routes: number) {
    this.nodes = new Int32Array(N_HEADER_WORDS + routes * INITIAL_WORDS_PER_ROUTE)
    this.bytes = new Uint8Array(this.nodes.buffer)
    this.nodes[ROOT + N_PARENT] = -1
    this.nodes[ROOT + N_EXACT] = -1
    this.nodes[ROOT + N_WILDCARD] = -1
    this.nodes[ROOT + N_INFO] = 0
    this.end = recordWords(0)
    const slots = slotCountFor(routes)
    this.slots = new Int32Array(slots * SLOT_STRIDE)
    this.slotMask = slots - 1
  }

  /** node for the canonical name s[from, s.length), created with its missing ancestors; -1 when full */
  insert (s: string, from: number): number {
    let v = ROOT
    let labelEnd = s.length
    for (;;) {
      // label = s[labelStart, labelEnd); hash its bytes right to left, as match.ts does
      let h = FNV_OFFSET
      let i = labelEnd - 1
      for (; i >= from; i--) {
        const c = s.charCodeAt(i)
        if (c === DOT) break
        h = Math.imul(h ^ c, FNV_PRIME)
      }
      const labelStart = i + 1
      v = this.child(v, slotKey(h, v), s, labelStart, labelEnd)
      if (v < 0 || labelStart === from) return v
      labelEnd = labelStart - 1
    }
  }

  /** find or create the child of `parent` labelled s[start, end); -1 when the heap is full */
  child (parent: number, key: number, s: string, start: number, end: number): number {
    const slots = this.slots
    const mask = this.slotMask
    for (let slot = key & mask; ; slot = (slot + 1) & mask) {
      const id = slots[slot * SLOT_STRIDE + 1]!
      if (id === 0) return this.addNode(parent, key, s, start, end, slot)
      if (slots[slot * SLOT_STRIDE]! === key && this.nodes[id + N_PARENT]! === parent &&
        this.labelEquals(id, s, start, end)) return id
    }
  }

  labelEquals (id: number, s: string, start: number, end: number): boolean {
    if ((this.nodes[id + N_INFO]! & INFO_LENGTH_MASK) !== end - start) return false
    const bytes = this.bytes
    for (let i = start, j = (id + N_HEADER_WORDS) * 4; i < end; i++, j++) {
      if (bytes[j]! !== s.charCodeAt(i)) return false
    }
    return true
  }

  addNode (parent: number, key: number, s: string, start: number, end: number, slot: number): number {
    const len = end - start
    const id = this.end
    const next = id + recordWords(len)
    if (next > MAX_HEAP_WORDS) return -1
    if (next > this.nodes.length) {
      const bigger = new Int32Array(Math.min(MAX_HEAP_WORDS, Math.max(next, this.nodes.length * 2)))
      bigger.set(this.nodes.subarray(0, id))
      release(this.nodes)
      this.nodes = bigger
      this.bytes = new Uint8Array(bigger.buffer)
    }
    const nodes = this.nodes
    nodes[id + N_PARENT] = parent
    nodes[id + N_EXACT] = -1
    nodes[id + N_WILDCARD] = -1
    nodes[id + N_INFO] = len
    nodes[parent + N_INFO] = nodes[parent + N_INFO]! | INFO_HAS_CHILDREN
    const bytes = this.bytes
    for (let i = start, j = (id + N_HEADER_WORDS) * 4; i < end; i++, j++) bytes[j] = s.charCodeAt(i)
    this.end = next
    this.nodeCount++
    this.slots[slot * SLOT_STRIDE] = key
    this.slots[slot * SLOT_STRIDE + 1] = id
    // the root has no slot, so nodeCount − 1 slots are used
    const children = this.nodeCount - 1
    if (children * MAX_LOAD_DEN >= (this.slotMask + 1) * MAX_LOAD_NUM) this.rehash(slotCountFor(children))
    return id
  }

  /** rebuild `slots` with `count` slots, walking the records (growth, or shrink-to-fit in finish) */
  rehash (count: number, shared = false): void {
    const slots = alloc32(count * SLOT_STRIDE, shared)
    const mask = count - 1
    const nodes = this.nodes
    for (let id = recordWords(0); id < this.end; id += recordWordsAt(nodes, id)) {
      const key = slotKey(recordLabelHash(nodes, this.bytes, id), nodes[id + N_PARENT]!)
      let slot = key & mask
      while (slots[slot * SLOT_STRIDE + 1]! !== 0) slot = (slot + 1) & mask
      slots[slot * SLOT_STRIDE] = key
      slots[slot * SLOT_STRIDE + 1] = id
    }
    release(this.slots)
    this.slots = slots
    this.slotMask = mask
  }

  finish (patterns: string[], targets: Int32Array, routeNode: Int32Array, exactCount: number, shared: boolean): CompiledRoutes {
    const fit = slotCountFor(this.nodeCount - 1)
    if (fit < this.slotMask + 1) this.rehash(fit, shared)
    // already the right size: a copy onto shared memory costs a memcpy, a rehash a hash probe per node
    else if (shared) this.slots = sharedCopy(this.slots, true)
    const nodes = alloc32(this.end, shared)
    nodes.set(this.nodes.subarray(0, this.end))
    release(this.nodes)
    // the builder's arrays are garbage from here; dropping them now lets a GC during the caller's next
    // steps free them even while the builder itself is still referenced
    this.nodes = nodes
    this.bytes = new Uint8Array(nodes.buffer)
    return {
      version: ROUTES_FORMAT_VERSION,
      size: patterns.length,
      exactCount,
      wildcardCount: patterns.length - exactCount,
      nodeCount: this.nodeCount,
      nodes,
      nodeBytes: new Uint8Array(nodes.buffer),
      slots: this.slots,
      slotMask: this.slotMask,
      targets,
      routeNode,
      patterns,
    }
  }
}

function isValidTarget (t: unknown): t is number {
  return typeof t === 'number' && Number.isInteger(t) && t >= 0 && t <= MAX_TARGET
}

/** A compile fault, as compileRoutes reports it (the `ok: false` branch of CompileResult). */
export type CompileFault = Extract<CompileResult, { ok: false }>

/** targets a RouteCompiler reserves before it knows how many routes come; doubled when short */
const MIN_TARGETS = 64

/**
 * Streaming compile: routes are added one at a time, in config order (route i gets index i), and the
 * table is built as they arrive, so a caller that reads routes from a file or a key-value store never
 * holds a RouteSpec per route. compileRoutes is a loop over it. `add` returns null, or the fault of that
 * route (the same codes, index and pattern compileRoutes reports); after a fault the compiler takes no
 * more routes (each later `add` returns the same fault) and finish() must not be called.
 * `expected` sizes the arrays for that many routes (a hint: they grow past it).
 */
export class RouteCompiler {
  #builder: TrieBuilder
  #patterns: string[] = []
  #targets: Int32Array
  /** route index → node id, grown with #targets */
  #routeNode: Int32Array
  #exactCount = 0
  #fault: CompileFault | null = null

  constructor (expected = 0) {
    this.#builder = new TrieBuilder(Math.max(0, Math.min(expected, MAX_ROUTES)))
    this.#targets = new Int32Array(Math.max(MIN_TARGETS, Math.min(expected, MAX_ROUTES)))
    this.#routeNode = new Int32Array(this.#targets.length)
  }

  /** routes added so far */
  get size (): number {
    return this.#patterns.length
  }

  /** Add route `size` (its pattern as written, its target); null when it is in, else its fault. */
  add (pattern: string, target: number): CompileFault | null {
    if (this.#fault !== null) return this.#fault
    const i = this.#patterns.length
    if (i >= MAX_ROUTES) return this.#stop({ ok: false, error: RouteError.TooMany, index: i, pattern: String(pattern) })
    if (!isValidTarget(target)) return this.#stop({ ok: false, error: RouteError.InvalidTarget, index: i, pattern })
    const canonical = normalizePattern(pattern)
    if (canonical === null) return this.#stop({ ok: false, error: RouteError.InvalidPattern, index: i, pattern })
    const builder = this.#builder
    const wildcard = canonical.charCodeAt(0) === STAR
    const node = builder.insert(canonical, wildcard ? WILDCARD_PREFIX_LENGTH : 0)
    if (node < 0) return this.#stop({ ok: false, error: RouteError.TooMany, index: i, pattern })
    const field = node + (wildcard ? N_WILDCARD : N_EXACT)
    const earlier = builder.nodes[field]!
    if (earlier >= 0) return this.#stop({ ok: false, error: RouteError.Duplicate, index: i, pattern, duplicateOf: earlier })
    builder.nodes[field] = i
    if (!wildcard) this.#exactCount++
    this.#patterns.push(canonical)
    if (i === this.#targets.length) {
      this.#targets = grown(this.#targets)
      this.#routeNode = grown(this.#routeNode)
    }
    this.#targets[i] = target
    this.#routeNode[i] = node
    return null
  }

  #stop (fault: CompileFault): CompileFault {
    this.#fault = fault
    return fault
  }

  /**
   * The immutable table of the routes added. `shared`: its typed arrays are allocated on
   * SharedArrayBuffers (what shareTable would copy them onto), so a table bound for worker threads is
   * built there once instead of built and then copied. Call it once, as the last call: it frees the
   * compiler's own arrays (`release`), so the compiler cannot take more routes after it.
   */
  finish (shared = false): CompiledRoutes {
    if (this.#fault !== null) throw new Error('RouteCompiler.finish after a fault')
    const n = this.#patterns.length
    const targets = alloc32(n, shared)
    targets.set(this.#targets.subarray(0, n))
    release(this.#targets)
    const routeNode = alloc32(n, shared)
    routeNode.set(this.#routeNode.subarray(0, n))
    release(this.#routeNode)
    return this.#builder.finish(this.#patterns, targets, routeNode, this.#exactCount, shared)
  }
}

/** `a` copied into an array twice as long (at most MAX_ROUTES) */
function grown (a: Int32Array): Int32Array {
  const bigger = new Int32Array(Math.min(MAX_ROUTES, a.length * 2))
  bigger.set(a)
  release(a)
  return bigger
}

/** an Int32Array of `n` words, on a SharedArrayBuffer when `shared` */
function alloc32 (n: number, shared: boolean): Int32Array {
  return shared ? new Int32Array(new SharedArrayBuffer(n * 4)) : new Int32Array(n)
}

/**
 * Compile patterns (any form normalizePattern accepts) into the immutable table. Stops at the first
 * invalid spec (input order) and reports it; never throws on bad input.
 */
export function compileRoutes (specs: readonly RouteSpec[]): CompileResult {
  const n = specs.length
  if (n > MAX_ROUTES) {
    return { ok: false, error: RouteError.TooMany, index: MAX_ROUTES, pattern: String(specs[MAX_ROUTES]?.pattern) }
  }
  const compiler = new RouteCompiler(n)
  for (let i = 0; i < n; i++) {
    const spec = specs[i]
    if (typeof spec !== 'object' || spec === null) {
      // a hole or a non-object in the array: a caller bug, still reported rather than thrown
      return { ok: false, error: RouteError.InvalidPattern, index: i, pattern: String(spec) }
    }
    const fault = compiler.add(spec.pattern, spec.target)
    if (fault !== null) return fault
  }
  return { ok: true, table: compiler.finish() }
}

/** Summary for `hellogate check` and logs. `bytes` counts the typed arrays, not the pattern strings. */
export function describeTable (table: RouteTable): { exact: number, wildcard: number, nodes: number, bytes: number } {
  return {
    exact: table.exactCount,
    wildcard: table.wildcardCount,
    nodes: table.nodeCount,
    bytes: table.nodes.byteLength + table.slots.byteLength + table.targets.byteLength + table.routeNode.byteLength,
  }
}

/**
 * The RouteTable of `table` (no pattern strings: a worker that needs one rebuilds it, patterns.ts) with
 * its typed arrays on SharedArrayBuffers, `nodes` and `nodeBytes` on the same one, so that posting it to
 * N workers shares one copy of the memory instead of making N (structured clone of a view over a
 * SharedArrayBuffer shares, and keeps two views of one buffer on one buffer). Arrays already shared that
 * way (RouteCompiler.finish(true)) are kept as they are. Copying each typed array separately would give
 * nodeBytes its own buffer: lookups would still work, but the heap would be held twice and verifyTable
 * would refuse the table.
 */
export function shareTable (table: RouteTable): RouteTable {
  let { nodes, nodeBytes } = table
  if (!isShared(nodes) || nodeBytes.buffer !== nodes.buffer) {
    nodes = sharedCopy(nodes)
    nodeBytes = new Uint8Array(nodes.buffer)
  }
  // fields named one by one: a CompiledRoutes' `patterns` must not ride along to the workers
  return {
    version: table.version,
    size: table.size,
    exactCount: table.exactCount,
    wildcardCount: table.wildcardCount,
    nodeCount: table.nodeCount,
    nodes,
    nodeBytes,
    slots: isShared(table.slots) ? table.slots : sharedCopy(table.slots),
    slotMask: table.slotMask,
    targets: isShared(table.targets) ? table.targets : sharedCopy(table.targets),
    routeNode: isShared(table.routeNode) ? table.routeNode : sharedCopy(table.routeNode),
  }
}

function isShared (a: Int32Array): boolean {
  return a.buffer instanceof SharedArrayBuffer
}

/** `a` copied onto a SharedArrayBuffer; `consume`: `a` is a builder array nobody reads after (released) */
function sharedCopy (a: Int32Array, consume = false): Int32Array {
  const c = new Int32Array(new SharedArrayBuffer(a.byteLength))
  c.set(a)
  if (consume) release(a)
  return c
}

/**
 * Free a builder array's memory now (ArrayBuffer.prototype.transfer(0) detaches it, and its backing
 * store goes with the last reference) instead of at the next full GC. At a million routes the
 * builder's arrays are ~80 MB that would otherwise still be counted while the workers start, which is
 * when a `serve` start peaks. Only for arrays this file allocated, never shared, never handed out.
 */
function release (a: Int32Array): void {
  const buffer = a.buffer as ArrayBuffer & { transfer?: (length: number) => ArrayBuffer }
  if (!(buffer instanceof SharedArrayBuffer) && typeof buffer.transfer === 'function') buffer.transfer(0)
}

/** mark route index `route` as placed; false when out of range or placed twice */
function claimRoute (seen: Uint8Array, route: number): boolean {
  if (route < 0 || route >= seen.length || seen[route] !== 0) return false
  seen[route] = 1
  return true
}

/**
 * Full integrity check of a table, e.g. one received through postMessage: shapes, every id and index in
 * range, every node reachable through exactly one slot whose key matches its parent and label.
 * O(heap words + slots). matchServerName relies on these invariants (its reads are unchecked), so a
 * worker should verify a table it did not compile itself before swapping it in.
 */
export function verifyTable (t: unknown): t is RouteTable {
  if (typeof t !== 'object' || t === null) return false
  const r = t as Partial<Record<keyof RouteTable, unknown>>
  if (r.version !== ROUTES_FORMAT_VERSION) return false
  const { nodes, nodeBytes, slots, targets, routeNode, size, nodeCount, slotMask, exactCount, wildcardCount } = r
  if (!(nodes instanceof Int32Array) || !(nodeBytes instanceof Uint8Array) || !(slots instanceof Int32Array) ||
    !(targets instanceof Int32Array) || !(routeNode instanceof Int32Array)) return false
  if (typeof size !== 'number' || typeof nodeCount !== 'number' || typeof slotMask !== 'number' ||
    typeof exactCount !== 'number' || typeof wildcardCount !== 'number') return false
  if (!Number.isInteger(size) || size < 0 || targets.length !== size || routeNode.length !== size ||
    exactCount + wildcardCount !== size || exactCount < 0 || wildcardCount < 0) return false
  // nodeBytes must view exactly the bytes of nodes
  if (nodeBytes.buffer !== nodes.buffer || nodeBytes.byteOffset !== nodes.byteOffset ||
    nodeBytes.byteLength !== nodes.byteLength || nodes.length > MAX_HEAP_WORDS) return false
  const slotCount = slotMask + 1
  if (!Number.isInteger(slotMask) || slotCount < MIN_SLOTS || (slotCount & slotMask) !== 0 ||
    slots.length !== slotCount * SLOT_STRIDE || (nodeCount - 1) * MAX_LOAD_DEN >= slotCount * MAX_LOAD_NUM) return false
  for (let i = 0; i < size; i++) {
    if (!isValidTarget(targets[i])) return false
  }
  // walk the records: root first, parents before children, labels 1..63 inside the heap
  const words = nodes.length
  if (words < recordWords(0) || nodes[ROOT + N_PARENT] !== -1 || (nodes[ROOT + N_INFO]! & INFO_LENGTH_MASK) !== 0) return false
  const isRecord = new Uint8Array(words)
  const seen = new Uint8Array(size)
  let exact = 0
  let wildcard = 0
  let count = 0
  const hasChildren = new Uint8Array(words)
  for (let id = ROOT; id < words;) {
    const info = nodes[id + N_INFO]!
    const len = info & INFO_LENGTH_MASK
    if ((info & ~(INFO_LENGTH_MASK | INFO_HAS_CHILDREN)) !== 0) return false
    if (id !== ROOT) {
      const parent = nodes[id + N_PARENT]!
      if (len < 1 || len > MAX_LABEL_LENGTH || parent < 0 || parent >= id || isRecord[parent] !== 1) return false
      hasChildren[parent] = 1
    }
    const next = id + recordWords(len)
    if (next > words) return false
    const e = nodes[id + N_EXACT]!
    const w = nodes[id + N_WILDCARD]!
    if (e !== -1) {
      if (!claimRoute(seen, e)) return false
      exact++
    }
    if (w !== -1) {
      if (!claimRoute(seen, w)) return false
      wildcard++
    }
    isRecord[id] = 1
    count++
    id = next
  }
  if (count !== nodeCount || exact !== exactCount || wildcard !== wildcardCount) return false
  // every route was placed once (the counts above), so routeNode must name the one record that holds it
  for (let i = 0; i < size; i++) {
    const id = routeNode[i]!
    if (id < 0 || id >= words || isRecord[id] !== 1 || (nodes[id + N_EXACT] !== i && nodes[id + N_WILDCARD] !== i)) return false
  }
  // the has-children flag must be exact: a clear flag on a parent would hide its children from lookups
  for (let id = ROOT; id < words; id += recordWordsAt(nodes, id)) {
    if (((nodes[id + N_INFO]! & INFO_HAS_CHILDREN) !== 0) !== (hasChildren[id] === 1)) return false
  }
  // every child sits in exactly one slot, under its own key, with no empty slot between home and it
  let used = 0
  for (let slot = 0; slot < slotCount; slot++) {
    const id = slots[slot * SLOT_STRIDE + 1]!
    if (id === 0) continue
    if (id < 0 || id >= words || isRecord[id] !== 1) return false
    isRecord[id] = 2
    used++
    const key = slotKey(recordLabelHash(nodes, nodeBytes, id), nodes[id + N_PARENT]!)
    if (slots[slot * SLOT_STRIDE] !== key) return false
    for (let s = key & slotMask; s !== slot; s = (s + 1) & slotMask) {
      if (slots[s * SLOT_STRIDE + 1] === 0) return false
    }
  }
  return used === nodeCount - 1
}
