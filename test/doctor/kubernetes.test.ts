// doctor's Kubernetes checks against the fake API server: with sharding on, the member Leases' permissions are asked
// with SelfSubjectAccessReviews where the daemon's sharding would use them, alone or next to the actions' checks,
// after one kubeconfig and one API check.
import { readFileSync } from 'node:fs'
import t, { type Test } from 'tap'
import { ConfigDocument } from '../../src/config/schema.js'
import type { Check } from '../../src/doctor/check.js'
import { checkKubernetes } from '../../src/doctor/kubernetes.js'
import { tempDir } from '../fixtures/e2e.js'
import { authorizeFromRbac, type FakeKube } from '../fixtures/kube/index.js'
import { fake } from '../fixtures/kube/testing.js'
import { writeKubeconfig } from '../fixtures/kubeconfig.js'

const SA = { namespace: 'rollguard-system', serviceAccount: 'rollguard' }
const USER = `system:serviceaccount:${SA.namespace}:${SA.serviceAccount}`
const SHARDING_RBAC = readFileSync(
  new URL('../../deploy/components/sharding/sharding-rbac.yaml', import.meta.url),
  'utf8',
)
// Nothing from this process's environment: the kubeconfig is always given.
const ENV = { HOME: '/nonexistent' }

/** cluster: the fake API server, authorizing rollguard's ServiceAccount with the RBAC YAML; context namespace rollguard-system. */
async function cluster(t: Test, rbac: string): Promise<{ f: FakeKube; kubeconfig: string }> {
  const f = await fake(t, { user: USER })
  f.authorize = authorizeFromRbac(rbac, SA)
  return { f, kubeconfig: writeKubeconfig(tempDir(t), f, SA.namespace) }
}

function doc(config: Record<string, unknown>): ConfigDocument {
  return ConfigDocument.parse({ prometheus: { url: 'http://127.0.0.1:9' }, ...config })
}

/** reviews lists the resource attributes of the access reviews the fake was asked, as `verb resource.group ns`. */
function reviews(f: FakeKube): string[] {
  return f.log
    .filter(e => e.resource === 'selfsubjectaccessreviews')
    .map(e => {
      const a = (e.body as { spec: { resourceAttributes: Record<string, string> } }).spec.resourceAttributes
      return `${a['verb']} ${a['resource']}.${a['group']}${a['name'] === undefined ? '' : `/${a['name']}`} ${a['namespace']}`
    })
    .sort()
}

const names = (checks: readonly Check[]) => checks.map(c => `${c.status} ${c.name}`)

t.test('sharding alone, granted by deploy/components/sharding: kubeconfig, API and one ok sharding check', async t => {
  const { f, kubeconfig } = await cluster(t, SHARDING_RBAC)
  const checks = await checkKubernetes(doc({ kubernetes: { kubeconfig }, sharding: { enabled: true } }), ENV)
  t.same(names(checks), ['ok kubeconfig', 'ok kubernetes-api', 'ok sharding-permissions'])
  t.match(checks[0], {
    message: /^credentials from .*kubeconfig\.json: context "fake", API server http:\/\/127\.0\.0\.1:\d+$/,
  })
  t.same(checks[2], {
    name: 'sharding-permissions',
    status: 'ok',
    message:
      'sharding (member Leases rollguard-member-* in namespace "rollguard-system"): create, get, update and list on leases.coordination.k8s.io are granted',
  })
  t.same(reviews(f), [
    'create leases.coordination.k8s.io rollguard-system',
    'get leases.coordination.k8s.io rollguard-system',
    'list leases.coordination.k8s.io rollguard-system',
    'update leases.coordination.k8s.io rollguard-system',
  ])
  t.same(
    f.log.filter(e => e.resource !== 'selfsubjectaccessreviews').map(e => `${e.method} ${e.pathname}`),
    ['GET /version'],
    'nothing else asked, nothing changed',
  )
})

t.test('one verb denied: a failed check naming it, with the Role to grant and the can-i to check', async t => {
  const { f, kubeconfig } = await cluster(t, SHARDING_RBAC)
  const rbac = f.authorize
  f.authorize = r => r.verb !== 'list' && rbac(r)
  const checks = await checkKubernetes(doc({ kubernetes: { kubeconfig }, sharding: { enabled: true } }), ENV)
  t.same(names(checks), ['ok kubeconfig', 'ok kubernetes-api', 'fail sharding-permissions'])
  t.same(checks[2], {
    name: 'sharding-permissions',
    status: 'fail',
    message:
      'sharding (member Leases rollguard-member-* in namespace "rollguard-system"): missing list leases.coordination.k8s.io',
    hint: 'a replica without them evaluates no rule group (one that holds its Lease but cannot list leaves its share of the groups unevaluated): grant them with the Role of deploy/components/sharding (docs/rbac.md, "Sharding"); check with kubectl auth can-i list leases.coordination.k8s.io -n rollguard-system --as <rollguard\'s user>',
  })
})

