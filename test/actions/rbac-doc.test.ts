// docs/rbac.md is the source of the deploy manifests' RBAC: this test loads its YAML blocks into the fake API
// server's RBAC authorizer and proves they suffice for what rollguard does, and grant nothing it does not use.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { parseAllDocuments, stringify } from 'yaml'
import { makeClients } from '../../src/actions/kube/client.js'
import { LeaseElector } from '../../src/actions/kube/lease.js'
import { authorizeFromRbac, kubeConfigFor, type RequestLogEntry } from '../fixtures/kube/index.js'
import { web } from '../fixtures/kube/testing.js'
import {
  cluster,
  daemonSet,
  imageOf,
  setImage,
  setWorkloadImage,
  statefulSet,
  type Cluster,
} from '../fixtures/cluster-harness.js'

const DOC = readFileSync(new URL('../../docs/rbac.md', import.meta.url), 'utf8')
const SA = { namespace: 'rollguard-system', serviceAccount: 'rollguard' }
const USER = 'system:serviceaccount:rollguard-system:rollguard'

/** blocks maps the file each ```yaml block is meant for (its first-line comment) to the block. */
function blocks(markdown: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const m of markdown.matchAll(/```yaml\n([\s\S]*?)```/g)) {
    const body = m[1] ?? ''
    const file = /^# (\S+)/.exec(body)?.[1]
    if (file === undefined) throw new Error(`a yaml block without a "# file" comment: ${body.slice(0, 60)}`)
    out.set(file, body)
  }
  return out
}

const BLOCKS = blocks(DOC)
const block = (file: string): string => {
  const b = BLOCKS.get(file)
  if (b === undefined) throw new Error(`docs/rbac.md has no block for ${file}`)
  return b
}
const NAMESPACED = [
  'deploy/base/serviceaccount.yaml',
  'deploy/base/leader-election.yaml',
  'deploy/overlays/namespaced/workloads-namespaced.yaml',
]
const CLUSTER = [
  'deploy/base/serviceaccount.yaml',
  'deploy/base/leader-election.yaml',
  'deploy/overlays/cluster-wide/workloads-cluster.yaml',
]
const yamlOf = (files: string[]) => files.map(block).join('---\n')

interface Rule {
  apiGroups: string[]
  resources: string[]
  verbs: string[]
}

// Every (group, resource, verb) a set of Roles/ClusterRoles grants.
function granted(yamlText: string): Set<string> {
  const out = new Set<string>()
  for (const doc of parseAllDocuments(yamlText).map(d => d.toJSON() as { kind?: string; rules?: Rule[] })) {
    if (doc.kind !== 'Role' && doc.kind !== 'ClusterRole') continue
    for (const r of doc.rules ?? [])
      for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) out.add(`${g}/${res}:${v}`)
  }
  return out
}

// Every (group, resource, verb) the fake authorized (a 404 counts: the Lease GET before it exists is authorized first).
function used(log: readonly RequestLogEntry[]): Set<string> {
  const out = new Set<string>()
  for (const e of log) {
    if (e.status === 0 || e.status === 401 || e.status === 403 || !e.verb || !e.resource) continue
    const group = /^\/apis\/([^/]+)\//.exec(e.pathname)?.[1] ?? ''
    out.add(`${group}/${e.resource}:${e.verb}`)
  }
  return out
}

async function seedWorkloads(c: Cluster, ns: string): Promise<void> {
  await c.fake.seedDeployment(ns, web('nginx:1'))
  await setImage(c.fake, ns, 'web', 'nginx:2')
  await c.fake.seed('statefulsets', ns, statefulSet('db', 'pg:1'))
  await setWorkloadImage(c.fake, 'statefulsets', ns, 'db', 'pg:2')
  await c.fake.seed('daemonsets', ns, daemonSet('agent', 'a:1'))
  await setWorkloadImage(c.fake, 'daemonsets', ns, 'agent', 'a:2')
}

