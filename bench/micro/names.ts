/**
 * Deterministic, realistic route tables and lookup queries for the route microbenchmarks.
 *
 * Contract:
 *  - `generateRoutes(n)` returns n distinct route specs; the same n always gives the same specs
 *    (seeded PRNG, no Math.random). Route i has target i, so a lookup that returns the wrong route is
 *    caught by comparing targets. Every 10th route (i % 10 === 9) is a `*.` wildcard: exactly 10%.
 *    The exact names are a mix a SaaS edge proxy sees:
 *      50% tenant subdomains of a provider zone  `customer100123.example-cdn.com`
 *      25% customer apex domains                 `northwind100124.de`
 *      25% a service name under such a domain    `api.bluefox100125.co.uk`
 *    and the wildcards are `*.tenant100129.edge-hosting.net` or `*.lumen100139.io`. Every name carries
 *    its own id (FIRST_ID + i), which is what makes the names distinct and the queries below safe.
 *  - `generateRoutes(m)` is a prefix of `generateRoutes(n)` for m < n (one sequential PRNG stream), so
 *    queries built from the small table are valid, with the same answers, on the large one.
 *  - `exactQueries` / `wildcardQueries` / `missQueries` build a `QuerySet`: `count` names packed in one
 *    Buffer with their offsets and the target each lookup must return (-1 for a miss). Exact queries are
 *    exact route names; wildcard queries are `<label>.<suffix>` under a wildcard route (and never an exact
 *    name); misses are exact names of the table with the id replaced by one past any generated table
 *    (no route and no wildcard covers them; the lookup walks as deep as a hit and fails on the id label).
 *
 * Names are flat strings (JSON round trip), as a config loader produces, not template-literal ropes.
 *
 * Limits: n ≤ MAX_GENERATED (ids stay 6-7 digits, names stay well under 253 characters); all names are
 * lower-case ASCII (the trie folds case anyway; the Map baseline lower-cases explicitly).
 */

/** Seed of every stream here; change it and every table and query set changes with it. */
export const SEED = 0x5eed_c0de

/** First id: keeps tenant ids 6-7 digits long like real customer numbers. */
const FIRST_ID = 100_000

/** Largest table generated: 4× the 1M-name table the benchmarks measure (ids then stay below 8 digits). */
export const MAX_GENERATED = 4_000_000

/** the id inside a generated name: its only run of digits */
const ID_DIGITS = /[0-9]+/

/** One route in ten is a wildcard: lookups walk both the exact and the wildcard paths on a mostly-exact table. */
const WILDCARD_EVERY = 10

const ZONES = [
  'example-cdn.com', 'edge-hosting.net', 'shopfront.io', 'app-platform.dev', 'sites.example.org',
  'cdn.example.co.uk', 'static-host.de', 'pages.example.fr',
] as const
const TLDS = ['com', 'net', 'org', 'io', 'de', 'co.uk', 'fr', 'nl', 'app', 'dev', 'shop', 'com.au'] as const
const WORDS = [
  'acme', 'bluefox', 'northwind', 'contoso', 'lumen', 'tailspin', 'fabrikam', 'globex', 'initech',
  'umbrella', 'stark', 'wayne', 'hooli', 'vandelay', 'wonka', 'oscorp', 'cyberdyne', 'soylent', 'aperture',
  'blackmesa', 'monarch', 'pied-piper', 'dunder', 'sterling', 'gringotts', 'nakatomi', 'tyrell', 'weyland',
] as const
const SERVICES = ['www', 'api', 'shop', 'mail', 'app', 'portal', 'auth', 'static'] as const
/** labels put in front of a wildcard's suffix to make a wildcard-hit query */
const WILDCARD_LABELS = ['www', 'img', 'assets', 'login', 'm', 'eu-west-1', 'cdn', 'x9f3k2'] as const

/** mulberry32: tiny, fast, good enough to pick table shapes; returns a generator of [0, 1) */
export function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function pick<T> (rnd: () => number, list: readonly T[]): T {
  return list[Math.floor(rnd() * list.length)]!
}

/** The name for id `id`: exact (one of three shapes) or, when `wildcard`, a `*.` pattern. */
function nameFor (rnd: () => number, id: number, wildcard: boolean): string {
  if (wildcard) {
    return rnd() < 0.5 ? `*.tenant${id}.${pick(rnd, ZONES)}` : `*.${pick(rnd, WORDS)}${id}.${pick(rnd, TLDS)}`
  }
  const r = rnd()
  if (r < 0.5) return `customer${id}.${pick(rnd, ZONES)}`
  if (r < 0.75) return `${pick(rnd, WORDS)}${id}.${pick(rnd, TLDS)}`
  return `${pick(rnd, SERVICES)}.${pick(rnd, WORDS)}${id}.${pick(rnd, TLDS)}`
}

