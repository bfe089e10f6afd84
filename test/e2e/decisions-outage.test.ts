// When rolling back is not the fix: several workloads failing together (a shared cause), and a rollback to a
// revision that is bad too — also when the leader that rolled back dies before it can say so, for its own rules'
// triggers and for Alertmanager's. Real Prometheus and Alertmanager, the shipped rules scaled down, the fake cluster.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { amAlerts, startPrometheus } from '../../src/demo/stack.js'
import { DEFAULT_WEBHOOK_PATH } from '../../src/webhook/config.js'
import { decodeRollbackRecord, ROLLBACK_ANNOTATION } from '../../src/actions/record.js'
import {
  actingRollguard,
  alertmanager,
  defaultRulesFast,
  eventsOn,
  eventually,
  prometheus,
  rollbackPatches,
  rollbackRoute,
  sampleTargets,
  services,
  shopCluster,
  sleep,
  tempDir,
} from '../fixtures/e2e.js'
import { actingReplicas, killLeaderAfter, leaderOf } from '../fixtures/acting-replicas.js'
import type { FakeKube } from '../fixtures/kube/index.js'
import type { RollguardProcess } from '../fixtures/rollguard-process.js'

const recordOf = (fake: FakeKube) =>
  decodeRollbackRecord(
    (fake.get('deployments', 'shop', 'checkout') as { metadata: { annotations?: Record<string, string> } }).metadata
      .annotations?.[ROLLBACK_ANNOTATION],
  )

/**
 * killAfterVerification kills the leader right after the API server stored its verification in the record (the
 * merge patch after the rollback), inside the effectiveness window.
 */
const killAfterVerification = (fake: FakeKube, replicas: () => ReadonlyMap<string, RollguardProcess>) =>
  killLeaderAfter(
    fake,
    replicas,
    { verb: 'patch', resource: 'deployments' },
    entry => entry.contentType === 'application/merge-patch+json' && entry.status === 200,
  )

/**
 * expectSurvivorVerdict: the dead leader verified one rollback; the survivor reports it ineffective (the 15 s window
 * counted from that verification), writes the verdict into the record, says why in its log, and nobody reports it
 * again or rolls back further.
 */
async function expectSurvivorVerdict(
  t: Test,
  fake: FakeKube,
  replicas: ReadonlyMap<string, RollguardProcess>,
  kill: { killed(): string | undefined },
): Promise<void> {
  const killed = await eventually(
    'the verification in the record, and its writer killed',
    async () => kill.killed(),
    60_000,
  )
  const survivor = [...replicas.keys()].find(id => id !== killed) ?? ''
  const verified = recordOf(fake)?.verified
  t.type(verified, 'number', 'the dead leader verified the rollback')
  await eventually(
    'RollbackIneffective from the survivor',
    async () =>
      eventsOn(fake, 'checkout').find(e => e.reason === 'RollbackIneffective' && e.reportingInstance === survivor),
    60_000,
  )
  t.match(recordOf(fake)?.judged, { effective: false }, 'the verdict is in the record')
  t.ok((recordOf(fake)?.judged?.at ?? 0) >= (verified ?? Infinity) + 15_000, 'after the window, from the verification')
  t.match(replicas.get(survivor)?.log() ?? '', /has no effectiveness verdict yet/, 'the survivor says why')
  await sleep(4_000)
  t.equal(eventsOn(fake, 'checkout').filter(e => e.reason === 'RollbackIneffective').length, 1, 'one verdict')
  t.equal(rollbackPatches(fake).length, 1, 'exactly one rollback: no second one onto an older revision')
}

