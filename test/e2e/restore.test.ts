// A restart in the middle of `for`: the alert state is rebuilt from the rule's own data, so the alert fires at its
// original time (activeAt + for), not `for` after the restart, and the actions decide once. Real Prometheus, the
// fake cluster; every wait bounded.
import t from 'tap'
import {
  actingRollguard,
  alertmanager,
  defaultRulesFast,
  eventually,
  getJson,
  prometheus,
  rollbackPatches,
  services,
  shopCluster,
  sleep,
  tempDir,
} from '../fixtures/e2e.js'

interface AlertsBody {
  data: { alerts: Array<{ labels: Record<string, string>; state: string; activeAt?: string }> }
}

const FOR_MS = 10_000

const highErrorRate = async (url: string) =>
  (await getJson<AlertsBody>(`${url}/api/v1/alerts`)).data.alerts.find(a => a.labels['alertname'] === 'HighErrorRate')

t.test('restart in the middle of for: fires at the original activeAt + for; one rollback', async t => {
  const dir = tempDir(t)
  const am = await alertmanager(t)
  const [checkout] = await services(t, ['checkout'])
  if (!checkout) throw new Error('service did not start')
  const prom = await prometheus(t, [checkout])
  const fake = await shopCluster(t, ['checkout'])
  const rules = defaultRulesFast(dir, { '2m': '10s', '5m': '10s' })
  const options = { fake, prometheusUrl: prom.url, alertmanagerUrl: am.url, rules, run: 'restore' }
  checkout.setFault({ errorRatio: 0.5 })

  const first = await actingRollguard(t, { ...options, identity: 'first' })
  const pending = await eventually('HighErrorRate pending', async () => {
    const a = await highErrorRate(first.daemon.address)
    return a?.state === 'pending' ? a : undefined
  })
  const activeAt = Date.parse(pending.activeAt ?? '')
  await sleep(Math.max(0, activeAt + FOR_MS / 2 - Date.now()))
  await first.stop()
  const restartedAt = Date.now()

  const second = await actingRollguard(t, { ...options, identity: 'second' })
  const restored = await eventually('HighErrorRate restored as pending or firing', async () => {
    const a = await highErrorRate(second.daemon.address)
    return a !== undefined ? a : undefined
  })
  t.ok(
    Math.abs(Date.parse(restored.activeAt ?? '') - activeAt) <= 1_000,
    `the original activeAt (${pending.activeAt} vs ${restored.activeAt})`,
  )
  const firing = await eventually(
    'HighErrorRate firing',
    async () => {
      const a = await highErrorRate(second.daemon.address)
      return a?.state === 'firing' ? Date.now() : undefined
    },
    30_000,
    100,
  )
  t.ok(
    firing <= activeAt + FOR_MS + 2_000,
    `fired ${firing - activeAt} ms after activeAt (for ${FOR_MS} ms, interval 1s)`,
  )
  t.ok(firing < restartedAt + FOR_MS, 'not a whole `for` after the restart')
  await second.decided('verified')
  t.equal(rollbackPatches(fake).length, 1, 'the action layer decided once')
  t.match(
    await (await fetch(`${second.daemon.address}/metrics`)).text(),
    /rollguard_rule_group_restores_total\{rule_group="[^"]+;rollback-triggers",result="restored"\} 1/,
  )
})