export interface RouteSpecLike {
  pattern: string
  target: number
}

/** n distinct specs, target = index, every 10th a wildcard; deterministic for a given n. */
export function generateRoutes (n: number): RouteSpecLike[] {
  if (!Number.isInteger(n) || n < 1 || n > MAX_GENERATED) throw new RangeError(`generateRoutes: n must be 1..${MAX_GENERATED}`)
  const rnd = prng(SEED)
  const names = new Array<string>(n)
  for (let i = 0; i < n; i++) names[i] = nameFor(rnd, FIRST_ID + i, i % WILDCARD_EVERY === WILDCARD_EVERY - 1)
  // Template literals build V8 cons-strings (ropes); a config loader hands compileRoutes flat strings
  // parsed out of a file. A JSON round trip gives each name its own flat string, so lookups against the
  // names and the heap-per-name figures see what a real config produces.
  const flat = JSON.parse(JSON.stringify(names)) as string[]
  const specs = new Array<RouteSpecLike>(n)
  for (let i = 0; i < n; i++) specs[i] = { pattern: flat[i]!, target: i }
  return specs
}

/** `count` lookups packed for the hot loop: name k is buf[starts[k], ends[k]) and must give expected[k]. */
export interface QuerySet {
  buf: Buffer
  starts: Int32Array
  ends: Int32Array
  expected: Int32Array
  /** a power of two, so the loop can wrap its cursor with `& (count - 1)` */
  count: number
  /** distinct names among the count */
  distinct: number
}

function pack (names: string[], expected: number[]): QuerySet {
  const count = names.length
  if (count === 0 || (count & (count - 1)) !== 0) throw new RangeError('query count must be a power of two')
  const buf = Buffer.from(names.join(''), 'latin1')
  const starts = new Int32Array(count)
  const ends = new Int32Array(count)
  let off = 0
  for (let k = 0; k < count; k++) {
    starts[k] = off
    off += names[k]!.length
    ends[k] = off
  }
  return { buf, starts, ends, expected: Int32Array.from(expected), count, distinct: new Set(names).size }
}

/** `count` exact-hit queries: routes drawn uniformly (with repetition) among the table's exact names. */
export function exactQueries (specs: readonly RouteSpecLike[], count: number, seed = SEED + 1): QuerySet {
  const rnd = prng(seed)
  const names: string[] = []
  const expected: number[] = []
  while (names.length < count) {
    const s = specs[Math.floor(rnd() * specs.length)]!
    if (s.pattern.startsWith('*.')) continue
    names.push(s.pattern)
    expected.push(s.target)
  }
  return pack(names, expected)
}

/** `count` wildcard-hit queries: `<label>.<suffix>` under wildcard routes drawn uniformly. */
export function wildcardQueries (specs: readonly RouteSpecLike[], count: number, seed = SEED + 2): QuerySet {
  const rnd = prng(seed)
  const wild = specs.filter((s) => s.pattern.startsWith('*.'))
  if (wild.length === 0) throw new RangeError('wildcardQueries: the table has no wildcard')
  const names: string[] = []
  const expected: number[] = []
  while (names.length < count) {
    const s = wild[Math.floor(rnd() * wild.length)]!
    names.push(pick(rnd, WILDCARD_LABELS) + s.pattern.slice(1))
    expected.push(s.target)
  }
  return pack(names, expected)
}

/**
 * `count` near misses: exact route names drawn uniformly from `specs`, with the id replaced by one past
 * every table generateRoutes can make (≥ FIRST_ID + MAX_GENERATED). Every suffix of the name but its id
 * label exists in the table, so the lookup walks as deep as a hit would and fails on the id label (a
 * customer who left, a typo): on a small and a large table the same names walk to the same depth.
 */
export function missQueries (specs: readonly RouteSpecLike[], count: number, seed = SEED + 3): QuerySet {
  const rnd = prng(seed)
  const names: string[] = []
  while (names.length < count) {
    const s = specs[Math.floor(rnd() * specs.length)]!
    if (s.pattern.startsWith('*.')) continue
    const id = FIRST_ID + MAX_GENERATED + Math.floor(rnd() * MAX_GENERATED)
    names.push(s.pattern.replace(ID_DIGITS, String(id)))
  }
  return pack(names, new Array<number>(count).fill(-1))
}
