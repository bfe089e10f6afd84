import t, { type Test } from 'tap'
import { Registry } from 'prom-client'
import { ACTION_ALERT_TTL_MS, actionAlert } from '../../src/actions/action-alerts.js'
import { Audit, type AuditEntry, type AuditKind } from '../../src/actions/audit.js'
import type { OutgoingAlert } from '../../src/engine/types.js'
import { createActionMetrics } from '../../src/telemetry/action-metrics.js'
import { logSink } from '../fixtures/e2e.js'
import { harness } from '../fixtures/cluster-harness.js'
import { metric } from './fixtures/executor.js'

const NOW = Date.parse('2026-03-30T10:00:00Z')
const ref = { kind: 'Deployment', namespace: 'shop', name: 'checkout' } as const
const alert = {
  name: 'HighErrorRate',
  labels: { alertname: 'HighErrorRate', namespace: 'shop' },
  fingerprint: 'fp',
  startsAt: NOW - 5_000,
}

async function setup(t: Test, ringSize?: number) {
  const h = await harness('shop')
  t.teardown(h.close)
  const log = logSink()
  const registry = new Registry()
  const alerts: OutgoingAlert[] = []
  const audit = new Audit({
    logger: log.logger,
    metrics: createActionMetrics(registry),
    events: h.clients.events,
    reporter: { reportingController: 'rollguard.io/rollguard', reportingInstance: 'pod-1' },
    sendAlerts: a => void alerts.push(...a),
    generatorURL: () => 'http://rg',
    now: () => NOW,
    ringSize,
  })
  return { h, log, registry, alerts, audit }
}

const entry = (kind: AuditKind, over: Partial<AuditEntry> = {}): AuditEntry => ({
  kind,
  reason: 'r',
  message: `m-${kind}`,
  alert,
  mode: 'execute',
  workload: ref,
  regarding: { ...ref, uid: 'u-1' },
  fromRevision: 2,
  toRevision: 1,
  ...over,
})

// kind → [decision, result, event, alert]
const TABLE: Array<[AuditKind, string | undefined, string | undefined, string | undefined, string | undefined]> = [
  ['ignored', 'ignore', undefined, undefined, undefined],
  ['not_leader', 'skip', 'skipped', undefined, undefined],
  ['cancelled', 'skip', 'skipped', undefined, undefined],
  ['read_failed', 'error', 'failed', undefined, 'RollbackFailed'],
  ['skipped', 'skip', 'skipped', 'Normal/RollbackSkipped', undefined],
  ['brake', 'skip', 'skipped', 'Warning/RollbackBrake', 'RollbackBrakeEngaged'],
  ['dry_run', 'dry_run', 'dry_run', 'Normal/RollbackDryRun', undefined],
  ['dry_run_failed', 'dry_run', 'failed', 'Warning/RollbackFailed', undefined],
  ['rolled_back', 'rollback', 'attempted', 'Normal/RolledBack', 'RollbackExecuted'],
  ['patch_failed', 'rollback', 'failed', 'Warning/RollbackFailed', 'RollbackFailed'],
  ['verified', undefined, 'succeeded', 'Normal/RollbackVerified', undefined],
  ['verify_failed', undefined, 'failed', 'Warning/RollbackFailed', 'RollbackFailed'],
  ['verify_aborted', undefined, undefined, undefined, undefined],
]

t.test('every kind maps to its decision, metric result, event and alert', async t => {
  for (const [kind, decision, result, event, alertName] of TABLE) {
    const s = await setup(t)
    const rec = s.audit.record(entry(kind))
    t.match(rec, { kind, decision, result, at: NOW }, kind)
    await s.audit.flush(5_000)
    const events = s.h.fake.list('events', 'shop') as Array<{
      type?: string
      reason?: string
      message?: string
      action?: string
    }>
    t.same(
      events.map(e => `${e.type}/${e.reason}`),
      event === undefined ? [] : [event],
      `${kind}: event`,
    )
    if (event !== undefined) t.match(events[0], { message: `m-${kind}`, action: 'Rollback' })
    t.same(
      s.alerts.map(a => a.labels['alertname']),
      alertName === undefined ? [] : [alertName],
      `${kind}: alert`,
    )
    if (decision !== undefined)
      t.equal(await metric(s.registry, 'rollguard_rollback_decisions_total', { decision, reason: 'r' }), 1)
    if (result !== undefined) t.equal(await metric(s.registry, 'rollguard_rollbacks_total', { result, reason: 'r' }), 1)
    const line = s.log.lines().at(-1)
    t.match(line, {
      msg: `rollback ${kind.replace(/_/g, ' ')}: m-${kind}`,
      reason: 'r',
      workload: 'Deployment shop/checkout',
      alert: { name: 'HighErrorRate' },
      fromRevision: 2,
    })
  }
})

