#!/usr/bin/env node
// Scale benchmark (issue 6). One synthetic target with 1,000 Deployments (19 series each, 19,000 series), one
// Prometheus scraping it every 5 s, and one engine at a time (rollguard, vmalert) evaluating every 5 s:
//   grouped         the four default rules as shipped, `by (namespace, deployment)`: 4 queries per iteration;
//   per-deployment  4,000 rules: the four rules narrowed to one Deployment each, one group per Deployment.
//   per-deployment-team  4,000 rules narrowed by equality matchers (namespace and the Deployment's pod), one group
//                   per namespace (a team's file): the layout query coalescing merges (docs/query-coalescing.md).
// Engines: rollguard, vmalert, and rollguard-uncoalesced (rollguard with rules.query_coalescing: false).
// After a warm-up, a measurement window (60 s) per engine and layout, several trials in alternating order:
// CPU-seconds per minute (utime+stime deltas from /proc/<pid>/stat), peak RSS (VmHWM from /proc/<pid>/status),
// Prometheus's own CPU during the same window (and alone, before any engine), evaluations completed vs expected
// and missed iterations (rollguard_rule_* / vmalert_* metrics of the engines themselves).
// 5 % of the Deployments carry a fault (error ratio 0.5, memory at 95 %), so results are not all empty and the
// engines track pending alerts.
//
//   npm run build && node bench/scale.mjs              # full run → bench/results/scale.json
//   node bench/scale.mjs --smoke --out /tmp/s.json     # 20 Deployments, 1 s interval, short windows
//   node bench/scale.mjs --profile /tmp/prof --engines rollguard --layouts per-deployment --trials 1
//   sudo node bench/scale.mjs --memory-limit 512Mi --out bench/results/scale-pod.json
//                                                      # every engine under the shipped pod's memory limit
//
// Options:
//   --smoke                 20 Deployments, 1 s interval, short windows, marked as a smoke run: checks the script works
//   --deployments N         Deployments of the synthetic target, 1..5000 (default 1000; 20 with --smoke)
//   --trials N              trials per engine and layout (default 3; 1 with --smoke)
//   --interval D            scrape and evaluation interval, whole seconds (default 5s; 1s with --smoke)
//   --warmup D              warm-up before each window, whole seconds (default 60s; 3s with --smoke)
//   --measure D             measurement window, whole seconds (default 60s; 5s with --smoke)
//   --engines LIST          comma-separated: rollguard, rollguard-uncoalesced, vmalert (default rollguard,vmalert)
//   --layouts LIST          comma-separated: idle (no rules), grouped, per-deployment, per-deployment-team
//                           (default idle,grouped,per-deployment)
//   --faulty R              share of the Deployments that carry a fault (default 0.05)
//   --profile DIR           also write rollguard's CPU profiles there (node --cpu-prof) and summarize them
//   --out FILE              the result file (default bench/results/scale.json)
//   --keep-logs DIR         write every process's log there and keep the work directory (default: removed)
//   --rollguard-node-args ARGS   Node/V8 flags for the rollguard engines, space-separated (default none)
//   --memory-limit SIZE     run every engine in a memory cgroup of this limit (e.g. 512Mi, as deploy/base sets; needs
//                           root), as a pod's container runs: V8 sizes its heap from the limit (default none)
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import {
  BENCH,
  RESULTS,
  benchRuleText,
  cliArgs,
  cpuSeconds,
  fetchJson,
  machineBusySeconds,
  fetchText,
  injectFaults,
  log,
  machineInfo,
  median,
  memoryKiB,
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
import { perDeploymentRules, perTeamRules } from './lib/rule-layouts.mjs'

const {
  values: args,
  fail,
  wholeSeconds,
} = cliArgs(import.meta.url, {
  options: {
    smoke: { type: 'boolean', default: false },
    deployments: { type: 'string' },
    trials: { type: 'string' },
    interval: { type: 'string' },
    warmup: { type: 'string' },
    measure: { type: 'string' },
    engines: { type: 'string', default: 'rollguard,vmalert' },
    layouts: { type: 'string', default: 'idle,grouped,per-deployment' },
    faulty: { type: 'string', default: '0.05' },
    profile: { type: 'string' },
    out: { type: 'string' },
    'keep-logs': { type: 'string' },
    // Node/V8 flags for the rollguard engines: V8 sizes its heap from a container's memory limit, not from this host.
    'rollguard-node-args': { type: 'string', default: '' },
    'memory-limit': { type: 'string' },
  },
})
const SMOKE = args.smoke
const N = Number(args.deployments ?? (SMOKE ? 20 : 1000))
const TRIALS = Number(args.trials ?? (SMOKE ? 1 : 3))
const INTERVAL = args.interval ?? (SMOKE ? '1s' : '5s')
const WARMUP = args.warmup ?? (SMOKE ? '3s' : '60s')
const MEASURE = args.measure ?? (SMOKE ? '5s' : '60s')
const INTERVAL_S = wholeSeconds('interval', INTERVAL)
const WARMUP_S = wholeSeconds('warmup', WARMUP)
const MEASURE_S = wholeSeconds('measure', MEASURE)
const ENGINES = args.engines
  .split(',')
  .map(s => s.trim())
  .filter(s => s !== '')
const LAYOUTS = args.layouts
  .split(',')
  .map(s => s.trim())
  .filter(s => s !== '')
const FAULTY = Number(args.faulty)
const ROLLGUARD_NODE_ARGS = args['rollguard-node-args'].split(/\s+/).filter(a => a !== '')
const MEMORY_LIMIT = args['memory-limit'] === undefined ? undefined : sizeBytes(args['memory-limit'])
const ENGINE_NAMES = ['rollguard', 'rollguard-uncoalesced', 'vmalert']
const LAYOUT_NAMES = ['idle', 'grouped', 'per-deployment', 'per-deployment-team']
const OUT = args.out ?? join(RESULTS, 'scale.json')
// Range windows: the shipped [1m]; a smoke run uses [5s] so its short history suffices.
const WINDOW = SMOKE ? '5s' : '1m'
const FILL_S = SMOKE ? 6 : 65
const PER_RUN_S = WARMUP_S + MEASURE_S + 45
const DEADLINE_MS = (180 + FILL_S + TRIALS * ENGINES.length * LAYOUTS.length * PER_RUN_S) * 1000

if (!Number.isInteger(N) || N < 1 || N > 5000) fail('--deployments must be 1..5000')
if (!Number.isInteger(TRIALS) || TRIALS < 1) fail('--trials must be a positive integer')
for (const e of ENGINES) if (!ENGINE_NAMES.includes(e)) fail(`unknown engine ${e} (${ENGINE_NAMES.join(', ')})`)
for (const l of LAYOUTS) if (!LAYOUT_NAMES.includes(l)) fail(`unknown layout ${l} (${LAYOUT_NAMES.join(', ')})`)

/** sizeBytes reads a Kubernetes memory quantity in Mi or Gi. */
function sizeBytes(text) {
  const m = /^([1-9]\d*)(Mi|Gi)$/.exec(text)
  if (m === null) fail(`--memory-limit is a size like 512Mi or 1Gi, not ${text}`)
  return Number(m[1]) * 1024 ** (m[2] === 'Mi' ? 2 : 3)
}

const execFileAsync = promisify(execFile)

const ENGINE_METRICS = {
  rollguard: {
    evaluations: 'rollguard_rule_evaluations_total',
    failures: 'rollguard_rule_evaluation_failures_total',
    missed: 'rollguard_rule_group_iterations_missed_total',
    iterations: 'rollguard_rule_group_iterations_total',
  },
  vmalert: {
    evaluations: 'vmalert_execution_total',
    failures: 'vmalert_execution_errors_total',
    missed: 'vmalert_iteration_missed_total',
    iterations: 'vmalert_iteration_total',
  },
}

/** coalescingGauges reads how many rules share how many queries in a running rollguard. */
async function coalescingGauges(handle) {
  const text = await fetchText(`${handle.url}/metrics`, 20_000)
  return {
    rules: metricSum(text, 'rollguard_coalesced_rules') || 0,
    queries: metricSum(text, 'rollguard_coalesced_queries') || 0,
  }
}

async function engineCounters(engine, handle) {
  const text = await fetchText(`${handle.url}/metrics`, 20_000)
  const m = ENGINE_METRICS[engine.startsWith('rollguard') ? 'rollguard' : engine]
  // A counter without any series yet (nothing missed so far) reads as 0.
  return Object.fromEntries(Object.entries(m).map(([k, name]) => [k, metricSum(text, name) || 0]))
}

await runBounded('scale', DEADLINE_MS, async dist => {
  const { parse: parseYaml } = await import('yaml')
  const machine = machineInfo()
  const work = mkdtempSync(join(tmpdir(), 'rollguard-bench-scale-'))
  const removeWork = dist.onExitSync(() => rmSync(work, { recursive: true, force: true }))
  const logs = args['keep-logs'] ?? work
  mkdirSync(logs, { recursive: true })
  if (args.profile !== undefined) mkdirSync(args.profile, { recursive: true })
  log(
    `scale: ${N} deployments, interval ${INTERVAL}, warm-up ${WARMUP}, measure ${MEASURE}, ${TRIALS} trial(s), engines ${ENGINES.join(', ')}, layouts ${LAYOUTS.join(', ')}`,
  )

  const recorder = await startNodeScript(dist, 'recorder.mjs', [], join(logs, 'recorder.log'))
  const target = await startNodeScript(
    dist,
    'synthetic-target.mjs',
    ['--deployments', String(N)],
    join(logs, 'target.log'),
  )
  const info = await fetchJson(`${target.url}/info`)
  const faulty = await injectFaults(target.url, info.deployments, FAULTY)

  const baseText = benchRuleText(dist, SMOKE ? { rangeWindow: `[${WINDOW}]` } : {})
  const ruleFiles = {
    idle: join(work, 'idle.yml'),
    grouped: join(work, 'grouped.yml'),
    'per-deployment': join(work, 'per-deployment.yml'),
    'per-deployment-team': join(work, 'per-deployment-team.yml'),
  }
  const uncoalescedConfig = join(work, 'uncoalesced.yml')
  writeFileSync(uncoalescedConfig, 'rules:\n  query_coalescing: false\n')
  // idle: no rules at all, the process's own floor (timers, runtime, metrics).
  writeFileSync(ruleFiles.idle, 'groups: []\n')
  writeFileSync(ruleFiles.grouped, baseText)
  writeFileSync(ruleFiles['per-deployment'], perDeploymentRules(baseText, info.deployments, parseYaml))
  writeFileSync(ruleFiles['per-deployment-team'], perTeamRules(baseText, info.deployments, parseYaml))
  const namespaces = new Set(info.deployments.map(d => d.namespace)).size
  const rulesPerLayout = { idle: 0, grouped: 4, 'per-deployment': 4 * N, 'per-deployment-team': 4 * N }
  const groupsPerLayout = { idle: 0, grouped: 1, 'per-deployment': N, 'per-deployment-team': namespaces }

  const prom = await startScrapingPrometheus(dist, target, {
    interval: INTERVAL,
    logFile: join(logs, 'prometheus.log'),
  })
  log(`prometheus ${prom.url} (pid ${prom.pid}) scraping ${target.url}`)
  // Fill the range windows; Prometheus's CPU meanwhile is its cost without any rule engine.
  const baseStartCpu = cpuSeconds(prom.pid)
  const baseStart = Date.now()
  await sleep(FILL_S * 1000)
  const prometheusAlone = round(((cpuSeconds(prom.pid) - baseStartCpu) / ((Date.now() - baseStart) / 1000)) * 60, 3)
  const series = await fetchJson(`${prom.url}/api/v1/query?query=${encodeURIComponent('count({job="bench"})')}`)
  const seriesCount = Number(series.data.result[0]?.value[1] ?? 0)
  log(`prometheus alone: ${prometheusAlone} CPU-s/min with ${seriesCount} series (scrape target ${target.url})`)

  // What loading each rule file costs on its own (a fresh process), to tell rule-loading memory from evaluation.
  const ruleLoad = {}
  for (const layout of LAYOUTS) {
    const { stdout } = await execFileAsync(process.execPath, [join(BENCH, 'rule-load.mjs'), ruleFiles[layout]], {
      timeout: 120_000,
    })
    ruleLoad[layout] = JSON.parse(stdout)
  }
  log(
    `rule loading alone: ${LAYOUTS.map(l => `${l} ${ruleLoad[l].parseMs} ms, peak RSS ${ruleLoad[l].peakRssMiB} MiB`).join('; ')}`,
  )

  const runs = []
  for (let t = 0; t < TRIALS; t++) {
    // Alternate the engine order per trial so drift in machine load does not favour one engine.
    const order = t % 2 === 0 ? ENGINES : [...ENGINES].reverse()
    for (const layout of LAYOUTS) {
      for (const engine of order) {
        const common = {
          rules: ruleFiles[layout],
          prometheusUrl: prom.url,
          alertmanagerUrl: `${recorder.url}/${engine}`,
          interval: INTERVAL,
          resendDelay: '1m',
          logFile: join(logs, `${engine}-${layout}-${t}.log`),
          // Loading and restoring 4,000 rules takes a while on a busy machine.
          startTimeoutMs: 120_000,
          ...(MEMORY_LIMIT === undefined ? {} : { memoryLimitBytes: MEMORY_LIMIT }),
        }
        const handle = engine.startsWith('rollguard')
          ? await startRollguard(dist, {
              ...common,
              nodeArgs: ROLLGUARD_NODE_ARGS,
              ...(engine === 'rollguard-uncoalesced' ? { config: uncoalescedConfig } : {}),
              ...(args.profile !== undefined ? { cpuProfDir: join(args.profile, `${engine}-${layout}-${t}`) } : {}),
            })
          : await startVmalert(dist, common)
        try {
          await sleep(WARMUP_S * 1000)
          // Counters, CPU and time are read together at both ends of the window (the engine's /metrics first).
          const snapshot = async () => {
            const counters = await engineCounters(engine, handle)
            return {
              counters,
              at: Date.now(),
              cpu: cpuSeconds(handle.pid),
              promCpu: cpuSeconds(prom.pid),
              machine: machineBusySeconds(),
            }
          }
          const s0 = await snapshot()
          const coalesced = engine.startsWith('rollguard') ? await coalescingGauges(handle) : undefined
          await sleep(Math.max(0, s0.at + MEASURE_S * 1000 - Date.now()))
          const s1 = await snapshot()
          const mem = memoryKiB(handle.pid)
          const [c0, c1, t0, t1] = [s0.counters, s1.counters, s0.at, s1.at]
          const [cpu0, cpu1, prom0, prom1] = [s0.cpu, s1.cpu, s0.promCpu, s1.promCpu]
          const minutes = (t1 - t0) / 60_000
          const run = {
            trial: t,
            layout,
            engine,
            windowSeconds: round((t1 - t0) / 1000, 2),
            cpuSecondsPerMinute: round((cpu1 - cpu0) / minutes, 3),
            peakRssMiB: round(mem.hwm / 1024, 1),
            rssAtEndMiB: round(mem.rss / 1024, 1),
            prometheusCpuSecondsPerMinute: round((prom1 - prom0) / minutes, 3),
            // Everything else the machine ran meanwhile (other tenants, the target, this script): the noise level.
            otherCpuSecondsPerMinute: round((s1.machine - s0.machine - (cpu1 - cpu0) - (prom1 - prom0)) / minutes, 2),
            evaluations: c1.evaluations - c0.evaluations,
            expectedEvaluations: Math.round((rulesPerLayout[layout] * (t1 - t0)) / 1000 / INTERVAL_S),
            evaluationFailures: c1.failures - c0.failures,
            cpuMsPerEvaluation:
              c1.evaluations > c0.evaluations
                ? round(((cpu1 - cpu0) * 1000) / (c1.evaluations - c0.evaluations), 3)
                : null,
            iterations: c1.iterations - c0.iterations,
            missedIterations: c1.missed - c0.missed,
            missedIterationsTotal: c1.missed,
            ...(coalesced === undefined ? {} : { coalesced }),
          }
          runs.push(run)
          log(
            `trial ${t} ${layout} ${engine}: ${run.cpuSecondsPerMinute} CPU-s/min (${run.cpuMsPerEvaluation} ms/evaluation), peak RSS ${run.peakRssMiB} MiB, prometheus ${run.prometheusCpuSecondsPerMinute} CPU-s/min, others ${run.otherCpuSecondsPerMinute} CPU-s/min, evaluations ${run.evaluations}/${run.expectedEvaluations}, failures ${run.evaluationFailures}, missed ${run.missedIterations}`,
          )
        } finally {
          await handle.stop(20_000)
        }
      }
    }
  }

  await prom.stop()
  await Promise.all([target.stop(), recorder.stop()])
  removeWork()
  if (args['keep-logs'] === undefined) rmSync(work, { recursive: true, force: true })

  const summary = {}
  for (const layout of LAYOUTS) {
    summary[layout] = {}
    for (const engine of ENGINES) {
      const rs = runs.filter(r => r.layout === layout && r.engine === engine)
      const med = k => round(median(rs.map(r => r[k])), 3)
      summary[layout][engine] = {
        runs: rs.length,
        cpuSecondsPerMinute: med('cpuSecondsPerMinute'),
        peakRssMiB: med('peakRssMiB'),
        maxPeakRssMiB: Math.max(...rs.map(r => r.peakRssMiB)),
        prometheusCpuSecondsPerMinute: med('prometheusCpuSecondsPerMinute'),
        otherCpuSecondsPerMinute: med('otherCpuSecondsPerMinute'),
        evaluations: med('evaluations'),
        expectedEvaluations: med('expectedEvaluations'),
        evaluationFailures: rs.reduce((n, r) => n + r.evaluationFailures, 0),
        cpuMsPerEvaluation: med('cpuMsPerEvaluation'),
        missedIterations: rs.reduce((n, r) => n + r.missedIterations, 0),
      }
    }
  }
  const ratios = {}
  if (ENGINES.includes('rollguard') && ENGINES.includes('vmalert')) {
    for (const layout of LAYOUTS) {
      const r = summary[layout].rollguard
      const v = summary[layout].vmalert
      const q = (a, b) => (a === null || b === null || b === 0 ? null : round(a / b, 2))
      ratios[layout] = {
        cpu: q(r.cpuSecondsPerMinute, v.cpuSecondsPerMinute),
        peakRss: q(r.peakRssMiB, v.peakRssMiB),
        prometheusCpu: q(r.prometheusCpuSecondsPerMinute, v.prometheusCpuSecondsPerMinute),
        cpuPerEvaluation: q(r.cpuMsPerEvaluation, v.cpuMsPerEvaluation),
      }
    }
  }
  // Coalescing: rollguard with and without it, and the Prometheus CPU each causes (its CPU less its CPU alone).
  const coalescing = {}
  if (ENGINES.includes('rollguard') && ENGINES.includes('rollguard-uncoalesced')) {
    for (const layout of LAYOUTS) {
      const on = summary[layout].rollguard
      const off = summary[layout]['rollguard-uncoalesced']
      const caused = s => round(s.prometheusCpuSecondsPerMinute - prometheusAlone, 3)
      const q = (a, b) => (a === null || b === null || b <= 0 ? null : round(a / b, 3))
      coalescing[layout] = {
        prometheusCausedOn: caused(on),
        prometheusCausedOff: caused(off),
        prometheusCausedRatio: q(caused(on), caused(off)),
        prometheusCpuRatio: q(on.prometheusCpuSecondsPerMinute, off.prometheusCpuSecondsPerMinute),
        // Per rule evaluation: an engine that falls behind (missed iterations) asks less and so costs less per minute.
        prometheusCausedPerEvaluationRatio: q(caused(on) / on.evaluations, caused(off) / off.evaluations),
        rollguardCpuRatio: q(on.cpuSecondsPerMinute, off.cpuSecondsPerMinute),
        peakRssRatio: q(on.peakRssMiB, off.peakRssMiB),
      }
    }
  }
  const profiles =
    args.profile === undefined
      ? []
      : readdirSync(args.profile, { recursive: true })
          .filter(f => String(f).endsWith('.cpuprofile'))
          .map(f => join(args.profile, String(f)))
  const result = {
    benchmark: 'scale',
    generatedAt: new Date().toISOString(),
    smoke: SMOKE,
    machine,
    settings: {
      deployments: N,
      series: seriesCount,
      faultyDeployments: faulty.length,
      interval: INTERVAL,
      scrapeInterval: INTERVAL,
      warmup: WARMUP,
      measure: MEASURE,
      trials: TRIALS,
      rangeWindow: WINDOW,
      engines: ENGINES,
      layouts: LAYOUTS,
      rules: rulesPerLayout,
      groups: groupsPerLayout,
      vmalertFlags: `-datasource.lookback=0 -datasource.queryTimeAlignment=false -datasource.queryStep=${INTERVAL} -rule.resendDelay=1m -disableAlertgroupLabel -evaluationInterval=${INTERVAL}`,
      rollguardFlags: `--eval-interval ${INTERVAL} --resend-delay 1m (query concurrency default 16 per group)`,
      rollguardNodeArgs: ROLLGUARD_NODE_ARGS.join(' '),
      // Every engine in a memory cgroup of this limit (null: the host's memory, no limit).
      memoryLimitMiB: MEMORY_LIMIT === undefined ? null : MEMORY_LIMIT / 1024 ** 2,
      profiled: args.profile !== undefined,
    },
    prometheusAloneCpuSecondsPerMinute: prometheusAlone,
    ruleLoad,
    summary,
    ratios,
    coalescing,
    runs,
    profiles,
  }
  writeJson(OUT, result)
  log(`wrote ${OUT}`)
  process.stdout.write(`${JSON.stringify({ prometheusAlone, summary, ratios, coalescing }, null, 2)}\n`)
})
process.exit(0)
