// VictoriaMetrics single-node as the query API instead of Prometheus: it scrapes the sample services itself, and
// rollguard's Prometheus source asks it. The shipped triggers fire and resolve at the right times, a backtest of the
// same window (query_range with VictoriaMetrics's response cache on, as in production) finds the same firings, a
// rollback is decided and executed on its data (fake cluster), and `rollguard doctor` passes against it — or warns
// when -search.latencyOffset hides recent data. Differences found: docs/backends.md. Every wait is bounded.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { runBacktest } from '../../src/backtest/run.js'
import { amAlerts, type AmAlert } from '../../src/demo/stack.js'
import { loadRuleFiles } from '../../src/rules/load.js'
import { createPrometheusSource } from '../../src/sources/prometheus.js'
import {
  actingRollguard,
  alertmanager,
  defaultRulesFast,
  eventually,
  getJson,
  image,
  rollbackPatches,
  rollguard,
  services,
  shopCluster,
  tempDir,
} from '../fixtures/e2e.js'
import { victoriaMetrics } from '../fixtures/victoria-metrics.js'
import { doctor, failures, kube, NAMESPACED_RBAC, rbacDoc, writeConfig } from '../cli/fixtures/doctor.js'

const INTERVAL_MS = 1_000
// defaultRulesFast: `for: 2m` → 3s (errors, latency), `for: 5m` → 4s (memory, probe).
const FOR_MS: Record<string, number> = { HighErrorRate: 3_000, HighLatency: 3_000, HighMemory: 4_000 }
// A live evaluation may see a scrape a slot or two later than a replay: VictoriaMetrics makes ingested samples
// searchable when it flushes its in-memory buffer (about every second), a replay runs over data long flushed.
const LIVE_VS_REPLAY_MS = 3 * INTERVAL_MS

t.test('the default triggers fire and resolve on VictoriaMetrics data; a backtest finds the same firings', async t => {
  const dir = tempDir(t)
  const windowStart = Date.now()
  const svcs = await services(t, ['errors', 'latency', 'memory', 'health'])
  const [errors, latency, memory, health] = svcs
  if (!errors || !latency || !memory || !health) throw new Error('services did not start')
  // The response cache stays on (VictoriaMetrics's default): the backtest's query_range must still hit the slot grid.
  const [vm, am] = await Promise.all([victoriaMetrics(t, svcs, { responseCache: true }), alertmanager(t)])
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
  const rules = defaultRulesFast(dir)
  const daemon = await rollguard(t, {
    config,
    'prometheus-url': vm.url,
    'alertmanager-url': am.url,
    rules,
    'eval-interval': '1s',
    'resend-delay': '2s',
  })
  await eventually('rules evaluated without errors', async () => {
    const body = await getJson<{ data: { groups: Array<{ rules: Array<{ health: string }> }> } }>(
      `${daemon.address}/api/v1/rules`,
    )
    return body.data.groups[0]?.rules.every(r => r.health === 'ok')
  })

  const faultAt = Date.now()
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
      const names = new Set(alerts.map(a => a.labels['alertname']))
      return Object.keys(expected).every(n => names.has(n)) ? alerts : undefined
    },
    60_000,
  )
  const firedAt = new Map<string, number>()
  for (const [alertname, deployment] of Object.entries(expected)) {
    const alert = fired.find(a => a.labels['alertname'] === alertname) as AmAlert
    t.equal(alert.labels['deployment'], deployment, `${alertname} names the deployment`)
    t.match(alert.annotations['summary'], /^shop\//, `${alertname} summary templated from VictoriaMetrics's value`)
    const startsAt = Date.parse(alert.startsAt)
    firedAt.set(alertname, startsAt)
    const forMs = FOR_MS[alertname] ?? 4_000
    // Not before the fault had been scraped (one scrape of slack) and lasted `for`.
    t.ok(startsAt >= faultAt + forMs - INTERVAL_MS, `${alertname} fired ${startsAt - faultAt} ms after the fault`)
    // Nor 30 s late, as with VictoriaMetrics's default -search.latencyOffset (activeAt is a slot time, not load).
    t.ok(startsAt < faultAt + forMs + 20_000, `${alertname} fired on recent data`)
  }
  t.match(
    fired.find(a => a.labels['alertname'] === 'HighErrorRate')?.annotations['summary'],
    /shop\/errors: \d+(\.\d+)?% of requests fail with 5xx/,
  )

  for (const svc of svcs) svc.clearFault()
  await eventually(
    'all alerts resolved in Alertmanager',
    async () => (await amAlerts(am.url, { matchers: { rollguard_trigger: 'rollback' } })).length === 0,
    60_000,
  )

  // More than 50 points per series: VictoriaMetrics with its response cache would round start and end to the step.
  const source = createPrometheusSource({ url: vm.url, timeoutMs: 10_000 })
  t.teardown(() => source.close())
  const toMs = Date.now() - 2_000
  const fromMs = Math.min(windowStart, toMs - 90_000)
  const groups = (await loadRuleFiles([rules])).files.flatMap(f => f.groups)
  const replayed = await runBacktest(groups, {
    fromMs,
    toMs,
    stepMs: undefined,
    defaultIntervalMs: INTERVAL_MS,
    rangeQuery: (expr, range) => source.queryRange(expr, range),
    externalLabels: {},
    externalURL: 'http://rollguard.test',
    maxConcurrentQueries: 4,
  })
  t.same(replayed.groups[0]?.errors, {}, 'every range query answered')
  // VictoriaMetrics's errorType is the HTTP status ("422"); the source speaks Prometheus's vocabulary.
  const refused = await source.query('foo(up)', Date.now()).then(
    () => undefined,
    (err: unknown) => err,
  )
  t.match(refused, {
    errorType: 'execution',
    statusCode: 422,
    message: /^query failed: execution: error when executing query="foo\(up\)".*unknown func "foo"/,
  })
  for (const alertname of ['HighErrorRate', 'HighLatency', 'HighMemory']) {
    const firing = replayed.alerts
      .filter(a => a.labels['alertname'] === alertname)
      .flatMap(a => a.intervals.filter(i => i.state === 'firing'))
    t.equal(firing.length, 1, `${alertname}: one firing interval in the backtest`)
    const live = firedAt.get(alertname) as number
    const start = firing[0]?.start
    t.ok(
      start !== undefined && Math.abs(start - live) <= LIVE_VS_REPLAY_MS,
      `${alertname}: backtest fires at ${start === undefined ? 'never' : start - live} ms from the live firing`,
    )
  }
})

