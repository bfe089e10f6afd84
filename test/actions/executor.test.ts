import t from 'tap'
import { decodeRollbackRecord, ROLLBACK_ANNOTATION } from '../../src/actions/policy.js'
import {
  deploy,
  markers,
  eventReasons,
  firing,
  image,
  metric,
  patches,
  resolved,
  rig,
  until,
} from './fixtures/executor.js'

const annotationsOf = (o: unknown) =>
  (o as { metadata?: { annotations?: Record<string, string> } } | undefined)?.metadata?.annotations ?? {}

t.test('execute: one patch restores revision 1 with the record in the same patch, verified, audited', async t => {
  const r = await rig(t)
  r.fake.log.length = 0
  const fired = firing('checkout')
  r.executor.handle([fired])
  await r.executor.idle()

  const sent = patches(r.fake.log)
  t.equal(sent.length, 1, 'exactly one PATCH')
  t.equal(sent[0]?.query['dryRun'], undefined, 'a real patch')
  t.equal(sent[0]?.status, 200)
  const ops = sent[0]?.body as { op: string; path: string; value: Record<string, string> }[]
  t.ok(
    ops.find(o => o.path === '/metadata/annotations')?.value[ROLLBACK_ANNOTATION],
    'record annotation inside the rollback patch',
  )

  const d = r.fake.get('deployments', 'shop', 'checkout')
  t.equal(image(d), 'nginx:1', 'template back to revision 1')
  const record = decodeRollbackRecord(annotationsOf(d)[ROLLBACK_ANNOTATION])
  // The rollback patch produced generation N; writing the verification into the record (an annotation) made it N + 1.
  t.match(record, {
    fromRevision: 2,
    toRevision: 1,
    alert: 'HighErrorRate',
    generation: (d?.metadata.generation ?? 0) - 1,
    by: 'test-1',
    attempt: /^[0-9a-f]{12}$/,
  })
  t.type(record?.verified, 'number', 'the verification is in the record')
  t.equal(markers(r.fake.log).length, 1, 'one annotation-only patch for the verification')
  t.equal(record?.history.length, 1)

  const kinds = r.audit.recentDecisions().map(e => e.kind)
  t.same(kinds, ['rolled_back', 'verified'])
  const rolled = r.audit.recentDecisions()[0]
  t.match(rolled, {
    decision: 'rollback',
    result: 'attempted',
    reason: 'rollback',
    fromRevision: 2,
    toRevision: 1,
    workload: { name: 'checkout' },
  })
  t.match(
    rolled?.message,
    /rolling back Deployment shop\/checkout from revision 2 to 1 \(images nginx:2 → nginx:1\); trigger HighErrorRate: patch stored/,
  )
  t.match(rolled?.patch, { contentType: 'application/json-patch+json', fromImages: ['nginx:2'], toImages: ['nginx:1'] })

  await r.audit.flush(5_000)
  t.same(eventReasons(r.fake, 'checkout'), ['RolledBack', 'RollbackVerified'], 'events on the workload')
  const ev = r.fake.list('events', 'shop')[0] as {
    type?: string
    reportingComponent?: string
    involvedObject?: { uid?: string }
  }
  t.match(ev, { type: 'Normal', reportingComponent: 'rollguard.io/rollguard' })
  t.equal(ev.involvedObject?.uid, d?.metadata.uid, 'the event names the exact object')

  t.equal(r.alerts.length, 1)
  t.match(r.alerts[0], {
    labels: {
      alertname: 'RollbackExecuted',
      severity: 'info',
      namespace: 'shop',
      kind: 'Deployment',
      workload: 'checkout',
      trigger_alertname: 'HighErrorRate',
    },
    annotations: { from_revision: '2', to_revision: '1' },
    generatorURL: 'http://rollguard.test',
  })
  const alert = r.alerts[0]
  t.equal((alert?.endsAt ?? 0) - (alert?.startsAt ?? 0), 3_600_000, 'expires on its own after an hour')

  t.equal(await metric(r.registry, 'rollguard_rollbacks_total', { result: 'attempted', reason: 'rollback' }), 1)
  t.equal(await metric(r.registry, 'rollguard_rollbacks_total', { result: 'succeeded', reason: 'complete' }), 1)
  t.equal(
    await metric(r.registry, 'rollguard_rollback_decisions_total', { decision: 'rollback', reason: 'rollback' }),
    1,
  )
  const hist = await r.registry.getSingleMetric('rollguard_rollback_duration_seconds')?.get()
  t.equal(
    hist?.values.find(v => (v as { metricName?: string }).metricName === 'rollguard_rollback_duration_seconds_count')
      ?.value,
    1,
    'firing → patch observed',
  )
  t.ok(
    r.log
      .lines()
      .some(
        l =>
          l.msg === `rollback rolled back: ${rolled?.message}` &&
          l.decision === 'rollback' &&
          l.workload === 'Deployment shop/checkout',
      ),
    'structured log line',
  )

  // The same workload again (another trigger): rollguard never undoes its own rollback.
  r.fake.log.length = 0
  r.executor.handle([firing('checkout', 'HighLatency')])
  await r.executor.idle()
  t.equal(patches(r.fake.log).length, 0, 'no second patch')
  t.match(r.audit.recentDecisions().at(-1), {
    kind: 'skipped',
    reason: 'already_rolled_back',
    decision: 'skip',
    result: 'skipped',
    blockers: ['already_rolled_back', 'cooldown'],
  })
  await r.audit.flush(5_000)
  t.same(eventReasons(r.fake, 'checkout'), ['RolledBack', 'RollbackVerified', 'RollbackSkipped'])
})

