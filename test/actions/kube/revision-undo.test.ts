import t, { type Test } from 'tap'
import {
  findHistory,
  planRevisionUndo,
  undoRevisionWorkload,
  type RevisionKind,
} from '../../../src/actions/kube/revision-undo.js'
import type { WorkloadRef } from '../../../src/actions/kube/client.js'
import { undoWorkload } from '../../../src/actions/kube/undo.js'
import type { Plural } from '../../fixtures/kube/index.js'
import { harness, writes } from '../../fixtures/cluster-harness.js'

const NS = 'data'

function manifest(kind: RevisionKind, name: string, image: string) {
  const spec: Record<string, unknown> = {
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image }] } },
  }
  if (kind === 'StatefulSet') Object.assign(spec, { replicas: 2, serviceName: name })
  return { apiVersion: 'apps/v1', kind, metadata: { name }, spec }
}

const plural = (kind: RevisionKind): Plural => (kind === 'StatefulSet' ? 'statefulsets' : 'daemonsets')
const imageOf = (o: unknown) =>
  (o as { spec: { template: { spec: { containers: { image: string }[] } } } }).spec.template.spec.containers[0]?.image

async function setup(t: Test, kind: RevisionKind, images: string[]) {
  const h = await harness(NS)
  t.teardown(h.close)
  const name = kind === 'StatefulSet' ? 'db' : 'agent'
  await h.fake.seed(plural(kind), NS, manifest(kind, name, images[0] ?? 'x:1'))
  for (const image of images.slice(1)) {
    await h.fake.update(plural(kind), NS, name, o => {
      const c = (o.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]
      if (c) c.image = image
    })
  }
  h.fake.log.length = 0
  const ref = { kind, namespace: NS, name } as WorkloadRef & { kind: RevisionKind }
  return { h, ref, name }
}

for (const kind of ['StatefulSet', 'DaemonSet'] as const) {
  t.test(`${kind}: undo to the previous ControllerRevision with a strategic merge patch of its data`, async t => {
    const { h, ref, name } = await setup(t, kind, ['img:1', 'img:2'])
    const r = await undoRevisionWorkload(h.clients.apps, ref, { dryRun: false })
    t.match(r, { kind: 'rolled-back', fromRevision: 2, toRevision: 1, generation: 3 })
    const patch = writes(h.fake.log)[0]
    t.equal(patch?.contentType, 'application/strategic-merge-patch+json')
    const cr1 = h.fake
      .list('controllerrevisions', NS)
      .find(cr => imageOf((cr as { data?: unknown }).data) === 'img:1') as { data?: Record<string, unknown> }
    const body = patch?.body as Record<string, unknown>
    t.same(body['spec'], cr1.data?.['spec'], 'data.spec verbatim, including $patch: replace')
    t.same(Object.keys(body).sort(), ['metadata', 'spec'])
    t.match(body['metadata'], { resourceVersion: String }, 'plus the optimistic lock')
    t.equal(
      h.fake.log.filter(e => e.method === 'GET')[1]?.path,
      `/apis/apps/v1/namespaces/${NS}/controllerrevisions?labelSelector=app%3D${name}`,
    )
    await h.fake.tick()
    t.equal(imageOf(h.fake.get(plural(kind), NS, name)), 'img:1')
    const revs = h.fake
      .list('controllerrevisions', NS)
      .map(cr => [imageOf((cr as { data?: unknown }).data), (cr as { revision?: number }).revision])
    t.same(
      new Map(revs as [string, number][]),
      new Map([
        ['img:1', 3],
        ['img:2', 2],
      ]),
      'the controller re-numbers the reused revision to max+1',
    )
  })

  t.test(`${kind}: no history, to-revision, already matching, dry run, record annotation`, async t => {
    const { h, ref } = await setup(t, kind, ['img:1'])
    t.match(await undoRevisionWorkload(h.clients.apps, ref, { dryRun: false }), {
      kind: 'error',
      reason: 'no_history',
      message: /: no last revision to roll back to$/,
    })
    const more = await setup(t, kind, ['img:1', 'img:2', 'img:3'])
    const { apps } = more.h.clients
    t.match(await undoRevisionWorkload(apps, more.ref, { dryRun: false, toRevision: 9 }), {
      reason: 'revision_not_found',
    })
    t.match(await undoRevisionWorkload(apps, more.ref, { dryRun: false, toRevision: -2 }), {
      reason: 'revision_not_found',
    })
    t.match(await undoRevisionWorkload(apps, more.ref, { dryRun: false, toRevision: 3 }), {
      kind: 'skipped',
      reason: 'already_matches',
      message: /skipped rollback \(current template already matches revision 3\)$/,
    })
    t.equal(writes(more.h.fake.log).length, 0, 'no write for errors and skips')
    const dry = await undoRevisionWorkload(apps, more.ref, { dryRun: true, toRevision: 1 })
    t.match(dry, { kind: 'dry-run', toRevision: 1, fromRevision: 3 })
    t.match(writes(more.h.fake.log)[0]?.path, /dryRun=All/)
    await more.h.fake.tick()
    t.equal(imageOf(more.h.fake.get(plural(kind), NS, more.name)), 'img:3', 'dry run stored nothing')
    const r = await undoRevisionWorkload(apps, more.ref, {
      dryRun: false,
      toRevision: 1,
      record: {
        annotationKey: 'rollguard.io/rolled-back',
        value: c => `${c.fromRevision}->${c.toRevision}@${c.generation}`,
      },
    })
    t.match(r, { kind: 'rolled-back', toRevision: 1 })
    t.equal(more.h.fake.get(plural(kind), NS, more.name)?.metadata.annotations?.['rollguard.io/rolled-back'], '3->1@4')
  })

  t.test(`${kind}: 409 re-plans once through the callback`, async t => {
    const { h, ref, name } = await setup(t, kind, ['img:1', 'img:2'])
    h.fake.inject({
      kind: 'bumpAfterGet',
      resource: plural(kind),
      namespace: NS,
      name,
      mutate: o => void (o.metadata.labels = { other: 'writer' }),
    })
    const r = await undoRevisionWorkload(h.clients.apps, ref, { dryRun: false, resendOnConflict: true })
    t.match(r, { kind: 'rolled-back' })
    t.same(
      h.fake.log.filter(e => e.method === 'PATCH').map(e => e.status),
      [409, 200],
    )
  })
}