// The daemon's leader election: acquire (GET 404, create), renew (update), release (update).
async function leaseRoundTrip(c: Cluster): Promise<{ led: boolean; errors: string[] }> {
  const errors: string[] = []
  let led = false
  const stop = new AbortController()
  const elector = new LeaseElector({
    leases: makeClients(kubeConfigFor(c.fake, SA.namespace)).leases,
    namespace: SA.namespace,
    name: 'rollguard',
    identity: 'rollguard-0',
    leaseDurationMs: 3_000,
    renewDeadlineMs: 2_000,
    retryPeriodMs: 200,
    releaseOnCancel: true,
    onStartedLeading: () => void (led = true),
    onStoppedLeading: () => {},
    onError: m => void errors.push(m),
  })
  const run = elector.run(stop.signal)
  const end = performance.now() + 5_000
  while (!led && performance.now() < end) await new Promise(r => setTimeout(r, 20))
  await new Promise(r => setTimeout(r, 500)) // at least one renewal
  stop.abort()
  await run
  return { led, errors }
}

t.test('docs/rbac.md has the blocks the deploy manifests need', async t => {
  t.same([...BLOCKS.keys()].sort(), [
    'deploy/base/leader-election.yaml',
    'deploy/base/serviceaccount.yaml',
    'deploy/examples/cli-rbac.yaml',
    'deploy/overlays/cluster-wide/workloads-cluster.yaml',
    'deploy/overlays/namespaced/workloads-namespaced.yaml',
  ])
  t.same(
    granted(block('deploy/overlays/cluster-wide/workloads-cluster.yaml')),
    granted(block('deploy/overlays/namespaced/workloads-namespaced.yaml')),
    'both variants grant the same',
  )
})

t.test('the per-namespace RBAC suffices for rollback, history and the Lease, and grants nothing unused', async t => {
  const c = await cluster(t, 'shop', { user: USER })
  await seedWorkloads(c, 'shop')
  await seedWorkloads(c, 'other')
  const rbac = yamlOf(NAMESPACED)
  c.fake.authorize = authorizeFromRbac(rbac, SA)
  for (const target of ['deployment/web', 'statefulset/db', 'daemonset/agent']) {
    const r = await c.rollback([target, '-n', 'shop', '--reason', 'rbac check'])
    t.equal(r.code, 0, `${target}: ${r.err}`)
    t.equal(r.err, '', `${target}: no warnings (the event was recorded)`)
  }
  t.equal(imageOf(c.fake, 'deployments', 'shop', 'web'), 'nginx:1')
  t.equal(imageOf(c.fake, 'statefulsets', 'shop', 'db'), 'pg:1')
  t.equal(imageOf(c.fake, 'daemonsets', 'shop', 'agent'), 'a:1')
  t.equal((await c.rollback(['deployment/web', '-n', 'shop', '--dry-run'])).code, 0, 'a server-side dry run')
  const history = await c.history(['deployment/web', '-n', 'shop'])
  t.equal(history.code, 0, history.err)
  t.equal((await c.history(['sts/db', '-n', 'shop'])).code, 0)
  const lease = await leaseRoundTrip(c)
  t.ok(lease.led, 'acquired the Lease')
  t.same(lease.errors, [])
  t.same(
    c.fake.log.filter(e => e.status === 403).map(e => `${e.method} ${e.path}`),
    [],
    'nothing was forbidden',
  )
  t.same(
    [...granted(rbac)].filter(g => !used(c.fake.log).has(g)),
    [],
    'every granted verb is used (least privilege)',
  )
  const elsewhere = await c.rollback(['deployment/web', '-n', 'other'])
  t.equal(elsewhere.code, 1, 'a namespace without the Role is out of reach')
  t.match(
    elsewhere.err,
    /deployments\.apps "web" is forbidden: User "system:serviceaccount:rollguard-system:rollguard" cannot get resource "deployments"/,
  )
})

