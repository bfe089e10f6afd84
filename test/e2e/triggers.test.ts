// Each default rollback trigger fires against a real Prometheus, reaches a real Alertmanager with the
// Prometheus alert lifecycle, and resolves after recovery. Durations come from rules/rollback-triggers.yml
// with `for` and windows shortened; everything else is the shipped file.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { amAlerts } from '../../src/demo/stack.js'
import {
  alertmanager,
  defaultRulesFast,
  eventually,
  getJson,
  logSink,
  prometheus,
  rollguard,
  services,
  tempDir,
} from '../fixtures/e2e.js'

interface ApiAlert {
  labels: Record<string, string>
  state: string
  activeAt: string
  value: string
}

t.test('the four default triggers fire, reach Alertmanager and resolve', async t => {
  const dir = tempDir(t)
  const [errors, latency, memory, health] = await services(t, ['errors', 'latency', 'memory', 'health'])
  if (!errors || !latency || !memory || !health) throw new Error('services did not start')
  const [prom, am] = await Promise.all([prometheus(t, [errors, latency, memory, health]), alertmanager(t)])
  const config = join(dir, 'rollguard.yml')
  writeFileSync(
    config,
    stringify({
      probes: [
        {
          name: 'health-healthz',
          url: `${health.url}/healthz`,
          interval: '500ms',
          timeout: '300ms',
          labels: { namespace: 'shop', deployment: 'health' },
        },
      ],
    }),
  )
  const log = logSink()
  const daemon = await rollguard(
    t,
    {
      config,
      'prometheus-url': prom.url,
      'alertmanager-url': am.url,
      rules: defaultRulesFast(dir),
      'eval-interval': '1s',
      'resend-delay': '2s',
      'external-label': 'cluster=test',
    },
    log,
  )

  await eventually('rules evaluated without errors', async () => {
    const body = await getJson<{ data: { groups: Array<{ rules: Array<{ health: string }> }> } }>(
      `${daemon.address}/api/v1/rules`,
    )
    return body.data.groups[0]?.rules.every(r => r.health === 'ok')
  })
  errors.setFault({ errorRatio: 0.5 })
  latency.setFault({ latencySeconds: 8 })
  memory.setFault({ memoryRatio: 0.95 })
  health.setFault({ health: 'hang' })

  const expected: Record<string, string> = {
    HighErrorRate: 'errors',
    HighLatency: 'latency',
    HighMemory: 'memory',
    HealthCheckFailing: 'health',
  }
  const fired = await eventually(
    'all four alerts in Alertmanager',
    async () => {
      const alerts = await amAlerts(am.url, { matchers: { rollguard_trigger: 'rollback' } })
      const names = new Set(alerts.map(a => a.labels.alertname))
      return Object.keys(expected).every(n => names.has(n)) ? alerts : undefined
    },
    60_000,
  )

  for (const [alertname, deployment] of Object.entries(expected)) {
    const alert = fired.find(a => a.labels.alertname === alertname)
    t.equal(alert?.labels.deployment, deployment, `${alertname} names the deployment`)
    t.equal(alert?.labels.namespace, 'shop')
    t.equal(alert?.labels.cluster, 'test', 'external label added')
    t.equal(alert?.labels.severity, 'critical')
    t.match(alert?.annotations.summary, /^shop\//, `${alertname} summary templated`)
    t.match(alert?.generatorURL, /\/graph\?g0\.expr=.+&g0\.tab=1$/)
  }
  t.match(
    fired.find(a => a.labels.alertname === 'HighErrorRate')?.annotations.summary,
    /shop\/errors: \d+(\.\d+)?% of requests fail with 5xx/,
  )

  const transitions = log.lines().filter(l => l.msg === 'alert HighErrorRate firing')
  t.ok(transitions.length >= 1, 'one log line per state change, with labels and value')
  t.ok(
    log.lines().some(l => l.msg === 'alert HighErrorRate pending'),
    'pending came first',
  )
  const metrics = await (await fetch(`${daemon.address}/metrics`)).text()
  t.match(
    metrics,
    /rollguard_probe_success\{[^}]*deployment="health"[^}]*probe="health-healthz"[^}]*\} 0/,
    'probe result exported',
  )
  t.match(metrics, /rollguard_alerts\{[^}]*alertname="HighErrorRate"[^}]*state="firing"\} 1/, 'alerts by state')
  t.match(metrics, /rollguard_notifications_sent_total\{alertmanager="[^"]+"\} [1-9]/, 'notifications counted')
  t.match(metrics, /rollguard_rule_group_iterations_total\{rule_group="[^"]+;rollback-triggers"\} [1-9]/)
  const apiAlerts = await getJson<{ data: { alerts: ApiAlert[] } }>(`${daemon.address}/api/v1/alerts`)
  t.ok(apiAlerts.data.alerts.some(a => a.labels.alertname === 'HighMemory' && a.state === 'firing'))

  for (const svc of [errors, latency, memory, health]) svc.clearFault()
  await eventually(
    'all alerts resolved in Alertmanager',
    async () => {
      const alerts = await amAlerts(am.url, { matchers: { rollguard_trigger: 'rollback' } })
      return alerts.length === 0
    },
    60_000,
  )
  const after = await getJson<{ data: { alerts: ApiAlert[] } }>(`${daemon.address}/api/v1/alerts`)
  t.same(after.data.alerts, [], 'no active alerts in rollguard')
  t.ok(
    log.lines().some(l => l.msg === 'alert HighLatency inactive'),
    'resolution logged',
  )
})
