/**
 * One rollback job, as one readable loop: settle → read → decide → plan → gate → send → confirm → verify. The
 * effectiveness watch that follows a verified rollback belongs to the executor (it outlives the job).
 *
 * - settle: wait until the trigger has been firing for actions.correlation.settle, so triggers of one outage are
 *   counted together before any of them acts.
 * - read, decide: the workload as kubectl reads it, and the pure policy's verdict on exactly that read.
 * - plan, gate: kubectl's undo computed from the same read (so the decision is about the very object patched),
 *   then a fresh silence check, cancellation and leadership right before the PATCH.
 * - send, confirm: a PATCH whose answer is lost (timeout, reset, 5xx) may still be applied; reading the workload
 *   back tells, because the record annotation carries this attempt's identity. A transient failure is retried
 *   with backoff while the trigger fires and this replica leads; every retry reads and decides again.
 * - verify: rollout status until complete, failed or the deadline; the result is written back into the record,
 *   so a newly elected leader that finds a stored but unverified rollback verifies it instead of leaving it
 *   unreported.
 */

import type { AppsV1Api, CustomObjectsApi } from '@kubernetes/client-node'
import { abortText } from '../errors.js'
import { formatDuration } from '../rules/duration.js'
import type { ActionMetrics } from '../telemetry/action-metrics.js'
import type { ActionsConfig } from './actions-config.js'
import type { Audit, AuditEntry, AuditKind } from './audit.js'
import { retryDelay } from './backoff.js'
import { settleDelay, type TriggerLog } from './correlation.js'
import { failure, type KubeFailure } from './kube/errors.js'
import type { RegardingRef } from './kube/events.js'
import { describeOwner, suspendPatch, type RawOwner } from './gitops.js'
import { patchOwner, readGitOpsFacts } from './kube/gitops-owner.js'
import { isTransient, planUndo, sendUndo } from './kube/operations.js'
import { waitForRollout } from './kube/rollout-status.js'
import { sleepFor } from '../runtime/signals.js'
import type { UndoPlan } from './kube/undo-result.js'
import type { RollbackLedger } from './ledger.js'
import {
  decide,
  nextRollbackRecord,
  redeployedSince,
  type Decision,
  type PolicyInput,
  type RollbackTarget,
  type SilenceState,
} from './policy.js'
import type { Job } from './queue.js'
import { decodeRollbackRecord, encodeRollbackRecord, recordNamesSeries, ROLLBACK_ANNOTATION } from './record.js'
import { updateRecord } from './record-write.js'
import type { AlertInfo } from './trigger.js'
import { readWorkload, type WorkloadRead } from './workload.js'
import { describeWorkload, workloadKey, type WorkloadRef } from './workload-ref.js'

/** SilenceCheck: `fresh` forbids a cached answer; `required` makes "no Alertmanager configured" a failed check. */
export interface SilenceCheck {
  readonly fresh: boolean
  readonly required: boolean
  readonly signal?: AbortSignal | undefined
}

/** SilenceChecker asks Alertmanager whether an active silence matches an alert (silences.ts); it never throws. */
export interface SilenceChecker {
  /** check resolves to undefined when there is nothing to ask (no Alertmanager, not required). */
  check(alert: AlertInfo, opts: SilenceCheck): Promise<SilenceState | undefined>
}

/** AttemptEnv is what one job needs; `signal` aborts on lost leadership, shutdown or cancellation. */
export interface AttemptEnv {
  readonly apps: AppsV1Api
  /** Reads and suspends GitOps owners (Argo CD Applications, Flux Kustomizations and HelmReleases). */
  readonly custom?: CustomObjectsApi | undefined
  readonly audit: Audit
  readonly ledger: RollbackLedger
  readonly metrics: ActionMetrics
  readonly config: ActionsConfig
  readonly now: () => number
  readonly isLeader: () => boolean
  readonly signal: AbortSignal
  /** Serializes read → decide → patch across workloads, so the global brake counts every rollback. */
  readonly exclusive: <T>(fn: () => Promise<T>) => Promise<T>
  readonly verifyPollMs: number
  /** Alertmanager silences; undefined: not checked. */
  readonly silences?: SilenceChecker | undefined
  /** This replica's identity (the Lease holder identity), written into the record as `by`. */
  readonly identity: string
  /** Recent trigger firings, for actions.correlation. */
  readonly triggers: TriggerLog
  /** Whether the trigger still fires (undefined: unknown); a trigger that stopped firing is not retried. */
  readonly stillFiring: (alert: AlertInfo) => boolean | undefined
  /** Uniform in [0, 1), for the retry jitter. */
  readonly random: () => number
}

