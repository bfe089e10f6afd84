#!/usr/bin/env node
// Memory soak (issue 12): does rollguard's memory stay flat once every time window has filled? A real Prometheus
// scrapes the synthetic target, whose `bench_flap` series switch on and off with a new `epoch` label every period,
// so alerts go pending → firing → resolved continuously and each one carries new label values. rollguard
// evaluates ≥ 2,000 rules every second, notifies a real Alertmanager, is reloaded with SIGHUP every few minutes
// with alternating rule sets (groups added, removed and changed), and answers a steady stream of Alertmanager
// webhook notifications (new alerts and their resolutions, in dry-run mode). Every 30 s it records rollguard's RSS
// (/proc/<pid>/status), the lowest heap-used of the window (rollguard's own rollguard_nodejs_heap_size_used_bytes,
// read every few seconds: the "heap floor", without forcing a collection) and the event-loop delay.
// The run must outlast the 15-minute windows (resolved-alert retention, status-page history): the summary looks at
// the samples after minute 16 only.
//
//   npm run build && node bench/soak.mjs                # 40 minutes → bench/results/soak.json
//   node bench/soak.mjs --minutes 60                    # longer
//   node bench/soak.mjs --smoke --out /tmp/soak.json    # 50 rules, 20 s, reloads every 5 s: checks the script works
//   node bench/soak.mjs --resummarize bench/results/soak.json   # recompute the summary of a result file's samples
//   node bench/soak.mjs --minutes 6 --heap-snapshots /tmp/snaps --snapshot-at 2,5   # heap snapshots to compare
//
// Targets: after minute 16, RSS within ±10 % of its mean, and a heap floor that does not grow (slope < 0.5 MB per
// 10 minutes).
//
// Options:
//   --smoke                 50 rules, 20 s, reloads every 5 s, marked as a smoke run: checks the script works
//   --minutes M             how long to run (default 40; 1/3 with --smoke)
//   --rules N               rules, at least --groups (default 2000; 50 with --smoke)
//   --groups N              rule groups (default 20; 5 with --smoke)
//   --interval S            scrape and evaluation interval, seconds (default 1)
//   --reload-every S        seconds between SIGHUP reloads (default 180; 5 with --smoke)
//   --sample-every S        seconds per sample window (default 30; 5 with --smoke)
//   --flap-period S         seconds of one on/off cycle of the flapping series (default 60; 10 with --smoke)
//   --webhook-rate R        webhook notifications per second (default 5)
//   --settled-after M       minutes after which samples count in the summary (default 16; 0 with --smoke)
//   --out FILE              the result file (default bench/results/soak.json)
//   --resummarize FILE      recompute the summary of a result file in place, start nothing
//   --heap-snapshots DIR    let rollguard write heap snapshots there (on SIGUSR2)
//   --snapshot-at LIST      comma-separated minutes at which to take one, with --heap-snapshots (default none)
//   --keep-logs DIR         write every process's log there and keep the work directory (default: removed)
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import {
  DIST_MAIN,
  RESULTS,
  ROOT,
  cliArgs,
  fetchText,
  log,
  machineInfo,
  memoryKiB,
  metricSum,
  round,
  runBounded,
  sleep,
  startNodeScript,
  startScrapingPrometheus,
  writeJson,
} from './lib/common.mjs'

