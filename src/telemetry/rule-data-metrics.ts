import { Counter, type Registry } from 'prom-client'
import { KeyedGauge } from './keyed-metric.js'

/** RuleLabel names identify one alerting rule the way rollguard_alerts does: rule_group is "<file>;<group>". */
export type RuleLabel = 'rule_group' | 'alertname'

/** RuleDataMetrics say, per rule, whether it sees any data (rules with the same name in one group are summed or OR-ed). */
export interface RuleDataMetrics {
  readonly lastSamples: KeyedGauge<RuleLabel>
  readonly lastSamplesTimestamp: KeyedGauge<RuleLabel>
  readonly noData: KeyedGauge<RuleLabel>
  readonly selectorChecks: Counter<'result'>
}

/** createRuleDataMetrics registers the per-rule data metrics on registry. */
export function createRuleDataMetrics(registry: Registry): RuleDataMetrics {
  const r = [registry]
  const labelNames = ['rule_group', 'alertname'] as const
  const checks = new Counter({
    name: 'rollguard_rule_selector_checks_total',
    help: 'Counts of the series a rule selector matches, by result (success, failure), for the no-data check.',
    labelNames: ['result'],
    registers: r,
  })
  // At zero from the start, so rate() sees failures from the first one on.
  for (const result of ['success', 'failure']) checks.inc({ result }, 0)
  return {
    lastSamples: new KeyedGauge({
      name: 'rollguard_rule_last_evaluation_samples',
      help: "Series the rule's last evaluation returned (0 when it failed).",
      labelNames,
      registers: r,
    }),
    lastSamplesTimestamp: new KeyedGauge({
      name: 'rollguard_rule_last_samples_timestamp_seconds',
      help: 'Slot time of the last evaluation that returned any series (0: none since rollguard started).',
      labelNames,
      registers: r,
    }),
    noData: new KeyedGauge({
      name: 'rollguard_rule_no_data',
      help: "Whether none of the rule's selectors matched a series for rules.no_data_for (1): the rule cannot fire.",
      labelNames,
      registers: r,
    }),
    selectorChecks: checks,
  }
}
