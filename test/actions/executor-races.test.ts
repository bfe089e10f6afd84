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

const label = (fake: FakeKube) =>
  fake.update(
    'deployments',
    'shop',
    'checkout',
    o => void (o.metadata.labels = { ...o.metadata.labels, touched: 'yes' }),
  )

t.test('a write between the read and the patch: 409, re-read, decide again, one rollback stored', async t => {
  const r = await rig(t, { wrapApps: afterRead(1, label) })
  r.fake.log.length = 0
  r.executor.handle([firing('checkout')])
  await r.executor.idle()
  t.same(
    patches(r.fake.log).map(p => p.status),
    [409, 200],
    'the stale patch is refused, the re-decided one stored',
  )
  t.equal(image(r.fake.get('deployments', 'shop', 'checkout')), 'nginx:1')
  t.match(
    r.audit.recentDecisions().map(e => e.kind),
    ['retrying', 'rolled_back', 'verified'],
  )
  t.match(r.audit.recentDecisions()[0], { reason: 'conflict', message: /409 Conflict|modified/ })
})

t.test('a conflicting write that freezes the workload: the fresh decision declines, nothing is stored', async t => {
  const freeze = (fake: FakeKube) =>
    fake.update(
      'deployments',
      'shop',
      'checkout',
      o => void (o.metadata.annotations = { ...o.metadata.annotations, [FREEZE_ANNOTATION]: 'true' }),
    )
  const r = await rig(t, { wrapApps: afterRead(1, freeze) })
  r.fake.log.length = 0
  r.executor.handle([firing('checkout')])
  await r.executor.idle()
  t.same(
    patches(r.fake.log).map(p => p.status),
    [409],
  )
  t.match(r.audit.recentDecisions(), [{ kind: 'retrying' }, { kind: 'skipped', reason: 'frozen_annotation' }])
  t.equal(image(r.fake.get('deployments', 'shop', 'checkout')), 'nginx:2')
})

t.test('a workload that keeps changing is never patched on a stale read; retries are bounded', async t => {
  const r = await rig(t, { actions: { retry: { max_attempts: 3, initial_backoff: '10ms' } } })
  r.fake.log.length = 0
  // Someone writes after every read of the workload.
  r.fake.inject({ kind: 'bumpAfterGet', resource: 'deployments', namespace: 'shop', name: 'checkout', times: 10 })
  r.executor.handle([firing('checkout')])
  await r.executor.idle()
  t.same(
    patches(r.fake.log).map(p => p.status),
    [409, 409, 409],
    'three attempts, each refused by the optimistic lock',
  )
  t.match(r.audit.recentDecisions().at(-1), {
    kind: 'patch_failed',
    reason: 'conflict',
    message: /gave up after 3 attempts/,
  })
  t.equal(image(r.fake.get('deployments', 'shop', 'checkout')), 'nginx:2')
})

t.test('transient API failures are retried with backoff; permanent ones are final', async t => {
  const r = await rig(t)
  r.fake.inject({ kind: 'status', code: 503, match: { verb: 'get', resource: 'deployments' }, times: 2 })
  r.executor.handle([firing('checkout')])
  await r.executor.idle()
  t.match(
    r.audit.recentDecisions().map(e => `${e.kind}:${e.reason}`),
    ['retrying:unavailable', 'retrying:unavailable', 'rolled_back:rollback', 'verified:complete'],
  )

  const down = await rig(t, { actions: { retry: { max_attempts: 2, initial_backoff: '10ms' } } })
  down.fake.inject({ kind: 'status', code: 503, match: { verb: 'get', resource: 'deployments' }, times: 10 })
  down.executor.handle([firing('checkout')])
  await down.executor.idle()
  t.match(down.audit.recentDecisions().at(-1), {
    kind: 'read_failed',
    decision: 'error',
    result: 'failed',
    reason: 'unavailable',
    message: /gave up after 2 attempts/,
  })
  t.match(down.alerts.at(-1), { labels: { alertname: 'RollbackFailed', severity: 'critical' } })

  const reset = await rig(t, { actions: { retry: { max_attempts: 2, initial_backoff: '10ms' } } })
  reset.fake.inject({ kind: 'reset', match: { verb: 'list', resource: 'replicasets' }, times: 10 })
  reset.executor.handle([firing('checkout', 'HighLatency')])
  await reset.executor.idle()
  t.match(reset.audit.recentDecisions().at(-1), { kind: 'read_failed', reason: 'unavailable' })

  const refused = await rig(t)
  refused.fake.authorize = req => !(req.verb === 'patch' && req.resource === 'deployments')
  refused.executor.handle([firing('checkout', 'HighMemory')])
  await refused.executor.idle()
  t.match(
    refused.audit.recentDecisions().map(e => e.kind),
    ['patch_failed'],
    'a 403 is not retried',
  )
  t.match(refused.audit.recentDecisions().at(-1), {
    kind: 'patch_failed',
    reason: 'forbidden',
    message: /cannot patch resource "deployments"/,
  })
  t.equal(await metric(refused.registry, 'rollguard_rollbacks_total', { result: 'failed', reason: 'forbidden' }), 1)
  t.equal(patches(refused.fake.log).length, 1)
})

