/**
 * The README's demo: a sample service, a real Prometheus and a real Alertmanager (Debian packages) on
 * loopback, a SIMULATED Kubernetes cluster (the project's fake API server; no real cluster, no real pods), and
 * the rollguard binary itself with the shipped default rules (durations shortened) and automatic rollbacks on.
 * It deploys a bad revision and narrates: pending → firing → rollback → verified → resolved.
 * It exits by itself (bounded) and stops everything it started.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stringify } from 'yaml'
import { imageOf, Kubelet, startSimulatedCluster, type SimulatedCluster } from './cluster.js'
import { fastRules } from './fast-rules.js'
import { freePort, logTail, startProcess, stopAll, waitForHttp } from './processes.js'
import { startSampleService, type SampleService } from './sample-service.js'
import { amAlerts, startAlertmanager, startPrometheus } from './stack.js'
import { Narrator } from './narrator.js'
import { errorText } from '../errors.js'

const DEMO_TIMEOUT_MS = 4 * 60_000
const root = fileURLToPath(new URL('../..', import.meta.url))
const GOOD = 'shop/checkout:1.4.2'
const BAD = 'shop/checkout:1.5.0'
const RECORD_ANNOTATION = 'rollguard.io/last-rollback'
const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision'

const CHECKOUT = {
  metadata: {
    name: 'checkout',
    labels: { app: 'checkout' },
    annotations: { 'kubernetes.io/change-cause': `release ${GOOD}` },
  },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: 'checkout' } },
    template: { metadata: { labels: { app: 'checkout' } }, spec: { containers: [{ name: 'checkout', image: GOOD }] } },
  },
}

async function demo(say: Narrator): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'rollguard-demo-'))
  try {
    say.step('Starting the sample service shop/checkout (simulated traffic, prom-client metrics, /healthz)')
    const svc = await startSampleService({ namespace: 'shop', deployment: 'checkout' })
    say.detail(`${svc.url}  pod ${svc.pod}`)
    say.step('Starting a real Alertmanager and a real Prometheus scraping the service every second')
    const am = await startAlertmanager()
    const prom = await startPrometheus({
      scrapeInterval: '1s',
      scrapeTargets: [
        {
          job: 'checkout',
          target: new URL(svc.url).host,
          labels: { namespace: 'shop', pod: svc.pod },
          honorLabels: true,
        },
      ],
    })
    say.detail(`Prometheus ${prom.url}   Alertmanager ${am.url}`)

    const cluster = await startCluster(say, work, svc)
    const rollguardUrl = await startRollguard(say, work, { svc, promUrl: prom.url, amUrl: am.url, cluster })

    await say.watch(
      `Baseline: ${GOOD} serves 0% errors, p95 ≈ 70 ms, memory 40% of limit, /healthz 200`,
      5_000,
      rollguardUrl,
    )
    say.step(
      `Deploying revision 2: kubectl set image deployment/checkout checkout=${BAD}   (this build fails 40% of requests)`,
    )
    await cluster.setImage('shop', 'checkout', 'checkout', BAD)
    await say.until('revision 2 to roll out', 20_000, async () => {
      const d = await cluster.getDeployment('shop', 'checkout')
      return d.metadata.annotations?.[REVISION_ANNOTATION] === '2' && cluster.rolledOut(d) ? d : undefined
    })
    say.ok('[simulated cluster] revision 2 rolled out')

    await say.untilState(rollguardUrl, 'HighErrorRate', 'pending', 30_000)
    await say.untilState(rollguardUrl, 'HighErrorRate', 'firing', 30_000)
    const pendingSince = await alertActiveAt(rollguardUrl, 'HighErrorRate')
    await showRollback(say, cluster, pendingSince)
    await showAudit(say, cluster, am.url)

    say.step('Recovery: the pods run the good build again')
    await say.untilState(rollguardUrl, 'HighErrorRate', 'inactive', 60_000)
    await say.until(
      'HighErrorRate to be resolved in Alertmanager',
      20_000,
      async () => (await amAlerts(am.url, { matchers: { alertname: 'HighErrorRate' } })).length === 0 || undefined,
    )
    say.ok('Alertmanager shows HighErrorRate resolved (rollguard sent endsAt = resolution time)')

    say.step(
      'Stopping rollguard (SIGTERM: in-flight notifications are sent first), Prometheus, Alertmanager, the cluster, the service',
    )
    await stopAll(10_000)
    await Promise.all([prom.stop(), am.stop(), svc.stop()])
    say.done(
      'Demo complete: bad deploy → HighErrorRate pending → firing → automatic rollback (simulated cluster) → verified → resolved. Everything started has been stopped.',
    )
  } finally {
    await stopAll()
    rmSync(work, { recursive: true, force: true })
  }
}

/** startCluster starts the simulated cluster with shop/checkout at revision 1 and the kubelet stand-in. */
async function startCluster(say: Narrator, work: string, svc: SampleService): Promise<SimulatedCluster> {
  say.step(
    "Starting a SIMULATED Kubernetes cluster: the project's fake API server (real HTTP API, deployment controller, no real pods)",
  )
  const cluster = await startSimulatedCluster(join(root, '.demo/fake-kube'), work, join(work, 'kube-apiserver.log'))
  say.detail(`${cluster.url}   kubeconfig ${cluster.kubeconfig}`)
  const kubelet = new Kubelet(cluster, 'shop', 'checkout', image => {
    // The service is the pods: what build they run decides how they behave.
    if (image === BAD) svc.setFault({ errorRatio: 0.4 })
    else svc.clearFault()
    say.detail(
      `[simulated kubelet] shop/checkout pods now run ${image}${image === BAD ? ' — 40% of requests fail' : ''}`,
    )
  })
  await cluster.createDeployment('shop', CHECKOUT)
  await say.until('revision 1 to roll out', 20_000, async () => {
    const d = await cluster.getDeployment('shop', 'checkout')
    return cluster.rolledOut(d) ? d : undefined
  })
  kubelet.start()
  say.ok(`[simulated cluster] deployment shop/checkout revision 1 (${GOOD}) rolled out, 3 replicas`)
  return cluster
}

