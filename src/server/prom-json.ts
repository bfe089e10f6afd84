import { activeAlerts, ruleState } from '../engine/alerting.js'
import { formatPrometheusApiValue } from '../engine/format.js'
import { sortedLabels } from '../engine/labels.js'
import type { AlertState, Labels, RuleHealth, RuleState, Template } from '../engine/types.js'
import type { AlertSnapshot, GroupSnapshot, RuleSnapshot } from '../engine/snapshot.js'

// Shapes and field order follow Prometheus web/api/v1/api.go (Go marshals struct fields in declaration order).

/** ApiAlert is Prometheus's API Alert. */
export interface ApiAlert {
  labels: Labels
  annotations: Labels
  state: AlertState
  activeAt: string
  keepFiringSince?: string
  value: string
}

/** ApiAlertingRule is Prometheus's API AlertingRule; alerts is null with exclude_alerts (Go's nil slice). */
export interface ApiAlertingRule {
  state: RuleState
  name: string
  query: string
  duration: number
  keepFiringFor: number
  labels: Labels
  annotations: Labels
  alerts: ApiAlert[] | null
  health: RuleHealth
  lastError?: string
  evaluationTime: number
  lastEvaluation: string
  type: 'alerting'
}

/** ApiRuleGroup is Prometheus's API RuleGroup. */
export interface ApiRuleGroup {
  name: string
  file: string
  rules: ApiAlertingRule[]
  interval: number
  limit: number
  evaluationTime: number
  lastEvaluation: string
}

/** GO_ZERO_TIME is how Go marshals the zero time.Time (our 0 = "never"). */
export const GO_ZERO_TIME = '0001-01-01T00:00:00Z'

/** formatTime renders Unix ms like Go's RFC3339Nano in UTC: trailing fractional zeros trimmed, 0 as Go's zero time. */
export function formatTime(ms: number): string {
  if (ms === 0) return GO_ZERO_TIME
  return new Date(ms).toISOString().replace(/\.?0+Z$/, 'Z')
}

/** seconds converts a millisecond duration to the float seconds Prometheus's API reports. */
export function seconds(ms: number): number {
  return ms / 1000
}

/** toApiAlert converts one engine alert; keepFiringSince is omitted when not set, as Prometheus does. */
export function toApiAlert(alert: AlertSnapshot): ApiAlert {
  return {
    labels: sortedLabels(alert.labels),
    annotations: sortedLabels(alert.annotations),
    state: alert.state,
    activeAt: formatTime(alert.activeAt),
    ...(alert.keepFiringSince === 0 ? {} : { keepFiringSince: formatTime(alert.keepFiringSince) }),
    value: formatPrometheusApiValue(alert.value),
  }
}

/** templateSources maps label or annotation templates to their raw sources, sorted by name (the configured rule labels). */
export function templateSources(templates: Readonly<Record<string, Template>>): Labels {
  const out: Record<string, string> = {}
  for (const name of Object.keys(templates).sort()) out[name] = (templates[name] as Template).source
  return out
}

/** ruleAlerts lists a rule's active (pending and firing) alerts in API shape. */
export function ruleAlerts(rule: RuleSnapshot): ApiAlert[] {
  return activeAlerts(rule.state).map(toApiAlert)
}

/** toApiRule converts one alerting rule; excludeAlerts yields alerts: null like Prometheus's exclude_alerts=true. */
export function toApiRule(rule: RuleSnapshot, excludeAlerts = false): ApiAlertingRule {
  const { spec, state } = rule
  return {
    state: ruleState(state),
    name: spec.name,
    query: spec.expr.trim(),
    duration: seconds(spec.forMs),
    keepFiringFor: seconds(spec.keepFiringForMs),
    labels: templateSources(spec.labels),
    annotations: templateSources(spec.annotations),
    alerts: excludeAlerts ? null : ruleAlerts(rule),
    health: state.health,
    ...(state.lastError === '' ? {} : { lastError: state.lastError }),
    evaluationTime: seconds(state.evaluationDurationMs),
    lastEvaluation: formatTime(state.lastEvaluation),
    type: 'alerting',
  }
}

/** toApiGroup converts a group with the given (already filtered) rules. */
export function toApiGroup(group: GroupSnapshot, rules: ApiAlertingRule[]): ApiRuleGroup {
  return {
    name: group.spec.name,
    file: group.spec.file,
    rules,
    interval: seconds(group.intervalMs),
    limit: group.spec.limit,
    evaluationTime: seconds(group.evaluationDurationMs),
    lastEvaluation: formatTime(group.lastEvaluation),
  }
}

/** sortGroups orders groups by file, then name, as Prometheus's Manager.RuleGroups does. */
export function sortGroups<G extends GroupSnapshot>(groups: readonly G[]): G[] {
  return [...groups].sort((a, b) => compare(a.spec.file, b.spec.file) || compare(a.spec.name, b.spec.name))
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** allActiveAlerts lists every active alert of every group, in group order then rule order (/api/v1/alerts). */
export function allActiveAlerts(groups: readonly GroupSnapshot[]): ApiAlert[] {
  return sortGroups(groups).flatMap(group => group.rules.flatMap(ruleAlerts))
}
