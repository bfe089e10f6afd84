/**
 * The RBAC of the manifests is docs/rbac.md's, and it is exactly what the daemon uses. The daemon is started
 * the way the Deployment starts it — the container's args, the config and rules as the kubelet mounts them —
 * against the fake API server, which authorizes every request with the rendered Roles and bindings for the
 * Deployment's ServiceAccount. It takes the Lease and rolls back a Deployment, a StatefulSet and a DaemonSet,
 * first in the shipped dry-run mode, then in execute mode. The set of (API group, resource, verb) it was
 * granted must equal the set it used: no more, no less. On the way, the probes' paths answer and every metric
 * the PrometheusRule reads is served on /metrics.
 */
import { createServer as createHttpServer } from 'node:http'
import { createServer } from 'node:net'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { parseAllDocuments, parse as parseYaml, stringify as stringifyYaml } from 'yaml'
import { parseRunArgs } from '../../src/cli/args.js'
import { Daemon } from '../../src/daemon.js'
import { metricNames } from '../../src/rules/promql.js'
import type { Transition } from '../../src/engine/types.js'
import { daemonSet, imageOf, setImage, setWorkloadImage, statefulSet } from '../fixtures/cluster-harness.js'
import { logSink } from '../fixtures/e2e.js'
import { authorizeFromRbac, startFakeKube, type FakeKube, type RequestLogEntry } from '../fixtures/kube/index.js'
import { until, web } from '../fixtures/kube/testing.js'
import { writeKubeconfig } from '../fixtures/kubeconfig.js'
import { find, mountPod, pod, rebaseArgs, render, ROOT, toYaml, type K8sObject } from './fixtures/manifests.js'

const RBAC_KINDS = new Set(['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'])
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version
/** Labels Prometheus attaches to every series of a ServiceMonitor target (with honorLabels, a series' own win). */
const TARGET_LABELS = ['job', 'instance', 'namespace', 'pod', 'service', 'endpoint', 'container']

interface Rule {
  apiGroups: string[]
  resources: string[]
  verbs: string[]
}

/** docBlocks maps each ```yaml block of docs/rbac.md to its objects, by the file its first-line comment names. */
function docBlocks(): Map<string, K8sObject[]> {
  const doc = readFileSync(join(ROOT, 'docs', 'rbac.md'), 'utf8')
  const out = new Map<string, K8sObject[]>()
  for (const m of doc.matchAll(/```yaml\n([\s\S]*?)```/g)) {
    const body = m[1] ?? ''
    out.set(
      /^# (\S+)/.exec(body)?.[1] ?? '',
      parseAllDocuments(body).map(d => d.toJS() as K8sObject),
    )
  }
  return out
}

const rbacOf = (objs: readonly K8sObject[]): K8sObject[] => objs.filter(o => RBAC_KINDS.has(o.kind))
const withoutLabels = (o: K8sObject): K8sObject => {
  const { labels: _, ...metadata } = o.metadata
  return { ...o, metadata }
}
const key = (o: K8sObject): string => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`

/** granted lists what the Roles and ClusterRoles grant, as "<namespace or *>|<group>/<resource>:<verb>". */
function granted(objs: readonly K8sObject[]): Set<string> {
  const out = new Set<string>()
  for (const o of objs) {
    if (o.kind !== 'Role' && o.kind !== 'ClusterRole') continue
    const scope = o.kind === 'Role' ? o.metadata.namespace : '*'
    for (const r of (o.rules as Rule[]) ?? [])
      for (const g of r.apiGroups)
        for (const res of r.resources) for (const v of r.verbs) out.add(`${scope}|${g}/${res}:${v}`)
  }
  return out
}

/** used lists what the fake authorized, in the same form (a namespace without a Role of its own counts as *). */
function used(log: readonly RequestLogEntry[], grants: Set<string>): Set<string> {
  const out = new Set<string>()
  for (const e of log) {
    // A 404 counts: the Lease GET before the Lease exists was authorized first.
    if (e.status === 0 || e.status === 401 || e.status === 403 || e.verb === undefined || e.resource === undefined)
      continue
    const what = `${/^\/apis\/([^/]+)\//.exec(e.pathname)?.[1] ?? ''}/${e.resource}:${e.verb}`
    out.add(grants.has(`${e.namespace}|${what}`) ? `${e.namespace}|${what}` : `*|${what}`)
  }
  return out
}
const flat = (s: Set<string>): string[] => [...new Set([...s].map(x => x.split('|')[1] as string))].sort()

