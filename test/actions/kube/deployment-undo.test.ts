import t, { type Test } from 'tap'
import { undoDeployment } from '../../../src/actions/kube/deployment-undo.js'
import { deploymentManifest, harness, ref, setImage, writes } from '../../fixtures/cluster-harness.js'

const NS = 'shop'
const WEB = ref('Deployment', NS, 'web')

type Ann = Record<string, string> | undefined
const annotations = (o: { metadata: { annotations?: Ann } } | undefined): Ann => o?.metadata.annotations
const image = (o: unknown): string | undefined =>
  (o as { spec?: { template?: { spec?: { containers?: { image?: string }[] } } } } | undefined)?.spec?.template?.spec
    ?.containers?.[0]?.image

async function twoRevisions(t: Test, extra: Parameters<typeof deploymentManifest>[2] = {}) {
  const h = await harness(NS)
  t.teardown(h.close)
  await h.fake.seedDeployment(NS, deploymentManifest('web', 'nginx:1', extra))
  await setImage(h.fake, NS, 'web', 'nginx:2')
  h.fake.log.length = 0
  return h
}

t.test('undo to the previous revision: one PATCH, RS re-numbered 1 -> 3 with revision-history "1"', async t => {
  const h = await twoRevisions(t)
  const r = await undoDeployment(h.clients.apps, WEB, { dryRun: false })
  t.equal(r.kind, 'rolled-back')
  if (r.kind !== 'rolled-back') return
  t.match(r, { fromRevision: 2, toRevision: 1, generation: 3, message: 'deployment.apps/web -n shop rolled back' })
  t.same(
    h.fake.log.map(e => `${e.method} ${e.path}`),
    [
      'GET /apis/apps/v1/namespaces/shop/deployments/web',
      'GET /apis/apps/v1/namespaces/shop/replicasets?labelSelector=app%3Dweb%2Ctier+in+%28be%2Cfe%29',
      'PATCH /apis/apps/v1/namespaces/shop/deployments/web?fieldManager=rollguard',
    ],
    'kubectl request sequence, selector formatted and encoded exactly as kubectl sends it',
  )
  const patch = writes(h.fake.log)[0]
  t.equal(patch?.contentType, 'application/json-patch+json')
  const ops = patch?.body as { op: string; path: string; value: unknown }[]
  t.same(
    ops.map(o => `${o.op} ${o.path}`),
    ['replace /metadata/resourceVersion', 'replace /spec/template', 'replace /metadata/annotations'],
  )
  t.same(ops[2]?.value, {
    'deployment.kubernetes.io/revision': '2',
    'kubernetes.io/change-cause': 'deploy nginx:1',
    team: 'a',
  })
  t.notOk(JSON.stringify(ops[1]?.value).includes('pod-template-hash'), 'template sent without pod-template-hash')
  await h.fake.tick()
  const d = h.fake.get('deployments', NS, 'web')
  t.equal(image(d), 'nginx:1')
  t.equal(annotations(d)?.['deployment.kubernetes.io/revision'], '3')
  const rs1 = h.fake.list('replicasets', NS).find(rs => image(rs) === 'nginx:1')
  t.equal(annotations(rs1)?.['deployment.kubernetes.io/revision'], '3')
  t.equal(annotations(rs1)?.['deployment.kubernetes.io/revision-history'], '1')
})

t.test('a second plain undo toggles back to the bad revision (kubectl semantics; the caller must guard)', async t => {
  const h = await twoRevisions(t)
  await undoDeployment(h.clients.apps, WEB, { dryRun: false })
  await h.fake.tick()
  const again = await undoDeployment(h.clients.apps, WEB, { dryRun: false })
  t.match(again, { kind: 'rolled-back', fromRevision: 3, toRevision: 2 })
  await h.fake.tick()
  t.equal(image(h.fake.get('deployments', NS, 'web')), 'nginx:2')
})

