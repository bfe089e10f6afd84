import type { Registry } from 'prom-client'
import { KeyedCounter } from './keyed-metric.js'

/** RestoreMetrics count the alert-state restores of rule groups at start and reload. */
export interface RestoreMetrics {
  readonly restores: KeyedCounter<'rule_group' | 'result'>
}

/** createRestoreMetrics registers rollguard_rule_group_restores_total{rule_group, result="restored|skipped|failed"}. */
export function createRestoreMetrics(registry: Registry): RestoreMetrics {
  return {
    restores: new KeyedCounter({
      name: 'rollguard_rule_group_restores_total',
      help: "Alert-state restores of rule groups from the rules' own history at start and reload, by result (failed: the group started fresh).",
      labelNames: ['rule_group', 'result'] as const,
      registers: [registry],
    }),
  }
}
