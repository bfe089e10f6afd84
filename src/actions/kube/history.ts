import type { AppsV1Api } from '@kubernetes/client-node'
import { refString, type WorkloadRef } from './client.js'
import { fetchDeploymentState, type DeploymentState } from './deployment-undo.js'
import { classifyError, type KubeFailure } from './errors.js'
import { CHANGE_CAUSE_ANNOTATION, imagesOf, isControlledBy, revisionOf, type RawTemplate } from './model.js'
import { fetchRevisionState, type RevisionState } from './revision-undo.js'
import { equalIgnoreHash, semanticEqual } from './template.js'

/** HistoryEntry is one row of `kubectl rollout history`, plus the images and whether it is the running template. */
export interface HistoryEntry {
  readonly revision: number
  readonly changeCause: string | undefined
  readonly images: readonly string[]
  /** The ReplicaSet or ControllerRevision name. */
  readonly source: string
  readonly current: boolean
}

/** History is the revision list of one workload, oldest first. */
export interface History {
  readonly kind: 'history'
  readonly ref: WorkloadRef
  readonly entries: readonly HistoryEntry[]
}

/** rolloutHistory lists a workload's revisions like `kubectl rollout history`; never throws. */
export async function rolloutHistory(
  apps: AppsV1Api,
  ref: WorkloadRef,
  signal?: AbortSignal,
): Promise<History | KubeFailure> {
  try {
    const entries =
      ref.kind === 'Deployment'
        ? deploymentHistory(await fetchDeploymentState(apps, ref, signal))
        : revisionHistory(await fetchRevisionState(apps, ref, signal))
    return { kind: 'history', ref, entries }
  } catch (err) {
    return classifyError(err, `${refString(ref)}: reading rollout history`)
  }
}

/** deploymentHistory is kubectl's DeploymentHistoryViewer: owned ReplicaSets keyed by revision (unparsable ones skipped, a later duplicate wins). */
export function deploymentHistory(state: DeploymentState): HistoryEntry[] {
  const d = state.deployment
  const byRevision = new Map<number, HistoryEntry>()
  for (const rs of state.replicaSets) {
    if (!isControlledBy(rs.metadata, d.metadata?.uid)) continue
    const revision = revisionOf(rs.metadata)
    if (revision === undefined) continue
    const template = rs.spec?.template
    byRevision.set(
      revision,
      entry(
        revision,
        rs.metadata?.annotations,
        template,
        rs.metadata?.name,
        equalIgnoreHash(template, d.spec?.template),
      ),
    )
  }
  return sorted(byRevision)
}

/** revisionHistory is kubectl's StatefulSet/DaemonSet history viewer over owned ControllerRevisions. */
export function revisionHistory(state: RevisionState): HistoryEntry[] {
  const w = state.workload
  const byRevision = new Map<number, HistoryEntry>()
  for (const cr of state.revisions) {
    if (!isControlledBy(cr.metadata, w.metadata?.uid)) continue
    const template = templateOfData(cr.data)
    const current = semanticEqual(template, w.spec?.template)
    byRevision.set(
      cr.revision ?? 0,
      entry(cr.revision ?? 0, cr.metadata?.annotations, template, cr.metadata?.name, current),
    )
  }
  return sorted(byRevision)
}

function entry(
  revision: number,
  annotations: Record<string, string> | undefined,
  template: RawTemplate | undefined,
  source: string | undefined,
  current: boolean,
): HistoryEntry {
  const cause = annotations?.[CHANGE_CAUSE_ANNOTATION]
  return {
    revision,
    changeCause: cause === '' ? undefined : cause,
    images: imagesOf(template),
    source: source ?? '',
    current,
  }
}

function templateOfData(data: unknown): RawTemplate | undefined {
  const parsed = typeof data === 'string' ? safeParse(data) : data
  const template = (parsed as { spec?: { template?: RawTemplate & { $patch?: string } } } | undefined)?.spec?.template
  if (!template) return undefined
  const { $patch: _directive, ...rest } = template
  return rest
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function sorted(byRevision: Map<number, HistoryEntry>): HistoryEntry[] {
  return [...byRevision.values()].sort((a, b) => a.revision - b.revision)
}

/** formatHistory renders kubectl's table (REVISION, CHANGE-CAUSE) with an IMAGES column and the running revision marked. */
export function formatHistory(history: History): string {
  const rows = [['REVISION', 'CHANGE-CAUSE', 'IMAGES']]
  for (const e of history.entries) {
    rows.push([`${e.revision}${e.current ? '*' : ''}`, e.changeCause ?? '<none>', e.images.join(',') || '<none>'])
  }
  const widths = [0, 1].map(i => Math.max(...rows.map(r => (r[i] ?? '').length)))
  const lines = rows.map(r =>
    r
      .map((cell, i) => (i < 2 ? cell.padEnd((widths[i] ?? 0) + 2) : cell))
      .join('')
      .trimEnd(),
  )
  return `${refString(history.ref).replace(/ -n .*$/, '')}\n${lines.join('\n')}\n`
}
