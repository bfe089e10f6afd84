// The rule layouts of the scale and sharding benchmarks: the shipped rules (bench/lib/common.mjs benchRuleText)
// narrowed to one Deployment of bench/synthetic-target.mjs, as teams write them when each owns its alerts.

const APP_METRICS = [
  'http_requests_total',
  'http_request_duration_seconds_bucket',
  'http_request_duration_seconds_count',
  'container_memory_working_set_bytes',
  'kube_pod_container_resource_limits',
]

/** withMatchers puts `matchers` into every selector of the application metrics and narrows probe_success to d. */
function withMatchers(expr, matchers, d) {
  let out = expr
  for (const name of APP_METRICS) {
    out = out.replace(
      new RegExp(`\\b${name}(\\{([^}]*)\\})?(?=[\\s\\[)/,]|$)`, 'g'),
      (_m, _braces, inner) => `${name}{${matchers}${inner !== undefined && inner.trim() !== '' ? `, ${inner}` : ''}}`,
    )
  }
  return out.replace(
    /\bprobe_success\b(?!\{)/g,
    `probe_success{namespace="${d.namespace}",deployment="${d.deployment}"}`,
  )
}

/** narrow adds matchers selecting one Deployment (its pods, by regex) to every selector of a rule expression. */
function narrow(expr, d) {
  return withMatchers(expr, `namespace="${d.namespace}",pod=~"${d.deployment}-.*"`, d)
}

/**
 * narrowByEquality narrows a rule to one Deployment with equality matchers only: its pod (one per Deployment in the
 * synthetic target) instead of a pod regex, grouped by pod instead of a deployment label derived by label_replace.
 */
function narrowByEquality(expr, d) {
  let out = expr.replace(/label_replace\(\s*([\s\S]*?),\s*"deployment",\s*"\$1",\s*"pod",\s*"[^"]*"\s*\)/g, '$1')
  out = out.replace(/\(namespace, deployment/g, '(namespace, pod')
  return withMatchers(out, `namespace="${d.namespace}",pod="${d.pod}"`, d)
}

/** ruleLines renders one rule of a group's `rules:` list with its expression replaced (YAML, JSON-style scalars). */
function ruleLines(r, expr) {
  const lines = [
    `      - alert: ${r.alert}`,
    `        expr: ${JSON.stringify(expr.replace(/\s+/g, ' ').trim())}`,
    `        for: ${r.for}`,
    '        labels:',
  ]
  for (const [k, v] of Object.entries(r.labels ?? {})) lines.push(`          ${k}: ${JSON.stringify(v)}`)
  lines.push('        annotations:')
  for (const [k, v] of Object.entries(r.annotations ?? {})) lines.push(`          ${k}: ${JSON.stringify(v)}`)
  return lines
}

/** perDeploymentRules renders one group per Deployment with the four rules narrowed to it. */
export function perDeploymentRules(baseText, deployments, parseYaml) {
  const base = parseYaml(baseText).groups[0].rules
  const lines = ['groups:']
  for (const d of deployments) {
    lines.push(`  - name: ${JSON.stringify(`${d.namespace}/${d.deployment}`)}`, '    rules:')
    for (const r of base) lines.push(...ruleLines(r, narrow(r.expr, d)))
  }
  return `${lines.join('\n')}\n`
}

/** perTeamRules renders one group per namespace holding the four rules of each of its Deployments. */
export function perTeamRules(baseText, deployments, parseYaml) {
  const base = parseYaml(baseText).groups[0].rules
  const lines = ['groups:']
  for (const namespace of new Set(deployments.map(d => d.namespace))) {
    lines.push(`  - name: ${JSON.stringify(namespace)}`, '    rules:')
    for (const d of deployments.filter(x => x.namespace === namespace))
      for (const r of base) lines.push(...ruleLines(r, narrowByEquality(r.expr, d)))
  }
  return `${lines.join('\n')}\n`
}
