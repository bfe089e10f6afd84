import { fingerprint, withoutName } from './labels.js'
import type { AlertingRuleSpec } from './spec.js'
import type {
  Alert,
  Labels,
  RuleHealth,
  RuleState,
  Sample,
  TemplateData,
  TemplateQueries,
  Transition,
} from './types.js'

/** RESOLVED_RETENTION_MS keeps resolved alerts so their resolution is re-sent, surviving Alertmanager restarts and lost requests. */
export const RESOLVED_RETENTION_MS = 15 * 60 * 1000

/** AlertingRuleState is the mutable per-rule state the group owns between evaluations. */
export interface AlertingRuleState {
  active: Map<string, Alert>
  health: RuleHealth
  lastError: string
  lastEvaluation: number
  evaluationDurationMs: number
}

/** EvalContext is what one evaluation needs besides the query result. */
export interface EvalContext {
  readonly evalTime: number
  readonly externalLabels: Labels
  readonly externalURL: string
  /** queries answers the templates' `query` calls (template/queries.ts); without it they fail. */
  readonly queries?: TemplateQueries | undefined
}

/** EvalOutcome is the result of applying one query result to a rule's state. */
export type EvalOutcome = { ok: true; transitions: Transition[] } | { ok: false; error: string }

/** ERR_DUPLICATE_LABELSET is Prometheus's text for two samples mapping to one alert. */
export const ERR_DUPLICATE_LABELSET = 'vector contains metrics with the same labelset after applying alert labels'

/** newAlertingRuleState returns the state of a rule that has never been evaluated. */
export function newAlertingRuleState(): AlertingRuleState {
  return { active: new Map(), health: 'unknown', lastError: '', lastEvaluation: 0, evaluationDurationMs: 0 }
}

/** evaluateAlertingRule applies one query result at ctx.evalTime (Prometheus AlertingRule.Eval). On error, state is unchanged. */
export function evaluateAlertingRule(
  rule: AlertingRuleSpec,
  state: AlertingRuleState,
  samples: readonly Sample[],
  ctx: EvalContext,
  limit: number,
): EvalOutcome {
  const built = buildAlerts(rule, samples, ctx)
  if (typeof built === 'string') return { ok: false, error: built }
  const transitions: Transition[] = []
  mergeAlerts(rule, state, built, ctx.evalTime, transitions)
  const activeCount = advanceStates(rule, state, built, ctx.evalTime, transitions)
  if (limit > 0 && activeCount > limit) {
    // Prometheus discards every alert of the rule, without resolved notifications.
    state.active.clear()
    return { ok: false, error: `exceeded limit of ${limit} with ${activeCount} alerts` }
  }
  return { ok: true, transitions }
}

/** buildAlerts turns samples into candidate alerts keyed by fingerprint, or returns an error text. */
function buildAlerts(
  rule: AlertingRuleSpec,
  samples: readonly Sample[],
  ctx: EvalContext,
): Map<string, Alert> | string {
  const alerts = new Map<string, Alert>()
  for (const sample of samples) {
    const data: TemplateData = {
      labels: sample.labels,
      externalLabels: ctx.externalLabels,
      externalURL: ctx.externalURL,
      value: sample.value,
    }
    const labels = alertLabels(rule, sample.labels, data, ctx)
    const fp = fingerprint(labels)
    if (alerts.has(fp)) return ERR_DUPLICATE_LABELSET
    alerts.set(fp, {
      fingerprint: fp,
      labels,
      annotations: expandAll(rule.annotations, data, ctx),
      state: 'pending',
      value: sample.value,
      activeAt: ctx.evalTime,
      firedAt: 0,
      resolvedAt: 0,
      lastSentAt: 0,
      validUntil: 0,
      keepFiringSince: 0,
    })
  }
  return alerts
}

/** alertLabels: series labels without __name__, templated rule labels in name order (empty deletes), then alertname. */
function alertLabels(rule: AlertingRuleSpec, series: Labels, data: TemplateData, ctx: EvalContext): Labels {
  const labels = withoutName(series)
  for (const name of Object.keys(rule.labels).sort()) {
    const value = (rule.labels[name] as AlertingRuleSpec['labels'][string]).expand(data, ctx.evalTime, ctx.queries)
    if (value === '') delete labels[name]
    else labels[name] = value
  }
  labels.alertname = rule.name
  return labels
}