/** VerifiedRollback is a rollback whose rollout completed: the executor watches its trigger for effectiveness. */
export interface VerifiedRollback {
  readonly alert: AlertInfo
  readonly ref: WorkloadRef
  readonly regarding: RegardingRef
  readonly fromRevision: number
  readonly toRevision: number
  /** When it was verified (the record's `verified`): the effectiveness window counts from here. */
  readonly at: number
}

/**
 * AttemptResult: `heldBySilence` when a silence (or a failed silence check) was among the reasons not to act;
 * `verified`, a verified rollback whose effectiveness verdict is due: this job's own, or one found in the record
 * whose verdict the replica that verified it never gave (it stopped, or lost leadership, during the window).
 */
export interface AttemptResult {
  readonly heldBySilence: boolean
  readonly verified?: VerifiedRollback | undefined
}

type Entry = Omit<AuditEntry, 'alert' | 'workload' | 'mode'>

/** Stored is a rollback known to be in the API server: sent by this attempt, or found there. */
interface Stored {
  readonly generation: number
  readonly fromRevision: number
  readonly toRevision: number
  readonly regarding: RegardingRef
  /** Set when the workload's GitOps owner may revert the rollback: watched for revert_window before it counts as verified. */
  readonly revertable?: string | undefined
}

type Step =
  | { readonly kind: 'final'; readonly heldBySilence?: boolean; readonly resume?: VerifiedRollback | undefined }
  | { readonly kind: 'stored'; readonly stored: Stored }
  | { readonly kind: 'transient'; readonly entry: Entry }

/** State is one pass's read and decision. */
interface State {
  readonly read: WorkloadRead
  /** The GitOps owner object as read, when the workload has one. */
  readonly owner?: RawOwner | undefined
  input: PolicyInput
  decision: Decision
}

const FINAL: Step = { kind: 'final' }

/** runAttempt processes one job to the end; it never throws (everything is recorded in the audit trail). */
export async function runAttempt(job: Job, env: AttemptEnv): Promise<AttemptResult> {
  await sleepFor(settleDelay(job.request.alert.startsAt, env.now(), env.config.correlation), env.signal)
  for (let n = 1; ; n++) {
    const step = await env.exclusive(() => decideAndSend(job, env))
    if (step.kind === 'final') return { heldBySilence: step.heldBySilence === true, verified: step.resume }
    if (step.kind === 'stored') return { heldBySilence: false, verified: await verify(job, env, step.stored) }
    const wait = retryDelay(n + 1, env.config.retry, env.random())
    const stop = whyNotRetry(job, env)
    if (stop !== undefined) {
      record(job, env, {
        kind: 'cancelled',
        reason: stop.reason,
        message: `${step.entry.message}; not retried: ${stop.message}`,
      })
      return { heldBySilence: false }
    }
    if (wait === undefined) {
      record(job, env, {
        ...step.entry,
        message: `${step.entry.message}; gave up after ${n} attempts (actions.retry.max_attempts)`,
      })
      return { heldBySilence: false }
    }
    record(job, env, {
      ...step.entry,
      kind: 'retrying',
      message: `${step.entry.message}; attempt ${n + 1} of ${env.config.retry.max_attempts} in ${formatDuration(wait)}`,
    })
    await sleepFor(wait, env.signal)
  }
}

