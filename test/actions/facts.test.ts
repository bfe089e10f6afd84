import t from 'tap'
import { deploymentFacts, revisionFacts, workloadFacts } from '../../src/actions/facts.js'
import { fetchDeploymentState } from '../../src/actions/kube/deployment-undo.js'
import type { RawControllerRevision, RawReplicaSet, RawWorkload } from '../../src/actions/kube/model.js'
import { fetchRevisionState } from '../../src/actions/kube/revision-undo.js'
import { kubectlUndo } from '../fixtures/kube/index.js'
import { deploymentManifest, harness, ref, setImage } from '../fixtures/cluster-harness.js'

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

const rs = (
  revision: string | undefined,
  created: string,
  extra: Partial<RawReplicaSet['metadata']> = {},
): RawReplicaSet => ({
  metadata: {
    ...owned,
    creationTimestamp: created,
    annotations: revision === undefined ? {} : { 'deployment.kubernetes.io/revision': revision },
    ...extra,
  },
})

const WEB = ref('Deployment', 'shop', 'web')

t.test('deployment: current = highest owned revision (and its creation time), previous = second-highest', async t => {
  const f = deploymentFacts(WEB, {
    deployment: deployment(),
    replicaSets: [rs('1', at('01')), rs('3', at('05')), rs('2', at('03'))],
  })
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

t.test('deployment: kubectl rules for ownership and revision annotations', async t => {
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

t.test('deployment: no history, no owned ReplicaSet, unknown creation time, bare objects', async t => {
  const one = deploymentFacts(WEB, { deployment: deployment(), replicaSets: [rs('1', 'not a time')] })
  t.equal(one.previousRevision, undefined, 'a single revision has no previous one')
  t.equal(one.currentRevisionSince, undefined, 'an unparsable creation time is unknown')
  const none = deploymentFacts(WEB, { deployment: deployment(), replicaSets: [] })
  t.equal(none.currentRevision, 3, 'falls back to the Deployment annotation')
  t.equal(none.currentRevisionSince, undefined)
  const bare = deploymentFacts(WEB, { deployment: {}, replicaSets: [{}] })
  t.same(bare, {
    ref: WEB,
    labels: {},
    annotations: {},
    paused: false,
    generation: 0,
    observedGeneration: 0,
    currentRevision: 0,
    previousRevision: undefined,
    currentRevisionSince: undefined,
  })
  const unparsable = deploymentFacts(WEB, {
    deployment: deployment({ metadata: { annotations: { 'deployment.kubernetes.io/revision': 'x' } } }),
    replicaSets: [],
  })
  t.equal(unparsable.currentRevision, 0)
})

t.test('statefulset/daemonset: revisions from owned ControllerRevisions; never paused', async t => {
  const cr = (revision: number | undefined, created: string, uid = UID): RawControllerRevision => ({
    metadata: { ownerReferences: [{ controller: true, uid }], creationTimestamp: created },
    ...(revision === undefined ? {} : { revision }),
  })
  const sts = ref('StatefulSet', 'db', 'pg')
  const f = revisionFacts(sts, {
    workload: deployment({ spec: { paused: true } }),
    revisions: [cr(1, at('01')), cr(4, at('04')), cr(7, at('07'), 'x'), cr(2, at('02'))],
  })
  t.match(f, {
    ref: sts,
    currentRevision: 4,
    previousRevision: 2,
    paused: false,
    currentRevisionSince: Date.parse(at('04')),
  })
  t.match(
    revisionFacts(sts, { workload: { metadata: { uid: UID } }, revisions: [cr(undefined, at('01'))] }),
    { currentRevision: 0, previousRevision: undefined },
    'a missing revision field is 0',
  )
  t.equal(workloadFacts(sts, { kind: 'StatefulSet', state: { workload: {}, revisions: [] } }).currentRevision, 0)
  t.equal(
    workloadFacts(WEB, { kind: 'Deployment', state: { deployment: deployment(), replicaSets: [] } }).currentRevision,
    3,
  )
})

t.test(
  'from a real (fake) cluster: a fresh deploy is revision 2, created now, with revision 1 to go back to',
  async t => {
    const h = await harness('shop')
    t.teardown(h.close)
    await h.fake.seedDeployment('shop', deploymentManifest('web', 'nginx:1'))
    await setImage(h.fake, 'shop', 'web', 'nginx:2')
    const before = Date.now()
    const f = deploymentFacts(WEB, await fetchDeploymentState(h.clients.apps, WEB))
    t.match(f, { currentRevision: 2, previousRevision: 1, paused: false, labels: {} })
    t.equal(f.generation, f.observedGeneration, 'the controller has observed the deploy')
    t.ok(
      Math.abs((f.currentRevisionSince ?? 0) - before) < 2_000,
      'creation time of the new ReplicaSet (whole seconds)',
    )

    await h.fake.seed('statefulsets', 'shop', {
      metadata: { name: 'pg' },
      spec: {
        replicas: 1,
        serviceName: 'pg',
        selector: { matchLabels: { app: 'pg' } },
        template: { metadata: { labels: { app: 'pg' } }, spec: { containers: [{ name: 'pg', image: 'pg:1' }] } },
      },
    })
    await h.fake.update('statefulsets', 'shop', 'pg', o => {
      const c = (o.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]
      if (c) c.image = 'pg:2'
    })
    const pg = ref('StatefulSet', 'shop', 'pg')
    t.match(revisionFacts(pg, await fetchRevisionState(h.clients.apps, pg)), {
      currentRevision: 2,
      previousRevision: 1,
    })
  },
)

const templateEntry = (manager: string, time: string, extra: Record<string, unknown> = {}) => ({
  manager,
  operation: 'Update',
  time,
  fieldsType: 'FieldsV1',
  fieldsV1: { 'f:spec': { 'f:template': { 'f:spec': {} } } },
  ...extra,
})

t.test('deployment: a re-used ReplicaSet is an undo; it became current at the last write of the template', async t => {
  const managedFields = [
    templateEntry('argocd-controller', at('02')),
    templateEntry('kubectl', at('07')),
    // Not the template: scaling, a status write, an unreadable time.
    { manager: 'hpa', operation: 'Update', time: at('09'), fieldsV1: { 'f:spec': { 'f:replicas': {} } } },
    templateEntry('kube-controller-manager', at('09'), { subresource: 'status' }),
    templateEntry('broken', 'yesterday'),
  ]
  const d = deployment({ metadata: { ...deployment().metadata, managedFields } })
  const reused = rs('4', at('01'), {
    name: 'web-5d9f',
    annotations: { 'deployment.kubernetes.io/revision': '4', 'deployment.kubernetes.io/revision-history': '1' },
  })
  const f = deploymentFacts(WEB, { deployment: d, replicaSets: [reused, rs('2', at('03')), rs('3', at('05'))] })
  t.match(f, { currentRevision: 4, previousRevision: 3, currentRevisionSince: Date.parse(at('07')) })
  t.same(f.currentIsUndo, { evidence: 'ReplicaSet web-5d9f (revision 4) was revision 1 before', manager: 'kubectl' })

  // No revision-history (say, trimmed), but the current ReplicaSet is older than one with a lower revision.
  const older = rs('4', at('01'), { name: 'web-5d9f' })
  const g = deploymentFacts(WEB, {
    deployment: deployment(),
    replicaSets: [older, rs('3', at('05'), { name: 'web-77c4' })],
  })
  t.same(g.currentIsUndo, { evidence: 'ReplicaSet web-5d9f (revision 4) is older than web-77c4 (revision 3)' })
  t.equal(
    g.currentRevisionSince,
    undefined,
    'without managedFields the time is unknown (the post-deploy window then blocks)',
  )

  // A fresh template: created after every lower revision, no history.
  t.equal(
    deploymentFacts(WEB, { deployment: d, replicaSets: [rs('1', at('01')), rs('2', at('05'))] }).currentIsUndo,
    undefined,
  )
  t.equal(
    deploymentFacts(WEB, {
      deployment: d,
      replicaSets: [
        rs('2', at('05'), {
          annotations: { 'deployment.kubernetes.io/revision': '2', 'deployment.kubernetes.io/revision-history': ' ' },
        }),
      ],
    }).currentIsUndo,
    undefined,
    'blank history',
  )
  t.equal(
    deploymentFacts(WEB, { deployment: d, replicaSets: [rs('2', 'never'), rs('1', at('01'))] }).currentIsUndo,
    undefined,
    'unknown creation time: no evidence',
  )
  t.equal(
    deploymentFacts(WEB, { deployment: d, replicaSets: [rs('2', at('05')), rs('1', 'never')] }).currentIsUndo,
    undefined,
    'a lower revision of unknown age is no evidence',
  )
  const nameless = deploymentFacts(WEB, {
    deployment: deployment({
      metadata: { uid: UID, managedFields: [{ manager: 'x', fieldsV1: { 'f:spec': { 'f:template': {} } } }] },
    }),
    replicaSets: [
      {
        metadata: { ...owned, creationTimestamp: at('01'), annotations: { 'deployment.kubernetes.io/revision': '2' } },
      },
      rs('1', at('03')),
    ],
  })
  t.same(
    nameless.currentIsUndo,
    { evidence: 'ReplicaSet ? (revision 2) is older than ? (revision 1)' },
    'nameless objects and an entry without time',
  )
})

t.test('statefulset/daemonset: a renumbered ControllerRevision (older than a lower revision) is an undo', async t => {
  const sts = ref('StatefulSet', 'db', 'pg')
  const cr = (revision: number, created: string, name: string): RawControllerRevision => ({
    revision,
    metadata: { ...owned, name, creationTimestamp: created },
  })
  const workload: RawWorkload = {
    metadata: { uid: UID, generation: 5, managedFields: [templateEntry('kubectl', at('08'))] },
    status: { observedGeneration: 5 },
  }
  const f = revisionFacts(sts, { workload, revisions: [cr(3, at('01'), 'pg-aaa'), cr(2, at('04'), 'pg-bbb')] })
  t.match(f, {
    currentRevision: 3,
    previousRevision: 2,
    currentRevisionSince: Date.parse(at('08')),
    currentIsUndo: {
      evidence: 'ControllerRevision pg-aaa (revision 3) is older than pg-bbb (revision 2)',
      manager: 'kubectl',
    },
  })
  const fresh = revisionFacts(sts, { workload, revisions: [cr(1, at('01'), 'pg-aaa'), cr(2, at('04'), 'pg-bbb')] })
  t.match(fresh, { currentRevisionSince: Date.parse(at('04')) })
  t.equal(fresh.currentIsUndo, undefined)
})

t.test(
  'from a real (fake) cluster: kubectl rollout undo shows as an undo by kubectl; a new deploy clears it',
  async t => {
    const h = await harness('shop')
    t.teardown(h.close)
    await h.fake.seedDeployment('shop', deploymentManifest('web', 'nginx:1'))
    await setImage(h.fake, 'shop', 'web', 'nginx:2')
    const before = Date.now() - 1_000
    await kubectlUndo(h.fake, 'shop', 'web')
    const undone = deploymentFacts(WEB, await fetchDeploymentState(h.clients.apps, WEB))
    t.match(undone, {
      currentRevision: 3,
      previousRevision: 2,
      currentIsUndo: { evidence: /^ReplicaSet web-\w+ \(revision 3\) was revision 1 before$/, manager: 'kubectl' },
    })
    t.ok((undone.currentRevisionSince ?? 0) >= before - 1_000, 'the time of the undo, not the old ReplicaSet creation')

    await setImage(h.fake, 'shop', 'web', 'nginx:3')
    const redeployed = deploymentFacts(WEB, await fetchDeploymentState(h.clients.apps, WEB))
    t.match(redeployed, { currentRevision: 4, previousRevision: 3 })
    t.equal(redeployed.currentIsUndo, undefined, 'a new template is a new revision, not an undo')

    await h.fake.seed('statefulsets', 'shop', {
      metadata: { name: 'pg' },
      spec: {
        replicas: 1,
        serviceName: 'pg',
        selector: { matchLabels: { app: 'pg' } },
        template: { metadata: { labels: { app: 'pg' } }, spec: { containers: [{ name: 'pg', image: 'pg:1' }] } },
      },
    })
    const setPg = (image: string) =>
      h.fake.update('statefulsets', 'shop', 'pg', o => {
        const c = (o.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]
        if (c) c.image = image
      })
    // Creation times are whole seconds: revision 2 must be created in a later second than revision 1 to be told apart by order.
    await new Promise(resolve => setTimeout(resolve, 1_100))
    await setPg('pg:2')
    await setPg('pg:1')
    const pg = ref('StatefulSet', 'shop', 'pg')
    t.match(revisionFacts(pg, await fetchRevisionState(h.clients.apps, pg)), {
      currentRevision: 3,
      previousRevision: 2,
      currentIsUndo: { evidence: /ControllerRevision pg-\w+ \(revision 3\) is older than pg-\w+ \(revision 2\)/ },
    })
  },
)
