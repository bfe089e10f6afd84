import type { AppsV1Api } from '@kubernetes/client-node'
import { workloadFacts } from './facts.js'
import { classifyError, type KubeFailure } from './kube/errors.js'
import type { RegardingRef } from './kube/events.js'
import { fetchWorkloadState, workloadObject, type WorkloadState } from './kube/operations.js'
import type { WorkloadFacts } from './policy.js'
import { refString, type WorkloadRef } from './workload-ref.js'

/** WorkloadRead is a workload as the policy sees it, the raw state an undo is planned from, and the identity events refer to. */
export interface WorkloadRead {
  readonly kind: 'read'
  readonly facts: WorkloadFacts
  readonly state: WorkloadState
  readonly regarding: RegardingRef
  readonly resourceVersion: string | undefined
}

/** readWorkload reads a workload with the same requests the rollback makes (GET, LIST by selector); never throws. */
export async function readWorkload(
  apps: AppsV1Api,
  ref: WorkloadRef,
  signal?: AbortSignal,
): Promise<WorkloadRead | KubeFailure> {
  try {
    const state = await fetchWorkloadState(apps, ref, signal)
    const meta = workloadObject(state).metadata
    const resourceVersion = meta?.resourceVersion
    return {
      kind: 'read',
      facts: workloadFacts(ref, state),
      state,
      regarding: { ...ref, uid: meta?.uid, resourceVersion },
      resourceVersion,
    }
  } catch (err) {
    return classifyError(err, `${refString(ref)}: reading the workload`)
  }
}
