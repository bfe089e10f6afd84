#!/usr/bin/env node
// Regenerates the machine, results and targets sections of docs/benchmarks.md from the JSON the benchmarks wrote
// (bench/results/{detection,detection-victoria-metrics,scale,action,webhook,soak,backtest}.json). Only the text between
// the GENERATED markers changes.
//   node bench/report.mjs [--detection FILE] [--detection-vm FILE] [--scale FILE] [--action FILE] [--webhook FILE] [--soak FILE] [--backtest FILE] [--doc docs/benchmarks.md] [--allow-smoke]
//
// Options (a result file that does not exist leaves its section at "no results yet"):
//   --detection FILE      detection results (default bench/results/detection.json)
//   --detection-vm FILE   detection results against VictoriaMetrics
//                         (default bench/results/detection-victoria-metrics.json)
//   --scale FILE          scale results (default bench/results/scale.json)
//   --action FILE         action-latency results (default bench/results/action.json)
//   --webhook FILE        webhook results (default bench/results/webhook.json)
//   --soak FILE           memory-soak results (default bench/results/soak.json)
//   --backtest FILE       backtest results (default bench/results/backtest.json)
//   --doc FILE            the document to update (default docs/benchmarks.md)
//   --allow-smoke         accept results of --smoke runs (refused by default, so they do not reach the docs)
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, RESULTS, cliArgs, oneLine } from './lib/common.mjs'

const { values: args, fail } = cliArgs(import.meta.url, {
  options: {
    detection: { type: 'string', default: join(RESULTS, 'detection.json') },
    'detection-vm': { type: 'string', default: join(RESULTS, 'detection-victoria-metrics.json') },
    scale: { type: 'string', default: join(RESULTS, 'scale.json') },
    action: { type: 'string', default: join(RESULTS, 'action.json') },
    webhook: { type: 'string', default: join(RESULTS, 'webhook.json') },
    soak: { type: 'string', default: join(RESULTS, 'soak.json') },
    backtest: { type: 'string', default: join(RESULTS, 'backtest.json') },
    doc: { type: 'string', default: join(ROOT, 'docs', 'benchmarks.md') },
    'allow-smoke': { type: 'boolean', default: false },
  },
})

/** load reads one result file (undefined when it is absent); a smoke run is refused unless --allow-smoke. */
const load = file => {
  if (!existsSync(file)) return undefined
  let data
  try {
    data = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    fail(`${file} is not a readable JSON result (${oneLine(err.message)})`)
  }
  if (data?.smoke === true && !args['allow-smoke'])
    fail(`${file} is a smoke run; rerun the benchmark without --smoke (or pass --allow-smoke)`)
  return data
}

const ENGINE_NAMES = { prometheus: 'Prometheus rule manager', vmalert: 'vmalert', rollguard: 'rollguard' }
const fmt = (x, digits = 0, unit = '') =>
  x === null || x === undefined || Number.isNaN(x) ? 'n/a' : `${Number(x).toFixed(digits)}${unit}`
const ms = x => fmt(x, 0, ' ms')
const ratio = x => (x === null || x === undefined ? 'n/a' : `${Number(x).toFixed(2)}×`)
const table = (head, rows) =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map(r => `| ${r.join(' | ')} |`)].join(
    '\n',
  )

function machineSection(runs) {
  const lines = []
  for (const r of runs) {
    const m = r.machine
    const pk = Object.entries(m.packages)
      .map(([k, v]) => `${k} ${v ?? 'not installed'}`)
      .join(', ')
    lines.push(
      `- **${r.benchmark}${r.settings?.backend === 'victoria-metrics' ? ' (VictoriaMetrics backend)' : ''}** run ${r.generatedAt} at ${m.revision ?? 'unknown revision'}: ${m.nproc} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB RAM, Linux ${m.kernel}, Node.js ${m.node}, rollguard ${m.rollguard}; Debian packages: ${pk}; load average at start ${m.loadAverageAtStart.join(' / ')}.`,
    )
  }
  return lines.length === 0 ? '_No results yet: run the benchmarks, then `node bench/report.mjs`._' : lines.join('\n')
}

