// The links rollguard hands out lead somewhere real: the "Source" link (generatorURL) of alerts at Alertmanager
// opens the query in Prometheus (or the alert-source template), and /graph on rollguard redirects there.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { stringify } from 'yaml'
import { eventually, rollguard, tempDir, type Teardown } from './fixtures/e2e.js'
import { freePort } from '../src/demo/processes.js'

interface Posted {
  labels: Record<string, string>
  generatorURL?: string
}

/** fakeAlertmanager records the alerts POSTed to /api/v2/alerts. */
async function fakeAlertmanager(t: Teardown): Promise<{ url: string; alerts: Posted[] }> {
  const alerts: Posted[] = []
  const am = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString()))
    req.on('end', () => {
      if (req.url === '/api/v2/alerts') alerts.push(...(JSON.parse(body) as Posted[]))
      res.writeHead(200).end()
    })
  })
  await new Promise<void>(resolve => am.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => am.close(() => resolve())))
  return { url: `http://127.0.0.1:${(am.address() as AddressInfo).port}`, alerts }
}

/** setup writes a rule over rollguard's own probe series and a config with a probe that always fails. */
async function setup(t: Teardown, am: string): Promise<{ rules: string; config: string; closed: number }> {
  const dir = tempDir(t)
  const closed = await freePort()
  const rules = join(dir, 'probe.rules.yml')
  writeFileSync(
    rules,
    stringify({
      groups: [{ name: 'health', rules: [{ alert: 'ProbeFailing', expr: 'rollguard_probe_success == 0', for: '0s' }] }],
    }),
  )
  const config = join(dir, 'rollguard.yml')
  writeFileSync(
    config,
    stringify({
      alertmanager: { urls: [am] },
      probes: [
        {
          name: 'down',
          url: `http://127.0.0.1:${closed}/healthz`,
          interval: '200ms',
          timeout: '100ms',
          labels: { namespace: 'shop', deployment: 'checkout' },
        },
      ],
    }),
  )
  return { rules, config, closed }
}

t.test("generatorURL opens the expression in Prometheus's graph page; /graph on rollguard redirects there", async t => {
  const am = await fakeAlertmanager(t)
  const { rules, config, closed } = await setup(t, am.url)
  // The query URL is internal (unreachable here: probe rules never ask it); browsers reach Prometheus elsewhere.
  const daemon = await rollguard(t, {
    config,
    rules,
    'prometheus-url': `http://127.0.0.1:${closed}`,
    'prometheus-external-url': 'https://prometheus.example.com/prom/',
    'external-url': 'http://rollguard.example.com/',
    'eval-interval': '200ms',
  })
  const alert = await eventually('an alert at the Alertmanager', async () => am.alerts[0], 15_000)
  t.equal(
    alert.generatorURL,
    'https://prometheus.example.com/prom/graph?g0.expr=rollguard_probe_success+%3D%3D+0&g0.tab=1',
  )

  const res = await fetch(`${daemon.address}/graph?g0.expr=rate(x%5B5m%5D)&g0.tab=0&g0.range_input=1h`, {
    redirect: 'manual',
    signal: AbortSignal.timeout(5_000),
  })
  t.equal(res.status, 302)
  t.equal(
    res.headers.get('location'),
    'https://prometheus.example.com/prom/graph?g0.expr=rate(x%5B5m%5D)&g0.tab=0&g0.range_input=1h',
    'the query string untouched',
  )
  const bare = await fetch(`${daemon.address}/graph`, { redirect: 'manual', signal: AbortSignal.timeout(5_000) })
  t.equal(bare.status, 302)
  t.equal(bare.headers.get('location'), 'https://prometheus.example.com/prom/graph')
})

t.test("--alert-source-url: a template with the alert's labels; $externalURL has no trailing slash", async t => {
  const am = await fakeAlertmanager(t)
  const { rules, config, closed } = await setup(t, am.url)
  writeFileSync(
    rules,
    stringify({
      groups: [
        {
          name: 'health',
          rules: [
            {
              alert: 'ProbeFailing',
              expr: 'rollguard_probe_success == 0',
              annotations: { runbook: '{{ $externalURL }}/graph?g0.expr=up' },
            },
          ],
        },
      ],
    }),
  )
  await rollguard(t, {
    config,
    rules,
    'prometheus-url': `http://127.0.0.1:${closed}/`,
    'external-url': 'http://rollguard.example.com/rg/',
    'eval-interval': '200ms',
    'alert-source-url':
      'https://grafana.example.com/d/workload?var-namespace={{ .Labels.namespace }}&var-deployment={{ .Labels.deployment }}&var-alert={{ .AlertName | queryEscape }}',
  })
  const alert = await eventually(
    'an alert at the Alertmanager',
    async () => am.alerts[0] as (Posted & { annotations?: Record<string, string> }) | undefined,
    15_000,
  )
  t.equal(
    alert.generatorURL,
    'https://grafana.example.com/d/workload?var-namespace=shop&var-deployment=checkout&var-alert=ProbeFailing',
  )
  t.equal(
    alert.annotations?.['runbook'],
    'http://rollguard.example.com/rg/graph?g0.expr=up',
    'no // after the external URL',
  )
})
