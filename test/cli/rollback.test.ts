import t from 'tap'
import { ActionsPolicy } from '../../src/actions/policy-config.js'
import { decide, decodeRollbackRecord, ROLLBACK_ANNOTATION } from '../../src/actions/policy.js'
import { until, web } from '../fixtures/kube/testing.js'
import {
  annotationsOf,
  cluster,
  daemonSet,
  imageOf,
  patches,
  setImage,
  setWorkloadImage,
  statefulSet,
  writes,
} from '../fixtures/cluster-harness.js'

const NS = 'shop'
type Ev = {
  reason?: string
  type?: string
  action?: string
  message?: string
  reportingComponent?: string
  involvedObject?: { name?: string }
}

t.test(
  'rolls back to the previous revision after a failed deploy, follows the rollout, records the audit annotation and an Event',
  async t => {
    const c = await cluster(t)
    await c.fake.seedDeployment(NS, web('nginx:1', { progressDeadlineSeconds: 30 }))
    await setImage(c.fake, NS, 'web', 'nginx:bad')
    c.fake.clock.advance(31_000)
    await c.fake.tick()
    const r = await c.rollback(['deployment/web', '-n', NS, '--reason', 'INC-7: 5xx after deploy'])
    t.equal(r.code, 0, r.err)
    const lines = r.out.trimEnd().split('\n')
    t.equal(lines[0], 'deployment.apps/web rolled back')
    t.equal(lines[1], `  revision 2 → 1 (nginx:bad → nginx:1); audit record in annotation ${ROLLBACK_ANNOTATION}`)
    t.equal(
      lines.at(-1),
      'deployment "web" successfully rolled out',
      'the leftover ProgressDeadlineExceeded of the bad rollout is not misread',
    )
    t.equal(r.err, '')
    t.equal(imageOf(c.fake, 'deployments', NS, 'web'), 'nginx:1')
    const sent = patches(c.fake.log)
    t.equal(sent.length, 1, 'exactly one PATCH')
    t.equal(sent[0]?.contentType, 'application/json-patch+json')
    t.same(sent[0]?.query, { fieldManager: 'rollguard' })
    const d = c.fake.get('deployments', NS, 'web')
    const annotations = annotationsOf(c.fake, 'deployments', NS, 'web')
    t.equal(annotations['deployment.kubernetes.io/revision'], '3', 'the controller renumbers the restored template')
    t.equal(
      annotations['kubernetes.io/change-cause'],
      'v1',
      "kubectl's annotation rule: the target revision's annotations",
    )
    const record = decodeRollbackRecord(annotations[ROLLBACK_ANNOTATION])
    t.match(record, {
      fromRevision: 2,
      toRevision: 1,
      generation: d?.metadata.generation,
      alert: 'manual: INC-7: 5xx after deploy',
    })
    t.equal(record?.history.length, 1)
    const events = c.fake.list('events', NS) as Ev[]
    t.equal(events.length, 1)
    t.match(events[0], {
      type: 'Normal',
      reason: 'RolledBack',
      action: 'ManualRollback',
      reportingComponent: 'rollguard.io/rollguard',
      involvedObject: { name: 'web' },
    })
    t.match(
      events[0]?.message,
      /^manual rollback of deployment\.apps\/web from revision 2 to revision 1 \(nginx:bad → nginx:1\).*reason: INC-7.*verified: deployment "web" successfully rolled out$/,
    )
    t.same(c.fake.controllerErrors, [])
  },
)

t.test("the daemon's policy treats a manual rollback as rollguard's own: no automatic undo of it", async t => {
  const c = await cluster(t)
  await c.fake.seedDeployment(NS, web('nginx:1'))
  await setImage(c.fake, NS, 'web', 'nginx:2')
  t.equal((await c.rollback(['deploy/web', '--no-wait'])).code, 0)
  const d = c.fake.get('deployments', NS, 'web')
  const annotations = d?.metadata.annotations ?? {}
  const now = Date.now()
  const policy = ActionsPolicy.parse({ mode: 'execute', allow: [{ namespace: '*' }] })
  const facts = {
    ref: { kind: 'Deployment' as const, namespace: NS, name: 'web' },
    labels: {},
    annotations,
    paused: false,
    generation: d?.metadata.generation ?? 0,
    observedGeneration: (d?.status as { observedGeneration?: number } | undefined)?.observedGeneration ?? 0,
    currentRevision: 3,
    previousRevision: 2,
    currentRevisionSince: now,
  }
  const decision = decide({ now, policy, facts, recentRollbacks: [], isLeader: true })
  t.equal(decision.act, false)
  t.equal(decision.reason, 'already_rolled_back')
  t.ok(decision.blockers.includes('cooldown'), 'and the cooldown runs from the manual rollback')
  const again = await c.rollback(['deploy/web', '--no-wait'])
  t.match(
    again.err,
    /^Warning: deployment\.apps\/web was rolled back at .* \(revision 2 → 1, manual\) and nothing was deployed since; undoing again re-deploys the template of revision 2/,
  )
  t.equal(again.code, 0, 'a human may still toggle, as with kubectl')
  t.equal(
    decodeRollbackRecord(annotationsOf(c.fake, 'deployments', NS, 'web')[ROLLBACK_ANNOTATION])?.history.length,
    2,
    'the record carries the earlier rollback forward',
  )
})

