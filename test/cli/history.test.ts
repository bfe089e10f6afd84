import t from 'tap'
import { ROLLBACK_ANNOTATION } from '../../src/actions/policy.js'
import { formatWorkloadHistory, HISTORY_USAGE, parseHistoryArgs, runHistory } from '../../src/cli/history.js'
import { web } from '../fixtures/kube/testing.js'
import { capture, cluster, setImage, setWorkloadImage, statefulSet, writes } from '../fixtures/cluster-harness.js'

const NS = 'shop'

t.test(
  'lists revisions like kubectl rollout history, with images and the running revision marked; reads only',
  async t => {
    const c = await cluster(t)
    await c.fake.seedDeployment(NS, web('nginx:1'))
    await setImage(c.fake, NS, 'web', 'nginx:2')
    await setImage(c.fake, NS, 'web', 'nginx:3')
    c.fake.log.length = 0
    const r = await c.history(['deployment/web', '-n', NS])
    t.equal(r.code, 0, r.err)
    t.equal(
      r.out,
      [
        'deployment.apps/web',
        'REVISION  CHANGE-CAUSE    IMAGES',
        '1         v1              nginx:1',
        '2         deploy nginx:2  nginx:2',
        '3*        deploy nginx:3  nginx:3',
        '',
      ].join('\n'),
    )
    t.equal(r.err, '')
    t.same(writes(c.fake.log), [])
    t.same(
      c.fake.log.map(e => [e.method, e.resource, e.name ?? '']),
      [
        ['GET', 'deployments', 'web'],
        ['GET', 'replicasets', ''],
      ],
      "kubectl's two reads",
    )
  },
)

t.test("rollguard's recorded rollbacks are marked on the revision they created and listed", async t => {
  const c = await cluster(t)
  await c.fake.seedDeployment(NS, web('nginx:1'))
  await setImage(c.fake, NS, 'web', 'nginx:2')
  await setImage(c.fake, NS, 'web', 'nginx:bad')
  t.equal((await c.rollback(['deploy/web', '--no-wait', '--reason', 'INC-1'])).code, 0)
  const first = await c.history(['deploy/web'])
  t.equal(first.code, 0, first.err)
  const lines = first.out.split('\n')
  t.same(lines.slice(0, 5), [
    'deployment.apps/web',
    'REVISION  CHANGE-CAUSE      IMAGES',
    '1         v1                nginx:1',
    '3         deploy nginx:bad  nginx:bad',
    '4*        deploy nginx:2    nginx:2    <- rollguard rollback 3 → 2',
  ])
  t.equal(lines[5], '')
  t.equal(lines[6], `Rollbacks recorded by rollguard (annotation ${ROLLBACK_ANNOTATION}):`)
  t.match(lines[7], /^ {2}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z {2}revision 3 → 2 {2}generation 4 {2}manual: INC-1$/)
  // A new deploy, then a second rollback: the first record survives on the ReplicaSets the controller copied it to.
  await setImage(c.fake, NS, 'web', 'nginx:5')
  t.equal((await c.rollback(['deploy/web', '--no-wait'])).code, 0)
  const second = await c.history(['deploy/web'])
  t.match(second.out, /\n6\* .*nginx:2 +<- rollguard rollback 5 → 4\n/)
  t.match(
    second.out,
    /revision 3 → 2 {2}generation 4 {2}manual: INC-1\n {2}\S+ {2}revision 5 → 4 {2}generation \d+ {2}manual\n$/,
  )
})

t.test('StatefulSet history from ControllerRevisions', async t => {
  const c = await cluster(t, 'data')
  await c.fake.seed('statefulsets', 'data', statefulSet('db', 'pg:1'))
  await setWorkloadImage(c.fake, 'statefulsets', 'data', 'db', 'pg:2')
  const r = await c.history(['sts/db'])
  t.equal(r.code, 0, r.err)
  t.equal(
    r.out,
    [
      'statefulset.apps/db',
      'REVISION  CHANGE-CAUSE  IMAGES',
      '1         <none>        pg:1',
      '2*        <none>        pg:2',
      '',
    ].join('\n'),
  )
  t.equal((await c.rollback(['sts/db', '--no-wait'])).code, 0)
  const after = await c.history(['statefulset/db'])
  t.match(
    after.out,
    /\n2 +<none> +pg:2\n3\* +<none> +pg:1 +<- rollguard rollback 2 → 1\n\nRollbacks recorded by rollguard/,
  )
})