t.test('sharding.namespace and lease_prefix: asked there, not in the context namespace', async t => {
  const { f, kubeconfig } = await cluster(t, SHARDING_RBAC)
  const checks = await checkKubernetes(
    doc({ kubernetes: { kubeconfig }, sharding: { enabled: true, namespace: 'shards', lease_prefix: 'eu' } }),
    ENV,
  )
  t.match(checks[2], {
    name: 'sharding-permissions',
    status: 'fail',
    message:
      'sharding (member Leases eu-* in namespace "shards"): missing create leases.coordination.k8s.io, get leases.coordination.k8s.io, update leases.coordination.k8s.io, list leases.coordination.k8s.io',
    hint: /; check with kubectl auth can-i create leases\.coordination\.k8s\.io -n shards --as /,
  })
  t.ok(
    reviews(f).every(r => r.endsWith(' shards')),
    'every review in sharding.namespace',
  )
})

t.test(
  'sharding and actions: one kubeconfig and API check, then the actions checks and the sharding check',
  async t => {
    const { f, kubeconfig } = await cluster(t, SHARDING_RBAC)
    f.authorize = () => true
    const checks = await checkKubernetes(
      doc({
        actions: { mode: 'dry-run', allow: [{ namespace: 'shop' }] },
        kubernetes: { kubeconfig },
        sharding: { enabled: true },
      }),
      ENV,
    )
    t.same(names(checks), [
      'ok kubeconfig',
      'ok kubernetes-api',
      'ok kubernetes-permissions',
      'ok kubernetes-permissions',
      'ok gitops-permissions',
      'ok sharding-permissions',
    ])
    t.match(checks[3], { message: /^leader election \(Lease rollguard-system\/rollguard\): / })
    t.equal(f.log.filter(e => e.pathname === '/version').length, 1, 'the API is asked once')
    const leases = reviews(f).filter(r => r.includes(' leases.'))
    t.same(
      leases,
      [
        'create leases.coordination.k8s.io rollguard-system',
        'create leases.coordination.k8s.io rollguard-system',
        'get leases.coordination.k8s.io rollguard-system',
        'get leases.coordination.k8s.io/rollguard rollguard-system',
        'list leases.coordination.k8s.io rollguard-system',
        'update leases.coordination.k8s.io rollguard-system',
        'update leases.coordination.k8s.io/rollguard rollguard-system',
      ],
      'the leader Lease by name, the member Leases by verb',
    )
  },
)

t.test('sharding off: the actions checks only, no member Lease asked about', async t => {
  const { f, kubeconfig } = await cluster(t, SHARDING_RBAC)
  f.authorize = () => true
  const checks = await checkKubernetes(
    doc({ actions: { mode: 'dry-run', allow: [{ namespace: 'shop' }] }, kubernetes: { kubeconfig } }),
    ENV,
  )
  t.same(names(checks), [
    'ok kubeconfig',
    'ok kubernetes-api',
    'ok kubernetes-permissions',
    'ok kubernetes-permissions',
    'ok gitops-permissions',
  ])
  t.notOk(
    reviews(f).some(r => r.startsWith('list leases.')),
    'no list of Leases asked',
  )
})

t.test('sharding alone: credentials that do not load, reviews that cannot be asked', async t => {
  const missing = await checkKubernetes(
    doc({ kubernetes: { kubeconfig: '/nonexistent/kubeconfig' }, sharding: { enabled: true } }),
    ENV,
  )
  t.match(missing, [
    {
      name: 'kubeconfig',
      status: 'fail',
      message: /^cannot load the Kubernetes credentials for sharding: /,
      hint: /rollguard run fails the same way/,
    },
  ])
  t.equal(missing.length, 1)

  const { f, kubeconfig } = await cluster(t, SHARDING_RBAC)
  f.inject({ kind: 'status', code: 500, match: { resource: 'selfsubjectaccessreviews' }, times: 4 })
  const checks = await checkKubernetes(doc({ kubernetes: { kubeconfig }, sharding: { enabled: true } }), ENV)
  t.match(checks[2], {
    name: 'sharding-permissions',
    status: 'fail',
    message:
      /^sharding \(member Leases rollguard-member-\* in namespace "rollguard-system"\): cannot ask the API server what rollguard may do: /,
  })
})
