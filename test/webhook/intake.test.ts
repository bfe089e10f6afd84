import t from 'tap'
import { TargetLabels, TriggerSelector } from '../../src/actions/actions-config.js'
import { parseMatchers } from '../../src/actions/matchers.js'
import { alertInfo, classify, isActionable, triggerMatchers, type IntakeRules } from '../../src/webhook/intake.js'
import { parsePayload, type WebhookAlert } from '../../src/webhook/payload.js'
import type { SeenEntry } from '../../src/webhook/seen.js'
import { alert, payload } from './fixtures/payloads.js'

const DEFAULT_RULES: IntakeRules = {
  matchers: triggerMatchers(TriggerSelector.parse(undefined)),
  targets: TargetLabels.parse(undefined),
}
const nothingSeen = () => undefined

function alerts(...specs: Record<string, unknown>[]): WebhookAlert[] {
  const r = parsePayload(payload(specs))
  if (!r.ok) throw new Error(r.error)
  return [...r.payload.alerts]
}

t.test('the default selection is the actions trigger label', async t => {
  t.same(DEFAULT_RULES.matchers, [{ name: 'rollguard_trigger', type: '=', value: 'rollback' }])
  const [trigger, other] = classify(
    alerts(alert(), alert({ labels: { alertname: 'DiskFull', namespace: 'shop', deployment: 'checkout' } })),
    DEFAULT_RULES,
    nothingSeen,
    0,
  )
  t.equal(trigger?.result, 'accepted')
  t.equal(other?.result, 'ignored', 'no rollguard_trigger label: acknowledged and ignored')
  t.equal(other?.event, undefined)
  t.equal(other?.remember, undefined, 'not remembered: a reload may change the matchers')
})

t.test('a firing trigger becomes a rollback request for the workload its labels name', async t => {
  const [a] = alerts(
    alert({ deployment: 'checkout', startsAt: '2026-01-01T10:05:00Z', fingerprint: '0eb7e035b87e7c63' }),
  )
  const [c] = classify([a as WebhookAlert], DEFAULT_RULES, nothingSeen, 3)
  t.same(c, {
    key: `0eb7e035b87e7c63@${Date.parse('2026-01-01T10:05:00Z')}`,
    result: 'accepted',
    event: {
      kind: 'fire',
      request: {
        ref: { kind: 'Deployment', namespace: 'shop', name: 'checkout' },
        alert: {
          name: 'HighErrorRate',
          labels: a?.labels,
          fingerprint: '0eb7e035b87e7c63',
          startsAt: Date.parse('2026-01-01T10:05:00Z'),
          onset: Date.parse('2026-01-01T10:05:00Z'),
        },
      },
    },
    remember: 'firing',
  })
  t.equal(c && isActionable(c), true)
  const [r] = classify(alerts(alert({ status: 'resolved' })), DEFAULT_RULES, nothingSeen, 0)
  t.match(r, {
    result: 'resolved',
    event: { kind: 'resolve', request: { ref: { name: 'checkout' } } },
    remember: 'resolved',
  })
})

t.test('Alertmanager-style matchers: =, !=, =~, !~, regexes fully anchored, all must match', async t => {
  const rules: IntakeRules = {
    ...DEFAULT_RULES,
    matchers: parseMatchers(['severity="critical"', 'alertname=~"High.*"', 'env!="staging"', 'team!~"data|ml"']),
  }
  const labels = (extra: Record<string, string>) => ({
    alertname: 'HighErrorRate',
    namespace: 'shop',
    deployment: 'checkout',
    severity: 'critical',
    ...extra,
  })
  const cases: Array<[Record<string, string>, string]> = [
    [labels({}), 'accepted'],
    [labels({ severity: 'warning' }), 'ignored'],
    [labels({ alertname: 'VeryHighErrorRate' }), 'ignored'], // =~ is anchored at the start
    [labels({ alertname: 'HighErrorRateX' }), 'accepted'],
    [labels({ env: 'staging' }), 'ignored'],
    [labels({ env: 'prod' }), 'accepted'],
    [labels({ team: 'data' }), 'ignored'],
    [labels({ team: 'database' }), 'accepted'], // !~ is anchored at the end: "data|ml" does not match "database"
  ]
  for (const [l, expected] of cases) {
    const [c] = classify(alerts(alert({ labels: l, fingerprint: 'aa' })), rules, nothingSeen, 0)
    t.equal(c?.result, expected, JSON.stringify(l))
  }
  const anchored: IntakeRules = { ...DEFAULT_RULES, matchers: parseMatchers(['deployment=~"check"']) }
  t.equal(
    classify(alerts(alert({ deployment: 'checkout' })), anchored, nothingSeen, 0)[0]?.result,
    'ignored',
    'a regex must match the whole value',
  )
  const absent: IntakeRules = { ...DEFAULT_RULES, matchers: parseMatchers(['team=""']) }
  t.equal(classify(alerts(alert()), absent, nothingSeen, 0)[0]?.result, 'accepted', 'an absent label equals ""')
})

