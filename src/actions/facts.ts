/**
 * The policy's view of a workload, derived purely from what the rollback itself reads (kubectl's GETs and
 * LISTs). Revisions follow kubectl's target choice: the current revision is the highest owned revision (the
 * controller numbers every new or re-used template max+1) and the previous one the second-highest, which is
 * exactly what `rollout undo` restores.
 *
 * When the current revision became current, and whether it re-applied an older template (an undo by a human,
 * a revert), follows what the API objects show (reference: wave2-facts §1.5): a fresh template got a new
 * ReplicaSet/ControllerRevision, created in the same controller sync; a re-used one keeps its old creation time
 * and gets a higher number (Deployments also note the old number in `revision-history`), so its time is the
 * last write of the workload's pod template, from managedFields.
 */

import type { DeploymentState } from './kube/deployment-undo.js'
import type { WorkloadState } from './kube/operations.js'
import {
  isControlledBy,
  REVISION_HISTORY_ANNOTATION,
  revisionOf,
  type RawManagedField,
  type RawMeta,
  type RawWorkload,
} from './kube/model.js'
import type { RevisionState } from './kube/revision-undo.js'
import type { UndoEvidence, WorkloadFacts } from './policy.js'
import type { WorkloadRef } from './workload-ref.js'

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
    .filter(rs => isControlledBy(rs.metadata, d.metadata?.uid))
    .flatMap((rs): Revision[] => {
      const revision = revisionOf(rs.metadata)
      return revision === undefined ? [] : [{ revision, meta: rs.metadata }]
    })
  return build(ref, d, revisions, d.spec?.paused === true, 'ReplicaSet')
}

/** revisionFacts: revisions from the StatefulSet's or DaemonSet's owned ControllerRevisions (they cannot be paused). */
export function revisionFacts(ref: WorkloadRef, state: RevisionState): WorkloadFacts {
  const w = state.workload
  const revisions = state.revisions
    .filter(cr => isControlledBy(cr.metadata, w.metadata?.uid))
    .map((cr): Revision => ({ revision: cr.revision ?? 0, meta: cr.metadata }))
  return build(ref, w, revisions, false, 'ControllerRevision')
}

function build(
  ref: WorkloadRef,
  w: RawWorkload,
  revisions: readonly Revision[],
  paused: boolean,
  holder: string,
): WorkloadFacts {
  const sorted = [...revisions].sort((a, b) => b.revision - a.revision)
  const [current, previous] = sorted
  const meta = w.metadata
  const undo = current === undefined ? undefined : undoEvidence(current, sorted.slice(1), holder)
  const templateWrite = lastTemplateWrite(meta?.managedFields)
  const since = undo === undefined ? createdAt(current?.meta) : templateWrite?.at
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
    currentRevisionSince: since,
    ...(undo === undefined
      ? {}
      : {
          currentIsUndo: {
            ...undo,
            ...(templateWrite?.manager === undefined ? {} : { manager: templateWrite.manager }),
          },
        }),
  }
}

// A re-used template: the current holder says it had another number before, or it is older than a lower revision.
function undoEvidence(current: Revision, older: readonly Revision[], holder: string): UndoEvidence | undefined {
  const name = current.meta?.name ?? '?'
  const history = current.meta?.annotations?.[REVISION_HISTORY_ANNOTATION]
  if (history !== undefined && history.trim() !== '') {
    return { evidence: `${holder} ${name} (revision ${current.revision}) was revision ${history} before` }
  }
  const created = createdAt(current.meta)
  const newer = older.find(r => created !== undefined && (createdAt(r.meta) ?? -Infinity) > created)
  if (newer === undefined) return undefined
  return {
    evidence: `${holder} ${name} (revision ${current.revision}) is older than ${newer.meta?.name ?? '?'} (revision ${newer.revision})`,
  }
}

/** lastTemplateWrite is the newest managedFields entry owning the pod template (spec.template): when and by whom. */
export function lastTemplateWrite(
  entries: readonly RawManagedField[] | undefined,
): { at: number; manager: string | undefined } | undefined {
  let best: { at: number; manager: string | undefined } | undefined
  for (const e of entries ?? []) {
    if (e.subresource !== undefined && e.subresource !== '') continue
    const spec = e.fieldsV1?.['f:spec']
    const ownsTemplate = typeof spec === 'object' && spec !== null && Object.hasOwn(spec, 'f:template')
    const at = Date.parse(e.time ?? '')
    if (ownsTemplate && Number.isFinite(at) && (best === undefined || at > best.at)) best = { at, manager: e.manager }
  }
  return best
}

function createdAt(meta: RawMeta | undefined): number | undefined {
  const t = Date.parse(meta?.creationTimestamp ?? '')
  return Number.isFinite(t) ? t : undefined
}
