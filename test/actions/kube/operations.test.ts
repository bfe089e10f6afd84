// The daemon's plain Kubernetes operations against the fake API server: read, plan, send (and whether a failed
// send may still have been applied), write one annotation under an optimistic lock.
import t, { type Test } from 'tap'
import {
  fetchWorkloadState,
  isTransient,
  planUndo,
  sendUndo,
  workloadObject,
  writeAnnotation,
} from '../../../src/actions/kube/operations.js'
import { deploymentManifest, harness, ref, setImage } from '../../fixtures/cluster-harness.js'

const WEB = ref('Deployment', 'shop', 'web')

async function scene(t: Test, timeoutMs = 5_000) {
  const h = await harness('shop', {}, timeoutMs)
  t.teardown(h.close)
  await h.fake.seedDeployment('shop', deploymentManifest('web', 'nginx:1'))
  await setImage(h.fake, 'shop', 'web', 'nginx:2')
  const state = await fetchWorkloadState(h.clients.apps, WEB)
  const planned = planUndo(WEB, state)
  if (planned.kind !== 'plan') throw new Error(`no plan: ${planned.message}`)
  return { h, state, plan: planned.plan }
}

t.test('read, plan from that read, send: stored with the generation the server reports', async t => {
  const { h, state, plan } = await scene(t)
  t.equal(workloadObject(state).metadata?.name, 'web')
  t.match(plan, {
    fromRevision: 2,
    toRevision: 1,
    toImages: ['nginx:1'],
    resourceVersion: workloadObject(state).metadata?.resourceVersion,
  })
  const dry = await sendUndo(h.clients.apps, plan, { dryRun: true })
  t.match(dry, { kind: 'stored' })
  const r = await sendUndo(h.clients.apps, plan, { dryRun: false })
  t.same(r, { kind: 'stored', generation: plan.expectedGeneration })
  t.equal(h.fake.log.filter(e => e.method === 'PATCH').at(-1)?.query['fieldManager'], 'rollguard')
})

t.test('a failed send says whether the patch may be in: 4xx no, 5xx/timeout/reset unknown', async t => {
  const { h, plan } = await scene(t, 500)
  const match = { verb: 'patch', resource: 'deployments' } as const
  h.fake.inject({ kind: 'status', code: 422, match })
  t.match(await sendUndo(h.clients.apps, plan, { dryRun: false }), {
    kind: 'error',
    reason: 'invalid',
    status: 422,
    applied: 'no',
  })
  h.fake.inject({ kind: 'status', code: 429, retryAfterSeconds: 1, match })
  const busy = await sendUndo(h.clients.apps, plan, { dryRun: false })
  t.match(busy, { reason: 'unavailable', status: 429, applied: 'no' })
  t.ok(busy.kind === 'error' && isTransient(busy), '429 is worth another try')
  h.fake.inject({ kind: 'status', code: 500, match })
  t.match(await sendUndo(h.clients.apps, plan, { dryRun: false }), {
    reason: 'unavailable',
    status: 500,
    applied: 'unknown',
  })
  h.fake.inject({ kind: 'reset', match })
  t.match(await sendUndo(h.clients.apps, plan, { dryRun: false }), { reason: 'unavailable', applied: 'unknown' })
  h.fake.inject({ kind: 'delay', phase: 'after', ms: 1_500, match })
  const late = await sendUndo(h.clients.apps, plan, { dryRun: false })
  t.match(late, { reason: 'unavailable', applied: 'unknown', message: /timed out|aborted/ })
  const after = await fetchWorkloadState(h.clients.apps, WEB)
  t.equal(
    (workloadObject(after).spec?.template?.spec?.containers?.[0] as { image?: string } | undefined)?.image,
    'nginx:1',
    'the timed-out patch was applied after all',
  )
  t.match(
    await sendUndo(h.clients.apps, plan, { dryRun: false }),
    { reason: 'conflict', status: 409, applied: 'no' },
    'the stale plan can never be applied twice',
  )
  t.notOk(isTransient({ kind: 'error', reason: 'forbidden', message: 'x', status: 403 }))
})

t.test('writeAnnotation: one key, merge patch, refused when the object changed since the read', async t => {
  const { h, state } = await scene(t)
  const rv = workloadObject(state).metadata?.resourceVersion
  t.equal(
    await writeAnnotation(h.clients.apps, WEB, {
      key: 'rollguard.io/last-rollback',
      value: '{"x":1}',
      resourceVersion: rv,
    }),
    true,
  )
  const d = h.fake.get('deployments', 'shop', 'web')
  t.equal(d?.metadata.annotations?.['rollguard.io/last-rollback'], '{"x":1}')
  t.equal(d?.metadata.annotations?.['team'], 'a', 'other annotations kept')
  t.match(await writeAnnotation(h.clients.apps, WEB, { key: 'k', value: 'v', resourceVersion: rv }), {
    kind: 'error',
    reason: 'conflict',
    status: 409,
  })
  t.equal(
    await writeAnnotation(h.clients.apps, WEB, { key: 'k', value: 'v' }),
    true,
    'without a resourceVersion: no lock',
  )
  t.match(await writeAnnotation(h.clients.apps, ref('StatefulSet', 'shop', 'none'), { key: 'k', value: 'v' }), {
    kind: 'error',
    reason: 'not_found',
  })
  t.match(await writeAnnotation(h.clients.apps, ref('DaemonSet', 'shop', 'none'), { key: 'k', value: 'v' }), {
    kind: 'error',
    reason: 'not_found',
  })
})