interface RollguardInputs {
  readonly svc: SampleService
  readonly promUrl: string
  readonly amUrl: string
  readonly cluster: SimulatedCluster
}

/** startRollguard runs the rollguard binary with the shipped rules (shortened) and automatic rollbacks in execute mode. */
async function startRollguard(say: Narrator, work: string, inputs: RollguardInputs): Promise<string> {
  const rules = join(work, 'rollback-triggers.demo.yml')
  const shipped = readFileSync(join(root, 'rules/rollback-triggers.yml'), 'utf8')
  writeFileSync(rules, fastRules(shipped, { forDurations: { '2m': '10s', '5m': '15s' }, rangeWindow: '[10s]' }))
  const config = join(work, 'rollguard.yml')
  writeFileSync(
    config,
    stringify({
      probes: [
        {
          name: 'checkout-healthz',
          url: `${inputs.svc.url}/healthz`,
          interval: '1s',
          timeout: '500ms',
          labels: { namespace: 'shop', deployment: 'checkout' },
        },
      ],
      // execute: real patches — against the simulated cluster only. The default is dry-run.
      // Scaled down like the rules: the correlation settle (1m by default) waits 2s here.
      actions: {
        mode: 'execute',
        allow: [{ namespace: 'shop' }],
        verify_timeout: '60s',
        correlation: { settle: '2s' },
      },
      kubernetes: { kubeconfig: inputs.cluster.kubeconfig, lease: { namespace: 'rollguard-system' } },
    }),
  )
  const port = await freePort()
  const rollguardUrl = `http://127.0.0.1:${port}`
  say.step(
    'Starting rollguard: rules/rollback-triggers.yml (for: 2m → 10s, 5m → 15s; windows 1m → 10s), actions in execute mode for namespace shop',
  )
  const args = [
    'run',
    '--config',
    config,
    '--prometheus-url',
    inputs.promUrl,
    '--alertmanager-url',
    inputs.amUrl,
    '--rules',
    rules,
    '--eval-interval',
    '1s',
    '--resend-delay',
    '5s',
    '--listen',
    `127.0.0.1:${port}`,
  ]
  say.detail(`rollguard ${args.join(' ')}`)
  const logFile = join(work, 'rollguard.log')
  await startProcess(process.execPath, [join(root, 'dist/main.js'), ...args], { logFile, name: 'rollguard' })
  await waitForHttp(`${rollguardUrl}/-/ready`, { timeoutMs: 30_000 }).catch((err: unknown) => {
    throw new Error(`rollguard did not become ready: ${String(err)}\n${logTail(logFile)}`, { cause: err })
  })
  await say.until('rollguard to lead (Lease rollguard-system/rollguard)', 20_000, async () => {
    const text = await (await fetch(`${rollguardUrl}/metrics`, { signal: AbortSignal.timeout(3_000) })).text()
    return /^rollguard_leader 1$/m.test(text) || undefined
  })
  say.ok('rollguard is ready and leads: rules loaded, first evaluation done, Lease held')
  return rollguardUrl
}

