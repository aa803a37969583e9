/**
 * Top self-time functions of a V8 `.cpuprofile` (what `node --cpu-prof` writes, one file per thread).
 *
 * Usage: `node profiles/top-frames.ts FILE.cpuprofile [more…] [--top 25] [--filter dist/] [--json]
 *         [--from US --to US]` (a window in the profile's own clock; profiles/run.ts prints the
 *         measured window of each run) [--callers FUNCTION [--depth 6]] (the stacks that
 *         a function's self time comes from) [--callees FUNCTION] (where a function's inclusive
 *         time ends up, by leaf frame) [--children FUNCTION] (the same, by the function it
 *         called directly) [--on-stack REGEX] (share of busy samples with a matching frame on
 *         the stack, e.g. every timer function) [--weight count|time]
 *
 * Contract:
 * - `analyzeProfile(profile, window?, weight?)` aggregates self time by function (name + script +
 *   line), and also the inclusive (total) time of each function, counting a function once per stack
 *   even when it recurses. Samples are weighted by count × the median interval by default, or by
 *   their time delta (`--weight time`, Chrome DevTools' model); see `Weight`.
 * - Percentages are given two ways: of all sampled time, and of *busy* time (everything but
 *   `(idle)`), because a worker thread that waits in epoll most of the time would otherwise make every
 *   function look cheap.
 * - `categoryOf()` buckets frames: hellogate's own code (`/dist/` or `/src/` of this repository),
 *   Node's internals (`node:` URLs), dependencies (`node_modules`), GC, `(program)` (native code V8 did
 *   not attribute to a JS function: libuv, syscalls, OpenSSL in the main thread, …) and `(idle)`.
 * - `threadIdOf(file)` reads the thread id from Node's file name
 *   `CPU.<date>.<time>.<pid>.<threadId>.<seq>.cpuprofile` (0 = main thread, ≥ 1 = worker threads).
 *
 * Limits: sampling profiles miss functions shorter than the sampling interval unless they are hot;
 * inlined functions are attributed to the caller that V8 inlined them into; native work done for a
 * JS call (a `write()` syscall) shows as `(program)` or as the JS builtin that made it.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

/** Rows printed by default: enough to see past the usual `(idle)`/`(program)`/GC head. */
export const DEFAULT_TOP = 25

export interface CallFrame {
  functionName: string
  scriptId: string
  url: string
  lineNumber: number
  columnNumber: number
}

export interface ProfileNode {
  id: number
  callFrame: CallFrame
  hitCount?: number
  children?: number[]
}

/** The `.cpuprofile` JSON (Chrome DevTools protocol `Profiler.Profile`). */
export interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples?: number[]
  timeDeltas?: number[]
}

export const Category = {
  Hellogate: 'hellogate',
  Node: 'node internals',
  Deps: 'dependencies',
  Gc: 'gc',
  Program: '(program)',
  Idle: '(idle)',
  Other: 'other',
} as const
export type Category = typeof Category[keyof typeof Category]

export interface FrameRow {
  /** function name, `(anonymous)` when V8 has none */
  name: string
  /** `path:line` (1-based line), shortened to the repository when it is ours */
  location: string
  category: Category
  selfUs: number
  totalUs: number
  /** self time as a fraction of all sampled time */
  selfShare: number
  /** self time as a fraction of non-idle time */
  selfBusyShare: number
  /** inclusive time as a fraction of non-idle time */
  totalBusyShare: number
}

export interface ProfileSummary {
  /** wall time the profile (or the window) covers (µs) */
  durationUs: number
  sampledUs: number
  idleUs: number
  busyUs: number
  samples: number
  /** median gap between samples (µs): the effective sampling interval */
  intervalUs: number
  byCategory: Record<Category, number>
  /** every function, sorted by self time, descending */
  frames: FrameRow[]
}

const here = path.dirname(fileURLToPath(import.meta.url))
const REPO_ROOT = path.resolve(here, '..')

/** Shorten a script URL for display: repository-relative for our files, as is for `node:` modules. */
export function shortUrl (url: string): string {
  if (url === '') return ''
  let p = url.startsWith('file://') ? fileURLToPath(url) : url
  if (p.startsWith(REPO_ROOT + path.sep)) p = p.slice(REPO_ROOT.length + 1)
  const nm = p.lastIndexOf('node_modules/')
  if (nm >= 0) p = p.slice(nm)
  return p
}

