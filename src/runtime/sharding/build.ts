/**
 * Builds the shard coordinator from the config: the Kubernetes credentials of the `kubernetes` section (as actions
 * use them), the member Leases' namespace (default: the context's) and this replica's identity (default: the host
 * name, the pod name in Kubernetes). Imported only when sharding is on. The member Lease goes through rollguard's
 * own Lease client: with static credentials (the pod's service account, a token, a client certificate) the
 * replica never loads @kubernetes/client-node; exec plugins and auth providers load it for its KubeConfig.
 */

import { hostname } from 'node:os'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { ApiEndpoint } from '../../actions/kube/endpoint.js'
import { LeaseClient } from '../../actions/kube/lease-api.js'
import { staticEndpoint } from '../../actions/kube/static-credentials.js'
import { kubeLoadOptions } from '../../config/kubeconfig-lookup.js'
import type { ConfigDocument } from '../../config/schema.js'
import { errorText } from '../../errors.js'
import { createShardingMetrics } from '../../telemetry/sharding-metrics.js'
import { ShardCoordinator } from './coordinator.js'

/** ShardingDeps connect the coordinator to the daemon. */
export interface ShardingDeps {
  readonly logger: Logger
  readonly registry: Registry
  readonly env: Readonly<Record<string, string | undefined>>
  readonly groupKeys: () => readonly string[]
}

/** buildShardCoordinator connects to Kubernetes (not started); throws when no kubeconfig can be loaded. */
export async function buildShardCoordinator(doc: ConfigDocument, deps: ShardingDeps): Promise<ShardCoordinator> {
  const k = doc.kubernetes
  const s = doc.sharding
  let endpoint: ApiEndpoint
  try {
    endpoint = await leaseEndpoint(k, deps.env)
  } catch (err) {
    throw new Error(`sharding needs the Kubernetes API (the kubernetes section): ${errorText(err)}`, { cause: err })
  }
  const leases = new LeaseClient(endpoint, {
    requestTimeoutMs: k.request_timeout,
    maxResponseBytes: k.max_response_bytes,
  })
  const logger = deps.logger.child({ component: 'sharding' })
  const coordinator = new ShardCoordinator(
    {
      namespace: s.namespace ?? endpoint.namespace,
      identity: s.identity ?? hostname(),
      leasePrefix: s.lease_prefix,
      leaseDurationMs: s.lease_duration,
      renewDeadlineMs: s.renew_deadline,
      retryPeriodMs: s.retry_period,
    },
    {
      leases,
      logger,
      metrics: createShardingMetrics(deps.registry),
      groupKeys: deps.groupKeys,
    },
  )
  logger.info(
    { identity: coordinator.identity, namespace: coordinator.settings.namespace },
    'sharding: the rule groups are split between the replicas holding a member Lease',
  )
  // Actions stay with the actions leader: triggers of groups other replicas evaluate reach it only through Alertmanager.
  if (doc.actions !== undefined && doc.webhook === undefined)
    logger.warn(
      'sharding with actions but no webhook: only triggers of the groups the leader evaluates itself are acted on (docs/sharding.md)',
    )
  return coordinator
}

/** leaseEndpoint is the kubernetes section's API server and credentials, without client-node when they are static. */
async function leaseEndpoint(k: ConfigDocument['kubernetes'], env: ShardingDeps['env']): Promise<ApiEndpoint> {
  const opts = kubeLoadOptions(k, env)
  const found = staticEndpoint(opts, env)
  if (found !== undefined) return found
  const { loadKubeConfig, kubeConfigEndpoint } = await import('../../actions/kube/client.js')
  return kubeConfigEndpoint(loadKubeConfig(opts))
}