t.test(
  'a restarted executor (fresh memory) reads the record from the workload and does not roll back again',
  async t => {
    const first = await rig(t)
    first.executor.handle([firing('checkout')])
    await first.executor.idle()
    await first.executor.stop()
    const second = await rig(t, { harness: first.h, seed: false })
    first.fake.log.length = 0
    second.executor.handle([firing('checkout')])
    await second.executor.idle()
    t.equal(patches(first.fake.log).length, 0)
    t.match(second.audit.recentDecisions(), [{ kind: 'skipped', reason: 'already_rolled_back' }])
  },
)

t.test('dry-run (the default mode): only a dryRun=All patch, nothing changes, the exact patch is reported', async t => {
  const r = await rig(t, { actions: { mode: 'dry-run' } })
  const before = r.fake.get('deployments', 'shop', 'checkout')
  r.fake.log.length = 0
  r.executor.handle([firing('checkout')])
  await r.executor.idle()
  const sent = patches(r.fake.log)
  t.equal(sent.length, 1)
  t.equal(sent[0]?.query['dryRun'], 'All')
  const after = r.fake.get('deployments', 'shop', 'checkout')
  t.equal(image(after), 'nginx:2', 'template unchanged')
  t.equal(after?.metadata.resourceVersion, before?.metadata.resourceVersion, 'nothing stored')
  t.notOk(annotationsOf(after)[ROLLBACK_ANNOTATION], 'no record')
  const rec = r.audit.recentDecisions()
  t.match(rec, [
    { kind: 'dry_run', decision: 'dry_run', result: 'dry_run', mode: 'dry-run', fromRevision: 2, toRevision: 1 },
  ])
  t.same(rec[0]?.patch?.body, sent[0]?.body, 'reports exactly the patch the API server validated')
  t.match(rec[0]?.message, /^dry-run: would roll back Deployment shop\/checkout from revision 2 to 1/)
  t.same(r.alerts, [], 'no Alertmanager alerts in dry-run')
  await r.audit.flush(5_000)
  t.same(eventReasons(r.fake, 'checkout'), ['RollbackDryRun'])
  t.equal(await metric(r.registry, 'rollguard_rollbacks_total', { result: 'dry_run' }), 1)
})

