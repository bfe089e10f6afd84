#!/usr/bin/env node
// Alertmanager webhook throughput (issue 4): the built rollguard (dist/main.js) on loopback in dry-run mode with
// bearer auth, hammered by autocannon with a typical notification of 5 rollback triggers, sent again and again as
// Alertmanager repeats a notification (after the first request every alert is a duplicate: the steady state).
// Rate limiting is set out of the way; per-request log lines are written as in production (to a file).
// rollguard has a kubeconfig pointing at a closed port, so the 5 dry-run jobs of the first request fail to read the
// workload at once and nothing else talks to Kubernetes.
//
//   npm run build && node bench/webhook.mjs                 # full run → bench/results/webhook.json
//   node bench/webhook.mjs --smoke --out /tmp/w.json        # a second of load, to check the script works
//   node bench/webhook.mjs --profile /tmp/prof              # also write rollguard's CPU profile there
//   node bench/webhook.mjs --log-level debug                # also write a log line for every repeat
//
// Targets: ≥ 5,000 requests/s and p99 ≤ 20 ms on the benchmark machine.
//
// Options:
//   --smoke              1 s of load after a 1 s warm-up, 2 connections, marked as a smoke run: checks the script works
//   --duration S         seconds of measured load (default 20; 1 with --smoke)
//   --warmup S           seconds of load before the measurement (default 3; 1 with --smoke)
//   --connections N      concurrent connections (default 10; 2 with --smoke)
//   --out FILE           the result file (default bench/results/webhook.json)
//   --profile DIR        also write rollguard's CPU profile there (node --cpu-prof)
//   --keep-logs DIR      write rollguard's log there (default: a temporary directory, removed at the end)
//   --log-level LEVEL    rollguard's --log-level (default info)
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { stringify } from 'yaml'
import {
  DIST_MAIN,
  RESULTS,
  ROOT,
  cliArgs,
  cpuSeconds,
  fetchText,
  log,
  machineInfo,
  memoryKiB,
  metricSum,
  round,
  runBounded,
  sleep,
  writeJson,
} from './lib/common.mjs'