function detectionSection(d, command = 'node bench/detection.mjs') {
  if (d === undefined) return `_No detection results yet (\`${command}\`)._`
  const s = d.settings
  const onVm = s.backend === 'victoria-metrics'
  // With VictoriaMetrics as the backend, vmalert and rollguard query it; Prometheus's rule manager its own TSDB.
  const where = e => (onVm && e !== 'prometheus' ? ' on VictoriaMetrics' : '')
  const rows = s.engines.map(e => {
    const x = d.summary[e]
    return [
      `${ENGINE_NAMES[e]}${where(e)}`,
      `${x.fired}/${x.trials}`,
      ms(x.fireE2eMs),
      ms(x.fireEngineMs),
      ms(x.evalToReceiveMs),
      ms(x.resolveE2eMs),
      ms(x.resolveEngineMs),
      String(x.falseAlerts),
    ]
  })
  const out = [
    `${s.trials} trials (faults rotating over error rate, latency, memory, failing probe), \`for: ${s.for}\`, range windows \`[${s.rangeWindow}]\`, scrape and evaluation every ${s.evaluationInterval}, resend delay ${s.resendDelay}; medians over trials. ` +
      `The TSDB's own share (fault → expression true in ${onVm ? 'VictoriaMetrics' : 'Prometheus'}) was ${ms(d.tsdbShare.fireMs)} for firing and ${ms(d.tsdbShare.resolveMs)} for resolution (fault removed → expression false; includes the range window draining).` +
      (onVm
        ? ` VictoriaMetrics ran with \`${s.victoriaMetricsFlags}\`; each engine's share is measured against the data it queries (Prometheus's rule manager against Prometheus's TSDB).`
        : ''),
    '',
    table(
      [
        'engine',
        'fired',
        'fault → firing received − `for`',
        'engine share (expr true in TSDB → firing received − `for`)',
        'evaluation → received',
        'fault removed → resolved received',
        'engine share of resolution (expr false → resolved received)',
        'false alerts (fault shorter than `for`)',
      ],
      rows,
    ),
  ]
  const ratioRows = Object.entries(d.ratios).map(([k, r]) => [
    k,
    ratio(r.fireE2e),
    ratio(r.fireEngine),
    ratio(r.resolveE2e),
    ratio(r.resolveEngine),
  ])
  if (ratioRows.length > 0) {
    out.push(
      '',
      'Ratios (below 1 = rollguard faster):',
      '',
      table(
        ['ratio', 'fault → firing', 'engine share', 'fault removed → resolved', 'engine share of resolution'],
        ratioRows,
      ),
    )
  }
  const shorts = d.shortFaults.map(f => f.trueMs).filter(x => x !== null)
  if (shorts.length > 0)
    out.push(
      '',
      `Short faults: ${d.shortFaults.length}, each ${ms(d.settings.shortFaultMs)} long; the expression was true for ${ms(Math.min(...shorts))} to ${ms(Math.max(...shorts))} in the TSDB (always less than \`for\`).`,
    )
  return out.join('\n')
}

