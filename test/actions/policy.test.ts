import t from 'tap'
import { ActionsPolicy } from '../../src/actions/policy-config.js'
import {
  decide,
  decodeRollbackRecord,
  encodeRollbackRecord,
  FREEZE_ANNOTATION,
  nextRollbackRecord,
  type PolicyInput,
  REASON_CODES,
  type ReasonCode,
  redeployedSince,
  silenceBlocker,
  type SilenceState,
  ROLLBACK_ANNOTATION,
  type RollbackRecord,
  type WorkloadFacts,
} from '../../src/actions/policy.js'

const MIN = 60_000
const HOUR = 60 * MIN
const T0 = Date.parse('2026-03-30T10:00:00Z') // Monday, 12:00 in Berlin

const policy = (over: Record<string, unknown> = {}) =>
  ActionsPolicy.parse({ mode: 'execute', allow: [{ namespace: 'shop' }], ...over })

const facts = (over: Partial<WorkloadFacts> = {}): WorkloadFacts => ({
  ref: { kind: 'Deployment', namespace: 'shop', name: 'checkout' },
  labels: { app: 'checkout', tier: 'be' },
  annotations: {},
  paused: false,
  generation: 7,
  observedGeneration: 7,
  currentRevision: 5,
  previousRevision: 4,
  currentRevisionSince: T0 - 10 * MIN,
  ...over,
})

interface Over {
  policy?: Record<string, unknown>
  facts?: Partial<WorkloadFacts>
  now?: number
  recentRollbacks?: number[]
  isLeader?: boolean
  silence?: SilenceState
  alert?: PolicyInput['alert']
  correlated?: PolicyInput['correlated']
}

const input = (o: Over = {}): PolicyInput => ({
  now: o.now ?? T0,
  policy: policy(o.policy),
  facts: facts(o.facts),
  recentRollbacks: o.recentRollbacks ?? [],
  isLeader: o.isLeader ?? true,
  silence: o.silence,
  alert: o.alert,
  correlated: o.correlated,
})

const record = (over: Partial<RollbackRecord> = {}): RollbackRecord => ({
  at: T0 - 40 * MIN,
  fromRevision: 5,
  toRevision: 4,
  generation: 8,
  alert: 'HighErrorRate',
  history: [over.at ?? T0 - 40 * MIN],
  ...over,
})

/** rolledBack: the annotation rollguard left, plus the facts after its undo of revision 5 → 4 (now revision 6). */
const rolledBack = (r: Partial<RollbackRecord> = {}, f: Partial<WorkloadFacts> = {}): Partial<WorkloadFacts> => ({
  annotations: { [ROLLBACK_ANNOTATION]: encodeRollbackRecord(record(r)) },
  generation: 8,
  observedGeneration: 8,
  currentRevision: 6,
  previousRevision: 5,
  currentRevisionSince: T0 - 30 * 24 * HOUR, // the restored ReplicaSet is old
  ...f,
})

/** redeployed: someone else deployed revision 7 five minutes ago, after rollguard's rollback. */
const redeployed = (r: Partial<RollbackRecord> = {}) =>
  rolledBack(r, {
    generation: 10,
    observedGeneration: 10,
    currentRevision: 7,
    previousRevision: 6,
    currentRevisionSince: T0 - 5 * MIN,
  })

t.test('acts only when every check passes and the mode is execute', async t => {
  t.same(decide(input()), {
    act: true,
    dryRun: false,
    reason: 'rollback',
    message: 'rolling back Deployment shop/checkout from revision 5 to 4',
    target: { fromRevision: 5, toRevision: 4 },
    blockers: [],
  })
  t.same(decide(input({ policy: { mode: 'dry-run' } })), {
    act: false,
    dryRun: true,
    reason: 'dry_run',
    message:
      'dry-run: would roll back Deployment shop/checkout from revision 5 to 4 (set actions.mode: execute to act)',
    target: { fromRevision: 5, toRevision: 4 },
    blockers: [],
  })
  t.equal(
    decide({ ...input(), policy: ActionsPolicy.parse({ allow: [{ namespace: '*' }] }) }).reason,
    'dry_run',
    'dry-run is the default mode',
  )
})

