import t, { type Test } from 'tap'
import { Registry } from 'prom-client'
import { ActionsService, effectivenessWindow, firingTriggers, triggerState } from '../../src/actions/service.js'
import { kubeSource } from '../../src/config/kubeconfig-lookup.js'
import { KubernetesConfig } from '../../src/actions/actions-config.js'
import { ConfigDocument } from '../../src/config/schema.js'
import { newGroupState, type GroupState } from '../../src/engine/group.js'
import type { OutgoingAlert } from '../../src/engine/types.js'
import { logSink, tempDir, type LogSink } from '../fixtures/e2e.js'
import { group, rule } from '../fixtures/engine.js'
import type { FakeKube } from '../fixtures/kube/index.js'
import { writeKubeconfig } from '../fixtures/kubeconfig.js'
import { deploy, firing, image, metric, patches, until } from './fixtures/executor.js'
import { harness } from '../fixtures/cluster-harness.js'

const FAST_LEASE = { lease_duration: '3s', renew_deadline: '2s', retry_period: '500ms' }

interface Replica {
  service: ActionsService
  log: LogSink
  registry: Registry
  alerts: OutgoingAlert[]
  groups: GroupState[]
}

function replica(t: Test, fake: FakeKube, identity: string, extra: Record<string, unknown> = {}): Replica {
  const kubeconfig = writeKubeconfig(tempDir(t), fake, 'rollguard-system')
  const doc = ConfigDocument.parse({
    prometheus: { url: 'http://127.0.0.1:9' },
    // No settle wait: these tests are about leadership, and the default would hold each rollback for a minute.
    actions: { mode: 'execute', allow: [{ namespace: 'shop' }], correlation: { settle: '0s' } },
    kubernetes: { kubeconfig, lease: { ...FAST_LEASE, identity } },
    ...extra,
  })
  const log = logSink()
  const registry = new Registry()
  const alerts: OutgoingAlert[] = []
  const groups: GroupState[] = []
  const service = ActionsService.create(doc, {
    logger: log.logger,
    registry,
    sendAlerts: a => void alerts.push(...a),
    generatorURL: () => 'http://rg',
    groups: () => groups,
    env: {},
    verifyPollMs: 20,
  })
  t.teardown(() => service.stop())
  return { service, log, registry, alerts, groups }
}

t.test('two replicas: one leads and rolls back once; the other takes over on stop and does not repeat it', async t => {
  const h = await harness('shop')
  t.teardown(h.close)
  await deploy(h.fake, 'checkout')
  const a = replica(t, h.fake, 'a')
  await until(() => a.service.isLeader(), 5_000)
  const b = replica(t, h.fake, 'b')
  await new Promise(r => setTimeout(r, 300))
  t.notOk(b.service.isLeader(), 'b follows')
  t.equal(await metric(a.registry, 'rollguard_leader'), 1)
  t.equal(await metric(b.registry, 'rollguard_leader'), 0)

  h.fake.log.length = 0
  for (const r of [a, b]) r.service.handle([firing('checkout')])
  await Promise.all([a.service.idle(), b.service.idle()])
  t.equal(patches(h.fake.log).length, 1, 'exactly one rollback')
  t.equal(image(h.fake.get('deployments', 'shop', 'checkout')), 'nginx:1')
  t.match(b.service.recentDecisions(), [{ kind: 'not_leader' }])
  t.match(
    a.service.recentDecisions().map(d => d.kind),
    ['rolled_back', 'verified'],
  )

  // b sees the trigger still firing when it takes over.
  b.groups.push(firingGroup('checkout'))
  // a's renewals carry its rollback on the Lease (its release may too, when it does not conflict with one).
  await until(() => {
    const held = h.fake.get('leases', 'rollguard-system', 'rollguard') as {
      metadata?: { annotations?: Record<string, string> }
    }
    return held.metadata?.annotations?.['rollguard.io/recent-rollbacks']?.includes('Deployment/shop/checkout')
  }, 5_000)
  await a.service.stop()
  const lease = h.fake.get('leases', 'rollguard-system', 'rollguard') as { spec?: { holderIdentity?: string } }
  t.not(lease.spec?.holderIdentity, 'a', 'a released the lease when it stopped')
  await until(() => b.service.isLeader(), 5_000)
  await until(() => b.service.recentDecisions().length >= 2, 5_000)
  await b.service.idle()
  t.match(
    b.service.recentDecisions().at(-1),
    { kind: 'skipped', reason: 'already_rolled_back' },
    'the new leader decided on the firing trigger',
  )
  t.equal(patches(h.fake.log).length, 1, 'and did not repeat the rollback')
  t.ok(b.log.lines().some(l => l.msg === 'became the leader: acting on rollback triggers'))
  // a's rollback reached b through the Lease, not only through the workload's record.
  t.ok(b.log.lines().some(l => /previous leader recorded on the Lease/.test(String(l.msg))))
  t.equal(await metric(b.registry, 'rollguard_global_brake_rollbacks'), 1)
  t.equal(await metric(b.registry, 'rollguard_global_brake_limit'), 5)
})