function scaleSection(sc) {
  if (sc === undefined) return '_No scale results yet (`node bench/scale.mjs`)._'
  const s = sc.settings
  const out = [
    `${s.deployments} Deployments, ${s.series} series, ${s.faultyDeployments} of them faulty; scrape and evaluation every ${s.interval}; per engine and layout a ${s.warmup} warm-up, then a ${s.measure} window; ${s.trials} trial(s), engine order alternating; medians over trials. ` +
      `Prometheus alone (scraping, no rule engine) used ${fmt(sc.prometheusAloneCpuSecondsPerMinute, 2)} CPU-s/min.`,
    '',
  ]
  const rows = []
  for (const layout of s.layouts) {
    for (const e of s.engines) {
      const x = sc.summary[layout][e]
      const label = {
        idle: 'idle (no rules)',
        grouped: `grouped (${s.rules.grouped} rules, 1 group)`,
        'per-deployment': `per-deployment (${s.rules['per-deployment']} rules, ${s.groups['per-deployment']} groups)`,
      }[layout]
      rows.push([
        label,
        ENGINE_NAMES[e],
        fmt(x.cpuSecondsPerMinute, 2),
        fmt(x.cpuMsPerEvaluation, 3),
        `${fmt(x.peakRssMiB, 1)} (max ${fmt(x.maxPeakRssMiB, 1)})`,
        fmt(x.prometheusCpuSecondsPerMinute, 2),
        fmt(x.otherCpuSecondsPerMinute, 1),
        `${fmt(x.evaluations)} / ${fmt(x.expectedEvaluations)}`,
        String(x.missedIterations),
        String(x.evaluationFailures),
      ])
    }
  }
  out.push(
    table(
      [
        'layout',
        'engine',
        'CPU-s/min',
        'CPU ms per evaluation',
        'peak RSS MiB',
        "Prometheus's CPU-s/min meanwhile",
        'other processes on the machine, CPU-s/min',
        'evaluations done / expected (window)',
        'missed iterations',
        'failed evaluations',
      ],
      rows,
    ),
  )
  if (sc.ruleLoad !== undefined) {
    const parts = Object.entries(sc.ruleLoad).map(
      ([layout, x]) =>
        `${layout}: ${fmt(x.bytes / 1024, 0)} KiB, ${fmt(x.parseMs, 0)} ms, peak RSS ${fmt(x.peakRssMiB, 1)} MiB (${fmt(x.rssBeforeMiB, 1)} MiB before)`,
    )
    out.push(
      '',
      `rollguard's rule loader alone, each file in a fresh process (\`bench/rule-load.mjs\`) — ${parts.join('; ')}.`,
    )
  }
  const ratioRows = Object.entries(sc.ratios).map(([layout, r]) => [
    layout,
    ratio(r.cpu),
    ratio(r.cpuPerEvaluation),
    ratio(r.peakRss),
    ratio(r.prometheusCpu),
  ])
  if (ratioRows.length > 0)
    out.push(
      '',
      'Ratios rollguard/vmalert (below 1 = rollguard cheaper):',
      '',
      table(['layout', 'CPU-s/min', 'CPU per evaluation', 'peak RSS', "Prometheus's CPU"], ratioRows),
    )
  return out.join('\n')
}

function actionSection(a) {
  if (a === undefined) return '_No action-latency results yet (`node bench/action.mjs`)._'
  const s = a.settings
  const x = a.summary
  return [
    `${x.trials} trials, one Deployment each, one after the other; rule \`${s.rule}\` evaluated every ${s.interval} over probes every ${s.probeInterval}; mode ${s.mode}, leader election ${s.leaderElection ? 'on' : 'off'}, silence check against a real Alertmanager. ` +
      `Latency = PATCH received by the API server − the alert's activeAt (the slot time of the evaluation that fired it). ${x.patches} rollback patches for ${x.trials} triggers.`,
    '',
    table(
      ['trials', 'median', 'p99', 'min', 'max'],
      [[String(x.trials), ms(x.medianMs), ms(x.p99Ms), ms(x.minMs), ms(x.maxMs)]],
    ),
  ].join('\n')
}

