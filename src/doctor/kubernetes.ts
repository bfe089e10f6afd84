import {
  AuthorizationV1Api,
  createConfiguration,
  ServerConfiguration,
  VersionApi,
  type KubeConfig,
} from '@kubernetes/client-node'
import type { ActionsConfig, KubernetesConfig } from '../actions/actions-config.js'
import { contextNamespace } from '../actions/kube/client.js'
import { classifyError } from '../actions/kube/errors.js'
import { BoundedHttpLibrary } from '../actions/kube/http-library.js'
import { timeoutMiddleware } from '../actions/kube/raw.js'
import { loadActionsKubeConfig } from '../actions/service.js'
import { kubeSource } from '../config/kubeconfig-lookup.js'
import type { ShardingConfig } from '../runtime/sharding/config.js'
import { fail, ok, warn, type Check } from './check.js'
import {
  gitopsPermissions,
  leaseNamespace,
  leasePermissions,
  permissionText,
  scopesOf,
  SHARDING_PERMISSIONS,
  shardingNamespace,
  WORKLOAD_PERMISSIONS,
  type Permission,
  type Scope,
} from './permissions.js'
import { errorText } from '../errors.js'

type Env = Readonly<Record<string, string | undefined>>

const RBAC_DOC = 'docs/rbac.md'

/** KubernetesUsers is what in the configuration uses the Kubernetes API: actions, sharding, and their credentials. */
export interface KubernetesUsers {
  readonly actions?: ActionsConfig | undefined
  readonly sharding: ShardingConfig
  readonly kubernetes: KubernetesConfig
}

/**
 * checkKubernetes does what the daemon's actions and sharding do at start (load the kubeconfig the same way, once
 * for both), asks the API server for /version, then asks it — with SelfSubjectAccessReviews, `kubectl auth can-i` —
 * for every permission rollbacks, leader election and sharding need, where they need them.
 */
export async function checkKubernetes(users: KubernetesUsers, env: Env): Promise<Check[]> {
  const { actions, sharding, kubernetes: k } = users
  const usedBy = [actions === undefined ? [] : ['actions'], sharding.enabled ? ['sharding'] : []].flat().join(' and ')
  let kc: KubeConfig
  try {
    kc = loadActionsKubeConfig(k, env)
  } catch (err) {
    return [
      fail(
        'kubeconfig',
        `cannot load the Kubernetes credentials for ${usedBy}: ${errorText(err)}`,
        'set kubernetes.kubeconfig (--kubeconfig) or KUBECONFIG, or run rollguard in a pod with a service account; rollguard run fails the same way',
      ),
    ]
  }
  const server = kc.getCurrentCluster()?.server ?? ''
  const loaded = ok(
    'kubeconfig',
    `credentials from ${describeSource(k, env)}: context "${kc.getCurrentContext()}", API server ${server}`,
  )
  const config = createConfiguration({
    baseServer: new ServerConfiguration(server, {}),
    authMethods: { default: kc },
    httpApi: new BoundedHttpLibrary(k.max_response_bytes),
    middleware: [timeoutMiddleware(k.request_timeout)],
  })
  let version: string | undefined
  try {
    version = (await new VersionApi(config).getCode()).gitVersion
  } catch (err) {
    return [
      loaded,
      fail(
        'kubernetes-api',
        `the Kubernetes API at ${server} does not answer: ${classifyError(err, 'GET /version').message}`,
        'check the cluster server and credentials of the kubeconfig context, and that the API server can be reached from here',
      ),
    ]
  }
  const api = ok('kubernetes-api', `the Kubernetes API at ${server} answers (${version})`)
  const authz = new AuthorizationV1Api(config)
  const contextNs = contextNamespace(kc)
  const [forActions, forSharding] = await Promise.all([
    actions === undefined ? [] : checkActions(authz, actions, k, contextNs),
    sharding.enabled ? checkSharding(authz, sharding, contextNs).then(c => [c]) : [],
  ])
  return [loaded, api, ...forActions, ...forSharding]
}

/** checkActions: the workloads' namespaces of actions.allow, the leader-election Lease and the GitOps owners. */
async function checkActions(
  authz: AuthorizationV1Api,
  actions: ActionsConfig,
  k: KubernetesConfig,
  contextNs: string,
): Promise<Check[]> {
  const scopes = scopesOf(actions)
  const none =
    scopes.length === 0
      ? [
          warn(
            'kubernetes-permissions',
            'actions.allow is empty: no workload may be rolled back, so no namespace is checked',
            'list the namespaces rollguard may roll back in under actions.allow',
          ),
        ]
      : []
  const [permissions, lease, gitops] = await Promise.all([
    Promise.all(scopes.map(scope => checkScope(authz, scope))),
    k.lease.enabled ? checkLease(authz, k, contextNs).then(c => [c]) : [],
    checkGitOps(authz, actions),
  ])
  return [...none, ...permissions, ...lease, gitops]
}

