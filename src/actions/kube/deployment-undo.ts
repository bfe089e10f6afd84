import { PatchStrategy, type AppsV1Api } from '@kubernetes/client-node'
import { refString, type WorkloadRef } from './client.js'
import { failure, type KubeFailure } from './errors.js'
import {
  ANNOTATIONS_TO_SKIP,
  imagesOf,
  isControlledBy,
  lastAppliedWarning,
  revisionOf,
  type RawReplicaSet,
  type RawWorkload,
} from './model.js'
import { listAllRaw, withRaw } from './raw.js'
import { equalIgnoreHash, selectorString, withoutHash } from './template.js'
import { guard, runUndo } from './undo-exec.js'
import {
  DEFAULT_FIELD_MANAGER,
  recordContext,
  skipped,
  type PlanOutcome,
  type RecordAnnotation,
  type SendOptions,
  type Skipped,
  type UndoOptions,
  type UndoPlan,
  type UndoResult,
} from './undo-result.js'

/** JsonPatchOp is one RFC 6902 operation. */
export interface JsonPatchOp {
  readonly op: 'add' | 'replace'
  readonly path: string
  readonly value: unknown
}

/** DeploymentState is what kubectl reads before an undo: the Deployment and the ReplicaSets its selector matches. */
export interface DeploymentState {
  readonly deployment: RawWorkload
  readonly replicaSets: readonly RawReplicaSet[]
}

/** PlanDeploymentOptions are the inputs of planning besides the fetched state. */
export interface PlanDeploymentOptions {
  readonly toRevision?: number
  readonly record?: RecordAnnotation
}

/** planDeploymentUndo is kubectl's DeploymentRollbacker.Rollback up to the PATCH, as a pure function of the fetched state. */
export function planDeploymentUndo(
  ref: WorkloadRef,
  state: DeploymentState,
  opts: PlanDeploymentOptions = {},
): PlanOutcome {
  const toRevision = opts.toRevision ?? 0
  const d = state.deployment
  const where = refString(ref)
  const early = preflight(ref, d, toRevision)
  if (early) return early
  const owned = state.replicaSets.filter(rs => isControlledBy(rs.metadata, d.metadata?.uid))
  const target = selectTarget(where, ref.name, orderReplicaSets(d, owned), toRevision)
  if (target.kind === 'error') return target
  if (d.spec?.paused === true) {
    return failure(
      'paused',
      `${where}: you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again`,
    )
  }
  if (equalIgnoreHash(target.rs.spec?.template, d.spec?.template)) {
    return skipped(
      'already_matches',
      `${where}: skipped rollback (current template already matches revision ${toRevision})`,
    )
  }
  return { kind: 'plan', plan: buildPlan(ref, d, target, opts.record) }
}

/** preflight is what can be decided from the Deployment alone: a negative revision (kubectl's first check) or a rollout in flight. */
export function preflight(ref: WorkloadRef, d: RawWorkload, toRevision: number): Skipped | KubeFailure | undefined {
  const where = refString(ref)
  if (toRevision < 0)
    return failure('revision_not_found', `${where}: unable to find specified revision ${toRevision} in history`)
  return rolloutInFlight(where, d)
}

// Until the controller has observed the latest template, "second-highest revision" may be computed without the newest RS.
function rolloutInFlight(where: string, d: RawWorkload): Skipped | undefined {
  const generation = d.metadata?.generation ?? 0
  const observed = d.status?.observedGeneration ?? 0
  if (observed >= generation) return undefined
  return skipped(
    'rollout_in_flight',
    `${where}: a rollout is in flight (generation ${generation} not yet observed by the controller, observedGeneration ${observed}); ` +
      'not computing the previous revision until it is',
  )
}

interface Target {
  readonly kind: 'target'
  readonly rs: RawReplicaSet
  readonly revision: number
  readonly latestRevision: number
}

// kubectl's deploymentRevision: walk the RSes in GetAllReplicaSets order tracking the highest and second-highest revision.
function selectTarget(
  where: string,
  name: string,
  ordered: readonly RawReplicaSet[],
  toRevision: number,
): Target | KubeFailure {
  let latest: { rs?: RawReplicaSet; v: number } = { v: -1 }
  let previous: { rs?: RawReplicaSet; v: number } = { v: -1 }
  for (const rs of ordered) {
    const v = revisionOf(rs.metadata)
    if (v === undefined) continue
    if (toRevision > 0) {
      if (v === toRevision) return { kind: 'target', rs, revision: v, latestRevision: maxRevision(ordered) }
    } else if (latest.v < v) {
      previous = latest
      latest = { rs, v }
    } else if (previous.v < v) {
      previous = { rs, v }
    }
  }
  if (toRevision > 0)
    return failure('revision_not_found', `${where}: unable to find specified revision ${toRevision} in history`)
  if (!previous.rs) return failure('no_history', `${where}: no rollout history found for deployment "${name}"`)
  return { kind: 'target', rs: previous.rs, revision: previous.v, latestRevision: latest.v }
}

function maxRevision(rses: readonly RawReplicaSet[]): number {
  return Math.max(-1, ...rses.map(rs => revisionOf(rs.metadata) ?? -1))
}

/** orderReplicaSets is GetAllReplicaSets' order: old RSes by creationTimestamp (name breaks ties), then the "new" RS (oldest matching the template). */
export function orderReplicaSets(d: RawWorkload, owned: readonly RawReplicaSet[]): RawReplicaSet[] {
  const sorted = [...owned].sort(byCreation)
  const i = sorted.findIndex(rs => equalIgnoreHash(rs.spec?.template, d.spec?.template))
  if (i < 0) return sorted
  const [newRs] = sorted.splice(i, 1)
  return newRs ? [...sorted, newRs] : sorted
}