export function categoryOf (frame: CallFrame): Category {
  const name = frame.functionName
  const url = frame.url
  if (name === '(idle)') return Category.Idle
  if (name === '(program)') return Category.Program
  if (name === '(garbage collector)') return Category.Gc
  if (url.startsWith('node:')) return Category.Node
  if (url.includes('/node_modules/')) return Category.Deps
  // our code: built (dist/) or run from sources (src/, Node type stripping); any checkout location
  if (/\/(dist|src)\/(cli|index|errors|hello|routes|relay|pool|config|log|metrics|demo)\b/.test(url)) return Category.Hellogate
  return Category.Other
}

function frameKey (f: CallFrame): string {
  return f.functionName + '\u0000' + f.url + '\u0000' + String(f.lineNumber)
}

/**
 * How a sample is weighted:
 * - `count` (default): every sample is worth the median sampling interval. Robust when the machine
 *   is busy: a thread that is descheduled is not sampled, so the gap that follows does not inflate
 *   the function it was in (V8's sampler is wall-clock driven).
 * - `time`: each sample lasts until the next one (Chrome DevTools' model): exact on an idle machine,
 *   but it charges preemption gaps to whatever ran before them.
 */
export const Weight = { Count: 'count', Time: 'time' } as const
export type Weight = typeof Weight[keyof typeof Weight]

/** Timestamp and weight (µs) of every sample, and the median sampling interval. */
function sampleTimeline (profile: CpuProfile, weight: Weight): { at: Float64Array, w: Float64Array, intervalUs: number } {
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  const gaps: number[] = []
  for (let i = 1; i < deltas.length; i++) gaps.push(deltas[i] ?? 0)
  gaps.sort((a, b) => a - b)
  const intervalUs = gaps.length > 0 ? (gaps[Math.floor(gaps.length / 2)] ?? 0) : 0
  const at = new Float64Array(samples.length)
  const w = new Float64Array(samples.length)
  let t = profile.startTime
  for (let i = 0; i < samples.length; i++) {
    t += deltas[i] ?? 0
    at[i] = t
    w[i] = weight === Weight.Count || i + 1 >= deltas.length ? intervalUs : Math.max(0, deltas[i + 1] ?? 0)
  }
  return { at, w, intervalUs }
}

function inWindow (t: number, window: ProfileWindow | undefined): boolean {
  return window === undefined || (t >= window.fromUs && t <= window.toUs)
}

/** A time window in the profile's clock (CLOCK_MONOTONIC µs on Linux, see `monotonicUs()`). */
export interface ProfileWindow {
  fromUs: number
  toUs: number
}

/**
 * Aggregate a profile into self/total time per function; with `window`, only the samples taken
 * inside it (to leave out startup, warmup and shutdown).
 */