function whyNotRetry(job: Job, env: AttemptEnv): { reason: string; message: string } | undefined {
  if (job.cancelled || env.stillFiring(job.request.alert) === false)
    return { reason: 'resolved', message: 'the trigger alert resolved' }
  if (env.signal.aborted) return { reason: 'aborted', message: abortText(env.signal) }
  if (!env.isLeader())
    return { reason: 'not_leader', message: 'this replica is no longer the leader; the leader decides' }
  return undefined
}

function record(job: Job, env: AttemptEnv, entry: Entry): void {
  env.audit.record({ alert: job.request.alert, workload: job.request.ref, mode: env.config.mode, ...entry })
}

/** done records the entry that ends the job. */
function done(job: Job, env: AttemptEnv, entry: Entry): Step {
  record(job, env, entry)
  return FINAL
}

async function decideAndSend(job: Job, env: AttemptEnv): Promise<Step> {
  const early = precheck(job, env)
  if (early !== undefined) return done(job, env, early)
  const [workload, silence] = await Promise.all([
    readWorkload(env.apps, job.request.ref, env.signal),
    checkSilence(job, env, false),
  ])
  if (workload.kind === 'error') return readFailed(job, env, workload)
  const { read, owner } = await withGitOps(env, workload)
  const found = storedAttempt(job, env, read)
  if (found !== undefined) return found
  const st = evaluate(job, env, read, silence, owner)
  if (!approved(st.decision)) return vetoed(job, env, st)
  const planned = planUndo(job.request.ref, read.state, {
    record: { annotationKey: ROLLBACK_ANNOTATION, value: ctx => recordValue(job, env, st, ctx.generation) },
  })
  if (planned.kind === 'skipped')
    return done(job, env, { ...about(st), kind: 'skipped', reason: planned.reason, message: planned.message })
  // The policy already refuses what kubectl would (paused, no history); anything left is final, not transient.
  if (planned.kind === 'error')
    return done(job, env, { ...about(st), kind: 'skipped', reason: planned.reason, message: planned.message })
  const gate = await gateBeforePatch(job, env, st, planned.plan)
  if (gate !== undefined) return gate
  return send(job, env, st, planned.plan)
}

// The owner is read with the workload, so the policy decides on both as they are now; unreadable is the policy's call.
async function withGitOps(
  env: AttemptEnv,
  read: WorkloadRead,
): Promise<{ read: WorkloadRead; owner?: RawOwner | undefined }> {
  if (env.custom === undefined) return { read }
  const g = await readGitOpsFacts(env.custom, read.facts, env.config.gitops, env.signal)
  return { read: { ...read, facts: { ...read.facts, gitops: g.facts } }, owner: g.raw }
}

function precheck(job: Job, env: AttemptEnv): Entry | undefined {
  if (job.cancelled)
    return {
      kind: 'cancelled',
      reason: 'resolved',
      message: 'the trigger alert resolved before the rollback was decided',
    }
  if (!env.isLeader())
    return { kind: 'not_leader', reason: 'not_leader', message: 'this replica is not the leader; the leader decides' }
  if (env.signal.aborted)
    return { kind: 'cancelled', reason: 'aborted', message: `not decided: ${abortText(env.signal)}` }
  return undefined
}

function readFailed(job: Job, env: AttemptEnv, f: KubeFailure): Step {
  if (env.signal.aborted)
    return done(job, env, {
      kind: 'cancelled',
      reason: 'aborted',
      message: `not decided (${abortText(env.signal)}): ${f.message}`,
    })
  const entry: Entry = { kind: 'read_failed', reason: f.reason, message: f.message }
  if (isTransient(f)) return { kind: 'transient', entry }
  // A workload that does not exist is a mapping problem (alert labels naming no workload), not a failed rollback.
  return done(job, env, f.reason === 'not_found' ? { ...entry, kind: 'skipped' } : entry)
}

/**
 * storedAttempt finds a rollback that is in the API server but was never verified: this job's own (its answer was
 * lost, or it landed late), or another replica's that stopped before verifying. Either is verified now, never sent again.
 */
