/**
 * The policy's view of a workload, derived purely from what the rollback itself reads (kubectl's GETs and
 * LISTs). Revisions follow kubectl's target choice: the current revision is the highest owned revision (the
 * controller numbers every new or re-used template max+1) and the previous one the second-highest, which is
 * exactly what `rollout undo` restores.
 */

import type { DeploymentState } from './kube/deployment-undo.js'
import { isControlledBy, revisionOf, type RawMeta, type RawWorkload } from './kube/model.js'
import type { RevisionState } from './kube/revision-undo.js'
import type { WorkloadFacts, WorkloadRef } from './policy.js'

/** WorkloadState is the fetched state of any supported workload. */
export type WorkloadState =
  | { readonly kind: 'Deployment'; readonly state: DeploymentState }
  | { readonly kind: 'StatefulSet' | 'DaemonSet'; readonly state: RevisionState }

interface Revision {
  readonly revision: number
  readonly meta: RawMeta | undefined
}

/** workloadFacts derives the policy facts of any workload. */
export function workloadFacts(ref: WorkloadRef, s: WorkloadState): WorkloadFacts {
  return s.kind === 'Deployment' ? deploymentFacts(ref, s.state) : revisionFacts(ref, s.state)
}

/** deploymentFacts: revisions from the Deployment's owned ReplicaSets (missing annotation = 0, unparsable skipped, as kubectl). */
export function deploymentFacts(ref: WorkloadRef, state: DeploymentState): WorkloadFacts {
  const d = state.deployment
  const revisions = state.replicaSets
    .filter((rs) => isControlledBy(rs.metadata, d.metadata?.uid))
    .flatMap((rs): Revision[] => {
      const revision = revisionOf(rs.metadata)
      return revision === undefined ? [] : [{ revision, meta: rs.metadata }]
    })
  return build(ref, d, revisions, d.spec?.paused === true)
}

/** revisionFacts: revisions from the StatefulSet's or DaemonSet's owned ControllerRevisions (they cannot be paused). */
export function revisionFacts(ref: WorkloadRef, state: RevisionState): WorkloadFacts {
  const w = state.workload
  const revisions = state.revisions
    .filter((cr) => isControlledBy(cr.metadata, w.metadata?.uid))
    .map((cr): Revision => ({ revision: cr.revision ?? 0, meta: cr.metadata }))
  return build(ref, w, revisions, false)
}

function build(ref: WorkloadRef, w: RawWorkload, revisions: readonly Revision[], paused: boolean): WorkloadFacts {
  const [current, previous] = [...revisions].sort((a, b) => b.revision - a.revision)
  const meta = w.metadata
  return {
    ref,
    labels: meta?.labels ?? {},
    annotations: meta?.annotations ?? {},
    paused,
    generation: meta?.generation ?? 0,
    observedGeneration: w.status?.observedGeneration ?? 0,
    // With no owned revision at all, the Deployment's own annotation is the best available answer.
    currentRevision: current?.revision ?? revisionOf(meta) ?? 0,
    previousRevision: previous?.revision,
    currentRevisionSince: createdAt(current?.meta),
  }
}

function createdAt(meta: RawMeta | undefined): number | undefined {
  const t = Date.parse(meta?.creationTimestamp ?? '')
  return Number.isFinite(t) ? t : undefined
}
