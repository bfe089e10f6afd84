/**
 * The safety policy every automatic rollback goes through: a pure function of (time, policy, workload facts,
 * recent rollbacks, leadership, what Alertmanager said about silences), checked in the order of CHECKS below. Every window is half-open,
 * [start, start + length): a cooldown that started at t is over at exactly t + cooldown, a revision deployed
 * at t is outside a 1h window at exactly t + 1h, and a rollback counts towards a rate limit while now - at < window.
 */

import type { Labels } from '../engine/types.js'
import { formatDuration } from '../rules/duration.js'
import { cronMatches } from './cron.js'
import { describeOwner, effectiveMode, type GitOpsFacts, type GitOpsMode, type GitOpsOwner } from './gitops.js'
import type { ActionsPolicy } from './policy-config.js'
import { namespaceMatches, parseSelector, selectorMatches } from './selector.js'
import {
  decodeRollbackRecord,
  HISTORY_CAP,
  recordNames,
  ROLLBACK_ANNOTATION,
  triggerKey,
  TRIGGERS_CAP,
  type RollbackRecord,
  type TriggerIdentity,
} from './record.js'
import { describeWorkload, type WorkloadRef } from './workload-ref.js'

export type { WorkloadRef } from './workload-ref.js'
export { decodeRollbackRecord, encodeRollbackRecord, ROLLBACK_ANNOTATION, type RollbackRecord } from './record.js'

/** UndoEvidence says why the current revision is a re-applied older template, and who applied it when known. */
export interface UndoEvidence {
  /** What in the API objects shows it, e.g. `ReplicaSet checkout-5d9f… has revision-history "1"`. */
  readonly evidence: string
  /** The field manager that last wrote the workload's pod template (kubectl, argocd-controller, …), when known. */
  readonly manager?: string | undefined
}

/** WorkloadFacts is what the caller read from the cluster; rollguard's record is read from `annotations`. */
export interface WorkloadFacts {
  readonly ref: WorkloadRef
  readonly labels: Labels
  readonly annotations: Labels
  readonly paused: boolean
  readonly generation: number
  readonly observedGeneration: number
  readonly currentRevision: number
  /** The revision `rollout undo` would restore (kubectl: the second-highest); undefined when there is none. */
  readonly previousRevision?: number | undefined
  /**
   * Unix ms the current revision became current: the creation of its ReplicaSet/ControllerRevision for a fresh
   * template, the last write of the pod template for a re-used one (undefined = unknown).
   */
  readonly currentRevisionSince?: number | undefined
  /** Set when the current revision re-applied an older template (an undo, a revert): by whom, and the evidence. */
  readonly currentIsUndo?: UndoEvidence | undefined
  /** The workload's GitOps owner, when it has one (undefined: not looked at). */
  readonly gitops?: GitOpsFacts | undefined
}

/** CorrelatedTriggers are the workloads in the trigger's scope whose triggers went firing close to it (itself included). */
export interface CorrelatedTriggers {
  readonly workloads: readonly WorkloadRef[]
  /** `cluster`, or the namespace the count was taken in. */
  readonly scope: string
}

/**
 * SilenceState is what the configured Alertmanagers said about the trigger alert: no active silence matches it,
 * one does (the first found; `endsAt` in Unix ms, `alertmanager` the redacted URL that answered), or none could
 * be asked (`error` says why).
 */
export type SilenceState =
  | { readonly state: 'none' }
  | {
      readonly state: 'silenced'
      readonly id: string
      readonly createdBy: string
      readonly comment: string
      readonly endsAt: number
      readonly matchers: readonly string[]
      readonly alertmanager: string
    }
  | { readonly state: 'unknown'; readonly error: string }

/**
 * PolicyInput is everything decide needs; `recentRollbacks` are Unix ms of rollbacks across all workloads;
 * `silence` is undefined when silences are not checked (actions.silences.enabled false, or no Alertmanager).
 */
export interface PolicyInput {
  readonly now: number
  readonly policy: ActionsPolicy
  readonly facts: WorkloadFacts
  readonly recentRollbacks: readonly number[]
  readonly isLeader: boolean
  readonly silence?: SilenceState | undefined
  /** The alert asking for the rollback; a firing the record names as an earlier trigger never acts again. */
  readonly alert?: (TriggerIdentity & { readonly onset?: number | undefined }) | undefined
  /** Triggers of other workloads that went firing close to this one (actions.correlation); undefined: not counted. */
  readonly correlated?: CorrelatedTriggers | undefined
}