function storedAttempt(job: Job, env: AttemptEnv, read: WorkloadRead): Step | undefined {
  const rec = decodeRollbackRecord(read.facts.annotations[ROLLBACK_ANNOTATION])
  env.ledger.observe(workloadKey(read.facts.ref), rec)
  if (
    rec?.attempt === undefined ||
    rec.verified !== undefined ||
    env.config.mode !== 'execute' ||
    redeployedSince(read.facts, rec)
  )
    return undefined
  const what = `revision ${rec.fromRevision} → ${rec.toRevision} at ${new Date(rec.at).toISOString()}`
  const message =
    rec.attempt === job.attempt
      ? `the rollback patch of this attempt (${rec.attempt}, ${what}) is stored although its answer was lost; verifying it`
      : `the rollback ${rec.attempt} by ${rec.by ?? 'another replica'} (${what}) is stored but was never verified (that replica stopped or lost its answer); verifying it`
  const stored = {
    generation: rec.generation,
    fromRevision: rec.fromRevision,
    toRevision: rec.toRevision,
    regarding: read.regarding,
  }
  record(job, env, {
    regarding: read.regarding,
    fromRevision: rec.fromRevision,
    toRevision: rec.toRevision,
    kind: 'rolled_back',
    reason: 'rollback',
    message,
  })
  return { kind: 'stored', stored }
}

function evaluate(
  job: Job,
  env: AttemptEnv,
  read: WorkloadRead,
  silence: SilenceState | undefined,
  owner: RawOwner | undefined,
): State {
  const { alert, ref } = job.request
  const { correlation } = env.config
  const input: PolicyInput = {
    now: env.now(),
    policy: env.config,
    facts: read.facts,
    recentRollbacks: env.ledger.recent(),
    isLeader: env.isLeader(),
    silence,
    alert,
    correlated: correlation.enabled ? env.triggers.correlated(ref, alert.startsAt, correlation) : undefined,
  }
  return { read, owner, input, decision: decide(input) }
}

function approved(d: Decision): boolean {
  return d.act || d.reason === 'dry_run'
}

function about(st: State): Pick<Entry, 'regarding' | 'fromRevision' | 'toRevision'> {
  const target = st.decision.target
  return { regarding: st.read.regarding, fromRevision: target?.fromRevision, toRevision: target?.toRevision }
}

const VETO_KINDS: Partial<Record<Decision['reason'], AuditKind>> = {
  global_brake: 'brake',
  not_leader: 'not_leader',
  correlated_failure: 'held',
  gitops_managed: 'gitops_refused',
}

function vetoed(job: Job, env: AttemptEnv, st: State): Step {
  const d = st.decision
  const kind: AuditKind = VETO_KINDS[d.reason] ?? 'skipped'
  const silence = st.input.silence?.state === 'silenced' ? st.input.silence : undefined
  const correlated = d.reason === 'correlated_failure' ? st.input.correlated : undefined
  const resume = d.blockers.includes('already_rolled_back') ? verdictDue(job, env, st) : undefined
  const due =
    resume === undefined
      ? ''
      : `; the rollback verified at ${new Date(resume.at).toISOString()} has no effectiveness verdict yet (the replica that verified it stopped leading before the window ended): this replica gives it`
  record(job, env, {
    ...about(st),
    kind,
    reason: d.reason,
    message: `${d.message}${due}`,
    blockers: d.blockers,
    silence,
    correlated,
  })
  const heldBySilence = d.blockers.some(b => b === 'silenced' || b === 'silence_check_failed')
  return { kind: 'final', heldBySilence, resume }
}

/**
 * verdictDue finds, in the record read for this decision, rollguard's verified rollback of this very series whose
 * effectiveness verdict was never given: the leader that verified it stopped leading during the window. The trigger
 * still firing is what brought it here, so the verdict is given by this replica (the executor waits out the rest
 * of the window). A new deploy since, a dry run, or a verdict already in the record: nothing is due.
 */
