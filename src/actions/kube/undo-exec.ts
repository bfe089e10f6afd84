import { abortText } from '../../errors.js'
import { refString, type WorkloadRef } from './client.js'
import { classifyError, failure, isConflict, type KubeFailure } from './errors.js'
import { skipped, type PlanOutcome, type UndoOptions, type UndoPlan, type UndoResult } from './undo-result.js'

/** SendPatch sends a plan's patch (dry-run or not) and returns metadata.generation from the response; throws client errors. */
export type SendPatch = (plan: UndoPlan) => Promise<number>

/**
 * runUndo plans and sends once. On 409 it returns the conflict (kubectl's behaviour), or with resendOnConflict
 * re-reads, re-plans and sends exactly once more if the fresh plan is still the same rollback (from → to).
 */
export async function runUndo(
  ref: WorkloadRef,
  plan: () => Promise<PlanOutcome>,
  send: SendPatch,
  opts: UndoOptions,
): Promise<UndoResult> {
  const first = await plan()
  if (first.kind !== 'plan') return first
  const sent = await attempt(first.plan, send, opts)
  if (sent !== 'conflict') return sent
  if (opts.resendOnConflict !== true) return failure('conflict', conflictText(ref, 'not retrying'), 409)
  const fresh = await plan()
  if (fresh.kind !== 'plan') return fresh
  if (fresh.plan.fromRevision !== first.plan.fromRevision || fresh.plan.toRevision !== first.plan.toRevision) {
    const was = `${first.plan.fromRevision} → ${first.plan.toRevision}`
    const now = `${fresh.plan.fromRevision} → ${fresh.plan.toRevision}`
    return skipped(
      'declined',
      `${refString(ref)}: the object changed before the rollback (409 Conflict), and it would now be revision ${now} instead of ${was}; not sent`,
    )
  }
  const again = await attempt(fresh.plan, send, opts)
  return again === 'conflict'
    ? failure('conflict', conflictText(ref, 'conflicted again after re-planning, giving up'), 409)
    : again
}

async function attempt(plan: UndoPlan, send: SendPatch, opts: UndoOptions): Promise<UndoResult | 'conflict'> {
  if (opts.signal?.aborted)
    return failure('unavailable', `${refString(plan.ref)}: not sent, aborted (${abortText(opts.signal)})`)
  try {
    return done(plan, await send(plan), opts.dryRun)
  } catch (err) {
    if (isConflict(err)) return 'conflict'
    return classifyError(err, `${refString(plan.ref)}: rollback patch`)
  }
}

function done(plan: UndoPlan, generation: number, dryRun: boolean): UndoResult {
  const { ref, fromRevision, toRevision, patch, warnings } = plan
  const base = { ref, fromRevision, toRevision, generation, patch, warnings }
  if (dryRun) return { kind: 'dry-run', ...base, message: `${refString(ref)} rolled back (server dry run)` }
  return { kind: 'rolled-back', ...base, message: `${refString(ref)} rolled back` }
}

function conflictText(ref: WorkloadRef, what: string): string {
  return `${refString(ref)}: the object has been modified since it was read (409 Conflict); ${what}`
}

/** guard turns an unexpected exception from planning into a KubeFailure, so callers never see a throw. */
export async function guard(ref: WorkloadRef, step: string, fn: () => Promise<PlanOutcome>): Promise<PlanOutcome> {
  try {
    return await fn()
  } catch (err) {
    return classifyError(err, `${refString(ref)}: ${step}`) satisfies KubeFailure
  }
}