t.test('without the patch verb the rollback fails with 403 and changes nothing', async t => {
  const c = await cluster(t, 'shop', { user: USER })
  await seedWorkloads(c, 'shop')
  const rbac = yamlOf(NAMESPACED)
  const noPatch = rbac.replace('verbs: ["get", "patch"]', 'verbs: ["get"]')
  t.not(noPatch, rbac, 'the patch verb was removed')
  c.fake.authorize = authorizeFromRbac(noPatch, SA)
  const r = await c.rollback(['deployment/web', '-n', 'shop'])
  t.equal(r.code, 1)
  t.equal(
    r.err,
    'error: deployment.apps/web -n shop: rollback patch: deployments.apps "web" is forbidden: User "system:serviceaccount:rollguard-system:rollguard" cannot patch resource "deployments" in API group "apps" in the namespace "shop"\n',
  )
  t.same(
    c.fake.log.filter(e => e.status === 403).map(e => [e.method, e.resource]),
    [['PATCH', 'deployments']],
  )
  t.equal(imageOf(c.fake, 'deployments', 'shop', 'web'), 'nginx:2')
  t.equal((await c.rollback(['deployment/web', '-n', 'shop', '--dry-run'])).code, 1, 'a dry run needs patch too')
})

t.test('the cluster-wide variant works in every namespace', async t => {
  const c = await cluster(t, 'shop', { user: USER })
  await seedWorkloads(c, 'shop')
  await seedWorkloads(c, 'other')
  c.fake.authorize = authorizeFromRbac(yamlOf(CLUSTER), SA)
  for (const ns of ['shop', 'other']) {
    const r = await c.rollback(['deploy/web', '-n', ns])
    t.equal(r.code, 0, `${ns}: ${r.err}`)
    t.equal(r.err, '')
  }
  const lease = await leaseRoundTrip(c)
  t.ok(lease.led)
  t.same(lease.errors, [])
  t.same(
    c.fake.log.filter(e => e.status === 403),
    [],
  )
})

t.test("the CLI's ClusterRoles: rollguard-rollback can roll back, rollguard-history only read", async t => {
  const roles = parseAllDocuments(block('deploy/examples/cli-rbac.yaml'))
    .map(d => d.toJSON() as { kind?: string; metadata?: { name?: string } })
    .filter(d => d.kind === 'ClusterRole')
  t.same(
    roles.map(r => r.metadata?.name),
    ['rollguard-rollback', 'rollguard-history'],
  )
  // The doc binds a Group; the fake authenticates service accounts, so bind the same roles to one for the test.
  const bound = (role: string) =>
    [
      ...roles.map(r => stringify(r)),
      stringify({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'alice', namespace: 'shop' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
        subjects: [{ kind: 'ServiceAccount', name: 'alice', namespace: 'shop' }],
      }),
    ].join('---\n')
  const alice = { namespace: 'shop', serviceAccount: 'alice' }
  const c = await cluster(t, 'shop', { user: 'system:serviceaccount:shop:alice' })
  await seedWorkloads(c, 'shop')
  c.fake.authorize = authorizeFromRbac(bound('rollguard-history'), alice)
  t.equal((await c.history(['deploy/web'])).code, 0)
  t.equal((await c.history(['ds/agent'])).code, 0)
  const refused = await c.rollback(['deploy/web'])
  t.equal(refused.code, 1)
  t.match(refused.err, /cannot patch resource "deployments"/)
  t.match(
    refused.err,
    /Warning: event RollbackFailed not recorded: .*cannot create resource "events"/,
    'nor may it record events',
  )
  c.fake.authorize = authorizeFromRbac(bound('rollguard-rollback'), alice)
  const r = await c.rollback(['deploy/web'])
  t.equal(r.code, 0, r.err)
  t.equal(r.err, '')
  t.equal((await c.history(['deploy/web'])).code, 0)
  t.same(
    c.fake.log.filter(e => e.status === 403).map(e => [e.method, e.resource]),
    [
      ['PATCH', 'deployments'],
      ['POST', 'events'],
    ],
    'only the refused attempt',
  )
})

t.test('every block of docs/rbac.md is a file of the project, with the same objects', async t => {
  for (const [name, text] of BLOCKS) {
    const file = new URL(`../../${name}`, import.meta.url)
    // The manifests add the common labels (kustomize's labels:, app.kubernetes.io/*); everything else is the doc's.
    const docs = (s: string) =>
      parseAllDocuments(s)
        .map(d => d.toJS() as { metadata?: Record<string, unknown> } | null)
        .filter(o => o !== null)
        .map(o => ({ ...o, metadata: { ...o.metadata, labels: undefined } }))
    t.same(docs(readFileSync(file, 'utf8')), docs(text), `${name} matches the doc`)
  }
})
