// The fake API server through the real @kubernetes/client-node 1.4 client: CRUD semantics, selectors,
// patches, optimistic concurrency, Status error bodies, dry run, request log.
import t from 'tap'
import {
  AppsV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
  type V1ReplicaSet,
} from '@kubernetes/client-node'
import { failure, fake, kc, web, type Teardown } from '../fixtures/kube/testing.js'

const REV = 'deployment.kubernetes.io/revision'
const json = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch)
const image = (o: V1Deployment | V1ReplicaSet) => o.spec?.template?.spec?.containers[0]?.image

async function twoRevisions(t: Teardown) {
  const f = await fake(t)
  const apps = kc(f, 'ns').makeApiClient(AppsV1Api)
  await f.seedDeployment('ns', web('nginx:1'))
  await f.updateTemplate('ns', 'web', tm => void (tm.spec!.containers![0]!.image = 'nginx:2'))
  return { f, apps }
}

t.test('seed and template update: ReplicaSets with hash, owner, revisions; generation and status', async t => {
  const { f, apps } = await twoRevisions(t)
  const d = await apps.readNamespacedDeployment({ name: 'web', namespace: 'ns' })
  t.equal(d.metadata?.generation, 2)
  t.equal(d.status?.observedGeneration, 2)
  t.equal(d.metadata?.annotations?.[REV], '2')
  t.match(d.metadata?.resourceVersion, /^\d+$/)
  t.match(d.metadata?.uid, /^[0-9a-f-]{36}$/)
  t.equal(d.spec?.replicas, 3)
  t.same([d.status?.updatedReplicas, d.status?.availableReplicas, d.status?.replicas], [3, 3, 3])
  t.equal(d.status?.conditions?.find(c => c.type === 'Progressing')?.reason, 'NewReplicaSetAvailable')
  t.equal(d.spec?.strategy?.type, 'RollingUpdate', 'defaulted')
  const list = await apps.listNamespacedReplicaSet({ namespace: 'ns' })
  t.equal(list.items.length, 2)
  for (const rs of list.items) {
    const hash = rs.metadata?.labels?.['pod-template-hash']
    t.ok(hash, 'pod-template-hash label')
    t.equal(rs.metadata?.name, `web-${hash}`)
    t.equal(rs.spec?.selector.matchLabels?.['pod-template-hash'], hash)
    t.equal(rs.spec?.template?.metadata?.labels?.['pod-template-hash'], hash)
    t.match(rs.metadata?.ownerReferences, [
      { kind: 'Deployment', name: 'web', uid: d.metadata?.uid, controller: true, blockOwnerDeletion: true },
    ])
    t.equal(rs.metadata?.annotations?.['kubernetes.io/change-cause'], 'v1', 'deployment annotations copied')
  }
  const byRev = Object.fromEntries(list.items.map(rs => [rs.metadata?.annotations?.[REV], rs]))
  t.equal(image(byRev['1']!), 'nginx:1')
  t.equal(byRev['1']?.spec?.replicas, 0)
  t.equal(image(byRev['2']!), 'nginx:2')
  t.equal(byRev['2']?.spec?.replicas, 3)
  t.equal(byRev['2']?.metadata?.annotations?.['deployment.kubernetes.io/desired-replicas'], '3')
  t.equal(byRev['2']?.metadata?.annotations?.['deployment.kubernetes.io/max-replicas'], '4')
  t.same(f.controllerErrors, [])
})

