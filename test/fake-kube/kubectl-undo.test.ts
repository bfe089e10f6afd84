// kubectlUndo, a human's `kubectl rollout undo`: kubectl's requests, the controller's re-use of the old
// ReplicaSet (new max revision + revision-history), managedFields naming "kubectl"; and, when a kubectl binary
// exists, the same end state as the real `kubectl rollout undo` on an identical second fake.
import t from 'tap'
import {
  kubectlUndo,
  KUBECTL_USER_AGENT,
  manualClock,
  type FakeKube,
  type KubeObject,
  type ManagedFieldsEntry,
} from '../fixtures/kube/index.js'
import { findKubectl, kubectlAgainst, namedKubectl } from '../fixtures/kube/kubectl.js'
import { fake, web, type Teardown } from '../fixtures/kube/testing.js'

const REV = 'deployment.kubernetes.io/revision'
const HISTORY = 'deployment.kubernetes.io/revision-history'
const image = (o: KubeObject | undefined) =>
  (o?.spec as { template: { spec: { containers: { image: string }[] } } } | undefined)?.template.spec.containers[0]
    ?.image
const setImage = (v: string) => (tm: { spec?: { containers?: { image?: string }[] } }) =>
  void (tm.spec!.containers![0]!.image = v)
const kubectlEntry = (o: KubeObject | undefined) =>
  ((o?.metadata.managedFields ?? []) as ManagedFieldsEntry[]).find(e => e.manager === 'kubectl')
const rejection = (p: Promise<unknown>) =>
  p.then(
    () => '',
    (e: Error) => e.message,
  )

/** history: web rev 1 (nginx:1) at T0, rev 2 (nginx:2, a custom annotation added with it) at T0+60 s; clock at T0+120 s. */
async function history(t: Teardown): Promise<FakeKube> {
  const clock = manualClock()
  const f = await fake(t, { clock })
  await f.seedDeployment('ns', web('nginx:1'))
  clock.advance(60_000)
  await f.update(
    'deployments',
    'ns',
    'web',
    o => {
      setImage('nginx:2')((o.spec as { template: object }).template)
      o.metadata.annotations = {
        ...o.metadata.annotations,
        'kubernetes.io/change-cause': 'v2',
        'example.com/note': 'x',
      }
    },
    'kubectl-set',
  )
  clock.advance(60_000)
  f.log.length = 0
  return f
}

t.test(
  'kubectlUndo: kubectl 1.33 requests, the old ReplicaSet re-used as revision 3, the write recorded as kubectl',
  async t => {
    const f = await history(t)
    t.equal(await kubectlUndo(f, 'ns', 'web'), 'deployment.apps/web rolled back')
    t.same(
      f.log.map(l => [l.method, l.path, l.userAgent]),
      [
        ['GET', '/apis/apps/v1/namespaces/ns/deployments/web', KUBECTL_USER_AGENT],
        ['GET', '/apis/apps/v1/namespaces/ns/deployments/web', KUBECTL_USER_AGENT],
        [
          'GET',
          '/apis/apps/v1/namespaces/ns/replicasets?labelSelector=app%3Dweb%2Ctier+in+%28be%2Cfe%29',
          KUBECTL_USER_AGENT,
        ],
        ['PATCH', '/apis/apps/v1/namespaces/ns/deployments/web', KUBECTL_USER_AGENT],
      ],
    )
    const patch = f.log[3]
    t.equal(patch?.contentType, 'application/json-patch+json')
    t.match(patch?.body, [
      {
        op: 'replace',
        path: '/spec/template',
        value: { metadata: { labels: { app: 'web', tier: 'fe' } }, spec: { containers: [{ image: 'nginx:1' }] } },
      },
      {
        op: 'replace',
        path: '/metadata/annotations',
        value: { [REV]: '2', 'kubernetes.io/change-cause': 'v1', team: 'a' },
      },
    ])
    t.notOk(JSON.stringify(patch?.body).includes('pod-template-hash'), 'the hash label is dropped')
    const d = f.get('deployments', 'ns', 'web')
    t.equal(image(d), 'nginx:1')
    t.same(
      d?.metadata.annotations,
      { [REV]: '3', 'kubernetes.io/change-cause': 'v1', team: 'a' },
      'annotations replaced wholesale: example.com/note is gone',
    )
    const rs = f.list('replicasets', 'ns')
    const reused = rs.find(x => image(x) === 'nginx:1')
    t.same(
      [reused?.metadata.annotations?.[REV], reused?.metadata.annotations?.[HISTORY]],
      ['3', '1'],
      're-used RS: new max revision, old one in revision-history',
    )
    t.equal(reused?.metadata.creationTimestamp, '2026-01-01T00:00:00Z', 'its creationTimestamp is stale')
    t.equal(rs.find(x => image(x) === 'nginx:2')?.metadata.annotations?.[REV], '2')
    const e = kubectlEntry(d)
    t.match(
      e,
      { operation: 'Update', apiVersion: 'apps/v1', time: '2026-01-01T00:02:00Z' },
      'manager from the User-Agent, time of the undo',
    )
    t.ok(
      (e?.fieldsV1['f:spec'] as Record<string, unknown> | undefined)?.['f:template'],
      'kubectl owns (part of) f:spec.f:template',
    )
    t.same(f.controllerErrors, [])
  },
)

