/**
 * The status page as one HTML document: inline CSS (light and dark), inline SVG, no script, reloaded by
 * `<meta http-equiv="refresh">`. Every piece of data goes through the escaping `html` template. Pure.
 */

import { html, trusted, type Html } from './html.js'
import { timelineSvg } from './svg.js'
import type { AlertRow, DecisionRow, GroupRow, RuleRow, SeriesPanel, StatusModel, WorkloadPanel } from './view-model.js'
import { describeWorkload } from '../../actions/workload-ref.js'
import { formatDuration } from '../../rules/duration.js'

/** renderStatusPage renders the whole page. */
export function renderStatusPage(m: StatusModel): string {
  const title = m.summary.firing > 0 ? `(${m.summary.firing} firing) rollguard` : 'rollguard'
  return `<!doctype html>\n${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${m.refreshSeconds}">
<meta name="color-scheme" content="light dark">
<title>${title}</title>
<style>${STYLE}</style>
</head>
<body>
${banner(m)}
<header>
<h1>rollguard <span class="muted small">${m.version}</span></h1>
<ul class="facts">${facts(m)}</ul>
</header>
<main>
${summary(m)}
${alertsSection(m)}
${workloadsSection(m)}
${decisionsSection(m)}
${rulesSection(m)}
</main>
<footer class="muted small">JSON: <a href="/api/v1/alerts">/api/v1/alerts</a> · <a href="/api/v1/rules">/api/v1/rules</a> · <a href="/status.json">/status.json</a> · <a href="/metrics">/metrics</a></footer>
</body>
</html>`}\n`
}

function banner(m: StatusModel): Html {
  if (m.actions === undefined) {
    return html`<div class="banner banner-off" role="status">Automatic rollbacks are not configured: alerts are evaluated and sent to Alertmanager only.</div>`
  }
  if (m.actions.mode === 'dry-run') {
    return html`<div class="banner banner-dry" role="status"><strong>DRY-RUN</strong> — rollbacks are decided and checked against the API server, but never applied.</div>`
  }
  return html`<div class="banner banner-exec" role="status"><strong>EXECUTE</strong> — automatic rollbacks are applied to the cluster.</div>`
}

// Only the leader's count decides; a follower's lacks what the leader did since it last read the workloads.
function brakeFact(b: NonNullable<StatusModel['actions']>['brake']): Html | '' {
  if (b === undefined) return ''
  const counted = `${b.rollbacks} of ${b.limit} automatic rollbacks in the last ${formatDuration(b.windowMs)}`
  return b.rollbacks >= b.limit
    ? html`<li><span class="chip firing">global brake engaged</span> ${counted}: no automatic rollback until the oldest leaves the window</li>`
    : html`<li>global brake: ${counted}</li>`
}

function facts(m: StatusModel): Html {
  const leader =
    m.actions === undefined
      ? ''
      : m.actions.leader
        ? html`<li><span class="chip ok">leader</span> this replica acts on triggers</li>`
        : html`<li><span class="chip pending">follower</span> another replica acts; this one records</li>`
  const brake = m.actions?.leader === true ? brakeFact(m.actions.brake) : ''
  const reload =
    m.reload === undefined
      ? ''
      : m.reload.ok
        ? html`<li>config loaded${m.reload.lastSuccessAt === 0 ? '' : html` ${time(m.now, m.reload.lastSuccessAt)}`}</li>`
        : html`<li><span class="chip firing">config reload failed</span> running the previous config (see the log)</li>`
  return html`${leader}${brake}${reload}<li>updated ${time(m.now, m.now, clock(m.now))} · refreshes every ${m.refreshSeconds}s</li>`
}

function summary(m: StatusModel): Html {
  const s = m.summary
  // A rule that sees no data cannot fire: "no alerts" is then no reassurance, so the page is not green.
  const tone = s.firing > 0 ? 'firing' : s.pending > 0 ? 'pending' : s.noData > 0 ? 'nodata' : 'ok'
  const alerts = s.firing > 0 || s.pending > 0 ? `${s.firing} firing · ${s.pending} pending` : 'No alerts firing'
  const problems = [
    s.failing > 0 ? `${s.failing} of ${s.rules} rules failing` : '',
    s.noData > 0 ? `${s.noData} of ${s.rules} rules see no data` : '',
  ].filter(p => p !== '')
  const rules =
    s.rules === 0 ? 'no rules loaded' : problems.length > 0 ? problems.join(' · ') : `${s.rules} rules healthy`
  const ruleTone = s.failing > 0 ? 'firing' : s.noData > 0 ? 'nodata' : 'muted'
  return html`<p class="summary"><span class="big ${tone}">${alerts}</span> <span class="${ruleTone}">${rules}</span></p>`
}

function alertsSection(m: StatusModel): Html {
  const body =
    m.alerts.length === 0
      ? html`<p class="muted">No pending or firing alerts.</p>`
      : html`<table>
