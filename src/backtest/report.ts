/**
 * Renderings of a backtest: a terminal table, JSON, and a self-contained HTML report with an SVG timeline per
 * alert (pending amber, firing red, as on the status page). Pure: the backtest in, text out.
 */

import { describeWorkload } from '../actions/workload-ref.js'
import { labelsToString } from '../engine/labels.js'
import { formatDuration } from '../rules/duration.js'
import type { Backtest } from './run.js'
import type { AlertInterval } from './timeline.js'

/** tableReport renders one line per pending/firing interval, then per-group notes. */
export function tableReport(b: Backtest): string {
  const rows: string[][] = [['ALERT', 'LABELS', 'STATE', 'FROM', 'TO', 'DURATION', 'VALUE']]
  for (const a of b.alerts) {
    for (const i of a.intervals) {
      const end = i.end ?? b.toMs
      rows.push([
        a.rule,
        labelsToString(withoutName(a.labels)),
        i.state,
        time(i.start),
        i.end === undefined ? '(still)' : time(i.end),
        formatDuration(Math.max(0, end - i.start)),
        value(i),
      ])
    }
  }
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map(r => (r[c] ?? '').length))) ?? []
  const lines = rows.map(r =>
    r
      .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c] ?? 0)))
      .join('  ')
      .trimEnd(),
  )
  const firing = b.alerts.reduce((n, a) => n + a.intervals.filter(i => i.state === 'firing').length, 0)
  const summary = `${b.alerts.length} alert(s), ${firing} firing interval(s) between ${time(b.fromMs)} and ${time(b.toMs)}`
  return (
    [
      ...(rows.length > 1 ? lines : ['no alert went pending or firing']),
      '',
      summary,
      ...notes(b),
      ...wouldBeLines(b),
    ].join('\n') + '\n'
  )
}

function wouldBeLines(b: Backtest): string[] {
  if (b.wouldBe === undefined) return []
  if (b.wouldBe.length === 0) return ['', 'Would-be rollbacks: no rollback trigger fired']
  return [
    '',
    'Would-be rollbacks (the policy at each trigger firing):',
    ...b.wouldBe.map(w => `  ${time(w.at)}  ${describeWorkload(w.ref)}  ${w.alertname}  ${verdict(w)}`),
    ...historySources(b.wouldBe),
  ]
}

function historySources(wouldBe: NonNullable<Backtest['wouldBe']>): string[] {
  const by = new Map<string, Set<string>>()
  for (const w of wouldBe)
    if (w.history !== undefined) by.set(w.history, (by.get(w.history) ?? new Set()).add(describeWorkload(w.ref)))
  const label = { kubernetes: 'the Kubernetes API', 'kube-state-metrics': 'kube-state-metrics (Prometheus)' } as const
  return [...by].map(
    ([source, workloads]) =>
      `  rollout history from ${label[source as keyof typeof label]}: ${[...workloads].join(', ')}`,
  )
}

function verdict(w: NonNullable<Backtest['wouldBe']>[number]): string {
  return w.decision.act
    ? `ROLLBACK: ${w.decision.message}`
    : `blocked (${w.decision.blockers.join(', ')}): ${w.decision.message}`
}

/** jsonReport is the backtest as JSON with RFC 3339 times. */
export function jsonReport(b: Backtest): string {
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString())
  const wouldBe = b.wouldBe?.map(w => ({
    at: iso(w.at),
    workload: w.ref,
    alertname: w.alertname,
    history: w.history ?? null,
    act: w.decision.act,
    reason: w.decision.reason,
    blockers: w.decision.blockers,
    message: w.decision.message,
  }))
  return `${JSON.stringify(
    {
      from: iso(b.fromMs),
      to: iso(b.toMs),
      groups: b.groups.map(g => ({ ...g, interval: formatDuration(g.intervalMs) })),
      alerts: b.alerts.map(a => ({
        group: a.group,
        alertname: a.rule,
        labels: a.labels,
        intervals: a.intervals.map(i => ({
          state: i.state,
          start: iso(i.start),
          end: iso(i.end),
          startValue: json(i.startValue),
          endValue: i.endValue === undefined ? null : json(i.endValue),
        })),
      })),
      ...(wouldBe === undefined ? {} : { wouldBe }),
    },
    null,
    2,
  )}\n`
}