const DAY = 24 * HOUR
const onset = (at: number): PolicyInput['alert'] => ({
  fingerprint: 'fbeaf81a8353a375',
  startsAt: at + 2 * MIN,
  onset: at,
})
const together = (n: number): PolicyInput['correlated'] => ({
  workloads: Array.from({ length: n }, (_, i) => ({ kind: 'Deployment' as const, namespace: 'shop', name: `w${i}` })),
  scope: 'cluster',
})

interface Case {
  name: string
  over: Over
  reason: ReasonCode
  message?: RegExp | string
  /** Every blocker, when more than the reason itself. */
  blockers?: ReasonCode[]
}

const SILENCED: SilenceState = {
  state: 'silenced',
  id: '5c3f0e1a-7c2e-4a55-9f1e-2b8d0c6a9e11',
  createdBy: 'alice',
  comment: 'planned migration, do not roll back',
  endsAt: T0 + 2 * HOUR,
  matchers: ['namespace="shop"', 'deployment=~"check.*"'],
  alertmanager: 'http://am-0:9093/',
}
const AM_DOWN: SilenceState = { state: 'unknown', error: 'http://am-0:9093/: connect ECONNREFUSED' }

// After rollguard's undo the restored ReplicaSet is old, so the post-deploy window fails too; the record explains more.
const ROLLED_BACK: ReasonCode[] = ['already_rolled_back', 'outside_post_deploy_window']

