// Every panel of dashboards/*.json returns data from a real Prometheus once a scenario has run: a sample service
// (a pod of the Deployment's current ReplicaSet) that degrades and is OOM-killed once, a real Prometheus scraping
// it, rollguard (honor_labels, as the ServiceMonitor in deploy/ does) and a kube-state-metrics stand-in serving the
// fake cluster's Deployment, ReplicaSets and their pods, a real Alertmanager, the fake Kubernetes API server, and
// rollguard in execute mode rolling back, receiving webhook notifications and reloading its config. Each panel query
// (and each annotation the scenario should draw) is run over the scenario's time range with Grafana's variables
// substituted; the cluster variable is "All", with no cluster label anywhere, like a single-cluster Prometheus.
// Every wait is bounded.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { stringify } from 'yaml'
import { Daemon } from '../../src/daemon.js'
import { freePort } from '../../src/demo/processes.js'
import { startSampleService } from '../../src/demo/sample-service.js'
import { startPrometheus } from '../../src/demo/stack.js'
import { alertmanager, checkoutCluster, defaultRulesFast, eventually, logSink, tempDir } from '../fixtures/e2e.js'
import { startKubeStateMetrics } from '../fixtures/kube-state-metrics.js'
import { writeKubeconfig } from '../fixtures/kubeconfig.js'

const ROOT = join(import.meta.dirname, '..', '..')

interface Panel {
  title?: string
  type: string
  targets?: { expr?: string; refId?: string }[]
  panels?: Panel[]
}
interface Dashboard {
  panels: Panel[]
  annotations?: { list: { name: string; expr?: string }[] }
}

function read(file: string): Dashboard {
  return JSON.parse(readFileSync(join(ROOT, 'dashboards', file), 'utf8')) as Dashboard
}

/** panelQueries lists every panel target of a dashboard file (rows included). */
function panelQueries(file: string): { where: string; expr: string }[] {
  const d = read(file)
  const out: { where: string; expr: string }[] = []
  const walk = (panels: readonly Panel[]) => {
    for (const p of panels) {
      for (const target of p.targets ?? [])
        if (target.expr) out.push({ where: `${file}: "${p.title}" ${target.refId ?? ''}`, expr: target.expr })
      walk(p.panels ?? [])
    }
  }
  walk(d.panels)
  return out
}

/** annotationQuery is the query of the named annotation of a dashboard file. */
function annotationQuery(file: string, name: string): { where: string; expr: string } {
  return {
    where: `${file}: annotation "${name}"`,
    expr: read(file).annotations?.list.find(a => a.name === name)?.expr ?? '',
  }
}

/** substitute fills Grafana's variables: the scenario's workload, every cluster/job/instance, a rate window for a 1s scrape. */
function substitute(expr: string, over: Record<string, string> = {}): string {
  const values: Record<string, string> = {
    cluster: '.*',
    namespace: 'shop',
    deployment: 'checkout',
    job: '.+',
    instance: '.+',
    __rate_interval: '5s',
    __interval: '1s',
    __range: '5m',
    ...over,
  }
  return expr.replace(/\$\{?(\w+)\}?/g, (all, name: string) => values[name] ?? all)
}

interface RangeResult {
  status: string
  data?: { result: unknown[] }
  error?: string
}

