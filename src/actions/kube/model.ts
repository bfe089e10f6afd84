// Raw JSON shapes as the API server sends them. Only the fields rollguard reads are named; everything else is
// carried through untouched, so a template written back keeps fields newer than this code (and client-node).

/** RawOwnerReference is metav1.OwnerReference as JSON. */
export interface RawOwnerReference {
  readonly apiVersion?: string
  readonly kind?: string
  readonly name?: string
  readonly uid?: string
  readonly controller?: boolean
}

/** RawManagedField is a metav1.ManagedFieldsEntry: which manager owns which fields, and when it last changed them. */
export interface RawManagedField {
  readonly manager?: string
  readonly operation?: string
  readonly subresource?: string
  readonly time?: string
  readonly fieldsV1?: Record<string, unknown>
}

/** RawMeta is the part of metav1.ObjectMeta rollguard reads. */
export interface RawMeta {
  readonly name?: string
  readonly namespace?: string
  readonly uid?: string
  readonly resourceVersion?: string
  readonly generation?: number
  readonly creationTimestamp?: string
  readonly labels?: Record<string, string>
  readonly annotations?: Record<string, string>
  readonly ownerReferences?: readonly RawOwnerReference[]
  readonly managedFields?: readonly RawManagedField[]
}

/** RawLabelSelector is metav1.LabelSelector as JSON. */
export interface RawLabelSelector {
  readonly matchLabels?: Record<string, string>
  readonly matchExpressions?: readonly {
    readonly key: string
    readonly operator: string
    readonly values?: readonly string[]
  }[]
}

/** RawContainer is the part of a container rollguard reads. */
export interface RawContainer {
  readonly name?: string
  readonly image?: string
  readonly [k: string]: unknown
}

/** RawTemplate is a core/v1 PodTemplateSpec as JSON. */
export interface RawTemplate {
  readonly metadata?: {
    readonly labels?: Record<string, string>
    readonly annotations?: Record<string, string>
    readonly [k: string]: unknown
  }
  readonly spec?: {
    readonly containers?: readonly RawContainer[]
    readonly initContainers?: readonly RawContainer[]
    readonly [k: string]: unknown
  }
  readonly [k: string]: unknown
}

/** RawCondition is a workload status condition. */
export interface RawCondition {
  readonly type?: string
  readonly status?: string
  readonly reason?: string
  readonly message?: string
  readonly lastUpdateTime?: string
  readonly lastTransitionTime?: string
}

/** RawWorkloadStatus merges the status fields of Deployments, StatefulSets and DaemonSets. */
export interface RawWorkloadStatus {
  readonly observedGeneration?: number
  readonly replicas?: number
  readonly updatedReplicas?: number
  readonly readyReplicas?: number
  readonly availableReplicas?: number
  readonly currentReplicas?: number
  readonly currentRevision?: string
  readonly updateRevision?: string
  readonly desiredNumberScheduled?: number
  readonly updatedNumberScheduled?: number
  readonly numberAvailable?: number
  readonly conditions?: readonly RawCondition[]
}

/** RawWorkload is a Deployment, StatefulSet or DaemonSet as JSON. */
export interface RawWorkload {
  readonly apiVersion?: string
  readonly kind?: string
  readonly metadata?: RawMeta
  readonly spec?: {
    readonly selector?: RawLabelSelector
    readonly template?: RawTemplate
    readonly paused?: boolean
    readonly replicas?: number
    readonly updateStrategy?: { readonly type?: string; readonly rollingUpdate?: { readonly partition?: number } }
    readonly [k: string]: unknown
  }
  readonly status?: RawWorkloadStatus
}

/** RawReplicaSet is an apps/v1 ReplicaSet as JSON. */
export interface RawReplicaSet {
  readonly metadata?: RawMeta
  readonly spec?: { readonly template?: RawTemplate; readonly replicas?: number }
}

/** RawControllerRevision is an apps/v1 ControllerRevision as JSON; `data` is the stored patch. */
export interface RawControllerRevision {
  readonly metadata?: RawMeta
  readonly revision?: number
  readonly data?: unknown
}

/** RawList is any list response. */
export interface RawList<T> {
  readonly metadata?: { readonly continue?: string; readonly resourceVersion?: string }
  readonly items?: readonly T[]
}

/** REVISION_HISTORY_ANNOTATION lists the revision numbers a re-used ReplicaSet had before (deployment controller). */
export const REVISION_HISTORY_ANNOTATION = 'deployment.kubernetes.io/revision-history'
/** REVISION_ANNOTATION is the Deployment/ReplicaSet revision annotation. */
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision'
/** CHANGE_CAUSE_ANNOTATION is the change-cause annotation `kubectl rollout history` shows. */
export const CHANGE_CAUSE_ANNOTATION = 'kubernetes.io/change-cause'
/** LAST_APPLIED_ANNOTATION is kubectl apply's annotation (undo warns about it, as kubectl does). */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration'
/** HASH_LABEL is the label the deployment controller adds to ReplicaSet templates. */
export const HASH_LABEL = 'pod-template-hash'

/** ANNOTATIONS_TO_SKIP is kubectl's (and the deployment controller's) list of annotations a rollback keeps from the Deployment. */
export const ANNOTATIONS_TO_SKIP: ReadonlySet<string> = new Set([
  LAST_APPLIED_ANNOTATION,
  REVISION_ANNOTATION,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
])

/** revisionOf is deploymentutil.Revision: a missing annotation is revision 0, an unparsable one is undefined (skipped). */
export function revisionOf(meta: RawMeta | undefined): number | undefined {
  const v = meta?.annotations?.[REVISION_ANNOTATION]
  if (v === undefined) return 0
  return /^[+-]?\d+$/.test(v) ? Number(v) : undefined
}

/** isControlledBy is metav1.IsControlledBy: some ownerReference is the controller and carries the owner's UID. */
export function isControlledBy(meta: RawMeta | undefined, ownerUid: string | undefined): boolean {
  if (!ownerUid) return false
  return (meta?.ownerReferences ?? []).some(r => r.controller === true && r.uid === ownerUid)
}

/** imagesOf lists the images of a template's init and regular containers, in order. */
export function imagesOf(template: RawTemplate | undefined): string[] {
  const containers = [...(template?.spec?.initContainers ?? []), ...(template?.spec?.containers ?? [])]
  return containers.map(c => c.image ?? '')
}

/** lastAppliedWarning is kubectl's warning for objects managed with `kubectl apply`, or undefined. */
export function lastAppliedWarning(kind: string, meta: RawMeta | undefined): string | undefined {
  if (meta?.annotations?.[LAST_APPLIED_ANNOTATION] === undefined) return undefined
  return (
    `resource ${kind.toLowerCase()}s/${meta.name ?? ''} was previously managed with 'kubectl apply'. ` +
    `Rolling back will not update the ${LAST_APPLIED_ANNOTATION} annotation, which may cause unexpected behavior ` +
    `on future 'kubectl apply' operations. Consider using 'kubectl apply' with your previous configuration file instead.`
  )
}