const WIDTH = 900
const ROW = 22

/** htmlReport is a self-contained page: no scripts, no external resources. */
export function htmlReport(b: Backtest): string {
  const span = Math.max(1, b.toMs - b.fromMs)
  const x = (t: number) => ((Math.min(Math.max(t, b.fromMs), b.toMs) - b.fromMs) / span) * WIDTH
  const rows = b.alerts.map((a, n) => {
    const bars = a.intervals.map(i => {
      const x0 = x(i.start)
      const w = Math.max(1, x(i.end ?? b.toMs) - x0)
      const title = `${i.state} ${time(i.start)} → ${i.end === undefined ? 'end' : time(i.end)} (value ${value(i)})`
      return `<rect class="${i.state}" x="${x0.toFixed(1)}" y="${n * ROW + 4}" width="${w.toFixed(1)}" height="${ROW - 8}"><title>${esc(title)}</title></rect>`
    })
    return (
      `<text x="0" y="${n * ROW + 15}" class="label">${esc(`${a.rule} ${labelsToString(withoutName(a.labels))}`)}</text>` +
      `<g transform="translate(420,0)">${bars.join('')}</g>`
    )
  })
  const height = Math.max(ROW, b.alerts.length * ROW)
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH + 430}" height="${height}" role="img" aria-label="alert timelines">${rows.join('')}</svg>`
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rollguard backtest ${esc(time(b.fromMs))} – ${esc(time(b.toMs))}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1f2328}
h1{font-size:20px}svg{border:1px solid #d0d7de;background:#fff}
.pending{fill:#d4a72c}.firing{fill:#cf222e}.label{font:12px ui-monospace,monospace;fill:#1f2328}
table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:2px 6px;text-align:left;font:12px ui-monospace,monospace}
</style></head><body>
<h1>rollguard backtest</h1>
<p>${esc(time(b.fromMs))} → ${esc(time(b.toMs))}: ${b.alerts.length} alert(s). <span style="color:#d4a72c">■</span> pending <span style="color:#cf222e">■</span> firing</p>
${svg}
${
  b.wouldBe === undefined
    ? ''
    : `<h2>Would-be rollbacks</h2>
<table><tr><th>time</th><th>workload</th><th>trigger</th><th>verdict</th></tr>
${b.wouldBe.map(w => `<tr><td>${esc(time(w.at))}</td><td>${esc(describeWorkload(w.ref))}</td><td>${esc(w.alertname)}</td><td>${esc(verdict(w))}</td></tr>`).join('\n')}
</table>`
}
<h2>Groups</h2>
<table><tr><th>group</th><th>interval</th><th>slots</th><th>notes</th></tr>
${b.groups.map(g => `<tr><td>${esc(g.key)}</td><td>${formatDuration(g.intervalMs)}</td><td>${g.slots}</td><td>${esc(groupNotes(g).join('; '))}</td></tr>`).join('\n')}
</table>
</body></html>
`
}

function notes(b: Backtest): string[] {
  return b.groups.flatMap(g => groupNotes(g).map(n => `${g.key}: ${n}`))
}

function groupNotes(g: Backtest['groups'][number]): string[] {
  const out = Object.entries(g.errors).map(([rule, error]) => `rule ${rule} failed: ${error}`)
  if (g.probeRules.length > 0) {
    out.push(
      `${g.probeRules.join(', ')} read rollguard's own probe series: not replayable unless Prometheus scraped them (empty results mean no data, not healthy)`,
    )
  }
  return out
}

function withoutName(labels: Record<string, string>): Record<string, string> {
  const { alertname: _name, ...rest } = labels
  return rest
}

function value(i: AlertInterval): string {
  const v = i.endValue ?? i.startValue
  return Number.isInteger(v) ? String(v) : v.toPrecision(4)
}

function json(v: number): number | string {
  return Number.isFinite(v) ? v : String(v)
}

function time(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z')
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`)
}
