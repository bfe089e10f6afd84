import t from 'tap'
import { ActionsConfig } from '../../src/actions/actions-config.js'
import { factsAt, triggerFirings, wouldBeRollbacks, type RolloutHistory } from '../../src/backtest/would-be.js'
import type { AlertTimeline } from '../../src/backtest/timeline.js'

const T0 = Date.parse('2026-12-01T10:00:00Z')
const MIN = 60_000
const config = ActionsConfig.parse({ allow: [{ namespace: 'shop' }], correlation: { enabled: false } })

const alert = (
  deployment: string,
  intervals: AlertTimeline['intervals'],
  labels: Record<string, string> = {},
): AlertTimeline => ({
  group: 'g',
  rule: 'HighErrorRate',
  labels: { alertname: 'HighErrorRate', namespace: 'shop', deployment, rollguard_trigger: 'rollback', ...labels },
  intervals,
})
const pendingThenFiring = (start: number, end?: number): AlertTimeline['intervals'] => [
  { state: 'pending', start, end: start + 2 * MIN, startValue: 0.5, endValue: 0.5 },
  { state: 'firing', start: start + 2 * MIN, end, startValue: 0.5, endValue: undefined },
]
const history = (...ats: number[]): RolloutHistory => ({
  labels: {},
  rollouts: ats.map((at, i) => ({ revision: i + 1, at, name: `rs-${i + 1}` })),
})

t.test(
  'trigger firings: onset from the pending interval before; non-triggers and alerts without a workload are left out',
  async t => {
    const firings = triggerFirings(
      [
        alert('checkout', pendingThenFiring(T0)),
        alert('cart', pendingThenFiring(T0), { rollguard_trigger: 'no' }),
        { ...alert('x', pendingThenFiring(T0)), labels: { alertname: 'A', rollguard_trigger: 'rollback' } },
        alert('search', [{ state: 'firing', start: T0 + MIN, end: undefined, startValue: 1, endValue: undefined }]),
      ],
      config,
    )
    t.same(
      firings.map(f => [f.ref.name, f.at - T0, f.onset - T0]),
      [
        ['search', MIN, MIN],
        ['checkout', 2 * MIN, 0],
      ],
    )
  },
)

t.test(
  'would-be rollbacks carry forward: already rolled back until a new deploy, cooldown, then the new deploy may roll back',
  async t => {
    const histories = new Map<string, RolloutHistory>([
      ['Deployment/shop/checkout', history(T0 - 120 * MIN, T0 - 10 * MIN, T0 + 70 * MIN)],
    ])
    const firings = triggerFirings(
      [
        alert('checkout', [
          ...pendingThenFiring(T0, T0 + 5 * MIN),
          ...pendingThenFiring(T0 + 20 * MIN, T0 + 25 * MIN),
          ...pendingThenFiring(T0 + 69 * MIN),
        ]),
      ],
      config,
    )
    const verdicts = wouldBeRollbacks(firings, histories, config)
    t.same(
      verdicts.map(v => v.decision.reason),
      ['rollback', 'already_rolled_back', 'fault_predates_rollout'],
    )
    t.match(verdicts[0]?.decision.message, /from revision 2 to 1/)
    const after = wouldBeRollbacks(
      triggerFirings(
        [alert('checkout', [...pendingThenFiring(T0, T0 + 5 * MIN), ...pendingThenFiring(T0 + 75 * MIN)])],
        config,
      ),
      histories,
      config,
    )
    t.same(
      after.map(v => v.decision.reason),
      ['rollback', 'rollback'],
      'a new deploy (revision 4 after the would-be undo) may be rolled back',
    )
    t.match(after[1]?.decision.message, /from revision 4 to 3/)
  },
)

t.test('unreadable workloads, no history, correlated triggers', async t => {
  const histories = new Map<string, RolloutHistory>([
    ['Deployment/shop/a', { error: 'deployments.apps "a" not found' }],
    ['Deployment/shop/b', history(T0 - 5 * MIN)],
  ])
  const firings = triggerFirings(
    [alert('a', pendingThenFiring(T0)), alert('b', pendingThenFiring(T0)), alert('c', pendingThenFiring(T0))],
    config,
  )
  t.same(
    wouldBeRollbacks(firings, histories, config).map(v => v.decision.reason),
    ['unreadable', 'no_history', 'unreadable'],
  )
  const three = new Map<string, RolloutHistory>(
    ['a', 'b', 'c'].map(n => [`Deployment/shop/${n}`, history(T0 - 60 * MIN, T0 - 5 * MIN)]),
  )
  const correlated = ActionsConfig.parse({ allow: [{ namespace: 'shop' }] })
  t.same(
    wouldBeRollbacks(firings, three, correlated).map(v => v.decision.reason),
    ['correlated_failure', 'correlated_failure', 'correlated_failure'],
  )
  t.match(factsAt({ kind: 'Deployment', namespace: 'shop', name: 'b' }, { labels: {}, rollouts: [] }, T0, undefined), {
    currentRevision: 0,
    previousRevision: undefined,
    currentRevisionSince: undefined,
  })
})
