#!/usr/bin/env node
// Heap growth, paired (runtime.heap_growth_percent). The scale benchmark's target (1,000 Deployments, 5 % faulty)
// and Prometheus, and one rollguard per setting running side by side on the same rules, so every setting sees the
// same machine at the same time: small differences in CPU (a few percent) are lost in the run-to-run spread of
// windows measured one after another, not in a paired run. Per setting: CPU-seconds per minute over the window
// (utime+stime from /proc/<pid>/stat), peak RSS (VmHWM), evaluations done. Settings start in rotating order.
//
//   npm run build && node bench/heap-growth.mjs                       # grouped, 0 vs 100 → bench/results/heap-growth.json
//   node bench/heap-growth.mjs --layout per-deployment --settings 0,100,50 --measure 120s
//
// Options:
//   --layout L        grouped (the four default rules over 1,000 Deployments; default) or per-deployment (4,000 rules)
//   --settings LIST   comma-separated heap_growth_percent values, 0..1000 (default 0,100)
//   --deployments N   Deployments of the synthetic target, 1..5000 (default 1000)
//   --interval D      scrape and evaluation interval, whole seconds (default 5s)
//   --warmup D        warm-up before the window, whole seconds (default 60s)
//   --measure D       measurement window, whole seconds (default 300s)
//   --out FILE        the result file (default bench/results/heap-growth.json)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  RESULTS,
  benchRuleText,
  cliArgs,
  cpuSeconds,
  fetchJson,
  fetchText,
  injectFaults,
  log,
  machineBusySeconds,
  machineInfo,
  memoryKiB,
  metricSum,
  round,
  runBounded,
  sleep,
  startNodeScript,
  startRollguard,
  startScrapingPrometheus,
  writeJson,
} from './lib/common.mjs'
import { perDeploymentRules } from './lib/rule-layouts.mjs'

const {
  values: args,
  fail,
  wholeSeconds,
} = cliArgs(import.meta.url, {
  options: {
    layout: { type: 'string', default: 'grouped' },
    settings: { type: 'string', default: '0,100' },
    deployments: { type: 'string', default: '1000' },
    interval: { type: 'string', default: '5s' },
    warmup: { type: 'string', default: '60s' },
    measure: { type: 'string', default: '300s' },
    out: { type: 'string' },
  },
})
const N = Number(args.deployments)
const SETTINGS = args.settings.split(',').map(s => s.trim())
const INTERVAL_S = wholeSeconds('interval', args.interval)
const WARMUP_S = wholeSeconds('warmup', args.warmup)
const MEASURE_S = wholeSeconds('measure', args.measure)
const OUT = args.out ?? join(RESULTS, 'heap-growth.json')
if (!['grouped', 'per-deployment'].includes(args.layout))
  fail(`unknown layout ${args.layout} (grouped, per-deployment)`)
if (!Number.isInteger(N) || N < 1 || N > 5000) fail('--deployments must be 1..5000')
if (SETTINGS.length < 1 || SETTINGS.some(s => !/^\d{1,4}$/.test(s) || Number(s) > 1000))
  fail('--settings is a comma-separated list of whole percentages 0..1000')
const RULES = args.layout === 'grouped' ? 4 : 4 * N
const DEADLINE_MS = (300 + WARMUP_S + MEASURE_S + 65) * 1000

