// The global brake across a change of leader: the leader keeps the rollbacks inside the brake's window on its Lease,
// and the next leader counts them from its first decision — also for workloads whose triggers have long resolved,
// which it would never read. Real Prometheus and Alertmanager, the shipped rules scaled down, two rollguard
// processes on the fake cluster; the leader is killed (no release).
import t from 'tap'
import { decodeLedger, LEDGER_ANNOTATION } from '../../src/actions/ledger.js'
import {
  alertmanager,
  defaultRulesFast,
  eventsOn,
  eventually,
  prometheus,
  rollbackPatches,
  services,
  shopCluster,
  sleep,
  tempDir,
} from '../fixtures/e2e.js'
import { actingReplicas, leaderLease, leaderOf } from '../fixtures/acting-replicas.js'

interface ActiveAlert {
  labels: Record<string, string>
  state: string
}

async function firingFor(url: string, deployment: string): Promise<boolean> {
  const res = await fetch(`${url}/api/v1/alerts`, { signal: AbortSignal.timeout(5_000) })
  const body = (await res.json()) as { data: { alerts: ActiveAlert[] } }
  return body.data.alerts.some(a => a.labels['deployment'] === deployment && a.state === 'firing')
}

t.test('a storm across a failover: the survivor counts the dead leader’s rollbacks toward the brake', async t => {
  const names = ['checkout', 'cart', 'payments']
  const dir = tempDir(t)
  const am = await alertmanager(t)
  const svcs = await services(t, names)
  const [checkout, cart, payments] = svcs
  if (!checkout || !cart || !payments) throw new Error('services did not start')
  const prom = await prometheus(t, svcs)
  const fake = await shopCluster(t, names)
  const rules = defaultRulesFast(dir)
  const replicas = await actingReplicas(t, {
    fake,
    identities: ['replica-a', 'replica-b'],
    prometheusUrl: prom.url,
    alertmanagerUrl: am.url,
    rules,
    run: 'brake-failover',
    // Separate failures here, not one outage: the brake is what is tested, not the correlation hold.
    actions: { global_brake: { count: 2, window: '1h' }, correlation: { enabled: false, settle: '0s' } },
  })
  const leader = await eventually('a leader', async () => leaderOf(fake))
  const survivor = [...replicas.keys()].find(id => id !== leader) ?? ''
  const survivorUrl = replicas.get(survivor)?.url ?? ''

  // Two bad deploys, two rollbacks: the brake (2 an hour) is now full.
  checkout.setFault({ errorRatio: 0.5 })
  cart.setFault({ errorRatio: 0.5 })
  await eventually(
    'both rolled back and verified by the leader',
    async () =>
      ['checkout', 'cart'].every(n =>
        eventsOn(fake, n).some(e => e.reason === 'RollbackVerified' && e.reportingInstance === leader),
      ),
    60_000,
  )
  // The rollbacks fixed them: the triggers resolve, so no replica reads those workloads again.
  checkout.setFault({ errorRatio: 0 })
  cart.setFault({ errorRatio: 0 })
  await eventually(
    'the triggers resolved',
    async () => !(await firingFor(survivorUrl, 'checkout')) && !(await firingFor(survivorUrl, 'cart')),
    60_000,
  )
  const recorded = await eventually('the rollbacks on the leader Lease', async () => {
    const ledger = decodeLedger(leaderLease(fake)?.metadata?.annotations?.[LEDGER_ANNOTATION])
    return Array.isArray(ledger) && ledger.length === 2 ? ledger : undefined
  })
  t.same(recorded.map(([w]) => w).sort(), ['Deployment/shop/cart', 'Deployment/shop/checkout'])
  replicas.get(leader)?.kill('SIGKILL')
  await eventually('the survivor leads', async () => leaderOf(fake) === survivor, 30_000)

  // A third bad deploy, now on the survivor's watch: the brake holds.
  payments.setFault({ errorRatio: 0.5 })
  await eventually(
    'RollbackBrake on payments, from the survivor',
    async () => eventsOn(fake, 'payments').some(e => e.reason === 'RollbackBrake' && e.reportingInstance === survivor),
    60_000,
  )
  await sleep(3_000)
  t.equal(rollbackPatches(fake).length, 2, 'two rollbacks in the hour, not three')
  t.match(replicas.get(survivor)?.log() ?? '', /counting the rollbacks the previous leader recorded on the Lease/)
  const metrics = await (await fetch(`${survivorUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })).text()
  t.match(metrics, /^rollguard_global_brake_rollbacks 2$/m, 'the survivor shows the brake full')
  t.match(metrics, /^rollguard_global_brake_limit 2$/m)
})