t.test('target labels are configurable; a trigger naming no usable workload is recorded once as ignored', async t => {
  const rules: IntakeRules = {
    ...DEFAULT_RULES,
    targets: { ...DEFAULT_RULES.targets, namespace: 'kubernetes_namespace', deployment: 'app' },
  }
  const labels = { alertname: 'X', rollguard_trigger: 'rollback', kubernetes_namespace: 'shop', app: 'cart' }
  t.match(classify(alerts(alert({ labels })), rules, nothingSeen, 0)[0], {
    result: 'accepted',
    event: { request: { ref: { namespace: 'shop', name: 'cart' } } },
  })
  const cases: Array<[Record<string, string>, string, RegExp]> = [
    [{ alertname: 'X', rollguard_trigger: 'rollback', namespace: 'shop' }, 'no_target', /names no workload/],
    [
      { alertname: 'X', rollguard_trigger: 'rollback', namespace: 'shop', deployment: 'a', statefulset: 'b' },
      'ambiguous_target',
      /more than one workload/,
    ],
    [
      { alertname: 'X', rollguard_trigger: 'rollback', namespace: 'Shop!', deployment: 'a' },
      'invalid_target',
      /not a valid namespace/,
    ],
  ]
  for (const [l, reason, message] of cases) {
    const [firing] = classify(alerts(alert({ labels: l })), DEFAULT_RULES, nothingSeen, 0)
    t.match(firing, { result: 'no_target', event: { kind: 'ignored', reason, message }, remember: 'firing' }, reason)
    t.equal(firing && isActionable(firing), false, 'needs no leader')
    const [resolved] = classify(alerts(alert({ labels: l, status: 'resolved' })), DEFAULT_RULES, nothingSeen, 0)
    t.match(
      resolved,
      { result: 'no_target', event: undefined },
      'a resolution without a workload has nothing to cancel',
    )
  }
})

t.test('repeats: by fingerprint + startsAt, within a notification and across notifications', async t => {
  const firing = alert({ startsAt: '2026-01-01T10:05:00Z' })
  const seen = new Map<string, SeenEntry>()
  const lookup = (k: string) => seen.get(k)
  const first = classify(alerts(firing, firing), DEFAULT_RULES, lookup, 1)
  t.same(
    first.map(c => c.result),
    ['accepted', 'duplicate'],
    'the same alert twice in one notification',
  )
  for (const c of first) if (c.remember) seen.set(c.key, { state: c.remember, term: 1 })
  t.same(
    classify(alerts(firing), DEFAULT_RULES, lookup, 1).map(c => c.result),
    ['duplicate'],
    'the next group_interval',
  )
  t.same(
    classify(alerts(firing), DEFAULT_RULES, lookup, 2).map(c => c.result),
    ['accepted'],
    'a new leadership term decides again',
  )
  const refired = alert({ startsAt: '2026-01-01T11:00:00Z' })
  t.same(
    classify(alerts(refired), DEFAULT_RULES, lookup, 1).map(c => c.result),
    ['accepted'],
    'a new firing of the same alert is news',
  )
  const resolved = alert({ status: 'resolved', startsAt: '2026-01-01T10:05:00Z' })
  const [r] = classify(alerts(resolved), DEFAULT_RULES, lookup, 1)
  t.equal(r?.result, 'resolved')
  seen.set(r?.key ?? '', { state: 'resolved', term: 1 })
  t.same(
    classify(alerts(resolved, firing), DEFAULT_RULES, lookup, 1).map(c => c.result),
    ['duplicate', 'duplicate'],
    'resolved for good',
  )
})

t.test('alertInfo: the alert name comes from alertname', async t => {
  const [a] = alerts(alert({ labels: { severity: 'critical' } }))
  t.equal(alertInfo(a as WebhookAlert).name, '(no alertname)')
})