t.test('label selectors (set-based) and field selectors on LIST', async t => {
  const { apps } = await twoRevisions(t)
  const names = async (labelSelector?: string, fieldSelector?: string) =>
    (await apps.listNamespacedReplicaSet({ namespace: 'ns', labelSelector, fieldSelector })).items.map(
      rs => rs.metadata?.name,
    ).length
  t.equal(await names('app=web,tier in (be,fe)'), 2, 'what kubectl sends')
  t.equal(await names('app==web,tier notin (fe)'), 0)
  t.equal(await names('tier,!missing'), 2)
  t.equal(await names('!tier'), 0)
  t.equal(await names('app!=web'), 0)
  t.equal(await names('app in ()'), 0)
  const one = (await apps.listNamespacedReplicaSet({ namespace: 'ns' })).items[0]?.metadata?.name ?? ''
  t.equal(await names(undefined, `metadata.name=${one}`), 1)
  t.equal(await names(undefined, `metadata.name!=${one}`), 1)
  const bad = await failure(apps.listNamespacedReplicaSet({ namespace: 'ns', labelSelector: 'app in (a' }))
  t.equal(bad.code, 400)
  t.equal(bad.status.reason, 'BadRequest')
  const field = await failure(apps.listNamespacedReplicaSet({ namespace: 'ns', fieldSelector: 'spec.replicas=1' }))
  t.same([field.code, field.status.message], [400, 'field label not supported: spec.replicas'])
  const page = await apps.listNamespacedReplicaSet({ namespace: 'ns', limit: 1 })
  t.equal(page.items.length, 1)
  t.ok(page.metadata?._continue)
  const rest = await apps.listNamespacedReplicaSet({ namespace: 'ns', limit: 1, _continue: page.metadata?._continue })
  t.equal(rest.items.length, 1)
  t.not(rest.items[0]?.metadata?.name, page.items[0]?.metadata?.name)
  t.notOk(rest.metadata?._continue)
})

t.test('kubectl-style JSON patch undo: applied, then the controller re-numbers the reused ReplicaSet', async t => {
  const { f, apps } = await twoRevisions(t)
  const d = await apps.readNamespacedDeployment({ name: 'web', namespace: 'ns' })
  const rs1 = f.list('replicasets', 'ns').find(rs => rs.metadata.annotations?.[REV] === '1') as unknown as V1ReplicaSet
  const template = structuredClone(rs1.spec!.template!)
  delete template.metadata!.labels!['pod-template-hash']
  const ops = [
    {
      op: 'replace',
      path: '/spec/template',
      value: { ...template, metadata: { ...template.metadata, creationTimestamp: null } },
    },
    {
      op: 'replace',
      path: '/metadata/annotations',
      value: { [REV]: '2', 'kubernetes.io/change-cause': 'v1', team: 'a' },
    },
  ]
  const patched = await apps.patchNamespacedDeployment({ name: 'web', namespace: 'ns', body: ops }, json)
  t.equal(image(patched), 'nginx:1')
  t.equal(patched.metadata?.generation, 3, 'spec/annotations change bumps generation')
  t.ok((patched.status?.observedGeneration ?? 0) < 3, 'the PATCH response precedes the controller')
  await f.tick()
  const after = await apps.readNamespacedDeployment({ name: 'web', namespace: 'ns' })
  t.equal(after.metadata?.annotations?.[REV], '3')
  t.equal(after.status?.observedGeneration, 3)
  const rss = (await apps.listNamespacedReplicaSet({ namespace: 'ns' })).items
  const reused = rss.find(rs => rs.metadata?.uid === rs1.metadata?.uid)
  t.equal(reused?.metadata?.annotations?.[REV], '3')
  t.equal(reused?.metadata?.annotations?.['deployment.kubernetes.io/revision-history'], '1')
  t.equal(reused?.spec?.replicas, 3)
  t.equal(rss.length, 2, 'no spurious ReplicaSet despite creationTimestamp:null and defaults')
  t.equal(d.metadata?.uid, after.metadata?.uid)
})