const metrics = async (url: string) => (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text()

t.test('outages and bad history', async t => {
  const am = await alertmanager(t)

  await t.test(
    'four workloads failing together: none rolled back (at most one), one RollbackHeldCorrelated alert',
    async t => {
      const names = ['cart', 'checkout', 'payments', 'search']
      const dir = tempDir(t)
      const svcs = await services(t, names)
      const prom = await prometheus(t, svcs)
      const fake = await shopCluster(t, names)
      const r = await actingRollguard(t, {
        fake,
        prometheusUrl: prom.url,
        alertmanagerUrl: am.url,
        run: 'outage',
        rules: defaultRulesFast(dir),
        // Scaled down like the rules: triggers of one outage fire within an evaluation or two of each other.
        actions: { correlation: { settle: '4s', window: '1m' } },
      })
      // A shared dependency dies: every service fails at once.
      for (const s of svcs) s.setFault({ errorRatio: 0.5 })
      const alert = await eventually(
        'RollbackHeldCorrelated in Alertmanager',
        async () => {
          const alerts = await amAlerts(am.url, { matchers: { alertname: 'RollbackHeldCorrelated', run: 'outage' } })
          return alerts.find(a => (a.annotations['workloads'] ?? '').split(', ').length >= 3)
        },
        45_000,
      )
      t.match(alert, {
        labels: { severity: 'critical', scope: 'cluster', namespace: 'shop' },
        annotations: { workloads: /Deployment shop\/checkout/ },
      })
      await eventually(
        'every workload held',
        async () =>
          new Set(
            r
              .decisions()
              .filter(d => d.kind === 'held')
              .map(d => d.workload?.name),
          ).size >= 3,
      )
      await sleep(3_000)
      const held = r.decisions().filter(d => d.kind === 'held')
      t.ok(
        held.every(
          d =>
            d.reason === 'correlated_failure' &&
            /workloads .* have rollback triggers that went firing within 1m/.test(d.message),
        ),
      )
      t.ok(rollbackPatches(fake).length <= 1, `at most one rollback slipped through (${rollbackPatches(fake).length})`)
      t.equal(rollbackPatches(fake).length, 0, 'with the settle delay covering the spread, none did')
      const firing = await amAlerts(am.url, { matchers: { alertname: 'RollbackHeldCorrelated', run: 'outage' } })
      t.equal(firing.length, 1, 'one alert for the outage, not one per workload')
      await eventually('Warning events on the held workloads', async () =>
        held.every(d =>
          eventsOn(fake, d.workload?.name ?? '').some(
            e => e.reason === 'RollbackHeldCorrelated' && e.type === 'Warning',
          ),
        ),
      )
    },
  )

  await t.test('the previous revision is bad too: one rollback, then RollbackIneffective, never a second', async t => {
    const dir = tempDir(t)
    const [checkout] = await services(t, ['checkout'])
    if (!checkout) throw new Error('service did not start')
    const prom = await prometheus(t, [checkout])
    const fake = await shopCluster(t, ['checkout'])
    const r = await actingRollguard(t, {
      fake,
      prometheusUrl: prom.url,
      alertmanagerUrl: am.url,
      run: 'ineffective',
      rules: defaultRulesFast(dir),
    })
    // The fault stays whatever the revision: rolling back does not help.
    checkout.setFault({ errorRatio: 0.5 })
    await r.decided('verified')
    const ineffective = await r.decided('ineffective', 'still_firing', 45_000)
    t.match(ineffective, {
      fromRevision: 2,
      toRevision: 1,
      message: /rolled back from revision 2 to 1 .* but HighErrorRate still fires \(value 0\.\d+\)/,
    })
    const alert = await eventually(
      'RollbackIneffective in Alertmanager',
      async () => (await amAlerts(am.url, { matchers: { alertname: 'RollbackIneffective', run: 'ineffective' } }))[0],
    )
    t.match(alert, {
      labels: { severity: 'critical', workload: 'checkout' },
      annotations: { from_revision: '2', to_revision: '1', value: /^0\.\d+/ },
    })
    await eventually('a Warning event on the workload', async () =>
      eventsOn(fake, 'checkout').some(e => e.reason === 'RollbackIneffective' && e.type === 'Warning'),
    )
    t.match(
      await metrics(r.daemon.address),
      /rollguard_rollbacks_total\{result="ineffective",reason="still_firing",workload_namespace="shop",kind="Deployment",workload="checkout"\} 1/,
    )
    await sleep(4_000)
    t.equal(rollbackPatches(fake).length, 1, 'exactly one rollback: no second one onto an older revision')
    t.equal(r.decisions().filter(d => d.kind === 'rolled_back').length, 1)
  })

  await t.test(
    'the leader dies right after verifying a rollback to a bad revision: the survivor reports it ineffective, once',
    async t => {
      const dir = tempDir(t)
      const [checkout] = await services(t, ['checkout'])
      if (!checkout) throw new Error('service did not start')
      const prom = await prometheus(t, [checkout])
      const fake = await shopCluster(t, ['checkout'])
      const rules = defaultRulesFast(dir)
      let replicas = new Map<string, RollguardProcess>()
      const kill = killAfterVerification(fake, () => replicas)
      replicas = await actingReplicas(t, {
        fake,
        identities: ['replica-a', 'replica-b'],
        prometheusUrl: prom.url,
        alertmanagerUrl: am.url,
        rules,
        run: 'ineffective-failover',
        actions: { effectiveness_window: '15s' },
      })
      await eventually('a leader', async () => leaderOf(fake))
      // The fault stays whatever the revision: rolling back does not help.
      checkout.setFault({ errorRatio: 0.5 })
      await expectSurvivorVerdict(t, fake, replicas, kill)
      const alert = await eventually(
        'RollbackIneffective in Alertmanager',
        async () =>
          (await amAlerts(am.url, { matchers: { alertname: 'RollbackIneffective', run: 'ineffective-failover' } }))[0],
      )
      t.match(alert, { labels: { workload: 'checkout' }, annotations: { from_revision: '2', to_revision: '1' } })
    },
  )

  await t.test(
    "webhook triggers: the leader dies right after verifying; Alertmanager's next notification reaches the survivor, which reports it ineffective",
    async t => {
      const dir = tempDir(t)
      const [checkout] = await services(t, ['checkout'])
      if (!checkout) throw new Error('service did not start')
      const fake = await shopCluster(t, ['checkout'])
      const webhookAm = await alertmanager(t)
      // Prometheus's own rule manager evaluates the shipped triggers; the replicas have no rules of their own.
      const prom = await startPrometheus({
        scrapeInterval: '1s',
        scrapeTargets: sampleTargets([checkout]),
        ruleFiles: [defaultRulesFast(dir)],
        alertmanagerUrls: [webhookAm.url],
      })
      t.teardown(() => prom.stop())
      const noRules = join(dir, 'no-rules.yml')
      writeFileSync(noRules, 'groups: []\n')
      let replicas = new Map<string, RollguardProcess>()
      const kill = killAfterVerification(fake, () => replicas)
      replicas = await actingReplicas(t, {
        fake,
        identities: ['replica-a', 'replica-b'],
        prometheusUrl: prom.url,
        alertmanagerUrl: webhookAm.url,
        rules: noRules,
        run: 'ineffective-webhook-failover',
        actions: { effectiveness_window: '15s' },
        webhook: { insecure_no_auth: true },
      })
      // Every replica is a webhook of the receiver (as a headless Service's endpoints would be): the follower
      // answers 503, the leader acts.
      await webhookAm.reload(rollbackRoute([...replicas.values()].map(r => `${r.url}${DEFAULT_WEBHOOK_PATH}`)))
      await eventually('a leader', async () => leaderOf(fake))
      checkout.setFault({ errorRatio: 0.5 })
      await expectSurvivorVerdict(t, fake, replicas, kill)
      t.match(recordOf(fake)?.triggers?.[0], /^[0-9a-f]{16}@/, "the trigger was Alertmanager's alert")
    },
  )
})
