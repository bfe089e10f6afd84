import type { GroupEvaluation } from '../engine/group.js'
import { groupKey } from '../engine/spec.js'
import type { RuleDataMetrics } from '../telemetry/rule-data-metrics.js'
import type { GroupSnapshot } from '../engine/snapshot.js'

/**
 * RuleSamples exports what each rule's evaluations returned: the number of series of the last one and when one
 * last returned any. Rules with the same name in one group share the series (their counts are summed). Alerting
 * rules normally return nothing, so these say little about missing data on their own: see the no-data watch.
 */
export class RuleSamples {
  /** lastReturned maps a rule's metric labels (ruleId) to the slot time of its last evaluation that returned series. */
  readonly #lastReturned = new Map<string, number>()

  constructor(private readonly metrics: RuleDataMetrics) {}

  /** record takes one group iteration (the rule manager's onEvaluation); outcomes are in rule order. */
  record(group: GroupSnapshot, result: GroupEvaluation): void {
    const ruleGroup = groupKey(group.spec)
    const byName = new Map<string, number>()
    group.rules.forEach((rule, i) =>
      byName.set(rule.spec.name, (byName.get(rule.spec.name) ?? 0) + (result.outcomes[i]?.samples ?? 0)),
    )
    for (const [alertname, samples] of byName) {
      const labels = { rule_group: ruleGroup, alertname }
      const id = ruleId(ruleGroup, alertname)
      if (samples > 0) this.#lastReturned.set(id, group.lastEvaluation)
      this.metrics.lastSamples.set(labels, samples)
      this.metrics.lastSamplesTimestamp.set(labels, (this.#lastReturned.get(id) ?? 0) / 1000)
    }
  }

  /** forget drops a rule that a reload removed: its series leave /metrics. */
  forget(ruleGroup: string, alertname: string): void {
    this.#lastReturned.delete(ruleId(ruleGroup, alertname))
    this.metrics.lastSamples.remove({ rule_group: ruleGroup, alertname })
    this.metrics.lastSamplesTimestamp.remove({ rule_group: ruleGroup, alertname })
  }
}

/** ruleId joins a rule's metric labels into one key. */
export function ruleId(ruleGroup: string, alertname: string): string {
  return `${ruleGroup}\u0000${alertname}`
}
