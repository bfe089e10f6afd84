/**
 * One rollback job: read the workload, decide, send the rollback (or its server-side dry run) with the record
 * annotation in the same patch, and verify the rollout. The policy's decision is re-checked against the exact
 * object the patch is computed from: if the workload changed between the read and the plan, or the patch hit a
 * 409, the workload is read again and the policy decides again before anything is sent. Alertmanager silences
 * are asked alongside the first read (a cached answer may do) and again, freshly, right before the patch.
 */

import type { AppsV1Api } from '@kubernetes/client-node'
import type { ActionMetrics } from '../telemetry/action-metrics.js'
import type { ActionsConfig } from './actions-config.js'
import type { Audit, AuditEntry, AuditKind } from './audit.js'
import type { KubeFailure } from './kube/errors.js'
import type { RegardingRef } from './kube/events.js'
import { waitForRollout } from './kube/rollout-status.js'
import { undoWorkload } from './kube/undo.js'
import type { RolledBack, UndoPlan, UndoResult } from './kube/undo-result.js'
import type { RollbackLedger } from './ledger.js'
import {
  decide, decodeRollbackRecord, encodeRollbackRecord, nextRollbackRecord, ROLLBACK_ANNOTATION,
  type Decision, type PolicyInput, type RollbackTarget, type SilenceState,
} from './policy.js'
import type { Job } from './queue.js'
import { workloadKey, type AlertInfo } from './trigger.js'
import { readWorkload, type WorkloadRead } from './workload.js'

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
}

/** AttemptResult: `heldBySilence` when a silence (or a failed silence check) was among the reasons not to act. */
export interface AttemptResult {
  readonly heldBySilence: boolean
}

type Veto = Pick<AuditEntry, 'kind' | 'reason' | 'message' | 'blockers' | 'silence'>

/** State is the latest read and decision; the patch gate and the conflict handler refresh it. */
interface State {
  read: WorkloadRead
  input: PolicyInput
  decision: Decision
  /** The record annotation value the patch's record was computed from, and the record's time. */
  recordBasis?: string | undefined
  recordAt?: number
  plan?: UndoPlan
  veto?: Veto
}

/** runAttempt processes one job to the end; it never throws (everything is recorded in the audit trail). */
export async function runAttempt(job: Job, env: AttemptEnv): Promise<AttemptResult> {
  const decided = await env.exclusive(() => decideAndPatch(job, env))
  if (decided.patched !== undefined) await verify(job, env, decided.patched)
  return { heldBySilence: decided.veto?.blockers?.some((b) => b === 'silenced' || b === 'silence_check_failed') === true }
}

interface Decided {
  readonly patched?: Patched | undefined
  readonly veto?: Veto | undefined
}

interface Patched {
  readonly result: RolledBack
  readonly regarding: RegardingRef
}

function base(job: Job, env: AttemptEnv): Pick<AuditEntry, 'alert' | 'workload' | 'mode'> {
  return { alert: job.request.alert, workload: job.request.ref, mode: env.config.mode }
}

async function decideAndPatch(job: Job, env: AttemptEnv): Promise<Decided> {
  const early = precheck(job, env)
  if (early !== undefined) {
    env.audit.record({ ...base(job, env), ...early })
    return {}
  }
  const [read, silence] = await Promise.all([readWorkload(env.apps, job.request.ref, env.signal), checkSilence(job, env, false)])
  if (read.kind === 'error') {
    recordReadFailure(job, env, read)
    return {}
  }
  const st = evaluate(read, env, silence, job.request.alert)
  if (!approved(st.decision)) {
    const veto = decisionVeto(st)
    env.audit.record({ ...entryFor(job, env, st), ...veto })
    return { veto }
  }
  const result = await undoWorkload(env.apps, job.request.ref, {
    dryRun: st.decision.dryRun,
    record: { annotationKey: ROLLBACK_ANNOTATION, value: (ctx) => recordValue(job, st, ctx.generation) },
    onConflict: async () => (await refresh(st, env, job)) === true,
    beforePatch: (plan) => gate(plan, st, env, job),
    signal: env.signal,
  })
  return { patched: outcome(job, env, st, result), veto: st.veto }
}

