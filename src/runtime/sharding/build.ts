/**
 * Builds the shard coordinator from the config: the Kubernetes credentials of the `kubernetes` section (as actions
 * use them), the member Leases' namespace (default: the context's) and this replica's identity (default: the host
 * name, the pod name in Kubernetes). Imported only when sharding is on, so no other daemon loads the client.
 */

import { hostname } from 'node:os'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { makeClients } from '../../actions/kube/client.js'
import { loadActionsKubeConfig } from '../../actions/service.js'
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
export function buildShardCoordinator(doc: ConfigDocument, deps: ShardingDeps): ShardCoordinator {
  const k = doc.kubernetes
  const s = doc.sharding
  let clients
  try {
    const kc = loadActionsKubeConfig(k, deps.env)
    clients = makeClients(kc, { requestTimeoutMs: k.request_timeout, maxResponseBytes: k.max_response_bytes })
  } catch (err) {
    throw new Error(`sharding needs the Kubernetes API (the kubernetes section): ${errorText(err)}`, { cause: err })
  }
  const logger = deps.logger.child({ component: 'sharding' })
  const coordinator = new ShardCoordinator(
    {
      namespace: s.namespace ?? clients.namespace,
      identity: s.identity ?? hostname(),
      leasePrefix: s.lease_prefix,
      leaseDurationMs: s.lease_duration,
      renewDeadlineMs: s.renew_deadline,
      retryPeriodMs: s.retry_period,
    },
    {
      coordination: clients.coordination,
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