export function analyzeProfile (profile: CpuProfile, window?: ProfileWindow, weight: Weight = Weight.Count): ProfileSummary {
  const byId = new Map<number, ProfileNode>()
  for (const n of profile.nodes) byId.set(n.id, n)

  const samples = profile.samples ?? []
  const { at, w, intervalUs } = sampleTimeline(profile, weight)
  const nodeSelf = new Map<number, number>()
  let counted = 0
  for (let i = 0; i < samples.length; i++) {
    if (!inWindow(at[i] ?? 0, window)) continue
    const id = samples[i] ?? -1
    nodeSelf.set(id, (nodeSelf.get(id) ?? 0) + (w[i] ?? 0))
    counted++
  }

  // parents, for inclusive time
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)

  interface Acc { frame: CallFrame, self: number, total: number }
  const acc = new Map<string, Acc>()
  const get = (f: CallFrame): Acc => {
    const k = frameKey(f)
    let a = acc.get(k)
    if (a === undefined) { a = { frame: f, self: 0, total: 0 }; acc.set(k, a) }
    return a
  }
  const byCategory: Record<Category, number> = {
    [Category.Hellogate]: 0,
    [Category.Node]: 0,
    [Category.Deps]: 0,
    [Category.Gc]: 0,
    [Category.Program]: 0,
    [Category.Idle]: 0,
    [Category.Other]: 0,
  }
  let sampled = 0
  for (const [id, self] of nodeSelf) {
    const node = byId.get(id)
    if (node === undefined) continue
    sampled += self
    get(node.callFrame).self += self
    byCategory[categoryOf(node.callFrame)] += self
    // walk to the root, adding this node's self time once to every distinct function on the stack
    const seen = new Set<string>()
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)
      if (n === undefined) break
      const k = frameKey(n.callFrame)
      if (seen.has(k)) continue
      seen.add(k)
      get(n.callFrame).total += self
    }
  }
  const idle = byCategory[Category.Idle]
  const busy = sampled - idle
  const frames: FrameRow[] = []
  for (const a of acc.values()) {
    const f = a.frame
    if (f.functionName === '(root)') continue
    const loc = shortUrl(f.url)
    frames.push({
      name: f.functionName === '' ? '(anonymous)' : f.functionName,
      location: loc === '' ? '' : loc + ':' + String(f.lineNumber + 1),
      category: categoryOf(f),
      selfUs: a.self,
      totalUs: a.total,
      selfShare: sampled > 0 ? a.self / sampled : 0,
      selfBusyShare: busy > 0 && f.functionName !== '(idle)' ? a.self / busy : 0,
      totalBusyShare: busy > 0 && f.functionName !== '(idle)' ? a.total / busy : 0,
    })
  }
  frames.sort((x, y) => y.selfUs - x.selfUs)
  const from = window === undefined ? profile.startTime : Math.max(profile.startTime, window.fromUs)
  const to = window === undefined ? profile.endTime : Math.min(profile.endTime, window.toUs)
  return {
    durationUs: Math.max(0, to - from),
    sampledUs: sampled,
    idleUs: idle,
    busyUs: busy,
    samples: counted,
    intervalUs,
    byCategory,
    frames,
  }
}

/** Nodes by id, and each node's parent id. */
function indexNodes (profile: CpuProfile): { byId: Map<number, ProfileNode>, parent: Map<number, number> } {
  const byId = new Map<number, ProfileNode>()
  const parent = new Map<number, number>()
  for (const n of profile.nodes) {
    byId.set(n.id, n)
    for (const c of n.children ?? []) parent.set(c, n.id)
  }
  return { byId, parent }
}

/**
 * Where a function's self time comes from: its call stacks (innermost first, `depth` frames deep),
 * each weighted by the self time of the samples that end in the function, heaviest first.
 */
export function callersOf (profile: CpuProfile, functionName: string, depth = 6, window?: ProfileWindow, weight: Weight = Weight.Count): Array<{ stack: string, us: number }> {
  const { byId, parent } = indexNodes(profile)
  const samples = profile.samples ?? []
  const { at, w } = sampleTimeline(profile, weight)
  const acc = new Map<string, number>()
  for (let i = 0; i < samples.length; i++) {
    if (!inWindow(at[i] ?? 0, window)) continue
    const id = samples[i] ?? -1
    const node = byId.get(id)
    if (node === undefined || node.callFrame.functionName !== functionName) continue
    const dt = w[i] ?? 0
    const names: string[] = []
    for (let cur: number | undefined = id; cur !== undefined && names.length < depth; cur = parent.get(cur)) {
      const f = byId.get(cur)?.callFrame
      if (f === undefined || f.functionName === '(root)') break
      const loc = shortUrl(f.url)
      names.push((f.functionName === '' ? '(anonymous)' : f.functionName) + (loc === '' ? '' : ` (${loc}:${String(f.lineNumber + 1)})`))
    }
    const key = names.join(' ← ')
    acc.set(key, (acc.get(key) ?? 0) + dt)
  }
  return [...acc].map(([stack, us]) => ({ stack, us })).sort((a, b) => b.us - a.us)
}

/**
 * Where a function's inclusive time goes: the samples with `functionName` on the stack, grouped by
 * the frame they ended in (`by: 'leaf'`, a bottom-up view inside that function) or by the function
 * it called directly (`by: 'child'`, its own frame for self time), heaviest first.
 */
