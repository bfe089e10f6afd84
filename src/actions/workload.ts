import type { AppsV1Api } from '@kubernetes/client-node'
import { workloadFacts, type WorkloadState } from './facts.js'
import { refString } from './kube/client.js'
import { fetchDeploymentState } from './kube/deployment-undo.js'
import { classifyError, type KubeFailure } from './kube/errors.js'
import type { RegardingRef } from './kube/events.js'
import { fetchRevisionState } from './kube/revision-undo.js'
import type { WorkloadFacts, WorkloadRef } from './policy.js'

/** WorkloadRead is a workload as the policy sees it, plus the identity events refer to. */
export interface WorkloadRead {
  readonly kind: 'read'
  readonly facts: WorkloadFacts
  readonly regarding: RegardingRef
  readonly resourceVersion: string | undefined
}

/** readWorkload reads a workload with the same requests the rollback makes (GET, LIST by selector); never throws. */
export async function readWorkload(apps: AppsV1Api, ref: WorkloadRef, signal?: AbortSignal): Promise<WorkloadRead | KubeFailure> {
  try {
    const s: WorkloadState =
      ref.kind === 'Deployment'
        ? { kind: ref.kind, state: await fetchDeploymentState(apps, ref, signal) }
        : { kind: ref.kind, state: await fetchRevisionState(apps, ref, signal) }
    const meta = s.kind === 'Deployment' ? s.state.deployment.metadata : s.state.workload.metadata
    const resourceVersion = meta?.resourceVersion
    return { kind: 'read', facts: workloadFacts(ref, s), regarding: { ...ref, uid: meta?.uid, resourceVersion }, resourceVersion }
  } catch (err) {
    return classifyError(err, `${refString(ref)}: reading the workload`)
  }
}
