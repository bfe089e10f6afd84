import type { ActionsConfig } from '../actions/actions-config.js'
import { formatDuration } from '../rules/duration.js'
import { applyLabelSource, labelSources } from '../rules/threshold.js'
import {
  labelName,
  metricSelector,
  selectorQuery,
  vectorSelectors,
  type SelectorUse,
} from '../rules/vector-selectors.js'
// rollguard's in-process probe series, which Prometheus does not have (probes.ts checks them).
import { PROBE_METRIC_PREFIX as PROBE_PREFIX } from '../sources/local-query.js'
import type { PrometheusSource } from '../sources/prometheus.js'
import { fail, ok, warn, type Check } from './check.js'
import { describeRule, type RuleRef } from './rule-ref.js'
import { checkTargets, isTriggerRule } from './targets.js'
import { errorText } from '../errors.js'

/** RemoteRuleContext is what the checks of a rule evaluated by Prometheus need. */
export interface RemoteRuleContext {
  readonly source: PrometheusSource
  readonly actions: ActionsConfig | undefined
  readonly cwd: string
  readonly now: number
}

/**
 * checkRemoteRule asks Prometheus for the rule's whole expression (does it accept it?), then whether each vector
 * selector in it matches series now or within the range it is read over, and, for rollback triggers, which
 * workload the alerts would name.
 */
export async function checkRemoteRule(ref: RuleRef, ctx: RemoteRuleContext): Promise<Check[]> {
  const described = describeRule(ref, ctx.cwd)
  try {
    await ctx.source.query(ref.rule.expr, ctx.now)
  } catch (err) {
    return [
      fail(
        'rule-query',
        `${described}: Prometheus rejects its expression: ${errorText(err)}`,
        'fix the expression (rollguard check validates it offline); a newer PromQL feature may need a newer Prometheus',
      ),
    ]
  }
  const checks = await checkSelectors(ref, described, ctx)
  if (ctx.actions !== undefined && isTriggerRule(ref, ctx.actions, ctx.now))
    checks.push(await checkRemoteTargets(ref, described, ctx, ctx.actions))
  return checks
}

async function checkSelectors(ref: RuleRef, described: string, ctx: RemoteRuleContext): Promise<Check[]> {
  const uses = distinct(
    vectorSelectors(ref.rule.expr).filter(u => u.role !== 'absence' && !u.metric?.startsWith(PROBE_PREFIX)),
  )
  const problems: Check[] = []
  for (const use of uses) {
    try {
      const problem = await diagnose(use, described, ctx)
      if (problem !== undefined) problems.push(problem)
    } catch (err) {
      problems.push(
        fail(
          'rule-series',
          `${described}: cannot count the series of ${use.selector}: ${errorText(err)}`,
          'check that Prometheus answers queries',
        ),
      )
    }
  }
  if (problems.length > 0) return problems
  return [
    ok(
      'rule-series',
      uses.length === 0
        ? `${described}: reads no series`
        : `${described}: ${uses.length === 1 ? 'its selector returns' : `all ${uses.length} selectors return`} series`,
    ),
  ]
}

/**
 * diagnose finds out why a selector matches nothing, if it does: the metric does not exist, or a label a matcher
 * needs is on none of its series (the rule can never fire: fail) — or the series exist but none match the
 * matchers now, as 5xx responses of a service that has had none (it may fire later: warn).
 */
async function diagnose(use: SelectorUse, described: string, ctx: RemoteRuleContext): Promise<Check | undefined> {
  if (await hasSeries(use.selector, use, ctx)) return undefined
  const when = use.lookbackMs > 0 ? `, neither now nor in the last ${formatDuration(use.lookbackMs)}` : ''
  const never = (why: string, hint: string): Check =>
    use.role === 'optional'
      ? warn(
          'rule-series',
          `${described}: no series for ${use.selector}${when}: ${why}; that branch of the expression (or / unless) matches nothing`,
          hint,
        )
      : fail('rule-series', `${described}: no series for ${use.selector}${when}: ${why}; the rule can never fire`, hint)
  const metric = use.metric
  if (metric === undefined)
    return never('no metric matches', 'check the metric name pattern and that Prometheus scrapes those metrics')
  if (!(await hasSeries(metricSelector(metric), use, ctx))) {
    return never(
      `Prometheus has no metric ${metric}`,
      `check that Prometheus scrapes ${metric} (its /targets page), or correct the metric name`,
    )
  }
  for (const m of use.matchers.filter(x => x.label !== '__name__')) {
    if (await hasSeries(selectorWith(metric, [m.text]), use, ctx)) continue
    if (await hasSeries(selectorWith(metric, [`${labelName(m.label)}!=""`]), use, ctx)) continue
    return never(
      `no series of ${metric} has the label ${m.label}, so ${m.text} never matches`,
      `correct the label name, or add the label to ${metric} (relabelling)`,
    )
  }
  return warn(
    'rule-series',
    `${described}: no series for ${use.selector}${when === '' ? ' now' : when}: ${metric} has series, but none match`,
    'nothing to do if they appear only when something goes wrong (e.g. a 5xx response); otherwise check the matchers',
  )
}

/** hasSeries: count(selector) now (Prometheus's 5 minute lookback); for a selector read over a range, also anywhere in it. */
async function hasSeries(selector: string, use: SelectorUse, ctx: RemoteRuleContext): Promise<boolean> {
  const at = { ...use, selector }
  if ((await count(`count(${selectorQuery(at)})`, ctx)) > 0) return true
  return use.lookbackMs > 0 && (await count(`count(last_over_time(${selectorQuery(at, use.lookbackMs)}))`, ctx)) > 0
}

async function count(query: string, ctx: RemoteRuleContext): Promise<number> {
  const { samples } = await ctx.source.query(query, ctx.now)
  return samples[0]?.value ?? 0
}

/** selectorWith selects a metric's series that pass the matchers: `m{a="b"}`, or `{"m", a="b"}`. */
function selectorWith(metric: string, matchers: readonly string[]): string {
  const name = metricSelector(metric)
  return name.startsWith('{') ? `{${[name.slice(1, -1), ...matchers].join(', ')}}` : `${name}{${matchers.join(', ')}}`
}

/** distinct keeps one use per selector, offset and lookback; a required use wins over an optional one. */
function distinct(uses: readonly SelectorUse[]): SelectorUse[] {
  const byKey = new Map<string, SelectorUse>()
  for (const use of uses) {
    const key = selectorQuery(use, use.lookbackMs)
    const seen = byKey.get(key)
    if (seen === undefined || (seen.role !== 'required' && use.role === 'required')) byKey.set(key, use)
  }
  return [...byKey.values()]
}

/** checkRemoteTargets tries the label sources of the expression in turn; the first that has series shows the labels. */
async function checkRemoteTargets(
  ref: RuleRef,
  described: string,
  ctx: RemoteRuleContext,
  actions: ActionsConfig,
): Promise<Check> {
  const sources = labelSources(ref.rule.expr)
  for (const source of sources) {
    try {
      const { samples } = await ctx.source.query(source.expr, ctx.now)
      if (samples.length === 0) continue
      const reduced = samples.map(s => ({ labels: applyLabelSource(s.labels, source), value: s.value }))
      return checkTargets(ref, described, reduced, actions, ctx.now)
    } catch (err) {
      return fail(
        'rule-targets',
        `${described}: cannot evaluate ${oneLine(source.expr)}: ${errorText(err)}`,
        'check that Prometheus answers queries',
      )
    }
  }
  return checkTargets(ref, described, [], actions, ctx.now)
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}
