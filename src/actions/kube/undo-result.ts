import type { WorkloadRef } from './client.js'
import type { KubeFailure } from './errors.js'

/** UndoPatch is the exact request body rollguard sends (or would send), with its Content-Type. */
export interface UndoPatch {
  readonly contentType: string
  readonly body: unknown
}

/** UndoPlan is a computed rollback that has not been sent yet. */
export interface UndoPlan {
  readonly ref: WorkloadRef
  /** The workload's current revision. */
  readonly fromRevision: number
  /** The revision whose template is restored (its old number; the controller renumbers it to max+1). */
  readonly toRevision: number
  /** The resourceVersion the plan was computed from; the patch fails with 409 if the object changed since. */
  readonly resourceVersion: string | undefined
  /** The metadata.generation the patch will produce. */
  readonly expectedGeneration: number
  readonly fromImages: readonly string[]
  readonly toImages: readonly string[]
  readonly patch: UndoPatch
  /** Non-fatal notes, e.g. kubectl's last-applied-configuration warning. */
  readonly warnings: readonly string[]
}

/** RolledBack: the patch was stored; `generation` comes from the PATCH response. */
export interface RolledBack {
  readonly kind: 'rolled-back'
  readonly ref: WorkloadRef
  readonly fromRevision: number
  readonly toRevision: number
  readonly generation: number
  readonly patch: UndoPatch
  readonly warnings: readonly string[]
  readonly message: string
}

/** DryRun: the API server validated the patch with dryRun=All and stored nothing. */
export interface DryRun extends Omit<RolledBack, 'kind'> {
  readonly kind: 'dry-run'
}

/** SkipReason says why nothing was sent. */
export type SkipReason = 'already_matches' | 'rollout_in_flight' | 'declined'

/** Skipped: no write was attempted (nothing to do, or not safe right now). */
export interface Skipped {
  readonly kind: 'skipped'
  readonly reason: SkipReason
  readonly message: string
}

/** UndoResult is the outcome of one undo attempt; it is never thrown. */
export type UndoResult = RolledBack | DryRun | Skipped | KubeFailure

/** PlanOutcome is the outcome of planning: a plan, or a reason not to act. */
export type PlanOutcome = { readonly kind: 'plan'; readonly plan: UndoPlan } | Skipped | KubeFailure

/** RecordContext is what the caller's record annotation can describe. */
export interface RecordContext {
  readonly ref: WorkloadRef
  readonly fromRevision: number
  readonly toRevision: number
  /** The generation the rollback patch produces (lets a later check recognise its own rollback). */
  readonly generation: number
  readonly fromImages: readonly string[]
  readonly toImages: readonly string[]
}

/** RecordAnnotation adds rollguard's own annotation to the same patch. */
export interface RecordAnnotation {
  readonly annotationKey: string
  readonly value: (ctx: RecordContext) => string
}

/** UndoOptions are shared by every workload kind. */
export interface UndoOptions {
  /** 0 or absent: the previous revision (kubectl's default); N: that revision. */
  readonly toRevision?: number
  /** Server-side dry run (dryRun=All): the API server validates the exact patch and stores nothing. */
  readonly dryRun: boolean
  readonly record?: RecordAnnotation
  /**
   * After a 409 Conflict: re-read, re-plan and send exactly once more if the fresh plan is the same rollback
   * (from → to). Without it the conflict is returned, as kubectl does; a patch is never re-sent blindly.
   */
  readonly resendOnConflict?: boolean
  readonly fieldManager?: string
  readonly signal?: AbortSignal
}

/** SendOptions are what sending a planned patch needs. */
export interface SendOptions {
  readonly dryRun: boolean
  readonly fieldManager?: string | undefined
  readonly signal?: AbortSignal | undefined
}

/** DEFAULT_FIELD_MANAGER names rollguard in managedFields. */
export const DEFAULT_FIELD_MANAGER = 'rollguard'

/** skipped builds a Skipped result. */
export function skipped(reason: SkipReason, message: string): Skipped {
  return { kind: 'skipped', reason, message }
}

/** recordContext derives the RecordContext of a plan. */
export function recordContext(plan: Omit<UndoPlan, 'patch' | 'warnings' | 'resourceVersion'>): RecordContext {
  const { ref, fromRevision, toRevision, expectedGeneration, fromImages, toImages } = plan
  return { ref, fromRevision, toRevision, generation: expectedGeneration, fromImages, toImages }
}