t.test('every dashboard panel returns data after a rollback scenario', async t => {
  const dir = tempDir(t)
  // shop/checkout at revision 2 (2 replicas); the sample service is one of its pods, as kube-state-metrics reports them.
  const fake = await checkoutCluster(t)
  const ksm = await startKubeStateMetrics(fake, ['shop'])
  t.teardown(() => ksm.close())
  const pods = ksm.pods('shop')
  t.equal(pods.length, 2, "the current ReplicaSet's two pods")
  const pod = pods[0]
  if (pod === undefined) throw new Error('no pod')
  t.match(pod.name, /^checkout-[a-z0-9]{5,10}-[a-z0-9]{5}$/, 'pod names as the rules and the dashboards parse them')
  const checkout = await startSampleService({ namespace: 'shop', deployment: 'checkout', pod: pod.name })
  t.teardown(() => checkout.stop())
  const am = await alertmanager(t)
  const port = await freePort()
  const prom = await startPrometheus({
    scrapeInterval: '1s',
    scrapeTargets: [
      {
        job: 'sample',
        target: new URL(checkout.url).host,
        labels: { namespace: checkout.namespace, pod: checkout.pod },
        honorLabels: true,
      },
      { job: 'rollguard', target: `127.0.0.1:${port}`, honorLabels: true },
      { job: 'kube-state-metrics', target: ksm.target, honorLabels: true },
    ],
  })
  t.teardown(() => prom.stop())

  const token = join(dir, 'webhook-token')
  writeFileSync(token, 'panel-test-token\n')
  const config = join(dir, 'rollguard.yml')
  writeFileSync(
    config,
    stringify({
      probes: [
        {
          name: 'checkout-healthz',
          url: `${checkout.url}/healthz`,
          interval: '1s',
          timeout: '500ms',
          labels: { namespace: 'shop', deployment: 'checkout' },
        },
      ],
      actions: {
        mode: 'execute',
        allow: [{ namespace: 'shop' }],
        verify_timeout: '30s',
        correlation: { settle: '1s' },
      },
      kubernetes: {
        kubeconfig: writeKubeconfig(dir, fake),
        lease: { namespace: 'rollguard-system', lease_duration: '3s', renew_deadline: '2s', retry_period: '500ms' },
      },
      webhook: { auth: { bearer_token_file: token } },
    }),
  )
  const log = logSink()
  const flags = new Map<string, string[]>(
    Object.entries({
      config,
      listen: `127.0.0.1:${port}`,
      'prometheus-url': prom.url,
      'alertmanager-url': am.url,
      rules: defaultRulesFast(dir),
      'eval-interval': '1s',
      'resend-delay': '2s',
      'web.enable-lifecycle': 'true',
    }).map(([k, v]) => [k, [v]]),
  )
  const started = Date.now()
  const daemon = await Daemon.start(
    { flags, env: {}, cwd: process.cwd() },
    { version: 'test', logger: log.logger, actions: { verifyPollMs: 100 } },
  )
  t.teardown(() => daemon.stop())

  // Scenario: the service degrades → HighErrorRate fires → rollback, verified; webhook requests; a reload.
  await eventually(
    'Prometheus scrapes rollguard',
    async () => {
      const r = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent('up{job="rollguard"} == 1')}`)
      return ((await r.json()) as RangeResult).data?.result.length ? true : undefined
    },
    30_000,
  )
  checkout.setFault({ errorRatio: 0.5 })
  // The new revision's container is OOM-killed and restarted once, as the kubelet would report it.
  ksm.setContainerState('shop', pod.name, checkout.container, { restarts: 1, lastTerminatedReason: 'OOMKilled' })
  await eventually(
    'the rollback to be verified',
    async () => daemon.actions?.recentDecisions().find(d => d.kind === 'verified'),
    60_000,
  )
  const webhook = `http://127.0.0.1:${port}/api/v1/webhook/alertmanager`
  const payload = {
    version: '4',
    status: 'firing',
    receiver: 'rollguard',
    groupKey: '{}:{}',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: am.url,
    truncatedAlerts: 0,
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'Unrelated' },
        annotations: {},
        startsAt: new Date().toISOString(),
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: '',
        fingerprint: '0123456789abcdef',
      },
    ],
  }
  for (const auth of ['Bearer panel-test-token', 'Bearer wrong']) {
    const res = await fetch(webhook, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    })
    await res.arrayBuffer()
  }
  const reload = await fetch(`http://127.0.0.1:${port}/-/reload`, { method: 'POST' })
  await reload.arrayBuffer()
  t.equal(reload.status, 200, 'reloaded over HTTP (--web.enable-lifecycle)')
  // Two more scrapes and a full rate window after the last event.
  await new Promise(resolve => setTimeout(resolve, 8_000))

  const end = Date.now() / 1000
  const start = started / 1000 - 5
  const queries = [...panelQueries('deploy-watch.json'), ...panelQueries('rollguard-overview.json')]
  t.ok(queries.length >= 40, `${queries.length} panel queries`)
  const range = async (expr: string): Promise<RangeResult> => {
    const params = new URLSearchParams({ query: expr, start: String(start), end: String(end), step: '1' })
    const res = await fetch(`${prom.url}/api/v1/query_range`, { method: 'POST', body: params })
    return (await res.json()) as RangeResult
  }
  for (const q of queries) {
    const body = await range(substitute(q.expr))
    t.equal(body.status, 'success', `${q.where}: the query runs${body.error ? ` (${body.error})` : ''}`)
    t.ok((body.data?.result.length ?? 0) > 0, `${q.where}: returns data`)
  }

  // The annotations of what happened: the deploy (revision 2's ReplicaSet), the rollback's spec change, and the
  // rollback and its verification, on checkout's view and on the overview, not on another Deployment's view.
  const annotations = [
    annotationQuery('deploy-watch.json', 'Deploys (new ReplicaSet)'),
    annotationQuery('deploy-watch.json', 'Deployment spec changes'),
    annotationQuery('deploy-watch.json', 'Rollbacks'),
    annotationQuery('deploy-watch.json', 'Rollbacks verified'),
    annotationQuery('rollguard-overview.json', 'Rollbacks'),
    annotationQuery('rollguard-overview.json', 'Rollbacks verified'),
  ]
  for (const q of annotations) {
    const body = await range(substitute(q.expr))
    t.equal(body.status, 'success', `${q.where}: the query runs${body.error ? ` (${body.error})` : ''}`)
    t.ok((body.data?.result.length ?? 0) > 0, `${q.where}: returns data`)
  }
  for (const name of ['Rollbacks', 'Rollbacks verified']) {
    const q = annotationQuery('deploy-watch.json', name)
    const body = await range(substitute(q.expr, { deployment: 'cart' }))
    t.same(body.data?.result, [], `${q.where}: nothing on another Deployment's view`)
  }
})