<thead><tr><th>State</th><th>Alert</th><th>Workload</th><th class="num">Value</th><th>Since</th><th>Labels</th></tr></thead>
<tbody>${m.alerts.map(a => alertRow(m, a))}</tbody>
</table>${hidden(m.alertsHidden, 'more alerts: see /api/v1/alerts')}`
  return html`<section id="alerts"><h2>Active alerts</h2>${body}</section>`
}

function alertRow(m: StatusModel, a: AlertRow): Html {
  return html`<tr class="row-${a.state}">
<td><span class="chip ${a.state}">${a.state}</span></td>
<td><strong>${a.name}</strong>${a.trigger ? html` <span class="tag" title="a rollback trigger">trigger</span>` : ''}${a.summary === undefined ? '' : html`<div class="muted small">${a.summary}</div>`}</td>
<td>${a.workload ?? html`<span class="muted">—</span>`}</td>
<td class="num"><strong>${a.value}</strong>${a.threshold === undefined ? '' : html`<div class="muted small">alert ${a.threshold}</div>`}</td>
<td>${time(m.now, a.activeAt)}${a.state === 'firing' && a.firedAt !== 0 ? html`<div class="muted small">firing ${time(m.now, a.firedAt)}</div>` : ''}</td>
<td>${labels(a.labels)}</td>
</tr>`
}

function workloadsSection(m: StatusModel): Html {
  const minutes = Math.round(m.windowMs / 60_000)
  const period =
    m.since > m.now - m.windowMs ? `since rollguard started, ${ago(m.now - m.since)}` : `last ${minutes} minutes`
  const body =
    m.workloads.length === 0
      ? html`<p class="muted">No rule returned a value for a workload in the last ${minutes} minutes.</p>`
      : html`<p class="legend small"><span class="key key-line"></span> value the rule returned <span class="key key-thr"></span> alert threshold <span class="key key-absent"></span> no value: below threshold or no data <span class="key key-error"></span> query failed${m.actions === undefined ? '' : html` <span class="key key-mark"></span> rollback`}</p>
${m.workloads.map(w => workloadPanel(w))}${hidden(m.workloadsHidden, 'more workloads')}`
  return html`<section id="workloads"><h2>Workloads <span class="muted small">${period}</span></h2>${body}</section>`
}

function workloadPanel(w: WorkloadPanel): Html {
  const state =
    w.firing > 0
      ? html`<span class="chip firing">${w.firing} firing</span>`
      : w.pending > 0
        ? html`<span class="chip pending">${w.pending} pending</span>`
        : html`<span class="chip ok">ok now</span>`
  return html`<article class="workload">
<h3>${describeWorkload(w.ref)} ${state}</h3>
${w.series.map(seriesPanel)}${hidden(w.seriesHidden, 'more series')}
</article>`
}

function seriesPanel(s: SeriesPanel): Html {
  const state =
    s.state === 'none' ? '' : html`<span class="chip ${s.state === 'resolved' ? 'ok' : s.state}">${s.state}</span> `
  const name = [s.rule, ...s.labels.map(([k, v]) => `${k}=${v}`)].join(' ')
  return html`<div class="series">