/** REASON_CODES lists every ReasonCode (for metric labels); `resolved` is reserved for the caller, decide never returns it. */
export const REASON_CODES = [
  'rollback',
  'dry_run',
  'not_leader',
  'not_allowed',
  'frozen_config',
  'frozen_annotation',
  'gitops_managed',
  'silenced',
  'silence_check_failed',
  'already_rolled_back',
  'current_is_rollback',
  'paused',
  'rollout_in_progress',
  'no_history',
  'fault_predates_rollout',
  'outside_post_deploy_window',
  'deny_window',
  'outside_allow_window',
  'max_per_workload',
  'cooldown',
  'correlated_failure',
  'global_brake',
  'resolved',
] as const

/** ReasonCode explains a decision: `rollback` (act), `dry_run` (would act), or what blocks. */
export type ReasonCode = (typeof REASON_CODES)[number]

/** RollbackTarget is what a rollback patches: from the current revision to the one `rollout undo` restores. */
export interface RollbackTarget {
  readonly fromRevision: number
  readonly toRevision: number
}

/** Decision is decide's verdict: act only when `act`; `blockers` lists every failed check in CHECKS order. */
export interface Decision {
  readonly act: boolean
  readonly dryRun: boolean
  readonly reason: ReasonCode
  readonly message: string
  readonly target?: RollbackTarget | undefined
  readonly blockers: readonly ReasonCode[]
  /** The GitOps owner to suspend before the rollback (actions.gitops.mode suspend). */
  readonly suspend?: GitOpsOwner | undefined
}

/** FREEZE_ANNOTATION disables automatic action on one workload. */
export const FREEZE_ANNOTATION = 'rollguard.io/freeze'

interface Context extends PolicyInput {
  readonly who: string
  readonly rawRecord: string | undefined
  readonly record: RollbackRecord | undefined
}

type Check = (c: Context) => string | undefined

// Durable reasons first, so the reason shown is the one still blocking after the transient ones clear:
// who may act at all, human vetoes (config, annotation, Alertmanager silence), rollguard's own earlier rollback, workload state (rollout_in_progress
// before the revision checks, whose facts are stale mid-rollout), the deploy's age, schedules, rate limits;
// the global brake last, so it is reported exactly when it is what stops a rollback.
const CHECKS: ReadonlyArray<readonly [ReasonCode, Check]> = [
  ['not_leader', c => (c.isLeader ? undefined : `this instance is not the leader; the leader decides for ${c.who}`)],
  ['not_allowed', notAllowed],
  [
    'frozen_config',
    c => (c.policy.freeze ? 'automatic rollbacks are frozen by configuration (actions.freeze: true)' : undefined),
  ],
  ['frozen_annotation', frozenAnnotation],
  ['gitops_managed', gitopsManaged],
  ['silenced', silenced],
  ['silence_check_failed', silenceCheckFailed],
  ['already_rolled_back', alreadyRolledBack],
  ['current_is_rollback', currentIsRollback],
  [
    'paused',
    c =>
      c.facts.paused
        ? `${c.who} is paused and kubectl refuses to roll back a paused workload; resume it first`
        : undefined,
  ],
  ['rollout_in_progress', rolloutInProgress],
  [
    'no_history',
    c =>
      c.facts.previousRevision === undefined
        ? `${c.who} has no previous revision to roll back to (current revision ${c.facts.currentRevision})`
        : undefined,
  ],
  ['fault_predates_rollout', faultPredatesRollout],
  ['outside_post_deploy_window', outsidePostDeployWindow],
  ['deny_window', denyWindow],
  ['outside_allow_window', outsideAllowWindow],
  ['max_per_workload', maxPerWorkload],
  ['cooldown', cooldown],
  ['correlated_failure', correlatedFailure],
  ['global_brake', globalBrake],
]

/** decide evaluates every check and returns the first blocking reason, or the rollback (dry-run: would-be rollback). */
export function decide(input: PolicyInput): Decision {
  const c = context(input)
  const failed = CHECKS.flatMap(([reason, check]) => {
    const message = check(c)
    return message === undefined ? [] : [{ reason, message }]
  })
  const dryRun = input.policy.mode === 'dry-run'
  const { currentRevision, previousRevision } = input.facts
  const target =
    previousRevision === undefined ? undefined : { fromRevision: currentRevision, toRevision: previousRevision }
  const first = failed[0]
  if (first !== undefined)
    return {
      act: false,
      dryRun,
      reason: first.reason,
      message: first.message,
      target,
      blockers: failed.map(f => f.reason),
    }
  const gitops = gitopsPlan(c)
  const what = `${c.who} from revision ${currentRevision} to ${previousRevision}${gitops.note}`
  const suspend = gitops.suspend
  if (dryRun)
    return {
      act: false,
      dryRun,
      reason: 'dry_run',
      message: `dry-run: would roll back ${what} (set actions.mode: execute to act)`,
      target,
      blockers: [],
      suspend,
    }
  return { act: true, dryRun, reason: 'rollback', message: `rolling back ${what}`, target, blockers: [], suspend }
}

