/**
 * Self-contained SVG chart for `bench:peers`: one panel per metric, one horizontal bar per proxy,
 * bar length normalised to the reference row (HAProxy = 1.0 when it ran).
 *
 * Contract: `renderChart(title, subtitle, panels, reference)` returns a complete SVG document
 * (no external fonts, CSS, or scripts; system sans-serif). Each bar is labelled with the ratio to
 * the reference and the absolute value. Rows without a value (null) are drawn as "n/a". When the
 * reference value is missing or ≤ 0 (possible for "added latency"), that panel falls back to
 * absolute scaling against its largest value and says so in its heading.
 *
 * Limits: values are assumed "lower is better" (every current metric is a cost); negative values
 * are drawn as zero-length bars with their number.
 */

export interface PanelRow {
  label: string
  value: number | null
}

export interface Panel {
  title: string
  unit: string
  rows: PanelRow[]
}

/** Layout constants (px). */
const WIDTH = 760
const LABEL_W = 150
const VALUE_W = 170
const BAR_H = 18
const ROW_GAP = 6
const PANEL_HEAD = 34
const PANEL_GAP = 18
const TOP = 64
/** Bars longer than this many × the reference are clipped (and marked) so one outlier cannot flatten the panel. */
const MAX_RATIO_DRAWN = 4

const PALETTE: Record<string, string> = {
  haproxy: '#4e79a7',
  nginx: '#59a14f',
  sniproxy: '#edc948',
  standin: '#9c755f',
  hellogate: '#e15759',
}

function esc (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

function fmt (v: number): string {
  const a = Math.abs(v)
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toFixed(3)
}

export function renderChart (title: string, subtitle: string, panels: Panel[], reference: string): string {
  const barX = LABEL_W + 10
  const barW = WIDTH - barX - VALUE_W
  const parts: string[] = []
  let y = TOP
  for (const p of panels) {
    const ref = p.rows.find((r) => r.label === reference)?.value ?? null
    const normalised = ref !== null && ref > 0
    const max = Math.max(0, ...p.rows.map((r) => r.value ?? 0))
    const scaleMax = normalised ? Math.min(MAX_RATIO_DRAWN, Math.max(1, max / ref)) : (max > 0 ? max : 1)
    const note = normalised ? `${reference} = 1.0 · lower is better` : `absolute: no positive ${reference} value · lower is better`
    parts.push(`<text x="0" y="${y + 16}" font-size="14" font-weight="bold">${esc(`${p.title} (${p.unit})`)}</text>`)
    parts.push(`<text x="${WIDTH}" y="${y + 16}" font-size="11" fill="#555" text-anchor="end">${esc(note)}</text>`)
    y += PANEL_HEAD - 10
    const panelTop = y
    for (const r of p.rows) {
      const color = PALETTE[r.label] ?? '#bab0ac'
      parts.push(`<text x="${LABEL_W}" y="${y + BAR_H - 4}" font-size="12" text-anchor="end">${esc(r.label)}</text>`)
      if (r.value === null || !Number.isFinite(r.value)) {
        parts.push(`<text x="${barX}" y="${y + BAR_H - 4}" font-size="12" fill="#888">n/a</text>`)
      } else {
        const units = normalised && ref !== null ? r.value / ref : r.value
        const clipped = units > scaleMax
        const w = Math.max(0, Math.min(1, units / scaleMax)) * barW
        parts.push(`<rect x="${barX}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${color}"/>`)
        const ratio = normalised && ref !== null ? `${(r.value / ref).toFixed(2)}×  ` : ''
        parts.push(`<text x="${barX + w + 6}" y="${y + BAR_H - 4}" font-size="12">${esc(`${clipped ? '▶ ' : ''}${ratio}${fmt(r.value)} ${p.unit}`)}</text>`)
      }
      y += BAR_H + ROW_GAP
    }
    if (normalised) {
      const x1 = barX + (1 / scaleMax) * barW
      parts.push(`<line x1="${x1.toFixed(1)}" y1="${panelTop - 4}" x2="${x1.toFixed(1)}" y2="${y - ROW_GAP + 4}" stroke="#333" stroke-dasharray="4 3"/>`)
    }
    y += PANEL_GAP
  }
  const height = y + 10
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif">`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="0" y="22" font-size="18" font-weight="bold">${esc(title)}</text>`,
    `<text x="0" y="42" font-size="11" fill="#555">${esc(subtitle)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n')
}
