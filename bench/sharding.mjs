#!/usr/bin/env node
// Sharding benchmark (issue 15): the same rule set evaluated by 1, 2 and 3 rollguard replicas with --sharding
// against one Prometheus and the fake API server (test/fixtures/kube, built into .demo/fake-kube) holding the member
// Leases: per-replica CPU-seconds per minute and peak RSS. Rule set: the scale benchmark's per-deployment layout,
// one group per Deployment of the synthetic target (`--groups` of them) holding the four shipped rules narrowed to
// it (bench/lib/rule-layouts.mjs), query coalescing off so every group costs its own queries, evaluated every
// `--interval`. Before each window it waits until the groups are split and taken over (see settled()).
//
//   npm run build && node bench/sharding.mjs --groups 1000 --measure 60s   # 4,000 rules
//   node bench/sharding.mjs --groups 250 --measure 30s                     # reduced
// With --trials N the whole sequence runs N times (one Prometheus, a fresh set of replicas per window); the summary
// has, per replica count, the median over trials of each trial's mean per replica. Writes the results to --out
// (bench/results/sharding.json) and prints them.
//
// Options:
//   --groups N        groups, one per Deployment, 4 rules each (default 1000)
//   --interval D      scrape and evaluation interval, in seconds (default 5s)
//   --warmup D        wait after the replicas start, before they are checked for settling (default 30s)
//   --measure D       measurement window (default 60s)
//   --replicas LIST   comma-separated replica counts, run one after the other (default 1,2,3)
//   --trials N        how many times to run the whole sequence (default 1)
//   --out FILE        the result file (default bench/results/sharding.json)
//   --rollguard-node-args ARGS  Node/V8 flags for every replica, space-separated (default none), e.g.
//                     '--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=/tmp/heap' to take heap snapshots in the window
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parse as parseYaml } from 'yaml'
import {
  ROOT,
  benchRuleText,
  cliArgs,
  cpuSeconds,
  fetchJson,
  fetchText,
  loadDist,
  log,
  median,
  memoryKiB,
  metricSum,
  round,
  sleep,
  startNodeScript,
  startRollguard,
  startScrapingPrometheus,
} from './lib/common.mjs'
import { perDeploymentRules } from './lib/rule-layouts.mjs'

const {
  values: args,
  fail,
  wholeSeconds,
} = cliArgs(import.meta.url, {
  options: {
    groups: { type: 'string', default: '1000' },
    interval: { type: 'string', default: '5s' },
    warmup: { type: 'string', default: '30s' },
    measure: { type: 'string', default: '60s' },
    replicas: { type: 'string', default: '1,2,3' },
    trials: { type: 'string', default: '1' },
    out: { type: 'string', default: join(ROOT, 'bench', 'results', 'sharding.json') },
    'rollguard-node-args': { type: 'string', default: '' },
  },
})
const INTERVAL_S = wholeSeconds('interval', args.interval)
const WARMUP_S = wholeSeconds('warmup', args.warmup)
const MEASURE_S = wholeSeconds('measure', args.measure)
if (!/^[1-9]\d*$/.test(args.groups)) fail(`--groups is a positive whole number, not ${args.groups}`)
if (!/^[1-9]\d*(,[1-9]\d*)*$/.test(args.replicas)) fail(`--replicas is a list like 1,2,3, not ${args.replicas}`)
if (!/^[1-9]\d*$/.test(args.trials)) fail(`--trials is a positive whole number, not ${args.trials}`)
const TRIALS = Number(args.trials)
const GROUPS = Number(args.groups)
const ROLLGUARD_NODE_ARGS = args['rollguard-node-args'].split(/\s+/).filter(a => a !== '')

async function fakeKube() {
  const entry = join(ROOT, '.demo', 'fake-kube', 'index.js')
  if (!existsSync(entry))
    execFileSync(
      process.execPath,
      [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'test/fixtures/kube/tsconfig.build.json'],
      { cwd: ROOT, stdio: 'inherit' },
    )
  return import(pathToFileURL(entry).href)
}

const dist = await loadDist()
const work = mkdtempSync(join(tmpdir(), 'rollguard-sharding-bench-'))
const { startFakeKube, kubeConfigFor } = await fakeKube()
const fake = await startFakeKube()
const kubeconfig = join(work, 'kubeconfig')
writeFileSync(kubeconfig, kubeConfigFor(fake, 'default').exportConfig())
const target = await startNodeScript(
  dist,
  'synthetic-target.mjs',
  ['--deployments', String(GROUPS)],
  join(work, 'target.log'),
)
const prom = await startScrapingPrometheus(dist, target, {
  interval: args.interval,
  logFile: join(work, 'prometheus.log'),
})
const rules = join(work, 'rules.yml')
const { deployments } = await fetchJson(`${target.url}/info`)
writeFileSync(rules, perDeploymentRules(benchRuleText(dist), deployments, parseYaml))
log(`sharding bench: ${GROUPS} groups (${GROUPS * 4} rules), interval ${args.interval}, replicas ${args.replicas}`)
/**
 * settled waits (bounded) until the groups are split and the replicas are done taking them over: every group owned
 * by one replica and no restore of a group taken over for two intervals. The take-overs after each start are
 * range queries for every rule of ~1/N of the groups; a window that still holds them does not measure the steady
 * state. Returns the seconds waited past the warm-up.
 */