function checkSilence(job: Job, env: AttemptEnv, fresh: boolean): Promise<SilenceState | undefined> {
  const { enabled } = env.config.silences
  if (env.silences === undefined || enabled === false) return Promise.resolve(undefined)
  return env.silences.check(job.request.alert, { fresh, required: enabled === true, signal: env.signal })
}

function precheck(job: Job, env: AttemptEnv): Veto | undefined {
  if (job.cancelled) return { kind: 'cancelled', reason: 'resolved', message: 'the trigger alert resolved before the rollback was decided' }
  if (!env.isLeader()) return { kind: 'not_leader', reason: 'not_leader', message: 'this replica is not the leader; the leader decides' }
  if (env.signal.aborted) return { kind: 'cancelled', reason: 'aborted', message: `not decided: ${abortText(env.signal)}` }
  return undefined
}

function recordReadFailure(job: Job, env: AttemptEnv, f: KubeFailure): void {
  if (env.signal.aborted) return void env.audit.record({ ...base(job, env), kind: 'cancelled', reason: 'aborted', message: `not decided (${abortText(env.signal)}): ${f.message}` })
  // A workload that does not exist is a mapping problem (alert labels naming no workload), not a failed rollback.
  env.audit.record({ ...base(job, env), kind: f.reason === 'not_found' ? 'skipped' : 'read_failed', reason: f.reason, message: f.message })
}

function evaluate(read: WorkloadRead, env: AttemptEnv, silence: SilenceState | undefined, alert: AlertInfo): State {
  env.ledger.observe(workloadKey(read.facts.ref), decodeRollbackRecord(read.facts.annotations[ROLLBACK_ANNOTATION]))
  const input: PolicyInput = { now: env.now(), policy: env.config, facts: read.facts, recentRollbacks: env.ledger.recent(), isLeader: env.isLeader(), silence, alert }
  return { read, input, decision: decide(input) }
}

function approved(d: Decision): boolean {
  return d.act || d.reason === 'dry_run'
}

function decisionVeto({ decision: d, input }: State): Veto {
  const kind: AuditKind = d.reason === 'global_brake' ? 'brake' : d.reason === 'not_leader' ? 'not_leader' : 'skipped'
  const silence = input.silence?.state === 'silenced' ? input.silence : undefined
  return { kind, reason: d.reason, message: d.message, blockers: d.blockers, silence }
}

function entryFor(job: Job, env: AttemptEnv, st: State): Pick<AuditEntry, 'alert' | 'workload' | 'mode' | 'regarding' | 'fromRevision' | 'toRevision'> {
  const target = st.decision.target
  return { ...base(job, env), regarding: st.read.regarding, fromRevision: target?.fromRevision, toRevision: target?.toRevision }
}

function recordValue(job: Job, st: State, generation: number): string {
  st.recordBasis = st.read.facts.annotations[ROLLBACK_ANNOTATION]
  st.recordAt = st.input.now
  // An approved decision always has a target: without a previous revision no_history blocks.
  const target = st.decision.target as RollbackTarget
  return encodeRollbackRecord({ ...nextRollbackRecord(st.input, target, job.request.alert.name), generation })
}

/** refresh reads the workload again and decides again; true when the fresh decision still approves. */
async function refresh(st: State, env: AttemptEnv, job: Job): Promise<true | string> {
  const read = await readWorkload(env.apps, job.request.ref, env.signal)
  if (read.kind === 'error') return veto(st, { kind: 'read_failed', reason: read.reason, message: read.message })
  Object.assign(st, evaluate(read, env, st.input.silence, job.request.alert))
  return approved(st.decision) ? true : veto(st, decisionVeto(st))
}