t.test('a PATCH whose answer is lost: read back, the stored rollback is recognised, never sent twice', async t => {
  const r = await rig(t)
  r.fake.log.length = 0
  r.fake.inject({ kind: 'reset', phase: 'after', match: { verb: 'patch', resource: 'deployments' } })
  r.executor.handle([firing('checkout')])
  await r.executor.idle()
  t.equal(patches(r.fake.log).length, 1, 'one PATCH')
  t.match(
    r.audit.recentDecisions().map(e => e.kind),
    ['rolled_back', 'verified'],
  )
  t.match(r.audit.recentDecisions()[0], {
    message: /answer to the PATCH was lost.*shows this attempt's rollback stored/,
  })
  t.notOk(
    r.audit.recentDecisions().some(e => e.kind === 'patch_failed'),
    'never reported as failed',
  )
})

t.test('a trigger that resolves while a retry waits is not retried', async t => {
  let firingNow = true
  const r = await rig(t, {
    triggerState: () => ({ firing: firingNow }),
    actions: { retry: { initial_backoff: '300ms', max_backoff: '300ms' } },
  })
  r.fake.inject({ kind: 'status', code: 500, match: { verb: 'patch', resource: 'deployments' }, times: 5 })
  r.executor.handle([firing('checkout')])
  await until(() => r.audit.recentDecisions().some(e => e.kind === 'retrying'), 3_000)
  firingNow = false
  await r.executor.idle()
  t.match(r.audit.recentDecisions().at(-1), {
    kind: 'cancelled',
    reason: 'resolved',
    message: /not retried: the trigger alert resolved/,
  })
  t.equal(patches(r.fake.log).filter(p => p.status === 200).length, 0)
})

t.test('dry-run against a cluster that refuses the patch: dry_run_failed, no alert', async t => {
  const r = await rig(t, { actions: { mode: 'dry-run' } })
  r.fake.authorize = req => req.verb !== 'patch'
  r.executor.handle([firing('checkout')])
  await r.executor.idle()
  t.match(r.audit.recentDecisions(), [{ kind: 'dry_run_failed', reason: 'forbidden', result: 'failed' }])
  t.same(r.alerts, [])
})

t.test('losing leadership: checked right before the patch, and in-flight work aborts', async t => {
  // The fresh silence check right before the PATCH is where the lease is lost here.
  let leader: { value: boolean } | undefined
  const silences = {
    check: async (_alert: unknown, o: { fresh: boolean }) => (
      o.fresh && leader ? (leader.value = false) : undefined,
      { state: 'none' as const }
    ),
  }
  const flip = await rig(t, { silences })
  leader = flip.leader
  flip.fake.log.length = 0
  flip.executor.handle([firing('checkout')])
  await flip.executor.idle()
  t.equal(patches(flip.fake.log).length, 0, 'no patch once the lease is gone')
  t.match(flip.audit.recentDecisions(), [
    { kind: 'not_leader', reason: 'not_leader', message: /lost leadership before the rollback was sent/ },
  ])

  const abort = await rig(t)
  abort.fake.inject({ kind: 'delay', ms: 500, match: { verb: 'get', resource: 'deployments' } })
  abort.executor.handle([firing('checkout')])
  setTimeout(() => abort.leader.control.abort(new Error('leader election: lost lease')), 50)
  await abort.executor.idle()
  t.match(abort.audit.recentDecisions(), [{ kind: 'cancelled', reason: 'aborted', message: /lost lease/ }])
  t.equal(patches(abort.fake.log).length, 0)
})

t.test('leadership lost during verification: the verification stops and says so', async t => {
  const r = await rig(t, { seed: false })
  await deploy(r.fake, 'checkout', ['nginx:bad', 'nginx:2'])
  r.executor.handle([firing('checkout')])
  await until(() => r.audit.recentDecisions().some(e => e.kind === 'rolled_back'), 3_000)
  r.leader.control.abort(new Error('leader election: lost lease'))
  await r.executor.idle()
  t.match(r.audit.recentDecisions().at(-1), { kind: 'verify_aborted', reason: 'aborted', message: /lost lease/ })
})