function webhookSection(w) {
  if (w === undefined) return '_No webhook results yet (`node bench/webhook.mjs`)._'
  const s = w.settings
  const x = w.summary
  return [
    `${s.client}, ${s.connections} connections, ${s.durationSeconds} s after a ${s.warmupSeconds} s warm-up; a ${s.alertsPerNotification}-alert Alertmanager notification (${s.payloadBytes} bytes) with ${s.auth} auth; rollguard in ${s.mode} mode at log level ${s.logLevel}. ` +
      `Repeats of one notification, as Alertmanager sends them: after the first, every alert is a duplicate, so this is the receiver's intake path (auth, rate limit, parsing, matching, the seen-set), not the rollback. The per-source rate limit is raised for the run (the default, 50/s with a burst of 200, would answer most of these 429).`,
    '',
    table(
      ['requests/s', 'p50', 'p99', 'max', 'non-2xx', 'errors', 'rollguard CPU-s/s', 'rollguard peak RSS'],
      [
        [
          fmt(x.requestsPerSecond, 0),
          ms(x.latencyMs.p50),
          ms(x.latencyMs.p99),
          ms(x.latencyMs.max),
          String(x.non2xx),
          String(x.errors),
          fmt(x.rollguardCpuSecondsPerSecond, 2),
          `${fmt(x.rollguardPeakRssMiB, 1)} MiB`,
        ],
      ],
    ),
  ].join('\n')
}

/**
 * asciiChart plots (x, y) points as a character grid (a code block renders the same everywhere, unlike SVG inside
 * Markdown): one row per `step` of y (a round number, at most `height` + 1 rows), `width` columns over x, and a
 * `|` column at markX.
 */
function asciiChart(points, { width = 64, height = 12, markX } = {}) {
  const pts = points.filter(p => Number.isFinite(p.x) && Number.isFinite(p.y))
  if (pts.length === 0) return '(no samples)'
  const xs = pts.map(p => p.x)
  const ys = pts.map(p => p.y)
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)]
  const [lo, hi] = [Math.min(...ys), Math.max(...ys)]
  const step = niceStep((hi - lo) / (height - 1) || 1)
  const y0 = Math.floor(lo / step) * step
  const rows = Math.round((Math.ceil(hi / step) * step - y0) / step) + 1
  const col = x => (x1 === x0 ? 0 : Math.round(((x - x0) / (x1 - x0)) * (width - 1)))
  const grid = Array.from({ length: rows }, () => Array.from({ length: width }, () => ' '))
  if (markX !== undefined && markX >= x0 && markX <= x1) for (const r of grid) r[col(markX)] = '|'
  for (const p of pts) grid[rows - 1 - Math.round((p.y - y0) / step)][col(p.x)] = '*'
  const digits = step < 1 ? (step < 0.1 ? 2 : 1) : 0
  const labels = grid.map((_, r) => (y0 + (rows - 1 - r) * step).toFixed(digits))
  const pad = Math.max(...labels.map(l => l.length))
  const xLabel = x => fmt(x, Number.isInteger(Math.round(x * 10) / 10) ? 0 : 1)
  const [first, last] = [xLabel(x0), xLabel(x1)]
  return [
    ...grid.map((r, i) => `${labels[i].padStart(pad)} ┤${r.join('')}`),
    `${' '.repeat(pad)} └${'─'.repeat(width)}`,
    `${' '.repeat(pad + 2)}${first}${' '.repeat(Math.max(1, width - first.length - last.length))}${last} min`,
  ].join('\n')
}

function niceStep(raw) {
  const p = 10 ** Math.floor(Math.log10(raw))
  return [1, 2, 2.5, 5, 10].map(m => m * p).find(s => s >= raw) ?? 10 * p
}

