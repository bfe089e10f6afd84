// The emulated controllers: bad rollouts and ProgressDeadlineExceeded on the injectable clock, asynchronous
// observedGeneration, pause, revisionHistoryLimit, StatefulSet/DaemonSet ControllerRevisions.
import t from 'tap'
import { AppsV1Api, PatchStrategy, setHeaderOptions, type V1Deployment } from '@kubernetes/client-node'
import { manualClock } from '../fixtures/kube/index.js'
import { fake, kc, until, web } from '../fixtures/kube/testing.js'

const json = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch)
const progressing = (d: V1Deployment) => d.status?.conditions?.find(c => c.type === 'Progressing')
const setImage = (img: string) => (tm: { spec?: { containers?: { image?: string }[] } }) =>
  void (tm.spec!.containers![0]!.image = img)

t.test(
  'bad rollout: never available, then ProgressDeadlineExceeded after clock.advance; rollback recovers',
  async t => {
    const clock = manualClock()
    const f = await fake(t, { clock })
    const apps = kc(f, 'ns').makeApiClient(AppsV1Api)
    await f.seedDeployment('ns', web('nginx:1', { progressDeadlineSeconds: 60 }))
    await f.updateTemplate('ns', 'web', setImage('nginx:bad'))
    let d = await apps.readNamespacedDeployment({ name: 'web', namespace: 'ns' })
    t.equal(d.status?.observedGeneration, 2)
    t.equal(d.status?.updatedReplicas, 1, 'maxSurge 25% of 3 → one new pod')
    t.equal(d.status?.availableReplicas, 3, 'maxUnavailable rounds down to 0: old pods stay')
    t.equal(d.status?.unavailableReplicas, 1)
    t.equal(progressing(d)?.status, 'True')
    clock.advance(59_000)
    await f.tick()
    d = await apps.readNamespacedDeployment({ name: 'web', namespace: 'ns' })
    t.not(progressing(d)?.reason, 'ProgressDeadlineExceeded', 'not before the deadline')
    clock.advance(2_000)
    await f.tick()
    d = await apps.readNamespacedDeployment({ name: 'web', namespace: 'ns' })
    t.match(progressing(d), {
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
      message: /^ReplicaSet "web-[a-z0-9]+" has timed out progressing\.$/,
    })
    const good = f
      .list('replicasets', 'ns')
      .find(
        rs =>
          (rs.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]
            ?.image === 'nginx:1',
      )
    const tmpl = structuredClone(
      (good?.spec as { template: { metadata: { labels: Record<string, string> } } }).template,
    )
    delete tmpl.metadata.labels['pod-template-hash']
    await apps.patchNamespacedDeployment(
      { name: 'web', namespace: 'ns', body: [{ op: 'replace', path: '/spec/template', value: tmpl }] },
      json,
    )
    await f.tick()
    d = await apps.readNamespacedDeployment({ name: 'web', namespace: 'ns' })
    t.equal(d.status?.observedGeneration, 3)
    t.match(progressing(d), { status: 'True', reason: 'NewReplicaSetAvailable' })
    t.same([d.status?.replicas, d.status?.updatedReplicas, d.status?.availableReplicas], [3, 3, 3])
    t.equal(d.metadata?.annotations?.['deployment.kubernetes.io/revision'], '3')
    t.same(f.controllerErrors, [])
  },
)

t.test('the controller runs asynchronously after writes: observedGeneration catches up', async t => {
  const f = await fake(t, { controllerDelayMs: 30 })
  const apps = kc(f, 'ns').makeApiClient(AppsV1Api)
  await f.seedDeployment('ns', web('nginx:1'))
  const patched = await apps.patchNamespacedDeployment(
    {
      name: 'web',
      namespace: 'ns',
      body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'nginx:2' }],
    },
    json,
  )
  t.equal(patched.metadata?.generation, 2)
  t.equal(patched.status?.observedGeneration, 1)
  const seen = await until(async () => {
    const d = await apps.readNamespacedDeployment({ name: 'web', namespace: 'ns' })
    return d.status?.observedGeneration === 2 && d.status.updatedReplicas === 3 && d.status.replicas === 3
      ? d
      : undefined
  })
  t.equal(seen.metadata?.annotations?.['deployment.kubernetes.io/revision'], '2')
})

