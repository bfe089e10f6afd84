#!/usr/bin/env node
// Action latency: a rollback trigger going firing → the rollback patch received by the Kubernetes API server.
//
// The fake API server of the test suite (test/fixtures/kube, built into .demo/fake-kube) runs in this process and
// holds N Deployments bench/w1…wN, each with revision 2 just rolled out. rollguard (dist/main.js, a process of its
// own) runs in execute mode with leader election, a real Alertmanager (notifications and the silence check), one
// health probe per Deployment and one rule, `rollguard_probe_success == 0` with `for: 0s`, so the alert goes firing
// at the evaluation that first sees the failed probe: its activeAt (the evaluation's slot time, from
// /api/v1/alerts) is the instant it fired. One trial per Deployment, one after the other: the health endpoint of
// wI starts failing, and the latency is (arrival of the PATCH of deployments/wI at the API server) − activeAt.
// That is rollguard's whole action path: rule evaluation, the trigger → job hand-off, the policy's fresh reads
// (Deployment, ReplicaSets), the silence check, the decision and the patch.
//
//   node bench/action.mjs [--trials 20] [--interval 1s] [--out bench/results/action.json] [--smoke] [--keep-logs DIR]
//
// Options:
//   --trials N        trials, one Deployment each (default 20; 2 with --smoke)
//   --interval D      rollguard's evaluation interval (default 1s)
//   --out FILE        the result file (default bench/results/action.json)
//   --smoke           2 trials and a 2-minute bound instead of 10, marked as a smoke run: checks the script works
//   --keep-logs DIR   write rollguard's log there (default: a temporary directory, removed at the end)
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import {
  cliArgs,
  log,
  machineInfo,
  median,
  RESULTS,
  ROOT,
  round,
  runBounded,
  sleep,
  startRollguard,
  writeJson,
} from './lib/common.mjs'

const { values: args, fail } = cliArgs(import.meta.url, {
  options: {
    smoke: { type: 'boolean', default: false },
    trials: { type: 'string' },
    interval: { type: 'string', default: '1s' },
    out: { type: 'string', default: join(RESULTS, 'action.json') },
    'keep-logs': { type: 'string' },
  },
})
const smoke = args.smoke
const trials = Number(args.trials ?? (smoke ? '2' : '20'))
if (!Number.isInteger(trials) || trials < 1) fail(`--trials is a positive whole number, not ${args.trials}`)
const interval = args.interval
const out = args.out
const keepLogs = args['keep-logs']
const NAMESPACE = 'bench'

/** fakeKube loads the fake API server, building it when missing (tsc; the demo builds the same thing). */
async function fakeKube() {
  const entry = join(ROOT, '.demo', 'fake-kube', 'index.js')
  if (!existsSync(entry)) {
    log('building the fake API server (test/fixtures/kube → .demo/fake-kube)')
    execFileSync(
      process.execPath,
      [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'test/fixtures/kube/tsconfig.build.json'],
      { cwd: ROOT, stdio: 'inherit' },
    )
  }
  return import(pathToFileURL(entry).href)
}

/** healthServer answers /health/<name>: 200 until fail(name) is called, then 500. */
async function healthServer() {
  const failing = new Set()
  const server = createServer((req, res) => {
    const name = req.url?.split('/').pop() ?? ''
    res
      .writeHead(failing.has(name) ? 500 : 200, { 'content-type': 'text/plain' })
      .end(failing.has(name) ? 'failing\n' : 'ok\n')
  })
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    fail: name => failing.add(name),
    close: () => new Promise(resolve => server.close(resolve)),
  }
}

function deployment(name, image) {
  return {
    metadata: { name, annotations: { 'kubernetes.io/change-cause': image } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } },
    },
  }
}

function ruleFile(dir) {
  const file = join(dir, 'action.rules.yml')
  writeFileSync(
    file,
    [
      'groups:',
      '  - name: action-latency',
      '    rules:',
      '      - alert: ProbeFailing',
      '        expr: rollguard_probe_success == 0',
      '        for: 0s',
      '        labels: { severity: critical, rollguard_trigger: rollback }',
      '',
    ].join('\n'),
  )
  return file
}

function configFile(dir, { kubeconfig, health, names }) {
  const file = join(dir, 'rollguard.yml')
  const probes = names.map(
    n =>
      `  - { name: ${n}, url: "${health.url}/health/${n}", interval: 250ms, timeout: 200ms, labels: { namespace: ${NAMESPACE}, deployment: ${n} } }`,
  )
  writeFileSync(
    file,
    [
      'probes:',
      ...probes,
      'actions:',
      '  mode: execute',
      `  allow: [{ namespace: ${NAMESPACE} }]`,
      '  verify_timeout: 30s',
      // One rollback per Deployment, many Deployments in a row: the storm brake would (rightly) stop a real storm.
      '  global_brake: { count: 1000, window: 1h }',
      // Likewise the correlation hold (20 workloads failing within minutes), and its settle delay: this measures the machinery.
      '  correlation: { enabled: false }',
      'kubernetes:',
      `  kubeconfig: ${kubeconfig}`,
      '  lease: { namespace: rollguard-system }',
      '',
    ].join('\n'),
  )
  return file
}

