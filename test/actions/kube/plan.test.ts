import t from 'tap'
import { orderReplicaSets, planDeploymentUndo, rollbackAnnotations } from '../../../src/actions/kube/deployment-undo.js'
import type { RawReplicaSet, RawWorkload } from '../../../src/actions/kube/model.js'
import { revisionOf } from '../../../src/actions/kube/model.js'
import {
  equalIgnoreHash,
  quantityKey,
  selectorString,
  semanticEqual,
  withoutHash,
} from '../../../src/actions/kube/template.js'
import { classifyError, isConflict } from '../../../src/actions/kube/errors.js'
import { ApiException } from '@kubernetes/client-node'

const REF = { kind: 'Deployment' as const, namespace: 'shop', name: 'web' }
const tmpl = (image: string, hash?: string) => ({
  metadata: { labels: { app: 'web', ...(hash ? { 'pod-template-hash': hash } : {}) } },
  spec: { containers: [{ name: 'c', image }] },
})
const owner = [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd1', controller: true }]
const rs = (
  name: string,
  revision: string | undefined,
  image: string,
  created = '2026-01-01T00:00:00Z',
  extra: Record<string, string> = {},
): RawReplicaSet => ({
  metadata: {
    name,
    creationTimestamp: created,
    ownerReferences: owner,
    annotations: { ...(revision === undefined ? {} : { 'deployment.kubernetes.io/revision': revision }), ...extra },
  },
  spec: { template: tmpl(image, name) },
})
const deployment = (
  image: string,
  extra: Partial<{ annotations: Record<string, string> | undefined; paused: boolean }> = {},
): RawWorkload => ({
  metadata: {
    name: 'web',
    uid: 'd1',
    generation: 5,
    resourceVersion: '77',
    annotations: 'annotations' in extra ? extra.annotations : { 'deployment.kubernetes.io/revision': '3' },
  },
  spec: { selector: { matchLabels: { app: 'web' } }, template: tmpl(image), paused: extra.paused ?? false },
  status: { observedGeneration: 5 },
})

t.test('selectorString is LabelSelectorAsSelector(...).String()', async t => {
  t.equal(
    selectorString({
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'tier', operator: 'In', values: ['fe', 'be'] }],
    }),
    'app=web,tier in (be,fe)',
  )
  t.equal(
    selectorString({
      matchLabels: { z: '1', a: '2' },
      matchExpressions: [
        { key: 'm', operator: 'NotIn', values: ['y', 'x'] },
        { key: 'e', operator: 'Exists' },
        { key: 'd', operator: 'DoesNotExist' },
      ],
    }),
    'a=2,!d,e,m notin (x,y),z=1',
  )
  t.equal(selectorString({}), '')
  t.throws(() => selectorString(undefined), /no selector/)
  t.throws(
    () => selectorString({ matchExpressions: [{ key: 'k', operator: 'In', values: [] }] }),
    /values must be non-empty for In on "k"/,
  )
  t.throws(
    () => selectorString({ matchExpressions: [{ key: 'k', operator: 'Exists', values: ['v'] }] }),
    /values must be empty for Exists/,
  )
  t.throws(
    () => selectorString({ matchExpressions: [{ key: 'k', operator: 'Gt', values: ['1'] }] }),
    /"Gt" is not a valid label selector operator/,
  )
})

t.test(
  'semantic template equality: absent/null/{}/[] equal, key order ignored, quantities by value, hash label ignored',
  async t => {
    t.ok(semanticEqual({ a: null, b: {}, c: [], d: 1 }, { d: 1 }))
    t.ok(semanticEqual({ x: { p: 1, q: 2 } }, { x: { q: 2, p: 1 } }))
    t.notOk(semanticEqual({ a: [1, 2] }, { a: [2, 1] }), 'array order matters')
    t.ok(
      semanticEqual(
        { resources: { limits: { cpu: '500m', memory: '1Gi' } } },
        { resources: { limits: { cpu: '0.5', memory: '1073741824' } } },
      ),
    )
    t.ok(semanticEqual({ emptyDir: { sizeLimit: '1k' } }, { emptyDir: { sizeLimit: '1000' } }))
    t.notOk(semanticEqual({ resources: { requests: { cpu: '1' } } }, { resources: { requests: { cpu: '2' } } }))
    t.ok(equalIgnoreHash(tmpl('a', 'h1'), tmpl('a', 'h2')))
    t.notOk(equalIgnoreHash(tmpl('a'), tmpl('b')))
    t.ok(equalIgnoreHash(undefined, {}))
    t.same(
      withoutHash({ metadata: { labels: { 'pod-template-hash': 'x' } } }),
      { metadata: {} },
      'an emptied labels map is dropped, like omitempty',
    )
    t.equal(quantityKey('1e3'), quantityKey('1k'))
    t.equal(quantityKey('Always'), 'Always')
  },
)