export function calleesOf (profile: CpuProfile, functionName: string, window?: ProfileWindow, weight: Weight = Weight.Count, by: 'leaf' | 'child' = 'leaf'): Array<{ leaf: string, us: number }> {
  const { byId, parent } = indexNodes(profile)
  const samples = profile.samples ?? []
  const { at, w } = sampleTimeline(profile, weight)
  const acc = new Map<string, number>()
  for (let i = 0; i < samples.length; i++) {
    if (!inWindow(at[i] ?? 0, window)) continue
    const id = samples[i] ?? -1
    // the innermost frame of `functionName` on the stack, and the frame it called (one below it)
    let hit: number | undefined
    let below: number | undefined
    for (let cur: number | undefined = id, prev: number | undefined; cur !== undefined; prev = cur, cur = parent.get(cur)) {
      if (byId.get(cur)?.callFrame.functionName === functionName) { hit = cur; below = prev; break }
    }
    if (hit === undefined) continue
    const f = byId.get(by === 'child' ? (below ?? hit) : id)?.callFrame
    if (f === undefined) continue
    const dt = w[i] ?? 0
    const loc = shortUrl(f.url)
    const key = (f.functionName === '' ? '(anonymous)' : f.functionName) + (loc === '' ? '' : ` (${loc}:${String(f.lineNumber + 1)})`)
    acc.set(key, (acc.get(key) ?? 0) + dt)
  }
  return [...acc].map(([leaf, us]) => ({ leaf, us })).sort((a, b) => b.us - a.us)
}

/**
 * Share of the busy samples (all but `(idle)`) whose stack holds at least one frame matching
 * `pattern`, tested against `name location` (e.g. `setStreamTimeout node:internal/stream_base_commons:240`).
 * Counts each sample once however many frames match, so overlapping subtrees are not double counted.
 */
export function stackShare (profile: CpuProfile, pattern: RegExp, window?: ProfileWindow, weight: Weight = Weight.Count): { us: number, busyUs: number, share: number } {
  const { byId, parent } = indexNodes(profile)
  const label = (f: CallFrame): string => {
    const loc = shortUrl(f.url)
    return (f.functionName === '' ? '(anonymous)' : f.functionName) + (loc === '' ? '' : ` ${loc}:${String(f.lineNumber + 1)}`)
  }
  const samples = profile.samples ?? []
  const { at, w } = sampleTimeline(profile, weight)
  let us = 0
  let busyUs = 0
  for (let i = 0; i < samples.length; i++) {
    if (!inWindow(at[i] ?? 0, window)) continue
    const id = samples[i] ?? -1
    if (byId.get(id)?.callFrame.functionName === '(idle)') continue
    busyUs += w[i] ?? 0
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)?.callFrame
      if (f !== undefined && pattern.test(label(f))) { us += w[i] ?? 0; break }
    }
  }
  return { us, busyUs, share: busyUs > 0 ? us / busyUs : 0 }
}

/** Thread id from Node's `--cpu-prof` file name, or -1 when the name does not follow the pattern. */
export function threadIdOf (file: string): number {
  const m = /^CPU\.\d+\.\d+\.\d+\.(\d+)\.\d+\.cpuprofile$/.exec(path.basename(file))
  return m === null ? -1 : Number(m[1])
}

export function readProfile (file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
}

const pct = (x: number): string => (x * 100).toFixed(1) + '%'
const ms = (us: number): string => (us / 1000).toFixed(1)

export interface FormatOptions {
  top?: number | undefined
  /** keep only frames whose location contains this substring (shares stay relative to the whole profile) */
  filter?: string | undefined
}

