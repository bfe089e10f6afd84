// The executor under concurrent writers, API failures and leadership changes: it never patches on a stale
// decision, never crashes, and records why.
import type { AppsV1Api } from '@kubernetes/client-node'
import t from 'tap'
import { FREEZE_ANNOTATION } from '../../src/actions/policy.js'
import type { FakeKube } from '../fixtures/kube/index.js'
import { deploy, firing, image, metric, patches, rig, until } from './fixtures/executor.js'

/** afterRead wraps apps so that `fn` runs (awaited) right after the n-th read of a Deployment returns. */
function afterRead(n: number, fn: (fake: FakeKube) => Promise<unknown> | void) {
  return (apps: AppsV1Api, fake: FakeKube): AppsV1Api => {
    let reads = 0
    return new Proxy(apps, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver)
        if (typeof value !== 'function') return value
        const method = value as (...args: unknown[]) => Promise<unknown>
        if (prop !== 'readNamespacedDeployment') return method.bind(target)
        return async (...args: unknown[]) => {
          const result = await method.apply(target, args)
          if (++reads === n) await fn(fake)
          return result
        }
      },
    })
  }
}

const label = (fake: FakeKube) => fake.update('deployments', 'shop', 'checkout', (o) => void (o.metadata.labels = { ...o.metadata.labels, touched: 'yes' }))

t.test('a write between the plan and the patch: 409, re-read, decide again, one rollback stored', async (t) => {
  // Read 1 is the executor's, read 2 the plan's: the write lands after the plan, so the optimistic lock fires.
  const r = await rig(t, { wrapApps: afterRead(2, label) })
  r.fake.log.length = 0
  r.executor.handle([firing('checkout')])
  await r.executor.idle()
  t.same(patches(r.fake.log).map((p) => p.status), [409, 200], 'the stale patch is refused, the re-decided one stored')
  t.equal(image(r.fake.get('deployments', 'shop', 'checkout')), 'nginx:1')
  t.match(r.audit.recentDecisions().map((e) => e.kind), ['rolled_back', 'verified'])
})

t.test('a write between the decision and the plan: re-read and decide again before the first patch', async (t) => {
  const r = await rig(t, { wrapApps: afterRead(1, label) })
  r.fake.log.length = 0
  r.executor.handle([firing('checkout')])
  await r.executor.idle()
  t.same(patches(r.fake.log).map((p) => p.status), [200], 'no 409: the gate noticed the newer object first')
  const beforePatch = r.fake.log.slice(0, r.fake.log.findIndex((e) => e.method === 'PATCH'))
  t.equal(beforePatch.filter((e) => e.verb === 'get' && e.resource === 'deployments').length, 3, 'executor read, plan read, re-read')
})

t.test('a conflicting write that freezes the workload: the fresh decision declines, nothing is stored', async (t) => {
  const freeze = (fake: FakeKube) =>
    fake.update('deployments', 'shop', 'checkout', (o) => void (o.metadata.annotations = { ...o.metadata.annotations, [FREEZE_ANNOTATION]: 'true' }))
  const r = await rig(t, { wrapApps: afterRead(2, freeze) })
  r.fake.log.length = 0
  r.executor.handle([firing('checkout')])
  await r.executor.idle()
  t.same(patches(r.fake.log).map((p) => p.status), [409])
  t.match(r.audit.recentDecisions(), [{ kind: 'skipped', reason: 'frozen_annotation' }])
  t.equal(image(r.fake.get('deployments', 'shop', 'checkout')), 'nginx:2')
})

t.test('a workload that keeps changing is not patched on a stale read', async (t) => {
  const r = await rig(t)
  r.fake.log.length = 0
  // Someone writes after each of the executor's read, the plan's read and the gate's re-read.
  r.fake.inject({ kind: 'bumpAfterGet', resource: 'deployments', namespace: 'shop', name: 'checkout', times: 3 })
  r.executor.handle([firing('checkout')])
  await r.executor.idle()
  t.same(patches(r.fake.log), [], 'nothing sent')
  t.match(r.audit.recentDecisions(), [{ kind: 'skipped', reason: 'changed', message: /kept changing/ }])
})