t.test('a follower records not_leader and sends nothing to Kubernetes', async t => {
  const r = await rig(t)
  r.leader.value = false
  r.fake.log.length = 0
  r.executor.handle([firing('checkout')])
  await r.executor.idle()
  t.same(r.fake.log, [], 'no request at all')
  t.match(r.audit.recentDecisions(), [{ kind: 'not_leader', reason: 'not_leader', decision: 'skip' }])
  t.equal(await metric(r.registry, 'rollguard_rollback_decisions_total', { decision: 'skip', reason: 'not_leader' }), 1)
})

t.test('policy blocks are recorded with every blocker, with an event on the workload', async t => {
  const r = await rig(t, { actions: { allow: [{ namespace: 'payments' }] } })
  r.executor.handle([firing('checkout')])
  await r.executor.idle()
  t.match(r.audit.recentDecisions(), [{ kind: 'skipped', reason: 'not_allowed', blockers: ['not_allowed'] }])
  t.equal(patches(r.fake.log).length, 0)
  await r.audit.flush(5_000)
  t.same(eventReasons(r.fake, 'checkout'), ['RollbackSkipped'])
})

t.test('a trigger naming no workload is ignored; a missing workload is skipped without an event', async t => {
  const r = await rig(t)
  r.fake.log.length = 0
  const noTarget = firing('checkout')
  r.executor.handle([{ ...noTarget, labels: { alertname: 'X', rollguard_trigger: 'rollback', namespace: 'shop' } }])
  r.executor.handle([firing('ghost')])
  await r.executor.idle()
  t.match(r.audit.recentDecisions(), [
    { kind: 'ignored', decision: 'ignore', reason: 'no_target', workload: undefined },
    { kind: 'skipped', reason: 'not_found', workload: { name: 'ghost' } },
  ])
  await r.audit.flush(5_000)
  t.same(r.fake.list('events', 'shop'), [])
  t.same(r.alerts, [])
})

t.test('repeats are de-duplicated; a second trigger waits for the first and then sees its rollback', async t => {
  const r = await rig(t)
  r.executor.handle([
    firing('checkout'),
    firing('checkout'),
    firing('checkout', 'HighLatency'),
    firing('checkout', 'HighMemory'),
  ])
  await r.executor.idle()
  t.equal(patches(r.fake.log).filter(p => p.status === 200).length, 1)
  t.same(
    r.audit.recentDecisions().map(e => `${e.kind}:${e.reason}`),
    ['rolled_back:rollback', 'verified:complete', 'skipped:already_rolled_back'],
    'HighMemory joined the queued HighLatency job',
  )
})

t.test('the global brake stops a rollback storm and alerts', async t => {
  const r = await rig(t, { actions: { global_brake: { count: 1, window: '1h' } } })
  await deploy(r.fake, 'cart')
  r.executor.handle([firing('checkout')])
  await r.executor.idle()
  r.fake.log.length = 0
  r.executor.handle([firing('cart')])
  await r.executor.idle()
  t.equal(patches(r.fake.log).length, 0)
  t.match(r.audit.recentDecisions().at(-1), { kind: 'brake', reason: 'global_brake', workload: { name: 'cart' } })
  t.match(r.alerts.at(-1), { labels: { alertname: 'RollbackBrakeEngaged', severity: 'critical', workload: 'cart' } })
  await r.audit.flush(5_000)
  const brake = r.fake.list('events', 'shop').find(e => (e as { reason?: string }).reason === 'RollbackBrake') as
    { type?: string } | undefined
  t.equal(brake?.type, 'Warning')
})

t.test('the brake counts what a previous leader recorded, and lists what this one did for the next', async t => {
  const r = await rig(t, { actions: { global_brake: { count: 2, window: '1h' } } })
  const now = Date.now()
  r.executor.inheritRollbacks([
    ['Deployment/payments/api', [now - 20 * 60_000]],
    ['Deployment/search/web', [now - 2 * 3_600_000]], // outside the window: does not count
  ])
  r.executor.handle([firing('checkout')])
  await r.executor.idle()
  t.equal(patches(r.fake.log).length, 1, 'one inherited rollback in the window: one more is allowed')
  const listed = new Map(r.executor.recentRollbacks())
  t.same([...listed.keys()].sort(), ['Deployment/payments/api', 'Deployment/shop/checkout'], 'only the window')
  await deploy(r.fake, 'cart')
  r.executor.handle([firing('cart')])
  await r.executor.idle()
  t.equal(patches(r.fake.log).length, 1, 'the second would make three')
  t.match(r.audit.recentDecisions().at(-1), { kind: 'brake', reason: 'global_brake', workload: { name: 'cart' } })
  t.equal(await metric(r.registry, 'rollguard_global_brake_rollbacks'), 2, 'the gauge counts the window, inherited too')
  t.equal(await metric(r.registry, 'rollguard_global_brake_limit'), 2)
})

