/**
 * GitOps ownership: which Argo CD Application, Flux Kustomization or Flux HelmRelease applies a workload, whether
 * its controller would put the rolled-back template back (so a `rollout undo` would not stick), and the patches
 * that suspend and restore its reconciliation. Read from what a real cluster shows (reference: wave2-facts §4):
 * Argo CD's tracking annotation or instance label, Flux's owner labels, the owner's sync/suspend/drift settings.
 * Pure: the caller reads the owner object and sends the patches.
 */

import type { Labels } from '../engine/types.js'
import type { WorkloadRef } from './workload-ref.js'
import { errorText } from '../errors.js'

/** The GitOps owner kinds rollguard knows, with their API coordinates. */
export const OWNER_KINDS = {
  Application: { group: 'argoproj.io', version: 'v1alpha1', plural: 'applications', controller: 'Argo CD' },
  Kustomization: { group: 'kustomize.toolkit.fluxcd.io', version: 'v1', plural: 'kustomizations', controller: 'Flux' },
  HelmRelease: { group: 'helm.toolkit.fluxcd.io', version: 'v2', plural: 'helmreleases', controller: 'Flux' },
} as const

export type OwnerKind = keyof typeof OWNER_KINDS

/** GitOpsOwner names the object whose controller applies a workload; `via` says what in the workload shows it. */
export interface GitOpsOwner {
  readonly kind: OwnerKind
  readonly namespace: string
  readonly name: string
  readonly via: string
}

/** GitOpsSettings are actions.gitops: the default mode and where Argo CD keeps its Applications. */
export interface GitOpsSettings {
  readonly mode: GitOpsMode
  readonly argocd: { readonly namespace: string; readonly instance_label_key: string }
  readonly revert_window: number
}

/** refuse: never roll back what the owner would revert; suspend: suspend the owner first; ignore: act regardless. */
export type GitOpsMode = 'refuse' | 'suspend' | 'ignore'

/**
 * GitOpsFacts is the policy's view of a workload's owner: none (or reconciliation disabled for the object), an
 * owner whose controller would or would not revert a rollback (and whether rollguard suspended it), or an owner
 * that could not be read.
 */
export type GitOpsFacts =
  | { readonly state: 'unmanaged'; readonly note?: string | undefined }
  | {
      readonly state: 'managed'
      readonly owner: GitOpsOwner
      readonly reverts: boolean
      readonly detail: string
      readonly suspendedByRollguard: boolean
    }
  | { readonly state: 'unreadable'; readonly owner: GitOpsOwner; readonly error: string }

export const ARGO_TRACKING_ANNOTATION = 'argocd.argoproj.io/tracking-id'
export const FLUX_RECONCILE = 'kustomize.toolkit.fluxcd.io/reconcile'
export const HELM_DRIFT_DETECTION = 'helm.toolkit.fluxcd.io/driftDetection'
/** SUSPENDED_ANNOTATION on an owner records what rollguard suspended, so `rollguard gitops resume` restores it exactly. */
export const SUSPENDED_ANNOTATION = 'rollguard.io/suspended'

/**
 * detectOwner reads a workload's labels and annotations. Argo CD's tracking annotation and Flux's owner labels are
 * unambiguous; the instance label alone (also set by Helm charts) is a candidate that counts only if the
 * Application exists (`candidate`). A Flux object with reconciliation disabled is unmanaged.
 */
export function detectOwner(
  ref: WorkloadRef,
  labels: Labels,
  annotations: Labels,
  settings: GitOpsSettings,
): { owner: GitOpsOwner; candidate: boolean } | GitOpsFacts {
  const fluxOff = annotations[FLUX_RECONCILE] ?? labels[FLUX_RECONCILE]
  const tracking = annotations[ARGO_TRACKING_ANNOTATION]
  if (tracking !== undefined) {
    const app = tracking.split(':')[0] ?? ''
    // Applications in any namespace are tracked as "<namespace>_<name>".
    const [ns, name] = app.includes('_') ? (app.split('_', 2) as [string, string]) : [settings.argocd.namespace, app]
    if (name !== '')
      return {
        owner: { kind: 'Application', namespace: ns, name, via: `annotation ${ARGO_TRACKING_ANNOTATION}: ${tracking}` },
        candidate: false,
      }
  }
  for (const [kind, prefix] of [
    ['Kustomization', 'kustomize.toolkit.fluxcd.io'],
    ['HelmRelease', 'helm.toolkit.fluxcd.io'],
  ] as const) {
    const name = labels[`${prefix}/name`]
    if (name === undefined) continue
    if (kind === 'Kustomization' && fluxOff?.toLowerCase() === 'disabled')
      return {
        state: 'unmanaged',
        note: `${FLUX_RECONCILE}: disabled, so Flux neither applies nor corrects ${ref.name}`,
      }
    return {
      owner: {
        kind,
        namespace: labels[`${prefix}/namespace`] ?? ref.namespace,
        name,
        via: `labels ${prefix}/name, ${prefix}/namespace`,
      },
      candidate: false,
    }
  }
  const instance = labels[settings.argocd.instance_label_key]
  if (instance !== undefined)
    return {
      owner: {
        kind: 'Application',
        namespace: settings.argocd.namespace,
        name: instance,
        via: `label ${settings.argocd.instance_label_key}: ${instance}`,
      },
      candidate: true,
    }
  return { state: 'unmanaged' }
}

/** RawOwner is the part of an owner object rollguard reads. */
export interface RawOwner {
  readonly metadata?:
    | { readonly annotations?: Record<string, string> | undefined; readonly resourceVersion?: string | undefined }
    | undefined
  readonly spec?:
    | {
        readonly suspend?: boolean | undefined
        readonly interval?: string | undefined
        readonly syncPolicy?:
          | {
              readonly automated?:
                | ({ readonly selfHeal?: boolean; readonly prune?: boolean; readonly enabled?: boolean } & Record<
                    string,
                    unknown
                  >)
                | null
                | undefined
            }
          | undefined
        readonly driftDetection?: { readonly mode?: string | undefined } | undefined
      }
    | undefined
}