function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

async function seedWorkloads(fake: FakeKube, ns: string): Promise<void> {
  await fake.seedDeployment(ns, web('nginx:1'))
  await setImage(fake, ns, 'web', 'nginx:2')
  await fake.seed('statefulsets', ns, statefulSet('db', 'pg:1'))
  await setWorkloadImage(fake, 'statefulsets', ns, 'db', 'pg:2')
  await fake.seed('daemonsets', ns, daemonSet('agent', 'a:1'))
  await setWorkloadImage(fake, 'daemonsets', ns, 'agent', 'a:2')
}

function firing(ns: string, kind: 'deployment' | 'statefulset' | 'daemonset', name: string): Transition {
  const labels = {
    alertname: 'HighErrorRate',
    namespace: ns,
    [kind]: name,
    severity: 'critical',
    rollguard_trigger: 'rollback',
  }
  return {
    rule: 'HighErrorRate',
    fingerprint: `${kind}/${name}`,
    labels,
    annotations: {},
    value: 0.5,
    from: 'pending',
    to: 'firing',
    at: Date.now() - 50,
    activeAt: Date.now() - 50,
  }
}

/** alertmanager is a stand-in Alertmanager on loopback: it accepts alerts and has no silences. */
async function alertmanager(t: Test): Promise<string> {
  const server = createHttpServer((req, res) => {
    req.resume()
    const ok =
      (req.method === 'GET' && req.url?.startsWith('/api/v2/silences')) ||
      (req.method === 'POST' && req.url === '/api/v2/alerts')
    res.writeHead(ok ? 200 : 404, { 'content-type': 'application/json' }).end(req.method === 'GET' ? '[]' : '')
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`
}

/**
 * startFromManifests starts the daemon as the Deployment does. What the test changes, and only that: listen on a
 * loopback port, a Prometheus that refuses connections, a stand-in Alertmanager, the fake API server instead of
 * the in-cluster service account (a kubeconfig whose namespace is the pod's, as in-cluster), 1s evaluations.
 */
async function startFromManifests(
  t: Test,
  objs: readonly K8sObject[],
  fake: FakeKube,
  extra: Record<string, string> = {},
): Promise<Daemon> {
  const root = t.testdir({})
  const { container, rebase } = mountPod(objs, root)
  const flags = parseRunArgs(rebaseArgs((container.args ?? []).slice(1), rebase)).flags
  const refused = `http://127.0.0.1:${await closedPort()}`
  const overrides: Record<string, string> = {
    listen: '127.0.0.1:0',
    'prometheus-url': refused,
    'alertmanager-url': await alertmanager(t),
    kubeconfig: writeKubeconfig(root, fake, pod(objs).deployment.metadata.namespace),
    'eval-interval': '1s',
    ...extra,
  }
  for (const [k, v] of Object.entries(overrides)) flags.set(k, [v])
  const daemon = await Daemon.start(
    { flags, env: {}, cwd: rebase('/app') },
    { version: VERSION, logger: logSink().logger, actions: { verifyPollMs: 20 } },
  )
  let stopped = false
  const stop = daemon.stop.bind(daemon)
  daemon.stop = async () => {
    if (!stopped) await stop()
    stopped = true
  }
  t.teardown(() => daemon.stop())
  return daemon
}

async function fakeFor(t: Test, objs: readonly K8sObject[]): Promise<FakeKube> {
  const sa = find(objs, 'ServiceAccount')
  const namespace = sa.metadata.namespace as string
  t.equal(pod(objs).spec.serviceAccountName, sa.metadata.name)
  const fake = await startFakeKube({ user: `system:serviceaccount:${namespace}:${sa.metadata.name}` })
  t.teardown(() => fake.close())
  fake.authorize = authorizeFromRbac(toYaml(rbacOf(objs)), { namespace, serviceAccount: sa.metadata.name })
  return fake
}

const forbidden = (fake: FakeKube): string[] => fake.log.filter(e => e.status === 403).map(e => `${e.method} ${e.path}`)

t.test('the RBAC objects are those of docs/rbac.md', async t => {
  const blocks = docBlocks()
  const expect = (files: string[]): K8sObject[] =>
    files
      .flatMap(f => [...blocks].find(([name]) => name.endsWith(`/${f}`))?.[1] ?? [])
      .sort((a, b) => key(a).localeCompare(key(b)))
  const variants: Array<[string, string[]]> = [
    ['overlays/namespaced', ['serviceaccount.yaml', 'leader-election.yaml', 'workloads-namespaced.yaml']],
    ['overlays/cluster-wide', ['serviceaccount.yaml', 'leader-election.yaml', 'workloads-cluster.yaml']],
  ]
  for (const [overlay, files] of variants) {
    const ours = rbacOf(render(overlay))
      .map(withoutLabels)
      .sort((a, b) => key(a).localeCompare(key(b)))
    const theirs = expect(files)
    t.ok(theirs.length >= 4, `docs/rbac.md has ${files.join(', ')}`)
    t.strictSame(ours, theirs, `${overlay}: the same ServiceAccount, Roles and bindings, rule for rule`)
  }
  t.same(
    flat(granted(render('overlays/namespaced'))),
    flat(granted(render('overlays/cluster-wide'))),
    'both variants grant the same verbs',
  )
})

t.test(
  'namespaced: the daemon as deployed takes the Lease, rolls back in dry-run and execute mode, and uses exactly what it is granted',
  async t => {
    const objs = withoutCorrelationHold(render('overlays/namespaced'))
    const fake = await fakeFor(t, objs)
    await seedWorkloads(fake, 'shop')
    const { container } = pod(objs)
    const targets = [
      firing('shop', 'deployment', 'web'),
      firing('shop', 'statefulset', 'db'),
      firing('shop', 'daemonset', 'agent'),
    ]

    // The shipped config: dry-run.
    const dry = await startFromManifests(t, objs, fake)
    const actions = dry.actions
    if (actions === undefined) return t.fail('actions are configured in the shipped config')
    await until(() => actions.isLeader(), 10_000)
    for (const probe of [container.livenessProbe, container.readinessProbe]) {
      const path = probe?.httpGet?.path ?? ''
      const status = await until(async () => {
        const r = await fetch(`${dry.address}${path}`)
        return r.status === 200 ? r.status : undefined
      }, 15_000)
      t.equal(status, 200, `${path} answers 200`)
    }
    actions.handle(targets)
    await actions.idle()
    t.same(
      actions.recentDecisions().map(d => d.kind),
      ['dry_run', 'dry_run', 'dry_run'],
      'three dry runs, one per kind',
    )
    t.equal(imageOf(fake, 'deployments', 'shop', 'web'), 'nginx:2', 'a dry run changes nothing')

    // What the PrometheusRule reads is served.
    const metricsText = await (await fetch(`${dry.address}/metrics`)).text()
    const served = new Set<string>(['up'])
    for (const m of metricsText.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      const [name, type] = [m[1] as string, m[2] as string]
      for (const suffix of type === 'histogram'
        ? ['_bucket', '_sum', '_count']
        : type === 'summary'
          ? ['', '_sum', '_count']
          : [''])
        served.add(name + suffix)
    }
    const rule = find(render('overlays/prometheus-operator'), 'PrometheusRule') as K8sObject & {
      spec: { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }
    }
    for (const r of rule.spec.groups.flatMap(g => g.rules)) {
      for (const name of metricNames(r.expr)) t.ok(served.has(name), `${r.alert}: ${name} is on /metrics`)
    }
    // honorLabels: true (servicemonitor.yaml) is safe only if rollguard's own series carry no target label.
    for (const m of dry.registry.getMetricsAsArray()) {
      const labels = (m as unknown as { name: string; labelNames?: string[] }).labelNames ?? []
      const name = (m as unknown as { name: string }).name
      if (name.startsWith('rollguard_probe_')) continue
      t.same(
        labels.filter(l => TARGET_LABELS.includes(l)),
        [],
        `${name}: no label a scrape target has`,
      )
    }
    await dry.stop()

    // execute: the same, for real.
    const real = await startFromManifests(t, objs, fake, { 'actions-mode': 'execute' })
    const realActions = real.actions
    if (realActions === undefined) return t.fail('actions')
    await until(() => realActions.isLeader(), 20_000)
    realActions.handle(targets)
    await until(() => realActions.recentDecisions().filter(d => d.kind === 'verified').length === 3, 20_000)
    await realActions.idle()
    t.same(
      realActions
        .recentDecisions()
        .map(d => d.kind)
        .sort(),
      ['rolled_back', 'rolled_back', 'rolled_back', 'verified', 'verified', 'verified'],
    )
    t.equal(imageOf(fake, 'deployments', 'shop', 'web'), 'nginx:1')
    t.equal(imageOf(fake, 'statefulsets', 'shop', 'db'), 'pg:1')
    t.equal(imageOf(fake, 'daemonsets', 'shop', 'agent'), 'a:1')
    await real.stop()

    t.same(forbidden(fake), [], 'nothing was forbidden')
    const grants = granted(objs)
    t.strictSame(
      [...used(fake.log, grants)].sort(),
      [...grants].sort(),
      'used == granted, per namespace: no more, no less',
    )
    const lease = fake.get(
      'leases',
      find(objs, 'Role', 'rollguard-leader-election').metadata.namespace as string,
      'rollguard',
    )
    t.ok(lease !== undefined, 'the Lease is in rollguard-system')
  },
)

/**
 * withoutCorrelationHold switches actions.correlation off in the rendered config: these tests fire three triggers at
 * once to exercise every permission, which the shipped config (rightly) holds as a correlated failure.
 */
function withoutCorrelationHold(objs: K8sObject[]): K8sObject[] {
  return objs.map(o => {
    const data = o.kind === 'ConfigMap' ? (o.data as Record<string, string> | undefined) : undefined
    const text = data?.['rollguard.yml']
    if (text === undefined) return o
    const doc = parseYaml(text) as { actions?: Record<string, unknown> }
    doc.actions = { ...doc.actions, correlation: { enabled: false } }
    return { ...o, data: { ...data, 'rollguard.yml': stringifyYaml(doc) } }
  })
}

t.test(
  'cluster-wide: the same daemon in dry-run uses exactly the ClusterRole and the leader-election Role',
  async t => {
    const objs = withoutCorrelationHold(render('overlays/cluster-wide'))
    const fake = await fakeFor(t, objs)
    await seedWorkloads(fake, 'shop')
    const daemon = await startFromManifests(t, objs, fake)
    const actions = daemon.actions
    if (actions === undefined) return t.fail('actions')
    await until(() => actions.isLeader(), 10_000)
    actions.handle([
      firing('shop', 'deployment', 'web'),
      firing('shop', 'statefulset', 'db'),
      firing('shop', 'daemonset', 'agent'),
    ])
    await actions.idle()
    t.same(
      actions.recentDecisions().map(d => d.kind),
      ['dry_run', 'dry_run', 'dry_run'],
    )
    await daemon.stop()
    t.same(forbidden(fake), [])
    const grants = granted(objs)
    t.strictSame([...used(fake.log, grants)].sort(), [...grants].sort(), 'used == granted: no more, no less')
  },
)

t.test('the least-privilege check can fail: a verb the daemon does not use shows up', async t => {
  const objs = render('overlays/namespaced')
  const grants = granted(objs)
  const widened = structuredClone(objs)
  const role = find(widened, 'Role', 'rollguard') as K8sObject & { rules: Rule[] }
  role.rules[0]?.verbs.push('delete')
  const more = granted(widened)
  t.same(
    [...more].filter(g => !grants.has(g)),
    ['shop|apps/deployments:delete', 'shop|apps/statefulsets:delete', 'shop|apps/daemonsets:delete'],
  )
  const log = [
    {
      method: 'GET',
      path: '/x',
      pathname: '/apis/apps/v1/namespaces/shop/deployments/web',
      query: {},
      status: 200,
      verb: 'get',
      resource: 'deployments',
      namespace: 'shop',
      at: 0,
    },
  ] as RequestLogEntry[]
  t.same([...used(log, more)], ['shop|apps/deployments:get'])
})