async function settled(engines) {
  const started = Date.now()
  const quiet = 2 * INTERVAL_S * 1000
  let restores = -1
  let since = Date.now()
  while (Date.now() - started < 300_000) {
    const texts = await metricsOf(engines)
    const owned = texts.reduce((sum, t) => sum + metricSum(t, 'rollguard_sharding_groups_owned'), 0)
    const now = texts.reduce((sum, t) => sum + metricSum(t, 'rollguard_rule_group_restores_total'), 0)
    if (now !== restores || owned !== GROUPS) {
      restores = now
      since = Date.now()
    } else if (Date.now() - since >= quiet) {
      return round((Date.now() - started) / 1000, 0)
    }
    await sleep(1000)
  }
  throw new Error(`the replicas did not settle within 300 s (groups owned or restores kept changing)`)
}

/** rssMiB are a replica's peak and current RSS in MiB. */
function rssMiB(memory) {
  return { peakRssMiB: round(memory.hwm / 1024, 1), rssAtEndMiB: round(memory.rss / 1024, 1) }
}

/** metricsOf fetches every engine's /metrics text, in engine order. */
function metricsOf(engines) {
  return Promise.all(engines.map(e => fetchText(`${e.url}/metrics`)))
}

/** measure starts n replicas, waits for them to settle, measures one window and stops them (also on failure). */
async function measure(n, trial) {
  const engines = []
  try {
    for (let i = 0; i < n; i++) engines.push(await startReplica(n, i))
    await sleep(WARMUP_S * 1000)
    const settledAfterS = n > 1 ? await settled(engines) : 0
    log(`${n} replica(s) settled, measuring (pids ${engines.map(e => e.pid).join(', ')})`)
    const cpu0 = engines.map(e => cpuSeconds(e.pid))
    const before = await metricsOf(engines)
    const t0 = Date.now()
    await sleep(MEASURE_S * 1000)
    const minutes = (Date.now() - t0) / 60_000
    const texts = await metricsOf(engines)
    const delta = (i, name) => metricSum(texts[i], name) - metricSum(before[i], name)
    const perReplica = engines.map((e, i) => ({
      cpuSecondsPerMinute: round((cpuSeconds(e.pid) - (cpu0[i] ?? 0)) / minutes, 2),
      ...rssMiB(memoryKiB(e.pid)),
      evaluationsPerMinute: round(delta(i, 'rollguard_rule_evaluations_total') / minutes, 0),
      groupsOwned: n > 1 ? metricSum(texts[i], 'rollguard_sharding_groups_owned') : GROUPS,
      restoresInWindow: delta(i, 'rollguard_rule_group_restores_total'),
      missedIterationsInWindow: delta(i, 'rollguard_rule_group_iterations_missed_total'),
    }))
    return { trial, replicas: n, settledAfterS, perReplica }
  } finally {
    for (const e of engines) await e.stop()
  }
}

/** startReplica starts replica i of n: sharded when n > 1, with an identity of its own. */
function startReplica(n, i) {
  const config = join(work, `r${n}-${i}.yml`)
  writeFileSync(
    config,
    `rules:\n  query_coalescing: false\nkubernetes:\n  kubeconfig: ${kubeconfig}\nsharding:\n  enabled: ${n > 1}\n  namespace: bench\n  identity: r${n}-${i}\n`,
  )
  return startRollguard(dist, {
    nodeArgs: ROLLGUARD_NODE_ARGS,
    prometheusUrl: prom.url,
    alertmanagerUrl: 'http://127.0.0.1:9',
    rules,
    interval: args.interval,
    config,
    logLevel: 'warn',
    logFile: join(work, `r${n}-${i}.log`),
    startTimeoutMs: 120_000,
  })
}

/** summarize is, per replica count, the median over trials of each trial's mean per replica. */
function summarize(results) {
  const counts = [...new Set(results.map(r => r.replicas))]
  return counts.map(n => {
    const runs = results.filter(r => r.replicas === n)
    const mean = (r, key) => r.perReplica.reduce((sum, p) => sum + p[key], 0) / r.perReplica.length
    const med = key => round(median(runs.map(r => mean(r, key))), 2)
    return {
      replicas: n,
      trials: runs.length,
      cpuSecondsPerMinutePerReplica: med('cpuSecondsPerMinute'),
      peakRssMiBPerReplica: med('peakRssMiB'),
      rssAtEndMiBPerReplica: med('rssAtEndMiB'),
      evaluationsPerMinuteAllReplicas: round(
        median(runs.map(r => r.perReplica.reduce((sum, p) => sum + p.evaluationsPerMinute, 0))),
        0,
      ),
      missedIterationsInWindows: runs.reduce(
        (sum, r) => sum + r.perReplica.reduce((s2, p) => s2 + p.missedIterationsInWindow, 0),
        0,
      ),
    }
  })
}

const results = []
try {
  for (let trial = 0; trial < TRIALS; trial++) {
    for (const n of args.replicas.split(',').map(Number)) {
      const result = await measure(n, trial)
      results.push(result)
      log(`trial ${trial}, ${n} replica(s): ${JSON.stringify(result.perReplica)}`)
    }
  }
} finally {
  await prom.stop?.()
  await target.stop?.()
  await fake.close()
  rmSync(work, { recursive: true, force: true })
}
const report = JSON.stringify(
  {
    benchmark: 'sharding',
    generatedAt: new Date().toISOString(),
    groups: GROUPS,
    rules: GROUPS * 4,
    interval: args.interval,
    warmup: args.warmup,
    measure: args.measure,
    trials: TRIALS,
    summary: summarize(results),
    results,
  },
  null,
  2,
)
writeFileSync(args.out, `${report}\n`)
console.log(report)
process.exit(0)