t.test('revisionOf: missing is 0, unparsable is skipped', async t => {
  t.equal(revisionOf(undefined), 0)
  t.equal(revisionOf({ annotations: { 'deployment.kubernetes.io/revision': '+4' } }), 4)
  t.equal(revisionOf({ annotations: { 'deployment.kubernetes.io/revision': '4a' } }), undefined)
})

t.test('planDeploymentUndo: kubectl target selection', async t => {
  const d = deployment('c')
  const set = [
    rs('web-c', '3', 'c', '2026-01-03T00:00:00Z'),
    rs('web-a', '1', 'a', '2026-01-01T00:00:00Z'),
    rs('web-b', '2', 'b', '2026-01-02T00:00:00Z'),
  ]
  t.match(planDeploymentUndo(REF, { deployment: d, replicaSets: set }), {
    kind: 'plan',
    plan: { fromRevision: 3, toRevision: 2, toImages: ['b'], expectedGeneration: 6, resourceVersion: '77' },
  })
  const noAnn = [rs('web-c', '3', 'c'), rs('legacy', undefined, 'old')]
  t.match(
    planDeploymentUndo(REF, { deployment: d, replicaSets: noAnn }),
    { plan: { toRevision: 0, toImages: ['old'] } },
    'an RS without the annotation is revision 0 and eligible',
  )
  const bad = [rs('web-c', '3', 'c'), rs('weird', 'x', 'w')]
  t.match(
    planDeploymentUndo(REF, { deployment: d, replicaSets: bad }),
    { kind: 'error', reason: 'no_history' },
    'an unparsable revision is skipped',
  )
  const foreign = {
    ...rs('other', '2', 'o'),
    metadata: { ...rs('other', '2', 'o').metadata, ownerReferences: [{ ...owner[0], uid: 'zzz' }] },
  }
  t.match(
    planDeploymentUndo(REF, { deployment: d, replicaSets: [rs('web-c', '3', 'c'), foreign] }),
    { reason: 'no_history' },
    'RSes controlled by another owner are ignored',
  )
  const notController = {
    ...rs('adopted', '2', 'o'),
    metadata: { ...rs('adopted', '2', 'o').metadata, ownerReferences: [{ ...owner[0], controller: false }] },
  }
  t.match(planDeploymentUndo(REF, { deployment: d, replicaSets: [rs('web-c', '3', 'c'), notController] }), {
    reason: 'no_history',
  })
  t.match(
    planDeploymentUndo(REF, { deployment: { ...d, metadata: { ...d.metadata, uid: undefined } }, replicaSets: set }),
    { reason: 'no_history' },
  )
})

t.test(
  'planDeploymentUndo: the deployment revision annotation falls back to the latest RS; no annotations => add',
  async t => {
    const d = deployment('c', { annotations: undefined })
    const out = planDeploymentUndo(REF, {
      deployment: d,
      replicaSets: [rs('web-c', '3', 'c'), rs('web-a', '1', 'a', undefined, { team: 'x' })],
    })
    if (out.kind !== 'plan') return t.fail(out.kind)
    t.equal(out.plan.fromRevision, 0, 'missing annotation on the deployment is revision 0 (deploymentutil.Revision)')
    const ops = out.plan.patch.body as { op: string; path: string; value: unknown }[]
    t.same(ops[2], { op: 'add', path: '/metadata/annotations', value: { team: 'x' } })
    const weird = planDeploymentUndo(REF, {
      deployment: deployment('c', { annotations: { 'deployment.kubernetes.io/revision': 'zz' } }),
      replicaSets: [rs('web-c', '3', 'c'), rs('web-a', '1', 'a')],
    })
    t.match(weird, { plan: { fromRevision: 3 } })
    const noRv = { ...d, metadata: { ...d.metadata, resourceVersion: undefined } }
    const plain = planDeploymentUndo(REF, {
      deployment: noRv,
      replicaSets: [rs('web-c', '3', 'c'), rs('web-a', '1', 'a')],
    })
    t.same(plain.kind === 'plan' && (plain.plan.patch.body as { path: string }[]).map(o => o.path), [
      '/spec/template',
      '/metadata/annotations',
    ])
  },
)