t.test('an unreadable record of recent rollbacks on the Lease is reported, and the replica leads anyway', async t => {
  const h = await harness('shop')
  t.teardown(h.close)
  await h.fake.seed('leases', 'rollguard-system', {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'rollguard', annotations: { 'rollguard.io/recent-rollbacks': '{"Deployment/shop/x": "soon"' } },
    spec: { holderIdentity: '', leaseDurationSeconds: 1 },
  })
  const a = replica(t, h.fake, 'a')
  await until(() => a.service.isLeader(), 5_000)
  await until(() => a.log.lines().some(l => /unreadable record of recent rollbacks/.test(String(l.msg))), 3_000)
  t.equal(await metric(a.registry, 'rollguard_global_brake_rollbacks'), 0)
  // Its own renewals replace the unreadable value.
  await until(() => {
    const lease = h.fake.get('leases', 'rollguard-system', 'rollguard') as {
      metadata?: { annotations?: Record<string, string> }
    }
    return lease.metadata?.annotations?.['rollguard.io/recent-rollbacks'] === '{}'
  }, 3_000)
  t.pass('replaced by its own')
})

t.test('without leader election this replica always acts; create fails clearly without a kubeconfig', async t => {
  const h = await harness('shop')
  t.teardown(h.close)
  const doc = ConfigDocument.parse({
    prometheus: { url: 'http://127.0.0.1:9' },
    actions: {},
    kubernetes: { kubeconfig: writeKubeconfig(tempDir(t), h.fake), lease: { enabled: false } },
  })
  const log = logSink()
  const registry = new Registry()
  const service = ActionsService.create(doc, {
    logger: log.logger,
    registry,
    sendAlerts: () => {},
    generatorURL: () => '',
    groups: () => [],
    env: {},
  })
  t.teardown(() => service.stop())
  t.ok(service.isLeader())
  t.equal(await metric(registry, 'rollguard_leader'), 1)
  t.ok(log.lines().some(l => String(l.msg).startsWith('leader election is disabled')))
  service.reload(undefined)
  service.handle([firing('checkout')])
  await service.idle()
  t.same(service.recentDecisions(), [], 'actions removed by reload')

  const missing = ConfigDocument.parse({
    prometheus: { url: 'http://127.0.0.1:9' },
    actions: {},
    kubernetes: { kubeconfig: '/nonexistent/kubeconfig' },
  })
  t.throws(
    () =>
      ActionsService.create(missing, {
        logger: log.logger,
        registry: new Registry(),
        sendAlerts: () => {},
        generatorURL: () => '',
        groups: () => [],
      }),
    /nonexistent/,
  )
  const none = ConfigDocument.parse({ prometheus: { url: 'http://127.0.0.1:9' } })
  t.throws(
    () =>
      ActionsService.create(none, {
        logger: log.logger,
        registry: new Registry(),
        sendAlerts: () => {},
        generatorURL: () => '',
        groups: () => [],
      }),
    /not configured/,
  )
})