t.test(
  'optimistic lock: stale resourceVersion → 409 Conflict (patch op and PUT); unconditional PUT allowed',
  async t => {
    const { apps } = await twoRevisions(t)
    const d = await apps.readNamespacedDeployment({ name: 'web', namespace: 'ns' })
    const lock = (rv: string) => [
      { op: 'replace', path: '/metadata/resourceVersion', value: rv },
      { op: 'add', path: '/spec/paused', value: true },
    ]
    const e = await failure(apps.patchNamespacedDeployment({ name: 'web', namespace: 'ns', body: lock('1') }, json))
    t.equal(e.code, 409)
    t.same(e.status, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again',
      reason: 'Conflict',
      details: { name: 'web', group: 'apps', kind: 'deployments' },
      code: 409,
    })
    const ok = await apps.patchNamespacedDeployment(
      { name: 'web', namespace: 'ns', body: lock(d.metadata!.resourceVersion!) },
      json,
    )
    t.equal(ok.spec?.paused, true)
    const stale = { ...d, spec: { ...d.spec!, paused: false } }
    t.equal(
      (await failure(apps.replaceNamespacedDeployment({ name: 'web', namespace: 'ns', body: stale }))).status.reason,
      'Conflict',
    )
    const unconditional = { ...stale, metadata: { ...stale.metadata, resourceVersion: undefined } }
    const put = await apps.replaceNamespacedDeployment({ name: 'web', namespace: 'ns', body: unconditional })
    t.equal(put.spec?.paused, false)
    t.ok(Number(put.metadata?.resourceVersion) > Number(ok.metadata?.resourceVersion), 'global resourceVersion grows')
  },
)

t.test('JSON patch: failed test op and replace of a missing member → 422, nothing stored', async t => {
  const { f, apps } = await twoRevisions(t)
  const before = f.get('deployments', 'ns', 'web')?.metadata.resourceVersion
  const generic = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'the server rejected our request due to an error in our request',
    reason: 'Invalid',
    details: {},
    code: 422,
  }
  const testOp = [
    { op: 'test', path: '/spec/replicas', value: 7 },
    { op: 'replace', path: '/spec/replicas', value: 1 },
  ]
  const e1 = await failure(apps.patchNamespacedDeployment({ name: 'web', namespace: 'ns', body: testOp }, json))
  t.same([e1.code, e1.status], [422, generic])
  const e2 = await failure(
    apps.patchNamespacedDeployment(
      { name: 'web', namespace: 'ns', body: [{ op: 'replace', path: '/spec/nope/x', value: 1 }] },
      json,
    ),
  )
  t.equal(e2.code, 422)
  const e3 = await failure(
    apps.patchNamespacedDeployment({ name: 'web', namespace: 'ns', body: { not: 'a list' } }, json),
  )
  t.same([e3.code, e3.status.reason], [400, 'BadRequest'])
  t.equal(f.get('deployments', 'ns', 'web')?.metadata.resourceVersion, before)
  const passing = [
    { op: 'test', path: '/spec/replicas', value: 3 },
    { op: 'replace', path: '/spec/replicas', value: 2 },
  ]
  t.equal(
    (await apps.patchNamespacedDeployment({ name: 'web', namespace: 'ns', body: passing }, json)).spec?.replicas,
    2,
  )
})

