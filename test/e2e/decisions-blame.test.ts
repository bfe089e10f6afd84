// Whom to blame: end to end with real Prometheus and Alertmanager, the shipped rules (durations scaled down) and the
// fake cluster, the situations where an on-call engineer would NOT roll back — a fault that was there before the
// rollout, an operator who already rolled back by hand, too little traffic to judge. Every wait is bounded.
import t from 'tap'
import { startSampleService } from '../../src/demo/sample-service.js'
import {
  actingRollguard,
  alertmanager,
  defaultRulesFast,
  deployImage,
  eventually,
  getJson,
  image,
  prometheus,
  rollbackPatches,
  services,
  shopCluster,
  sleep,
  tempDir,
} from '../fixtures/e2e.js'
import { kubectlUndo } from '../fixtures/kube/index.js'

interface AlertsBody {
  data: { alerts: Array<{ labels: Record<string, string>; state: string; activeAt?: string }> }
}

const alertState = async (url: string, name: string) =>
  (await getJson<AlertsBody>(`${url}/api/v1/alerts`)).data.alerts.find(a => a.labels['alertname'] === name)

t.test('deciding whom to blame', async t => {
  const am = await alertmanager(t)

  await t.test('a fault that began before the rollout: not blamed on it (fault_predates_rollout)', async t => {
    const dir = tempDir(t)
    const [checkout] = await services(t, ['checkout'])
    if (!checkout) throw new Error('service did not start')
    const prom = await prometheus(t, [checkout])
    // Only revision 1 runs when the fault starts; `for` long enough to deploy revision 2 while it is pending.
    const fake = await shopCluster(t, ['checkout'], { deploy: false })
    checkout.setFault({ errorRatio: 0.4 })
    const r = await actingRollguard(t, {
      fake,
      prometheusUrl: prom.url,
      alertmanagerUrl: am.url,
      run: 'predates',
      rules: defaultRulesFast(dir, { '2m': '10s', '5m': '10s' }),
      actions: { fault_onset_tolerance: '1s' },
    })
    const pending = await eventually('HighErrorRate pending on revision 1', async () => {
      const a = await alertState(r.daemon.address, 'HighErrorRate')
      return a?.state === 'pending' ? a : undefined
    })
    await sleep(3_000)
    await deployImage(fake, 'checkout', 'shop/checkout:2')
    const held = await r.decided('skipped', 'fault_predates_rollout')
    t.match(held.message, /condition holds since .* before revision 2 of Deployment shop\/checkout became current at/)
    t.ok(Date.parse(pending.activeAt ?? '') < Date.now(), 'the onset is the alert activeAt rollguard reports')
    t.equal(rollbackPatches(fake).length, 0, 'revision 2 is not rolled back for a fault that revision 1 had')
    t.equal(image(fake.get('deployments', 'shop', 'checkout')), 'shop/checkout:2')
  })

  await t.test(
    'an operator already rolled back by hand: rollguard does not undo the undo (current_is_rollback)',
    async t => {
      const dir = tempDir(t)
      const [checkout] = await services(t, ['checkout'])
      if (!checkout) throw new Error('service did not start')
      const prom = await prometheus(t, [checkout])
      const fake = await shopCluster(t, ['checkout'])
      const r = await actingRollguard(t, {
        fake,
        prometheusUrl: prom.url,
        alertmanagerUrl: am.url,
        run: 'manual',
        rules: defaultRulesFast(dir),
      })
      // Revision 2 fails; the operator is quicker than `for`: kubectl rollout undo (revision 1's template, now revision 3).
      checkout.setFault({ errorRatio: 0.5 })
      await kubectlUndo(fake, 'shop', 'checkout')
      t.equal(image(fake.get('deployments', 'shop', 'checkout')), 'shop/checkout:1')
      fake.log.length = 0
      // The error window still holds revision 2's errors, so the trigger fires on the restored revision.
      const held = await r.decided('skipped', 'current_is_rollback')
      t.match(
        held.message,
        /revision 3 of Deployment shop\/checkout re-applied an older template by kubectl \(ReplicaSet .* \(revision 3\) was revision 1 before\)/,
      )
      t.equal(rollbackPatches(fake).length, 0, 'no PATCH: the bad image does not go back into production')
      t.equal(image(fake.get('deployments', 'shop', 'checkout')), 'shop/checkout:1')
    },
  )

  await t.test('too little traffic to judge: 100% errors on a request every 5 s never fires', async t => {
    const dir = tempDir(t)
    const checkout = await startSampleService({
      namespace: 'shop',
      deployment: 'checkout',
      requestsPerSecond: 0.2,
      fault: { errorRatio: 1 },
    })
    t.teardown(() => checkout.stop())
    const prom = await prometheus(t, [checkout])
    const fake = await shopCluster(t, ['checkout'])
    const r = await actingRollguard(t, {
      fake,
      prometheusUrl: prom.url,
      alertmanagerUrl: am.url,
      run: 'lowtraffic',
      rules: defaultRulesFast(dir),
    })
    // Prove the data is there: every request fails, Prometheus sees it.
    await eventually('failing requests in Prometheus', async () => {
      const body = await getJson<{ data: { result: Array<{ value: [number, string] }> } }>(
        `${prom.url}/api/v1/query?query=${encodeURIComponent('sum(increase(http_requests_total{code=~"5.."}[1m])) / sum(increase(http_requests_total[1m]))')}`,
      )
      return body.data.result[0]?.value[1] === '1'
    })
    // Far longer than `for` (3s) plus the settle: nothing may fire.
    await sleep(12_000)
    t.equal(
      await alertState(r.daemon.address, 'HighErrorRate'),
      undefined,
      'HighErrorRate is neither pending nor firing',
    )
    t.same(r.decisions(), [], 'no decision at all')
    t.equal(rollbackPatches(fake).length, 0)
  })
})
