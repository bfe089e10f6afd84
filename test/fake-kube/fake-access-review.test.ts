// selfsubjectaccessreviews (authorization.k8s.io/v1): `kubectl auth can-i` against the fake's authorize hook, with
// kube-apiserver's status codes, validation and discovery; and a real kubectl asking it.
import t, { type Test } from 'tap'
import { AuthorizationV1Api, type V1SelfSubjectAccessReview } from '@kubernetes/client-node'
import { authorizeFromRbac, type AuthzRequest } from '../fixtures/kube/index.js'
import { findKubectl, kubectlAgainst } from '../fixtures/kube/kubectl.js'
import { failure, fake, kc } from '../fixtures/kube/testing.js'

const RBAC = `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: rollguard, namespace: shop }
rules:
  - apiGroups: [apps]
    resources: [deployments]
    verbs: [get]
  - apiGroups: [apps]
    resources: [deployments/scale]
    verbs: [patch]
  - apiGroups: [coordination.k8s.io]
    resources: [leases]
    resourceNames: [rollguard]
    verbs: [get, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: rollguard, namespace: shop }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: rollguard }
subjects: [{ kind: ServiceAccount, name: rollguard, namespace: rollguard-system }]
`
const USER = 'system:serviceaccount:rollguard-system:rollguard'

type Attributes = NonNullable<NonNullable<V1SelfSubjectAccessReview['spec']>['resourceAttributes']>

async function setup(t: Test) {
  const f = await fake(t, { user: USER })
  f.authorize = authorizeFromRbac(RBAC, { namespace: 'rollguard-system', serviceAccount: 'rollguard' })
  const authz = kc(f, 'shop').makeApiClient(AuthorizationV1Api)
  const can = async (attrs: Attributes) =>
    (
      await authz.createSelfSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: attrs },
        },
      })
    ).status?.allowed
  return { f, can }
}

t.test(
  'answers with the authorize hook for the requesting user: verbs, groups, namespaces, subresources, names',
  async t => {
    const { f, can } = await setup(t)
    t.equal(await can({ namespace: 'shop', verb: 'get', group: 'apps', resource: 'deployments' }), true)
    t.equal(
      await can({ namespace: 'shop', verb: 'patch', group: 'apps', resource: 'deployments' }),
      false,
      'only /scale may be patched',
    )
    t.equal(
      await can({ namespace: 'shop', verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'scale' }),
      true,
    )
    t.equal(
      await can({ namespace: 'other', verb: 'get', group: 'apps', resource: 'deployments' }),
      false,
      'a Role grants in its namespace only',
    )
    t.equal(
      await can({ namespace: '', verb: 'get', group: 'apps', resource: 'deployments' }),
      false,
      'nor cluster-wide',
    )
    t.equal(
      await can({ namespace: 'shop', verb: 'get', group: '', resource: 'deployments' }),
      false,
      'RBAC is per API group',
    )
    t.equal(
      await can({
        namespace: 'shop',
        verb: 'update',
        group: 'coordination.k8s.io',
        resource: 'leases',
        name: 'rollguard',
      }),
      true,
    )
    t.equal(
      await can({ namespace: 'shop', verb: 'update', group: 'coordination.k8s.io', resource: 'leases', name: 'other' }),
      false,
      'resourceNames',
    )
    t.equal(
      await can({ namespace: 'shop', verb: 'update', group: 'coordination.k8s.io', resource: 'leases' }),
      false,
      'resourceNames need a name',
    )
    t.match(f.log.at(-1), { method: 'POST', verb: 'create', resource: 'selfsubjectaccessreviews', status: 201 })
    t.equal(f.list('deployments', 'shop').length, 0, 'nothing is stored')
  },
)

t.test('201 Created, the review echoed with its status, as kube-apiserver answers', async t => {
  const f = await fake(t)
  const body = {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    spec: { resourceAttributes: { namespace: 'ns', verb: 'list', group: 'apps', resource: 'replicasets' } },
  }
  const res = await post(f.url, body, { Authorization: 'Bearer t' })
  t.equal(res.status, 201)
  t.same(await res.json(), { ...body, metadata: { creationTimestamp: null }, status: { allowed: true } })
  f.authorize = () => false
  const denied = await post(f.url, body, { Authorization: 'Bearer t' })
  t.same(
    ((await denied.json()) as { status: unknown }).status,
    { allowed: false },
    'RBAC has no opinion: not denied, no reason',
  )
})

