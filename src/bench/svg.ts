/**
 * The SVG chart `hellogate bench` writes next to its JSON results: three stacked panels,
 *  1. the rate per second (connections, requests or MB per second) as bars,
 *  2. the latency of every operation over time (dots, thinned to MAX_DOTS) with the per-second p50
 *     and p99 as lines,
 *  3. the latency histogram with p50/p90/p99 marked.
 * A small writer of its own (string building, every text escaped): a chart is not worth a dependency.
 *
 * Contract: `renderChart(input)` → a complete standalone SVG 1.1 document (XML declaration, one
 * <svg> root, no external references), viewable in any browser.
 *
 * Limits: at most MAX_DOTS dots (≈ 150 KB of SVG) whatever the sample count. Pure: no node:* imports.
 */
import type { HistogramBin, LatencySummary, SecondBucket } from './stats.ts'

/** dots drawn in the latency-over-time panel; more only makes the file slow to open */
export const MAX_DOTS = 3000

const WIDTH = 900
const PANEL_HEIGHT = 220
const MARGIN_LEFT = 70
const MARGIN_RIGHT = 20
const TITLE_HEIGHT = 50
const GAP = 45
const PLOT_WIDTH = WIDTH - MARGIN_LEFT - MARGIN_RIGHT

export interface ChartInput {
  title: string
  subtitle: string
  /** what the latency is (`handshake`, `request`) */
  latencyLabel: string
  /** rate per second: value and its unit (`conn/s`, `req/s`, `MB/s`) */
  rate: { unit: string, perSecond: readonly number[] }
  latency: { at: Float64Array, values: Float64Array, summary: LatencySummary, perSecond: readonly SecondBucket[] }
  histogram: readonly HistogramBin[]
  durationMs: number
}

export function escapeXml (s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&apos;')
}

function fmt (n: number): string {
  return Number.isFinite(n) ? String(Math.round(n * 10) / 10) : '0'
}

/** 1, 2, 5 × 10^k step so a 0..max axis gets about `ticks` labels */
function niceStep (max: number, ticks: number): number {
  const raw = Math.max(max, 1e-9) / ticks
  const pow = 10 ** Math.floor(Math.log10(raw))
  const m = raw / pow
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * pow
}

function label (n: number): string {
  if (n === 0) return '0'
  if (Math.abs(n) >= 100) return String(Math.round(n))
  if (Math.abs(n) >= 1) return String(Math.round(n * 10) / 10)
  return String(Math.round(n * 1000) / 1000)
}

class Panel {
  readonly parts: string[] = []
  readonly top: number
  readonly title: string
  readonly xMax: number
  readonly yMax: number
  readonly xLabel: string
  readonly yLabel: string
  constructor (top: number, title: string, xMax: number, yMax: number, xLabel: string, yLabel: string) {
    this.top = top
    this.title = title
    this.xMax = xMax
    this.yMax = yMax
    this.xLabel = xLabel
    this.yLabel = yLabel
  }

  x (v: number): number { return MARGIN_LEFT + (v / this.xMax) * PLOT_WIDTH }
  y (v: number): number { return this.top + PANEL_HEIGHT - (Math.min(v, this.yMax) / this.yMax) * PANEL_HEIGHT }

  axes (): void {
    const p = this.parts
    const bottom = this.top + PANEL_HEIGHT
    p.push(`<text x="${MARGIN_LEFT}" y="${this.top - 10}" class="h">${escapeXml(this.title)}</text>`)
    p.push(`<rect x="${MARGIN_LEFT}" y="${this.top}" width="${PLOT_WIDTH}" height="${PANEL_HEIGHT}" class="frame"/>`)
    const ys = niceStep(this.yMax, 4)
    for (let v = 0; v <= this.yMax + 1e-9; v += ys) {
      const y = fmt(this.y(v))
      p.push(`<line x1="${MARGIN_LEFT}" y1="${y}" x2="${MARGIN_LEFT + PLOT_WIDTH}" y2="${y}" class="grid"/>`)
      p.push(`<text x="${MARGIN_LEFT - 6}" y="${y}" class="yt">${label(v)}</text>`)
    }
    const xs = niceStep(this.xMax, 8)
    for (let v = 0; v <= this.xMax + 1e-9; v += xs) {
      p.push(`<text x="${fmt(this.x(v))}" y="${bottom + 14}" class="xt">${label(v)}</text>`)
    }
    p.push(`<text x="${MARGIN_LEFT + PLOT_WIDTH}" y="${bottom + 30}" class="xl">${escapeXml(this.xLabel)}</text>`)
    p.push(`<text x="12" y="${this.top + PANEL_HEIGHT / 2}" class="yl" transform="rotate(-90 12 ${this.top + PANEL_HEIGHT / 2})">${escapeXml(this.yLabel)}</text>`)
  }
}