/**
 * redeployedSince reports whether someone else deployed a new revision after rollguard's rollback. Undo makes the
 * restored template current again under a new number, fromRevision + 1 (the current revision is always the highest),
 * so only a higher revision is a new deploy; the generation must also have moved, as scaling moves only the generation.
 */
export function redeployedSince(facts: WorkloadFacts, record: RollbackRecord): boolean {
  return facts.generation > record.generation && facts.currentRevision > record.fromRevision + 1
}

/** Attempt identifies the attempt writing a record: its id and the replica that sends it. */
export interface AttemptIdentity {
  readonly attempt: string
  readonly by: string
}

/** nextRollbackRecord builds the record to write with a rollback, carrying the history still inside the per-workload window. */
export function nextRollbackRecord(
  input: PolicyInput,
  target: RollbackTarget,
  alert: string,
  who?: AttemptIdentity,
): RollbackRecord {
  const { now, policy, facts } = input
  const record = decodeRollbackRecord(annotation(facts.annotations, ROLLBACK_ANNOTATION))
  const history = [...within(record?.history ?? [], now, policy.max_rollbacks_per_workload.window), now].slice(
    -HISTORY_CAP,
  )
  const earlier = record?.triggers ?? []
  const triggers = (input.alert === undefined ? earlier : [...earlier, triggerKey(input.alert)]).slice(-TRIGGERS_CAP)
  return {
    at: now,
    ...target,
    generation: facts.generation + 1,
    alert,
    history,
    ...(triggers.length === 0 ? {} : { triggers }),
    ...who,
  }
}

function context(input: PolicyInput): Context {
  const { ref, annotations } = input.facts
  const rawRecord = annotation(annotations, ROLLBACK_ANNOTATION)
  return { ...input, who: describeWorkload(ref), rawRecord, record: decodeRollbackRecord(rawRecord) }
}

function allowEntryMatches(e: ActionsPolicy['allow'][number], c: Context): boolean {
  return (
    (e.namespace === undefined || namespaceMatches(e.namespace, c.facts.ref.namespace)) &&
    (e.selector === undefined || selectorMatches(parseSelector(e.selector), c.facts.labels))
  )
}

function notAllowed(c: Context): string | undefined {
  if (c.policy.allow.length === 0)
    return `actions.allow is empty, so no workload may be rolled back (${c.who} included)`
  const allowed = c.policy.allow.some(e => allowEntryMatches(e, c))
  return allowed
    ? undefined
    : `${c.who} matches no actions.allow entry (namespace or label selector on the workload's labels)`
}

function gitopsMode(c: Context): GitOpsMode {
  const entry = c.policy.allow.find(e => allowEntryMatches(e, c))
  return effectiveMode(entry?.gitops_mode, c.policy.gitops)
}

function gitopsManaged(c: Context): string | undefined {
  const g = c.facts.gitops
  const mode = gitopsMode(c)
  if (g === undefined || g.state === 'unmanaged' || mode === 'ignore') return undefined
  if (g.state === 'unreadable') {
    return (
      `${c.who} is applied by ${describeOwner(g.owner)} (${g.owner.via}), which could not be read (${g.error}); ` +
      'assuming its controller would revert a rollback; not acting (grant read access to it, or set actions.gitops.mode)'
    )
  }
  if (!g.reverts || mode === 'suspend' || g.suspendedByRollguard) return undefined
  return (
    `${c.who} is applied by ${describeOwner(g.owner)} (${g.owner.via}; ${g.detail}): a rollback would be reverted; ` +
    `revert the bad commit in Git, or suspend ${g.owner.kind} ${g.owner.namespace}/${g.owner.name} and retry (actions.gitops.mode: suspend does that)`
  )
}

