#!/usr/bin/env node
// Sharding benchmark (issue 15): the same rule set evaluated by 1, 2 and 3 rollguard replicas with --sharding
// against one Prometheus and the fake API server (test/fixtures/kube, built into .demo/fake-kube) holding the member
// Leases: per-replica CPU-seconds per minute and peak RSS. Rule set: `--groups` groups of the four default rules as
// shipped (query coalescing off, so every group costs its own queries), evaluated every `--interval`.
//
//   npm run build && node bench/sharding.mjs --groups 1000 --measure 60s   # 4,000 rules
//   node bench/sharding.mjs --groups 250 --measure 30s                     # reduced
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml'
import {
  ROOT,
  benchRuleText,
  cpuSeconds,
  fetchText,
  loadDist,
  log,
  memoryKiB,
  metricSum,
  round,
  sleep,
  startNodeScript,
  startRollguard,
} from './lib/common.mjs'

const { values: args } = parseArgs({
  options: {
    groups: { type: 'string', default: '1000' },
    interval: { type: 'string', default: '5s' },
    warmup: { type: 'string', default: '30s' },
    measure: { type: 'string', default: '60s' },
    replicas: { type: 'string', default: '1,2,3' },
  },
})
const seconds = s => Number(s.replace(/s$/, ''))
const GROUPS = Number(args.groups)

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
const target = await startNodeScript(dist, 'synthetic-target.mjs', ['--deployments', '200'], join(work, 'target.log'))
const prom = await dist.startPrometheus({
  scrapeTargets: [{ job: 'bench', target: new URL(target.url).host, honorLabels: true }],
  scrapeInterval: args.interval,
  waitForTargets: true,
  startTimeoutMs: 60_000,
  logFile: join(work, 'prometheus.log'),
})
const base = benchRuleText(dist)
const baseRules = parseYaml(base).groups[0].rules
const rules = join(work, 'rules.yml')
writeFileSync(
  rules,
  stringifyYaml({ groups: Array.from({ length: GROUPS }, (_, i) => ({ name: `g${i}`, rules: baseRules })) }),
)
log(`sharding bench: ${GROUPS} groups (${GROUPS * 4} rules), interval ${args.interval}, replicas ${args.replicas}`)
const results = []
try {
  for (const n of args.replicas.split(',').map(Number)) {
    const engines = []
    for (let i = 0; i < n; i++) {
      const config = join(work, `r${n}-${i}.yml`)
      writeFileSync(
        config,
        `rules:\n  query_coalescing: false\nkubernetes:\n  kubeconfig: ${kubeconfig}\nsharding:\n  enabled: ${n > 1}\n  namespace: bench\n  identity: r${n}-${i}\n`,
      )
      engines.push(
        await startRollguard(dist, {
          prometheusUrl: prom.url,
          alertmanagerUrl: 'http://127.0.0.1:9',
          rules,
          interval: args.interval,
          config,
          logLevel: 'warn',
          logFile: join(work, `r${n}-${i}.log`),
          startTimeoutMs: 120_000,
        }),
      )
    }
    await sleep(seconds(args.warmup) * 1000)
    const cpu0 = engines.map(e => cpuSeconds(e.pid))
    const evals0 = await Promise.all(
      engines.map(async e => metricSum(await fetchText(`${e.url}/metrics`), 'rollguard_rule_evaluations_total')),
    )
    const t0 = Date.now()
    await sleep(seconds(args.measure) * 1000)
    const minutes = (Date.now() - t0) / 60_000
    const texts = await Promise.all(engines.map(e => fetchText(`${e.url}/metrics`)))
    const replicas = engines.map((e, i) => ({
      cpuSecondsPerMinute: round((cpuSeconds(e.pid) - (cpu0[i] ?? 0)) / minutes, 2),
      peakRssMiB: round(memoryKiB(e.pid).hwm / 1024, 1),
      evaluationsPerMinute: round(
        (metricSum(texts[i], 'rollguard_rule_evaluations_total') - (evals0[i] ?? 0)) / minutes,
        0,
      ),
      groupsOwned: n > 1 ? metricSum(texts[i], 'rollguard_sharding_groups_owned') : GROUPS,
    }))
    results.push({ replicas: n, perReplica: replicas })
    log(`${n} replica(s): ${JSON.stringify(replicas)}`)
    for (const e of engines) await e.stop()
  }
} finally {
  await prom.stop?.()
  await target.stop?.()
  await fake.close()
  rmSync(work, { recursive: true, force: true })
}
console.log(
  JSON.stringify(
    { groups: GROUPS, rules: GROUPS * 4, interval: args.interval, measure: args.measure, results },
    null,
    2,
  ),
)
process.exit(0)
