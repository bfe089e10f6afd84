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
  /**
   * What each rule's series were last set to, by group key and rule name: the timestamp keeps its value through
   * evaluations that return nothing, and a gauge is set only when its value changes (alerting rules return the same
   * nothing every time).
   */
  readonly #exported = new Map<string, Map<string, Exported>>()

  constructor(private readonly metrics: RuleDataMetrics) {}

  /** record takes one group iteration (the rule manager's onEvaluation); outcomes are in rule order. */
  record(group: GroupSnapshot, result: GroupEvaluation): void {
    const ruleGroup = groupKey(group.spec)
    const byName = new Map<string, number>()
    group.rules.forEach((rule, i) =>
      byName.set(rule.spec.name, (byName.get(rule.spec.name) ?? 0) + (result.outcomes[i]?.samples ?? 0)),
    )
    let names = this.#exported.get(ruleGroup)
    if (names === undefined) this.#exported.set(ruleGroup, (names = new Map()))
    for (const [alertname, samples] of byName) {
      const was = names.get(alertname)
      const returnedAt = samples > 0 ? group.lastEvaluation : (was?.returnedAt ?? 0)
      if (was?.samples === samples && was.returnedAt === returnedAt) continue
      const labels = { rule_group: ruleGroup, alertname }
      if (was?.samples !== samples) this.metrics.lastSamples.set(labels, samples)
      if (was?.returnedAt !== returnedAt) this.metrics.lastSamplesTimestamp.set(labels, returnedAt / 1000)
      names.set(alertname, { samples, returnedAt })
    }
  }

  /** forget drops a rule that a reload removed: its series leave /metrics. */
  forget(ruleGroup: string, alertname: string): void {
    const names = this.#exported.get(ruleGroup)
    names?.delete(alertname)
    if (names?.size === 0) this.#exported.delete(ruleGroup)
    this.metrics.lastSamples.remove({ rule_group: ruleGroup, alertname })
    this.metrics.lastSamplesTimestamp.remove({ rule_group: ruleGroup, alertname })
  }
}

/** Exported is what a rule's two sample series were last set to; returnedAt is a slot time in Unix ms, 0 for never. */
interface Exported {
  readonly samples: number
  readonly returnedAt: number
}