<div class="series-head"><div>${state}<strong>${s.rule}</strong></div>${s.labels.length > 0 ? html`<div>${labels(s.labels)}</div>` : ''}
<div class="series-val">${s.last === undefined ? html`<span class="muted">no value in the window</span>` : html`latest <strong>${s.last}</strong>`}${s.threshold === undefined ? '' : html` <span class="muted">· alert ${s.threshold}</span>`}</div></div>
${timelineSvg(s.timeline, name)}
</div>`
}

function decisionsSection(m: StatusModel): Html {
  let body: Html
  if (m.decisions === undefined) body = html`<p class="muted">Automatic rollbacks are not configured.</p>`
  else if (m.decisions.length === 0) body = html`<p class="muted">No rollback decisions yet.</p>`
  else {
    body = html`<table>
<thead><tr><th>When</th><th>Decision</th><th>Workload</th><th>Details</th></tr></thead>
<tbody>${m.decisions.map(d => decisionRow(m, d))}</tbody>
</table>${hidden(m.decisionsHidden, 'older decisions: see the log')}`
  }
  return html`<section id="decisions"><h2>Recent rollback decisions</h2>${body}</section>`
}

function decisionRow(m: StatusModel, d: DecisionRow): Html {
  return html`<tr>
<td class="nowrap">${time(m.now, d.at)}</td>
<td><span class="chip ${d.tone}">${d.headline}</span>${d.mode === 'dry-run' && d.kind !== 'dry_run' ? html` <span class="tag">dry-run</span>` : ''}<div class="muted small">reason: ${d.reason}</div></td>
<td>${d.workload === undefined ? html`<span class="muted">—</span>` : d.link === undefined ? d.workload : html`<a href="${d.link}">${d.workload}</a>`}<div class="muted small">trigger: ${d.trigger}</div></td>
<td>${d.message}${d.kubectl === undefined ? '' : html`<div><code>${d.kubectl}</code></div>`}</td>
</tr>`
}

function rulesSection(m: StatusModel): Html {
  const body =
    m.groups.length === 0
      ? html`<p class="muted">No rule groups loaded.</p>`
      : html`${m.groups.map(g => groupTable(m, g))}`
  return html`<section id="rules"><h2>Rule groups</h2>${body}</section>`
}

function groupTable(m: StatusModel, g: GroupRow): Html {
  return html`<h3>${g.name} <span class="muted small">${g.file} · every ${seconds(g.intervalMs)} · last evaluated ${time(m.now, g.lastEvaluation)} in ${seconds(g.evaluationMs)}</span></h3>
<table>
<thead><tr><th>Rule</th><th>State</th><th>Health</th><th>Threshold</th><th>Last evaluation</th><th>Last error</th></tr></thead>
<tbody>${g.rules.map(
    r => html`<tr${r.health === 'err' ? trusted(' class="row-err"') : r.noData !== undefined ? trusted(' class="row-nodata"') : ''}>
<td><strong>${r.name}</strong>${r.probesMissing ? html` <span class="tag tag-nodata" title="the rule reads rollguard_probe_* series, but the config has no probes: it can never fire">no probes configured</span>` : ''}${noDataNote(m, r)}</td>
<td><span class="chip ${r.state === 'firing' ? 'firing' : r.state === 'pending' ? 'pending' : 'quiet'}">${r.state}</span>${r.firing + r.pending > 1 ? html` <span class="muted small">${r.firing} firing, ${r.pending} pending</span>` : ''}</td>
<td>${healthChip(r)}</td>
<td>${r.threshold ?? html`<span class="muted">—</span>`}</td>
<td>${time(m.now, r.lastEvaluation)}</td>
<td>${r.lastError === '' ? html`<span class="muted">—</span>` : html`<span class="error-text">${r.lastError}</span>`}</td>
</tr>`,
  )}</tbody>