t.test('progress deadline passes in real time with the wall clock', async t => {
  const f = await fake(t)
  const apps = kc(f, 'ns').makeApiClient(AppsV1Api)
  await f.seedDeployment('ns', web('nginx:1', { progressDeadlineSeconds: 1 }))
  await f.updateTemplate('ns', 'web', setImage('nginx:bad'))
  const d = await until(
    async () => {
      const x = await apps.readNamespacedDeployment({ name: 'web', namespace: 'ns' })
      return progressing(x)?.reason === 'ProgressDeadlineExceeded' ? x : undefined
    },
    8000,
    100,
  )
  t.equal(progressing(d)?.status, 'False')
})

t.test('paused: a template change creates no ReplicaSet; generation observed; DeploymentPaused', async t => {
  const f = await fake(t)
  await f.seedDeployment('ns', web('nginx:1'))
  await f.update('deployments', 'ns', 'web', o => void ((o.spec as { paused?: boolean }).paused = true))
  const d = await f.updateTemplate('ns', 'web', setImage('nginx:2'))
  t.equal(f.list('replicasets', 'ns').length, 1)
  t.equal((d.status as { observedGeneration: number }).observedGeneration, d.metadata.generation)
  t.match((d.status as { conditions: unknown[] }).conditions, [
    { type: 'Available' },
    { type: 'Progressing', status: 'Unknown', reason: 'DeploymentPaused' },
  ])
  const resumed = await f.update(
    'deployments',
    'ns',
    'web',
    o => void ((o.spec as { paused?: boolean }).paused = false),
  )
  t.equal(f.list('replicasets', 'ns').length, 2)
  t.equal(resumed.metadata.annotations?.['deployment.kubernetes.io/revision'], '2')
})

t.test('revisionHistoryLimit prunes the oldest scaled-down ReplicaSets', async t => {
  const f = await fake(t)
  await f.seedDeployment('ns', { ...web('nginx:1'), spec: { ...web('nginx:1').spec, revisionHistoryLimit: 2 } })
  for (const v of [2, 3, 4, 5]) await f.updateTemplate('ns', 'web', setImage(`nginx:${v}`))
  const revs = f
    .list('replicasets', 'ns')
    .map(rs => rs.metadata.annotations?.['deployment.kubernetes.io/revision'])
    .sort()
  t.same(revs, ['3', '4', '5'])
})

t.test('Recreate strategy and scaling', async t => {
  const f = await fake(t)
  const base = web('nginx:1')
  await f.seedDeployment('ns', { ...base, spec: { ...base.spec, strategy: { type: 'Recreate' } } })
  await f.updateTemplate('ns', 'web', setImage('nginx:2'))
  const sizes = f
    .list('replicasets', 'ns')
    .map(rs => [
      rs.metadata.annotations?.['deployment.kubernetes.io/revision'],
      (rs.spec as { replicas: number }).replicas,
    ])
  t.same(sizes.sort(), [
    ['1', 0],
    ['2', 3],
  ])
  const d = await f.update('deployments', 'ns', 'web', o => void ((o.spec as { replicas: number }).replicas = 5))
  t.equal((d.status as { availableReplicas: number }).availableReplicas, 5)
})

t.test('the /scale subresource (autoscaling/v1 Scale)', async t => {
  const f = await fake(t)
  const apps = kc(f, 'ns').makeApiClient(AppsV1Api)
  await f.seedDeployment('ns', web('nginx:1'))
  const scale = await apps.readNamespacedDeploymentScale({ name: 'web', namespace: 'ns' })
  t.match(scale, {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    spec: { replicas: 3 },
    status: { replicas: 3, selector: 'app=web,tier in (be,fe)' },
  })
  const up = await apps.replaceNamespacedDeploymentScale({
    name: 'web',
    namespace: 'ns',
    body: { ...scale, spec: { replicas: 5 } },
  })
  t.equal(up.spec?.replicas, 5)
  const stale = await apps
    .replaceNamespacedDeploymentScale({ name: 'web', namespace: 'ns', body: { ...scale, spec: { replicas: 1 } } })
    .catch((e: { code: number }) => e.code)
  t.equal(stale, 409)
  await apps.patchNamespacedDeploymentScale(
    { name: 'web', namespace: 'ns', body: { spec: { replicas: 4 } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  )
  await f.tick()
  const d = await apps.readNamespacedDeployment({ name: 'web', namespace: 'ns' })
  t.same([d.spec?.replicas, d.status?.availableReplicas, d.metadata?.generation], [4, 4, 3])
})

const sts = {
  metadata: { name: 'db' },
  spec: {
    replicas: 2,
    serviceName: 'db',
    selector: { matchLabels: { app: 'db' } },
    template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'c', image: 'pg:1' }] } },
  },
}