await runBounded('heap-growth', DEADLINE_MS, async dist => {
  const { parse: parseYaml } = await import('yaml')
  const work = mkdtempSync(join(tmpdir(), 'rollguard-bench-heap-'))
  const removeWork = dist.onExitSync(() => rmSync(work, { recursive: true, force: true }))
  log(`heap growth: ${args.layout} over ${N} deployments; settings ${SETTINGS.join(' and ')}; window ${MEASURE_S} s`)
  const recorder = await startNodeScript(dist, 'recorder.mjs', [], join(work, 'recorder.log'))
  const target = await startNodeScript(dist, 'synthetic-target.mjs', ['--deployments', String(N)], join(work, 't.log'))
  const info = await fetchJson(`${target.url}/info`)
  await injectFaults(target.url, info.deployments, 0.05)
  const base = benchRuleText(dist)
  const rules = join(work, 'rules.yml')
  writeFileSync(rules, args.layout === 'grouped' ? base : perDeploymentRules(base, info.deployments, parseYaml))
  const prom = await startScrapingPrometheus(dist, target, {
    interval: `${INTERVAL_S}s`,
    logFile: join(work, 'prometheus.log'),
  })
  await sleep(65_000) // fill the [1m] range windows
  const engines = []
  for (const setting of SETTINGS) {
    const config = join(work, `growth-${setting}.yml`)
    writeFileSync(config, `runtime:\n  heap_growth_percent: ${setting}\n`)
    const handle = await startRollguard(dist, {
      rules,
      config,
      prometheusUrl: prom.url,
      alertmanagerUrl: `${recorder.url}/growth-${setting}`,
      interval: `${INTERVAL_S}s`,
      logFile: join(work, `rollguard-${setting}.log`),
      startTimeoutMs: 120_000,
    })
    engines.push({ setting: Number(setting), handle })
  }
  await sleep(WARMUP_S * 1000)
  const evaluations = async h =>
    metricSum(await fetchText(`${h.url}/metrics`, 20_000), 'rollguard_rule_evaluations_total') || 0
  const snapshot = async () => ({
    at: Date.now(),
    machine: machineBusySeconds(),
    engines: await Promise.all(
      engines.map(async e => ({ cpu: cpuSeconds(e.handle.pid), evals: await evaluations(e.handle) })),
    ),
  })
  const s0 = await snapshot()
  await sleep(MEASURE_S * 1000)
  const s1 = await snapshot()
  const minutes = (s1.at - s0.at) / 60_000
  const results = engines.map((e, i) => {
    const cpu = s1.engines[i].cpu - s0.engines[i].cpu
    const evals = s1.engines[i].evals - s0.engines[i].evals
    return {
      heapGrowthPercent: e.setting,
      cpuSecondsPerMinute: round(cpu / minutes, 3),
      cpuMsPerEvaluation: evals > 0 ? round((cpu * 1000) / evals, 3) : null,
      peakRssMiB: round(memoryKiB(e.handle.pid).hwm / 1024, 1),
      evaluations: evals,
      expectedEvaluations: Math.round((RULES * (s1.at - s0.at)) / 1000 / INTERVAL_S),
    }
  })
  const engineCpu = s1.engines.reduce((n, e, i) => n + e.cpu - s0.engines[i].cpu, 0)
  await Promise.all(engines.map(e => e.handle.stop(20_000)))
  await prom.stop()
  await Promise.all([target.stop(), recorder.stop()])
  removeWork()
  rmSync(work, { recursive: true, force: true })
  for (const r of results)
    log(
      `heap_growth_percent ${r.heapGrowthPercent}: ${r.cpuSecondsPerMinute} CPU-s/min (${r.cpuMsPerEvaluation} ms/evaluation), peak RSS ${r.peakRssMiB} MiB, evaluations ${r.evaluations}/${r.expectedEvaluations}`,
    )
  const result = {
    benchmark: 'heap-growth (paired: one rollguard per setting, side by side)',
    generatedAt: new Date().toISOString(),
    machine: machineInfo(),
    settings: {
      layout: args.layout,
      deployments: N,
      interval: `${INTERVAL_S}s`,
      warmup: `${WARMUP_S}s`,
      measure: `${MEASURE_S}s`,
    },
    machineCpuSecondsPerMinute: round((s1.machine - s0.machine) / minutes, 2),
    enginesCpuSecondsPerMinute: round(engineCpu / minutes, 3),
    results,
  }
  writeJson(OUT, result)
  log(`wrote ${OUT}`)
})
process.exit(0)