function byCreation(a: RawReplicaSet, b: RawReplicaSet): number {
  const ta = Date.parse(a.metadata?.creationTimestamp ?? '') || 0
  const tb = Date.parse(b.metadata?.creationTimestamp ?? '') || 0
  if (ta !== tb) return ta - tb
  const na = a.metadata?.name ?? ''
  const nb = b.metadata?.name ?? ''
  return na < nb ? -1 : na > nb ? 1 : 0
}

function buildPlan(ref: WorkloadRef, d: RawWorkload, target: Target, record: RecordAnnotation | undefined): UndoPlan {
  const fromRevision = revisionOf(d.metadata) ?? target.latestRevision
  const base = {
    ref,
    fromRevision,
    toRevision: target.revision,
    expectedGeneration: (d.metadata?.generation ?? 0) + 1,
    fromImages: imagesOf(d.spec?.template),
    toImages: imagesOf(target.rs.spec?.template),
  }
  const annotations = rollbackAnnotations(d, target.rs)
  if (record) annotations[record.annotationKey] = record.value(recordContext(base))
  const resourceVersion = d.metadata?.resourceVersion
  const ops: JsonPatchOp[] = []
  // Not in kubectl: an optimistic lock, so a concurrent edit makes the patch fail with 409 instead of being overwritten.
  if (resourceVersion !== undefined)
    ops.push({ op: 'replace', path: '/metadata/resourceVersion', value: resourceVersion })
  ops.push({ op: 'replace', path: '/spec/template', value: withoutHash(target.rs.spec?.template ?? {}) })
  // kubectl always uses replace; on an object without annotations that fails with 422, and RFC 6902 add is the same operation otherwise.
  ops.push({ op: d.metadata?.annotations ? 'replace' : 'add', path: '/metadata/annotations', value: annotations })
  const warning = lastAppliedWarning('Deployment', d.metadata)
  return {
    ...base,
    resourceVersion,
    patch: { contentType: PatchStrategy.JsonPatch, body: ops },
    warnings: warning ? [warning] : [],
  }
}

/** rollbackAnnotations is kubectl's annotation rule: skip-listed keys from the Deployment, every other key from the target ReplicaSet. */
export function rollbackAnnotations(d: RawWorkload, rs: RawReplicaSet): Record<string, string> {
  const out: Record<string, string> = {}
  const current = d.metadata?.annotations ?? {}
  for (const k of ANNOTATIONS_TO_SKIP) if (Object.hasOwn(current, k)) out[k] = current[k] as string
  for (const [k, v] of Object.entries(rs.metadata?.annotations ?? {})) if (!ANNOTATIONS_TO_SKIP.has(k)) out[k] = v
  return out
}

/** fetchDeploymentState reads the Deployment and lists its ReplicaSets by its selector, as raw JSON; throws client errors. */
export async function fetchDeploymentState(
  apps: AppsV1Api,
  ref: WorkloadRef,
  signal?: AbortSignal,
): Promise<DeploymentState> {
  const deployment = await readDeployment(apps, ref, signal)
  return { deployment, replicaSets: await listReplicaSets(apps, ref, deployment, signal) }
}

function readDeployment(apps: AppsV1Api, ref: WorkloadRef, signal?: AbortSignal): Promise<RawWorkload> {
  const { namespace, name } = ref
  return withRaw<RawWorkload>(o => apps.readNamespacedDeployment({ name, namespace }, o), { signal })
}

function listReplicaSets(
  apps: AppsV1Api,
  ref: WorkloadRef,
  deployment: RawWorkload,
  signal?: AbortSignal,
): Promise<RawReplicaSet[]> {
  const namespace = ref.namespace
  const labelSelector = selectorString(deployment.spec?.selector)
  return listAllRaw<RawReplicaSet>(
    (cont, o) => apps.listNamespacedReplicaSet({ namespace, labelSelector, _continue: cont }, o),
    { signal },
  )
}

/** undoDeployment is `kubectl rollout undo deployment/<name> [--to-revision=N] [--dry-run=server]` plus rollguard's guards; never throws. */
export async function undoDeployment(apps: AppsV1Api, ref: WorkloadRef, opts: UndoOptions): Promise<UndoResult> {
  const plan = () =>
    guard(ref, 'reading the deployment and its replica sets', async () => {
      const deployment = await readDeployment(apps, ref, opts.signal)
      const early = preflight(ref, deployment, opts.toRevision ?? 0)
      if (early) return early
      return planDeploymentUndo(
        ref,
        { deployment, replicaSets: await listReplicaSets(apps, ref, deployment, opts.signal) },
        opts,
      )
    })
  const send = (p: UndoPlan) => sendDeploymentPatch(apps, p, opts)
  return runUndo(ref, plan, send, opts)
}

/** sendDeploymentPatch sends a plan's patch (dry-run or not) and returns metadata.generation from the response; throws client errors. */
export async function sendDeploymentPatch(apps: AppsV1Api, p: UndoPlan, opts: SendOptions): Promise<number> {
  const response = await withRaw<RawWorkload>(
    o =>
      apps.patchNamespacedDeployment(
        {
          name: p.ref.name,
          namespace: p.ref.namespace,
          body: p.patch.body,
          dryRun: opts.dryRun ? 'All' : undefined,
          fieldManager: opts.fieldManager ?? DEFAULT_FIELD_MANAGER,
        },
        o,
      ),
    { contentType: p.patch.contentType, signal: opts.signal },
  )
  return response.metadata?.generation ?? p.expectedGeneration
}