const { values: args, fail } = cliArgs(import.meta.url, {
  options: {
    smoke: { type: 'boolean', default: false },
    minutes: { type: 'string' },
    rules: { type: 'string' },
    groups: { type: 'string' },
    interval: { type: 'string' },
    'reload-every': { type: 'string' },
    'sample-every': { type: 'string' },
    'flap-period': { type: 'string' },
    'webhook-rate': { type: 'string' },
    'settled-after': { type: 'string' },
    out: { type: 'string' },
    resummarize: { type: 'string' },
    'heap-snapshots': { type: 'string' },
    'snapshot-at': { type: 'string', default: '' },
    'keep-logs': { type: 'string' },
  },
})
const SMOKE = args.smoke
const num = (name, fallback) => {
  const v = Number(args[name] ?? fallback)
  if (!Number.isFinite(v) || v < 0 || (v === 0 && name !== 'settled-after')) fail(`--${name} must be a positive number`)
  return v
}
const DURATION_S = Math.round(num('minutes', SMOKE ? 1 / 3 : 40) * 60)
const RULES = Math.round(num('rules', SMOKE ? 50 : 2000))
const GROUPS = Math.round(num('groups', SMOKE ? 5 : 20))
const INTERVAL_S = num('interval', 1)
const RELOAD_S = num('reload-every', SMOKE ? 5 : 180)
const SAMPLE_S = num('sample-every', SMOKE ? 5 : 30)
const FLAP_PERIOD_S = num('flap-period', SMOKE ? 10 : 60)
const WEBHOOK_RATE = num('webhook-rate', 5)
// The windows that fill: resolved alerts are kept (and re-sent) 15 minutes, the status page's history reaches 15 minutes back.
const SETTLED_AFTER_S = num('settled-after', SMOKE ? 0 : 16) * 60
const HEAP_READ_S = SMOKE ? 1 : 3
const OUT = args.out ?? join(RESULTS, 'soak.json')
const TARGETS = { rssBandPercent: 10, heapFloorSlopeMiBPer10Min: 0.5 }
const TOKEN = 'bench-soak-token'
const WEBHOOK_PATH = '/api/v1/webhook/alertmanager'
const SNAPSHOT_AT_S = args['snapshot-at']
  .split(',')
  .filter(x => x.trim() !== '')
  .map(x => Number(x) * 60)
const DEADLINE_MS = (DURATION_S + 240 + SNAPSHOT_AT_S.length * 120) * 1000

for (const at of SNAPSHOT_AT_S)
  if (!Number.isFinite(at) || at <= 0) fail(`--snapshot-at is a list of minutes like 2,5, not ${args['snapshot-at']}`)
if (GROUPS < 1 || RULES < GROUPS) fail('--rules must be at least --groups')
if (!SMOKE && DURATION_S < 40 * 60) log(`soak: ${DURATION_S / 60} minutes is shorter than the 40 the targets assume`)

// ---- rule sets ---------------------------------------------------------------------------------------------

/**
 * ruleSet renders one of two alternating rule files. Both have GROUPS groups of RULES/GROUPS rules; set B renames
 * the last quarter of the groups (removed and added on every reload) and changes one rule's expression in the
 * first group (a changed group restarts with the state of its unchanged rules). Each rule watches one flapping
 * slot; one rule in four has a `for` longer than the slot is on, so its alerts are deleted while pending; one in
 * twenty is a rollback trigger naming a workload (dry-run, so only decisions and audit records follow).
 */
function ruleSet(which, slots) {
  const perGroup = Math.ceil(RULES / GROUPS)
  const renamedFrom = GROUPS - Math.max(1, Math.floor(GROUPS / 4))
  const onSeconds = FLAP_PERIOD_S / 2
  const lines = ['groups:']
  let n = 0
  for (let g = 0; g < GROUPS && n < RULES; g++) {
    const name = which === 'b' && g >= renamedFrom ? `soak-b-${g}` : `soak-${g}`
    lines.push(`  - name: ${name}`, `    interval: ${INTERVAL_S}s`, '    rules:')
    for (let r = 0; r < perGroup && n < RULES; r++, n++) {
      const slot = n % slots
      const changed = which === 'b' && g === 0 && r === 0
      const longFor = n % 4 === 3
      lines.push(
        `      - alert: SoakFlap${n}`,
        `        expr: bench_flap{slot="${slot}"} > ${changed ? '0.5' : '0'}`,
        `        for: ${longFor ? Math.ceil(onSeconds * 1.5) : Math.max(1, Math.floor(onSeconds / 6))}s`,
        '        labels:',
        '          severity: warning',
        ...(n % 20 === 0
          ? [
              '          rollguard_trigger: rollback',
              '          namespace: shop',
              `          deployment: soak-${n % 7}`,
            ]
          : []),
        '        annotations:',
        `          summary: "slot {{ $labels.slot }} is on (epoch {{ $labels.epoch }}, value {{ $value }})"`,
      )
    }
  }
  return `${lines.join('\n')}\n`
}

