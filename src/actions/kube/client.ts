import type https from 'node:https'
import {
  AppsV1Api,
  CustomObjectsApi,
  EventsV1Api,
  KubeConfig,
  ServerConfiguration,
  createConfiguration,
} from '@kubernetes/client-node'
import { DEFAULT_LIMITS } from '../../sources/bounded-body.js'
import type { KubeConfigSource, LoadKubeConfigOptions } from '../../config/kubeconfig-lookup.js'
import type { ApiEndpoint } from './endpoint.js'
import { BoundedHttpLibrary } from './http-library.js'
import { LeaseClient, type LeaseApi } from './lease-api.js'
import { timeoutMiddleware } from './raw.js'

export { refString } from '../workload-ref.js'
export type { WorkloadKind, WorkloadRef } from '../workload-ref.js'

export type { KubeConfigSource, LoadKubeConfigOptions } from '../../config/kubeconfig-lookup.js'

/** KubeClients bundles the API groups rollguard talks to; all share one KubeConfig. */
export interface KubeClients {
  readonly apps: AppsV1Api
  /** GitOps owners: Argo CD Applications, Flux Kustomizations and HelmReleases. */
  readonly custom: CustomObjectsApi
  /** Leases (leader election), over rollguard's own client with the same credentials. */
  readonly leases: LeaseApi
  readonly events: EventsV1Api
  /** The namespace of the selected context (the pod's namespace in-cluster), 'default' when none. */
  readonly namespace: string
}

/** DEFAULT_REQUEST_TIMEOUT_MS bounds every API request; node-fetch has no timeout of its own. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000

/** loadKubeConfig builds a KubeConfig from the given source; throws with a clear message on a missing context or cluster. */
export function loadKubeConfig(opts: LoadKubeConfigOptions): KubeConfig {
  const kc = new KubeConfig()
  const { source } = opts
  if (source.mode === 'in-cluster') loadInCluster(kc, source.pathPrefix)
  else if (source.mode === 'file') kc.loadFromFile(source.path)
  else kc.loadFromDefault()
  if (opts.context !== undefined) selectContext(kc, opts.context, source)
  if (!kc.getCurrentCluster())
    throw new Error(`kubeconfig (${describeSource(source)}): the current context has no cluster`)
  return kc
}

function loadInCluster(kc: KubeConfig, pathPrefix: string | undefined): void {
  // client-node would otherwise build the server URL "https://undefined:undefined".
  if (!process.env['KUBERNETES_SERVICE_HOST'] || !process.env['KUBERNETES_SERVICE_PORT']) {
    throw new Error(
      'kubeconfig (in-cluster): KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set (not running in a pod?)',
    )
  }
  kc.loadFromCluster(pathPrefix)
}

function selectContext(kc: KubeConfig, context: string, source: KubeConfigSource): void {
  if (!kc.getContextObject(context)) {
    const known =
      kc
        .getContexts()
        .map(c => c.name)
        .join(', ') || 'none'
    throw new Error(`kubeconfig (${describeSource(source)}): context "${context}" not found (known: ${known})`)
  }
  kc.setCurrentContext(context)
}

function describeSource(source: KubeConfigSource): string {
  return source.mode === 'file' ? `file ${source.path}` : source.mode
}

/** contextNamespace is the namespace of the current context, 'default' when it names none. */
export function contextNamespace(kc: KubeConfig): string {
  return kc.getContextObject(kc.getCurrentContext())?.namespace || 'default'
}

/**
 * makeClients builds the API clients for kc; every request is bounded by requestTimeoutMs, every answer by
 * maxResponseBytes (kubernetes.max_response_bytes, default 16 MiB).
 */
export function makeClients(
  kc: KubeConfig,
  opts: { requestTimeoutMs?: number; maxResponseBytes?: number } = {},
): KubeClients {
  const cluster = kc.getCurrentCluster()
  if (!cluster) throw new Error('kubeconfig: no active cluster')
  // Same as KubeConfig.makeApiClient, plus one static middleware that bounds each request and a transport that
  // bounds each answer.
  const config = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kc },
    httpApi: new BoundedHttpLibrary(opts.maxResponseBytes ?? DEFAULT_LIMITS.kubernetes),
    middleware: [timeoutMiddleware(opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS)],
  })
  return {
    apps: new AppsV1Api(config),
    custom: new CustomObjectsApi(config),
    leases: new LeaseClient(kubeConfigEndpoint(kc), {
      requestTimeoutMs: opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      maxResponseBytes: opts.maxResponseBytes ?? DEFAULT_LIMITS.kubernetes,
    }),
    events: new EventsV1Api(config),
    namespace: contextNamespace(kc),
  }
}

/**
 * kubeConfigEndpoint is kc's API server and credentials for rollguard's own requests, with every authenticator
 * client-node has (exec plugins, auth providers, token files) and its TLS or proxy agent, as the generated clients
 * get them.
 */
export function kubeConfigEndpoint(kc: KubeConfig): ApiEndpoint {
  const cluster = kc.getCurrentCluster()
  if (!cluster) throw new Error('kubeconfig: no active cluster')
  return {
    server: cluster.server,
    namespace: contextNamespace(kc),
    authorize: async () => {
      const opts: https.RequestOptions = {}
      await kc.applyToHTTPSOptions(opts)
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(opts.headers ?? {}))
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : String(value)
      // client-node gives basic auth as `auth`, which node:http turns into a header only when none is set.
      if (opts.auth && headers['Authorization'] === undefined)
        headers['Authorization'] = `Basic ${Buffer.from(opts.auth).toString('base64')}`
      return { agent: typeof opts.agent === 'object' ? opts.agent : undefined, headers }
    },
  }
}