function gitopsPlan(c: Context): { note: string; suspend?: GitOpsOwner } {
  const g = c.facts.gitops
  if (g === undefined || g.state === 'unmanaged') return { note: g?.note === undefined ? '' : ` (${g.note})` }
  if (g.state === 'unreadable')
    return { note: ` (${describeOwner(g.owner)} could not be read: actions.gitops.mode ignore)` }
  if (!g.reverts) return { note: ` (applied by ${describeOwner(g.owner)}; ${g.detail})` }
  if (g.suspendedByRollguard) return { note: ` (${describeOwner(g.owner)} is already suspended by rollguard)` }
  if (gitopsMode(c) === 'suspend')
    return {
      note: ` after suspending ${describeOwner(g.owner)} (${g.detail}); the fix must go to Git`,
      suspend: g.owner,
    }
  return { note: ` although ${describeOwner(g.owner)} would revert it (${g.detail}; actions.gitops.mode ignore)` }
}

function frozenAnnotation(c: Context): string | undefined {
  const value = annotation(c.facts.annotations, FREEZE_ANNOTATION)
  // Fail safe: anything but "false" freezes, so a typo ("yes", "True ") does not silently re-enable rollbacks.
  if (value === undefined || value.trim().toLowerCase() === 'false') return undefined
  return `${c.who} is frozen by its ${FREEZE_ANNOTATION}: ${JSON.stringify(value)} annotation`
}

/**
 * silenceBlocker says whether a silence answer vetoes acting: an active matching silence always does; an
 * unanswered check does unless actions.silences.on_error is `act`. Shared by decide and the re-check of held triggers.
 */
export function silenceBlocker(
  silence: SilenceState | undefined,
  settings: ActionsPolicy['silences'],
): 'silenced' | 'silence_check_failed' | undefined {
  if (silence?.state === 'silenced') return 'silenced'
  if (silence?.state === 'unknown' && settings.on_error === 'skip') return 'silence_check_failed'
  return undefined
}

function silenced(c: Context): string | undefined {
  const s = c.silence
  if (s?.state !== 'silenced') return undefined
  return (
    `the trigger alert is silenced in Alertmanager ${s.alertmanager} by silence ${s.id} (created by ${JSON.stringify(s.createdBy)}, ` +
    `comment ${JSON.stringify(s.comment)}, matchers {${s.matchers.join(', ')}}, ends at ${time(s.endsAt)}); not acting on ${c.who} while it is active`
  )
}

function silenceCheckFailed(c: Context): string | undefined {
  const s = c.silence
  if (silenceBlocker(s, c.policy.silences) !== 'silence_check_failed') return undefined
  return (
    `Alertmanager silences could not be checked (${(s as { error: string }).error}); ` +
    `not acting on ${c.who}, as actions.silences.on_error is skip (set it to act to roll back without the check)`
  )
}

function alreadyRolledBack(c: Context): string | undefined {
  const r = c.record
  if (c.rawRecord === undefined) return undefined
  if (r === undefined)
    return `${c.who} has an unreadable ${ROLLBACK_ANNOTATION} annotation; not acting until it is fixed or removed`
  // Alertmanager repeats a firing alert for as long as it fires, across rollguard restarts: one firing, one rollback.
  if (c.alert !== undefined && recordNames(r, c.alert)) {
    return `${c.who} was rolled back by rollguard for this very alert before (firing since ${time(c.alert.startsAt)}); one firing never causes a second rollback`
  }
  if (redeployedSince(c.facts, r)) return undefined
  return (
    `${c.who} was rolled back by rollguard at ${time(r.at)} (revision ${r.fromRevision} → ${r.toRevision}, alert ${r.alert}); ` +
    'waiting for a new deploy before acting again'
  )
}

function currentIsRollback(c: Context): string | undefined {
  const undo = c.facts.currentIsUndo
  // rollguard's own rollback is already_rolled_back's to report, until something new is deployed.
  if (undo === undefined || (c.record !== undefined && !redeployedSince(c.facts, c.record))) return undefined
  const by = undo.manager === undefined ? '' : ` by ${undo.manager}`
  return (
    `revision ${c.facts.currentRevision} of ${c.who} re-applied an older template${by} (${undo.evidence}): somebody rolled back ` +
    'and rollguard never undoes a rollback it did not make; waiting for a new deploy'
  )
}

function faultPredatesRollout(c: Context): string | undefined {
  const onset = c.alert?.onset
  const since = c.facts.currentRevisionSince
  if (onset === undefined || since === undefined || onset >= since - c.policy.fault_onset_tolerance) return undefined
  return (
    `the trigger's condition holds since ${time(onset)}, before revision ${c.facts.currentRevision} of ${c.who} became current at ` +
    `${time(since)} (tolerance ${formatDuration(c.policy.fault_onset_tolerance)}): the rollout did not cause it, so rolling back would not fix it; alerting only`
  )
}

