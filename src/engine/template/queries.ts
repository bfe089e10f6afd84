/**
 * Template `query` calls without I/O in the engine: expansions read answers from a TemplateQueries, and report the
 * expressions it has no answer for. answerTemplateQueries runs those through the caller's query function (the
 * group's QueryFn port) and expands again with the answers, until the templates ask for nothing new.
 */

import type { QueryFn } from '../ports.js'
import type { AlertingRuleSpec } from '../spec.js'
import type { Labels, Sample, Template, TemplateQueries, TemplateQueryAnswer } from '../types.js'
import { errorText } from '../../errors.js'

/**
 * Bounds on one rule evaluation's template queries (Prometheus has none, but runs them one at a time): rounds of
 * queries whose text depends on earlier answers, and distinct queries. Queries beyond them are not run: they fail
 * with NOT_RUN, and the template renders the error.
 */
export const MAX_TEMPLATE_QUERY_ROUNDS = 10
export const MAX_TEMPLATE_QUERIES = 10_000
export const NOT_RUN =
  `not run: the rule's templates asked for more than ${MAX_TEMPLATE_QUERY_ROUNDS} rounds of queries ` +
  `or ${MAX_TEMPLATE_QUERIES} queries in one evaluation`

/** TemplateContext is what a rule's templates see besides each sample. */
export interface TemplateContext {
  readonly evalTime: number
  readonly externalLabels: Labels
  readonly externalURL: string
}

/**
 * unansweredQueries lists the expressions that the `query` calls of the rule's templates, expanded for each
 * sample, asked for and answers lacks. Cheap for rules whose templates never call `query`.
 */
export function unansweredQueries(
  rule: AlertingRuleSpec,
  samples: readonly Sample[],
  ctx: TemplateContext,
  answers: ReadonlyMap<string, TemplateQueryAnswer>,
): string[] {
  const templates: Template[] = [...Object.values(rule.labels), ...Object.values(rule.annotations)].filter(
    t => t.usesQuery === true,
  )
  if (templates.length === 0) return []
  const missing = new Set<string>()
  const queries: TemplateQueries = { answer: expr => answers.get(expr), unanswered: expr => void missing.add(expr) }
  for (const { labels, value } of samples) {
    const data = { labels, externalLabels: ctx.externalLabels, externalURL: ctx.externalURL, value }
    for (const template of templates) template.expand(data, ctx.evalTime, queries)
  }
  return [...missing]
}

/**
 * answerTemplateQueries runs what the `query` calls of the rule's templates ask for, as Prometheus does on every
 * evaluation: instant queries at the evaluation time (not offset by query_offset), through `query`. Each distinct
 * expression runs once per evaluation. A failed query is an answer too: the template renders its error.
 * Undefined when the templates make no query.
 */
export async function answerTemplateQueries(
  rule: AlertingRuleSpec,
  samples: readonly Sample[],
  ctx: TemplateContext,
  query: QueryFn,
): Promise<TemplateQueries | undefined> {
  const answers = new Map<string, TemplateQueryAnswer>()
  let complete = true
  for (let round = 0; ; round++) {
    const needed = unansweredQueries(rule, samples, ctx, answers)
    if (needed.length === 0) break
    if (round === MAX_TEMPLATE_QUERY_ROUNDS || answers.size + needed.length > MAX_TEMPLATE_QUERIES) {
      complete = false
      break
    }
    const got = await Promise.all(
      needed.map(expr =>
        query(expr, ctx.evalTime).then(
          (r): TemplateQueryAnswer => ({ samples: r.samples }),
          (err: unknown): TemplateQueryAnswer => ({ error: templateQueryError(err) }),
        ),
      ),
    )
    needed.forEach((expr, i) => answers.set(expr, got[i] as TemplateQueryAnswer))
  }
  if (answers.size === 0 && complete) return undefined
  const notRun: TemplateQueryAnswer = { error: NOT_RUN }
  return { answer: expr => answers.get(expr) ?? notRun, unanswered: () => undefined }
}

/**
 * templateQueryError is a failed query's text as Prometheus's templates show it (the PromQL engine's own error):
 * without the Prometheus source's "query failed: <errorType>: " and the HTTP API's `invalid parameter "query": `.
 */
export function templateQueryError(err: unknown): string {
  const message = errorText(err)
  return message.replace(/^query failed: [a-z_]+: /, '').replace(/^invalid parameter "query": /, '')
}
