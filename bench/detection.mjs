#!/usr/bin/env node
// Detection-latency benchmark (issue 6). One synthetic Deployment, one Prometheus scraping it every second, the
// same rule file (the four default triggers with a short `for`) evaluated every second by Prometheus itself, by
// vmalert (querying that Prometheus) and by rollguard, all notifying one recorder (/prom, /vmalert, /rollguard).
// With --backend victoria-metrics, a VictoriaMetrics single-node scrapes the same target and vmalert and rollguard
// query it instead (Prometheus still evaluates its own TSDB); each engine is measured against the data it queries.
// Each trial injects one fault (rotating error rate, latency, memory, failing probe) at a random phase, clears it
// once every engine has fired, then injects a fault shorter than `for` that must not fire anywhere.
//
//   npm run build && node bench/detection.mjs            # full run → bench/results/detection.json
//   node bench/detection.mjs --smoke --out /tmp/d.json   # 1 trial, short `for`, a minute at most
//   node bench/detection.mjs --backend victoria-metrics  # → bench/results/detection-victoria-metrics.json
//
// Per trial and engine, from the recorder's arrival times and Prometheus's TSDB:
//   fire end-to-end   = first firing alert received − fault injected − for
//   fire engine share = first firing alert received − instant the expression became true in the TSDB − for
//   resolve e2e       = first resolved alert received − fault removed
//   resolve engine    = first resolved alert received − instant the expression stopped being true in the TSDB
// The TSDB instants come from a query_range of the rule's own expression at 100 ms steps, snapped to the exact
// timestamp of the scrape that changed the result.
//
// Options:
//   --smoke                  1 trial, `for` 3s, shorter bounds, marked as a smoke run: checks the script works
//   --trials N               trials (default 12; 1 with --smoke)
//   --for D                  the rules' `for`, whole seconds, at least 2s (default 5s; 3s with --smoke)
//   --window D               the rules' range window (default 5s)
//   --engines LIST           comma-separated: prometheus, vmalert, rollguard (default prometheus,vmalert,rollguard)
//   --backend NAME           what vmalert and rollguard query: prometheus or victoria-metrics (default prometheus)
//   --vm-latency-offset D    VictoriaMetrics's -search.latencyOffset with --backend victoria-metrics (default 0s)
//   --out FILE               the result file (default bench/results/detection.json, or
//                            bench/results/detection-victoria-metrics.json with --backend victoria-metrics)
//   --keep-logs DIR          write every process's log there and keep the work directory (default: removed)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import {
  RESULTS,
  benchRuleText,
  cliArgs,
  fetchJson,
  fetchText,
  log,
  machineInfo,
  median,
  metricSum,
  round,
  runBounded,
  sleep,
  startNodeScript,
  startRollguard,
  startScrapingPrometheus,
  startVmalert,
  writeJson,
} from './lib/common.mjs'

const {
  values: args,
  fail,
  wholeSeconds,
} = cliArgs(import.meta.url, {
  options: {
    smoke: { type: 'boolean', default: false },
    trials: { type: 'string' },
    for: { type: 'string' },
    window: { type: 'string' },
    engines: { type: 'string', default: 'prometheus,vmalert,rollguard' },
    out: { type: 'string' },
    'keep-logs': { type: 'string' },
    backend: { type: 'string', default: 'prometheus' },
    // VictoriaMetrics's own default is 30s: every query would see the data that much later (docs/backends.md).
    'vm-latency-offset': { type: 'string', default: '0s' },
  },
})
const SMOKE = args.smoke
const TRIALS = Number(args.trials ?? (SMOKE ? 1 : 12))
const FOR = args.for ?? (SMOKE ? '3s' : '5s')
const WINDOW = args.window ?? '5s'
// Whole seconds only: they are also written into the rules as `for:` and range windows.
const FOR_MS = wholeSeconds('for', FOR) * 1000
const WINDOW_MS = wholeSeconds('window', WINDOW) * 1000
const ENGINES = args.engines
  .split(',')
  .map(s => s.trim())
  .filter(s => s !== '')