t.test('a rollback decided on VictoriaMetrics data: one patch restores revision 1', async t => {
  const dir = tempDir(t)
  const [checkout] = await services(t, ['checkout'])
  if (!checkout) throw new Error('service did not start')
  const [vm, am, fake] = await Promise.all([
    victoriaMetrics(t, [checkout]),
    alertmanager(t),
    shopCluster(t, ['checkout']),
  ])
  checkout.setFault({ errorRatio: 0.5 })
  const r = await actingRollguard(t, {
    fake,
    prometheusUrl: vm.url,
    alertmanagerUrl: am.url,
    rules: defaultRulesFast(dir),
    run: 'victoria-metrics',
  })
  const rolledBack = await r.decided('rolled_back')
  t.match(rolledBack, { alert: { name: 'HighErrorRate' }, workload: { namespace: 'shop', name: 'checkout' } })
  await r.decided('verified')
  t.equal(rollbackPatches(fake).length, 1, 'exactly one rollback patch')
  t.equal(image(fake.get('deployments', 'shop', 'checkout')), 'shop/checkout:1', 'revision 1 restored')
})

t.test(
  'rollguard doctor against VictoriaMetrics: healthy; a latency offset hiding recent data is a warning',
  async t => {
    const [checkout] = await services(t, ['checkout'])
    if (!checkout) throw new Error('service did not start')
    const [vm, lagging, am, cluster] = await Promise.all([
      victoriaMetrics(t, [checkout]),
      victoriaMetrics(t, [checkout], { latencyOffset: '30s' }),
      alertmanager(t),
      kube(t, rbacDoc(NAMESPACED_RBAC)),
    ])
    // The rule checks need rates, which need two scrapes inside the window.
    await eventually('rates of http_requests_total in VictoriaMetrics', async () => {
      const q = encodeURIComponent('sum(rate(http_requests_total[1m]))')
      const body = await getJson<{ data?: { result?: unknown[] } }>(`${vm.url}/api/v1/query?query=${q}`)
      return (body.data?.result?.length ?? 0) > 0
    })
    const config = writeConfig(t, {
      probes: [
        {
          name: 'checkout-healthz',
          url: `${checkout.url}/healthz`,
          labels: { namespace: 'shop', deployment: 'checkout' },
        },
      ],
      actions: { mode: 'dry-run', allow: [{ namespace: 'shop' }] },
      kubernetes: { kubeconfig: cluster.kubeconfig, lease: { namespace: 'rollguard-system' } },
    })
    const shipped = join(process.cwd(), 'rules', 'rollback-triggers.yml')
    const args = ['--config', config, '--rules', shipped, '--alertmanager-url', am.url]
    const healthy = await doctor(args, { ROLLGUARD_PROMETHEUS_URL: vm.url })
    t.equal(healthy.code, 0, healthy.out)
    t.same(failures(healthy.out), [])
    t.match(
      healthy.out,
      `[ ok ] prometheus: Prometheus at ${vm.url} answers queries (version unknown: its /api/v1/status/buildinfo names none)`,
    )
    t.notMatch(healthy.out, /query-time/, 'queries are answered as of the time asked')
    for (const rule of ['HighErrorRate', 'HighLatency', 'HighMemory']) {
      t.match(healthy.out, new RegExp(`\\[ ok \\] rule-series: rule "${rule}" .*: all \\d selectors return series`))
      t.match(
        healthy.out,
        new RegExp(`\\[ ok \\] rule-targets: rule "${rule}" .*\\(1 series, e\\.g\\. Deployment shop/checkout\\)`),
      )
    }

    const late = await doctor(args, { ROLLGUARD_PROMETHEUS_URL: lagging.url })
    t.match(
      late.out,
      new RegExp(
        `\\[warn\\] query-time: Prometheus at ${lagging.url.replace(/\./g, '\\.')} answers a query for \\S+ as of (29|30|31)\\.\\d s before: every rule sees its data, and fires, that much late`,
      ),
    )
    t.match(late.out, /fix: on VictoriaMetrics this is -search\.latencyOffset/)
  },
)
