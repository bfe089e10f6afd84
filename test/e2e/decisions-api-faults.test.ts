// The truth when the Kubernetes API misbehaves: transient 500s are retried, a PATCH whose answer is lost is read
// back instead of reported as failed, and a leader killed right after its PATCH leaves the verification to the
// survivor — never a second PATCH. Real Prometheus and Alertmanager, the fake cluster; every wait bounded.
import t from 'tap'
import { amAlerts } from '../../src/demo/stack.js'
import {
  actingRollguard,
  alertmanager,
  defaultRulesFast,
  eventsOn,
  eventually,
  image,
  prometheus,
  rollbackPatches,
  services,
  shopCluster,
  sleep,
  tempDir,
} from '../fixtures/e2e.js'
import { actingReplicas, killLeaderAfter, leaderOf } from '../fixtures/acting-replicas.js'
import type { RollguardProcess } from '../fixtures/rollguard-process.js'

const PATCH_DEPLOYMENTS = { verb: 'patch', resource: 'deployments' } as const

t.test('Kubernetes API faults during a rollback', async t => {
  const dir = tempDir(t)
  const am = await alertmanager(t)
  const [checkout] = await services(t, ['checkout'])
  if (!checkout) throw new Error('service did not start')
  const prom = await prometheus(t, [checkout])
  const rules = defaultRulesFast(dir)
  checkout.setFault({ errorRatio: 0.5 })

  await t.test('the API server answers 500 twice, then 200: rolled back on the third PATCH', async t => {
    const fake = await shopCluster(t, ['checkout'])
    fake.inject({ kind: 'status', code: 500, match: PATCH_DEPLOYMENTS, times: 2 })
    const r = await actingRollguard(t, {
      fake,
      prometheusUrl: prom.url,
      alertmanagerUrl: am.url,
      rules,
      run: 'api500',
      actions: { retry: { initial_backoff: '200ms' } },
    })
    await r.decided('verified')
    t.same(
      rollbackPatches(fake).map(p => p.status),
      [500, 500, 200],
      'three PATCH attempts, the last stored',
    )
    t.match(
      r.decisions().map(d => d.kind),
      ['retrying', 'retrying', 'rolled_back', 'verified'],
    )
    t.equal(image(fake.get('deployments', 'shop', 'checkout')), 'shop/checkout:1')
    t.notOk(
      eventsOn(fake, 'checkout').some(e => e.reason === 'RollbackFailed'),
      'no RollbackFailed event',
    )
  })

  await t.test('a PATCH that hangs but is applied: RolledBack and RollbackVerified, never RollbackFailed', async t => {
    const fake = await shopCluster(t, ['checkout'])
    // The server stores the rollback, then answers only after the client gave up (request_timeout 1s).
    fake.inject({ kind: 'delay', phase: 'after', ms: 3_000, match: PATCH_DEPLOYMENTS })
    const r = await actingRollguard(t, {
      fake,
      prometheusUrl: prom.url,
      alertmanagerUrl: am.url,
      rules,
      run: 'hang',
      kubernetes: { request_timeout: '1s' },
    })
    await r.decided('verified')
    const rolled = r.decisions().find(d => d.kind === 'rolled_back')
    t.match(
      rolled?.message,
      /the answer to the PATCH was lost .* reading the workload back shows this attempt's rollback stored/,
    )
    await eventually('RolledBack and RollbackVerified events', async () =>
      ['RolledBack', 'RollbackVerified'].every(reason => eventsOn(fake, 'checkout').some(e => e.reason === reason)),
    )
    t.equal(rollbackPatches(fake).length, 1, 'one PATCH, not re-sent')
    t.notOk(
      r.decisions().some(d => d.kind === 'patch_failed'),
      'no failure recorded',
    )
    t.notOk(
      eventsOn(fake, 'checkout').some(e => e.reason === 'RollbackFailed'),
      'no RollbackFailed event',
    )
    t.same(
      await amAlerts(am.url, { matchers: { alertname: 'RollbackFailed', run: 'hang' } }),
      [],
      'no RollbackFailed alert',
    )
  })

  await t.test(
    'two replicas, the leader killed right after its PATCH: one PATCH, the survivor verifies and reports',
    async t => {
      // Its own healthy service: the replicas are up before anything fails.
      const [healthy] = await services(t, ['checkout'])
      if (!healthy) throw new Error('service did not start')
      const ownProm = await prometheus(t, [healthy])
      const fake = await shopCluster(t, ['checkout'])
      let replicas = new Map<string, RollguardProcess>()
      // The PATCH is stored; its sender dies before it can read the answer or record anything.
      const kill = killLeaderAfter(fake, () => replicas, PATCH_DEPLOYMENTS)
      replicas = await actingReplicas(t, {
        fake,
        identities: ['replica-a', 'replica-b'],
        prometheusUrl: ownProm.url,
        alertmanagerUrl: am.url,
        rules,
        run: 'killed',
      })
      const leader = await eventually('a leader', async () => leaderOf(fake))
      healthy.setFault({ errorRatio: 0.5 })
      const killed = await eventually('the PATCH', async () => kill.killed(), 45_000)
      t.equal(killed, leader, 'the leader sent it and was killed')
      const survivor = [...replicas.keys()].find(id => id !== killed)
      await eventually(
        'the survivor verifies the stored rollback',
        async () =>
          ['RolledBack', 'RollbackVerified'].every(reason =>
            eventsOn(fake, 'checkout').some(e => e.reason === reason && e.reportingInstance === survivor),
          ),
        45_000,
      )
      await sleep(3_000)
      t.equal(rollbackPatches(fake).length, 1, 'exactly one rollback PATCH')
      t.equal(image(fake.get('deployments', 'shop', 'checkout')), 'shop/checkout:1')
      t.notOk(eventsOn(fake, 'checkout').some(e => e.reason === 'RollbackFailed'))
      const log = replicas.get(survivor ?? '')?.log() ?? ''
      t.match(log, /is stored but was never verified/, 'the survivor says what it found')
    },
  )
})
