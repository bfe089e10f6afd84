/**
 * Core data types of the rule engine. Times are Unix milliseconds (number),
 * durations are milliseconds. The engine is pure: every time is an argument.
 */

/** Labels is a label set: name → value. Never contains empty values. */
export type Labels = Readonly<Record<string, string>>

/** Sample is one element of an instant-query result (a scalar becomes a sample with no labels). */
export interface Sample {
  readonly labels: Labels
  readonly value: number
}

/** AlertState follows Prometheus: inactive alerts are resolved ones kept for resending. */
export type AlertState = 'inactive' | 'pending' | 'firing'

/** RuleState is the state shown by /api/v1/rules: the highest state of the rule's alerts. */
export type RuleState = 'unknown' | AlertState

/** RuleHealth is unknown before the first evaluation, err after a failed one. */
export type RuleHealth = 'unknown' | 'ok' | 'err'

/** TemplateData is what label and annotation templates see, as in Prometheus. */
export interface TemplateData {
  readonly labels: Labels
  readonly externalLabels: Labels
  readonly externalURL: string
  readonly value: number
}

/** TemplateQueryAnswer is what a template's `query` call returns: the samples, or the error text it fails with. */
export type TemplateQueryAnswer = { readonly samples: readonly Sample[] } | { readonly error: string }

/**
 * TemplateQueries answers the `query` calls of template expansions: the engine does no I/O, so the caller runs the
 * queries (instant queries at the evaluation time) and hands their answers in.
 */
export interface TemplateQueries {
  /** answer returns expr's answer, or undefined when it has not been run yet. */
  answer(expr: string): TemplateQueryAnswer | undefined
  /** unanswered is told each expression answer() had nothing for; the expansion goes on as if it returned no samples. */
  unanswered(expr: string): void
}

/** Template is a compiled Go text/template; expand never throws (Prometheus renders errors as text). */
export interface Template {
  readonly source: string
  /** usesQuery is true when the template calls Prometheus's `query` function: its expansions need answers. */
  readonly usesQuery?: boolean
  expand(data: TemplateData, evalTime: number, queries?: TemplateQueries): string
}

/** Alert is one active (or recently resolved) alert of an alerting rule. 0 means "not set" for times. */
export interface Alert {
  readonly fingerprint: string
  readonly labels: Labels
  annotations: Labels
  state: AlertState
  value: number
  activeAt: number
  firedAt: number
  resolvedAt: number
  lastSentAt: number
  validUntil: number
  keepFiringSince: number
}

/** Transition records one alert state change produced by an evaluation (for logs and actions). */
export interface Transition {
  readonly rule: string
  readonly fingerprint: string
  readonly labels: Labels
  readonly annotations: Labels
  readonly value: number
  readonly from: AlertState | 'new'
  readonly to: AlertState | 'deleted'
  readonly at: number
  /** When the alert's condition began (Prometheus's ActiveAt): the onset actions compare with a rollout's time. */
  readonly activeAt: number
}

/** OutgoingAlert is an alert handed to the notifier (Alertmanager's postableAlert, times in ms). */
export interface OutgoingAlert {
  /** The same object at every resend of one alert: the notifier's overflow policy keys its delivery records on it. */
  readonly labels: Labels
  readonly annotations: Labels
  readonly startsAt: number
  readonly endsAt: number
  readonly generatorURL: string
}
