// rollguard against failing neighbours: Prometheus unreachable, Alertmanager down for a while, a bad
// reload, and a fault shorter than `for`. Real Prometheus and Alertmanager; every wait bounded.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort } from '../../src/demo/processes.js'
import { amAlerts, startAlertmanager, startPrometheus } from '../../src/demo/stack.js'
import {
  alertmanager,
  defaultRulesFast,
  eventually,
  getJson,
  logSink,
  prometheus,
  rollguard,
  services,
  sleep,
  tempDir,
} from '../fixtures/e2e.js'

interface RulesBody {
  data: {
    groups: Array<{ name: string; rules: Array<{ name: string; health: string; lastError?: string; state: string }> }>
  }
}
interface AlertsBody {
  data: { alerts: Array<{ labels: Record<string, string>; state: string }> }
}

const ALWAYS = `groups:
  - name: always
    rules:
      - alert: AlwaysFiring
        expr: vector(1) > 0
        labels: { severity: info }
`

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text()
  const line = text.split('\n').find(l => l.startsWith(name))
  return line === undefined ? Number.NaN : Number(line.split(' ').at(-1))
}

t.test('Prometheus unreachable: no alert, no crash, health err; recovery once it is back', async t => {
  const dir = tempDir(t)
  const rules = join(dir, 'always.yml')
  writeFileSync(rules, ALWAYS)
  const am = await alertmanager(t)
  const port = await freePort()
  const log = logSink()
  const token = join(dir, 'token')
  writeFileSync(token, 'sup3r-s3cret-t0ken\n')
  const daemon = await rollguard(
    t,
    {
      'prometheus-url': `http://127.0.0.1:${port}`,
      'alertmanager-url': am.url,
      rules,
      'eval-interval': '1s',
      'prometheus-timeout': '1s',
      'prometheus-bearer-token-file': token,
    },
    log,
  )
  const rule = await eventually('rule health err', async () => {
    const body = await getJson<RulesBody>(`${daemon.address}/api/v1/rules`)
    const r = body.data.groups[0]?.rules[0]
    return r?.health === 'err' ? r : undefined
  })
  t.match(rule.lastError, /connection|ECONNREFUSED/, 'lastError says why')
  await sleep(2_000)
  t.same((await getJson<AlertsBody>(`${daemon.address}/api/v1/alerts`)).data.alerts, [], 'no alert without data')
  t.same(await amAlerts(am.url), [], 'nothing sent to Alertmanager')
  t.equal((await fetch(`${daemon.address}/-/healthy`)).status, 200, 'the daemon is alive')
  t.ok((await metric(daemon.address, 'rollguard_rule_evaluation_failures_total')) >= 1, 'failures counted')
  t.equal(
    log.lines().filter(l => l.msg === 'rule evaluation failed').length,
    1,
    'logged once per health change, not every evaluation',
  )

  const prom = await startPrometheus({ port, scrapeInterval: '1s', scrapeTargets: [] })
  t.teardown(() => prom.stop())
  await eventually('the alert in Alertmanager after recovery', async () =>
    (await amAlerts(am.url)).find(a => a.labels.alertname === 'AlwaysFiring'),
  )
  const healed = await getJson<RulesBody>(`${daemon.address}/api/v1/rules`)
  t.equal(healed.data.groups[0]?.rules[0]?.health, 'ok')
  t.equal(healed.data.groups[0]?.rules[0]?.lastError, undefined)
  t.ok(log.lines().some(l => l.msg === 'rule evaluation recovered'))
  t.notMatch(log.text(), 'sup3r-s3cret-t0ken', 'the credential never reaches the logs')
  t.notMatch(JSON.stringify(healed), 'sup3r-s3cret-t0ken')
})

t.test('Alertmanager down for a while: the firing alert arrives after it returns', async t => {
  const dir = tempDir(t)
  const rules = join(dir, 'always.yml')
  writeFileSync(rules, ALWAYS)
  const prom = await startPrometheus({ scrapeInterval: '1s', scrapeTargets: [] })
  t.teardown(() => prom.stop())
  const amPort = await freePort()
  const daemon = await rollguard(t, {
    'prometheus-url': prom.url,
    'alertmanager-url': `http://127.0.0.1:${amPort}`,
    rules,
    'eval-interval': '1s',
    'resend-delay': '2s',
    'alertmanager-timeout': '1s',
  })
  await eventually('firing in rollguard', async () =>
    (await getJson<AlertsBody>(`${daemon.address}/api/v1/alerts`)).data.alerts.some(a => a.state === 'firing'),
  )
  await eventually(
    'failed notifications counted',
    async () => (await metric(daemon.address, 'rollguard_notifications_errors_total')) >= 1,
  )
  await sleep(3_000)
  const am = await startAlertmanager({ port: amPort })
  t.teardown(() => am.stop())
  const alert = await eventually(
    'the alert in the returned Alertmanager',
    async () => (await amAlerts(am.url)).find(a => a.labels.alertname === 'AlwaysFiring'),
    20_000,
  )
  t.equal(alert.labels.severity, 'info')
  t.ok(Date.parse(alert.endsAt) > Date.now(), 'endsAt lies ahead: the alert is firing')
})