function soakSection(k) {
  if (k === undefined) return '_No soak results yet (`node bench/soak.mjs`)._'
  const s = k.settings
  const x = k.summary
  const t = k.targets
  const verdict = ok => (ok === null || ok === undefined ? 'n/a' : ok ? 'met' : '**missed**')
  const settledMin = s.settledAfterSeconds / 60
  const points = key => k.samples.map(p => ({ x: p.t / 60, y: p[key] }))
  const tot = k.totals
  const out = [
    `${s.minutes} minutes; ${s.rules} rules in ${s.groups} groups every ${s.intervalSeconds} s over ${s.flappingSeries} flapping series (on/off every ${s.flapPeriodSeconds / 2} s, a new \`epoch\` label each period); ` +
      `${tot.reloads} reloads (SIGHUP every ${s.reloadEverySeconds} s, alternating rule sets; ${tot.reloadFailures} failed); ${tot.webhookRequests} webhook notifications (${s.webhookPerSecond}/s, ${s.webhookAlertsPerNotification} alerts each, mode ${s.mode}); ` +
      `${fmt(tot.evaluations)} evaluations, ${fmt(tot.missedIterations)} missed iterations, ${fmt(tot.notificationsSent)} alerts sent to Alertmanager (${fmt(tot.notificationsDropped)} dropped). ` +
      `One sample every ${s.sampleEverySeconds} s; the summary covers the samples after minute ${fmt(settledMin)} (${x.settledSamples} samples), when every 15-minute window has filled.`,
    '',
  ]
  if (x.rss === null) return [...out, '_Too few samples after the windows filled for a summary._'].join('\n')
  out.push(
    table(
      ['target (issue 12)', 'measured (after minute ' + fmt(settledMin) + ')', 'status'],
      [
        [
          `RSS within ±${t.rssBandPercent} % of its mean`,
          `mean ${fmt(x.rss.meanMiB, 1)} MiB, range ${fmt(x.rss.minMiB, 1)}–${fmt(x.rss.maxMiB, 1)} MiB (±${fmt(x.rss.bandPercent, 1)} %), slope ${fmt(x.rss.slopeMiBPer10Min, 2)} MiB per 10 min`,
          verdict(x.met.rss),
        ],
        [
          `heap floor not growing (slope < ${t.heapFloorSlopeMiBPer10Min} MiB per 10 min)`,
          `${fmt(x.heapFloor.slopeMiBPer10Min, 2)}${x.heapFloor.slopeStandardErrorMiBPer10Min == null ? '' : ` ± ${fmt(x.heapFloor.slopeStandardErrorMiBPer10Min, 2)}`} MiB per 10 min (floor ${fmt(x.heapFloor.minMiB, 1)}–${fmt(x.heapFloor.maxMiB, 1)} MiB, first ${fmt(x.heapFloor.firstMiB, 1)}, last ${fmt(x.heapFloor.lastMiB, 1)})` +
            (x.heapFloor.fiveMinuteMinima === undefined
              ? ''
              : `; lowest floor of each 5 minutes: ${x.heapFloor.fiveMinuteMinima.map(p => fmt(p.floorMiB, 1)).join(', ')} MiB, slope ${fmt(x.heapFloor.fiveMinuteMinimaSlopeMiBPer10Min, 2)} MiB per 10 min`),
          verdict(x.met.heapFloor) +
            (x.heapFloor.slopeWithinNoise === true && x.met.heapFloor === false
              ? ' (the slope is within two standard errors of zero)'
              : ''),
        ],
      ],
    ),
    '',
    `Event-loop delay (p99 of each window, \`rollguard_nodejs_eventloop_lag_p99_seconds\`): median ${ms(x.eventLoop.p99MedianMs)}, highest ${ms(x.eventLoop.p99MaxMs)}; peak RSS of the run ${fmt(tot.peakRssMiB, 1)} MiB.`,
    '',
    'RSS (MiB) over the run; `|` marks where the summary starts:',
    '',
    '```text',
    asciiChart(points('rssMiB'), { markX: settledMin }),
    '```',
    '',
    `RSS after minute ${fmt(settledMin)} alone (the band the target is about):`,
    '',
    '```text',
    asciiChart(
      points('rssMiB').filter(p => p.x >= settledMin),
      {},
    ),
    '```',
    '',
    'Heap floor (MiB: the lowest `rollguard_nodejs_heap_size_used_bytes` of each sample window):',
    '',
    '```text',
    asciiChart(points('heapFloorMiB'), { markX: settledMin }),
    '```',
  )
  return out.join('\n')
}