t.test('--to-revision: the exact revision, a missing one, a negative one, the current one', async t => {
  const h = await twoRevisions(t)
  await setImage(h.fake, NS, 'web', 'nginx:3')
  h.fake.log.length = 0
  t.match(await undoDeployment(h.clients.apps, WEB, { dryRun: false, toRevision: 7 }), {
    kind: 'error',
    reason: 'revision_not_found',
    message: 'deployment.apps/web -n shop: unable to find specified revision 7 in history',
  })
  t.match(await undoDeployment(h.clients.apps, WEB, { dryRun: false, toRevision: -1 }), {
    kind: 'error',
    reason: 'revision_not_found',
  })
  t.match(await undoDeployment(h.clients.apps, WEB, { dryRun: false, toRevision: 3 }), {
    kind: 'skipped',
    reason: 'already_matches',
    message: 'deployment.apps/web -n shop: skipped rollback (current template already matches revision 3)',
  })
  t.equal(writes(h.fake.log).length, 0, 'nothing written so far')
  const r = await undoDeployment(h.clients.apps, WEB, { dryRun: false, toRevision: 1 })
  t.match(r, { kind: 'rolled-back', fromRevision: 3, toRevision: 1 })
  await h.fake.tick()
  t.equal(image(h.fake.get('deployments', NS, 'web')), 'nginx:1')
})

t.test('a single revision: kubectl\'s "no rollout history found"', async t => {
  const h = await harness(NS)
  t.teardown(h.close)
  await h.fake.seedDeployment(NS, deploymentManifest())
  t.match(await undoDeployment(h.clients.apps, WEB, { dryRun: false }), {
    kind: 'error',
    reason: 'no_history',
    message: 'deployment.apps/web -n shop: no rollout history found for deployment "web"',
  })
  t.equal(writes(h.fake.log).length, 0)
})

t.test("paused deployment: kubectl's error, no PATCH; history errors win over paused", async t => {
  const h = await twoRevisions(t)
  await h.fake.update('deployments', NS, 'web', o => void ((o.spec as { paused?: boolean }).paused = true))
  h.fake.log.length = 0
  t.match(await undoDeployment(h.clients.apps, WEB, { dryRun: false }), {
    kind: 'error',
    reason: 'paused',
    message: /you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again$/,
  })
  t.match(await undoDeployment(h.clients.apps, WEB, { dryRun: false, toRevision: 9 }), { reason: 'revision_not_found' })
  t.equal(writes(h.fake.log).length, 0)
})

t.test('stale resourceVersion -> 409 -> one re-read -> the same rollback -> exactly one more PATCH', async t => {
  const h = await twoRevisions(t)
  h.fake.inject({
    kind: 'bumpAfterGet',
    resource: 'deployments',
    namespace: NS,
    name: 'web',
    mutate: o => void (o.metadata.labels = { touched: 'yes' }),
  })
  const r = await undoDeployment(h.clients.apps, WEB, { dryRun: false, resendOnConflict: true })
  t.match(r, { kind: 'rolled-back', fromRevision: 2, toRevision: 1 })
  const patches = h.fake.log.filter(e => e.method === 'PATCH')
  t.same(
    patches.map(p => p.status),
    [409, 200],
  )
  t.equal(h.fake.log.filter(e => e.method === 'GET').length, 4, 'two GET+LIST rounds')
  const rv = (p: (typeof patches)[number] | undefined) => (p?.body as { value: string }[])[0]?.value
  t.not(rv(patches[0]), rv(patches[1]), 'the second PATCH carries the fresh resourceVersion')
})