t.test(
  'verification: a rollout that stalls escalates (RollbackFailed); a deadline is a failure, a slow one a timeout',
  async t => {
    const stalled = await rig(t, { seed: false, actions: { verify_timeout: '300ms' } })
    await deploy(stalled.fake, 'checkout', ['nginx:bad', 'nginx:2'])
    stalled.executor.handle([firing('checkout')])
    await stalled.executor.idle()
    t.match(
      stalled.audit.recentDecisions().map(e => `${e.kind}:${e.reason}`),
      ['rolled_back:rollback', 'verify_failed:verify_timeout'],
    )
    t.match(
      stalled.alerts.map(a => a.labels['alertname']),
      ['RollbackExecuted', 'RollbackFailed'],
    )
    t.equal(
      await metric(stalled.registry, 'rollguard_rollbacks_total', { result: 'failed', reason: 'verify_timeout' }),
      1,
    )

    const deadline = await rig(t, { seed: false })
    await deploy(deadline.fake, 'checkout', ['nginx:bad', 'nginx:2'])
    await deadline.fake.update(
      'deployments',
      'shop',
      'checkout',
      o => void ((o.spec as Record<string, unknown>)['progressDeadlineSeconds'] = 1),
    )
    deadline.executor.handle([firing('checkout')])
    await deadline.executor.idle()
    t.match(deadline.audit.recentDecisions().at(-1), {
      kind: 'verify_failed',
      reason: 'rollout_failed',
      message: /exceeded its progress deadline/,
    })
    await deadline.audit.flush(5_000)
    t.ok(eventReasons(deadline.fake, 'checkout').includes('RollbackFailed'))
  },
)

t.test('a resolved trigger cancels a queued job, and an in-flight one before its patch', async t => {
  const r = await rig(t, { fake: { controllerDelayMs: 0 } })
  r.fake.inject({ kind: 'delay', ms: 300, match: { verb: 'get', resource: 'deployments' }, times: 1 })
  r.fake.log.length = 0
  r.executor.handle([firing('checkout'), firing('checkout', 'HighLatency')])
  await new Promise(resolve => setTimeout(resolve, 100))
  r.executor.handle([resolved('checkout', 'HighLatency'), resolved('checkout')])
  await r.executor.idle()
  t.equal(patches(r.fake.log).length, 0, 'nothing sent')
  t.ok(
    r.fake.log.some(e => e.verb === 'list' && e.resource === 'replicasets'),
    'the first job was in flight when its alert resolved',
  )
  t.match(r.audit.recentDecisions(), [
    {
      kind: 'cancelled',
      reason: 'resolved',
      alert: { name: 'HighLatency' },
      message: /resolved before the rollback was decided/,
    },
    {
      kind: 'cancelled',
      reason: 'resolved',
      alert: { name: 'HighErrorRate' },
      message: /resolved before the rollback was sent/,
    },
  ])

  r.executor.handle([firing('checkout')])
  r.executor.handle([resolved('checkout')])
  await r.executor.idle()
  t.match(
    r.audit.recentDecisions().at(-1),
    { kind: 'cancelled', message: /resolved before the rollback was decided/ },
    'resolved before the job even started',
  )
  t.equal(image(r.fake.get('deployments', 'shop', 'checkout')), 'nginx:2')
  r.executor.handle([resolved('checkout')])
  t.equal(r.audit.recentDecisions().length, 3, 'resolving what is not queued does nothing')
})