async function activeAt(url, deploymentName) {
  const res = await fetch(`${url}/api/v1/alerts`, { signal: AbortSignal.timeout(3_000) })
  const body = await res.json()
  const alert = body.data.alerts.find(a => a.labels.deployment === deploymentName && a.state === 'firing')
  return alert === undefined ? undefined : Date.parse(alert.activeAt)
}

async function until(what, timeoutMs, fn) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const v = await fn()
    if (v !== undefined) return v
    await sleep(20)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}

function percentile(xs, p) {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b)
  if (v.length === 0) return null
  return v[Math.min(v.length - 1, Math.ceil((p / 100) * v.length) - 1)]
}

const result = await runBounded('action', (smoke ? 2 : 10) * 60_000, async dist => {
  const work = mkdtempSync(join(tmpdir(), 'rollguard-bench-action-'))
  const { startFakeKube, kubeConfigFor } = await fakeKube()
  const fake = await startFakeKube()
  const health = await healthServer()
  try {
    const names = Array.from({ length: trials }, (_, i) => `w${i + 1}`)
    for (const n of names) {
      await fake.seedDeployment(NAMESPACE, deployment(n, `bench/${n}:1`))
      await fake.updateTemplate(NAMESPACE, n, t => void (t.spec.containers[0].image = `bench/${n}:2`))
    }
    const kubeconfig = join(work, 'kubeconfig.json')
    writeFileSync(kubeconfig, kubeConfigFor(fake, 'default').exportConfig())
    const am = await dist.startAlertmanager({})
    const rg = await startRollguard(dist, {
      prometheusUrl: 'http://127.0.0.1:9', // never asked: every rule here is answered from rollguard's own probes
      alertmanagerUrl: am.url,
      rules: ruleFile(work),
      config: configFile(work, { kubeconfig, health, names }),
      interval,
      logFile: join(keepLogs ?? work, 'rollguard.log'),
      startTimeoutMs: 90_000,
    })
    await until('rollguard to lead', 30_000, async () => {
      const text = await (await fetch(`${rg.url}/metrics`)).text()
      return /^rollguard_leader 1$/m.test(text) || undefined
    })
    const latencies = []
    for (const n of names) {
      health.fail(n)
      const patch = await until(`the rollback patch of ${n}`, 30_000, async () =>
        fake.log.find(
          e => e.method === 'PATCH' && e.resource === 'deployments' && e.name === n && e.query.dryRun === undefined,
        ),
      )
      const fired = await until(`the firing alert of ${n}`, 5_000, () => activeAt(rg.url, n))
      const ms = patch.at - fired
      latencies.push(ms)
      log(`${n}: firing → patch ${ms} ms (status ${patch.status})`)
      // The next trial starts once this rollback is verified, so trials do not overlap.
      await until(
        `the verification of ${n}`,
        30_000,
        async () =>
          fake
            .list('events', NAMESPACE)
            .some(e => e.reason === 'RollbackVerified' && (e.involvedObject ?? e.regarding)?.name === n) || undefined,
      )
    }
    // Rollback patches; the annotation-only merge patch that records the verification is not one.
    const patches = fake.log.filter(
      e =>
        e.method === 'PATCH' &&
        e.resource === 'deployments' &&
        e.query.dryRun === undefined &&
        e.contentType !== 'application/merge-patch+json',
    )
    await rg.stop()
    await am.stop()
    return {
      benchmark: 'action',
      generatedAt: new Date().toISOString(),
      smoke,
      machine: machineInfo(),
      settings: {
        trials,
        interval,
        probeInterval: '250ms',
        rule: 'rollguard_probe_success == 0, for: 0s',
        mode: 'execute',
        leaderElection: true,
        alertmanager: true,
      },
      summary: {
        trials: latencies.length,
        patches: patches.length,
        medianMs: round(median(latencies), 1),
        p99Ms: percentile(latencies, 99),
        minMs: Math.min(...latencies),
        maxMs: Math.max(...latencies),
      },
      latenciesMs: latencies,
    }
  } finally {
    await health.close()
    await fake.close()
    rmSync(work, { recursive: true, force: true })
  }
})

writeJson(out, result)
log(
  `action latency: median ${result.summary.medianMs} ms, p99 ${result.summary.p99Ms} ms over ${result.summary.trials} trials → ${out}`,
)
