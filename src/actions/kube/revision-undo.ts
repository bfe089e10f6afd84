import { PatchStrategy, type AppsV1Api } from '@kubernetes/client-node'
import { refString, type WorkloadRef } from './client.js'
import { failure, type KubeFailure } from './errors.js'
import {
  imagesOf,
  isControlledBy,
  lastAppliedWarning,
  type RawControllerRevision,
  type RawTemplate,
  type RawWorkload,
} from './model.js'
import { listAllRaw, withRaw } from './raw.js'
import { selectorString, semanticEqual } from './template.js'
import { guard, runUndo } from './undo-exec.js'
import {
  DEFAULT_FIELD_MANAGER,
  recordContext,
  skipped,
  type PlanOutcome,
  type RecordAnnotation,
  type SendOptions,
  type UndoOptions,
  type UndoPlan,
  type UndoResult,
} from './undo-result.js'

/** RevisionKind is a kind whose history lives in ControllerRevisions. */
export type RevisionKind = 'StatefulSet' | 'DaemonSet'

/** RevisionState is what kubectl reads before an undo: the workload and the ControllerRevisions its selector matches. */
export interface RevisionState {
  readonly workload: RawWorkload
  readonly revisions: readonly RawControllerRevision[]
}

/** planRevisionUndo is kubectl's StatefulSetRollbacker/DaemonSetRollbacker up to the PATCH, as a pure function of the fetched state. */
export function planRevisionUndo(
  ref: WorkloadRef,
  state: RevisionState,
  opts: { readonly toRevision?: number; readonly record?: RecordAnnotation } = {},
): PlanOutcome {
  const toRevision = opts.toRevision ?? 0
  const w = state.workload
  const where = refString(ref)
  if (toRevision < 0)
    return failure('revision_not_found', `${where}: unable to find specified revision ${toRevision} in history`)
  const generation = w.metadata?.generation ?? 0
  const observed = w.status?.observedGeneration ?? 0
  if (observed < generation) {
    return skipped(
      'rollout_in_flight',
      `${where}: a rollout is in flight (generation ${generation} not yet observed, observedGeneration ${observed})`,
    )
  }
  const history = state.revisions.filter(cr => isControlledBy(cr.metadata, w.metadata?.uid))
  if (toRevision === 0 && history.length <= 1)
    return failure('no_history', `${where}: no last revision to roll back to`)
  const target = findHistory(toRevision, history)
  if (!target)
    return failure('revision_not_found', `${where}: unable to find specified revision ${toRevision} in history`)
  const parsed = revisionData(where, target)
  if (parsed.kind === 'error') return parsed
  const data = parsed.data
  if (semanticEqual(stripPatchDirective(data.spec?.template), w.spec?.template)) {
    return skipped(
      'already_matches',
      `${where}: skipped rollback (current template already matches revision ${toRevision})`,
    )
  }
  return { kind: 'plan', plan: buildPlan(ref, w, history, target, data, opts.record) }
}

/** findHistory is kubectl's: the second-highest `revision` for 0, else the first with that revision. */
export function findHistory(
  toRevision: number,
  history: readonly RawControllerRevision[],
): RawControllerRevision | undefined {
  if (toRevision > 0) return history.find(cr => cr.revision === toRevision)
  const sorted = [...history].sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0))
  return sorted[sorted.length - 2]
}

interface RevisionData {
  readonly spec?: { readonly template?: RawTemplate & { readonly $patch?: string } }
  readonly [k: string]: unknown
}

function revisionData(
  where: string,
  cr: RawControllerRevision,
): { readonly kind: 'data'; readonly data: RevisionData } | KubeFailure {
  let data: unknown = cr.data
  try {
    if (typeof data === 'string') data = JSON.parse(data)
  } catch {
    data = undefined
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return failure('invalid', `${where}: controllerrevision ${cr.metadata?.name ?? '?'} has no usable data`)
  }
  return { kind: 'data', data: data as RevisionData }
}