t.test('409 without resendOnConflict, when the target moved, or twice: no further PATCH', async t => {
  const plain = await twoRevisions(t)
  plain.fake.inject({ kind: 'bumpAfterGet', resource: 'deployments', namespace: NS, name: 'web' })
  t.match(await undoDeployment(plain.clients.apps, WEB, { dryRun: false }), {
    kind: 'error',
    reason: 'conflict',
    status: 409,
    message: /not retrying/,
  })
  t.same(
    plain.fake.log.filter(e => e.method === 'PATCH').map(p => p.status),
    [409],
  )

  // Someone deploys revision 3 in between: the fresh read no longer gives the rollback 2 → 1 that was planned.
  const moved = await twoRevisions(t)
  moved.fake.inject({
    kind: 'bumpAfterGet',
    resource: 'deployments',
    namespace: NS,
    name: 'web',
    mutate: o => void setFirstImage(o, 'nginx:3'),
  })
  const r = await undoDeployment(moved.clients.apps, WEB, { dryRun: false, resendOnConflict: true })
  t.not(r.kind, 'rolled-back', `not sent again (${r.kind}: ${'message' in r ? r.message : ''})`)
  t.notOk(
    moved.fake.log.some(e => e.method === 'PATCH' && e.status === 200),
    'nothing stored',
  )

  const twice = await twoRevisions(t)
  twice.fake.inject({ kind: 'bumpAfterGet', resource: 'deployments', namespace: NS, name: 'web', times: 2 })
  t.match(await undoDeployment(twice.clients.apps, WEB, { dryRun: false, resendOnConflict: true }), {
    kind: 'error',
    reason: 'conflict',
    message: /conflicted again after re-planning/,
  })
  t.same(
    twice.fake.log.filter(e => e.method === 'PATCH').map(p => p.status),
    [409, 409],
  )
})

function setFirstImage(o: Record<string, unknown>, image: string): void {
  const c = (o.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]
  if (c) c.image = image
}

t.test('403 on PATCH: one attempt, forbidden with the RBAC message', async t => {
  const h = await twoRevisions(t)
  h.fake.authorize = req => req.verb !== 'patch'
  const r = await undoDeployment(h.clients.apps, WEB, { dryRun: false, resendOnConflict: true })
  t.match(r, {
    kind: 'error',
    reason: 'forbidden',
    status: 403,
    message: /deployment\.apps\/web -n shop: rollback patch: deployments\.apps "web" is forbidden/,
  })
  t.equal(h.fake.log.filter(e => e.method === 'PATCH').length, 1)
  h.fake.authorize = req => req.verb !== 'list'
  t.match(await undoDeployment(h.clients.apps, WEB, { dryRun: false }), { kind: 'error', reason: 'forbidden' })
})

t.test('API server down or hung: unavailable, never a throw', async t => {
  const h = await twoRevisions(t)
  const port = h.fake.port
  h.fake.inject({ kind: 'reset', match: { method: 'PATCH' } })
  t.match(await undoDeployment(h.clients.apps, WEB, { dryRun: false }), { kind: 'error', reason: 'unavailable' })
  h.fake.inject({ kind: 'status', code: 503, match: { verb: 'list' } })
  t.match(await undoDeployment(h.clients.apps, WEB, { dryRun: false }), {
    kind: 'error',
    reason: 'unavailable',
    status: 503,
  })
  h.fake.inject({ kind: 'delay', ms: 2_000, match: { verb: 'get' } })
  const { makeClients } = await import('../../../src/actions/kube/client.js')
  const { kubeConfigFor } = await import('../../fixtures/kube/index.js')
  const impatient = makeClients(kubeConfigFor(h.fake, NS), { requestTimeoutMs: 200 })
  const started = Date.now()
  t.match(await undoDeployment(impatient.apps, WEB, { dryRun: false }), {
    kind: 'error',
    reason: 'unavailable',
    message: /timed out|aborted/,
  })
  t.ok(Date.now() - started < 1_500, 'bounded by the request timeout')
  await h.close()
  const r = await undoDeployment(h.clients.apps, WEB, { dryRun: false })
  t.match(r, { kind: 'error', reason: 'unavailable', message: /ECONNREFUSED/ })
  t.ok(port > 0)
})

t.test('an aborted signal: nothing is sent', async t => {
  const h = await twoRevisions(t)
  const r = await undoDeployment(h.clients.apps, WEB, {
    dryRun: false,
    signal: AbortSignal.abort(new Error('lost leadership')),
  })
  t.match(r, { kind: 'error', reason: 'unavailable' })
  t.equal(writes(h.fake.log).length, 0)
})