// Runs right before every PATCH: the decision must be about the very object the patch was planned from.
async function gate(plan: UndoPlan, st: State, env: AttemptEnv, job: Job): Promise<true | string> {
  if (plan.resourceVersion !== st.read.resourceVersion) {
    const fresh = await refresh(st, env, job)
    if (fresh !== true) return fresh
    if (plan.resourceVersion !== st.read.resourceVersion) {
      return veto(st, { kind: 'skipped', reason: 'changed', message: 'the workload kept changing while the rollback was prepared; not acting on a stale read' })
    }
  }
  if (st.recordBasis !== st.read.facts.annotations[ROLLBACK_ANNOTATION]) {
    return veto(st, { kind: 'skipped', reason: 'changed', message: `the ${ROLLBACK_ANNOTATION} annotation changed while the rollback was prepared` })
  }
  const target = st.decision.target?.toRevision
  if (plan.toRevision !== target) {
    return veto(st, { kind: 'skipped', reason: 'changed', message: `the rollback would restore revision ${plan.toRevision}, but the policy approved revision ${target}` })
  }
  // A silence created since the decision (say, while another workload's rollback was verified) still stops this one.
  st.input = { ...st.input, silence: await checkSilence(job, env, true) }
  st.decision = decide(st.input)
  if (!approved(st.decision)) return veto(st, decisionVeto(st))
  if (job.cancelled) return veto(st, { kind: 'cancelled', reason: 'resolved', message: 'the trigger alert resolved before the rollback was sent' })
  if (!env.isLeader()) return veto(st, { kind: 'not_leader', reason: 'not_leader', message: 'this replica lost leadership before the rollback was sent' })
  st.plan = plan
  if (!st.decision.dryRun) job.sent = true
  return true
}

function veto(st: State, v: Veto): string {
  st.veto = v
  return v.message
}

function outcome(job: Job, env: AttemptEnv, st: State, r: UndoResult): Patched | undefined {
  const entry = entryFor(job, env, st)
  const plan = st.plan
  const patch = plan && { contentType: plan.patch.contentType, body: plan.patch.body, fromImages: plan.fromImages, toImages: plan.toImages }
  const what = `${plan ? ` (images ${plan.fromImages.join(',')} → ${plan.toImages.join(',')})` : ''}; trigger ${job.request.alert.name}`
  switch (r.kind) {
    case 'rolled-back': {
      const at = env.now()
      // The time written in the record, so reading the workload later does not count this rollback twice.
      env.ledger.add(job.key, st.recordAt ?? at)
      env.metrics.duration.observe(Math.max(0, at - job.request.alert.startsAt) / 1000)
      const warnings = r.warnings.map((w) => `; warning: ${w}`).join('')
      env.audit.record({ ...entry, patch, kind: 'rolled_back', reason: 'rollback', message: `${st.decision.message}${what}: patch stored${warnings}` })
      return { result: r, regarding: st.read.regarding }
    }
    case 'dry-run':
      env.audit.record({ ...entry, patch, kind: 'dry_run', reason: 'dry_run', message: `${st.decision.message}${what}; the API server accepted the patch (dryRun=All, nothing stored)` })
      return undefined
    case 'skipped':
      env.audit.record({ ...entry, ...(st.veto ?? { kind: 'skipped', reason: r.reason, message: r.message }) })
      return undefined
    case 'error': {
      const aborted = env.signal.aborted && !job.sent
      const kind: AuditKind = st.veto?.kind ?? (aborted ? 'cancelled' : st.decision.dryRun ? 'dry_run_failed' : 'patch_failed')
      env.audit.record({ ...entry, patch, kind, reason: st.veto?.reason ?? (aborted ? 'aborted' : r.reason), message: st.veto?.message ?? r.message })
      return undefined
    }
  }
}

async function verify(job: Job, env: AttemptEnv, { result: rolled, regarding }: Patched): Promise<void> {
  const since = env.now()
  const w = await waitForRollout(env.apps, job.request.ref, {
    generation: rolled.generation,
    deadlineMs: env.config.verify_timeout,
    pollMs: env.verifyPollMs,
    signal: env.signal,
    ignoreDeadlineBefore: since,
  })
  const entry = { ...base(job, env), regarding, fromRevision: rolled.fromRevision, toRevision: rolled.toRevision }
  if (w.outcome === 'complete') return void env.audit.record({ ...entry, kind: 'verified', reason: 'complete', message: `rollback verified: ${w.message}` })
  if (w.aborted === true) return void env.audit.record({ ...entry, kind: 'verify_aborted', reason: 'aborted', message: `verification stopped (${abortText(env.signal)}): ${w.message}` })
  const reason = w.outcome === 'failed' ? 'rollout_failed' : 'verify_timeout'
  env.audit.record({ ...entry, kind: 'verify_failed', reason, message: `rollback did not complete: ${w.message}` })
}

function abortText(signal: AbortSignal): string {
  const r: unknown = signal.reason
  return r instanceof Error ? r.message : String(r ?? 'aborted')
}