function correlatedFailure(c: Context): string | undefined {
  const k = c.correlated
  const { threshold, window } = c.policy.correlation
  if (k === undefined || k.workloads.length < threshold) return undefined
  const names = k.workloads.map(describeWorkload).join(', ')
  return (
    `${k.workloads.length} workloads (${names}) have rollback triggers that went firing within ${formatDuration(window)} of each other ` +
    `(scope ${k.scope}, limit ${threshold}): a shared cause is likelier than that many bad deploys; holding every rollback for a human`
  )
}

function rolloutInProgress(c: Context): string | undefined {
  const { generation, observedGeneration } = c.facts
  if (observedGeneration >= generation) return undefined
  return `a rollout of ${c.who} is in progress (observed generation ${observedGeneration} < generation ${generation}); wait for it`
}

function outsidePostDeployWindow(c: Context): string | undefined {
  const { currentRevision: rev, currentRevisionSince: since } = c.facts
  const window = formatDuration(c.policy.post_deploy_window)
  if (since === undefined)
    return `the rollout time of revision ${rev} of ${c.who} is unknown, so it cannot be inside the ${window} post-deploy window; alerting only`
  if (c.now - since < c.policy.post_deploy_window) return undefined
  return `revision ${rev} of ${c.who} rolled out at ${time(since)} (${ago(c.now, since)}), outside the ${window} post-deploy window; alerting only`
}

type CronWindow = ActionsPolicy['windows'][number]

function activeWindows(c: Context, action: CronWindow['action']): { all: CronWindow[]; active: CronWindow[] } {
  const all = c.policy.windows.filter(w => w.action === action)
  return { all, active: all.filter(w => cronMatches(w.cron, new Date(c.now), w.time_zone)) }
}

function denyWindow(c: Context): string | undefined {
  const [w] = activeWindows(c, 'deny').active
  return w === undefined ? undefined : `deny window ${describeWindow(w)} is active; no automatic rollbacks now`
}

function outsideAllowWindow(c: Context): string | undefined {
  const { all, active } = activeWindows(c, 'allow')
  if (all.length === 0 || active.length > 0) return undefined
  return `outside every allow window (${all.map(describeWindow).join(', ')}); no automatic rollbacks now`
}

function maxPerWorkload(c: Context): string | undefined {
  const { count, window } = c.policy.max_rollbacks_per_workload
  const recent = within(c.record?.history ?? [], c.now, window)
  if (recent.length < count) return undefined
  return (
    `${c.who} was already rolled back ${recent.length} times in the last ${formatDuration(window)} (limit ${count}); ` +
    'something keeps re-deploying a bad revision (CI, GitOps sync?) and needs a human'
  )
}

function cooldown(c: Context): string | undefined {
  const r = c.record
  const length = c.policy.cooldown
  if (r === undefined || c.now - r.at >= length) return undefined
  return `${c.who} was rolled back by rollguard at ${time(r.at)} (${ago(c.now, r.at)}); the ${formatDuration(length)} cooldown ends at ${time(r.at + length)}`
}

function globalBrake(c: Context): string | undefined {
  const { count, window } = c.policy.global_brake
  const recent = within(c.recentRollbacks, c.now, window)
  if (recent.length < count) return undefined
  // The brake releases once enough rollbacks age out to leave fewer than `count` in the window.
  const release = (recent[recent.length - count] as number) + window
  return (
    `global brake: ${recent.length} automatic rollbacks across all workloads in the last ${formatDuration(window)} (limit ${count}); ` +
    `rollback storm stopped, next possible at ${time(release)}`
  )
}

/** within lists the times inside the window that ends at now (the limits' and the brake's own test), sorted. */
export function within(times: readonly number[], now: number, window: number): number[] {
  return times.filter(t => now - t < window).sort((a, b) => a - b)
}

function annotation(labels: Labels, key: string): string | undefined {
  return Object.hasOwn(labels, key) ? labels[key] : undefined
}

function describeWindow(w: CronWindow): string {
  const spec = `"${w.cron}" ${w.time_zone}`
  return w.name === undefined ? spec : `${JSON.stringify(w.name)} (${spec})`
}

function time(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z')
}

function ago(now: number, then: number): string {
  return `${formatDuration(Math.floor((now - then) / 1000) * 1000)} ago`
}