const BACKEND = args.backend
const OUT = args.out ?? join(RESULTS, BACKEND === 'prometheus' ? 'detection.json' : `detection-${BACKEND}.json`)
const SCRAPE = '1s'
const INTERVAL = '1s'
const RESEND = '1m'
const STEP_MS = 100
const PREFIX = { prometheus: 'prom', vmalert: 'vmalert', rollguard: 'rollguard' }
// Fault kinds in rotation: the alert each one should raise and the fault body.
const KINDS = [
  { kind: 'errors', alert: 'HighErrorRate', fault: { errorRatio: 1 } },
  { kind: 'latency', alert: 'HighLatency', fault: { latencySeconds: 6 } },
  { kind: 'memory', alert: 'HighMemory', fault: { memoryRatio: 0.95 } },
  { kind: 'probe', alert: 'HealthCheckFailing', fault: { probeFailing: true } },
]
// Short faults use the gauge kinds: their expressions are true exactly while the fault lasts (± one scrape).
const SHORT_KINDS = [KINDS[2], KINDS[3]]
const SHORT_MS = Math.max(1000, FOR_MS - 3000)
// Hard bound of the whole run.
const DEADLINE_MS = (SMOKE ? 150 : 240) * 1000 + TRIALS * (4 * FOR_MS + 75_000)

if (!Number.isInteger(TRIALS) || TRIALS < 1) fail('--trials must be a positive integer')
if (!(FOR_MS >= 2000)) fail('--for must be at least 2s (e.g. 5s)')
for (const e of ENGINES) if (!(e in PREFIX)) fail(`unknown engine ${e} (prometheus, vmalert, rollguard)`)
if (BACKEND !== 'prometheus' && BACKEND !== 'victoria-metrics')
  fail(`unknown backend ${BACKEND} (prometheus, victoria-metrics)`)

/** waitFor polls fn (bounded) until it returns something other than undefined/false. */
async function waitFor(what, timeoutMs, fn, everyMs = 100) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v !== undefined && v !== false) return v
    if (Date.now() > deadline) return undefined
    await sleep(everyMs)
  }
}

async function postJson(url, body, method = 'POST') {
  return fetchJson(url, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
}

/** scrapeTimes lists the exact timestamps (ms) of the target's scrapes in [from, to] (from raw `up` samples). */
async function scrapeTimes(promUrl, from, to) {
  const seconds = Math.ceil((to - from) / 1000) + 2
  // nocache=1: VictoriaMetrics answers as of the time asked (no latency offset), Prometheus ignores it.
  const q = new URLSearchParams({ query: `up{job="bench"}[${seconds}s]`, time: (to / 1000).toFixed(3), nocache: '1' })
  const body = await fetchJson(`${promUrl}/api/v1/query?${q}`)
  const series = body.data.result[0]
  return (series?.values ?? []).map(([t]) => Math.round(t * 1000)).filter(t => t >= from - 2000)
}

/** truthSteps runs the rule expression as a range query at 100 ms steps; returns the step times where it had a result. */
async function truthSteps(promUrl, expr, from, to) {
  const q = new URLSearchParams({
    query: expr,
    start: (from / 1000).toFixed(3),
    end: (to / 1000).toFixed(3),
    step: String(STEP_MS / 1000),
    // VictoriaMetrics would otherwise round start and end to multiples of the step.
    nocache: '1',
  })
  const body = await fetchJson(`${promUrl}/api/v1/query_range`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: q.toString(),
  })
  const times = new Set()
  for (const s of body.data.result) for (const [t] of s.values) times.add(Math.round(t * 1000))
  return { times, start: Math.round(from), step: STEP_MS }
}

/** snap returns the scrape timestamp that produced the result seen at step time t (the latest scrape ≤ t). */
function snap(scrapes, t) {
  let best
  for (const s of scrapes) if (s <= t && (best === undefined || s > best)) best = s
  return best ?? t
}

