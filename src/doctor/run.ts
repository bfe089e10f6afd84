import type { Config } from '../config/load.js'
import { mapBounded } from '../engine/group.js'
import type { RuleGroupSpec } from '../engine/spec.js'
import { redactUrl } from '../sources/http-auth.js'
import { createPrometheusSource } from '../sources/prometheus.js'
import { checkAlertmanagers } from './alertmanager.js'
import type { Check } from './check.js'
import { checkPrometheus, type PrometheusCheck } from './prometheus.js'
import { checkQueryTime } from './query-time.js'
import { probeSpecs } from '../composition/settings.js'
import { checkProbeRule, runProbesOnce, usesProbes, type ProbeRun } from './probes.js'
import { ruleRefs } from './rule-ref.js'
import { checkRemoteRule } from './series.js'

/** DoctorInput is the loaded configuration and rules, exactly as rollguard run would load them. */
export interface DoctorInput {
  readonly config: Config
  readonly groups: readonly RuleGroupSpec[]
  readonly env: Readonly<Record<string, string | undefined>>
  readonly cwd: string
  readonly now?: () => number
}

// Rules are checked a few at a time: each asks Prometheus several queries, and a large rule set must not
// crowd out the Prometheus that rollguard (and everyone else) depends on.
const RULES_IN_FLIGHT = 4

/**
 * runChecks checks everything the daemon will depend on. The independent parts run concurrently; `emit` gets
 * each part's checks in report order (Prometheus, probes, rules, Alertmanager, Kubernetes) as soon as they are in.
 */
export async function runChecks(
  input: DoctorInput,
  emit: (checks: readonly Check[]) => void = () => {},
): Promise<Check[]> {
  const { config, env } = input
  const now = input.now ?? Date.now
  const { prometheus: p, actions, sharding } = config.doc
  const source = createPrometheusSource({
    url: p.url,
    timeoutMs: p.timeout,
    maxResponseBytes: p.max_response_bytes,
    ...(config.prometheusAuth === undefined ? {} : { auth: config.prometheusAuth }),
    ...(p.headers === undefined ? {} : { headers: p.headers }),
    ...config.prometheusClient,
  })
  try {
    const prometheus = checkPrometheus(config, source, now())
    const queryTime = prometheus.then(r => (r.answering ? checkQueryTime(source, now(), redactUrl(p.url)) : []))
    const probes = runProbesOnce(probeSpecs(config))
    const rules = Promise.all([prometheus, probes]).then(([prom, run]) => checkRules(input, prom, run, source, now()))
    const alertmanagers = checkAlertmanagers(config)
    // The Kubernetes client is loaded only when actions or sharding use it, as in the daemon.
    const cluster =
      actions === undefined && !sharding.enabled
        ? Promise.resolve([])
        : import('./kubernetes.js').then(m => m.checkKubernetes(config.doc, env))
    const sections: Array<Promise<readonly Check[]>> = [
      prometheus.then(r => [r.check]),
      queryTime,
      probes.then(r => r.checks),
      rules,
      alertmanagers,
      cluster,
    ]
    const all: Check[] = []
    for (const section of sections) {
      const checks = await section
      emit(checks)
      all.push(...checks)
    }
    return all
  } finally {
    source.close()
  }
}

async function checkRules(
  input: DoctorInput,
  prometheus: PrometheusCheck,
  probes: ProbeRun,
  source: ReturnType<typeof createPrometheusSource>,
  now: number,
): Promise<Check[]> {
  const { actions } = input.config.doc
  const refs = ruleRefs(input.groups)
  const results = await mapBounded(refs, RULES_IN_FLIGHT, async ref => {
    if (usesProbes(ref.rule.expr)) return checkProbeRule(ref, probes, actions, input.cwd, now)
    // Without Prometheus there is nothing to ask; its own check already says so.
    if (!prometheus.answering) return []
    return checkRemoteRule(ref, { source, actions, cwd: input.cwd, now })
  })
  return results.flat()
}
