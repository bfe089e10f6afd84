// Where credentials for the Kubernetes API can come from when none is named: kubectl's lookup, in a leaf module
// so the CLI, the daemon and `rollguard doctor` say the same thing without loading the Kubernetes client.
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

/** NO_CLUSTER_CONFIGURATION is the one-line error when no kubeconfig, no KUBECONFIG and no service account exist. */
export const NO_CLUSTER_CONFIGURATION =
  'no cluster configuration: pass --kubeconfig FILE, set KUBECONFIG, create ~/.kube/config, or run inside a pod'

/** SERVICE_ACCOUNT_DIR is where a pod's service account (token, ca.crt, namespace) is mounted. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount'

/** SERVICE_ACCOUNT_TOKEN is the pod's token; @kubernetes/client-node's default lookup falls back to it. */
export const SERVICE_ACCOUNT_TOKEN = `${SERVICE_ACCOUNT_DIR}/token`

/** homeKubeconfig is ~/.kube/config for the environment's HOME. */
export function homeKubeconfig(env: Readonly<Record<string, string | undefined>>): string {
  return join(env['HOME'] ?? homedir(), '.kube', 'config')
}

/**
 * defaultKubeconfigExists reports whether @kubernetes/client-node's default lookup ($KUBECONFIG, ~/.kube/config,
 * the service account token) finds anything. When it finds nothing, client-node silently uses
 * http://localhost:8080, which only fails later, on every request.
 */
export function defaultKubeconfigExists(
  env: Readonly<Record<string, string | undefined>>,
  tokenPath = SERVICE_ACCOUNT_TOKEN,
): boolean {
  if ((env['KUBECONFIG'] ?? '') !== '') return true
  return existsSync(homeKubeconfig(env)) || existsSync(tokenPath)
}

/** KubeConfigSource says where credentials come from: the pod's service account, a kubeconfig file, or kubectl's default lookup. */
export type KubeConfigSource =
  | {
      readonly mode: 'in-cluster'
      /** Prefix of /var/run/secrets/kubernetes.io/serviceaccount (tests). */
      readonly pathPrefix?: string
    }
  | { readonly mode: 'file'; readonly path: string }
  | { readonly mode: 'default' }

/** LoadKubeConfigOptions selects the source and, for kubeconfig files, an optional context. */
export interface LoadKubeConfigOptions {
  readonly source: KubeConfigSource
  readonly context?: string | undefined
}

/** KubeSourceSettings are the `kubernetes` section's keys that choose the source and the context. */
export interface KubeSourceSettings {
  readonly in_cluster: boolean | 'auto'
  readonly kubeconfig?: string | undefined
  readonly context?: string | undefined
}

/** kubeSource picks the credentials: in_cluster true, an explicit kubeconfig, the pod's service account (auto), or kubectl's lookup. */
export function kubeSource(k: KubeSourceSettings, env: Readonly<Record<string, string | undefined>>): KubeConfigSource {
  if (k.in_cluster === true) return { mode: 'in-cluster' }
  if (k.kubeconfig !== undefined) return { mode: 'file', path: k.kubeconfig }
  if (k.in_cluster === 'auto' && env['KUBERNETES_SERVICE_HOST']) return { mode: 'in-cluster' }
  return { mode: 'default' }
}

/**
 * kubeLoadOptions are the source and context the `kubernetes` section names (actions and sharding load the same);
 * throws with one line when kubectl's lookup finds nothing, where client-node would silently use localhost:8080.
 */
export function kubeLoadOptions(
  k: KubeSourceSettings,
  env: Readonly<Record<string, string | undefined>>,
): LoadKubeConfigOptions {
  const source = kubeSource(k, env)
  if (source.mode === 'default' && !defaultKubeconfigExists(env)) throw new Error(NO_CLUSTER_CONFIGURATION)
  return { source, context: k.context }
}