t.test('merge and strategic merge patches; unsupported content type → 415', async t => {
  const { apps } = await twoRevisions(t)
  const merge = await apps.patchNamespacedDeployment(
    { name: 'web', namespace: 'ns', body: { metadata: { annotations: { team: null, owner: 'b' } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  )
  t.equal(merge.metadata?.annotations?.team, undefined)
  t.equal(merge.metadata?.annotations?.owner, 'b')
  const smp = await apps.patchNamespacedDeployment(
    {
      name: 'web',
      namespace: 'ns',
      body: {
        spec: {
          template: {
            spec: {
              containers: [
                { name: 'c', image: 'nginx:3' },
                { name: 'side', image: 'envoy:1' },
              ],
            },
          },
        },
      },
    },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  )
  const cs = smp.spec?.template?.spec?.containers ?? []
  t.same(
    cs.map(c => [c.name, c.image]),
    [
      ['c', 'nginx:3'],
      ['side', 'envoy:1'],
    ],
    'containers merged by name',
  )
  t.same(cs[0]?.resources?.limits, { cpu: '500m' }, 'other container fields kept')
  const e = await failure(
    apps.patchNamespacedDeployment(
      { name: 'web', namespace: 'ns', body: {} },
      setHeaderOptions('Content-Type', 'text/plain'),
    ),
  )
  t.same([e.code, e.status.reason], [415, 'UnsupportedMediaType'])
  t.equal(
    e.status.message,
    'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml',
  )
})

t.test('404 and 403 Status bodies, decoded from ApiException', async t => {
  const { f, apps } = await twoRevisions(t)
  const nf = await failure(apps.readNamespacedDeployment({ name: 'nope', namespace: 'ns' }))
  t.same(nf, {
    code: 404,
    headers: nf.headers,
    status: {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'deployments.apps "nope" not found',
      reason: 'NotFound',
      details: { name: 'nope', group: 'apps', kind: 'deployments' },
      code: 404,
    },
  })
  f.authorize = r => r.verb !== 'patch'
  const fb = await failure(apps.patchNamespacedDeployment({ name: 'web', namespace: 'ns', body: [] }, json))
  t.equal(fb.code, 403)
  t.equal(fb.status.reason, 'Forbidden')
  t.equal(
    fb.status.message,
    'deployments.apps "web" is forbidden: User "system:serviceaccount:default:default" cannot patch resource "deployments" in API group "apps" in the namespace "ns"',
  )
  t.same(fb.status.details, { name: 'web', group: 'apps', kind: 'deployments' })
  f.authorize = r => r.verb !== 'list'
  const fl = await failure(apps.listNamespacedReplicaSet({ namespace: 'ns' }))
  t.equal(
    fl.status.message,
    'replicasets.apps is forbidden: User "system:serviceaccount:default:default" cannot list resource "replicasets" in API group "apps" in the namespace "ns"',
  )
})

t.test('validation (422) and create conflicts (409 AlreadyExists)', async t => {
  const { apps } = await twoRevisions(t)
  const dup = await failure(apps.createNamespacedDeployment({ namespace: 'ns', body: web() }))
  t.same(
    [dup.code, dup.status.reason, dup.status.message],
    [409, 'AlreadyExists', 'deployments.apps "web" already exists'],
  )
  const bad = web()
  bad.metadata.name = 'other'
  bad.spec.template.metadata.labels = { app: 'x', tier: 'fe' }
  const inv = await failure(apps.createNamespacedDeployment({ namespace: 'ns', body: bad }))
  t.equal(inv.code, 422)
  t.equal(
    inv.status.message,
    'Deployment.apps "other" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"x", "tier":"fe"}: `selector` does not match template `labels`',
  )
  t.match(inv.status.details, {
    name: 'other',
    group: 'apps',
    kind: 'Deployment',
    causes: [{ reason: 'FieldValueInvalid', field: 'spec.template.metadata.labels' }],
  })
  const sel = await failure(
    apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace: 'ns',
        body: [{ op: 'replace', path: '/spec/selector', value: { matchLabels: { app: 'web' } } }],
      },
      json,
    ),
  )
  t.equal(sel.code, 422)
  t.match(
    sel.status.message,
    /^Deployment.apps "web" is invalid: spec.selector: Invalid value: v1.LabelSelector\{.*\}: field is immutable$/,
  )
})

t.test('dryRun=All validates and answers but stores nothing and wakes no controller', async t => {
  const { f, apps } = await twoRevisions(t)
  const rv = f.get('deployments', 'ns', 'web')?.metadata.resourceVersion
  const ops = [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'nginx:9' }]
  const dry = await apps.patchNamespacedDeployment({ name: 'web', namespace: 'ns', body: ops, dryRun: 'All' }, json)
  t.equal(image(dry), 'nginx:9')
  t.equal(dry.metadata?.generation, 3)
  await f.tick()
  t.equal(f.get('deployments', 'ns', 'web')?.metadata.resourceVersion, rv)
  t.equal(f.list('replicasets', 'ns').length, 2)
  const created = await apps.createNamespacedDeployment({
    namespace: 'ns',
    body: { ...web(), metadata: { name: 'dry' } },
    dryRun: 'All',
  })
  t.equal(created.metadata?.name, 'dry')
  t.equal(f.get('deployments', 'ns', 'dry'), undefined)
  const badValue = await failure(
    apps.patchNamespacedDeployment({ name: 'web', namespace: 'ns', body: ops, dryRun: 'Yes' }, json),
  )
  t.equal(badValue.code, 422)
})

