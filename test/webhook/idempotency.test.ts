// One firing of one alert (fingerprint + startsAt) causes at most one rollback, also across restarts: the record
// annotation names the alerts that caused rollguard's rollbacks, and a fresh executor reads it before deciding.
import t from 'tap'
import { ActionsConfig } from '../../src/actions/actions-config.js'
import {
  decide,
  decodeRollbackRecord,
  encodeRollbackRecord,
  nextRollbackRecord,
  ROLLBACK_ANNOTATION,
  type PolicyInput,
} from '../../src/actions/policy.js'
import { triggerKey as alertKey } from '../../src/actions/record.js'
import type { TriggerEvent } from '../../src/actions/trigger.js'
import { patches, rig } from '../actions/fixtures/executor.js'
import { setImage } from '../fixtures/cluster-harness.js'

const STARTS_AT = Date.parse('2026-01-01T10:05:00Z')
const alert = (startsAt = STARTS_AT) => ({
  name: 'HighErrorRate',
  labels: { alertname: 'HighErrorRate', namespace: 'shop', deployment: 'checkout', rollguard_trigger: 'rollback' },
  fingerprint: 'fbeaf81a8353a375',
  startsAt,
})
const fire = (startsAt = STARTS_AT): TriggerEvent => ({
  kind: 'fire',
  request: { ref: { kind: 'Deployment', namespace: 'shop', name: 'checkout' }, alert: alert(startsAt) },
})
const annotationsOf = (o: unknown) =>
  (o as { metadata?: { annotations?: Record<string, string> } } | undefined)?.metadata?.annotations ?? {}

t.test(
  'the record names the trigger; a restarted executor does not act on the same firing, even after a new deploy',
  async t => {
    // No cooldown: only the record's memory of the alert can stop the second rollback.
    const actions = { cooldown: '0s' }
    const first = await rig(t, { actions })
    t.equal(first.executor.handleEvents([fire()]), true)
    await first.executor.idle()
    t.equal(patches(first.fake.log).length, 1, 'rolled back once')
    const record = decodeRollbackRecord(
      annotationsOf(first.fake.get('deployments', 'shop', 'checkout'))[ROLLBACK_ANNOTATION],
    )
    t.same(record?.triggers, [alertKey(alert())], 'the record names the firing that caused it')
    await first.executor.stop()

    // Someone deploys a new revision: already_rolled_back alone would no longer hold.
    await setImage(first.fake, 'shop', 'checkout', 'nginx:3')
    first.fake.log.length = 0
    const second = await rig(t, { actions, harness: first.h, seed: false })
    second.executor.handleEvents([fire()])
    await second.executor.idle()
    t.equal(
      patches(first.fake.log).length,
      0,
      'the same firing, repeated by Alertmanager after a restart, does not roll back again',
    )
    t.match(second.audit.recentDecisions().at(-1), {
      kind: 'skipped',
      reason: 'already_rolled_back',
      message: /was rolled back by rollguard for this very alert before \(firing since 2026-01-01T10:05:00Z\)/,
    })

    const later = STARTS_AT + 3_600_000
    second.executor.handleEvents([fire(later)])
    await second.executor.idle()
    t.equal(patches(first.fake.log).length, 1, 'a new firing of the alert (new startsAt) may roll back the new deploy')
    const after = decodeRollbackRecord(
      annotationsOf(first.fake.get('deployments', 'shop', 'checkout'))[ROLLBACK_ANNOTATION],
    )
    t.same(after?.triggers, [alertKey(alert()), alertKey(alert(later))], 'earlier triggers are carried forward')
  },
)

t.test('dry-run records nothing on the workload, so a restart may dry-run again (harmless)', async t => {
  const r = await rig(t, { actions: { mode: 'dry-run' } })
  r.executor.handleEvents([fire()])
  await r.executor.idle()
  t.equal(annotationsOf(r.fake.get('deployments', 'shop', 'checkout'))[ROLLBACK_ANNOTATION], undefined)
  t.match(r.audit.recentDecisions(), [{ kind: 'dry_run' }])
})

t.test('handleEvents refuses when the executor is stopping', async t => {
  const r = await rig(t)
  await r.executor.stop()
  t.equal(r.executor.handleEvents([fire()]), false)
})

t.test('policy: the record triggers, pure', async t => {
  const T0 = STARTS_AT + 600_000
  const facts = {
    ref: { kind: 'Deployment' as const, namespace: 'shop', name: 'checkout' },
    labels: {},
    annotations: {} as Record<string, string>,
    paused: false,
    generation: 12,
    observedGeneration: 12,
    currentRevision: 9,
    previousRevision: 8,
    currentRevisionSince: T0 - 60_000,
  }
  const policy = ActionsConfig.parse({ mode: 'execute', allow: [{ namespace: 'shop' }], cooldown: '0s' })
  const input = (annotations: Record<string, string>, a = alert()): PolicyInput => ({
    now: T0,
    policy,
    facts: { ...facts, annotations },
    recentRollbacks: [],
    isLeader: true,
    alert: a,
  })
  // Revision 7 was rolled back to 6 (becoming 8), then 9 was deployed: redeployed since the rollback.
  const rolledBack = {
    at: T0 - 300_000,
    fromRevision: 7,
    toRevision: 6,
    generation: 10,
    alert: 'HighErrorRate',
    history: [T0 - 300_000],
  }
  const withTrigger = encodeRollbackRecord({ ...rolledBack, triggers: [alertKey(alert())] })
  const d = decide(input({ [ROLLBACK_ANNOTATION]: withTrigger }))
  t.match(d, { act: false, reason: 'already_rolled_back', blockers: ['already_rolled_back'] })
  t.equal(decide(input({ [ROLLBACK_ANNOTATION]: withTrigger }, alert(STARTS_AT + 1))).act, true, 'another firing')
  t.equal(
    decide(input({ [ROLLBACK_ANNOTATION]: encodeRollbackRecord(rolledBack) })).act,
    true,
    'a record from before triggers were recorded',
  )
  t.equal(decide({ ...input({ [ROLLBACK_ANNOTATION]: withTrigger }), alert: undefined }).act, true, 'no alert given')

  const next = nextRollbackRecord(
    input({ [ROLLBACK_ANNOTATION]: withTrigger }, alert(STARTS_AT + 1)),
    { fromRevision: 9, toRevision: 8 },
    'HighErrorRate',
  )
  t.same(next.triggers, [alertKey(alert()), alertKey(alert(STARTS_AT + 1))])
  const many = Array.from({ length: 20 }, (_, i) => alertKey(alert(STARTS_AT - i)))
  const capped = nextRollbackRecord(
    input({ [ROLLBACK_ANNOTATION]: encodeRollbackRecord({ ...rolledBack, triggers: many }) }),
    { fromRevision: 9, toRevision: 8 },
    'x',
  )
  t.equal(capped.triggers?.length, 20, 'bounded')
  t.equal(capped.triggers?.at(-1), alertKey(alert()), 'the newest kept')
  t.same(decodeRollbackRecord(encodeRollbackRecord(next))?.triggers, next.triggers, 'round trip')
  t.equal(JSON.parse(encodeRollbackRecord(rolledBack)).triggers, undefined, 'no triggers field without triggers')
})
