/**
 * Plain operations for the rollback daemon: read a workload's state, plan kubectl's undo from it, send the plan,
 * write rollguard's record annotation. None of them calls back into the caller; the attempt decides between them.
 */

import { PatchStrategy, type AppsV1Api } from '@kubernetes/client-node'
import { refString, type WorkloadRef } from './client.js'
import {
  fetchDeploymentState,
  planDeploymentUndo,
  sendDeploymentPatch,
  type DeploymentState,
  type PlanDeploymentOptions,
} from './deployment-undo.js'
import { classifyError, type KubeFailure } from './errors.js'
import type { RawWorkload } from './model.js'
import { withRaw } from './raw.js'
import { fetchRevisionState, planRevisionUndo, sendRevisionPatch, type RevisionState } from './revision-undo.js'
import { DEFAULT_FIELD_MANAGER, type PlanOutcome, type SendOptions, type UndoPlan } from './undo-result.js'

/** WorkloadState is the fetched state of any supported workload: the object and its revision holders. */
export type WorkloadState =
  | { readonly kind: 'Deployment'; readonly state: DeploymentState }
  | { readonly kind: 'StatefulSet' | 'DaemonSet'; readonly state: RevisionState }

/** fetchWorkloadState reads a workload and its ReplicaSets/ControllerRevisions (kubectl's GET and LIST); throws client errors. */
export async function fetchWorkloadState(
  apps: AppsV1Api,
  ref: WorkloadRef,
  signal?: AbortSignal,
): Promise<WorkloadState> {
  if (ref.kind === 'Deployment') return { kind: ref.kind, state: await fetchDeploymentState(apps, ref, signal) }
  return { kind: ref.kind, state: await fetchRevisionState(apps, ref, signal) }
}

/** workloadObject is the workload itself out of its state. */
export function workloadObject(s: WorkloadState): RawWorkload {
  return s.kind === 'Deployment' ? s.state.deployment : s.state.workload
}

/** planUndo is kubectl's undo up to the PATCH, computed from an earlier read: pure. */
export function planUndo(ref: WorkloadRef, s: WorkloadState, opts: PlanDeploymentOptions = {}): PlanOutcome {
  return s.kind === 'Deployment' ? planDeploymentUndo(ref, s.state, opts) : planRevisionUndo(ref, s.state, opts)
}

/**
 * SendOutcome: stored (with the generation the server reports), or a failure that says whether the patch may
 * have been applied anyway: a 4xx answer means it was not; a 5xx, a timeout or a dropped connection leaves it unknown.
 */
export type SendOutcome =
  { readonly kind: 'stored'; readonly generation: number } | (KubeFailure & { readonly applied: 'no' | 'unknown' })

/** sendUndo sends a planned patch once; never throws. */
export async function sendUndo(apps: AppsV1Api, plan: UndoPlan, opts: SendOptions): Promise<SendOutcome> {
  try {
    const generation =
      plan.ref.kind === 'Deployment'
        ? await sendDeploymentPatch(apps, plan, opts)
        : await sendRevisionPatch(apps, plan, opts)
    return { kind: 'stored', generation }
  } catch (err) {
    const f = classifyError(err, `${refString(plan.ref)}: rollback patch`)
    return { ...f, applied: f.status !== undefined && f.status < 500 ? 'no' : 'unknown' }
  }
}

/** writeAnnotation sets one annotation with a JSON merge patch, failing with 409 if the object changed since resourceVersion; never throws. */
export async function writeAnnotation(
  apps: AppsV1Api,
  ref: WorkloadRef,
  annotation: { readonly key: string; readonly value: string; readonly resourceVersion?: string | undefined },
  signal?: AbortSignal,
): Promise<true | KubeFailure> {
  const metadata = {
    annotations: { [annotation.key]: annotation.value },
    ...(annotation.resourceVersion === undefined ? {} : { resourceVersion: annotation.resourceVersion }),
  }
  const params = { name: ref.name, namespace: ref.namespace, body: { metadata }, fieldManager: DEFAULT_FIELD_MANAGER }
  try {
    await withRaw<RawWorkload>(
      o => {
        if (ref.kind === 'Deployment') return apps.patchNamespacedDeployment(params, o)
        if (ref.kind === 'StatefulSet') return apps.patchNamespacedStatefulSet(params, o)
        return apps.patchNamespacedDaemonSet(params, o)
      },
      { contentType: PatchStrategy.MergePatch, signal },
    )
    return true
  } catch (err) {
    return classifyError(err, `${refString(ref)}: writing annotation ${annotation.key}`)
  }
}

/** isTransient says whether a failure may pass by itself (5xx, 429, timeouts, connection errors, conflicts): worth another try. */
export function isTransient(f: KubeFailure): boolean {
  return f.reason === 'unavailable' || f.reason === 'conflict'
}