function stripPatchDirective(
  template: (RawTemplate & { readonly $patch?: string }) | undefined,
): RawTemplate | undefined {
  if (!template) return undefined
  const { $patch: _directive, ...rest } = template
  return rest
}

function buildPlan(
  ref: WorkloadRef,
  w: RawWorkload,
  history: readonly RawControllerRevision[],
  target: RawControllerRevision,
  data: RevisionData,
  record: RecordAnnotation | undefined,
): UndoPlan {
  const base = {
    ref,
    fromRevision: Math.max(0, ...history.map(cr => cr.revision ?? 0)),
    toRevision: target.revision ?? 0,
    expectedGeneration: (w.metadata?.generation ?? 0) + 1,
    fromImages: imagesOf(w.spec?.template),
    toImages: imagesOf(data.spec?.template),
  }
  const resourceVersion = w.metadata?.resourceVersion
  const metadata: Record<string, unknown> = {}
  // Not in kubectl: an optimistic lock (the server rejects a patched object whose resourceVersion is stale with 409).
  if (resourceVersion !== undefined) metadata['resourceVersion'] = resourceVersion
  if (record) metadata['annotations'] = { [record.annotationKey]: record.value(recordContext(base)) }
  // The stored data is sent verbatim; rollguard only adds the metadata above.
  const body = Object.keys(metadata).length > 0 ? { ...data, metadata } : data
  const warning = lastAppliedWarning(ref.kind, w.metadata)
  return {
    ...base,
    resourceVersion,
    patch: { contentType: PatchStrategy.StrategicMergePatch, body },
    warnings: warning ? [warning] : [],
  }
}

/** fetchRevisionState reads the workload and lists its ControllerRevisions by its selector, as raw JSON; throws client errors. */
export async function fetchRevisionState(
  apps: AppsV1Api,
  ref: WorkloadRef,
  signal?: AbortSignal,
): Promise<RevisionState> {
  const { namespace, name } = ref
  const workload = await withRaw<RawWorkload>(
    o =>
      ref.kind === 'StatefulSet'
        ? apps.readNamespacedStatefulSet({ name, namespace }, o)
        : apps.readNamespacedDaemonSet({ name, namespace }, o),
    { signal },
  )
  const labelSelector = selectorString(workload.spec?.selector)
  const revisions = await listAllRaw<RawControllerRevision>(
    (cont, o) => apps.listNamespacedControllerRevision({ namespace, labelSelector, _continue: cont }, o),
    { signal },
  )
  return { workload, revisions }
}

/** undoRevisionWorkload is `kubectl rollout undo statefulset|daemonset/<name>` plus rollguard's guards; never throws. */
export async function undoRevisionWorkload(
  apps: AppsV1Api,
  ref: WorkloadRef & { readonly kind: RevisionKind },
  opts: UndoOptions,
): Promise<UndoResult> {
  const plan = () =>
    guard(ref, 'reading the workload and its controller revisions', async () =>
      planRevisionUndo(ref, await fetchRevisionState(apps, ref, opts.signal), opts),
    )
  const send = (p: UndoPlan) => sendRevisionPatch(apps, p, opts)
  return runUndo(ref, plan, send, opts)
}

/** sendRevisionPatch sends a StatefulSet/DaemonSet plan's patch and returns metadata.generation from the response; throws client errors. */
export async function sendRevisionPatch(apps: AppsV1Api, p: UndoPlan, opts: SendOptions): Promise<number> {
  const params = {
    name: p.ref.name,
    namespace: p.ref.namespace,
    body: p.patch.body,
    dryRun: opts.dryRun ? 'All' : undefined,
    fieldManager: opts.fieldManager ?? DEFAULT_FIELD_MANAGER,
  }
  const response = await withRaw<RawWorkload>(
    o =>
      p.ref.kind === 'StatefulSet'
        ? apps.patchNamespacedStatefulSet(params, o)
        : apps.patchNamespacedDaemonSet(params, o),
    { contentType: p.patch.contentType, signal: opts.signal },
  )
  return response.metadata?.generation ?? p.expectedGeneration
}