/** ownerFacts says whether the owner's controller would put the rolled-back template back, and why. */
export function ownerFacts(
  owner: GitOpsOwner,
  obj: RawOwner,
  workloadLabels: Labels,
  workloadAnnotations: Labels,
): GitOpsFacts {
  const suspendedByRollguard = obj.metadata?.annotations?.[SUSPENDED_ANNOTATION] !== undefined
  const managed = (reverts: boolean, detail: string): GitOpsFacts => ({
    state: 'managed',
    owner,
    reverts,
    detail,
    suspendedByRollguard,
  })
  const spec = obj.spec ?? {}
  if (owner.kind === 'Application') {
    const auto = spec.syncPolicy?.automated
    if (auto === undefined || auto === null || auto.enabled === false)
      return managed(false, 'automated sync is off: a rollback stays until someone syncs')
    if (auto.selfHeal !== true)
      return managed(false, 'automated sync without selfHeal: a rollback stays until the next change in Git is synced')
    return managed(true, 'automated sync with selfHeal: Argo CD re-applies the Git state within seconds')
  }
  if (spec.suspend === true) return managed(false, 'reconciliation is suspended (spec.suspend: true)')
  if (owner.kind === 'Kustomization')
    return managed(
      true,
      `Flux re-applies the Git state at every reconciliation (spec.interval ${spec.interval ?? 'unset'})`,
    )
  const optOut = workloadAnnotations[HELM_DRIFT_DETECTION] ?? workloadLabels[HELM_DRIFT_DETECTION]
  if (optOut?.toLowerCase() === 'disabled')
    return managed(
      false,
      `${HELM_DRIFT_DETECTION}: disabled on the workload: a rollback stays until the next Helm upgrade`,
    )
  const mode = spec.driftDetection?.mode ?? 'disabled'
  if (mode !== 'enabled')
    return managed(false, `drift detection is ${mode}: a rollback stays until the next Helm upgrade`)
  return managed(
    true,
    `drift detection is enabled: Flux corrects the rollback at the next reconciliation (spec.interval ${spec.interval ?? 'unset'})`,
  )
}

/** describeOwner renders an owner for messages: `Argo CD Application argocd/shop`. */
export function describeOwner(o: Pick<GitOpsOwner, 'kind' | 'namespace' | 'name'>): string {
  return `${OWNER_KINDS[o.kind].controller} ${o.kind} ${o.namespace}/${o.name}`
}

/** SuspensionRecord is what SUSPENDED_ANNOTATION holds: when, by which rollback, and the exact previous setting. */
export interface SuspensionRecord {
  readonly at: string
  readonly workload: string
  /** Argo CD: the previous spec.syncPolicy.automated; Flux: the previous spec.suspend (null: absent). */
  readonly previous: unknown
}

/** suspendPatch is the merge patch that stops the owner from reverting (resourceVersion-guarded). */
export function suspendPatch(
  owner: GitOpsOwner,
  obj: RawOwner,
  record: Omit<SuspensionRecord, 'previous'>,
): Record<string, unknown> {
  const previous =
    owner.kind === 'Application' ? (obj.spec?.syncPolicy?.automated ?? null) : (obj.spec?.suspend ?? null)
  const annotation = JSON.stringify({ ...record, previous } satisfies SuspensionRecord)
  const metadata = {
    resourceVersion: obj.metadata?.resourceVersion,
    annotations: { [SUSPENDED_ANNOTATION]: annotation },
  }
  // A merge patch replaces `automated` only as a whole: null removes it, which is how Argo CD turns auto-sync off.
  if (owner.kind === 'Application') return { metadata, spec: { syncPolicy: { automated: null } } }
  return { metadata, spec: { suspend: true } }
}

/** resumePatch restores what suspendPatch changed, or says why it cannot. */
export function resumePatch(
  owner: Pick<GitOpsOwner, 'kind' | 'namespace' | 'name'>,
  obj: RawOwner,
): { patch: Record<string, unknown>; restored: string } | { error: string } {
  const raw = obj.metadata?.annotations?.[SUSPENDED_ANNOTATION]
  if (raw === undefined)
    return {
      error: `${describeOwner(owner)} has no ${SUSPENDED_ANNOTATION} annotation: rollguard did not suspend it (or it was resumed already)`,
    }
  let record: SuspensionRecord
  try {
    record = JSON.parse(raw) as SuspensionRecord
  } catch (err) {
    return {
      error: `${describeOwner(owner)}: the ${SUSPENDED_ANNOTATION} annotation is not JSON (${errorText(err)}); restore the setting by hand`,
    }
  }
  const metadata = { resourceVersion: obj.metadata?.resourceVersion, annotations: { [SUSPENDED_ANNOTATION]: null } }
  if (owner.kind === 'Application') {
    return {
      patch: { metadata, spec: { syncPolicy: { automated: record.previous ?? null } } },
      restored: `spec.syncPolicy.automated: ${JSON.stringify(record.previous ?? null)}`,
    }
  }
  return {
    patch: { metadata, spec: { suspend: record.previous ?? null } },
    restored: `spec.suspend: ${JSON.stringify(record.previous ?? null)}`,
  }
}

/** effectiveMode is the workload's mode: its first matching allow entry's gitops_mode, else actions.gitops.mode. */
export function effectiveMode(entryMode: GitOpsMode | undefined, settings: GitOpsSettings): GitOpsMode {
  return entryMode ?? settings.mode
}
