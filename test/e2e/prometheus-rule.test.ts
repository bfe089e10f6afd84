// `rollguard run` with PrometheusRule objects as its rule file, against a real Prometheus and Alertmanager: two
// objects in one file, each with a group of the same name, evaluated as two groups; an alert fires and reaches
// Alertmanager; a reload (off the main thread) of the edited file brings the second object's new alert.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1'
import t from 'tap'
import { stringify } from 'yaml'
import { amAlerts } from '../../src/demo/stack.js'
import { alertmanager, eventually, getJson, prometheus, rollguard, services, tempDir } from '../fixtures/e2e.js'

type Rule = NonNullable<NonNullable<PrometheusRule['spec']['groups']>[number]['rules']>[number]

/** object is one PrometheusRule with a group "shop", checked against the operator's schema. */
function object(name: string, rules: Rule[]): string {
  const rule = new PrometheusRule({
    metadata: { name, namespace: 'monitoring', labels: { release: 'kube-prometheus-stack' } },
    spec: { groups: [{ name: 'shop', partial_response_strategy: 'warn', rules }] },
  })
  rule.validate()
  return stringify(rule.toJSON())
}

interface RulesResponse {
  data: { groups: Array<{ name: string; file: string; rules: Array<{ name: string; state: string; health: string }> }> }
}

t.test('PrometheusRule objects are evaluated, fire to Alertmanager and reload', async t => {
  const dir = tempDir(t)
  const [checkout] = await services(t, ['checkout'])
  if (!checkout) throw new Error('service did not start')
  const [prom, am] = await Promise.all([prometheus(t, [checkout]), alertmanager(t)])
  const file = join(dir, 'rules.yaml')
  const serving: Rule = {
    alert: 'CheckoutScraped',
    expr: 'count by (namespace) (up{namespace="shop"} == 1) > 0',
    labels: { severity: 'info' },
    annotations: { summary: '{{ $labels.namespace }} is scraped' },
  }
  const never: Rule = { alert: 'NeverFires', expr: 'up{namespace="shop"} == 2' }
  writeFileSync(file, `# Source: shop/templates/rules.yaml\n---\n${object('a', [serving])}---\n${object('b', [never])}`)

  const daemon = await rollguard(t, {
    'prometheus-url': prom.url,
    'alertmanager-url': am.url,
    rules: file,
    'eval-interval': '1s',
  })

  const groups = (await getJson<RulesResponse>(`${daemon.address}/api/v1/rules`)).data.groups
  t.same(
    groups.map(g => [g.name, g.file, g.rules.map(r => r.name)]),
    [
      ['shop', `${file}#monitoring/a`, ['CheckoutScraped']],
      ['shop', `${file}#monitoring/b`, ['NeverFires']],
    ],
    'one group per object, though their names are the same',
  )

  const fired = await eventually(
    'CheckoutScraped in Alertmanager',
    async () => {
      const alerts = await amAlerts(am.url, { matchers: { alertname: 'CheckoutScraped' } })
      return alerts.length > 0 ? alerts : undefined
    },
    60_000,
  )
  t.match(fired[0], {
    labels: { alertname: 'CheckoutScraped', namespace: 'shop', severity: 'info' },
    annotations: { summary: 'shop is scraped' },
  })
  t.same(await amAlerts(am.url, { matchers: { alertname: 'NeverFires' } }), [], 'the other object has nothing firing')

  // The second object gains an alert that fires: the reload reads the edited file in the loader thread.
  const second: Rule = { ...serving, alert: 'SecondObjectFires' }
  writeFileSync(file, `${object('a', [serving])}---\n${object('b', [never, second])}`)
  t.match(await daemon.reload(), { ok: true })
  await eventually(
    'SecondObjectFires in Alertmanager',
    async () => (await amAlerts(am.url, { matchers: { alertname: 'SecondObjectFires' } })).length > 0,
    60_000,
  )
  const after = (await getJson<RulesResponse>(`${daemon.address}/api/v1/rules`)).data.groups
  t.same(
    after.map(g => g.rules.map(r => r.name)),
    [['CheckoutScraped'], ['NeverFires', 'SecondObjectFires']],
  )

  // A broken object fails the reload with its position in the file, and the running rules stay.
  writeFileSync(file, `${object('a', [serving])}---\n${object('b', [{ alert: 'Broken', expr: 'up ==' }])}`)
  const failed = await daemon.reload()
  t.match(failed, {
    ok: false,
    error: new RegExp(
      `${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+:\\d+: PrometheusRule monitoring/b: group "shop", rule 1, "Broken": field 'expr'`,
    ),
  })
  const kept = (await getJson<RulesResponse>(`${daemon.address}/api/v1/rules`)).data.groups
  t.same(
    kept.map(g => g.rules.map(r => r.name)),
    [['CheckoutScraped'], ['NeverFires', 'SecondObjectFires']],
  )
})