async function checkScope(authz: AuthorizationV1Api, scope: Scope): Promise<Check> {
  const where =
    scope.namespace === ''
      ? `all namespaces (checked cluster-wide for ${scope.because?.join(', ')} in actions.allow)`
      : `namespace "${scope.namespace}"`
  let missing: Permission[]
  try {
    missing = await denied(authz, scope.namespace, WORKLOAD_PERMISSIONS)
  } catch (err) {
    return cannotAsk(where, err)
  }
  if (missing.length === 0)
    return ok(
      'kubernetes-permissions',
      `${where}: all ${WORKLOAD_PERMISSIONS.length} permissions rollbacks need are granted`,
    )
  const list = missing.map(permissionText).join(', ')
  if (scope.namespace === '') {
    // A cluster-wide "no" proves nothing: per-namespace Roles may grant them where the glob or selector matches.
    return warn(
      'kubernetes-permissions',
      `${where}: not granted cluster-wide: ${list}`,
      `rollbacks in each namespace that entry matches need them: bind the ClusterRole of ${RBAC_DOC} there (or cluster-wide); rollguard doctor cannot list which namespaces match`,
    )
  }
  return fail(
    'kubernetes-permissions',
    `${where}: missing ${list}`,
    `grant them with the per-namespace Role of ${RBAC_DOC} (a dry-run rollback needs patch too); check with kubectl auth can-i ${permissionText(missing[0] as Permission)} -n ${scope.namespace} --as <rollguard's user>`,
  )
}

async function checkLease(authz: AuthorizationV1Api, k: KubernetesConfig, contextNs: string): Promise<Check> {
  const namespace = leaseNamespace(k, contextNs)
  const where = `leader election (Lease ${namespace}/${k.lease.name})`
  const needed = leasePermissions(k.lease.name)
  let missing: Permission[]
  try {
    missing = await denied(authz, namespace, needed)
  } catch (err) {
    return cannotAsk(where, err)
  }
  if (missing.length === 0) return ok('kubernetes-permissions', `${where}: get, create and update are granted`)
  return fail(
    'kubernetes-permissions',
    `${where}: missing ${missing.map(permissionText).join(', ')} in namespace "${namespace}"`,
    `grant them with the leader-election Role of ${RBAC_DOC}, or set kubernetes.lease.enabled: false when exactly one replica runs`,
  )
}

// Each replica creates, reads and renews its own member Lease and lists the members by label; a replica that cannot
// keep its Lease or list the others is no member that may evaluate (src/runtime/sharding/fence.ts).
async function checkSharding(authz: AuthorizationV1Api, s: ShardingConfig, contextNs: string): Promise<Check> {
  const namespace = shardingNamespace(s, contextNs)
  const where = `sharding (member Leases ${s.lease_prefix}-* in namespace "${namespace}")`
  let missing: Permission[]
  try {
    missing = await denied(authz, namespace, SHARDING_PERMISSIONS)
  } catch (err) {
    return cannotAsk(where, err, 'sharding-permissions')
  }
  if (missing.length === 0)
    return ok(
      'sharding-permissions',
      `${where}: create, get, update and list on leases.coordination.k8s.io are granted`,
    )
  return fail(
    'sharding-permissions',
    `${where}: missing ${missing.map(permissionText).join(', ')}`,
    `a replica without them evaluates no rule group (one that holds its Lease but cannot list leaves its share of the groups unevaluated): grant them with the Role of deploy/components/sharding (${RBAC_DOC}, "Sharding"); check with kubectl auth can-i ${permissionText(missing[0] as Permission)} -n ${namespace} --as <rollguard's user>`,
  )
}

// GitOps owners are read before every decision on a workload that has one; without access, such workloads are
// refused (the owner is assumed to revert). A warning: clusters without Argo CD or Flux need none of it.
async function checkGitOps(authz: AuthorizationV1Api, actions: ActionsConfig): Promise<Check> {
  const needed = gitopsPermissions(actions)
  let missing: Permission[]
  try {
    missing = (
      await Promise.all(
        needed.map(async ({ namespace, permission }) =>
          (await denied(authz, namespace, [permission])).length > 0 ? [permission] : [],
        ),
      )
    ).flat()
  } catch (err) {
    return cannotAsk('GitOps owners', err)
  }
  const what = `GitOps owners (Argo CD Applications in "${actions.gitops.argocd.namespace}", Flux Kustomizations and HelmReleases)`
  if (missing.length === 0)
    return ok('gitops-permissions', `${what}: ${needed.map(n => permissionText(n.permission)).join(', ')} granted`)
  return warn(
    'gitops-permissions',
    `${what}: missing ${missing.map(permissionText).join(', ')}: workloads they apply will be refused (gitops_managed: owner unreadable)`,
    'only needed with Argo CD or Flux: include deploy/components/gitops (docs/gitops.md)',
  )
}

/** denied asks one SelfSubjectAccessReview per permission and returns those not allowed. */
async function denied(
  authz: AuthorizationV1Api,
  namespace: string,
  permissions: readonly Permission[],
): Promise<Permission[]> {
  const answers = await Promise.all(
    permissions.map(async p => {
      const review = await authz.createSelfSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: {
            resourceAttributes: {
              namespace,
              verb: p.verb,
              group: p.group,
              resource: p.resource,
              ...(p.name === undefined ? {} : { name: p.name }),
            },
          },
        },
      })
      return review.status?.allowed === true
    }),
  )
  return permissions.filter((_, i) => answers[i] !== true)
}

function cannotAsk(where: string, err: unknown, name = 'kubernetes-permissions'): Check {
  return fail(
    name,
    `${where}: cannot ask the API server what rollguard may do: ${classifyError(err, 'SelfSubjectAccessReview').message}`,
    'creating selfsubjectaccessreviews (authorization.k8s.io) is allowed to every authenticated user by default; check the credentials',
  )
}

function describeSource(k: KubernetesConfig, env: Env): string {
  const source = kubeSource(k, env)
  if (source.mode === 'file') return source.path
  if (source.mode === 'in-cluster') return "the pod's service account (in-cluster)"
  return (env['KUBECONFIG'] ?? '') !== ''
    ? `$KUBECONFIG (${env['KUBECONFIG']})`
    : "kubectl's default lookup (~/.kube/config)"
}