t.test('a reload with a bad rule file keeps the last good rules', async t => {
  const dir = tempDir(t)
  const rules = join(dir, 'rules.yml')
  writeFileSync(rules, ALWAYS)
  const prom = await startPrometheus({ scrapeInterval: '1s', scrapeTargets: [] })
  t.teardown(() => prom.stop())
  const log = logSink()
  const daemon = await rollguard(
    t,
    { 'prometheus-url': prom.url, rules, 'eval-interval': '1s', 'web.enable-lifecycle': 'true' },
    log,
  )
  await eventually('first evaluation', async () => (await fetch(`${daemon.address}/-/ready`)).status === 200)

  writeFileSync(rules, ALWAYS.replace('expr: vector(1) > 0', 'expr: vector(1) >\n        for: 1.5m'))
  const res = await fetch(`${daemon.address}/-/reload`, { method: 'POST', signal: AbortSignal.timeout(10_000) })
  t.equal(res.status, 500)
  const body = await res.text()
  t.match(body, /rules\.yml:\d+:\d+/, 'the error names file:line:col')
  const kept = await getJson<RulesBody>(`${daemon.address}/api/v1/rules`)
  t.same(
    kept.data.groups.map(g => g.rules.map(r => r.name)),
    [['AlwaysFiring']],
    'old rules still loaded',
  )
  t.equal(await metric(daemon.address, 'rollguard_config_last_reload_successful'), 0)
  t.ok(log.lines().some(l => l.msg === 'reload failed, keeping the previous configuration and rules'))
  await sleep(1_500)
  t.equal(
    (await getJson<RulesBody>(`${daemon.address}/api/v1/rules`)).data.groups[0]?.rules[0]?.health,
    'ok',
    'still evaluating',
  )

  writeFileSync(rules, ALWAYS.replace('AlwaysFiring', 'RenamedAlert'))
  t.same(await daemon.reload(), { ok: true }, 'the SIGHUP path reloads the fixed file')
  const renamed = await getJson<RulesBody>(`${daemon.address}/api/v1/rules`)
  t.same(
    renamed.data.groups[0]?.rules.map(r => r.name),
    ['RenamedAlert'],
  )
  t.equal(await metric(daemon.address, 'rollguard_config_last_reload_successful'), 1)
})

t.test('a fault shorter than `for` never fires', async t => {
  const dir = tempDir(t)
  const [svc] = await services(t, ['blip'])
  if (svc === undefined) throw new Error('no service')
  const [prom, am] = await Promise.all([prometheus(t, [svc]), alertmanager(t)])
  const rules = defaultRulesFast(dir, { '2m': '12s', '5m': '12s' })
  const daemon = await rollguard(t, {
    'prometheus-url': prom.url,
    'alertmanager-url': am.url,
    rules,
    'eval-interval': '1s',
  })
  await eventually('rules evaluated', async () => {
    const body = await getJson<RulesBody>(`${daemon.address}/api/v1/rules`)
    return body.data.groups[0]?.rules.every(r => r.health === 'ok')
  })
  svc.setFault({ errorRatio: 0.5 })
  await eventually('HighErrorRate pending', async () =>
    (await getJson<AlertsBody>(`${daemon.address}/api/v1/alerts`)).data.alerts.find(
      a => a.labels.alertname === 'HighErrorRate',
    ),
  )
  svc.clearFault()
  // The 5s rate window keeps the ratio up for about 5s after the fault; `for` is 12s.
  let sawFiring = false
  const until = Date.now() + 15_000
  while (Date.now() < until) {
    const alerts = (await getJson<AlertsBody>(`${daemon.address}/api/v1/alerts`)).data.alerts
    if (alerts.some(a => a.state === 'firing')) sawFiring = true
    await sleep(500)
  }
  t.notOk(sawFiring, 'never firing in rollguard')
  t.same(await amAlerts(am.url), [], 'nothing in Alertmanager')
  t.same(
    (await getJson<AlertsBody>(`${daemon.address}/api/v1/alerts`)).data.alerts,
    [],
    'the pending alert was dropped',
  )
})