t.test('no revisions: kubectl\'s "No rollout history found."', async t => {
  const c = await cluster(t)
  await c.fake.seedDeployment(NS, { ...web('nginx:1'), spec: { ...web('nginx:1').spec, paused: true } })
  const r = await c.history(['deployment/web'])
  t.equal(r.code, 0, r.err)
  t.equal(r.out, 'deployment.apps/web\nNo rollout history found.\n')
})

t.test('errors: one line naming the object, exit 1', async t => {
  const c = await cluster(t)
  const missing = await c.history(['daemonset/agent'])
  t.equal(missing.code, 1)
  t.equal(missing.err, 'error: daemonset.apps/agent -n shop: daemonsets.apps "agent" not found\n')
  await c.fake.seedDeployment(NS, web('nginx:1'))
  c.fake.authorize = req => req.resource !== 'replicasets'
  const denied = await c.history(['deployment/web'])
  t.equal(denied.code, 1)
  t.match(
    denied.err,
    /^error: deployment\.apps\/web -n shop: replicasets\.apps is forbidden: User ".*" cannot list resource "replicasets" in API group "apps" in the namespace "shop"\n$/,
  )
})

t.test('usage: --help, and usage errors exit 2', async t => {
  const help = await capture(io => runHistory(['-h'], io))
  t.equal(help.code, 0)
  t.equal(help.out, HISTORY_USAGE)
  t.match(HISTORY_USAGE, /Examples:\n {2}rollguard history deployment\/web -n shop\n/)
  for (const [args, message] of [
    [[], 'a workload is required: KIND/NAME, e.g. deployment/web'],
    [['job/x'], 'unsupported kind "job": rollguard works on deployment (deploy), statefulset (sts) and daemonset (ds)'],
    [['deploy/web', '--to-revision', '1'], 'unknown flag --to-revision'],
  ] as const) {
    const r = await capture(io => runHistory([...args], io))
    t.equal(r.code, 2, args.join(' '))
    t.equal(r.err, `rollguard history: ${message}\nTry 'rollguard history --help'.\n`)
  }
  t.same(parseHistoryArgs(['ds', 'agent', '--context', 'prod', '-n', 'data']), {
    target: { kind: 'DaemonSet', name: 'agent' },
    flags: { namespace: 'data', kubeconfig: undefined, context: 'prod' },
  })
})

t.test("the daemon's records show the replica and whether the rollback was verified", async t => {
  const at = Date.parse('2026-12-04T10:05:03Z')
  const entries = [
    { revision: 2, changeCause: undefined, images: ['shop/checkout:2'], source: 'checkout-b', current: false },
    { revision: 3, changeCause: undefined, images: ['shop/checkout:1'], source: 'checkout-a', current: true },
  ]
  const base = {
    at,
    fromRevision: 2,
    toRevision: 1,
    generation: 3,
    alert: 'HighErrorRate',
    history: [at],
    attempt: '5f0c2a9e41b7',
    by: 'rollguard-0',
  }
  const ref = { kind: 'Deployment' as const, namespace: 'shop', name: 'checkout' }
  const verified = formatWorkloadHistory({
    history: { kind: 'history', ref, entries },
    records: [{ ...base, verified: at + 17_000 }],
  })
  t.match(
    verified,
    /revision 2 → 1 {2}generation 3 {2}HighErrorRate {2}by rollguard-0 {2}verified 2026-12-04T10:05:20Z\n$/,
  )
  const judged = formatWorkloadHistory({
    history: { kind: 'history', ref, entries },
    records: [{ ...base, verified: at + 17_000, judged: { at: at + 317_000, effective: false } }],
  })
  t.match(judged, /verified 2026-12-04T10:05:20Z {2}ineffective \(judged 2026-12-04T10:10:20Z\)\n$/)
  const pending = formatWorkloadHistory({ history: { kind: 'history', ref, entries }, records: [base] })
  t.match(pending, /HighErrorRate {2}by rollguard-0 {2}not verified\n$/)
})