/** writeAtomically replaces a file in one step, so a reload never reads half of it. */
function writeAtomically(file, text) {
  writeFileSync(`${file}.tmp`, text)
  renameSync(`${file}.tmp`, file)
}

// ---- webhook traffic ---------------------------------------------------------------------------------------

/**
 * webhookBody is notification number i: five alerts with fingerprints never used before, firing; notification
 * i + 10 resolves them (so keys are added, and repeated as resolved, forever). Two of the five are rollback triggers
 * for a workload, one names no workload, two match no matcher (ignored).
 */
function webhookBody(i) {
  const resolving = i >= 10 && i % 2 === 1
  const base = resolving ? i - 10 : i
  const startsAt = new Date(Date.UTC(2026, 0, 1) + base * 1000).toISOString()
  const alerts = [0, 1, 2, 3, 4].map(k => {
    const labels = {
      alertname: `SoakWebhook${k}`,
      severity: 'critical',
      namespace: 'shop',
      instance: `pod-${base}-${k}`,
    }
    if (k < 2) Object.assign(labels, { rollguard_trigger: 'rollback', deployment: `hook-${base % 11}` })
    if (k === 2) labels.rollguard_trigger = 'rollback'
    return {
      status: resolving ? 'resolved' : 'firing',
      labels,
      annotations: { summary: `soak webhook alert ${base}/${k}` },
      startsAt,
      endsAt: resolving ? new Date().toISOString() : '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.example:9090/graph',
      fingerprint: (BigInt(base) * 8n + BigInt(k)).toString(16).padStart(16, '0'),
    }
  })
  return JSON.stringify({
    receiver: 'rollguard',
    status: resolving ? 'resolved' : 'firing',
    alerts,
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager.example:9093',
    version: '4',
    groupKey: `{}:{soak="${base}"}`,
    truncatedAlerts: 0,
  })
}