function verdictDue(job: Job, env: AttemptEnv, st: State): VerifiedRollback | undefined {
  const rec = decodeRollbackRecord(st.read.facts.annotations[ROLLBACK_ANNOTATION])
  if (
    env.config.mode !== 'execute' ||
    rec?.verified === undefined ||
    rec.judged !== undefined ||
    redeployedSince(st.read.facts, rec) ||
    !recordNamesSeries(rec, job.request.alert)
  )
    return undefined
  return {
    alert: job.request.alert,
    ref: job.request.ref,
    regarding: st.read.regarding,
    fromRevision: rec.fromRevision,
    toRevision: rec.toRevision,
    at: rec.verified,
  }
}

function recordValue(job: Job, env: AttemptEnv, st: State, generation: number): string {
  // An approved decision always has a target: without a previous revision no_history blocks.
  const target = st.decision.target as RollbackTarget
  const next = nextRollbackRecord(st.input, target, job.request.alert.name, { attempt: job.attempt, by: env.identity })
  return encodeRollbackRecord({ ...next, generation })
}

// Right before the PATCH: a silence created since the decision (say, while another workload's rollback was
// verified) still stops this one, and so do a resolved trigger and lost leadership.
async function gateBeforePatch(job: Job, env: AttemptEnv, st: State, plan: UndoPlan): Promise<Step | undefined> {
  if (plan.toRevision !== st.decision.target?.toRevision) {
    const message = `the rollback would restore revision ${plan.toRevision}, but the policy approved revision ${st.decision.target?.toRevision}`
    return done(job, env, { ...about(st), kind: 'skipped', reason: 'changed', message })
  }
  st.input = { ...st.input, silence: await checkSilence(job, env, true) }
  st.decision = decide(st.input)
  if (!approved(st.decision)) return vetoed(job, env, st)
  const late = lateCheck(job, env)
  if (late !== undefined) return done(job, env, { ...about(st), ...late })
  return undefined
}

function lateCheck(job: Job, env: AttemptEnv): Entry | undefined {
  if (job.cancelled)
    return { kind: 'cancelled', reason: 'resolved', message: 'the trigger alert resolved before the rollback was sent' }
  if (!env.isLeader())
    return {
      kind: 'not_leader',
      reason: 'not_leader',
      message: 'this replica lost leadership before the rollback was sent',
    }
  if (env.signal.aborted) return { kind: 'cancelled', reason: 'aborted', message: `not sent: ${abortText(env.signal)}` }
  return undefined
}

function checkSilence(job: Job, env: AttemptEnv, fresh: boolean): Promise<SilenceState | undefined> {
  const { enabled } = env.config.silences
  if (env.silences === undefined || enabled === false) return Promise.resolve(undefined)
  return env.silences.check(job.request.alert, { fresh, required: enabled === true, signal: env.signal })
}

async function send(job: Job, env: AttemptEnv, st: State, plan: UndoPlan): Promise<Step> {
  const dryRun = st.decision.dryRun
  const patch = {
    contentType: plan.patch.contentType,
    body: plan.patch.body,
    fromImages: plan.fromImages,
    toImages: plan.toImages,
  }
  const what = ` (images ${plan.fromImages.join(',')} → ${plan.toImages.join(',')}); trigger ${job.request.alert.name}`
  const suspension = await suspendOwner(job, env, st)
  if (suspension.kind !== 'done') return suspension.step
  // From here on a resolution no longer cancels: the patch may be in.
  job.sent = !dryRun
  const r = await sendUndo(env.apps, plan, { dryRun, signal: env.signal })
  const entry = { ...about(st), patch }
  if (r.kind === 'stored' && dryRun) {
    record(job, env, {
      ...entry,
      kind: 'dry_run',
      reason: 'dry_run',
      message: `${st.decision.message}${what}; the API server accepted the ${suspension.note}patch (dryRun=All, nothing stored)`,
    })
    return FINAL
  }
  if (r.kind === 'stored')
    return stored(
      job,
      env,
      st,
      { ...entry, kind: 'rolled_back', reason: 'rollback', message: `${st.decision.message}${what}: patch stored` },
      r.generation,
      plan,
    )
  if (r.applied === 'unknown' && !dryRun) {
    const confirmed = await confirm(job, env, st, plan, r)
    if (confirmed !== undefined) return confirmed
  }
  job.sent = false
  const failure: Entry = {
    ...entry,
    kind: dryRun ? 'dry_run_failed' : 'patch_failed',
    reason: r.reason,
    message: r.message,
  }
  if (env.signal.aborted && r.applied === 'no')
    return done(job, env, { ...failure, kind: 'cancelled', reason: 'aborted' })
  if (isTransient(r)) return { kind: 'transient', entry: failure }
  return done(job, env, failure)
}

