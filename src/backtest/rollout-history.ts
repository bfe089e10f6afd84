import type { AppsV1Api } from '@kubernetes/client-node'
import { classifyError } from '../actions/kube/errors.js'
import { isControlledBy, revisionOf, type RawMeta } from '../actions/kube/model.js'
import { fetchWorkloadState, workloadObject } from '../actions/kube/operations.js'
import { refString, type WorkloadRef } from '../actions/workload-ref.js'
import type { Rollout, RolloutHistory } from './would-be.js'

/**
 * readRolloutHistory reads a workload's rollouts from the Kubernetes API: its ReplicaSets (ControllerRevisions)
 * in creation order. A template re-applied later (an undo) shows at its first rollout; revisions deleted by
 * revisionHistoryLimit are gone. Never throws.
 */
export async function readRolloutHistory(
  apps: AppsV1Api,
  ref: WorkloadRef,
  signal?: AbortSignal,
): Promise<RolloutHistory> {
  try {
    const state = await fetchWorkloadState(apps, ref, signal)
    const owner = workloadObject(state).metadata
    const holders: Array<{ meta: RawMeta | undefined; revision: number | undefined }> =
      state.kind === 'Deployment'
        ? state.state.replicaSets.map(rs => ({ meta: rs.metadata, revision: revisionOf(rs.metadata) }))
        : state.state.revisions.map(cr => ({ meta: cr.metadata, revision: cr.revision }))
    const rollouts = holders
      .filter(h => isControlledBy(h.meta, owner?.uid))
      .flatMap((h): Rollout[] => {
        const at = Date.parse(h.meta?.creationTimestamp ?? '')
        return Number.isFinite(at) && h.revision !== undefined
          ? [{ revision: h.revision, at, name: h.meta?.name ?? '' }]
          : []
      })
      .sort((a, b) => a.at - b.at || a.revision - b.revision)
    return { labels: owner?.labels ?? {}, rollouts, source: 'kubernetes' }
  } catch (err) {
    return { error: classifyError(err, `${refString(ref)}: reading the rollout history`).message }
  }
}