/** showRollback waits for rollguard's patch (the image back at the good build) and its record on the Deployment. */
async function showRollback(say: Narrator, cluster: SimulatedCluster, pendingSince: number): Promise<void> {
  say.step(
    'rollguard decides: policy checks (allowlist, post-deploy window, cooldown, limits, leader), then kubectl rollout undo',
  )
  const rolledBack = await say.until('the rollback patch', 30_000, async () => {
    const d = await cluster.getDeployment('shop', 'checkout')
    return imageOf(d) === GOOD && d.metadata.annotations?.[RECORD_ANNOTATION] !== undefined ? d : undefined
  })
  const record = JSON.parse(rolledBack.metadata.annotations?.[RECORD_ANNOTATION] ?? '{}') as {
    at?: string
    from?: number
    to?: number
  }
  const after = (Date.parse(record.at ?? '') - pendingSince) / 1000
  say.ok(
    `[simulated cluster] rolled back from revision ${record.from} to revision ${record.to}'s template (${GOOD}), stored as revision ${rolledBack.metadata.annotations?.[REVISION_ANNOTATION]}`,
  )
  say.detail(`patched ${after.toFixed(1)} s after HighErrorRate went pending (for: 10s)`)
  say.detail(`annotation ${RECORD_ANNOTATION}: ${rolledBack.metadata.annotations?.[RECORD_ANNOTATION]}`)
  await say.until('the rollout of the rollback to complete', 30_000, async () => {
    const d = await cluster.getDeployment('shop', 'checkout')
    return cluster.rolledOut(d) ? d : undefined
  })
}

/** alertActiveAt reads when rollguard's alert of a rule became active (pending), Unix ms. */
async function alertActiveAt(rollguardUrl: string, rule: string): Promise<number> {
  const res = await fetch(`${rollguardUrl}/api/v1/alerts`, { signal: AbortSignal.timeout(3_000) })
  const body = (await res.json()) as { data: { alerts: { labels: Record<string, string>; activeAt: string }[] } }
  const alert = body.data.alerts.find(a => a.labels['alertname'] === rule)
  return alert === undefined ? Number.NaN : Date.parse(alert.activeAt)
}

/** showAudit shows the Events rollguard recorded and its RollbackExecuted alert in Alertmanager. */
async function showAudit(say: Narrator, cluster: SimulatedCluster, amUrl: string): Promise<void> {
  const verified = await say.until('rollguard to verify the rollback (rollout status)', 60_000, async () => {
    const events = await cluster.events('shop')
    const mine = events.filter(e => e.reportingController?.includes('rollguard'))
    return mine.some(e => /Verified|Succeeded/i.test(e.reason ?? '')) ? mine : undefined
  })
  for (const e of verified)
    say.detail(`Event ${e.type} ${e.reason} on ${e.regarding?.kind}/${e.regarding?.name}: ${e.note}`)
  say.ok('rollguard verified the rollback (kubectl rollout status logic) and recorded Events on the Deployment')
  const executed = await say.until(
    'RollbackExecuted in Alertmanager',
    20_000,
    async () => (await amAlerts(amUrl, { matchers: { alertname: 'RollbackExecuted' } }))[0],
  )
  say.ok(`Alertmanager has RollbackExecuted: ${executed.annotations.summary ?? ''}`)
}

const narrator = new Narrator(process.stdout)
const timer = setTimeout(() => {
  narrator.fail(`the demo did not finish within ${DEMO_TIMEOUT_MS / 1000} s`)
  void stopAll().finally(() => process.exit(1))
}, DEMO_TIMEOUT_MS)
demo(narrator).then(
  () => {
    clearTimeout(timer)
    process.exit(0)
  },
  async (err: unknown) => {
    narrator.fail(errorText(err))
    await stopAll()
    process.exit(1)
  },
)
