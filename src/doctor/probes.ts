import type { ActionsConfig } from '../actions/actions-config.js'
import { withoutThreshold } from '../rules/threshold.js'
import { selectorQuery, vectorSelectors } from '../rules/vector-selectors.js'
import { runProbe, type ProbeSpec } from '../sources/health-probe.js'
import { redactUrl } from '../sources/http-auth.js'
import { compileLocalQuery, isLocalExpression } from '../sources/local-query.js'
import { ProbeStore, type ProbeResult } from '../sources/probe-store.js'
import { fail, ok, warn, type Check } from './check.js'
import { describeRule, type RuleRef } from './rule-ref.js'
import { PROBE_METRIC_PREFIX as PROBE_PREFIX } from '../sources/local-query.js'
import { checkTargets, isTriggerRule } from './targets.js'
import { errorText } from '../errors.js'

/** ProbeRun is every configured probe run once, and a probe store holding the results, as the daemon's would. */
export interface ProbeRun {
  readonly checks: Check[]
  readonly store: ProbeStore
  readonly configured: boolean
}

/**
 * runProbesOnce runs each configured probe once (bounded by its timeout), built as the daemon builds them
 * (composition/settings.ts probeSpecs, with their http_config); a failing endpoint is a warning.
 */
export async function runProbesOnce(specs: readonly ProbeSpec[]): Promise<ProbeRun> {
  const store = new ProbeStore()
  store.setTargets(specs.map(s => ({ name: s.name, url: s.url, labels: s.labels, staleAfterMs: 3 * s.intervalMs })))
  const results = await Promise.all(specs.map(spec => runProbe(spec)))
  for (const result of results) store.record(result)
  return { checks: results.map((r, i) => probeCheck(r, specs[i] as ProbeSpec)), store, configured: specs.length > 0 }
}

function probeCheck(result: ProbeResult, spec: ProbeSpec): Check {
  const url = redactUrl(spec.url)
  if (result.success)
    return ok(
      'probe',
      `probe "${spec.name}": ${url} answered ${result.statusCode} in ${Math.round(result.durationMs)} ms`,
    )
  return warn(
    'probe',
    `probe "${spec.name}": ${url} fails: ${result.error ?? 'no answer'}: rules on rollguard_probe_success see it failing now`,
    "check the probe's url, method and expected_status, and that the endpoint can be reached from where rollguard runs",
  )
}

/** usesProbes reports whether an expression reads any of rollguard's rollguard_probe_* series. */
export function usesProbes(expr: string): boolean {
  return vectorSelectors(expr).some(u => u.metric?.startsWith(PROBE_PREFIX) === true)
}

/**
 * checkProbeRule checks a rule on rollguard's own probe series, which the daemon evaluates in-process: probes must
 * be configured, the in-process evaluator must support the expression, each selector must match a probe, and a
 * rollback trigger's alerts must name a workload (through the probes' labels).
 */
export function checkProbeRule(
  ref: RuleRef,
  probes: ProbeRun,
  actions: ActionsConfig | undefined,
  cwd: string,
  now: number,
): Check[] {
  const described = describeRule(ref, cwd)
  const expr = ref.rule.expr
  if (!probes.configured) {
    const metrics = [
      ...new Set(vectorSelectors(expr).flatMap(u => (u.metric?.startsWith(PROBE_PREFIX) === true ? [u.metric] : []))),
    ].join(', ')
    return [
      fail(
        'probe-rules',
        `${described} watches rollguard's own health probes (${metrics}) but none are configured in \`probes:\``,
        'add the health endpoints to probes: in the config file (README, Configuration), or remove the rule',
      ),
    ]
  }
  try {
    if (!isLocalExpression(expr)) throw new Error('not a probe expression')
    compileLocalQuery(expr)
  } catch (err) {
    return [
      fail(
        'rule-query',
        `${described}: rollguard cannot evaluate it in-process: ${errorText(err)}`,
        'a rule on rollguard_probe_* series may use only those series, with comparisons, arithmetic with numbers, and/or/unless and sum/min/max/avg/count; move other logic to a separate rule',
      ),
    ]
  }
  const checks = vectorSelectors(expr)
    .filter(u => u.role === 'required' && compileLocalQuery(selectorQuery(u)).evaluate(probes.store, now).length === 0)
    .map(u =>
      fail(
        'rule-series',
        `${described}: no configured probe matches ${u.selector}: the rule can never fire`,
        'the matchers must fit the labels of a probe in probes: (its labels, probe="<name>", instance="<url>")',
      ),
    )
  if (checks.length === 0)
    checks.push(ok('rule-series', `${described}: evaluated in-process; its selectors match configured probes`))
  if (actions !== undefined && isTriggerRule(ref, actions, now)) {
    const samples = compileLocalQuery(withoutThreshold(expr)).evaluate(probes.store, now)
    checks.push(checkTargets(ref, described, samples, actions, now))
  }
  return checks
}
