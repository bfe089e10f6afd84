// Fault injection (status codes with Retry-After, resets, delays, a write between GET and PATCH), the
// authorize hook driven by RBAC YAML, and watches through client-node's Watch.
import t from 'tap'
import {
  ApiException,
  AppsV1Api,
  CoordinationV1Api,
  EventsV1Api,
  PatchStrategy,
  setHeaderOptions,
  V1MicroTime,
  Watch,
  type V1Deployment,
} from '@kubernetes/client-node'
import { authorizeFromRbac } from '../fixtures/kube/index.js'
import { failure, fake, kc, until, web } from '../fixtures/kube/testing.js'

const json = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch)

t.test('one-shot 503/429/500 with Retry-After, then normal service', async t => {
  const f = await fake(t)
  const apps = kc(f, 'ns').makeApiClient(AppsV1Api)
  await f.seedDeployment('ns', web())
  f.inject({ kind: 'status', code: 503, retryAfterSeconds: 2, match: { verb: 'get', name: 'web' } })
  const e503 = await failure(apps.readNamespacedDeployment({ name: 'web', namespace: 'ns' }))
  t.same([e503.code, e503.status.reason, e503.headers['retry-after']], [503, 'ServiceUnavailable', '2'])
  t.equal((await apps.readNamespacedDeployment({ name: 'web', namespace: 'ns' })).metadata?.name, 'web', 'one shot')
  f.inject({ kind: 'status', code: 429, retryAfterSeconds: 1, times: 2 })
  for (let i = 0; i < 2; i++) {
    const e = await failure(apps.listNamespacedReplicaSet({ namespace: 'ns' }))
    t.same(
      [e.code, e.status.reason, e.status.details, e.headers['retry-after']],
      [429, 'TooManyRequests', { retryAfterSeconds: 1 }, '1'],
    )
  }
  f.inject({ kind: 'status', code: 500, match: { method: 'PATCH' } })
  await apps.readNamespacedDeployment({ name: 'web', namespace: 'ns' })
  const e500 = await failure(apps.patchNamespacedDeployment({ name: 'web', namespace: 'ns', body: [] }, json))
  t.same(
    [e500.code, e500.status.reason, e500.status.message],
    [500, 'InternalError', 'Internal error occurred: injected fault'],
  )
  t.match(f.log.at(-1), { method: 'PATCH', status: 500 })
})

t.test('connection reset and delay', async t => {
  const f = await fake(t)
  const apps = kc(f, 'ns').makeApiClient(AppsV1Api)
  await f.seedDeployment('ns', web())
  f.inject({ kind: 'reset', match: { path: /\/deployments\/web$/ } })
  const err = await apps.readNamespacedDeployment({ name: 'web', namespace: 'ns' }).then(
    () => undefined,
    (e: unknown) => e,
  )
  t.notOk(err instanceof ApiException, 'a network error, not an HTTP status')
  t.match(String((err as { code?: string }).code ?? (err as Error).message), /ECONNRESET|socket hang up/)
  t.equal(f.log.at(-1)?.status, 0)
  f.inject({ kind: 'delay', ms: 150 })
  const start = Date.now()
  await apps.readNamespacedDeployment({ name: 'web', namespace: 'ns' })
  t.ok(Date.now() - start >= 140, 'delayed')
})

t.test('bumpAfterGet: another writer between GET and PATCH → optimistic-lock PATCH gets 409', async t => {
  const f = await fake(t)
  const apps = kc(f, 'ns').makeApiClient(AppsV1Api)
  await f.seedDeployment('ns', web())
  f.inject({ kind: 'bumpAfterGet', resource: 'deployments', namespace: 'ns', name: 'web' })
  const d = await apps.readNamespacedDeployment({ name: 'web', namespace: 'ns' })
  t.notOk(d.metadata?.labels?.['fake-kube/bumped'], 'the GET answer predates the write')
  const ops = [
    { op: 'replace', path: '/metadata/resourceVersion', value: d.metadata?.resourceVersion },
    { op: 'replace', path: '/spec/replicas', value: 1 },
  ]
  const e = await failure(apps.patchNamespacedDeployment({ name: 'web', namespace: 'ns', body: ops }, json))
  t.same([e.code, e.status.reason], [409, 'Conflict'])
  const fresh = await apps.readNamespacedDeployment({ name: 'web', namespace: 'ns' })
  t.ok(fresh.metadata?.labels?.['fake-kube/bumped'])
  t.equal(fresh.metadata?.generation, d.metadata?.generation, 'a label change does not bump generation')
  ops[0] = { op: 'replace', path: '/metadata/resourceVersion', value: fresh.metadata?.resourceVersion }
  t.equal((await apps.patchNamespacedDeployment({ name: 'web', namespace: 'ns', body: ops }, json)).spec?.replicas, 1)
})