function backtestSection(b) {
  if (b === undefined) return '_No backtest results yet (`node bench/backtest.mjs`)._'
  const s = b.settings
  const kinds = [...new Set(s.incidents.map(i => i.kind))]
  const fired = s.incidents.filter(i => i.alert !== null).length
  const out = [
    `${s.deployments} Deployments × ${s.hours} h (${s.from} – ${s.to}): ${s.series} series (${s.seriesPerPod} per pod; rollouts replace pods), ${s.samples} samples scraped every ${s.scrapeInterval}, ` +
      `backfilled with promtool into ${s.blocks} blocks of ${s.blockHours} h (${fmt(s.openMetricsMiB)} MiB of OpenMetrics → ${fmt(s.tsdbMiB, 1)} MiB of TSDB in ${fmt(s.preparationSeconds, 0)} s) and served by one Prometheus. ` +
      `The four rules of \`rules/rollback-triggers.yml\`, unchanged, replayed at a ${s.step} step (${s.slots} slots); ${s.incidents.length} injected bad rollouts (${kinds.join(', ')}), ${fired} of which must fire. ` +
      `${s.trials} trial(s), engine order alternating, every engine in the same run; medians over trials.`,
    '',
  ]
  const rows = s.engines.map(e => {
    const x = b.summary[e]
    const found = b.runs
      .filter(r => r.engine === e)
      .map(r => r.firingIntervals ?? 'n/a')
      .join(', ')
    return [
      ENGINE_NAMES[e],
      `${fmt(x.wallSeconds, 1)} (${fmt(x.minWallSeconds, 1)}–${fmt(x.maxWallSeconds, 1)})`,
      `${fmt(x.peakRssMiB, 1)} (max ${fmt(x.maxPeakRssMiB, 1)})`,
      fmt(x.cpuSeconds, 2),
      fmt(x.prometheusCpuSeconds, 1),
      fmt(x.rangeQueries),
      fmt(x.otherCpuSeconds, 0),
      `${found} / ${fired}`,
      `${x.checksPassed}/${x.runs}`,
    ]
  })
  out.push(
    table(
      [
        'engine',
        'wall s (min–max)',
        'peak RSS MiB',
        'engine CPU-s',
        "Prometheus's CPU-s meanwhile",
        'range queries',
        'other processes on the machine, CPU-s',
        'firing intervals found / injected (per run)',
        'runs matching the injected incidents',
      ],
      rows,
    ),
  )
  const r = b.ratios ?? {}
  if (r.wall !== undefined) {
    out.push(
      '',
      'Ratios rollguard/vmalert (below 1 = rollguard cheaper):',
      '',
      table(
        ['wall', 'peak RSS', 'engine CPU', "Prometheus's CPU"],
        [[ratio(r.wall), ratio(r.peakRss), ratio(r.cpu), ratio(r.prometheusCpu)]],
      ),
    )
  }
  const a = b.agreement
  if (a !== null && a !== undefined) {
    const list = xs => (xs.length === 0 ? 'none' : xs.join(', '))
    const differ = a.differ.map(d => `${d.alert}: rollguard ${list(d.first)}; vmalert ${list(d.second)}`)
    out.push(
      '',
      `Firing intervals, rollguard against vmalert (first run of each): ${a.matched} alerts fired once in both, their starts within ${fmt(a.maxStartDiffSeconds, 1)} s and their ends within ${fmt(a.maxEndDiffSeconds, 1)} s of each other` +
        `${differ.length === 0 ? '; no other alert fired in either.' : `; different: ${differ.join('. ')}.`}`,
    )
  }
  const problems = [
    ...new Set(
      b.runs
        .filter(x => !x.check.ok)
        .flatMap(x => x.check.problems.map(p => `${ENGINE_NAMES[x.engine]}: ${p.replace(/\s+/g, ' ').trim()}`)),
    ),
  ]
  if (problems.length > 0)
    out.push(
      '',
      'Runs whose firing intervals did not match the injected incidents:',
      '',
      ...problems.map(p => `- ${p}`),
    )
  const t = b.targets
  const x = b.summary.rollguard
  if (x !== undefined && t.met !== null) {
    const verdict = ok => (ok ? 'met' : '**missed**')
    out.push(
      '',
      table(
        ['target (issue 11)', 'measured (median)', 'status', 'missed by'],
        [
          [
            `backtest wall ≤ ${t.wallSeconds} s`,
            `${fmt(x.wallSeconds, 1)} s`,
            verdict(t.met.wallSeconds),
            t.met.wallSeconds || x.wallSeconds === null ? '' : `${fmt(x.wallSeconds - t.wallSeconds, 1)} s`,
          ],
          [
            `backtest peak RSS ≤ ${t.peakRssMiB} MiB`,
            `${fmt(x.peakRssMiB, 1)} MiB`,
            verdict(t.met.peakRssMiB),
            t.met.peakRssMiB || x.peakRssMiB === null ? '' : `${fmt(x.peakRssMiB - t.peakRssMiB, 1)} MiB`,
          ],
        ],
      ),
    )
  }
  return out.join('\n')
}