t.test('non-resource requests: the default discovery and health paths', async t => {
  const f = await fake(t)
  f.authorize = () => false
  const ask = async (path: string, token: boolean) => {
    const res = await post(
      f.url,
      { spec: { nonResourceAttributes: { path, verb: 'get' } } },
      token ? { Authorization: 'Bearer t' } : {},
    )
    return res.status === 201 ? ((await res.json()) as { status: { allowed: boolean } }).status.allowed : res.status
  }
  t.equal(await ask('/apis/apps/v1', true), true)
  t.equal(await ask('/version', true), true)
  t.equal(await ask('/metrics', true), false)
  t.equal(await ask('/version', false), 403, 'anonymous users may not create reviews')
})

t.test(
  'errors: validation (422), anonymous (403), other methods (405), no namespaced variant (404), bad bodies',
  async t => {
    const f = await fake(t)
    const auth = { Authorization: 'Bearer t' }
    const neither = await post(f.url, { spec: {} }, auth)
    t.equal(neither.status, 422)
    t.match(await neither.json(), {
      reason: 'Invalid',
      message:
        'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified',
      details: {
        group: 'authorization.k8s.io',
        kind: 'SelfSubjectAccessReview',
        causes: [{ reason: 'FieldValueInvalid', field: 'spec.resourceAttributes' }],
      },
    })
    const both = await post(
      f.url,
      { spec: { resourceAttributes: { verb: 'get' }, nonResourceAttributes: { path: '/', verb: 'get' } } },
      auth,
    )
    t.match(await both.json(), {
      code: 422,
      message: /spec\.nonResourceAttributes: .*cannot be specified in combination with resourceAttributes/,
    })
    const named = await post(f.url, { metadata: { name: 'x' }, spec: { resourceAttributes: { verb: 'get' } } }, auth)
    t.match(await named.json(), { code: 422, message: /metadata: Invalid value: .*must be empty/ })
    f.authorize = () => false
    const anonymous = await post(f.url, { spec: { resourceAttributes: { verb: 'get' } } }, {})
    t.match(await anonymous.json(), {
      code: 403,
      message:
        'selfsubjectaccessreviews.authorization.k8s.io is forbidden: User "system:anonymous" cannot create resource "selfsubjectaccessreviews" in API group "authorization.k8s.io" at the cluster scope',
    })
    const get = await fetch(`${f.url}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews`, { headers: auth })
    t.equal(get.status, 405)
    const namespaced = await post(
      f.url,
      { spec: { resourceAttributes: { verb: 'get' } } },
      auth,
      '/apis/authorization.k8s.io/v1/namespaces/ns/selfsubjectaccessreviews',
    )
    t.equal(namespaced.status, 404)
    const garbage = await fetch(`${f.url}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: '{',
      signal: AbortSignal.timeout(5_000),
    })
    t.equal(garbage.status, 400)
    const client = kc(f, 'ns').makeApiClient(AuthorizationV1Api)
    const e = await failure(client.createSelfSubjectAccessReview({ body: { spec: {} } }))
    t.equal(e.code, 422, 'client-node sees the ApiException')
  },
)

// A request kubectl 1.32 sent (`auth can-i update leases.coordination.k8s.io/rollguard -n shop` against a server
// without discovery, so the group stayed in the resource), byte for byte.
const KUBECTL_PROTOBUF =
  '6b3873000a320a17617574686f72697a6174696f6e2e6b38732e696f2f7631121753656c665375626a656374416363657373526576696577125b0a100a0012001a0022002a00320038004200123d0a3b0a0473686f7012067570646174651a0022002a1a6c65617365732e636f6f7264696e6174696f6e2e6b38732e696f32003a09726f6c6c67756172641a08080012001a0020001a002200'

t.test('protobuf bodies (what kubectl sends) are decoded; YAML works; garbage is a 400', async t => {
  const f = await fake(t)
  const asked: AuthzRequest[] = []
  f.authorize = req => {
    asked.push(req)
    return req.resource !== 'selfsubjectaccessreviews'
  }
  const res = await fetch(`${f.url}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/vnd.kubernetes.protobuf', Authorization: 'Bearer t' },
    body: Buffer.from(KUBECTL_PROTOBUF, 'hex'),
    signal: AbortSignal.timeout(5_000),
  })
  t.equal(res.status, 201)
  t.same(await res.json(), {
    kind: 'SelfSubjectAccessReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec: {
      resourceAttributes: {
        namespace: 'shop',
        verb: 'update',
        resource: 'leases.coordination.k8s.io',
        name: 'rollguard',
      },
    },
    status: { allowed: true },
  })
  t.match(asked.at(-1), {
    verb: 'update',
    group: '',
    resource: 'leases.coordination.k8s.io',
    namespace: 'shop',
    name: 'rollguard',
  })
  const yaml = await fetch(`${f.url}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/yaml', Authorization: 'Bearer t' },
    body: 'spec:\n  resourceAttributes: { verb: list, group: apps, resource: replicasets, namespace: ns }\n',
    signal: AbortSignal.timeout(5_000),
  })
  t.equal(yaml.status, 201)
  t.match(asked.at(-1), { verb: 'list', group: 'apps', resource: 'replicasets', namespace: 'ns' })
  for (const body of [Buffer.from('not protobuf'), Buffer.from('6b387300ff', 'hex')]) {
    const bad = await fetch(`${f.url}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/vnd.kubernetes.protobuf', Authorization: 'Bearer t' },
      body,
      signal: AbortSignal.timeout(5_000),
    })
    t.match(await bad.json(), {
      code: 400,
      reason: 'BadRequest',
      message: /^the object provided is unrecognized \(must be of type SelfSubjectAccessReview\): /,
    })
  }
  const cbor = await fetch(`${f.url}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/cbor', Authorization: 'Bearer t' },
    body: 'x',
    signal: AbortSignal.timeout(5_000),
  })
  t.equal(cbor.status, 415)
})

t.test('discovery lists the group and the cluster-scoped, create-only resource', async t => {
  const f = await fake(t)
  const apis = (await (await fetch(`${f.url}/apis`)).json()) as { groups: { name: string }[] }
  t.ok(apis.groups.some(g => g.name === 'authorization.k8s.io'))
  const list = (await (await fetch(`${f.url}/apis/authorization.k8s.io/v1`)).json()) as { resources: unknown[] }
  t.same(list.resources, [
    {
      name: 'selfsubjectaccessreviews',
      singularName: 'selfsubjectaccessreview',
      namespaced: false,
      kind: 'SelfSubjectAccessReview',
      verbs: ['create'],
    },
  ])
  t.equal((await fetch(`${f.url}/apis/authorization.k8s.io`)).status, 200)
})

const bin = await findKubectl()
t.test(
  'kubectl auth can-i asks the fake and prints its answer',
  { skip: bin ? false : 'no working kubectl binary found' },
  async t => {
    const { f } = await setup(t)
    // kubectl sends no token over http://, so it asks as system:anonymous: let that user create reviews here.
    const rbac = f.authorize
    f.authorize = req => req.resource === 'selfsubjectaccessreviews' || rbac(req)
    const kubectl = kubectlAgainst(t, bin ?? 'kubectl', f.url)
    const yes = await kubectl(['auth', 'can-i', 'get', 'deployments.apps', '-n', 'shop'])
    t.same([yes.code, yes.stdout.trim()], [0, 'yes'], yes.stderr)
    const no = await kubectl(['auth', 'can-i', 'patch', 'deployments', '-n', 'shop'])
    t.same([no.code, no.stdout.trim()], [1, 'no'], no.stderr)
    const lease = await kubectl(['auth', 'can-i', 'update', 'leases.coordination.k8s.io/rollguard', '-n', 'shop'])
    t.same([lease.code, lease.stdout.trim()], [0, 'yes'], lease.stderr)
    // kubectl sends the review as protobuf; the fake decodes that one message (access-review.ts).
    const sent = f.log.filter(l => l.resource === 'selfsubjectaccessreviews').at(-1)
    t.match(sent, { method: 'POST', verb: 'create', contentType: 'application/vnd.kubernetes.protobuf', status: 201 })
    t.match(
      String(sent?.body),
      /shop[\s\S]*update[\s\S]*coordination\.k8s\.io[\s\S]*leases[\s\S]*rollguard/,
      'resolved through discovery: group and resource apart',
    )
  },
)

function post(
  url: string,
  body: unknown,
  headers: Record<string, string>,
  path = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
): Promise<Response> {
  return fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  })
}