/** transitions finds when the expression became true after `after`, and when it became false after `clearedAt`. */
async function tsdbInstants(promUrl, expr, faultAt, clearAt, until) {
  const from = faultAt - 3000
  const { times } = await truthSteps(promUrl, expr, from, until)
  const scrapes = await scrapeTimes(promUrl, from, until)
  const steps = []
  for (let t = from; t <= until; t += STEP_MS) steps.push(t)
  // Step times as the server computes them: start + k·step (ms rounding).
  const isTrue = t => times.has(Math.round(t))
  const trueBefore = steps.some(t => t < faultAt && isTrue(t))
  const firstTrue = steps.find(t => t >= faultAt && isTrue(t))
  const firstFalse =
    clearAt === undefined
      ? undefined
      : steps.find(t => t >= clearAt && firstTrue !== undefined && t > firstTrue && !isTrue(t))
  return {
    trueBefore,
    tTrue: firstTrue === undefined ? null : snap(scrapes, firstTrue),
    tFalse: firstFalse === undefined ? null : snap(scrapes, firstFalse),
  }
}

/** firstEvents returns, per engine prefix, the first recorder arrival for alert/state at or after since. */
async function firstEvents(recUrl, since, alertname, state) {
  const events = await fetchJson(`${recUrl}/events?since=${since}`)
  const out = {}
  for (const e of events) {
    if (e.alertname !== alertname || e.state !== state) continue
    if (out[e.engine] === undefined || e.at < out[e.engine].at) out[e.engine] = e
  }
  return out
}

/** groupIterations reads how often an engine has evaluated the named group (its own metrics). */
async function groupIterations(engine, handle, group) {
  const text = await fetchText(`${handle.url}/metrics`).catch(() => '')
  const metric = {
    prometheus: 'prometheus_rule_group_iterations_total',
    vmalert: 'vmalert_iteration_total',
    rollguard: 'rollguard_rule_group_iterations_total',
  }[engine]
  const lines = text
    .split('\n')
    .filter(l => l.startsWith(metric) && (l.includes(`;${group}"`) || l.includes(`group="${group}"`)))
  return metricSum(lines.join('\n'), metric)
}

