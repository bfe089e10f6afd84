// The Kubernetes permissions rollbacks and sharding need (docs/rbac.md, "API calls → permissions"), and where.
import type { ActionsConfig, KubernetesConfig } from '../actions/actions-config.js'
import type { ShardingConfig } from '../runtime/sharding/config.js'

/** Permission is one `kubectl auth can-i` question: verb on group/resource (name: only that object). */
export interface Permission {
  readonly verb: string
  readonly group: string
  readonly resource: string
  readonly name?: string
}

// Workloads are read with GET (never listed: verification polls), patched for the undo (a dry run needs patch
// too); their revisions are listed by selector; the audit Events go to the workload's namespace.
/** WORKLOAD_PERMISSIONS are needed in every namespace rollguard may roll back in. */
export const WORKLOAD_PERMISSIONS: readonly Permission[] = [
  ...['deployments', 'statefulsets', 'daemonsets'].flatMap(resource => [
    { verb: 'get', group: 'apps', resource },
    { verb: 'patch', group: 'apps', resource },
  ]),
  { verb: 'list', group: 'apps', resource: 'replicasets' },
  { verb: 'list', group: 'apps', resource: 'controllerrevisions' },
  { verb: 'create', group: 'events.k8s.io', resource: 'events' },
]

/**
 * gitopsPermissions: reading each kind of GitOps owner (Applications in Argo CD's namespace, Flux objects
 * anywhere), and patching them where an allow entry or the default mode is suspend.
 */
export function gitopsPermissions(actions: ActionsConfig): Array<{ namespace: string; permission: Permission }> {
  const suspends = actions.gitops.mode === 'suspend' || actions.allow.some(e => e.gitops_mode === 'suspend')
  const verbs = suspends ? ['get', 'patch'] : ['get']
  const owners = [
    { namespace: actions.gitops.argocd.namespace, group: 'argoproj.io', resource: 'applications' },
    { namespace: '', group: 'kustomize.toolkit.fluxcd.io', resource: 'kustomizations' },
    { namespace: '', group: 'helm.toolkit.fluxcd.io', resource: 'helmreleases' },
  ]
  return owners.flatMap(({ namespace, group, resource }) =>
    verbs.map(verb => ({ namespace, permission: { verb, group, resource } })),
  )
}

/** leasePermissions are what leader election needs on its Lease (create cannot be narrowed to a name). */
export function leasePermissions(name: string): Permission[] {
  return [
    { verb: 'get', group: 'coordination.k8s.io', resource: 'leases', name },
    { verb: 'create', group: 'coordination.k8s.io', resource: 'leases' },
    { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', name },
  ]
}

/**
 * SHARDING_PERMISSIONS are what each sharding member needs on the member Leases (src/runtime/sharding): its own Lease
 * is created, read and renewed (named after the pod, so not narrowed to a name), and the members are listed by label.
 */
export const SHARDING_PERMISSIONS: readonly Permission[] = ['create', 'get', 'update', 'list'].map(verb => ({
  verb,
  group: 'coordination.k8s.io',
  resource: 'leases',
}))

/** permissionText is kubectl's way to name it: `patch deployments.apps`, `get leases.coordination.k8s.io/rollguard`. */
export function permissionText(p: Permission): string {
  return `${p.verb} ${p.resource}${p.group === '' ? '' : `.${p.group}`}${p.name === undefined ? '' : `/${p.name}`}`
}

/** Scope is where permissions are checked: a namespace, or cluster-wide ("") for allow entries that name none exactly. */
export interface Scope {
  readonly namespace: string
  /** Why cluster-wide: the allow entries that match namespaces by glob or label selector only. */
  readonly because?: readonly string[]
}

/** scopesOf lists the namespaces actions.allow names exactly, then one cluster-wide scope for globs and selector-only entries. */
export function scopesOf(actions: ActionsConfig): Scope[] {
  const exact = new Set<string>()
  const wide: string[] = []
  for (const entry of actions.allow) {
    if (entry.namespace !== undefined && !entry.namespace.includes('*')) exact.add(entry.namespace)
    else
      wide.push(entry.namespace !== undefined ? `namespace "${entry.namespace}"` : `selector "${entry.selector ?? ''}"`)
  }
  const scopes: Scope[] = [...exact].map(namespace => ({ namespace }))
  if (wide.length > 0) scopes.push({ namespace: '', because: wide })
  return scopes
}

/** leaseNamespace is where the Lease lives: kubernetes.lease.namespace, else the context's (the pod's) namespace. */
export function leaseNamespace(k: KubernetesConfig, contextNamespace: string): string {
  return k.lease.namespace ?? contextNamespace
}

/** shardingNamespace is where the member Leases live: sharding.namespace, else the context's (the pod's) namespace. */
export function shardingNamespace(s: ShardingConfig, contextNamespace: string): string {
  return s.namespace ?? contextNamespace
}