t.test('reload: a removed actions section stops handling triggers; stop drops queued work', async t => {
  const r = await rig(t)
  r.executor.update(undefined)
  r.executor.handle([firing('checkout')])
  await r.executor.idle()
  t.same(r.audit.recentDecisions(), [])
  await r.executor.stop()
  r.executor.handle([firing('checkout')])
  await r.executor.idle()
  t.same(r.audit.recentDecisions(), [], 'a stopped executor takes nothing')
})

t.test('the brake counts a rollback once, whether remembered or read back from the workload', async t => {
  const r = await rig(t, { actions: { global_brake: { count: 2, window: '1h' } } })
  await deploy(r.fake, 'cart')
  r.executor.handle([firing('checkout')])
  await r.executor.idle()
  r.executor.handle([firing('checkout', 'HighLatency')])
  await r.executor.idle()
  r.executor.handle([firing('cart')])
  await r.executor.idle()
  t.same(
    r.audit.recentDecisions().map(e => `${e.kind}:${e.reason}`),
    [
      'rolled_back:rollback',
      'verified:complete',
      'skipped:already_rolled_back',
      'rolled_back:rollback',
      'verified:complete',
    ],
  )
})

t.test(
  'effectiveness: a trigger still firing on the restored revision is reported once, as RollbackIneffective',
  async t => {
    const r = await rig(t, { triggerState: () => ({ firing: true, value: 0.42 }), effectivenessWindow: () => 300 })
    r.executor.handle([firing('checkout')])
    await r.executor.idle()
    const rec = await until(() => r.audit.recentDecisions().find(e => e.kind === 'ineffective'), 3_000)
    t.match(rec, {
      reason: 'still_firing',
      fromRevision: 2,
      toRevision: 1,
      value: 0.42,
      result: 'ineffective',
      message: /but HighErrorRate still fires \(value 0\.42\) 0s later/,
    })
    t.match(r.alerts.at(-1), {
      labels: { alertname: 'RollbackIneffective', severity: 'critical', workload: 'checkout' },
      annotations: { from_revision: '2', to_revision: '1', value: '0.42' },
    })
    t.equal(await metric(r.registry, 'rollguard_rollbacks_total', { result: 'ineffective', reason: 'still_firing' }), 1)
    await r.audit.flush(5_000)
    t.ok(eventReasons(r.fake, 'checkout').includes('RollbackIneffective'))

    // Resolved within the window: nothing to report. A follower reports nothing either.
    const healed = await rig(t, { triggerState: () => ({ firing: false }), effectivenessWindow: () => 100 })
    healed.executor.handle([firing('checkout')])
    await healed.executor.idle()
    await new Promise(resolve => setTimeout(resolve, 400))
    t.notOk(healed.audit.recentDecisions().some(e => e.kind === 'ineffective'))
    const follower = await rig(t, { triggerState: () => ({ firing: true }), effectivenessWindow: () => 100 })
    follower.executor.handle([firing('checkout')])
    await follower.executor.idle()
    follower.leader.value = false
    await new Promise(resolve => setTimeout(resolve, 400))
    t.notOk(follower.audit.recentDecisions().some(e => e.kind === 'ineffective'))
  },
)

t.test('effectiveness of webhook triggers: no resolved notification within the window means still firing', async t => {
  const ref = { kind: 'Deployment' as const, namespace: 'shop', name: 'checkout' }
  const alert = {
    name: 'HighErrorRate',
    labels: { alertname: 'HighErrorRate' },
    fingerprint: 'fbeaf81a8353a375',
    startsAt: Date.now() - 1_000,
  }
  const r = await rig(t, { actions: { webhook_effectiveness_window: '300ms' } })
  r.executor.handleEvents([{ kind: 'fire', request: { ref, alert } }])
  await r.executor.idle()
  await until(() => r.audit.recentDecisions().find(e => e.kind === 'ineffective'), 3_000)

  const resolvedInTime = await rig(t, { actions: { effectiveness_window: '300ms' } })
  resolvedInTime.executor.handleEvents([{ kind: 'fire', request: { ref, alert } }])
  await resolvedInTime.executor.idle()
  resolvedInTime.executor.handleEvents([{ kind: 'resolve', request: { ref, alert } }])
  await new Promise(resolve => setTimeout(resolve, 600))
  t.notOk(
    resolvedInTime.audit.recentDecisions().some(e => e.kind === 'ineffective'),
    'the resolved notification came',
  )
})

