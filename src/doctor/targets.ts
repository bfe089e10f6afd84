import { targetOf } from '../actions/trigger.js'
import type { ActionsConfig } from '../actions/actions-config.js'
import type { Labels, Sample } from '../engine/types.js'
import { fail, ok, warn, type Check } from './check.js'
import type { RuleRef } from './rule-ref.js'

const NAME = 'rule-targets'

/** isTriggerRule reports whether the rule's own labels mark its alerts as rollback triggers (actions.trigger). */
export function isTriggerRule(ref: RuleRef, actions: ActionsConfig, now: number): boolean {
  const template = ref.rule.labels[actions.trigger.label]
  return (
    template !== undefined &&
    template.expand({ labels: {}, externalLabels: {}, externalURL: '', value: 0 }, now) === actions.trigger.value
  )
}

/**
 * checkTargets looks at the series a trigger rule's expression returns without its threshold, labelled as its
 * alerts would be (series labels, then the rule's templated labels), and asks the executor's own targetOf whether
 * each names exactly one workload: an alert that names none is recorded as ignored and never rolled back.
 */
export function checkTargets(
  ref: RuleRef,
  described: string,
  samples: readonly Sample[],
  actions: ActionsConfig,
  now: number,
): Check {
  if (samples.length === 0) {
    return warn(
      NAME,
      `${described}: a rollback trigger, but its expression without the threshold returns no series now, so the workload its alerts would name cannot be checked`,
      'run rollguard doctor again while the metrics the rule reads have data (e.g. while the service gets traffic)',
    )
  }
  const alerts = samples.map(s => alertLabels(ref, s, now))
  const broken = alerts.flatMap(labels => {
    const target = targetOf(labels, actions.targets)
    return 'reason' in target ? [{ labels, message: target.message }] : []
  })
  const first = broken[0]
  if (first === undefined) {
    const example = targetOf(alerts[0] as Labels, actions.targets)
    const named = 'reason' in example ? '' : `, e.g. ${example.kind} ${example.namespace}/${example.name}`
    return ok(NAME, `${described}: its alerts name the workload to roll back (${alerts.length} series${named})`)
  }
  const share = broken.length === alerts.length ? `its alerts` : `${broken.length} of its ${alerts.length} alerts`
  return fail(
    NAME,
    `${described}: a rollback trigger, but ${share} would name no workload to roll back: ${first.message} (e.g. ${formatLabels(first.labels)})`,
    `give the expression's result those labels (e.g. sum by (namespace, deployment), or label_replace from pod) or set them as rule labels; actions.targets says which labels name the workload`,
  )
}

/** alertLabels are the labels an alert for this series gets, as the rule engine builds them (alertname aside). */
function alertLabels(ref: RuleRef, sample: Sample, now: number): Labels {
  const labels: Record<string, string> = {}
  for (const [name, value] of Object.entries(sample.labels)) if (name !== '__name__') labels[name] = value
  const data = { labels: { ...labels }, externalLabels: {}, externalURL: '', value: sample.value }
  for (const name of Object.keys(ref.rule.labels).sort()) {
    const value = ref.rule.labels[name]?.expand(data, now) ?? ''
    if (value === '') delete labels[name]
    else labels[name] = value
  }
  return labels
}

/** formatLabels prints a label set like Prometheus: {a="b", c="d"}. */
export function formatLabels(labels: Labels): string {
  return `{${Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ')}}`
}