await runBounded('detection', DEADLINE_MS, async dist => {
  const machine = machineInfo()
  const work = mkdtempSync(join(tmpdir(), 'rollguard-bench-detection-'))
  const removeWork = dist.onExitSync(() => rmSync(work, { recursive: true, force: true }))
  const logs = args['keep-logs'] ?? work
  mkdirSync(logs, { recursive: true })
  log(`detection: ${TRIALS} trial(s), for ${FOR}, window ${WINDOW}, engines ${ENGINES.join(', ')}; work dir ${work}`)

  const recorder = await startNodeScript(dist, 'recorder.mjs', [], join(logs, 'recorder.log'))
  const target = await startNodeScript(dist, 'synthetic-target.mjs', ['--deployments', '1'], join(logs, 'target.log'))
  const rulesFile = join(work, 'rollback-triggers.bench.yml')
  const writeRules = group => {
    const text = benchRuleText(dist, { forDuration: FOR, rangeWindow: `[${WINDOW}]`, groupName: group })
    writeFileSync(rulesFile, text)
    return Object.fromEntries(parseYaml(text).groups[0].rules.map(r => [r.alert, r.expr]))
  }
  let exprs = writeRules('bench-start')
  const prom = await startScrapingPrometheus(dist, target, {
    interval: SCRAPE,
    evaluationInterval: INTERVAL,
    ruleFiles: ENGINES.includes('prometheus') ? [rulesFile] : [],
    alertmanagerUrls: ENGINES.includes('prometheus') ? [`${recorder.url}/${PREFIX.prometheus}`] : [],
    logFile: join(logs, 'prometheus.log'),
  })
  log(`prometheus ${prom.url} (pid ${prom.pid}), target ${target.url}, recorder ${recorder.url}`)
  // The query API of vmalert and rollguard; the response cache stays on, as in production (instant queries at now
  // never come from it).
  const backend =
    BACKEND === 'prometheus'
      ? prom
      : await dist.startVictoriaMetrics({
          scrapeTargets: [{ job: 'bench', target: new URL(target.url).host, honorLabels: true }],
          scrapeInterval: SCRAPE,
          latencyOffset: args['vm-latency-offset'],
          responseCache: true,
          logFile: join(logs, 'victoria-metrics.log'),
        })
  if (backend !== prom)
    log(`victoria-metrics ${backend.url} (pid ${backend.pid}) is the query API of vmalert and rollguard`)
  // Each engine is measured against the data it queries: Prometheus its own TSDB, the others the backend's.
  const dataOf = e => (e === 'prometheus' ? prom.url : backend.url)
  // Fill the range windows before the first fault.
  await sleep(WINDOW_MS + 2000)

  // vmalert and rollguard start once and stay warm, as in production; each trial reloads all three engines.
  const peers = {}
  if (ENGINES.includes('vmalert')) {
    peers.vmalert = await startVmalert(dist, {
      rules: rulesFile,
      prometheusUrl: backend.url,
      alertmanagerUrl: `${recorder.url}/${PREFIX.vmalert}`,
      interval: INTERVAL,
      resendDelay: RESEND,
      logFile: join(logs, 'vmalert.log'),
    })
  }
  if (ENGINES.includes('rollguard')) {
    peers.rollguard = await startRollguard(dist, {
      rules: rulesFile,
      prometheusUrl: backend.url,
      alertmanagerUrl: `${recorder.url}/${PREFIX.rollguard}`,
      interval: INTERVAL,
      resendDelay: RESEND,
      logFile: join(logs, 'rollguard.log'),
    })
  }
  const handles = () => ({ ...(ENGINES.includes('prometheus') ? { prometheus: prom } : {}), ...peers })
  const reloadAll = async () => {
    if (ENGINES.includes('prometheus')) await fetchJson(`${prom.url}/-/reload`, { method: 'POST' })
    if (peers.vmalert !== undefined) process.kill(peers.vmalert.pid, 'SIGHUP')
    if (peers.rollguard !== undefined) await fetchJson(`${peers.rollguard.url}/-/reload`, { method: 'POST' })
  }

  const trials = []
  const shortFaults = []
  // Trial -1 warms every engine's alert path up (first notification, first connection) and is not counted.
  for (let i = -1; i < TRIALS; i++) {
    // A new group name per trial gives every engine a new evaluation phase (all derive it from the group),
    // so the medians do not depend on one lucky or unlucky phase against the scrape.
    const group = i < 0 ? 'bench-warmup' : `bench-trial-${i}`
    exprs = writeRules(group)
    await reloadAll()
    const ready = await waitFor(
      'engines evaluating',
      20_000,
      async () => {
        const counts = await Promise.all(Object.entries(handles()).map(([e, h]) => groupIterations(e, h, group)))
        return counts.every(c => c >= 2)
      },
      200,
    )
    if (ready === undefined) throw new Error(`trial ${i}: not every engine evaluated group ${group} within 20 s`)

    const k = KINDS[(i + KINDS.length) % KINDS.length]
    await sleep(Math.floor(Math.random() * 1000))
    const { at: faultAt } = await postJson(`${target.url}/fault`, { deployment: 'checkout', ...k.fault })
    const fired = await waitFor('firing', FOR_MS + 20_000, async () => {
      const got = await firstEvents(recorder.url, faultAt, k.alert, 'firing')
      return ENGINES.every(e => got[PREFIX[e]] !== undefined) ? got : false
    })
    const firing = fired ?? (await firstEvents(recorder.url, faultAt, k.alert, 'firing'))
    await sleep(1000)
    const { at: clearAt } = await postJson(`${target.url}/fault?deployment=checkout`, undefined, 'DELETE')
    const resolvedAll = await waitFor('resolved', WINDOW_MS + 20_000, async () => {
      const got = await firstEvents(recorder.url, clearAt, k.alert, 'resolved')
      return ENGINES.every(e => got[PREFIX[e]] !== undefined) ? got : false
    })
    const resolved = resolvedAll ?? (await firstEvents(recorder.url, clearAt, k.alert, 'resolved'))
    const until = Math.max(clearAt, ...Object.values(resolved).map(e => e.at)) + 1000
    await sleep(Math.max(0, until + 200 - Date.now()))
    const truths = {}
    for (const url of new Set([backend.url, ...ENGINES.map(dataOf)]))
      truths[url] = await tsdbInstants(url, exprs[k.alert], faultAt, clearAt, until)
    const tsdb = truths[backend.url]
    const perEngine = {}
    for (const e of ENGINES) {
      const truth = truths[dataOf(e)]
      const f = firing[PREFIX[e]]?.at
      const r = resolved[PREFIX[e]]?.at
      // startsAt is the evaluation time of the firing evaluation (Prometheus, rollguard: the slot timestamp).
      const startsAt = Date.parse(firing[PREFIX[e]]?.startsAt ?? '')
      perEngine[e] = {
        firingReceivedAt: f ?? null,
        firingStartsAt: Number.isFinite(startsAt) ? startsAt : null,
        resolvedReceivedAt: r ?? null,
        evalToReceiveMs: f === undefined || !Number.isFinite(startsAt) ? null : f - startsAt,
        fireE2eMs: f === undefined ? null : f - faultAt - FOR_MS,
        fireEngineMs: f === undefined || truth.tTrue === null ? null : f - truth.tTrue - FOR_MS,
        resolveE2eMs: r === undefined ? null : r - clearAt,
        resolveEngineMs: r === undefined || truth.tFalse === null ? null : r - truth.tFalse,
      }
    }
    if (i < 0) {
      log(`warm-up trial done (${k.kind}); measuring from now on`)
      continue
    }
    const trial = {
      index: i,
      group,
      kind: k.kind,
      alert: k.alert,
      faultAt,
      clearAt,
      tTrue: tsdb.tTrue,
      tFalse: tsdb.tFalse,
      trueBeforeFault: tsdb.trueBefore,
      ...(backend === prom
        ? {}
        : { prometheusTTrue: truths[prom.url]?.tTrue, prometheusTFalse: truths[prom.url]?.tFalse }),
      engines: perEngine,
    }
    trials.push(trial)
    log(
      `trial ${i} ${k.kind}: tsdb +${trial.tTrue === null ? '?' : trial.tTrue - faultAt} ms; ` +
        ENGINES.map(
          e => `${e} fire ${perEngine[e].fireEngineMs ?? 'MISSED'} resolve ${perEngine[e].resolveEngineMs ?? 'MISSED'}`,
        ).join('; '),
    )

    // A fault shorter than `for`: nothing may fire.
    const s = SHORT_KINDS[i % SHORT_KINDS.length]
    await sleep(Math.floor(Math.random() * 1000))
    const { at: shortAt } = await postJson(`${target.url}/fault`, { deployment: 'checkout', ...s.fault })
    await sleep(SHORT_MS)
    const { at: shortClear } = await postJson(`${target.url}/fault?deployment=checkout`, undefined, 'DELETE')
    await sleep(FOR_MS + 4000)
    const falseFirings = await firstEvents(recorder.url, shortAt, s.alert, 'firing')
    const allEvents = await fetchJson(`${recorder.url}/events?since=${shortAt}`)
    const short = await tsdbInstants(backend.url, exprs[s.alert], shortAt, shortClear, Date.now() - 500)
    const falseAlerts = Object.fromEntries(
      ENGINES.map(e => [
        e,
        allEvents.filter(ev => ev.engine === PREFIX[e] && ev.alertname === s.alert && ev.state === 'firing').length,
      ]),
    )
    shortFaults.push({
      index: i,
      kind: s.kind,
      alert: s.alert,
      faultMs: shortClear - shortAt,
      trueMs: short.tTrue !== null && short.tFalse !== null ? short.tFalse - short.tTrue : null,
      falseAlerts,
      firstFalseFiringAt: Object.fromEntries(Object.entries(falseFirings).map(([k, v]) => [k, v.at])),
    })
    log(`short fault ${i} ${s.kind} (${shortClear - shortAt} ms): false alerts ${JSON.stringify(falseAlerts)}`)
  }

  for (const p of Object.values(peers)) await p.stop()
  if (backend !== prom) await backend.stop()
  await prom.stop()
  await Promise.all([target.stop(), recorder.stop()])
  removeWork()
  if (args['keep-logs'] === undefined) rmSync(work, { recursive: true, force: true })

  const summary = {}
  for (const e of ENGINES) {
    const col = k => trials.map(t => t.engines[e][k]).filter(x => x !== null)
    summary[e] = {
      trials: trials.length,
      fired: col('fireE2eMs').length,
      resolved: col('resolveE2eMs').length,
      fireE2eMs: median(col('fireE2eMs')),
      fireEngineMs: median(col('fireEngineMs')),
      resolveE2eMs: median(col('resolveE2eMs')),
      resolveEngineMs: median(col('resolveEngineMs')),
      evalToReceiveMs: median(col('evalToReceiveMs')),
      falseAlerts: shortFaults.reduce((n, s) => n + s.falseAlerts[e], 0),
    }
  }
  const tsdbShare = {
    fireMs: median(trials.filter(t => t.tTrue !== null).map(t => t.tTrue - t.faultAt)),
    resolveMs: median(trials.filter(t => t.tFalse !== null).map(t => t.tFalse - t.clearAt)),
  }
  const ratio = (a, b) => (a === null || b === null || b === 0 ? null : round(a / b, 2))
  const ratios = {}
  for (const peer of ENGINES.filter(e => e !== 'rollguard')) {
    if (!ENGINES.includes('rollguard')) break
    const r = summary.rollguard
    const p = summary[peer]
    ratios[`rollguard/${peer}`] = {
      fireE2e: ratio(r.fireE2eMs, p.fireE2eMs),
      fireEngine: ratio(r.fireEngineMs, p.fireEngineMs),
      resolveE2e: ratio(r.resolveE2eMs, p.resolveE2eMs),
      resolveEngine: ratio(r.resolveEngineMs, p.resolveEngineMs),
    }
  }
  const result = {
    benchmark: 'detection',
    generatedAt: new Date().toISOString(),
    smoke: SMOKE,
    machine,
    settings: {
      trials: TRIALS,
      for: FOR,
      rangeWindow: WINDOW,
      scrapeInterval: SCRAPE,
      evaluationInterval: INTERVAL,
      resendDelay: RESEND,
      shortFaultMs: SHORT_MS,
      tsdbStepMs: STEP_MS,
      engines: ENGINES,
      backend: BACKEND,
      ...(BACKEND === 'victoria-metrics'
        ? {
            victoriaMetricsFlags: dist
              .victoriaMetricsArgs(
                { latencyOffset: args['vm-latency-offset'], responseCache: true },
                0,
                '<dir>',
                '<config>',
              )
              .filter(a => !/^-(httpListenAddr|storageDataPath|promscrape\.config)=/.test(a))
              .join(' '),
          }
        : {}),
      vmalertFlags:
        '-datasource.lookback=0 -datasource.queryTimeAlignment=false -datasource.queryStep=1s -rule.resendDelay=1m -disableAlertgroupLabel -evaluationInterval=1s',
    },
    summary,
    tsdbShare,
    ratios,
    trials,
    shortFaults,
  }
  writeJson(OUT, result)
  log(`wrote ${OUT}`)
  process.stdout.write(`${JSON.stringify({ summary, tsdbShare, ratios }, null, 2)}\n`)
})
process.exit(0)