t.test('--to-revision picks that revision', async t => {
  const c = await cluster(t)
  await c.fake.seedDeployment(NS, web('nginx:1'))
  await setImage(c.fake, NS, 'web', 'nginx:2')
  await setImage(c.fake, NS, 'web', 'nginx:3')
  const r = await c.rollback(['Deployments/web', '-n', NS, '--to-revision', '1'])
  t.equal(r.code, 0, r.err)
  t.match(r.out, /^deployment\.apps\/web rolled back\n {2}revision 3 → 1 \(nginx:3 → nginx:1\)/)
  t.equal(imageOf(c.fake, 'deployments', NS, 'web'), 'nginx:1')
  const missing = await c.rollback(['deployment/web', '--to-revision=9'])
  t.equal(missing.code, 1)
  t.equal(missing.err, 'error: deployment.apps/web -n shop: unable to find specified revision 9 in history\n')
})

t.test('--dry-run: one dryRun=All PATCH, the exact patch printed, nothing changed, no event', async t => {
  const c = await cluster(t)
  await c.fake.seedDeployment(NS, web('nginx:1'))
  await setImage(c.fake, NS, 'web', 'nginx:2')
  const before = c.fake.get('deployments', NS, 'web')
  c.fake.log.length = 0
  const r = await c.rollback(['deployment/web', '--dry-run'])
  t.equal(r.code, 0, r.err)
  t.same(
    writes(c.fake.log).map(e => [e.method, e.query]),
    [['PATCH', { dryRun: 'All', fieldManager: 'rollguard' }]],
  )
  t.same(c.fake.get('deployments', NS, 'web'), before, 'nothing changed')
  t.same(c.fake.list('events', NS), [])
  const [head, body] = r.out.split('\n\n')
  t.equal(
    head,
    'deployment.apps/web rolled back (server dry run)\n' +
      `  revision 2 → 1 (nginx:2 → nginx:1); audit record in annotation ${ROLLBACK_ANNOTATION}\n` +
      'The API server accepted this patch with dryRun=All; nothing was changed. Without --dry-run rollguard sends:\n' +
      'PATCH /apis/apps/v1/namespaces/shop/deployments/web?fieldManager=rollguard\n' +
      'Content-Type: application/json-patch+json',
  )
  t.same(JSON.parse(body ?? ''), c.fake.log[c.fake.log.length - 1]?.body, 'the printed body is the body sent')
  const ops = JSON.parse(body ?? '') as { op: string; path: string; value: Record<string, unknown> }[]
  t.same(
    ops.map(o => o.path),
    ['/metadata/resourceVersion', '/spec/template', '/metadata/annotations'],
  )
  t.match(decodeRollbackRecord(ops[2]?.value[ROLLBACK_ANNOTATION] as string), {
    fromRevision: 2,
    toRevision: 1,
    alert: 'manual',
  })
  t.equal((await c.rollback(['deployment/web', '--dry-run=server'])).code, 0)
  t.equal(
    (await c.rollback(['deployment/web', '--dry-run=none', '--no-wait'])).code,
    0,
    '--dry-run=none is a real rollback',
  )
  t.equal(imageOf(c.fake, 'deployments', NS, 'web'), 'nginx:1')
})

t.test("a paused Deployment is refused with kubectl's message; no PATCH", async t => {
  const c = await cluster(t)
  await c.fake.seedDeployment(NS, web('nginx:1'))
  await setImage(c.fake, NS, 'web', 'nginx:2')
  await c.fake.update('deployments', NS, 'web', o => void ((o.spec as { paused?: boolean }).paused = true))
  const r = await c.rollback(['deployment/web'])
  t.equal(r.code, 1)
  t.equal(
    r.err,
    "error: deployment.apps/web -n shop: you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again\n",
  )
  t.equal(r.out, '')
  t.same(patches(c.fake.log), [])
  t.match(c.fake.list('events', NS), [
    {
      type: 'Warning',
      reason: 'RollbackFailed',
      action: 'ManualRollback',
      message: /^manual rollback of deployment\.apps\/web failed: .*paused/,
    },
  ])
})