const { values: args, fail } = cliArgs(import.meta.url, {
  options: {
    smoke: { type: 'boolean', default: false },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    out: { type: 'string' },
    profile: { type: 'string' },
    'keep-logs': { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
  },
})
const SMOKE = args.smoke
const DURATION_S = Number(args.duration ?? (SMOKE ? 1 : 20))
const WARMUP_S = Number(args.warmup ?? (SMOKE ? 1 : 3))
const CONNECTIONS = Number(args.connections ?? (SMOKE ? 2 : 10))
const OUT = args.out ?? join(RESULTS, 'webhook.json')
const TARGETS = { requestsPerSecond: 5000, p99Ms: 20 }
const TOKEN = 'bench-webhook-token'
const PATH = '/api/v1/webhook/alertmanager'
const DEADLINE_MS = (DURATION_S + WARMUP_S + 90) * 1000

for (const [name, v] of [
  ['duration', DURATION_S],
  ['warmup', WARMUP_S],
  ['connections', CONNECTIONS],
]) {
  if (!Number.isInteger(v) || v < 1) fail(`--${name} must be a positive integer`)
}

/** notification is a typical Alertmanager notification: one group, 5 firing rollback triggers, as 0.25 renders it. */
function notification() {
  const startsAt = new Date(Date.now() - 120_000).toISOString()
  const alerts = ['cart', 'checkout', 'payment', 'search', 'shipping'].map((deployment, i) => ({
    status: 'firing',
    labels: {
      alertname: 'HighErrorRate',
      deployment,
      namespace: 'shop',
      rollguard_trigger: 'rollback',
      severity: 'critical',
      job: 'kubernetes-pods',
      pod: `${deployment}-7d9f8c6b5-x2k4${i}`,
    },
    annotations: {
      summary: `5xx ratio of shop/${deployment} above 10 %`,
      description: `More than 10 % of the requests to shop/${deployment} failed in the last 5 minutes.`,
    },
    startsAt,
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL:
      'http://prometheus.monitoring:9090/graph?g0.expr=sum+by+%28namespace%2C+deployment%29+%28rate%28http_requests_total%7Bcode%3D~%225..%22%7D%5B5m%5D%29%29&g0.tab=1',
    fingerprint: (0x1f3a5c7e9b2d4f60n + BigInt(i)).toString(16).padStart(16, '0'),
  }))
  return JSON.stringify({
    receiver: 'rollguard',
    status: 'firing',
    alerts,
    groupLabels: { alertname: 'HighErrorRate', namespace: 'shop' },
    commonLabels: {
      alertname: 'HighErrorRate',
      namespace: 'shop',
      rollguard_trigger: 'rollback',
      severity: 'critical',
      job: 'kubernetes-pods',
    },
    commonAnnotations: {},
    externalURL: 'http://alertmanager.monitoring:9093',
    version: '4',
    groupKey: '{}/{rollguard_trigger="rollback"}:{alertname="HighErrorRate", namespace="shop"}',
    truncatedAlerts: 0,
  })
}

/** cannon runs autocannon for `seconds` and resolves to its result. */
function cannon(url, body, seconds) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `${url}${PATH}`,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${TOKEN}`,
          'user-agent': 'Alertmanager/0.25.0',
        },
        body,
        connections: CONNECTIONS,
        pipelining: 1,
        duration: seconds,
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    )
  })
}

await runBounded('webhook', DEADLINE_MS, async dist => {
  const machine = machineInfo()
  const work = mkdtempSync(join(tmpdir(), 'rollguard-bench-webhook-'))
  const removeWork = dist.onExitSync(() => rmSync(work, { recursive: true, force: true }))
  const logs = args['keep-logs'] ?? work
  mkdirSync(logs, { recursive: true })

  // A kubeconfig for a cluster that is not there: the dry-run jobs fail their read at once (connection refused).
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
      webhook: { auth: { bearer_token_file: 'token' }, rate_limit: { per_second: 1e9, burst: 1e9 } },
    }),
  )

  const port = await dist.freePort()
  const url = `http://127.0.0.1:${port}`
  const nodeArgs = args.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${args.profile}`]
  const proc = await dist.startProcess(
    process.execPath,
    [
      ...nodeArgs,
      DIST_MAIN,
      'run',
      '--config',
      join(work, 'rollguard.yml'),
      '--prometheus-url',
      'http://127.0.0.1:9',
      '--listen',
      `127.0.0.1:${port}`,
      '--log-level',
      args['log-level'],
    ],
    {
      name: 'rollguard',
      logFile: join(logs, 'rollguard.log'),
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'production' },
    },
  )
  await dist.waitForHttp(`${url}/-/healthy`, { timeoutMs: 30_000, process: proc })
  log(
    `webhook: rollguard ${url} (pid ${proc.pid}); ${CONNECTIONS} connections, warm-up ${WARMUP_S} s, measured ${DURATION_S} s; work dir ${work}`,
  )

  const body = notification()
  const first = await fetch(`${url}${PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body,
  })
  const firstBody = await first.json()
  if (first.status !== 200 || firstBody.data?.alerts?.accepted !== 5)
    throw new Error(`the first notification was not accepted: ${first.status} ${JSON.stringify(firstBody)}`)
  await sleep(500)

  await cannon(url, body, WARMUP_S)
  const cpuBefore = cpuSeconds(proc.pid)
  const before = metricSum(
    (await fetchText(`${url}/metrics`))
      .split('\n')
      .filter(l => l.includes('status="200"'))
      .join('\n'),
    'rollguard_webhook_requests_total',
  )
  const r = await cannon(url, body, DURATION_S)
  const cpu = cpuSeconds(proc.pid) - cpuBefore
  const metrics = await fetchText(`${url}/metrics`)
  const after = metricSum(
    metrics
      .split('\n')
      .filter(l => l.includes('status="200"'))
      .join('\n'),
    'rollguard_webhook_requests_total',
  )
  const memory = memoryKiB(proc.pid)
  await proc.stop(10_000)
  const logLines = readFileSync(join(logs, 'rollguard.log'), 'utf8')
    .split('\n')
    .filter(l => l.includes('"alertmanager webhook: 200')).length

  const summary = {
    requestsPerSecond: round(r.requests.average, 0),
    requestsTotal: r.requests.total,
    latencyMs: {
      p50: r.latency.p50,
      p90: r.latency.p90,
      p99: r.latency.p99,
      max: r.latency.max,
      mean: round(r.latency.average, 3),
    },
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    served200: after - before,
    rollguardCpuSecondsPerSecond: round(cpu / DURATION_S, 3),
    rollguardPeakRssMiB: round(memory.hwm / 1024, 1),
    logLines200: logLines,
  }
  const met = {
    requestsPerSecond: summary.requestsPerSecond >= TARGETS.requestsPerSecond,
    p99Ms: summary.latencyMs.p99 <= TARGETS.p99Ms,
  }
  const result = {
    benchmark: 'webhook',
    generatedAt: new Date().toISOString(),
    smoke: SMOKE,
    machine,
    settings: {
      durationSeconds: DURATION_S,
      warmupSeconds: WARMUP_S,
      connections: CONNECTIONS,
      pipelining: 1,
      alertsPerNotification: 5,
      payloadBytes: Buffer.byteLength(body),
      mode: 'dry-run',
      auth: 'bearer',
      // At info, Alertmanager's repeats (nothing new in them) are logged at debug, so not written: as in production.
      logLevel: args['log-level'],
      client: `autocannon ${JSON.parse(readFileSync(join(ROOT, 'node_modules', 'autocannon', 'package.json'), 'utf8')).version} (same machine)`,
    },
    targets: { ...TARGETS, met },
    summary,
  }
  writeJson(OUT, result)
  log(`wrote ${OUT}`)
  removeWork()
  rmSync(work, { recursive: true, force: true })
  process.stdout.write(`${JSON.stringify({ summary, targets: result.targets }, null, 2)}\n`)
})
process.exit(0)
