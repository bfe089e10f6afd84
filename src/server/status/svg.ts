/**
 * The timeline plot: one series' values over the window against its threshold, as inline SVG (no script,
 * no external assets). Gaps are shaded: "below threshold / no data" (the rule returned nothing for the
 * series) or "query failed"; time the rule was not evaluated stays blank. Pure.
 */

import { html, type Html } from './html.js'
import { formatThreshold, formatValue, type Timeline } from './view-model.js'

const WIDTH = 820
const HEIGHT = 102
const LEFT = 56
const RIGHT = 764
const TOP = 18
const BOTTOM = 84

/** timelineSvg draws a timeline; label names the series for screen readers and the tooltip. */
export function timelineSvg(tl: Timeline, label: string): Html {
  const values = tl.segments.flatMap(s => s.map(p => p.v))
  const thr = tl.threshold !== undefined && Number.isFinite(tl.threshold.value) ? tl.threshold.value : undefined
  const [lo, hi] = yDomain(thr === undefined ? values : [...values, thr])
  const x = (t: number) => LEFT + ((t - tl.from) / Math.max(1, tl.to - tl.from)) * (RIGHT - LEFT)
  const y = (v: number) => BOTTOM - ((v - lo) / (hi - lo)) * (BOTTOM - TOP)
  const r = (n: number) => Math.round(n * 10) / 10
  const last = tl.segments.at(-1)?.at(-1)
  const summary =
    `${label}: ${last === undefined ? 'no value' : `last value ${formatValue(last.v)}`}` +
    (tl.threshold === undefined ? '' : `, alert condition ${formatThreshold(tl.threshold)}`) +
    `, last ${span(tl.to - tl.from)}`
  const ticks = [1, 2 / 3, 1 / 3].map(f => ({
    x: x(tl.to - f * (tl.to - tl.from)),
    text: `−${span(f * (tl.to - tl.from))}`,
  }))
  return html`<svg class="tl" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${summary}" xmlns="http://www.w3.org/2000/svg">
<title>${summary}</title>
<rect class="tl-bg" x="${LEFT}" y="${TOP}" width="${RIGHT - LEFT}" height="${BOTTOM - TOP}"/>
${tl.bands.map(b => html`<rect class="tl-${b.kind}" x="${r(x(b.from))}" y="${TOP}" width="${r(Math.max(1, x(b.to) - x(b.from)))}" height="${BOTTOM - TOP}"><title>${b.kind === 'error' ? 'query failed' : 'below threshold / no data'}</title></rect>`)}
${thr === undefined ? '' : html`<line class="tl-thr" x1="${LEFT}" x2="${RIGHT}" y1="${r(y(thr))}" y2="${r(y(thr))}"/><text class="tl-thr-label" x="${RIGHT + 4}" y="${r(y(thr) + 4)}">${formatThreshold(tl.threshold as NonNullable<Timeline['threshold']>)}</text>`}
${tl.segments.map(s => html`<polyline class="tl-line" points="${s.map(p => `${r(x(p.t))},${r(y(p.v))}`).join(' ')}"/>`)}
${tl.markers.map(mk => {
  // The label sits above the plot, centred on its line unless that would leave the plot.
  const at = x(mk.t)
  const anchor = at - LEFT < 60 ? 'start' : RIGHT - at < 60 ? 'end' : 'middle'
  return html`<line class="tl-mark" x1="${r(at)}" x2="${r(at)}" y1="${TOP - 4}" y2="${BOTTOM}"/><text class="tl-mark-label" x="${r(at)}" y="${TOP - 7}" text-anchor="${anchor}">${mk.text}</text>`
})}
${last === undefined ? '' : html`<circle class="tl-last" cx="${r(x(last.t))}" cy="${r(y(last.v))}" r="3.5"/>`}
<text class="tl-axis" x="${LEFT - 6}" y="${TOP + 9}" text-anchor="end">${formatValue(hi)}</text>
<text class="tl-axis" x="${LEFT - 6}" y="${BOTTOM}" text-anchor="end">${formatValue(lo)}</text>
${ticks.map(tk => html`<text class="tl-axis" x="${r(tk.x)}" y="${HEIGHT - 4}" text-anchor="middle">${tk.text}</text>`)}
<text class="tl-axis" x="${RIGHT}" y="${HEIGHT - 4}" text-anchor="end">now</text>
</svg>`
}

/** span is a tick label: "40s", "2.5m", "15m". */
export function span(ms: number): string {
  return ms < 60_000 ? `${Math.round(ms / 1000)}s` : `${Math.round(ms / 6_000) / 10}m`
}

/** yDomain spans the values (from 0 when none is negative) with headroom, rounded out to readable numbers; never empty. */
export function yDomain(values: readonly number[]): [number, number] {
  if (values.length === 0) return [0, 1]
  let lo = Math.min(...values)
  let hi = Math.max(...values)
  if (lo >= 0) lo = 0
  if (hi === lo) hi = lo + (Math.abs(lo) || 1)
  const top = hi + (hi - lo) * 0.1
  return [lo < 0 ? -nice(-lo) : 0, top > 0 ? nice(top) : top]
}

/** nice rounds a positive number up to 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten. */
function nice(x: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(x))
  const step = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find(s => s * magnitude >= x * (1 - 1e-9)) as number
  return Number((step * magnitude).toPrecision(6))
}
