import t from 'tap'
import { deploymentFacts, revisionFacts, workloadFacts } from '../../src/actions/facts.js'
import { fetchDeploymentState } from '../../src/actions/kube/deployment-undo.js'
import type { RawControllerRevision, RawReplicaSet, RawWorkload } from '../../src/actions/kube/model.js'
import { fetchRevisionState } from '../../src/actions/kube/revision-undo.js'
import { deploymentManifest, harness, ref, setImage } from './kube/fixtures/harness.js'

const UID = 'uid-1'
const owned = { ownerReferences: [{ controller: true, uid: UID }] }
const at = (s: string) => `2026-03-30T10:${s}:00Z`

const deployment = (over: Partial<RawWorkload> = {}): RawWorkload => ({
  metadata: {
    name: 'web',
    uid: UID,
    generation: 4,
    labels: { app: 'web' },
    annotations: { 'deployment.kubernetes.io/revision': '3', team: 'a' },
    resourceVersion: '77',
  },
  spec: { paused: false },
  status: { observedGeneration: 4 },
  ...over,
})

const rs = (revision: string | undefined, created: string, extra: Partial<RawReplicaSet['metadata']> = {}): RawReplicaSet => ({
  metadata: { ...owned, creationTimestamp: created, annotations: revision === undefined ? {} : { 'deployment.kubernetes.io/revision': revision }, ...extra },
})

const WEB = ref('Deployment', 'shop', 'web')

t.test('deployment: current = highest owned revision (and its creation time), previous = second-highest', async (t) => {
  const f = deploymentFacts(WEB, { deployment: deployment(), replicaSets: [rs('1', at('01')), rs('3', at('05')), rs('2', at('03'))] })
  t.same(f, {
    ref: WEB,
    labels: { app: 'web' },
    annotations: { 'deployment.kubernetes.io/revision': '3', team: 'a' },
    paused: false,
    generation: 4,
    observedGeneration: 4,
    currentRevision: 3,
    previousRevision: 2,
    currentRevisionSince: Date.parse(at('05')),
  })
})

t.test('deployment: kubectl rules for ownership and revision annotations', async (t) => {
  const f = deploymentFacts(WEB, {
    deployment: deployment({ spec: { paused: true } }),
    replicaSets: [
      rs('9', at('09'), { ownerReferences: [{ controller: true, uid: 'someone-else' }] }),
      rs('8', at('08'), { ownerReferences: [{ controller: false, uid: UID }] }),
      rs('x', at('07')),
      rs(undefined, at('00')),
      rs('2', at('02')),
    ],
  })
  t.equal(f.currentRevision, 2, 'foreign, non-controller and unparsable ReplicaSets do not count')
  t.equal(f.previousRevision, 0, 'a ReplicaSet without the annotation is revision 0, as in kubectl')
  t.equal(f.paused, true)
})

t.test('deployment: no history, no owned ReplicaSet, unknown creation time, bare objects', async (t) => {
  const one = deploymentFacts(WEB, { deployment: deployment(), replicaSets: [rs('1', 'not a time')] })
  t.equal(one.previousRevision, undefined, 'a single revision has no previous one')
  t.equal(one.currentRevisionSince, undefined, 'an unparsable creation time is unknown')
  const none = deploymentFacts(WEB, { deployment: deployment(), replicaSets: [] })
  t.equal(none.currentRevision, 3, 'falls back to the Deployment annotation')
  t.equal(none.currentRevisionSince, undefined)
  const bare = deploymentFacts(WEB, { deployment: {}, replicaSets: [{}] })
  t.same(bare, { ref: WEB, labels: {}, annotations: {}, paused: false, generation: 0, observedGeneration: 0, currentRevision: 0, previousRevision: undefined, currentRevisionSince: undefined })
  const unparsable = deploymentFacts(WEB, { deployment: deployment({ metadata: { annotations: { 'deployment.kubernetes.io/revision': 'x' } } }), replicaSets: [] })
  t.equal(unparsable.currentRevision, 0)
})

t.test('statefulset/daemonset: revisions from owned ControllerRevisions; never paused', async (t) => {
  const cr = (revision: number | undefined, created: string, uid = UID): RawControllerRevision => ({
    metadata: { ownerReferences: [{ controller: true, uid }], creationTimestamp: created },
    ...(revision === undefined ? {} : { revision }),
  })
  const sts = ref('StatefulSet', 'db', 'pg')
  const f = revisionFacts(sts, { workload: deployment({ spec: { paused: true } }), revisions: [cr(1, at('01')), cr(4, at('04')), cr(7, at('07'), 'x'), cr(2, at('02'))] })
  t.match(f, { ref: sts, currentRevision: 4, previousRevision: 2, paused: false, currentRevisionSince: Date.parse(at('04')) })
  t.match(revisionFacts(sts, { workload: { metadata: { uid: UID } }, revisions: [cr(undefined, at('01'))] }), { currentRevision: 0, previousRevision: undefined }, 'a missing revision field is 0')
  t.equal(workloadFacts(sts, { kind: 'StatefulSet', state: { workload: {}, revisions: [] } }).currentRevision, 0)
  t.equal(workloadFacts(WEB, { kind: 'Deployment', state: { deployment: deployment(), replicaSets: [] } }).currentRevision, 3)
})

t.test('from a real (fake) cluster: a fresh deploy is revision 2, created now, with revision 1 to go back to', async (t) => {
  const h = await harness('shop')
  t.teardown(h.close)
  await h.fake.seedDeployment('shop', deploymentManifest('web', 'nginx:1'))
  await setImage(h.fake, 'shop', 'web', 'nginx:2')
  const before = Date.now()
  const f = deploymentFacts(WEB, await fetchDeploymentState(h.clients.apps, WEB))
  t.match(f, { currentRevision: 2, previousRevision: 1, paused: false, labels: {} })
  t.equal(f.generation, f.observedGeneration, 'the controller has observed the deploy')
  t.ok(Math.abs((f.currentRevisionSince ?? 0) - before) < 2_000, 'creation time of the new ReplicaSet (whole seconds)')

  await h.fake.seed('statefulsets', 'shop', {
    metadata: { name: 'pg' },
    spec: { replicas: 1, serviceName: 'pg', selector: { matchLabels: { app: 'pg' } }, template: { metadata: { labels: { app: 'pg' } }, spec: { containers: [{ name: 'pg', image: 'pg:1' }] } } },
  })
  await h.fake.update('statefulsets', 'shop', 'pg', (o) => {
    const c = (o.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]
    if (c) c.image = 'pg:2'
  })
  const pg = ref('StatefulSet', 'shop', 'pg')
  t.match(revisionFacts(pg, await fetchRevisionState(h.clients.apps, pg)), { currentRevision: 2, previousRevision: 1 })
})