const cases: Case[] = [
  {
    name: 'follower',
    over: { isLeader: false },
    reason: 'not_leader',
    message: 'this instance is not the leader; the leader decides for Deployment shop/checkout',
  },
  {
    name: 'empty allowlist',
    over: { policy: { allow: [] } },
    reason: 'not_allowed',
    message: /actions\.allow is empty, so no workload may be rolled back/,
  },
  {
    name: 'other namespace',
    over: { policy: { allow: [{ namespace: 'cart' }, { namespace: 'shop-*' }] } },
    reason: 'not_allowed',
    message: /matches no actions\.allow entry/,
  },
  {
    name: 'namespace glob',
    over: { policy: { allow: [{ namespace: 'cart' }, { namespace: 'sh*' }] } },
    reason: 'rollback',
  },
  {
    name: 'selector matches',
    over: { policy: { allow: [{ selector: 'app=checkout,tier in (be)' }] } },
    reason: 'rollback',
  },
  { name: 'selector does not match', over: { policy: { allow: [{ selector: 'app=cart' }] } }, reason: 'not_allowed' },
  {
    name: 'namespace and selector must both match',
    over: { policy: { allow: [{ namespace: 'shop', selector: '!tier' }] } },
    reason: 'not_allowed',
  },
  {
    name: 'namespace and selector both match',
    over: { policy: { allow: [{ namespace: 'shop', selector: 'tier' }] } },
    reason: 'rollback',
  },
  {
    name: 'config freeze',
    over: { policy: { freeze: true } },
    reason: 'frozen_config',
    message: 'automatic rollbacks are frozen by configuration (actions.freeze: true)',
  },
  {
    name: 'freeze annotation',
    over: { facts: { annotations: { [FREEZE_ANNOTATION]: 'true' } } },
    reason: 'frozen_annotation',
    message: 'Deployment shop/checkout is frozen by its rollguard.io/freeze: "true" annotation',
  },
  {
    name: 'freeze annotation typo freezes',
    over: { facts: { annotations: { [FREEZE_ANNOTATION]: 'yes' } } },
    reason: 'frozen_annotation',
  },
  {
    name: 'freeze annotation "False "',
    over: { facts: { annotations: { [FREEZE_ANNOTATION]: ' False ' } } },
    reason: 'rollback',
  },
  {
    name: 'an active Alertmanager silence matches the trigger',
    over: { silence: SILENCED },
    reason: 'silenced',
    message:
      'the trigger alert is silenced in Alertmanager http://am-0:9093/ by silence 5c3f0e1a-7c2e-4a55-9f1e-2b8d0c6a9e11 (created by "alice", ' +
      'comment "planned migration, do not roll back", matchers {namespace="shop", deployment=~"check.*"}, ends at 2026-03-30T12:00:00Z); ' +
      'not acting on Deployment shop/checkout while it is active',
  },
  {
    name: 'a silence vetoes even an otherwise blocked-later rollback',
    over: { silence: SILENCED, facts: { paused: true } },
    reason: 'silenced',
    blockers: ['silenced', 'paused'],
  },
  { name: 'no silence matches', over: { silence: { state: 'none' } }, reason: 'rollback' },
  { name: 'silences not checked (disabled or no Alertmanager)', over: {}, reason: 'rollback' },
  {
    name: 'silences could not be checked (on_error: skip, the default)',
    over: { silence: AM_DOWN },
    reason: 'silence_check_failed',
    message:
      'Alertmanager silences could not be checked (http://am-0:9093/: connect ECONNREFUSED); not acting on Deployment shop/checkout, ' +
      'as actions.silences.on_error is skip (set it to act to roll back without the check)',
  },
  {
    name: 'silences could not be checked, on_error: act',
    over: { silence: AM_DOWN, policy: { silences: { on_error: 'act' } } },
    reason: 'rollback',
  },
  {
    name: 'on_error: act does not override a silence',
    over: { silence: SILENCED, policy: { silences: { on_error: 'act' } } },
    reason: 'silenced',
  },
  {
    name: 'rollguard rolled it back and nobody deployed since',
    over: { facts: rolledBack() },
    reason: 'already_rolled_back',
    message:
      'Deployment shop/checkout was rolled back by rollguard at 2026-03-30T09:20:00Z (revision 5 → 4, alert HighErrorRate); waiting for a new deploy before acting again',
    blockers: ROLLED_BACK,
  },
  {
    name: 'the controller has not renumbered yet',
    over: { facts: rolledBack({}, { currentRevision: 5, previousRevision: 4 }) },
    reason: 'already_rolled_back',
    blockers: ROLLED_BACK,
  },
  {
    name: 'scaled after the rollback (generation moved, revision did not)',
    over: { facts: rolledBack({}, { generation: 12, observedGeneration: 12 }) },
    reason: 'already_rolled_back',
    blockers: ROLLED_BACK,
  },
  { name: 'someone else deployed a new revision', over: { facts: redeployed() }, reason: 'rollback' },
  {
    name: 'unreadable record',
    over: { facts: { annotations: { [ROLLBACK_ANNOTATION]: '{"at":' } } },
    reason: 'already_rolled_back',
    message: /has an unreadable rollguard\.io\/last-rollback annotation; not acting until it is fixed or removed$/,
  },
  {
    name: 'paused',
    over: { facts: { paused: true } },
    reason: 'paused',
    message: /is paused and kubectl refuses to roll back a paused workload; resume it first$/,
  },
  {
    name: 'rollout in progress',
    over: { facts: { observedGeneration: 6 } },
    reason: 'rollout_in_progress',
    message: /in progress \(observed generation 6 < generation 7\); wait for it$/,
  },
  {
    name: 'no previous revision',
    over: { facts: { previousRevision: undefined } },
    reason: 'no_history',
    message: 'Deployment shop/checkout has no previous revision to roll back to (current revision 5)',
  },
  { name: 'deployed just under 1h ago', over: { facts: { currentRevisionSince: T0 - HOUR + 1 } }, reason: 'rollback' },
  {
    name: 'deployed exactly 1h ago',
    over: { facts: { currentRevisionSince: T0 - HOUR } },
    reason: 'outside_post_deploy_window',
    message:
      'revision 5 of Deployment shop/checkout rolled out at 2026-03-30T09:00:00Z (1h ago), outside the 1h post-deploy window; alerting only',
  },
  {
    name: 'a longer post-deploy window',
    over: { policy: { post_deploy_window: '2h' }, facts: { currentRevisionSince: T0 - HOUR } },
    reason: 'rollback',
  },
  {
    name: 'deploy time unknown',
    over: { facts: { currentRevisionSince: undefined } },
    reason: 'outside_post_deploy_window',
    message: /rollout time of revision 5 of Deployment shop\/checkout is unknown/,
  },
  {
    name: 'deploy time slightly in the future (clock skew)',
    over: { facts: { currentRevisionSince: T0 + 2000 } },
    reason: 'rollback',
  },
  {
    name: 'active deny window',
    over: {
      policy: { windows: [{ cron: '* * * 3 MON', action: 'deny', time_zone: 'Europe/Berlin', name: 'march mondays' }] },
    },
    reason: 'deny_window',
    message: 'deny window "march mondays" ("* * * 3 MON" Europe/Berlin) is active; no automatic rollbacks now',
  },
  {
    name: 'inactive deny window',
    over: { policy: { windows: [{ cron: '* * * * SUN', action: 'deny' }] } },
    reason: 'rollback',
  },
  {
    name: 'inside an allow window',
    over: { policy: { windows: [{ cron: '* 9-17 * * 1-5', action: 'allow', time_zone: 'Europe/Berlin' }] } },
    reason: 'rollback',
  },
  {
    name: 'outside every allow window',
    over: {
      policy: {
        windows: [
          { cron: '* 9-11 * * 1-5', action: 'allow', time_zone: 'Europe/Berlin' },
          { cron: '* 13-17 * * 1-5', action: 'allow', time_zone: 'Europe/Berlin', name: 'afternoon' },
        ],
      },
    },
    reason: 'outside_allow_window',
    message:
      'outside every allow window ("* 9-11 * * 1-5" Europe/Berlin, "afternoon" ("* 13-17 * * 1-5" Europe/Berlin)); no automatic rollbacks now',
  },
  {
    name: 'the same allow window in UTC is active',
    over: { policy: { windows: [{ cron: '* 10 * * 1-5', action: 'allow' }] } },
    reason: 'rollback',
  },
  {
    name: 'three rollbacks in 24h',
    over: { facts: redeployed({ at: T0 - HOUR, history: [T0 - 23 * HOUR, T0 - 5 * HOUR, T0 - HOUR] }) },
    reason: 'max_per_workload',
    message: /was already rolled back 3 times in the last 1d \(limit 3\); something keeps re-deploying a bad revision/,
  },
  {
    name: 'the oldest of three is exactly 24h old',
    over: { facts: redeployed({ at: T0 - HOUR, history: [T0 - 24 * HOUR, T0 - 5 * HOUR, T0 - HOUR] }) },
    reason: 'rollback',
  },
  {
    name: 'cooldown not over',
    over: { facts: redeployed({ at: T0 - 30 * MIN + 1 }) },
    reason: 'cooldown',
    message:
      'Deployment shop/checkout was rolled back by rollguard at 2026-03-30T09:30:00.001Z (29m59s ago); the 30m cooldown ends at 2026-03-30T10:00:00.001Z',
  },
  { name: 'cooldown over exactly now', over: { facts: redeployed({ at: T0 - 30 * MIN }) }, reason: 'rollback' },
  {
    name: 'four rollbacks in the last hour: below the brake',
    over: { recentRollbacks: [T0 - 50 * MIN, T0 - 40 * MIN, T0 - 30 * MIN, T0 - MIN] },
    reason: 'rollback',
  },
  {
    name: 'five rollbacks in the last hour: the brake trips',
    over: { recentRollbacks: [T0 - 2 * HOUR, T0 - MIN, T0 - 50 * MIN, T0 - 40 * MIN, T0 - 30 * MIN, T0 - 20 * MIN] },
    reason: 'global_brake',
    message:
      'global brake: 5 automatic rollbacks across all workloads in the last 1h (limit 5); rollback storm stopped, next possible at 2026-03-30T10:10:00Z',
  },
  {
    name: 'six rollbacks: released when two have aged out',
    over: { recentRollbacks: [T0 - 55 * MIN, T0 - 50 * MIN, T0 - 40 * MIN, T0 - 30 * MIN, T0 - 20 * MIN, T0 - MIN] },
    reason: 'global_brake',
    message: /6 automatic rollbacks .* next possible at 2026-03-30T10:10:00Z$/,
  },
  {
    name: 'five, the oldest exactly 1h ago',
    over: { recentRollbacks: [T0 - HOUR, T0 - 50 * MIN, T0 - 40 * MIN, T0 - 30 * MIN, T0 - 20 * MIN] },
    reason: 'rollback',
  },
  {
    name: 'a brake of 1',
    over: { policy: { global_brake: { count: 1 } }, recentRollbacks: [T0 - MIN] },
    reason: 'global_brake',
  },

  // The fault's onset against the moment the current revision became current (10 min ago), tolerance 30s.
  { name: 'onset after the rollout', over: { alert: onset(T0 - 5 * MIN) }, reason: 'rollback' },
  { name: 'onset exactly at the tolerance', over: { alert: onset(T0 - 10 * MIN - 30_000) }, reason: 'rollback' },
  {
    name: 'onset before the rollout, beyond the tolerance',
    over: { alert: onset(T0 - 10 * MIN - 30_001) },
    reason: 'fault_predates_rollout',
    message:
      "the trigger's condition holds since 2026-03-30T09:49:29.999Z, before revision 5 of Deployment shop/checkout became current at 2026-03-30T09:50:00Z (tolerance 30s): the rollout did not cause it, so rolling back would not fix it; alerting only",
  },
  {
    name: 'a wider tolerance',
    over: { alert: onset(T0 - 11 * MIN), policy: { fault_onset_tolerance: '2m' } },
    reason: 'rollback',
  },
  { name: 'onset unknown (no alert)', over: {}, reason: 'rollback' },
  {
    name: 'rollout time unknown: the post-deploy window speaks',
    over: { alert: onset(T0 - DAY), facts: { currentRevisionSince: undefined } },
    reason: 'outside_post_deploy_window',
  },

  // Somebody else's rollback.
  {
    name: 'a human undo (kubectl)',
    over: {
      facts: {
        currentIsUndo: { evidence: 'ReplicaSet checkout-5d9f (revision 5) was revision 3 before', manager: 'kubectl' },
      },
    },
    reason: 'current_is_rollback',
    message:
      'revision 5 of Deployment shop/checkout re-applied an older template by kubectl (ReplicaSet checkout-5d9f (revision 5) was revision 3 before): somebody rolled back and rollguard never undoes a rollback it did not make; waiting for a new deploy',
  },
  {
    name: 'an undo by an unknown hand',
    over: { facts: { currentIsUndo: { evidence: 'ReplicaSet a is older than b' } } },
    reason: 'current_is_rollback',
    message: /re-applied an older template \(ReplicaSet a is older/,
  },
  {
    name: "rollguard's own rollback is already_rolled_back, not somebody's",
    over: { facts: rolledBack({}, { currentIsUndo: { evidence: 'x', manager: 'rollguard' } }) },
    reason: 'already_rolled_back',
    blockers: ['already_rolled_back', 'outside_post_deploy_window'],
  },
  {
    name: "a human's undo after rollguard's rollback and a new deploy",
    over: { facts: { ...redeployed(), currentIsUndo: { evidence: 'x', manager: 'argocd-controller' } } },
    reason: 'current_is_rollback',
    message: /by argocd-controller/,
  },

  // Correlated failures: three workloads in the window hold all of them.
  { name: 'two workloads failing together', over: { correlated: together(2) }, reason: 'rollback' },
  {
    name: 'three workloads failing together',
    over: { correlated: together(3) },
    reason: 'correlated_failure',
    message:
      '3 workloads (Deployment shop/w0, Deployment shop/w1, Deployment shop/w2) have rollback triggers that went firing within 5m of each other (scope cluster, limit 3): a shared cause is likelier than that many bad deploys; holding every rollback for a human',
  },
  {
    name: 'a threshold of 5',
    over: { correlated: together(4), policy: { correlation: { threshold: 5 } } },
    reason: 'rollback',
  },
]

t.test('each reason, with its boundaries', async t => {
  for (const c of cases) {
    const d = decide(input(c.over))
    t.equal(d.reason, c.reason, c.name)
    t.equal(d.act, c.reason === 'rollback', `${c.name}: act`)
    if (c.message !== undefined) t.match(d.message, c.message, `${c.name}: message`)
    t.same(d.blockers, c.blockers ?? (c.reason === 'rollback' ? [] : [c.reason]), `${c.name}: blockers`)
  }
})

t.test('dry-run evaluates everything and reports the blocking reason', async t => {
  for (const c of cases) {
    const d = decide(input({ ...c.over, policy: { ...c.over.policy, mode: 'dry-run' } }))
    t.equal(d.reason, c.reason === 'rollback' ? 'dry_run' : c.reason, c.name)
    t.equal(d.act, false)
    t.equal(d.dryRun, true)
  }
})

t.test('the check order: the first blocker wins, and every blocker is listed', async t => {
  const annotation = (at: number, history: number[]) => ({
    [ROLLBACK_ANNOTATION]: encodeRollbackRecord(record({ at, history })),
  })
  const withFacts = (o: Over, f: Partial<WorkloadFacts>): Over => ({ ...o, facts: { ...o.facts, ...f } })
  const withPolicy = (o: Over, p: Record<string, unknown>): Over => ({ ...o, policy: { ...o.policy, ...p } })
  // Everything fails at first; each step fixes the check that just won.
  let over: Over = {
    isLeader: false,
    silence: SILENCED,
    policy: {
      allow: [],
      freeze: true,
      windows: [
        { cron: '* * * * *', action: 'deny' },
        { cron: '* * * * SUN', action: 'allow' },
      ],
    },
    recentRollbacks: [T0 - 1, T0 - 2, T0 - 3, T0 - 4, T0 - 5],
    facts: {
      annotations: { [FREEZE_ANNOTATION]: 'true', ...annotation(T0 - 10 * MIN, [T0 - 3 * HOUR, T0 - 2 * HOUR]) },
      paused: true,
      generation: 8,
      observedGeneration: 7,
      currentRevision: 6,
      previousRevision: undefined,
      currentRevisionSince: T0 - 30 * 24 * HOUR,
      currentIsUndo: { evidence: 'ReplicaSet checkout-1 (revision 6) was revision 1 before', manager: 'kubectl' },
      gitops: {
        state: 'managed',
        owner: { kind: 'Application', namespace: 'argocd', name: 'shop', via: 'label' },
        reverts: true,
        detail: 'selfHeal',
        suspendedByRollguard: false,
      },
    },
    alert: { fingerprint: 'fp', labels: {}, startsAt: T0, onset: T0 - 31 * 24 * HOUR },
    correlated: {
      workloads: ['a', 'b', 'checkout'].map(name => ({ kind: 'Deployment' as const, namespace: 'shop', name })),
      scope: 'cluster',
    },
  }
  const order: Array<[ReasonCode, (o: Over) => Over]> = [
    ['not_leader', o => ({ ...o, isLeader: true })],
    ['not_allowed', o => withPolicy(o, { allow: [{ namespace: 'shop' }] })],
    ['frozen_config', o => withPolicy(o, { freeze: false })],
    [
      'frozen_annotation',
      o => withFacts(o, { annotations: annotation(T0 - 10 * MIN, [T0 - 3 * HOUR, T0 - 2 * HOUR]) }),
    ],
    ['gitops_managed', o => withFacts(o, { gitops: undefined })],
    ['silenced', o => ({ ...o, silence: AM_DOWN })],
    ['silence_check_failed', o => ({ ...o, silence: { state: 'none' } })],
    ['already_rolled_back', o => withFacts(o, { generation: 10, currentRevision: 7 })],
    ['current_is_rollback', o => withFacts(o, { currentIsUndo: undefined })],
    ['paused', o => withFacts(o, { paused: false })],
    ['rollout_in_progress', o => withFacts(o, { observedGeneration: 10 })],
    ['no_history', o => withFacts(o, { previousRevision: 6 })],
    ['fault_predates_rollout', o => ({ ...o, alert: { fingerprint: 'fp', labels: {}, startsAt: T0, onset: T0 } })],
    ['outside_post_deploy_window', o => withFacts(o, { currentRevisionSince: T0 - MIN })],
    ['deny_window', o => withPolicy(o, { windows: [{ cron: '* * * * SUN', action: 'allow' }] })],
    ['outside_allow_window', o => withPolicy(o, { windows: [] })],
    ['max_per_workload', o => withFacts(o, { annotations: annotation(T0 - 10 * MIN, []) })],
    ['cooldown', o => withFacts(o, { annotations: annotation(T0 - HOUR, []) })],
    [
      'correlated_failure',
      o => ({
        ...o,
        correlated: { workloads: [{ kind: 'Deployment', namespace: 'shop', name: 'checkout' }], scope: 'cluster' },
      }),
    ],
    ['global_brake', o => ({ ...o, recentRollbacks: [] })],
  ]
  const reasons = order.map(([reason]) => reason)
  for (const [i, [reason, fix]] of order.entries()) {
    const d = decide(input(over))
    t.equal(d.reason, reason, `step ${i}: ${reason} wins`)
    // One silence answer is either a silence or a failed check, never both; and rollguard's own rollback
    // (already_rolled_back) is not also reported as somebody's rollback (current_is_rollback).
    const rest = reasons.slice(i)
    const expected = rest.filter(
      r =>
        !(r === 'silence_check_failed' && over.silence === SILENCED) &&
        !(r === 'current_is_rollback' && rest.includes('already_rolled_back')),
    )
    t.same(d.blockers, expected, `step ${i}: blockers`)
    over = fix(over)
  }
  t.equal(decide(input(over)).reason, 'rollback', 'nothing blocks once every check passes')
  t.same(
    REASON_CODES.filter(r => !['rollback', 'dry_run', 'resolved'].includes(r)),
    reasons,
    'REASON_CODES lists the checks in order',
  )
})

t.test('silenceBlocker: a silence always vetoes, an unanswered check only with on_error: skip', async t => {
  const skip = { on_error: 'skip' as const, recheck_interval: MIN }
  const act = { on_error: 'act' as const, recheck_interval: MIN }
  t.equal(silenceBlocker(SILENCED, skip), 'silenced')
  t.equal(silenceBlocker(SILENCED, act), 'silenced')
  t.equal(silenceBlocker(AM_DOWN, skip), 'silence_check_failed')
  t.equal(silenceBlocker(AM_DOWN, act), undefined)
  t.equal(silenceBlocker({ state: 'none' }, skip), undefined)
  t.equal(silenceBlocker(undefined, skip), undefined)
})

t.test('a blocked decision still names the target it would patch', async t => {
  t.same(decide(input({ policy: { freeze: true } })).target, { fromRevision: 5, toRevision: 4 })
  t.equal(decide(input({ facts: { previousRevision: undefined } })).target, undefined)
})

t.test('redeployedSince needs both a newer generation and a revision past the restored one', async t => {
  const r = record({ fromRevision: 5, generation: 8 })
  const cases: Array<[generation: number, revision: number, want: boolean]> = [
    [8, 5, false], // the patch is not yet processed
    [8, 6, false], // the restored template renumbered to 6
    [9, 6, false], // scaled, or the controller bumped the generation
    [8, 7, false], // cannot happen without a spec change; stay safe
    [9, 7, true], // a new deploy
    [7, 9, false], // recreated object with a stale annotation
  ]
  for (const [generation, currentRevision, want] of cases) {
    t.equal(
      redeployedSince(facts({ generation, currentRevision }), r),
      want,
      `generation ${generation}, revision ${currentRevision}`,
    )
  }
})

t.test('nextRollbackRecord: the generation the patch produces and the history still in the window', async t => {
  const target = { fromRevision: 5, toRevision: 4 }
  t.same(nextRollbackRecord(input(), target, 'HighErrorRate'), {
    at: T0,
    fromRevision: 5,
    toRevision: 4,
    generation: 8,
    alert: 'HighErrorRate',
    history: [T0],
  })
  const before = input({
    facts: redeployed({ at: T0 - HOUR, history: [T0 - 25 * HOUR, T0 - 24 * HOUR, T0 - 2 * HOUR, T0 - HOUR] }),
  })
  const next = nextRollbackRecord(before, { fromRevision: 7, toRevision: 6 }, 'SlowCheckout')
  t.same(next, {
    at: T0,
    fromRevision: 7,
    toRevision: 6,
    generation: 11,
    alert: 'SlowCheckout',
    history: [T0 - 2 * HOUR, T0 - HOUR, T0],
  })
  const long = input({
    facts: redeployed({ at: T0 - MIN, history: Array.from({ length: 50 }, (_, i) => T0 - (i + 1) * MIN) }),
  })
  const capped = nextRollbackRecord(long, target, 'x').history
  t.equal(capped.length, 50)
  t.equal(capped.at(-1), T0)
  t.equal(capped[0], T0 - 49 * MIN)
})

t.test('the annotation codec round-trips and turns garbage into undefined', async t => {
  const r = record({ at: T0, history: [T0 - HOUR, T0] })
  const text = encodeRollbackRecord(r)
  t.equal(
    text,
    '{"at":"2026-03-30T10:00:00.000Z","from":5,"to":4,"generation":8,"alert":"HighErrorRate","history":["2026-03-30T09:00:00.000Z","2026-03-30T10:00:00.000Z"]}',
  )
  t.same(decodeRollbackRecord(text), r)
  t.same(
    decodeRollbackRecord('{"at":"2026-03-30T10:00:00Z","from":5,"to":4,"generation":8,"alert":"a"}')?.history,
    [T0],
    'history defaults to [at]',
  )
  t.same(
    decodeRollbackRecord(
      '{"at":"2026-03-30T10:00:00Z","from":5,"to":4,"generation":8,"alert":"a","history":["2026-03-30T10:00:00Z","2026-03-30T08:00:00Z"],"extra":1}',
    )?.history,
    [T0 - 2 * HOUR, T0],
    'sorted, deduplicated, unknown keys ignored',
  )
  const garbage = [
    '',
    'not json',
    'null',
    '[]',
    '{}',
    '"x"',
    '{"at":"yesterday","from":5,"to":4,"generation":8,"alert":"a"}',
    '{"at":1774864800000,"from":5,"to":4,"generation":8,"alert":"a"}',
    '{"at":"2026-03-30T10:00:00Z","from":-1,"to":4,"generation":8,"alert":"a"}',
    '{"at":"2026-03-30T10:00:00Z","from":5.5,"to":4,"generation":8,"alert":"a"}',
    '{"at":"2026-03-30T10:00:00Z","from":5,"to":4,"alert":"a"}',
    '{"at":"2026-03-30T10:00:00Z","from":5,"to":4,"generation":8,"alert":7}',
    '{"at":"2026-03-30T10:00:00Z","from":5,"to":4,"generation":8,"alert":"a","history":"x"}',
    '{"at":"2026-03-30T10:00:00Z","from":5,"to":4,"generation":8,"alert":"a","history":["nope"]}',
  ]
  for (const g of garbage) t.equal(decodeRollbackRecord(g), undefined, g)
  t.equal(decodeRollbackRecord(undefined), undefined)
})

t.test('GitOps owners: refuse blocks what would be reverted, suspend plans the suspension, ignore says so', async t => {
  const owner = {
    kind: 'Application' as const,
    namespace: 'argocd',
    name: 'shop',
    via: 'annotation argocd.argoproj.io/tracking-id: shop:apps/Deployment:shop/checkout',
  }
  const reverting: WorkloadFacts['gitops'] = {
    state: 'managed',
    owner,
    reverts: true,
    detail: 'automated sync with selfHeal',
    suspendedByRollguard: false,
  }
  const execute = (gitops: WorkloadFacts['gitops'], policy: Record<string, unknown> = {}) =>
    decide(input({ policy: { mode: 'execute', allow: [{ namespace: 'shop' }], ...policy }, facts: { gitops } }))
  const refused = execute(reverting)
  t.match(refused, {
    act: false,
    reason: 'gitops_managed',
    message:
      /applied by Argo CD Application argocd\/shop .*a rollback would be reverted; revert the bad commit in Git, or suspend Application argocd\/shop/,
  })
  const suspend = execute(reverting, { gitops: { mode: 'suspend' } })
  t.match(suspend, {
    act: true,
    reason: 'rollback',
    suspend: owner,
    message: /after suspending Argo CD Application argocd\/shop .*the fix must go to Git/,
  })
  const perEntry = execute(reverting, {
    allow: [
      { namespace: 'other', gitops_mode: 'refuse' },
      { namespace: 'shop', gitops_mode: 'ignore' },
    ],
  })
  t.match(
    perEntry,
    {
      act: true,
      suspend: undefined,
      message: /although Argo CD Application argocd\/shop would revert it .*actions.gitops.mode ignore/,
    },
    'the first matching allow entry decides',
  )
  t.match(execute({ ...reverting, reverts: false, detail: 'automated sync without selfHeal' }), {
    act: true,
    message: /applied by Argo CD Application argocd\/shop; automated sync without selfHeal/,
  })
  t.match(execute({ ...reverting, suspendedByRollguard: true }), {
    act: true,
    message: /already suspended by rollguard/,
  })
  t.match(execute({ state: 'unreadable', owner, error: 'forbidden' }), {
    act: false,
    reason: 'gitops_managed',
    message: /could not be read \(forbidden\); assuming its controller would revert/,
  })
  t.match(
    execute({ state: 'unreadable', owner, error: 'forbidden' }, { gitops: { mode: 'ignore' } }),
    { act: true, message: /Argo CD Application argocd\/shop could not be read: actions.gitops.mode ignore/ },
    'ignore acts on an unreadable owner',
  )
  t.match(
    execute({ state: 'unmanaged' }),
    { act: true, message: /from revision \d+ to \d+$/ },
    'no owner, nothing said',
  )
  t.match(execute({ state: 'unmanaged', note: 'kustomize.toolkit.fluxcd.io/reconcile: disabled' }), {
    act: true,
    message: /reconcile: disabled/,
  })
  const dry = decide(
    input({
      policy: { mode: 'dry-run', allow: [{ namespace: 'shop', gitops_mode: 'suspend' }] },
      facts: { gitops: reverting },
    }),
  )
  t.match(dry, { reason: 'dry_run', suspend: owner, message: /dry-run: would roll back .* after suspending/ })
})