t.test(
  'StatefulSet: ControllerRevisions, strategic-merge rollback with the stored data, revision re-numbered',
  async t => {
    const f = await fake(t)
    const apps = kc(f, 'ns').makeApiClient(AppsV1Api)
    await f.seed('statefulsets', 'ns', sts)
    await f.update(
      'statefulsets',
      'ns',
      'db',
      o => void ((o.spec as typeof sts.spec).template.spec.containers[0]!.image = 'pg:bad'),
    )
    const crs = (await apps.listNamespacedControllerRevision({ namespace: 'ns', labelSelector: 'app=db' })).items.sort(
      (a, b) => a.revision - b.revision,
    )
    t.same(
      crs.map(c => c.revision),
      [1, 2],
    )
    const first = crs[0]!
    t.equal(first.data.spec.template.$patch, 'replace')
    t.equal(first.data.spec.template.spec.containers[0].image, 'pg:1')
    t.match(first.metadata?.ownerReferences, [{ kind: 'StatefulSet', name: 'db', controller: true }])
    t.ok(first.metadata?.labels?.['controller.kubernetes.io/hash'])
    let s = await apps.readNamespacedStatefulSet({ name: 'db', namespace: 'ns' })
    t.not(s.status?.currentRevision, s.status?.updateRevision, 'bad template: rollout stuck')
    t.ok((s.status?.readyReplicas ?? 0) < 2)
    await apps.patchNamespacedStatefulSet(
      { name: 'db', namespace: 'ns', body: first.data },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    )
    await f.tick()
    s = await apps.readNamespacedStatefulSet({ name: 'db', namespace: 'ns' })
    t.equal(s.spec?.template.spec?.containers[0]?.image, 'pg:1')
    t.equal(s.status?.updateRevision, first.metadata?.name)
    t.equal(s.status?.currentRevision, first.metadata?.name)
    t.equal(s.status?.readyReplicas, 2)
    const after = (await apps.listNamespacedControllerRevision({ namespace: 'ns' })).items
    t.equal(after.find(c => c.metadata?.name === first.metadata?.name)?.revision, 3, 'reused revision becomes max+1')
  },
)

t.test('DaemonSet: ControllerRevisions with controller-revision-hash; rollback via stored data', async t => {
  const f = await fake(t)
  const apps = kc(f, 'ns').makeApiClient(AppsV1Api)
  const ds = {
    metadata: { name: 'agent' },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'c', image: 'a:1' }] } },
    },
  }
  await f.seed('daemonsets', 'ns', ds)
  await f.update(
    'daemonsets',
    'ns',
    'agent',
    o => void ((o.spec as typeof ds.spec).template.spec.containers[0]!.image = 'a:bad'),
  )
  let d = await apps.readNamespacedDaemonSet({ name: 'agent', namespace: 'ns' })
  t.equal(d.status?.numberUnavailable, 1)
  const crs = (await apps.listNamespacedControllerRevision({ namespace: 'ns', labelSelector: 'app=agent' })).items
  const r1 = crs.find(c => c.revision === 1)!
  t.ok(r1.metadata?.labels?.['controller-revision-hash'])
  await apps.patchNamespacedDaemonSet(
    { name: 'agent', namespace: 'ns', body: r1.data },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  )
  await f.tick()
  d = await apps.readNamespacedDaemonSet({ name: 'agent', namespace: 'ns' })
  t.equal(d.spec?.template.spec?.containers[0]?.image, 'a:1')
  t.same([d.status?.numberAvailable, d.status?.updatedNumberScheduled, d.status?.desiredNumberScheduled], [1, 1, 1])
  t.equal((await apps.readNamespacedControllerRevision({ name: r1.metadata!.name!, namespace: 'ns' })).revision, 3)
  t.same(f.controllerErrors, [])
})