function ratePanel (top: number, input: ChartInput): string[] {
  const values = input.rate.perSecond
  const seconds = Math.max(1, values.length)
  const panel = new Panel(top, `${input.rate.unit} per second`, seconds, Math.max(...values, 1e-9) * 1.1, 'seconds', input.rate.unit)
  panel.axes()
  const w = PLOT_WIDTH / seconds
  values.forEach((v, i) => {
    const y = panel.y(v)
    panel.parts.push(`<rect x="${fmt(panel.x(i) + 1)}" y="${fmt(y)}" width="${fmt(Math.max(1, w - 2))}" height="${fmt(top + PANEL_HEIGHT - y)}" class="bar"><title>${i}-${i + 1} s: ${label(v)} ${escapeXml(input.rate.unit)}</title></rect>`)
  })
  return panel.parts
}

function latencyPanel (top: number, input: ChartInput): string[] {
  const { at, values, summary, perSecond } = input.latency
  const seconds = Math.max(input.durationMs / 1000, 1e-3)
  const yMax = Math.max(summary.p99 * 1.5, summary.p50 * 2, 1e-3)
  const panel = new Panel(top, `${input.latencyLabel} latency over time (ms; dots above the frame are clipped at p99 × 1.5)`, seconds, yMax, 'seconds', 'ms')
  panel.axes()
  const p = panel.parts
  const stride = Math.max(1, Math.ceil(values.length / MAX_DOTS))
  const dots: string[] = []
  for (let i = 0; i < values.length; i += stride) {
    dots.push(`M${fmt(panel.x(at[i]! / 1000))} ${fmt(panel.y(values[i]!))}h0`)
  }
  if (dots.length > 0) p.push(`<path d="${dots.join('')}" class="dots"/>`)
  const line = (pick: (b: SecondBucket) => number, cls: string): void => {
    const pts = perSecond.filter((b) => b.count > 0).map((b) => `${fmt(panel.x(Math.min(seconds, b.second + 0.5)))},${fmt(panel.y(pick(b)))}`)
    if (pts.length > 0) p.push(`<polyline points="${pts.join(' ')}" class="${cls}"/>`)
  }
  line((b) => b.p50, 'p50')
  line((b) => b.p99, 'p99')
  const right = MARGIN_LEFT + PLOT_WIDTH
  p.push(`<text x="${right - 150}" y="${top + 16}" class="lg p50t">— p50 per second</text>`)
  p.push(`<text x="${right - 150}" y="${top + 32}" class="lg p99t">— p99 per second</text>`)
  return p
}

function histogramPanel (top: number, input: ChartInput): string[] {
  const bins = input.histogram
  const xMax = bins.length === 0 ? 1 : bins[bins.length - 1]!.to
  const yMax = Math.max(...bins.map((b) => b.count), 1) * 1.1
  const panel = new Panel(top, `${input.latencyLabel} latency histogram (last bar: everything above)`, xMax, yMax, 'ms', 'count')
  panel.axes()
  const p = panel.parts
  for (const b of bins) {
    const y = panel.y(b.count)
    p.push(`<rect x="${fmt(panel.x(b.from))}" y="${fmt(y)}" width="${fmt(Math.max(1, panel.x(b.to) - panel.x(b.from) - 1))}" height="${fmt(top + PANEL_HEIGHT - y)}" class="bar"><title>${label(b.from)}-${label(b.to)} ms: ${b.count}</title></rect>`)
  }
  const s = input.latency.summary
  for (const [name, v] of [['p50', s.p50], ['p90', s.p90], ['p99', s.p99]] as const) {
    if (v > xMax) continue
    const x = fmt(panel.x(v))
    p.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${top + PANEL_HEIGHT}" class="mark"/>`)
    p.push(`<text x="${x}" y="${top + 12}" class="mt">${name} ${label(v)}</text>`)
  }
  return p
}

const STYLE = [
  'text{font-family:system-ui,sans-serif;font-size:11px;fill:#333}',
  '.t{font-size:16px;font-weight:600}.s{fill:#666}.h{font-size:12px;font-weight:600}',
  '.frame{fill:#fafafa;stroke:#ccc}.grid{stroke:#e4e4e4}',
  '.yt{text-anchor:end;dominant-baseline:middle}.xt{text-anchor:middle}.xl{text-anchor:end;fill:#666}.yl{text-anchor:middle;fill:#666}',
  '.bar{fill:#4a7fb5}.dots{stroke:#4a7fb5;stroke-opacity:.35;stroke-width:3;stroke-linecap:round;fill:none}',
  '.p50{stroke:#2a9d4a;stroke-width:2;fill:none}.p99{stroke:#d0502a;stroke-width:2;fill:none}',
  '.p50t{fill:#2a9d4a}.p99t{fill:#d0502a}.mark{stroke:#d0502a;stroke-dasharray:4 3}.mt{fill:#d0502a}',
].join('')

/** The whole chart as an SVG document. */
export function renderChart (input: ChartInput): string {
  const panels = [ratePanel, latencyPanel, histogramPanel]
  const height = TITLE_HEIGHT + panels.length * (PANEL_HEIGHT + GAP) + 10
  const body: string[] = []
  panels.forEach((panel, i) => { body.push(...panel(TITLE_HEIGHT + GAP / 2 + i * (PANEL_HEIGHT + GAP), input)) })
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">`,
    `<style>${STYLE}</style>`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="${MARGIN_LEFT}" y="22" class="t">${escapeXml(input.title)}</text>`,
    `<text x="${MARGIN_LEFT}" y="40" class="s">${escapeXml(input.subtitle)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n')
}