t.test('correlated triggers of three workloads: all held, one RollbackHeldCorrelated alert for the scope', async t => {
  const r = await rig(t, { actions: { correlation: { settle: '300ms' } } })
  await deploy(r.fake, 'cart')
  await deploy(r.fake, 'search')
  r.fake.log.length = 0
  r.executor.handle([firing('checkout'), firing('cart'), firing('search')])
  await r.executor.idle()
  t.same(patches(r.fake.log), [], 'no rollback')
  const held = r.audit.recentDecisions().filter(e => e.kind === 'held')
  t.equal(held.length, 3)
  t.match(held[0], { reason: 'correlated_failure', decision: 'skip', correlated: { scope: 'cluster' } })
  t.same(new Set(r.alerts.map(a => JSON.stringify(a.labels))).size, 1, 'the same alert identity every time')
  t.match(r.alerts[0], {
    labels: { alertname: 'RollbackHeldCorrelated', scope: 'cluster', namespace: 'shop' },
    annotations: { workloads: 'Deployment shop/cart, Deployment shop/checkout, Deployment shop/search' },
  })
})

t.test('a verdict the verifying leader never gave is given by the next leader, once, from the record', async t => {
  const window = () => 500
  const still = () => ({ firing: true, value: 0.42 })
  const a = await rig(t, { triggerState: still, effectivenessWindow: window })
  a.executor.handle([firing('checkout')])
  await a.executor.idle()
  t.ok(a.audit.recentDecisions().some(e => e.kind === 'verified'))
  // The leader stops leading during the window: its watch gives no verdict.
  a.leader.value = false
  const b = await rig(t, { harness: a.h, seed: false, triggerState: still, effectivenessWindow: window })
  const c = await rig(t, { harness: a.h, seed: false, triggerState: still, effectivenessWindow: window })
  c.leader.value = false
  // The trigger still fires when b becomes the leader (service.ts hands it every firing trigger); twice, as a
  // re-handled trigger would be.
  b.executor.handle([firing('checkout', 'HighErrorRate', { activeAt: Date.now() - 2_000 })])
  await b.executor.idle()
  b.executor.handle([firing('checkout')])
  await b.executor.idle()
  const skipped = b.audit.recentDecisions().find(e => e.kind === 'skipped')
  t.match(skipped, {
    reason: 'already_rolled_back',
    message: /has no effectiveness verdict yet .*: this replica gives it/,
  })
  const verdict = await until(() => b.audit.recentDecisions().find(e => e.kind === 'ineffective'), 3_000)
  t.match(verdict, { reason: 'still_firing', fromRevision: 2, toRevision: 1, value: 0.42 })
  const rec = decodeRollbackRecord(annotationsOf(b.fake.get('deployments', 'shop', 'checkout'))[ROLLBACK_ANNOTATION])
  t.match(rec?.judged, { effective: false }, 'the verdict is in the record')
  t.ok(
    (rec?.judged?.at ?? 0) >= (rec?.verified ?? Infinity) + 500,
    'given after the window, counted from the verification',
  )
  await new Promise(resolve => setTimeout(resolve, 700))
  t.equal(b.audit.recentDecisions().filter(e => e.kind === 'ineffective').length, 1, 'one verdict for two hand-overs')
  t.notOk(
    a.audit.recentDecisions().some(e => e.kind === 'ineffective'),
    'not by the replica that stopped leading',
  )
  t.equal(patches(b.fake.log).length, 1, 'no second rollback')

  // A later leader reads the verdict in the record and gives none.
  c.leader.value = true
  c.executor.handle([firing('checkout')])
  await c.executor.idle()
  await new Promise(resolve => setTimeout(resolve, 700))
  t.notMatch(c.audit.recentDecisions().find(e => e.kind === 'skipped')?.message ?? '', /no effectiveness verdict/)
  t.notOk(c.audit.recentDecisions().some(e => e.kind === 'ineffective'))
})