t.test('dry run: dryRun=All validates the exact patch, nothing is stored', async t => {
  const h = await twoRevisions(t)
  const before = h.fake.get('deployments', NS, 'web')
  const r = await undoDeployment(h.clients.apps, WEB, { dryRun: true })
  t.match(r, { kind: 'dry-run', fromRevision: 2, toRevision: 1, generation: 3 })
  const patch = writes(h.fake.log)[0]
  t.match(patch?.path, /[?&]dryRun=All(&|$)/)
  t.equal(patch?.status, 200)
  await h.fake.tick()
  t.same(h.fake.get('deployments', NS, 'web'), before, 'nothing stored, no controller work')
})

t.test('record annotation in the same patch; the generation it names is the one the patch produces', async t => {
  const h = await twoRevisions(t)
  const r = await undoDeployment(h.clients.apps, WEB, {
    dryRun: false,
    record: {
      annotationKey: 'rollguard.io/rolled-back',
      value: c =>
        JSON.stringify({ from: c.fromRevision, to: c.toRevision, generation: c.generation, images: c.toImages }),
    },
  })
  t.equal(r.kind, 'rolled-back')
  const d = h.fake.get('deployments', NS, 'web')
  const marker = JSON.parse(annotations(d)?.['rollguard.io/rolled-back'] ?? '{}') as { generation: number }
  t.same(marker, { from: 2, to: 1, generation: 3, images: ['nginx:1'] })
  t.equal(d?.metadata.generation, marker.generation)
  t.equal(r.kind === 'rolled-back' && r.generation, 3)
})

t.test(
  'annotations: skip-listed keys kept from the Deployment, the rest from the RS; last-applied warning',
  async t => {
    const h = await twoRevisions(t, { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"x":1}' } })
    await h.fake.update(
      'deployments',
      NS,
      'web',
      o => void (o.metadata.annotations = { ...o.metadata.annotations, added: 'later' }),
    )
    const r = await undoDeployment(h.clients.apps, WEB, { dryRun: false })
    t.equal(r.kind, 'rolled-back')
    if (r.kind !== 'rolled-back') return
    t.match(r.warnings[0], /^resource deployments\/web was previously managed with 'kubectl apply'/)
    const d = h.fake.get('deployments', NS, 'web')
    t.same(annotations(d), {
      'kubectl.kubernetes.io/last-applied-configuration': '{"x":1}',
      'deployment.kubernetes.io/revision': '3',
      'kubernetes.io/change-cause': 'deploy nginx:1',
      team: 'a',
    })
  },
)

t.test('a rollout in flight (generation not yet observed): refused without reading history', async t => {
  const h = await harness(NS, { autoController: false })
  t.teardown(h.close)
  await h.fake.seedDeployment(NS, deploymentManifest())
  // A template change over HTTP: with autoController off nothing observes it until tick().
  await h.clients.apps.patchNamespacedDeployment({
    name: 'web',
    namespace: NS,
    body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'nginx:2' }],
  })
  h.fake.log.length = 0
  t.match(await undoDeployment(h.clients.apps, WEB, { dryRun: false }), {
    kind: 'skipped',
    reason: 'rollout_in_flight',
    message: /generation 2 not yet observed/,
  })
  t.same(
    h.fake.log.map(e => e.method),
    ['GET'],
    'only the GET of the deployment',
  )
  await h.fake.tick()
  t.match(await undoDeployment(h.clients.apps, WEB, { dryRun: false }), {
    kind: 'rolled-back',
    fromRevision: 2,
    toRevision: 1,
  })
})

t.test('not found', async t => {
  const h = await harness(NS)
  t.teardown(h.close)
  t.match(await undoDeployment(h.clients.apps, ref('Deployment', NS, 'nope'), { dryRun: false }), {
    kind: 'error',
    reason: 'not_found',
    status: 404,
    message:
      'deployment.apps/nope -n shop: reading the deployment and its replica sets: deployments.apps "nope" not found',
  })
})