t.test('orderReplicaSets is GetAllReplicaSets order: old by creation (name breaks ties), the new RS last', async t => {
  const d = deployment('b')
  const ordered = orderReplicaSets(d, [
    rs('z', '2', 'b', '2026-01-01T00:00:00Z'),
    rs('y', '1', 'a', '2026-01-01T00:00:00Z'),
    rs('x', '3', 'c', '2026-01-02T00:00:00Z'),
    rs('w', '4', 'b', '2026-01-03T00:00:00Z'),
  ])
  t.same(
    ordered.map(r => r.metadata?.name),
    ['y', 'x', 'w', 'z'],
    'z is the oldest RS matching the template',
  )
  t.same(
    orderReplicaSets(deployment('none'), [rs('b', '1', 'x', ''), rs('a', '2', 'y', '')]).map(r => r.metadata?.name),
    ['a', 'b'],
  )
  const dupes = [
    rs('first', '2', 'a', '2026-01-01T00:00:00Z'),
    rs('second', '2', 'x', '2026-01-02T00:00:00Z'),
    rs('cur', '3', 'c', '2026-01-03T00:00:00Z'),
  ]
  t.match(
    planDeploymentUndo(REF, { deployment: deployment('c'), replicaSets: dupes }, { toRevision: 2 }),
    { plan: { toImages: ['a'] } },
    'to-revision: the first in order',
  )
  t.match(
    planDeploymentUndo(REF, { deployment: deployment('c'), replicaSets: dupes }),
    { plan: { toImages: ['a'] } },
    'previous: a later equal revision does not replace it',
  )
})

t.test('rollbackAnnotations: skip list from the deployment, everything else from the RS', async t => {
  const d = deployment('c', {
    annotations: {
      'deployment.kubernetes.io/revision': '3',
      'deployment.kubernetes.io/revision-history': '1',
      custom: 'now',
      'kubernetes.io/change-cause': 'now',
    },
  })
  const target = rs('web-a', '1', 'a', undefined, { custom: 'then', 'deployment.kubernetes.io/desired-replicas': '9' })
  t.same(rollbackAnnotations(d, target), {
    'deployment.kubernetes.io/revision': '3',
    'deployment.kubernetes.io/revision-history': '1',
    custom: 'then',
  })
})

t.test('error classification', async t => {
  const api = (code: number, body: unknown) => new ApiException(code, 'x', body, {})
  t.match(classifyError(api(409, JSON.stringify({ message: 'boom', reason: 'Conflict' })), 'ctx'), {
    reason: 'conflict',
    message: 'ctx: boom',
    status: 409,
  })
  t.match(classifyError(api(401, undefined), 'ctx'), { reason: 'forbidden', message: 'ctx: Unauthorized' })
  t.match(classifyError(api(422, 'plain text'), 'ctx'), { reason: 'invalid', message: 'ctx: plain text' })
  t.match(classifyError(api(415, ''), 'ctx'), { reason: 'invalid', message: 'ctx: HTTP 415' })
  t.match(classifyError(api(429, { message: 'slow down' }), 'ctx'), {
    reason: 'unavailable',
    message: 'ctx: slow down',
  })
  t.match(classifyError(api(500, 42), 'ctx'), { reason: 'unavailable', message: 'ctx: HTTP 500' })
  t.match(classifyError('weird', 'ctx'), { reason: 'unavailable', message: 'ctx: weird' })
  t.match(classifyError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'ctx'), {
    message: 'ctx: socket hang up (ECONNRESET)',
  })
  t.ok(isConflict(api(409, '')))
  t.notOk(isConflict(new Error('409')))
})