// A timer's delay counts from the event loop's time at the start of the turn that set it, so on a busy process it
// fires a little before its time by the clock. Here the executor's clock falls 200 ms behind once the watch is set:
// the timer fires when the clock reads 100 ms into the 300 ms window, and the verdict waits for the rest.
t.test('the verdict is never given before the window ends by the clock, even when its timer fires early', async t => {
  const clock = { behind: 0 }
  const now = () => Date.now() - clock.behind
  const r = await rig(t, { triggerState: () => ({ firing: true }), effectivenessWindow: () => 300, now })
  r.executor.handle([firing('checkout')])
  await r.executor.idle()
  clock.behind = 200
  await until(() => r.audit.recentDecisions().find(e => e.kind === 'ineffective'), 3_000)
  const rec = decodeRollbackRecord(annotationsOf(r.fake.get('deployments', 'shop', 'checkout'))[ROLLBACK_ANNOTATION])
  t.ok(rec?.verified !== undefined && rec.judged !== undefined)
  t.ok(
    (rec?.judged?.at ?? 0) >= (rec?.verified ?? Infinity) + 300,
    `judged ${(rec?.judged?.at ?? 0) - (rec?.verified ?? 0)} ms after the verification, by the executor's clock`,
  )
})

t.test('a verdict whose write lost its answer is still reported: the record read back holds our own', async t => {
  const r = await rig(t, { triggerState: () => ({ firing: true }), effectivenessWindow: () => 300 })
  r.executor.handle([firing('checkout')])
  await r.executor.idle()
  // The verdict's merge patch is applied, then the connection drops before the answer.
  r.fake.inject({ kind: 'reset', phase: 'after', match: { verb: 'patch', resource: 'deployments' } })
  await until(() => r.audit.recentDecisions().find(e => e.kind === 'ineffective'), 3_000)
  const rec = decodeRollbackRecord(annotationsOf(r.fake.get('deployments', 'shop', 'checkout'))[ROLLBACK_ANNOTATION])
  t.match(rec?.judged, { effective: false })
  t.equal(markers(r.fake.log).length, 2, 'the verification and the verdict, each written once')
})

t.test('an effective rollback is recorded as such: the series firing again later is not judged again', async t => {
  const state = { firing: true }
  const a = await rig(t, { triggerState: () => state, effectivenessWindow: () => 300 })
  a.executor.handle([firing('checkout')])
  await a.executor.idle()
  state.firing = false
  const rec = await until(() => {
    const d = a.fake.get('deployments', 'shop', 'checkout')
    return decodeRollbackRecord(annotationsOf(d)[ROLLBACK_ANNOTATION])?.judged
  }, 3_000)
  t.match(rec, { effective: true })
  t.notOk(a.audit.recentDecisions().some(e => e.kind === 'ineffective'))

  // The same series fires again, on another leader, before any new deploy.
  state.firing = true
  a.leader.value = false
  const b = await rig(t, { harness: a.h, seed: false, triggerState: () => state, effectivenessWindow: () => 300 })
  b.executor.handle([firing('checkout', 'HighErrorRate', { activeAt: Date.now() })])
  await b.executor.idle()
  t.match(
    b.audit.recentDecisions().find(e => e.kind === 'skipped'),
    { reason: 'already_rolled_back' },
  )
  await new Promise(resolve => setTimeout(resolve, 600))
  t.notOk(b.audit.recentDecisions().some(e => e.kind === 'ineffective'))
})

t.test('dry-run gives no verdict: nothing was rolled back', async t => {
  const a = await rig(t, {
    actions: { mode: 'dry-run' },
    triggerState: () => ({ firing: true }),
    effectivenessWindow: () => 100,
  })
  a.executor.handle([firing('checkout')])
  await a.executor.idle()
  a.executor.handle([firing('checkout')])
  await a.executor.idle()
  await new Promise(resolve => setTimeout(resolve, 300))
  t.notOk(a.audit.recentDecisions().some(e => e.kind === 'ineffective'))
})