/** webhookLoop POSTs notifications at WEBHOOK_RATE per second until stopped; counts the answers by status. */
function webhookLoop(url) {
  const statuses = {}
  let i = 0
  let stopped = false
  const done = (async () => {
    const started = Date.now()
    while (!stopped) {
      const body = webhookBody(i++)
      try {
        const res = await fetch(`${url}${WEBHOOK_PATH}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
          body,
          signal: AbortSignal.timeout(10_000),
        })
        await res.arrayBuffer()
        statuses[res.status] = (statuses[res.status] ?? 0) + 1
      } catch (err) {
        statuses.error = (statuses.error ?? 0) + 1
        if (statuses.error <= 3) log(`webhook POST failed: ${err.message}`)
      }
      // A steady rate: wait for the next slot, not a fixed pause after each answer.
      await sleep(Math.max(0, started + (i * 1000) / WEBHOOK_RATE - Date.now()))
    }
  })()
  return {
    statuses,
    stop: async () => {
      stopped = true
      await done
      return i
    },
  }
}

// ---- sampling ----------------------------------------------------------------------------------------------

const MiB = 1024 * 1024

/** daemonGauges reads what the window needs from rollguard's /metrics. */
async function daemonGauges(url) {
  const text = await fetchText(`${url}/metrics`, 20_000)
  const get = name => metricSum(text, name)
  return {
    heapUsed: get('rollguard_nodejs_heap_size_used_bytes'),
    lagP99: get('rollguard_nodejs_eventloop_lag_p99_seconds'),
    lagMax: get('rollguard_nodejs_eventloop_lag_max_seconds'),
    series: text.split('\n').filter(l => l !== '' && !l.startsWith('#')).length,
    alerts: {
      pending: alertCount(text, 'pending'),
      firing: alertCount(text, 'firing'),
      inactive: alertCount(text, 'inactive'),
    },
    evaluations: get('rollguard_rule_evaluations_total'),
    missed: get('rollguard_rule_group_iterations_missed_total') || 0,
    sent: get('rollguard_notifications_sent_total') || 0,
    dropped: get('rollguard_notifications_dropped_total') || 0,
  }
}

function alertCount(text, state) {
  return (
    metricSum(
      text
        .split('\n')
        .filter(l => l.includes(`state="${state}"`))
        .join('\n'),
      'rollguard_alerts',
    ) || 0
  )
}

/**
 * sampler reads the heap every HEAP_READ_S seconds and closes a window every SAMPLE_S seconds: RSS at its end, the
 * lowest heap-used seen in it (the floor, after whatever collections ran), the highest event-loop delay p99.
 */
function sampler(handle, startedAt) {
  const samples = []
  let window = { heapMin: Infinity, heapMax: 0, lagP99: 0, lagMax: 0, reads: 0, failures: 0 }
  let last
  let stopped = false
  const done = (async () => {
    let nextClose = startedAt + SAMPLE_S * 1000
    while (!stopped) {
      try {
        const g = await daemonGauges(handle.url)
        window.heapMin = Math.min(window.heapMin, g.heapUsed)
        window.heapMax = Math.max(window.heapMax, g.heapUsed)
        window.lagP99 = Math.max(window.lagP99, g.lagP99)
        window.lagMax = Math.max(window.lagMax, g.lagMax)
        window.reads++
        last = g
      } catch (err) {
        window.failures++
        log(`reading ${handle.url}/metrics failed: ${err.message}`)
      }
      if (Date.now() >= nextClose) {
        const mem = memoryKiB(handle.pid)
        const s = {
          t: round((Date.now() - startedAt) / 1000, 1),
          rssMiB: round(mem.rss / 1024, 1),
          // Open descriptors (sockets included): a leak of connections shows here before it shows in memory.
          openFds: readdirSync(`/proc/${handle.pid}/fd`).length,
          heapFloorMiB: window.reads > 0 ? round(window.heapMin / MiB, 2) : null,
          heapMaxMiB: window.reads > 0 ? round(window.heapMax / MiB, 2) : null,
          eventLoopP99Ms: window.reads > 0 ? round(window.lagP99 * 1000, 1) : null,
          eventLoopMaxMs: window.reads > 0 ? round(window.lagMax * 1000, 1) : null,
          metricsSeries: last?.series ?? null,
          alerts: last?.alerts ?? null,
          evaluations: last?.evaluations ?? null,
          missedIterations: last?.missed ?? null,
          notificationsSent: last?.sent ?? null,
          notificationsDropped: last?.dropped ?? null,
        }
        samples.push(s)
        log(
          `t=${Math.round(s.t)}s RSS ${s.rssMiB} MiB, heap floor ${s.heapFloorMiB} MiB (max ${s.heapMaxMiB}), loop p99 ${s.eventLoopP99Ms} ms, fds ${s.openFds}, alerts ${JSON.stringify(s.alerts)}, /metrics series ${s.metricsSeries}, missed ${s.missedIterations}`,
        )
        window = { heapMin: Infinity, heapMax: 0, lagP99: 0, lagMax: 0, reads: 0, failures: 0 }
        nextClose += SAMPLE_S * 1000
      }
      await sleep(Math.max(0, Math.min(HEAP_READ_S * 1000, nextClose - Date.now())))
    }
  })()
  return {
    samples,
    stop: async () => {
      stopped = true
      await done
    },
  }
}

// ---- summary -----------------------------------------------------------------------------------------------

/** slope fits y = a + b·x by least squares and returns b. */
function slope(points) {
  return fit(points)?.slope ?? null
}

/** fit is the least-squares line through points: its slope and the slope's standard error (null below 3 points). */
function fit(points) {
  const n = points.length
  if (n < 2) return null
  const mx = points.reduce((s, p) => s + p.x, 0) / n
  const my = points.reduce((s, p) => s + p.y, 0) / n
  let num = 0
  let den = 0
  for (const p of points) {
    num += (p.x - mx) * (p.y - my)
    den += (p.x - mx) ** 2
  }
  if (den === 0) return null
  const b = num / den
  const a = my - b * mx
  const residuals = points.reduce((sum, p) => sum + (p.y - a - b * p.x) ** 2, 0)
  return { slope: b, standardError: n < 3 ? null : Math.sqrt(residuals / (n - 2) / den) }
}

/**
 * windowMinima keeps the lowest point of each `span` (x units) of points: the lowest of many readings is the
 * likeliest to come right after a full collection, so these are the steadier estimate of the live heap.
 */
function windowMinima(points, span) {
  const byWindow = new Map()
  for (const p of points) {
    const k = Math.floor((p.x - points[0].x) / span)
    const low = byWindow.get(k)
    if (low === undefined || p.y < low.y) byWindow.set(k, p)
  }
  return [...byWindow.values()]
}

/** summarize judges the samples taken after the windows filled against the targets. */
function summarize(samples, settledAfterS, targets = TARGETS) {
  const settled = samples.filter(s => s.t >= settledAfterS && s.rssMiB !== null)
  if (settled.length < 2)
    return {
      settledSamples: settled.length,
      rss: null,
      heapFloor: null,
      eventLoop: null,
      met: { rss: null, heapFloor: null },
    }
  const rss = settled.map(s => s.rssMiB)
  const mean = rss.reduce((a, b) => a + b, 0) / rss.length
  const [min, max] = [Math.min(...rss), Math.max(...rss)]
  const band = (Math.max(mean - min, max - mean) / mean) * 100
  const floors = settled.filter(s => s.heapFloorMiB !== null).map(s => ({ x: s.t / 600, y: s.heapFloorMiB }))
  const heapFit = fit(floors)
  const heapSlope = heapFit?.slope ?? null
  // x is in units of 10 minutes: a span of 0.5 is the lowest floor of every 5 minutes.
  const minima = windowMinima(floors, 0.5)
  const lags = settled.map(s => s.eventLoopP99Ms).filter(x => x !== null)
  const rssSlope = slope(settled.map(s => ({ x: s.t / 600, y: s.rssMiB })))
  return {
    settledSamples: settled.length,
    fromSeconds: settled[0].t,
    toSeconds: settled[settled.length - 1].t,
    rss: {
      meanMiB: round(mean, 1),
      minMiB: min,
      maxMiB: max,
      bandPercent: round(band, 2),
      slopeMiBPer10Min: round(rssSlope, 3),
    },
    heapFloor: {
      firstMiB: floors[0]?.y ?? null,
      lastMiB: floors[floors.length - 1]?.y ?? null,
      minMiB: Math.min(...floors.map(p => p.y)),
      maxMiB: Math.max(...floors.map(p => p.y)),
      slopeMiBPer10Min: round(heapSlope, 3),
      slopeStandardErrorMiBPer10Min: round(heapFit?.standardError ?? null, 3),
      // Whether the slope is within two standard errors of zero: the noise of this method, apart from the target.
      slopeWithinNoise: heapFit?.standardError == null ? null : Math.abs(heapFit.slope) <= 2 * heapFit.standardError,
      fiveMinuteMinima: minima.map(p => ({ t: round(p.x * 600, 1), floorMiB: p.y })),
      fiveMinuteMinimaSlopeMiBPer10Min: round(slope(minima), 3),
    },
    eventLoop: {
      p99MedianMs: lags.length === 0 ? null : round([...lags].sort((a, b) => a - b)[Math.floor(lags.length / 2)], 1),
      p99MaxMs: lags.length === 0 ? null : Math.max(...lags),
    },
    met: {
      rss: band <= targets.rssBandPercent,
      heapFloor: heapSlope === null ? null : heapSlope < targets.heapFloorSlopeMiBPer10Min,
    },
  }
}

// ---- run ---------------------------------------------------------------------------------------------------

if (args.resummarize !== undefined) {
  const result = JSON.parse(readFileSync(args.resummarize, 'utf8'))
  result.summary = summarize(result.samples, result.settings.settledAfterSeconds, result.targets)
  writeJson(args.resummarize, result)
  process.stdout.write(`${JSON.stringify(result.summary, null, 2)}\n`)
  process.exit(0)
}

await runBounded('soak', DEADLINE_MS, async dist => {
  const machine = machineInfo()
  const work = mkdtempSync(join(tmpdir(), 'rollguard-bench-soak-'))
  const removeWork = dist.onExitSync(() => rmSync(work, { recursive: true, force: true }))
  const logs = args['keep-logs'] ?? work
  mkdirSync(logs, { recursive: true })
  // Half as many slots as rules: two rules per slot, so alerts of one series come from different rules.
  const slots = Math.max(1, Math.ceil(RULES / 2))
  log(
    `soak: ${RULES} rules in ${GROUPS} groups every ${INTERVAL_S} s over ${slots} flapping series (period ${FLAP_PERIOD_S} s), reload every ${RELOAD_S} s, webhook ${WEBHOOK_RATE}/s, ${round(DURATION_S / 60, 2)} minutes; samples every ${SAMPLE_S} s; work dir ${work}`,
  )

  const target = await startNodeScript(
    dist,
    'synthetic-target.mjs',
    ['--deployments', '1', '--flap-slots', String(slots), '--flap-period', String(FLAP_PERIOD_S)],
    join(logs, 'target.log'),
  )
  const prom = await startScrapingPrometheus(dist, target, {
    job: 'soak',
    interval: `${INTERVAL_S}s`,
    logFile: join(logs, 'prometheus.log'),
  })
  const am = await dist.startAlertmanager({ logFile: join(logs, 'alertmanager.log') })
  log(`prometheus ${prom.url} (pid ${prom.pid}) scraping ${target.url}; alertmanager ${am.url} (pid ${am.pid})`)

  // Actions in dry-run against a cluster that is not there (as bench/webhook.mjs): triggers are decided and
  // recorded, the workload read fails at once, nothing else talks to Kubernetes.
  const closedPort = await dist.freePort()
  writeFileSync(
    join(work, 'kubeconfig.yml'),
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'none', cluster: { server: `http://127.0.0.1:${closedPort}` } }],
      users: [{ name: 'none', user: { token: 'none' } }],
      contexts: [{ name: 'none', context: { cluster: 'none', user: 'none', namespace: 'shop' } }],
      'current-context': 'none',
    }),
  )
  writeFileSync(join(work, 'token'), `${TOKEN}\n`)
  writeFileSync(
    join(work, 'rollguard.yml'),
    stringify({
      actions: { mode: 'dry-run', allow: [{ namespace: 'shop' }] },
      kubernetes: { kubeconfig: 'kubeconfig.yml', lease: { enabled: false } },
      webhook: { auth: { bearer_token_file: 'token' } },
    }),
  )
  const rulesFile = join(work, 'rules.yml')
  writeAtomically(rulesFile, ruleSet('a', slots))

  const port = await dist.freePort()
  const url = `http://127.0.0.1:${port}`
  // Heap snapshots on SIGUSR2 (Node's own flag, nothing in rollguard), written to the given directory.
  const snapshotDir = args['heap-snapshots']
  if (snapshotDir !== undefined) mkdirSync(snapshotDir, { recursive: true })
  const nodeArgs = snapshotDir === undefined ? [] : ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshotDir}`]
  const proc = await dist.startProcess(
    process.execPath,
    [
      ...nodeArgs,
      DIST_MAIN,
      'run',
      '--config',
      join(work, 'rollguard.yml'),
      '--prometheus-url',
      prom.url,
      '--alertmanager-url',
      am.url,
      '--rules',
      rulesFile,
      '--eval-interval',
      `${INTERVAL_S}s`,
      '--listen',
      `127.0.0.1:${port}`,
      '--external-url',
      url,
      '--log-level',
      'warn',
    ],
    {
      name: 'rollguard',
      logFile: join(logs, 'rollguard.log'),
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'production' },
    },
  )
  await dist.waitForHttp(`${url}/-/healthy`, { timeoutMs: 60_000, process: proc })
  log(`rollguard ${url} (pid ${proc.pid})`)

  const startedAt = Date.now()
  const handle = { url, pid: proc.pid }
  const sampling = sampler(handle, startedAt)
  const hooks = webhookLoop(url)
  // A reader of the status page now and then, as a person would have it open.
  const pageViews = { ok: 0, failed: 0 }
  let reloads = 0
  let which = 'a'
  const endAt = startedAt + DURATION_S * 1000
  let nextReload = startedAt + RELOAD_S * 1000
  let nextView = startedAt + 60_000
  const snapshots = SNAPSHOT_AT_S.map(s => startedAt + s * 1000).filter(t => t < endAt)
  while (Date.now() < endAt) {
    await sleep(Math.max(0, Math.min(endAt, nextReload, nextView, ...snapshots) - Date.now()))
    if (snapshots.length > 0 && Date.now() >= snapshots[0]) {
      snapshots.shift()
      log('heap snapshot requested (SIGUSR2)')
      process.kill(proc.pid, 'SIGUSR2')
    }
    if (Date.now() >= nextReload && Date.now() < endAt) {
      which = which === 'a' ? 'b' : 'a'
      writeAtomically(rulesFile, ruleSet(which, slots))
      process.kill(proc.pid, 'SIGHUP')
      reloads++
      nextReload += RELOAD_S * 1000
    }
    if (Date.now() >= nextView) {
      await fetchText(`${url}/`, 30_000).then(
        () => pageViews.ok++,
        () => pageViews.failed++,
      )
      nextView += 60_000
    }
  }
  const webhookRequests = await hooks.stop()
  await sampling.stop()
  const metrics = await fetchText(`${url}/metrics`, 20_000)
  const reloadFailures =
    metricSum(
      metrics
        .split('\n')
        .filter(l => l.includes('result="failure"'))
        .join('\n'),
      'rollguard_config_reloads_total',
    ) || 0
  const amAlerts = await dist.amAlerts(am.url).then(
    a => a.length,
    () => null,
  )
  const peak = memoryKiB(proc.pid)
  await proc.stop(20_000)
  await am.stop()
  await prom.stop()
  await target.stop()

  const samples = sampling.samples
  const summary = summarize(samples, SETTLED_AFTER_S)
  const result = {
    benchmark: 'soak',
    generatedAt: new Date().toISOString(),
    smoke: SMOKE,
    machine,
    settings: {
      minutes: round(DURATION_S / 60, 2),
      rules: RULES,
      groups: GROUPS,
      intervalSeconds: INTERVAL_S,
      flappingSeries: slots,
      flapPeriodSeconds: FLAP_PERIOD_S,
      reloadEverySeconds: RELOAD_S,
      webhookPerSecond: WEBHOOK_RATE,
      webhookAlertsPerNotification: 5,
      sampleEverySeconds: SAMPLE_S,
      heapReadEverySeconds: HEAP_READ_S,
      settledAfterSeconds: SETTLED_AFTER_S,
      mode: 'dry-run',
      heapFloor: 'lowest rollguard_nodejs_heap_size_used_bytes of each sample window (no forced GC)',
    },
    targets: TARGETS,
    summary,
    totals: {
      reloads,
      reloadFailures,
      webhookRequests,
      webhookStatuses: hooks.statuses,
      statusPageViews: pageViews,
      peakRssMiB: round(peak.hwm / 1024, 1),
      evaluations: samples[samples.length - 1]?.evaluations ?? null,
      missedIterations: samples[samples.length - 1]?.missedIterations ?? null,
      notificationsSent: samples[samples.length - 1]?.notificationsSent ?? null,
      notificationsDropped: samples[samples.length - 1]?.notificationsDropped ?? null,
      alertmanagerAlertsAtEnd: amAlerts,
    },
    samples,
  }
  writeJson(OUT, result)
  log(`wrote ${OUT}`)
  removeWork()
  if (args['keep-logs'] === undefined) rmSync(work, { recursive: true, force: true })
  process.stdout.write(`${JSON.stringify({ summary, totals: result.totals }, null, 2)}\n`)
})
process.exit(0)