t.test('no history: error, no PATCH', async t => {
  const c = await cluster(t)
  await c.fake.seedDeployment(NS, web('nginx:1'))
  const r = await c.rollback(['deployment/web'])
  t.equal(r.code, 1)
  t.equal(r.err, 'error: deployment.apps/web -n shop: no rollout history found for deployment "web"\n')
  t.same(patches(c.fake.log), [])
})

t.test('already matching: kubectl\'s "skipped rollback", exit 0, no PATCH', async t => {
  const c = await cluster(t)
  await c.fake.seedDeployment(NS, web('nginx:1'))
  await setImage(c.fake, NS, 'web', 'nginx:2')
  const r = await c.rollback(['deployment/web', '--to-revision', '2'])
  t.equal(r.code, 0)
  t.equal(r.out, 'deployment.apps/web skipped rollback (current template already matches revision 2)\n')
  t.equal(r.err, '')
  t.same(
    writes(c.fake.log).filter(e => e.method === 'PATCH' || e.method === 'POST'),
    [],
    'no PATCH, no event',
  )
})

t.test('not found, forbidden and API down: one line naming the object, exit 1, no stack', async t => {
  const c = await cluster(t)
  const missing = await c.rollback(['deployment/nope'])
  t.equal(missing.code, 1)
  t.equal(missing.err, 'error: deployment.apps/nope -n shop: deployments.apps "nope" not found\n')
  await c.fake.seedDeployment(NS, web('nginx:1'))
  await setImage(c.fake, NS, 'web', 'nginx:2')
  c.fake.authorize = req => req.verb !== 'patch'
  const denied = await c.rollback(['deployment/web'])
  t.equal(denied.code, 1)
  t.equal(
    denied.err,
    'error: deployment.apps/web -n shop: rollback patch: deployments.apps "web" is forbidden: User "system:serviceaccount:default:default" cannot patch resource "deployments" in API group "apps" in the namespace "shop"\n',
  )
  t.equal(imageOf(c.fake, 'deployments', NS, 'web'), 'nginx:2')
  c.fake.authorize = () => false
  const blind = await c.rollback(['deployment/web'])
  t.equal(blind.code, 1)
  t.match(
    blind.err,
    /^error: deployment\.apps\/web -n shop: deployments\.apps "web" is forbidden: .* cannot get resource "deployments"/,
  )
  t.equal(blind.err.split('\n').length, 2, 'one line')
  await c.fake.close()
  const down = await c.rollback(['deployment/web'])
  t.equal(down.code, 1)
  t.match(down.err, /^error: deployment\.apps\/web -n shop: .*ECONNREFUSED.*\n$/)
  t.notMatch(down.err, /\n\s+at /, 'no stack trace')
})

t.test(
  'verification failure: the restored revision never becomes ready → ProgressDeadlineExceeded → exit 1, Warning event',
  async t => {
    const c = await cluster(t)
    await c.fake.seedDeployment(NS, web('nginx:bad', { progressDeadlineSeconds: 30 }))
    await setImage(c.fake, NS, 'web', 'nginx:2')
    const running = c.rollback(['deployment/web'])
    // Wait until the CLI follows the rollout (a GET after the PATCH), so it has printed a progress line.
    await until(() => {
      const i = c.fake.log.findIndex(e => e.method === 'PATCH' && e.status === 200)
      return i >= 0 && c.fake.log.slice(i + 1).some(e => e.method === 'GET' && e.resource === 'deployments')
    })
    // Let the controller take up the rollback first, so the deadline runs from the rollback's progress condition.
    await c.fake.tick()
    c.fake.clock.advance(31_000)
    const started = performance.now()
    const r = await running
    t.ok(performance.now() - started < 5_000, 'decided on the fake clock, not after 30 s of real time')
    t.equal(r.code, 1)
    t.match(r.out, /^deployment\.apps\/web rolled back\n/)
    t.match(
      r.out,
      /\nWaiting for deployment (spec update to be observed|"web" rollout to finish: .*)\.\.\.\n/,
      'kubectl-like progress lines',
    )
    t.equal(r.err, 'error: deployment "web" exceeded its progress deadline\n')
    t.match(c.fake.list('events', NS), [
      {
        type: 'Warning',
        reason: 'RollbackFailed',
        action: 'ManualRollback',
        message: /but the rollout did not complete: deployment "web" exceeded its progress deadline/,
      },
    ])
  },
)

