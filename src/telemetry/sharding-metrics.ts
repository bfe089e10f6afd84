import { Gauge, type Registry } from 'prom-client'

/** ShardingMetrics describe this replica's share of the rule groups (docs/sharding.md). */
export interface ShardingMetrics {
  readonly members: Gauge
  readonly groupsOwned: Gauge
  readonly member: Gauge
}

/** createShardingMetrics registers the sharding gauges (only when sharding is enabled). */
export function createShardingMetrics(registry: Registry): ShardingMetrics {
  return {
    members: new Gauge({
      name: 'rollguard_sharding_members',
      help: 'Replicas with an unexpired member Lease as this replica last listed them, itself included while it holds its own.',
      registers: [registry],
    }),
    groupsOwned: new Gauge({
      name: 'rollguard_sharding_groups_owned',
      help: 'Rule groups this replica evaluates now (0 while it cannot prove its membership).',
      registers: [registry],
    }),
    member: new Gauge({
      name: 'rollguard_sharding_member',
      help: '1 while this replica may evaluate: its member Lease renewed and the members listed within renew_deadline, and settled after joining.',
      registers: [registry],
    }),
  }
}