t.test("kubectlUndo: --to-revision, skip, and kubectl's errors (no request after them)", async t => {
  const f = await history(t)
  t.equal(
    await kubectlUndo(f, 'ns', 'web', { toRevision: 2 }),
    'deployment.apps/web skipped rollback (current template already matches revision 2)',
  )
  t.equal(
    await rejection(kubectlUndo(f, 'ns', 'web', { toRevision: 7 })),
    'error: unable to find specified revision 7 in history',
  )
  t.equal(f.log.filter(l => l.method === 'PATCH').length, 0)
  t.equal(await kubectlUndo(f, 'ns', 'web', { toRevision: 1 }), 'deployment.apps/web rolled back')
  t.equal(image(f.get('deployments', 'ns', 'web')), 'nginx:1')
  await f.update('deployments', 'ns', 'web', o => void ((o.spec as { paused?: boolean }).paused = true))
  t.match(await rejection(kubectlUndo(f, 'ns', 'web')), /^error: you cannot rollback a paused deployment/)
  const lone = await fake(t)
  await lone.seedDeployment('ns', web())
  t.equal(await rejection(kubectlUndo(lone, 'ns', 'web')), 'error: no rollout history found for deployment "web"')
  t.equal(
    await rejection(kubectlUndo(lone, 'ns', 'nope')),
    'Error from server (NotFound): deployments.apps "nope" not found',
  )
})

const bin = await findKubectl()
const skip = bin
  ? false
  : 'no working kubectl binary found (tried /usr/lib/google-cloud-sdk/bin/kubectl.1.3x and kubectl on PATH)'

/** comparable: an object without what differs between two fakes (uids). */
const comparable = (o: KubeObject | undefined) =>
  JSON.parse(JSON.stringify(o ?? null).replace(/"uid":"[^"]*"/g, '"uid":"-"')) as unknown

/** requests: the resource requests of a log, without kubectl's --request-timeout parameter. */
const requests = (f: FakeKube) =>
  f.log
    .filter(l => l.verb)
    .map(l => ({
      method: l.method,
      pathname: l.pathname,
      query: { ...l.query, timeout: undefined },
      contentType: l.contentType,
      manager: l.userAgent?.split('/')[0],
      body: l.body,
    }))

t.test(
  'the real kubectl rollout undo leaves the same Deployment, ReplicaSets and managedFields as kubectlUndo',
  { skip },
  async t => {
    const [real, helper] = [await history(t), await history(t)]
    const kubectl = kubectlAgainst(t, namedKubectl(t, bin ?? 'kubectl'), real.url)
    const both = async (args: string[], opts?: { toRevision?: number }) => {
      real.log.length = helper.log.length = 0
      const r = await kubectl(['-n', 'ns', 'rollout', 'undo', 'deployment/web', ...args])
      await real.tick()
      const mine = await kubectlUndo(helper, 'ns', 'web', opts).catch((e: Error) => e.message)
      t.equal(
        r.code === 0 ? r.stdout.trim() : r.stderr.trim(),
        mine,
        `kubectl ${args.join(' ') || 'rollout undo'}: same outcome`,
      )
      t.same(requests(helper), requests(real), 'same requests (method, path, query, content type, manager, body)')
      t.same(
        comparable(helper.get('deployments', 'ns', 'web')),
        comparable(real.get('deployments', 'ns', 'web')),
        'same Deployment, managedFields included',
      )
      t.same(
        helper.list('replicasets', 'ns').map(comparable),
        real.list('replicasets', 'ns').map(comparable),
        'same ReplicaSets',
      )
    }
    await both([])
    const d = real.get('deployments', 'ns', 'web')
    t.same([image(d), d?.metadata.annotations?.[REV]], ['nginx:1', '3'])
    t.ok(
      (kubectlEntry(d)?.fieldsV1['f:spec'] as Record<string, unknown> | undefined)?.['f:template'],
      'the real kubectl is recorded as manager "kubectl" owning f:spec.f:template fields',
    )
    await both(['--to-revision=2'], { toRevision: 2 })
    await both(['--to-revision=4'], { toRevision: 4 })
    for (const f of [real, helper])
      await f.update(
        'deployments',
        'ns',
        'web',
        o => void ((o.spec as { paused?: boolean }).paused = true),
        'kubectl-rollout',
      )
    await both([])
    t.same([real.controllerErrors, helper.controllerErrors], [[], []])
  },
)
