/**
 * The workload a rollback acts on, and the ways it is named: one home for the type and its renderings, so logs,
 * events, alerts and the status page all say the same thing.
 */

/** WorkloadKind is a kind rollguard can roll back (the kinds `kubectl rollout undo` supports). */
export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet'

/** WorkloadRef names one workload. */
export interface WorkloadRef {
  readonly kind: WorkloadKind
  readonly namespace: string
  readonly name: string
}

/** workloadKey is a stable map key for a workload. */
export function workloadKey(ref: WorkloadRef): string {
  return `${ref.kind}/${ref.namespace}/${ref.name}`
}

/** describeWorkload is the human form used in messages and logs: `Deployment shop/checkout`. */
export function describeWorkload(ref: WorkloadRef): string {
  return `${ref.kind} ${ref.namespace}/${ref.name}`
}

/** refString renders a ref the way kubectl names objects: `deployment.apps/checkout -n shop`. */
export function refString(ref: WorkloadRef): string {
  return `${ref.kind.toLowerCase()}.apps/${ref.name} -n ${ref.namespace}`
}