/** Markdown rendering: a category line and a table of the top self-time functions. */
export function formatSummary (s: ProfileSummary, opts: FormatOptions = {}): string {
  const top = opts.top ?? DEFAULT_TOP
  const filter = opts.filter
  const rows = (filter === undefined ? s.frames : s.frames.filter((f) => f.location.includes(filter))).slice(0, top)
  const cats = (Object.entries(s.byCategory) as Array<[Category, number]>)
    .filter(([, us]) => us > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([c, us]) => `${c} ${ms(us)} ms (${c === Category.Idle ? pct(us / s.sampledUs) + ' of all' : pct(s.busyUs > 0 ? us / s.busyUs : 0) + ' of busy'})`)
  const lines = [
    `profile: ${ms(s.durationUs)} ms wall, ${s.samples} samples every ~${String(Math.round(s.intervalUs))} µs; busy ${ms(s.busyUs)} ms (${pct(s.sampledUs > 0 ? s.busyUs / s.sampledUs : 0)} of sampled time)`,
    `by category: ${cats.join(' · ')}`,
    '',
    '| # | self ms | self % busy | self % all | total % busy | function | location | category |',
    '| -: | -: | -: | -: | -: | --- | --- | --- |',
  ]
  rows.forEach((f, i) => {
    lines.push(`| ${String(i + 1)} | ${ms(f.selfUs)} | ${f.category === Category.Idle ? '-' : pct(f.selfBusyShare)} | ${pct(f.selfShare)} | ${f.category === Category.Idle ? '-' : pct(f.totalBusyShare)} | \`${f.name}\` | ${f.location} | ${f.category} |`)
  })
  return lines.join('\n')
}

function main (): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      top: { type: 'string', default: String(DEFAULT_TOP) },
      filter: { type: 'string' },
      json: { type: 'boolean', default: false },
      from: { type: 'string' },
      to: { type: 'string' },
      callers: { type: 'string' },
      callees: { type: 'string' },
      children: { type: 'string' },
      'on-stack': { type: 'string' },
      weight: { type: 'string', default: Weight.Count },
      depth: { type: 'string', default: '6' },
    },
  })
  if (positionals.length === 0) {
    process.stderr.write('usage: node profiles/top-frames.ts FILE.cpuprofile [more…] [--top N] [--filter SUBSTRING] [--from US] [--to US] [--json] [--callers FUNCTION [--depth N]] [--callees FUNCTION | --children FUNCTION | --on-stack REGEX] [--weight count|time]\n')
    process.exitCode = 2
    return
  }
  const top = Number(values.top)
  const window = values.from !== undefined || values.to !== undefined
    ? { fromUs: Number(values.from ?? 0), toUs: Number(values.to ?? Number.POSITIVE_INFINITY) }
    : undefined
  const weight = values.weight === Weight.Time ? Weight.Time : Weight.Count
  for (const file of positionals) {
    const profile = readProfile(file)
    const tid = threadIdOf(file)
    if (values.callers !== undefined) {
      process.stdout.write(`\n## callers of ${values.callers} in ${path.basename(file)}\n\n`)
      for (const c of callersOf(profile, values.callers, Number(values.depth), window, weight).slice(0, top)) {
        process.stdout.write(`${ms(c.us).padStart(8)} ms  ${c.stack}\n`)
      }
      continue
    }
    if (values['on-stack'] !== undefined) {
      const r = stackShare(profile, new RegExp(values['on-stack']), window, weight)
      process.stdout.write(`${path.basename(file)}: ${ms(r.us)} ms of ${ms(r.busyUs)} ms busy = ${pct(r.share)} of busy samples have a frame matching /${values['on-stack']}/ on the stack\n`)
      continue
    }
    const inside = values.callees ?? values.children
    if (inside !== undefined) {
      const by = values.callees !== undefined ? 'leaf' : 'child'
      const rows = calleesOf(profile, inside, window, weight, by)
      const total = rows.reduce((a, r) => a + r.us, 0)
      process.stdout.write(`\n## inside ${inside} in ${path.basename(file)}: ${ms(total)} ms inclusive, by ${by === 'leaf' ? 'leaf frame' : 'direct callee'}\n\n`)
      for (const r of rows.slice(0, top)) process.stdout.write(`${ms(r.us).padStart(8)} ms ${pct(total > 0 ? r.us / total : 0).padStart(6)}  ${r.leaf}\n`)
      continue
    }
    const s = analyzeProfile(profile, window, weight)
    if (values.json) {
      process.stdout.write(JSON.stringify({ file, threadId: tid, ...s, frames: s.frames.slice(0, top) }, null, 2) + '\n')
      continue
    }
    const who = tid === 0 ? 'main thread' : tid > 0 ? `worker thread ${String(tid)}` : 'thread unknown'
    process.stdout.write(`\n## ${path.basename(file)} (${who})\n\n${formatSummary(s, { top, filter: values.filter })}\n`)
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main()