function stored(job: Job, env: AttemptEnv, st: State, entry: Entry, generation: number, plan: UndoPlan): Step {
  // The record's time, so reading the workload later does not count this rollback twice.
  env.ledger.add(job.key, st.input.now)
  env.metrics.duration.observe(Math.max(0, env.now() - job.request.alert.startsAt) / 1000)
  const warnings = plan.warnings.map(w => `; warning: ${w}`).join('')
  record(job, env, { ...entry, message: `${entry.message}${warnings}` })
  return {
    kind: 'stored',
    stored: {
      generation,
      fromRevision: plan.fromRevision,
      toRevision: plan.toRevision,
      regarding: st.read.regarding,
      revertable: revertable(st),
    },
  }
}

// actions.gitops.mode ignore on an owner that corrects drift: the rollback is watched for a revert before it counts.
function revertable(st: State): string | undefined {
  const g = st.read.facts.gitops
  if (g?.state !== 'managed' || !g.reverts || g.suspendedByRollguard || st.decision.suspend !== undefined)
    return undefined
  return describeOwner(g.owner)
}

type Suspension = { readonly kind: 'done'; readonly note: string } | { readonly kind: 'stopped'; readonly step: Step }

/**
 * suspendOwner suspends the GitOps owner's reconciliation before the rollback (actions.gitops.mode suspend): the
 * previous setting goes into the owner's annotation, for `rollguard gitops resume`; a dry run validates the patch.
 */
async function suspendOwner(job: Job, env: AttemptEnv, st: State): Promise<Suspension> {
  const owner = st.decision.suspend
  if (owner === undefined) return { kind: 'done', note: '' }
  const dryRun = st.decision.dryRun
  const body = suspendPatch(owner, st.owner ?? {}, {
    at: new Date(env.now()).toISOString(),
    workload: workloadKey(job.request.ref),
  })
  const who = describeOwner(owner)
  // A suspend decision needs gitops facts, which only a custom-resources client reads.
  const r =
    env.custom === undefined
      ? failure('forbidden', `${who}: no Kubernetes client for custom resources`)
      : await patchOwner(env.custom, owner, body, { dryRun, signal: env.signal, step: 'suspending its reconciliation' })
  if (r === true) {
    if (dryRun) return { kind: 'done', note: `suspension of ${who} and the rollback ` }
    const resume = `rollguard gitops resume ${owner.kind}/${owner.name} -n ${owner.namespace}`
    record(job, env, {
      ...about(st),
      kind: 'gitops_suspended',
      reason: 'suspended',
      message: `suspended ${who} (${owner.kind === 'Application' ? 'automated sync removed' : 'spec.suspend: true'}; the previous setting is kept in its rollguard.io/suspended annotation) so that the rollback of ${describeWorkload(job.request.ref)} sticks: put the fix in Git, then run '${resume}'`,
    })
    return { kind: 'done', note: '' }
  }
  const entry: Entry = {
    ...about(st),
    kind: dryRun ? 'dry_run_failed' : 'patch_failed',
    reason: r.reason,
    message: `not rolled back: ${r.message}`,
  }
  if (isTransient(r)) return { kind: 'stopped', step: { kind: 'transient', entry } }
  return { kind: 'stopped', step: done(job, env, entry) }
}