t.test('API down or refusing: recorded as failures with an alert in execute mode, never a crash', async (t) => {
  const r = await rig(t)
  r.fake.inject({ kind: 'status', code: 503, match: { verb: 'get', resource: 'deployments' } })
  r.executor.handle([firing('checkout')])
  await r.executor.idle()
  t.match(r.audit.recentDecisions().at(-1), { kind: 'read_failed', decision: 'error', result: 'failed', reason: 'unavailable' })
  t.match(r.alerts.at(-1), { labels: { alertname: 'RollbackFailed', severity: 'critical' } })

  r.fake.inject({ kind: 'reset', match: { verb: 'list', resource: 'replicasets' } })
  r.executor.handle([firing('checkout', 'HighLatency')])
  await r.executor.idle()
  t.match(r.audit.recentDecisions().at(-1), { kind: 'read_failed', reason: 'unavailable' })

  r.fake.authorize = (req) => !(req.verb === 'patch' && req.resource === 'deployments')
  r.executor.handle([firing('checkout', 'HighMemory')])
  await r.executor.idle()
  t.match(r.audit.recentDecisions().at(-1), { kind: 'patch_failed', reason: 'forbidden', message: /cannot patch resource "deployments"/ })
  t.equal(await metric(r.registry, 'rollguard_rollbacks_total', { result: 'failed', reason: 'forbidden' }), 1)

  r.fake.authorize = () => true
  r.executor.handle([firing('checkout', 'HealthCheckFailing')])
  await r.executor.idle()
  t.match(r.audit.recentDecisions().at(-1), { kind: 'verified' }, 'works again once the API does')
})

t.test('dry-run against a cluster that refuses the patch: dry_run_failed, no alert', async (t) => {
  const r = await rig(t, { actions: { mode: 'dry-run' } })
  r.fake.authorize = (req) => req.verb !== 'patch'
  r.executor.handle([firing('checkout')])
  await r.executor.idle()
  t.match(r.audit.recentDecisions(), [{ kind: 'dry_run_failed', reason: 'forbidden', result: 'failed' }])
  t.same(r.alerts, [])
})

t.test('losing leadership: checked right before the patch, and in-flight work aborts', async (t) => {
  const flip = await rig(t)
  flip.fake.inject({ kind: 'delay', ms: 200, match: { verb: 'list', resource: 'replicasets' }, times: 2 })
  flip.fake.log.length = 0
  flip.executor.handle([firing('checkout')])
  // The second LIST is the plan's: leadership ends after the decision, before the patch.
  await until(() => flip.fake.log.filter((e) => e.resource === 'replicasets').length >= 2, 2_000)
  flip.leader.value = false
  await flip.executor.idle()
  t.equal(patches(flip.fake.log).length, 0, 'no patch once the lease is gone')
  t.match(flip.audit.recentDecisions(), [{ kind: 'not_leader', reason: 'not_leader', message: /lost leadership before the rollback was sent/ }])

  const abort = await rig(t)
  abort.fake.inject({ kind: 'delay', ms: 500, match: { verb: 'get', resource: 'deployments' } })
  abort.executor.handle([firing('checkout')])
  setTimeout(() => abort.leader.control.abort(new Error('leader election: lost lease')), 50)
  await abort.executor.idle()
  t.match(abort.audit.recentDecisions(), [{ kind: 'cancelled', reason: 'aborted', message: /lost lease/ }])
  t.equal(patches(abort.fake.log).length, 0)
})

t.test('leadership lost during verification: the verification stops and says so', async (t) => {
  const r = await rig(t, { seed: false })
  await deploy(r.fake, 'checkout', ['nginx:bad', 'nginx:2'])
  r.executor.handle([firing('checkout')])
  await until(() => r.audit.recentDecisions().some((e) => e.kind === 'rolled_back'), 3_000)
  r.leader.control.abort(new Error('leader election: lost lease'))
  await r.executor.idle()
  t.match(r.audit.recentDecisions().at(-1), { kind: 'verify_aborted', reason: 'aborted', message: /lost lease/ })
})