function targetsSection(d, sc, a, w) {
  const rows = []
  const verdict = ok => (ok === null ? 'n/a' : ok ? 'met' : '**missed**')
  if (d !== undefined && d.summary.rollguard !== undefined && d.summary.prometheus !== undefined) {
    const r = d.summary.rollguard
    const p = d.summary.prometheus
    const ok1 = r.fireEngineMs !== null && p.fireEngineMs !== null ? r.fireEngineMs <= p.fireEngineMs : null
    rows.push([
      "detection: engine share ≤ Prometheus's (same run)",
      `${ms(r.fireEngineMs)} vs ${ms(p.fireEngineMs)}`,
      verdict(ok1),
      ok1 === false ? `by ${ms(r.fireEngineMs - p.fireEngineMs)}` : '',
    ])
    const ok2 = r.resolveE2eMs !== null && p.resolveE2eMs !== null ? r.resolveE2eMs <= p.resolveE2eMs : null
    rows.push([
      'detection: resolution no slower than Prometheus',
      `${ms(r.resolveE2eMs)} vs ${ms(p.resolveE2eMs)} (engine share ${ms(r.resolveEngineMs)} vs ${ms(p.resolveEngineMs)})`,
      verdict(ok2),
      ok2 === false ? `by ${ms(r.resolveE2eMs - p.resolveE2eMs)}` : '',
    ])
    rows.push([
      'detection: no alert for a fault shorter than `for`',
      `${r.falseAlerts} false alerts`,
      verdict(r.falseAlerts === 0),
      '',
    ])
  }
  if (sc !== undefined) {
    const g = sc.summary.grouped?.rollguard
    if (g !== undefined) {
      rows.push([
        'grouped: ≤ 0.3 CPU-s/min',
        `${fmt(g.cpuSecondsPerMinute, 2)} CPU-s/min`,
        verdict(g.cpuSecondsPerMinute <= 0.3),
        g.cpuSecondsPerMinute > 0.3
          ? `by ${fmt(g.cpuSecondsPerMinute - 0.3, 2)} CPU-s/min (${ratio(g.cpuSecondsPerMinute / 0.3)})`
          : '',
      ])
      rows.push([
        'grouped: ≤ 100 MiB RSS',
        `${fmt(g.peakRssMiB, 1)} MiB peak`,
        verdict(g.peakRssMiB <= 100),
        g.peakRssMiB > 100 ? `by ${fmt(g.peakRssMiB - 100, 1)} MiB` : '',
      ])
    }
    const pr = sc.summary['per-deployment']?.rollguard
    const pv = sc.summary['per-deployment']?.vmalert
    if (pr !== undefined && pv !== undefined) {
      const ok = pr.cpuSecondsPerMinute <= pv.cpuSecondsPerMinute
      rows.push([
        "4,000 rules: CPU ≤ vmalert's (same run)",
        `${fmt(pr.cpuSecondsPerMinute, 2)} vs ${fmt(pv.cpuSecondsPerMinute, 2)} CPU-s/min (${fmt(pr.cpuMsPerEvaluation, 3)} vs ${fmt(pv.cpuMsPerEvaluation, 3)} ms per evaluation)`,
        verdict(ok),
        ok ? '' : `by ${fmt(pr.cpuSecondsPerMinute - pv.cpuSecondsPerMinute, 2)} CPU-s/min`,
      ])
    }
    if (pr !== undefined)
      rows.push([
        '4,000 rules: no missed iterations',
        `${pr.missedIterations} missed (vmalert: ${pv?.missedIterations ?? 'n/a'})`,
        verdict(pr.missedIterations === 0),
        '',
      ])
  }
  if (a !== undefined) {
    const m = a.summary.medianMs
    rows.push([
      'firing → rollback patch ≤ 250 ms median',
      `${ms(m)} median, ${ms(a.summary.p99Ms)} p99`,
      verdict(m === null ? null : m <= 250),
      m !== null && m > 250 ? `by ${ms(m - 250)}` : '',
    ])
  } else rows.push(['firing → rollback patch ≤ 250 ms median', 'not measured (`node bench/action.mjs`)', 'n/a', ''])
  if (w !== undefined) {
    const rps = w.summary.requestsPerSecond
    const p99 = w.summary.latencyMs.p99
    const ok = rps >= 5000 && p99 <= 20
    const missed = [rps < 5000 ? `${fmt(5000 - rps, 0)} req/s short` : '', p99 > 20 ? `p99 ${ms(p99 - 20)} over` : '']
      .filter(Boolean)
      .join(', ')
    rows.push(['webhook ≥ 5,000 req/s, p99 ≤ 20 ms', `${fmt(rps, 0)} req/s, p99 ${ms(p99)}`, verdict(ok), missed])
  } else rows.push(['webhook ≥ 5,000 req/s, p99 ≤ 20 ms', 'not measured (`node bench/webhook.mjs`)', 'n/a', ''])
  return table(['target (issue 6)', 'measured (medians)', 'status', 'missed by'], rows)
}