/** expandAll expands annotation templates, dropping empty results (Alertmanager drops them too). */
function expandAll(templates: AlertingRuleSpec['annotations'], data: TemplateData, ctx: EvalContext): Labels {
  const out: Record<string, string> = {}
  for (const name in templates) {
    const value = (templates[name] as AlertingRuleSpec['annotations'][string]).expand(data, ctx.evalTime, ctx.queries)
    if (value !== '') out[name] = value
  }
  return out
}

/** mergeAlerts updates value/annotations of live alerts and inserts new ones (a resolved alert reappearing starts afresh). */
function mergeAlerts(
  rule: AlertingRuleSpec,
  state: AlertingRuleState,
  built: Map<string, Alert>,
  ts: number,
  transitions: Transition[],
): void {
  for (const [fp, alert] of built) {
    const existing = state.active.get(fp)
    if (existing !== undefined && existing.state !== 'inactive') {
      existing.value = alert.value
      existing.annotations = alert.annotations
      continue
    }
    state.active.set(fp, alert)
    transitions.push(transition(rule, alert, existing === undefined ? 'new' : 'inactive', 'pending', ts))
  }
}

/** advanceStates moves alerts through pending → firing → inactive and returns the number of live alerts. */
function advanceStates(
  rule: AlertingRuleSpec,
  state: AlertingRuleState,
  present: Map<string, Alert>,
  ts: number,
  transitions: Transition[],
): number {
  let live = 0
  for (const [fp, alert] of state.active) {
    if (!present.has(fp)) {
      if (!handleAbsent(rule, state, alert, ts, transitions)) continue
    } else {
      alert.keepFiringSince = 0
    }
    live++
    if (alert.state === 'pending' && ts - alert.activeAt >= rule.forMs) {
      alert.state = 'firing'
      alert.firedAt = ts
      transitions.push(transition(rule, alert, 'pending', 'firing', ts))
    }
    if (alert.state === 'firing' && ts - alert.activeAt < rule.forMs) {
      // Only after a reload that raised `for`: the alert has not been active long enough any more.
      alert.state = 'pending'
      alert.firedAt = 0
      alert.lastSentAt = 0
      alert.keepFiringSince = 0
      transitions.push(transition(rule, alert, 'firing', 'pending', ts))
    }
  }
  return live
}

/** handleAbsent applies keep_firing_for, deletion and resolution to an alert the query no longer returns; true if it is still live. */
function handleAbsent(
  rule: AlertingRuleSpec,
  state: AlertingRuleState,
  alert: Alert,
  ts: number,
  transitions: Transition[],
): boolean {
  let keepFiring = false
  if (alert.state === 'firing' && rule.keepFiringForMs > 0) {
    if (alert.keepFiringSince === 0) alert.keepFiringSince = ts
    keepFiring = ts - alert.keepFiringSince < rule.keepFiringForMs
  }
  if (alert.state === 'pending' || (alert.resolvedAt !== 0 && ts - alert.resolvedAt > RESOLVED_RETENTION_MS)) {
    state.active.delete(alert.fingerprint)
    if (alert.state === 'pending') transitions.push(transition(rule, alert, 'pending', 'deleted', ts))
  }
  if (alert.state !== 'inactive' && !keepFiring) {
    if (alert.state === 'firing') transitions.push(transition(rule, alert, 'firing', 'inactive', ts))
    alert.state = 'inactive'
    alert.resolvedAt = ts
  }
  return keepFiring
}

/** transition builds a Transition record. */
function transition(
  rule: AlertingRuleSpec,
  alert: Alert,
  from: Transition['from'],
  to: Transition['to'],
  at: number,
): Transition {
  return {
    rule: rule.name,
    fingerprint: alert.fingerprint,
    labels: alert.labels,
    annotations: alert.annotations,
    value: alert.value,
    from,
    to,
    at,
    activeAt: alert.activeAt,
  }
}

/** ruleState is the highest state among the rule's alerts, as /api/v1/rules shows it. */
export function ruleState(state: {
  readonly health: RuleHealth
  readonly active: ReadonlyMap<string, Readonly<Alert>>
}): RuleState {
  if (state.health === 'unknown') return 'unknown'
  let result: RuleState = 'inactive'
  for (const alert of state.active.values()) {
    if (alert.state === 'firing') return 'firing'
    if (alert.state === 'pending') result = 'pending'
  }
  return result
}

/** activeAlerts lists pending and firing alerts (resolved ones are kept only for resending). */
export function activeAlerts<A extends Readonly<Alert>>(state: { readonly active: ReadonlyMap<string, A> }): A[] {
  return [...state.active.values()].filter(a => a.resolvedAt === 0)
}