</table>`
}

/** healthChip shows the evaluation's health, except that a rule evaluating fine on no data at all is "no data", never "ok". */
function healthChip(r: RuleRow): Html {
  if (r.health === 'ok' && r.noData !== undefined)
    return html`<span class="chip nodata" title="none of the rule's selectors matches a series: it cannot fire">no data</span>`
  return html`<span class="chip ${r.health === 'ok' ? 'ok' : r.health === 'err' ? 'firing' : 'quiet'}">${r.health}</span>`
}

function noDataNote(m: StatusModel, r: RuleRow): Html | string {
  if (r.noData === undefined) return ''
  return html`<div class="small nodata">no series match ${r.noData.selectors.map((s, i) => html`${i > 0 ? ', ' : ''}<code>${s}</code>`)} since ${time(m.now, r.noData.since)}</div>`
}

function labels(pairs: readonly (readonly [string, string])[]): Html {
  return html`${pairs.map(([k, v]) => html`<span class="label">${k}=<b>${v}</b></span> `)}`
}

function hidden(count: number, what: string): Html {
  return count > 0 ? html`<p class="muted small">…and ${count} ${what}</p>` : html``
}

/** time renders a relative time with the ISO timestamp in the title ("never" for 0). */
function time(now: number, at: number, text?: string): Html {
  if (at === 0) return html`<span class="muted">never</span>`
  const iso = new Date(at).toISOString()
  return html`<time datetime="${iso}" title="${iso}">${text ?? ago(now - at)}</time>`
}

/** ago is "just now", "42s ago", "3m 12s ago", "2h 5m ago", "3d 4h ago". */
export function ago(ms: number): string {
  const s = Math.floor(ms / 1000)
  if (s < 1) return 'just now'
  if (s < 60) return `${s}s ago`
  const m = Math.floor(s / 60)
  if (m < 10) return `${m}m ${s % 60}s ago`
  if (m < 60) return `${m}m ago`
  const h = Math.floor(m / 60)
  if (h < 24) return `${h}h ${m % 60}m ago`
  return `${Math.floor(h / 24)}d ${h % 24}h ago`
}

function clock(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 19)} UTC`
}

function seconds(ms: number): string {
  return ms >= 1000 ? `${Number((ms / 1000).toPrecision(3))}s` : `${Math.round(ms)}ms`
}