const RBAC = `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: rollguard, namespace: apps }
rules:
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["apps"]
  resources: ["replicasets"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["events.k8s.io", ""]
  resources: ["events"]
  verbs: ["create", "patch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: rollguard-leader-election, namespace: rollguard-system }
rules:
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  verbs: ["create"]
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  resourceNames: ["rollguard"]
  verbs: ["get", "update"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: rollguard, namespace: apps }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: rollguard }
subjects: [{ kind: ServiceAccount, name: rollguard, namespace: rollguard-system }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: rollguard-leader-election, namespace: rollguard-system }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: rollguard-leader-election }
subjects: [{ kind: ServiceAccount, name: rollguard, namespace: rollguard-system }]
`

t.test('authorize from RBAC YAML: allowed verbs work, the rest is 403 with the RBAC message', async t => {
  const user = 'system:serviceaccount:rollguard-system:rollguard'
  const f = await fake(t, {
    user,
    authorize: authorizeFromRbac(RBAC, { namespace: 'rollguard-system', serviceAccount: 'rollguard' }),
  })
  const apps = kc(f, 'apps').makeApiClient(AppsV1Api)
  const coord = kc(f).makeApiClient(CoordinationV1Api)
  await f.seedDeployment('apps', web())
  await apps.readNamespacedDeployment({ name: 'web', namespace: 'apps' })
  await apps.listNamespacedReplicaSet({ namespace: 'apps', labelSelector: 'app=web' })
  await apps.patchNamespacedDeployment({ name: 'web', namespace: 'apps', body: [] }, json)
  await kc(f)
    .makeApiClient(EventsV1Api)
    .createNamespacedEvent({
      namespace: 'apps',
      body: {
        metadata: { name: 'web.1' },
        eventTime: new V1MicroTime(),
        reportingController: 'x.io/rollguard',
        reportingInstance: 'p',
        action: 'Rollback',
        reason: 'RolledBack',
        type: 'Normal',
        regarding: { kind: 'Deployment', name: 'web', namespace: 'apps' },
      },
    })
  const del = await failure(apps.deleteNamespacedDeployment({ name: 'web', namespace: 'apps' }))
  t.equal(
    del.status.message,
    `deployments.apps "web" is forbidden: User "${user}" cannot delete resource "deployments" in API group "apps" in the namespace "apps"`,
  )
  const other = await failure(apps.readNamespacedDeployment({ name: 'web', namespace: 'default' }))
  t.equal(other.code, 403, 'the Role is bound in "apps" only')
  const body = { metadata: { name: 'rollguard' }, spec: { holderIdentity: 'me', leaseDurationSeconds: 15 } }
  const made = await coord.createNamespacedLease({ namespace: 'rollguard-system', body })
  await coord.replaceNamespacedLease({ name: 'rollguard', namespace: 'rollguard-system', body: made })
  const wrongName = await failure(coord.readNamespacedLease({ name: 'someone-else', namespace: 'rollguard-system' }))
  t.equal(wrongName.code, 403)
  const list = await failure(coord.listNamespacedLease({ namespace: 'rollguard-system' }))
  t.equal(
    list.status.message,
    `leases.coordination.k8s.io is forbidden: User "${user}" cannot list resource "leases" in API group "coordination.k8s.io" in the namespace "rollguard-system"`,
  )
  const status = await failure(
    apps.replaceNamespacedDeploymentStatus({
      name: 'web',
      namespace: 'apps',
      body: f.get('deployments', 'apps', 'web') as V1Deployment,
    }),
  )
  t.match(status.status.message, /cannot update resource "deployments\/status"/)
})

t.test('watch through client-node: ADDED for current objects, then MODIFIED; closes cleanly', async t => {
  const f = await fake(t)
  await f.seedDeployment('ns', web())
  const seen: string[] = []
  const w = new Watch(kc(f, 'ns'))
  let done: unknown = 'open'
  const ctrl = await w.watch(
    '/apis/apps/v1/namespaces/ns/deployments',
    { fieldSelector: 'metadata.name=web' },
    (type, obj: { metadata: { generation: number } }) => void seen.push(`${type}:${obj.metadata.generation}`),
    e => void (done = e),
  )
  await until(() => seen.includes('ADDED:1'))
  await f.updateTemplate('ns', 'web', tm => void (tm.spec!.containers![0]!.image = 'nginx:2'))
  await until(() => seen.includes('MODIFIED:2'))
  ctrl.abort()
  await until(() => done !== 'open')
  t.ok(seen.length >= 2)
})
