import { evaluateAlertingRule, newAlertingRuleState, type AlertingRuleState, type EvalContext } from './alerting.js'
import { alertsToSend, generatorURLFor, type AlertLink } from './outbox.js'
import type { Clock, QueryFn, QueryResult } from './ports.js'
import type { AlertingRuleSpec, RuleGroupSpec } from './spec.js'
import { answerTemplateQueries } from './template/queries.js'
import type { Labels, OutgoingAlert, TemplateQueries, Transition } from './types.js'
import { errorText } from '../errors.js'

/** RuleRuntime pairs a rule with its state and last warnings. */
export interface RuleRuntime {
  readonly spec: AlertingRuleSpec
  readonly state: AlertingRuleState
  warnings: readonly string[]
}

/** GroupState is a group's mutable state between iterations. */
export interface GroupState {
  readonly spec: RuleGroupSpec
  readonly intervalMs: number
  /** externalURL is the root of the rules' default generatorURL (built when an alert is sent, not kept per rule). */
  readonly externalURL: string
  readonly rules: RuleRuntime[]
  lastEvaluation: number
  evaluationDurationMs: number
}

/** GroupOptions are the daemon-wide settings a group evaluation needs. */
export interface GroupOptions {
  readonly query: QueryFn
  readonly clock: Clock
  readonly externalLabels: Labels
  readonly externalURL: string
  readonly resendDelayMs: number
  /**
   * maxConcurrentQueries bounds parallel queries, the rules' and their templates' together; alerting rules are
   * independent, so order only matters when applying.
   */
  readonly maxConcurrentQueries: number
  /** alertSource builds each sent alert's generatorURL (the daemon's alert-source template); without it, the rule's generatorURL. */
  readonly alertSource?: AlertSourceFn
}

/** AlertSourceFn builds the generatorURL of one alert of a rule from the rule, its group and the alert's labels. */
export type AlertSourceFn = (rule: AlertingRuleSpec, group: RuleGroupSpec, labels: Labels) => string

/** RuleOutcome reports one rule's evaluation for logs and metrics. */
export interface RuleOutcome {
  readonly rule: string
  readonly error: string
  readonly warnings: readonly string[]
  readonly durationMs: number
  readonly samples: number
}

/** GroupEvaluation is what one iteration produced. */
export interface GroupEvaluation {
  readonly transitions: Transition[]
  readonly toSend: OutgoingAlert[]
  readonly outcomes: RuleOutcome[]
}

/** newGroupState builds the initial state; intervalMs is the group's interval with the default applied. */
export function newGroupState(spec: RuleGroupSpec, intervalMs: number, externalURL: string): GroupState {
  return {
    spec,
    intervalMs,
    externalURL,
    rules: spec.rules.map(rule => ({ spec: rule, state: newAlertingRuleState(), warnings: [] })),
    lastEvaluation: 0,
    evaluationDurationMs: 0,
  }
}

type Fetched =
  | { result: QueryResult; queries: TemplateQueries | undefined; durationMs: number }
  | { error: string; durationMs: number }

/** evaluateGroup evaluates every rule of the group at slot ts. It never throws: rule failures become health 'err'. */
export async function evaluateGroup(group: GroupState, ts: number, opts: GroupOptions): Promise<GroupEvaluation> {
  const started = opts.clock()
  const queryAt = ts - group.spec.queryOffsetMs
  const query = limited(opts.query, opts.maxConcurrentQueries)
  const ctx: EvalContext = { evalTime: ts, externalLabels: opts.externalLabels, externalURL: opts.externalURL }
  const fetched = await mapBounded(group.rules, opts.maxConcurrentQueries, rule =>
    fetch(rule, queryAt, ctx, query, opts.clock),
  )
  const result: GroupEvaluation = { transitions: [], toSend: [], outcomes: [] }
  group.rules.forEach((rule, i) => applyResult(group, rule, fetched[i] as Fetched, ts, opts, result))
  group.lastEvaluation = ts
  group.evaluationDurationMs = opts.clock() - started
  return result
}

// fetch runs the rule's query, then the queries its templates make; their time counts as the rule's.
async function fetch(rule: RuleRuntime, at: number, ctx: EvalContext, query: QueryFn, clock: Clock): Promise<Fetched> {
  const started = clock()
  let result: QueryResult
  try {
    result = await query(rule.spec.expr, at)
  } catch (err) {
    return { error: errorText(err), durationMs: clock() - started }
  }
  const queries = await answerTemplateQueries(rule.spec, result.samples, ctx, query)
  return { result, queries, durationMs: clock() - started }
}

/** limited wraps a query function so that at most `limit` calls run at once; the others wait their turn. */
function limited(query: QueryFn, limit: number): QueryFn {
  let running = 0
  const waiting: Array<() => void> = []
  return async (expr, at) => {
    if (running < limit) running++
    else await new Promise<void>(resolve => waiting.push(resolve)) // handed a slot by a call that finished
    try {
      return await query(expr, at)
    } finally {
      const next = waiting.shift()
      if (next !== undefined) next()
      else running--
    }
  }
}

function applyResult(
  group: GroupState,
  rule: RuleRuntime,
  fetched: Fetched,
  ts: number,
  opts: GroupOptions,
  out: GroupEvaluation,
): void {
  const state = rule.state
  state.lastEvaluation = ts
  state.evaluationDurationMs = fetched.durationMs
  if ('error' in fetched) {
    fail(state, fetched.error)
    out.outcomes.push({
      rule: rule.spec.name,
      error: fetched.error,
      warnings: [],
      durationMs: fetched.durationMs,
      samples: 0,
    })
    return
  }
  const ctx = {
    evalTime: ts,
    externalLabels: opts.externalLabels,
    externalURL: opts.externalURL,
    queries: fetched.queries,
  }
  const outcome = evaluateAlertingRule(rule.spec, state, fetched.result.samples, ctx, group.spec.limit)
  rule.warnings = fetched.result.warnings
  const base = {
    rule: rule.spec.name,
    warnings: fetched.result.warnings,
    durationMs: fetched.durationMs,
    samples: fetched.result.samples.length,
  }
  if (!outcome.ok) {
    fail(state, outcome.error)
    out.outcomes.push({ ...base, error: outcome.error })
    return
  }
  state.health = 'ok'
  state.lastError = ''
  // Appended one by one: spreading an array into push() throws RangeError beyond ~120,000 elements (one rule's alerts).
  for (const transition of outcome.transitions) out.transitions.push(transition)
  const source = opts.alertSource
  let generatorURL: string | undefined
  const link: AlertLink =
    source === undefined
      ? () => (generatorURL ??= generatorURLFor(group.externalURL, rule.spec.expr))
      : labels => source(rule.spec, group.spec, labels)
  for (const alert of alertsToSend(
    state,
    ts,
    { resendDelayMs: opts.resendDelayMs, intervalMs: group.intervalMs },
    link,
  ))
    out.toSend.push(alert)
  out.outcomes.push({ ...base, error: '' })
}

function fail(state: AlertingRuleState, error: string): void {
  state.health = 'err'
  state.lastError = error
}

/** mapBounded maps items with at most `limit` promises in flight, preserving order. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i] as T)
    }
  }
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker)
  await Promise.all(workers)
  return results
}