// Fixed stylesheet (no data in it). Light by default, dark with prefers-color-scheme.
const STYLE = trusted(`
:root{--bg:#f6f7f9;--fg:#16181d;--muted:#5b6170;--card:#fff;--border:#d9dce3;--fire:#b3161d;--fire-bg:#fde4e4;--pend:#8a5200;--pend-bg:#fff1cc;
--ok:#1b6e34;--ok-bg:#dff3e5;--info-bg:#e8ecf3;--act:#1d3f9a;--act-bg:#e1e8fb;--band:#e4e7ec;--err-band:#f6c9cd;--line:#b3161d;--thr:#444a57;--code:#eef0f4;
--nodata:#6a2fa8;--nodata-bg:#efe4fb}
@media (prefers-color-scheme: dark){:root{--bg:#111317;--fg:#e8eaed;--muted:#a3a9b4;--card:#1a1d22;--border:#2f343c;--fire:#ff7070;--fire-bg:#46191d;--pend:#ffc453;--pend-bg:#3b2d0f;
--ok:#74d38f;--ok-bg:#173222;--info-bg:#252a33;--act:#9db7ff;--act-bg:#1e2a4a;--band:#262a31;--err-band:#52232a;--line:#ff7070;--thr:#c3c8d1;--code:#242830;
--nodata:#cfa6ff;--nodata-bg:#33214a}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
header,main,footer{max-width:1180px;margin:0 auto;padding:0 20px}
header{display:flex;flex-wrap:wrap;align-items:baseline;justify-content:space-between;gap:8px 24px;padding-top:14px}
h1{font-size:22px;margin:0}
h2{font-size:18px;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--border)}
h3{font-size:15px;margin:14px 0 6px}
.facts{display:flex;flex-wrap:wrap;gap:6px 18px;list-style:none;margin:0;padding:0;color:var(--muted)}
.banner{padding:10px 20px;font-size:16px;text-align:center}
.banner-dry{background:#ffd84d;color:#2b2300}
.banner-exec{background:var(--act);color:var(--bg)}
.banner-off{background:var(--info-bg);color:var(--fg)}
.summary{margin:18px 0 0;font-size:16px}
.big{font-size:24px;font-weight:700;margin-right:14px}
.muted{color:var(--muted)}.small{font-size:13px}
.firing{color:var(--fire)}.pending{color:var(--pend)}.ok{color:var(--ok)}.nodata{color:var(--nodata)}
table{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--border)}
th,td{text-align:left;vertical-align:top;padding:7px 10px;border-bottom:1px solid var(--border)}
th{font-size:13px;font-weight:600;color:var(--muted)}
td.num,th.num{text-align:right;white-space:nowrap}
tr.row-firing td:first-child{box-shadow:inset 4px 0 var(--fire)}
tr.row-pending td:first-child{box-shadow:inset 4px 0 var(--pend)}
tr.row-err td{background:var(--fire-bg)}
tr.row-nodata td:first-child{box-shadow:inset 4px 0 var(--nodata)}
.chip{display:inline-block;padding:1px 8px;border-radius:10px;font-size:13px;font-weight:600;white-space:nowrap;background:var(--info-bg);color:var(--fg)}
.chip.firing,.chip.bad{background:var(--fire-bg);color:var(--fire)}
.chip.pending,.chip.warn{background:var(--pend-bg);color:var(--pend)}
.chip.ok,.chip.good{background:var(--ok-bg);color:var(--ok)}
.chip.action{background:var(--act-bg);color:var(--act)}
.chip.quiet{background:transparent;color:var(--muted);padding-left:0}
.chip.nodata{background:var(--nodata-bg);color:var(--nodata)}
.tag.tag-nodata{color:var(--nodata);border-color:var(--nodata)}
.tag{font-size:12px;border:1px solid var(--border);border-radius:4px;padding:0 5px;color:var(--muted);white-space:nowrap}
.label{display:inline-block;font-size:13px;background:var(--code);border-radius:4px;padding:0 6px;margin:1px 0;color:var(--muted)}
.label b{font-weight:600;color:var(--fg)}
code{font:13px/1.4 ui-monospace,"DejaVu Sans Mono",monospace;background:var(--code);padding:1px 6px;border-radius:4px;user-select:all}
.error-text{color:var(--fire);font:13px/1.4 ui-monospace,"DejaVu Sans Mono",monospace;word-break:break-word}
.workload{background:var(--card);border:1px solid var(--border);border-radius:6px;padding:4px 14px 10px;margin:0 0 12px}
.series{display:grid;grid-template-columns:minmax(200px,260px) minmax(0,1fr);gap:4px 16px;align-items:center;margin:10px 0 4px}
.series-head div{margin:2px 0}
@media (max-width:700px){.series{grid-template-columns:1fr}}
svg.tl{display:block;width:100%;max-width:820px;height:auto}
td.nowrap{white-space:nowrap}
.tl-bg{fill:none;stroke:var(--border)}
.tl-absent{fill:var(--band)}
.tl-error{fill:var(--err-band)}
.tl-thr{stroke:var(--thr);stroke-width:1.5;stroke-dasharray:6 4}
.tl-thr-label{fill:var(--thr);font-size:12px}
.tl-line{fill:none;stroke:var(--line);stroke-width:2.5;stroke-linejoin:round}
.tl-last{fill:var(--line)}
.tl-axis{fill:var(--muted);font-size:11px}
.legend{color:var(--muted);display:flex;flex-wrap:wrap;align-items:center;gap:4px 8px}
.key{display:inline-block;width:22px;height:10px;vertical-align:middle;margin-left:8px}
.key-line{border-top:3px solid var(--line);height:0}
.key-thr{border-top:2px dashed var(--thr);height:0}
.key-absent{background:var(--band)}
.key-error{background:var(--err-band)}
.key-mark{width:0;height:14px;border-left:2px solid var(--act)}
.tl-mark{stroke:var(--act);stroke-width:2}
.tl-mark-label{fill:var(--act);font-size:11px;font-weight:600}
footer{margin:28px auto 24px}
a{color:var(--act)}
`)