function replaceSection(doc, name, body) {
  const begin = `<!-- BEGIN GENERATED: ${name} (bench/report.mjs) -->`
  const end = `<!-- END GENERATED: ${name} -->`
  const i = doc.indexOf(begin)
  const j = doc.indexOf(end)
  if (i === -1 || j === -1 || j < i) fail(`${args.doc} lacks the markers of section ${name}: ${begin} … ${end}`)
  return `${doc.slice(0, i + begin.length)}\n${body}\n${doc.slice(j)}`
}

const detection = load(args.detection)
const detectionVm = load(args['detection-vm'])
const scale = load(args.scale)
const action = load(args.action)
const webhook = load(args.webhook)
const soak = load(args.soak)
const backtest = load(args.backtest)
if (!existsSync(args.doc)) fail(`no such file: ${args.doc}`)
let doc = readFileSync(args.doc, 'utf8')
doc = replaceSection(
  doc,
  'machine',
  machineSection([detection, detectionVm, scale, action, webhook, soak, backtest].filter(x => x !== undefined)),
)
doc = replaceSection(doc, 'detection', detectionSection(detection))
doc = replaceSection(
  doc,
  'detection-victoria-metrics',
  detectionSection(detectionVm, 'node bench/detection.mjs --backend victoria-metrics'),
)
doc = replaceSection(doc, 'scale', scaleSection(scale))
doc = replaceSection(doc, 'action', actionSection(action))
doc = replaceSection(doc, 'webhook', webhookSection(webhook))
doc = replaceSection(doc, 'targets', targetsSection(detection, scale, action, webhook))
doc = replaceSection(doc, 'soak', soakSection(soak))
doc = replaceSection(doc, 'backtest', backtestSection(backtest))
writeFileSync(args.doc, doc)
process.stderr.write(`updated ${args.doc}\n`)
