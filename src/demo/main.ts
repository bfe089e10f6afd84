/**
 * The README's demo: a sample service, a real Prometheus and a real Alertmanager (Debian packages) on
 * loopback, and the rollguard binary itself with the shipped default rules (durations shortened).
 * It injects a fault and narrates the alert's lifecycle: pending → firing → in Alertmanager → resolved.
 * It exits by itself (bounded) and stops everything it started.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stringify } from 'yaml'
import { fastRules } from './fast-rules.js'
import { freePort, logTail, startProcess, stopAll, waitForHttp } from './processes.js'
import { startSampleService } from './sample-service.js'
import { amAlerts, startAlertmanager, startPrometheus } from './stack.js'
import { Narrator } from './narrator.js'

const DEMO_TIMEOUT_MS = 4 * 60_000
const root = fileURLToPath(new URL('../..', import.meta.url))

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
      scrapeTargets: [{ job: 'checkout', target: new URL(svc.url).host, labels: { namespace: 'shop', pod: svc.pod }, honorLabels: true }],
    })
    say.detail(`Prometheus ${prom.url}   Alertmanager ${am.url}`)

    const rules = join(work, 'rollback-triggers.demo.yml')
    const shipped = readFileSync(join(root, 'rules/rollback-triggers.yml'), 'utf8')
    writeFileSync(rules, fastRules(shipped, { forDurations: { '2m': '10s', '5m': '15s' }, rangeWindow: '[10s]' }))
    const config = join(work, 'rollguard.yml')
    writeFileSync(config, stringify({
      probes: [{ name: 'checkout-healthz', url: `${svc.url}/healthz`, interval: '1s', timeout: '500ms', labels: { namespace: 'shop', deployment: 'checkout' } }],
    }))
    const port = await freePort()
    const rollguardUrl = `http://127.0.0.1:${port}`
    say.step('Starting rollguard with rules/rollback-triggers.yml (for: 2m → 10s, 5m → 15s; windows 1m → 10s)')
    const args = ['run', '--config', config, '--prometheus-url', prom.url, '--alertmanager-url', am.url,
      '--rules', rules, '--eval-interval', '1s', '--resend-delay', '5s', '--listen', `127.0.0.1:${port}`]
    say.detail(`rollguard ${args.join(' ')}`)
    const logFile = join(work, 'rollguard.log')
    const proc = await startProcess(process.execPath, [join(root, 'dist/main.js'), ...args], { logFile, name: 'rollguard' })
    await waitForHttp(`${rollguardUrl}/-/ready`, { timeoutMs: 30_000 }).catch((err: unknown) => {
      throw new Error(`rollguard did not become ready: ${String(err)}\n${logTail(logFile)}`)
    })
    say.ok('rollguard is ready: rules loaded, first evaluation done')

    await say.watch('Baseline: 0% errors, p95 ≈ 70 ms, memory 40% of limit, /healthz 200', 5_000, rollguardUrl)
    say.step('Injecting a fault: 40% of checkout requests now fail with HTTP 500')
    svc.setFault({ errorRatio: 0.4 })
    await say.untilState(rollguardUrl, 'HighErrorRate', 'pending', 30_000)
    await say.untilState(rollguardUrl, 'HighErrorRate', 'firing', 30_000)
    const inAm = await say.until('HighErrorRate in Alertmanager', 20_000, async () => {
      const alerts = await amAlerts(am.url, { matchers: { alertname: 'HighErrorRate' } })
      return alerts[0]
    })
    say.ok(`Alertmanager has it: ${inAm.annotations.summary ?? ''}`)
    say.detail(`labels ${JSON.stringify(inAm.labels)}`)
    say.detail(`startsAt ${inAm.startsAt}  endsAt ${inAm.endsAt}  (endsAt is pushed forward by every resend)`)

    say.step('Recovering: the fault is cleared')
    svc.clearFault()
    await say.untilState(rollguardUrl, 'HighErrorRate', 'inactive', 60_000)
    await say.until('the alert to be resolved in Alertmanager', 20_000, async () =>
      (await amAlerts(am.url, { matchers: { alertname: 'HighErrorRate' } })).length === 0 || undefined)
    say.ok('Alertmanager shows it resolved (rollguard sent endsAt = resolution time)')

    say.step('Stopping rollguard (SIGTERM: in-flight notifications are sent first), Prometheus, Alertmanager, the service')
    await proc.stop(10_000)
    await Promise.all([prom.stop(), am.stop(), svc.stop()])
    say.done()
  } finally {
    await stopAll()
    rmSync(work, { recursive: true, force: true })
  }
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
    narrator.fail((err as Error).message)
    await stopAll()
    process.exit(1)
  },
)