t.test(
  'a concurrent edit (409 on the optimistic lock) is re-read and re-sent once if it is still the same rollback, never over a new deploy',
  async t => {
    const c = await cluster(t)
    await c.fake.seedDeployment(NS, web('nginx:1'))
    await setImage(c.fake, NS, 'web', 'nginx:2')
    // Bump after the CLI's first read and after undo's read, so the PATCH carries a stale resourceVersion.
    c.fake.inject({ kind: 'bumpAfterGet', resource: 'deployments', namespace: NS, name: 'web', times: 2 })
    const r = await c.rollback(['deployment/web', '--no-wait'])
    t.equal(r.code, 0, r.err)
    t.same(
      patches(c.fake.log).map(e => e.status),
      [409, 200],
    )
    t.equal(imageOf(c.fake, 'deployments', NS, 'web'), 'nginx:1')
    await setImage(c.fake, NS, 'web', 'nginx:2')
    c.fake.log.length = 0
    // Someone deploys nginx:3 between the CLI's reads and its PATCH.
    c.fake.inject({ kind: 'delay', ms: 500, match: { verb: 'patch' } })
    const running = c.rollback(['deployment/web', '--no-wait'])
    await until(() => c.fake.log.some(e => e.resource === 'replicasets' && e.verb === 'list'))
    await setImage(c.fake, NS, 'web', 'nginx:3')
    const raced = await running
    t.equal(raced.code, 1)
    t.equal(
      raced.err,
      "error: deployment.apps/web -n shop changed while rolling back (a concurrent deploy or rollback); nothing was patched. Check 'rollguard history deployment/web -n shop' and run the command again.\n",
    )
    t.same(
      patches(c.fake.log).map(e => e.status),
      [409],
      'the new deploy is not overwritten',
    )
    t.equal(imageOf(c.fake, 'deployments', NS, 'web'), 'nginx:3')
  },
)

t.test('--timeout bounds the wait; --no-wait does not wait', async t => {
  const c = await cluster(t)
  await c.fake.seedDeployment(NS, web('nginx:bad'))
  await setImage(c.fake, NS, 'web', 'nginx:2')
  const started = performance.now()
  const r = await c.rollback(['deployment/web', '--timeout', '300ms'])
  t.equal(r.code, 1)
  t.match(
    r.err,
    /^error: deployment\.apps\/web -n shop: timed out waiting for the rollout after 300ms; last status: Waiting for deployment "web" rollout to finish: .*\.\.\.\n$/,
  )
  t.ok(performance.now() - started < 3_000)
  await setImage(c.fake, NS, 'web', 'nginx:3')
  const quick = await c.rollback(['deployment/web', '--no-wait'])
  t.equal(quick.code, 0)
  t.notMatch(quick.out, /rolled out|Waiting/)
  t.match(c.fake.list('events', NS).at(-1), {
    type: 'Normal',
    reason: 'RolledBack',
    message: /rollout not followed \(--no-wait\)$/,
  })
})

t.test("kubectl's last-applied warning goes to stderr", async t => {
  const c = await cluster(t)
  await c.fake.seedDeployment(
    NS,
    web('nginx:1', { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } }),
  )
  await setImage(c.fake, NS, 'web', 'nginx:2')
  const r = await c.rollback(['deployment/web', '--no-wait'])
  t.equal(r.code, 0)
  t.equal(
    r.err,
    "Warning: resource deployments/web was previously managed with 'kubectl apply'. Rolling back will not update the kubectl.kubernetes.io/last-applied-configuration annotation, which may cause unexpected behavior on future 'kubectl apply' operations. Consider using 'kubectl apply' with your previous configuration file instead.\n",
  )
})

t.test('StatefulSets and DaemonSets by their short names', async t => {
  const c = await cluster(t, 'data')
  await c.fake.seed('statefulsets', 'data', statefulSet('db', 'pg:1'))
  await setWorkloadImage(c.fake, 'statefulsets', 'data', 'db', 'pg:2')
  const sts = await c.rollback(['STS/db'])
  t.equal(sts.code, 0, sts.err)
  t.match(sts.out, /^statefulset\.apps\/db rolled back\n {2}revision 2 → 1 \(pg:2 → pg:1\)/)
  t.match(sts.out, /partitioned roll out complete|rolling update complete/)
  t.equal(imageOf(c.fake, 'statefulsets', 'data', 'db'), 'pg:1')
  t.match(decodeRollbackRecord(annotationsOf(c.fake, 'statefulsets', 'data', 'db')[ROLLBACK_ANNOTATION]), {
    fromRevision: 2,
    toRevision: 1,
  })
  await c.fake.seed('daemonsets', 'data', daemonSet('agent', 'a:1'))
  await setWorkloadImage(c.fake, 'daemonsets', 'data', 'agent', 'a:2')
  const ds = await c.rollback(['ds', 'agent'])
  t.equal(ds.code, 0, ds.err)
  t.match(ds.out, /daemon set "agent" successfully rolled out\n$/)
  t.equal(imageOf(c.fake, 'daemonsets', 'data', 'agent'), 'a:1')
})