t.test('request log: method, path+query, content type, parsed body, status', async t => {
  const { f, apps } = await twoRevisions(t)
  f.log.length = 0
  await apps.listNamespacedReplicaSet({ namespace: 'ns', labelSelector: 'app=web,tier in (be,fe)' })
  await apps.patchNamespacedDeployment(
    { name: 'web', namespace: 'ns', body: [{ op: 'replace', path: '/spec/replicas', value: 1 }] },
    json,
  )
  await failure(apps.readNamespacedDeployment({ name: 'x', namespace: 'ns' }))
  t.match(f.log, [
    {
      method: 'GET',
      path: '/apis/apps/v1/namespaces/ns/replicasets?labelSelector=app%3Dweb%2Ctier+in+%28be%2Cfe%29',
      verb: 'list',
      query: { labelSelector: 'app=web,tier in (be,fe)' },
      status: 200,
    },
    {
      method: 'PATCH',
      contentType: 'application/json-patch+json',
      body: [{ op: 'replace', path: '/spec/replicas', value: 1 }],
      verb: 'patch',
      name: 'web',
      status: 200,
    },
    { method: 'GET', verb: 'get', name: 'x', status: 404 },
  ])
  t.equal(f.log.length, 3)
})

t.test('DELETE: Success Status, preconditions, garbage collection of owned ReplicaSets (or orphaning)', async t => {
  const { f, apps } = await twoRevisions(t)
  const d = await apps.readNamespacedDeployment({ name: 'web', namespace: 'ns' })
  const pre = await failure(
    apps.deleteNamespacedDeployment({
      name: 'web',
      namespace: 'ns',
      body: { preconditions: { resourceVersion: '1' } },
    }),
  )
  t.same([pre.code, pre.status.reason], [409, 'Conflict'])
  const gone = await apps.deleteNamespacedDeployment({ name: 'web', namespace: 'ns' })
  t.match(gone, {
    kind: 'Status',
    status: 'Success',
    details: { name: 'web', group: 'apps', kind: 'deployments', uid: d.metadata?.uid },
  })
  t.equal(f.list('replicasets', 'ns').length, 0, 'dependents collected')
  await f.seedDeployment('ns', web())
  await apps.deleteNamespacedDeployment({ name: 'web', namespace: 'ns', propagationPolicy: 'Orphan' })
  const orphans = f.list('replicasets', 'ns')
  t.equal(orphans.length, 1)
  t.same(orphans[0]?.metadata.ownerReferences, [])
})

t.test('server-side apply (approximation): needs fieldManager, creates or merges', async t => {
  const { apps } = await twoRevisions(t)
  const ssa = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply)
  const noManager = await failure(
    apps.patchNamespacedDeployment({ name: 'web', namespace: 'ns', body: { metadata: { labels: { a: 'b' } } } }, ssa),
  )
  t.same(
    [noManager.code, noManager.status.message],
    [422, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch'],
  )
  const applied = await apps.patchNamespacedDeployment(
    {
      name: 'web',
      namespace: 'ns',
      fieldManager: 'me',
      body: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels: { a: 'b' } } },
    },
    ssa,
  )
  t.equal(applied.metadata?.labels?.a, 'b')
  const created = await apps.patchNamespacedDeploymentWithHttpInfo(
    { name: 'new', namespace: 'ns', fieldManager: 'me', body: { ...web(), metadata: { name: 'new' } } },
    ssa,
  )
  t.equal(created.httpStatusCode, 201)
})