// The answer was lost: read the workload back; this attempt's identity in the record says the patch is in.
async function confirm(
  job: Job,
  env: AttemptEnv,
  st: State,
  plan: UndoPlan,
  lost: KubeFailure,
): Promise<Step | undefined> {
  const back = await readWorkload(env.apps, job.request.ref, env.signal)
  if (back.kind === 'error') return undefined
  const rec = decodeRollbackRecord(back.facts.annotations[ROLLBACK_ANNOTATION])
  if (rec?.attempt !== job.attempt) return undefined
  const message = `${st.decision.message}: the answer to the PATCH was lost (${lost.message}), and reading the workload back shows this attempt's rollback stored`
  return stored(job, env, st, { ...about(st), kind: 'rolled_back', reason: 'rollback', message }, rec.generation, plan)
}

async function verify(job: Job, env: AttemptEnv, s: Stored): Promise<VerifiedRollback | undefined> {
  const since = env.now()
  const w = await waitForRollout(env.apps, job.request.ref, {
    generation: s.generation,
    deadlineMs: env.config.verify_timeout,
    pollMs: env.verifyPollMs,
    signal: env.signal,
    ignoreDeadlineBefore: since,
  })
  const entry = { regarding: s.regarding, fromRevision: s.fromRevision, toRevision: s.toRevision }
  if (w.aborted === true)
    return void record(job, env, {
      ...entry,
      kind: 'verify_aborted',
      reason: 'aborted',
      message: `verification stopped (${abortText(env.signal)}): ${w.message}`,
    })
  if (w.outcome !== 'complete') {
    const reason = w.outcome === 'failed' ? 'rollout_failed' : 'verify_timeout'
    return void record(job, env, {
      ...entry,
      kind: 'verify_failed',
      reason,
      message: `rollback did not complete: ${w.message}`,
    })
  }
  const reverted = await watchForRevert(job, env, s)
  if (reverted !== undefined)
    return void record(job, env, { ...entry, kind: 'reverted', reason: 'reverted', message: reverted })
  record(job, env, { ...entry, kind: 'verified', reason: 'complete', message: `rollback verified: ${w.message}` })
  const at = env.now()
  const unmarked = await updateRecord(env.apps, job.request.ref, env.signal, rec =>
    rec.verified === undefined ? { ...rec, verified: at } : undefined,
  )
  if (unmarked !== undefined)
    record(job, env, {
      kind: 'verify_aborted',
      reason: 'record_not_updated',
      message: `the rollback is verified, but the record annotation could not be updated: ${unmarked}`,
    })
  return {
    alert: job.request.alert,
    ref: job.request.ref,
    regarding: s.regarding,
    fromRevision: s.fromRevision,
    toRevision: s.toRevision,
    at,
  }
}

/**
 * watchForRevert: a rollback of a workload whose GitOps owner corrects drift (mode ignore) counts as verified only
 * if the restored template is still current after actions.gitops.revert_window; otherwise it did not stick.
 */
async function watchForRevert(job: Job, env: AttemptEnv, s: Stored): Promise<string | undefined> {
  if (s.revertable === undefined) return undefined
  await sleepFor(env.config.gitops.revert_window, env.signal)
  const back = await readWorkload(env.apps, job.request.ref, env.signal)
  if (back.kind === 'error') return undefined
  const restored = s.fromRevision + 1
  if (back.facts.currentRevision <= restored) return undefined
  const by = back.facts.currentIsUndo?.manager === undefined ? '' : ` by ${back.facts.currentIsUndo.manager}`
  return (
    `the rollback did not stick: revision ${restored} (the restored template) was replaced${by} by revision ${back.facts.currentRevision} within ` +
    `${formatDuration(env.config.gitops.revert_window)}; ${s.revertable} re-applies the Git state (actions.gitops.mode ignore): revert the bad commit in Git`
  )
}