t.test('no alerts in dry-run mode or without a workload; no event without a read workload', async t => {
  const s = await setup(t)
  s.audit.record(entry('patch_failed', { mode: 'dry-run' }))
  s.audit.record(entry('read_failed', { workload: undefined, regarding: undefined }))
  s.audit.record(entry('skipped', { regarding: undefined }))
  await s.audit.flush(5_000)
  t.same(s.alerts, [])
  t.equal(s.h.fake.list('events', 'shop').length, 1, 'only the dry-run entry with a workload read')
})

t.test('rollguard_rollbacks_total names the workload only once it was read and matched actions.allow', async t => {
  const s = await setup(t)
  s.audit.record(entry('rolled_back', { reason: 'rollback' }))
  s.audit.record(entry('skipped', { reason: 'not_allowed', blockers: ['not_allowed', 'cooldown'] }))
  s.audit.record(entry('skipped', { reason: 'cooldown', blockers: ['cooldown'] }))
  s.audit.record(
    entry('not_leader', {
      reason: 'not_leader',
      regarding: undefined,
      workload: { kind: 'Deployment', namespace: 'other', name: 'web' },
    }),
  )
  s.audit.record(entry('read_failed', { reason: 'forbidden', regarding: undefined }))
  const values = (await s.registry.getSingleMetric('rollguard_rollbacks_total')?.get())?.values ?? []
  const w = { workload_namespace: 'shop', kind: 'Deployment', workload: 'checkout' }
  const none = { workload_namespace: '', kind: '', workload: '' }
  t.same(
    values.map(v => v.labels).sort((a, b) => String(a.reason).localeCompare(String(b.reason))),
    [
      { result: 'skipped', reason: 'cooldown', ...w },
      { result: 'failed', reason: 'forbidden', ...none },
      { result: 'skipped', reason: 'not_allowed', ...none },
      { result: 'skipped', reason: 'not_leader', ...none },
      { result: 'attempted', reason: 'rollback', ...w },
    ],
  )
  t.match(
    await s.registry.metrics(),
    /rollguard_rollbacks_total\{result="attempted",reason="rollback",workload_namespace="shop",kind="Deployment",workload="checkout"\} 1/,
  )
})

t.test('an event that cannot be created is logged, never thrown; the ring keeps the latest entries', async t => {
  const s = await setup(t, 2)
  s.h.fake.authorize = req => req.resource !== 'events'
  s.audit.record(entry('skipped'))
  s.audit.record(entry('verified'))
  s.audit.record(entry('dry_run'))
  await s.audit.flush(5_000)
  t.same(
    s.audit.recentDecisions().map(r => r.kind),
    ['verified', 'dry_run'],
  )
  const warnings = s.log.lines().filter(l => l.msg?.toString().startsWith('rollback audit event not recorded'))
  t.equal(warnings.length, 3)
  t.match(warnings[0], { reason: 'forbidden', status: 403 })
})

t.test('flush is bounded', async t => {
  const s = await setup(t)
  s.h.fake.inject({ kind: 'delay', ms: 2_000, match: { resource: 'events' } })
  s.audit.record(entry('skipped'))
  const start = Date.now()
  await s.audit.flush(100)
  t.ok(Date.now() - start < 1_000)
})

t.test('action alerts: labels identify workload and trigger; they expire on their own', async t => {
  const a = actionAlert(
    'RollbackFailed',
    { workload: ref, trigger: alert, reason: 'verify_timeout', message: 'did not complete' },
    NOW,
    'http://rg',
  )
  t.same(a, {
    labels: {
      alertname: 'RollbackFailed',
      severity: 'critical',
      namespace: 'shop',
      kind: 'Deployment',
      workload: 'checkout',
      trigger_alertname: 'HighErrorRate',
      rollguard_action: 'rollback',
    },
    annotations: {
      summary: 'Deployment shop/checkout: automatic rollback failed; a human is needed',
      description: 'did not complete',
      reason: 'verify_timeout',
    },
    startsAt: NOW,
    endsAt: NOW + ACTION_ALERT_TTL_MS,
    generatorURL: 'http://rg',
  })
  const ok = actionAlert(
    'RollbackExecuted',
    { workload: ref, trigger: alert, reason: 'rollback', message: 'x', fromRevision: 5, toRevision: 4 },
    NOW,
    '',
  )
  t.match(ok, { labels: { severity: 'info' }, annotations: { from_revision: '5', to_revision: '4' } })
})