t.test(
  'kubeSource: explicit in-cluster, a kubeconfig file, in-cluster when running in a pod (auto), else kubectl lookup',
  async t => {
    const k = (o: Record<string, unknown>) => KubernetesConfig.parse(o)
    t.same(kubeSource(k({ in_cluster: true }), {}), { mode: 'in-cluster' })
    t.same(kubeSource(k({ kubeconfig: '/k' }), { KUBERNETES_SERVICE_HOST: '10.0.0.1' }), { mode: 'file', path: '/k' })
    t.same(kubeSource(k({}), { KUBERNETES_SERVICE_HOST: '10.0.0.1' }), { mode: 'in-cluster' })
    t.same(kubeSource(k({ in_cluster: false }), { KUBERNETES_SERVICE_HOST: '10.0.0.1' }), { mode: 'default' })
    t.same(kubeSource(k({}), {}), { mode: 'default' })
  },
)

t.test('firingTriggers lists the firing alerts of every group as transitions to firing', async t => {
  const g = firingGroup('checkout')
  const [tr] = firingTriggers([g])
  t.match(tr, { rule: 'HighErrorRate', from: 'firing', to: 'firing', at: 1_000, labels: { deployment: 'checkout' } })
  t.equal(firingTriggers([g]).length, 1, 'pending alerts are not included')
})

t.test(
  'triggerState finds a firing alert of any rule by fingerprint (pending and unknown ones are not firing)',
  async t => {
    const isFiring = (groups: readonly GroupState[], fp: string) => triggerState(groups, fp)?.firing === true
    const groups = [newGroupState(group([rule({ name: 'Other' })]), 1_000, 'http://rg'), firingGroup('checkout')]
    t.equal(isFiring(groups, 'fp'), true)
    t.equal(isFiring(groups, 'fp2'), false, 'pending')
    t.equal(isFiring(groups, 'gone'), false)
    t.equal(isFiring([], 'fp'), false)
  },
)

t.test('triggerState and effectivenessWindow of a rule alert, by fingerprint', async t => {
  const g = firingGroup('checkout')
  t.same(triggerState([g], 'fp'), { firing: true, value: 1 })
  t.same(triggerState([g], 'fp2'), { firing: false, value: 1 })
  t.equal(triggerState([g], 'gone'), undefined)
  const slow = newGroupState(
    group([
      rule({
        name: 'HighErrorRate',
        expr: 'sum(rate(x[5m])) / sum(rate(x[1m])) > 0.1',
        forMs: 120_000,
        keepFiringForMs: 30_000,
      }),
    ]),
    15_000,
    'http://rg',
  )
  const alert = g.rules[0]?.state.active.get('fp')
  if (alert) slow.rules[0]?.state.active.set('fp', alert)
  t.equal(
    effectivenessWindow([slow], 'fp'),
    120_000 + 300_000 + 30_000 + 15_000,
    'for + longest range + keep_firing_for + interval',
  )
  t.equal(effectivenessWindow([slow], 'gone'), undefined)
})

function firingGroup(deployment: string): GroupState {
  const state = newGroupState(group([rule({ name: 'HighErrorRate' })]), 1_000, 'http://rg')
  const labels = { alertname: 'HighErrorRate', namespace: 'shop', deployment, rollguard_trigger: 'rollback' }
  const alert = {
    fingerprint: 'fp',
    labels,
    annotations: {},
    state: 'firing' as const,
    value: 1,
    activeAt: 0,
    firedAt: 1_000,
    resolvedAt: 0,
    lastSentAt: 0,
    validUntil: 0,
    keepFiringSince: 0,
  }
  state.rules[0]?.state.active.set('fp', alert)
  state.rules[0]?.state.active.set('fp2', {
    ...alert,
    fingerprint: 'fp2',
    state: 'pending',
    labels: { ...labels, deployment: 'other' },
  })
  return state
}