t.test('errors: not found and forbidden', async t => {
  const { h } = await setup(t, 'StatefulSet', ['img:1', 'img:2'])
  t.match(
    await undoRevisionWorkload(h.clients.apps, { kind: 'DaemonSet', namespace: NS, name: 'nope' }, { dryRun: false }),
    {
      kind: 'error',
      reason: 'not_found',
      message: /^daemonset\.apps\/nope -n data: .*daemonsets\.apps "nope" not found$/,
    },
  )
  t.match(await undoWorkload(h.clients.apps, { kind: 'Deployment', namespace: NS, name: 'nope' }, { dryRun: false }), {
    reason: 'not_found',
  })
  t.match(await undoWorkload(h.clients.apps, { kind: 'StatefulSet', namespace: NS, name: 'db' }, { dryRun: true }), {
    kind: 'dry-run',
    toRevision: 1,
  })
  h.fake.authorize = req => req.resource !== 'controllerrevisions'
  t.match(
    await undoRevisionWorkload(h.clients.apps, { kind: 'StatefulSet', namespace: NS, name: 'db' }, { dryRun: false }),
    { reason: 'forbidden' },
  )
})

t.test('pure planning: ownership, ordering, data as a string, unusable data', async t => {
  const ref = { kind: 'StatefulSet' as const, namespace: NS, name: 'db' }
  const tmpl = (image: string) => ({
    metadata: { labels: { app: 'db' } },
    spec: { containers: [{ name: 'm', image }] },
  })
  const owner = [{ controller: true, uid: 'u1' }]
  const workload = {
    metadata: { uid: 'u1', generation: 4, resourceVersion: '9' },
    status: { observedGeneration: 4 },
    spec: { template: tmpl('b') },
  }
  const cr = (rev: number, image: string, extra: object = {}) => ({
    metadata: { name: `db-${rev}`, ownerReferences: owner },
    revision: rev,
    data: { spec: { template: { ...tmpl(image), $patch: 'replace' } } },
    ...extra,
  })
  const stranger = { ...cr(7, 'z'), metadata: { name: 'other', ownerReferences: [{ controller: true, uid: 'u2' }] } }
  t.equal(findHistory(0, [cr(3, 'c'), cr(1, 'a'), cr(2, 'b')])?.revision, 2, 'second-highest regardless of list order')
  t.equal(findHistory(0, [cr(1, 'a')]), undefined)
  const plan = planRevisionUndo(ref, {
    workload,
    revisions: [stranger, cr(2, 'b'), cr(1, 'a', { data: JSON.stringify(cr(1, 'a').data) })],
  })
  t.match(plan, {
    kind: 'plan',
    plan: { fromRevision: 2, toRevision: 1, expectedGeneration: 5, toImages: ['a'], fromImages: ['b'] },
  })
  t.match(planRevisionUndo(ref, { workload, revisions: [cr(2, 'b'), cr(1, 'a', { data: 'not json' })] }), {
    kind: 'error',
    reason: 'invalid',
  })
  t.match(planRevisionUndo(ref, { workload, revisions: [stranger, cr(2, 'b')] }), {
    kind: 'error',
    reason: 'no_history',
  })
  const inFlight = { ...workload, status: { observedGeneration: 3 } }
  t.match(planRevisionUndo(ref, { workload: inFlight, revisions: [cr(2, 'b'), cr(1, 'a')] }), {
    kind: 'skipped',
    reason: 'rollout_in_flight',
  })
})
