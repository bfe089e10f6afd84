import type { AlertingRuleSpec, RuleGroupSpec } from '../engine/spec.js'
import { compileTemplate } from '../engine/template/index.js'
import type { Template } from '../engine/types.js'
import { checkPromQL } from './promql.js'
import type { GroupInput, RuleInput } from './schema.js'
import type { Path, Where } from './yaml-tree.js'
import { errorText } from '../errors.js'

/** Reporter receives problems by field path; it resolves positions and group/rule context. */
export interface Reporter {
  error(path: Path, message: string, where?: Where): void
  lint(path: Path, message: string): void
}

/** DecodedRule is one rule after schema decoding; rule is undefined when it did not decode. */
export interface DecodedRule {
  readonly index: number
  readonly rule: RuleInput | undefined
}

/** DecodedGroup is one group after schema decoding, with its rules decoded one by one. */
export interface DecodedGroup {
  readonly index: number
  readonly group: GroupInput | undefined
  readonly rules: readonly DecodedRule[]
}

/** RECORDING_UNSUPPORTED is the error for record: rules, which need a TSDB to write to. */
export const RECORDING_UNSUPPORTED =
  'recording rules are not supported by rollguard (it evaluates alerting rules only); evaluate them in Prometheus'

// A lone UTF-16 surrogate is the only way a JavaScript string can fail to be valid UTF-8.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** validateGroups runs Prometheus's semantic checks (rulefmt Validate) and returns the specs of what is valid. */
export function validateGroups(file: string, groups: readonly DecodedGroup[], rep: Reporter): RuleGroupSpec[] {
  const seen = new Set<string>()
  const specs: RuleGroupSpec[] = []
  for (const { index, group, rules } of groups) {
    const base: Path = ['groups', index]
    if (group !== undefined) checkGroup(group, base, seen, rep)
    const labels = group?.labels ?? {}
    const compiled = rules.map(r =>
      r.rule === undefined ? undefined : checkRule(r.rule, [...base, 'rules', r.index], labels, rep),
    )
    if (group !== undefined) specs.push(groupSpec(file, group, compiled))
  }
  lintDuplicates(groups, rep)
  return specs
}

function checkGroup(group: GroupInput, base: Path, seen: Set<string>, rep: Reporter): void {
  if (group.name === '') rep.error([...base, 'name'], 'Groupname must not be empty')
  else if (seen.has(group.name)) rep.error([...base, 'name'], `groupname: "${group.name}" is repeated in the same file`)
  seen.add(group.name)
  checkLabels(group.labels, [...base, 'labels'], rep)
  // Group labels become templated rule labels; check them once here rather than once per rule.
  compileAll('label', `__group_${group.name}`, group.labels, k => [...base, 'labels', k], rep)
}

function groupSpec(file: string, group: GroupInput, rules: readonly (AlertingRuleSpec | undefined)[]): RuleGroupSpec {
  return {
    file,
    name: group.name,
    intervalMs: group.interval ?? 0,
    queryOffsetMs: group.query_offset ?? 0,
    limit: group.limit,
    rules: rules.filter((r): r is AlertingRuleSpec => r !== undefined),
  }
}

function checkRule(
  rule: RuleInput,
  base: Path,
  groupLabels: Record<string, string>,
  rep: Reporter,
): AlertingRuleSpec | undefined {
  if (rule.record !== '' && rule.alert !== '')
    rep.error([...base, 'record'], "only one of 'record' and 'alert' must be set", { at: 'key' })
  if (rule.record === '' && rule.alert === '') rep.error(base, "one of 'record' or 'alert' must be set")
  checkExpr(rule.expr, [...base, 'expr'], rep)
  if (rule.record !== '') checkRecordingRule(rule, base, rep)
  checkLabels(rule.labels, [...base, 'labels'], rep)
  for (const name of Object.keys(rule.annotations)) {
    if (!isValidName(name)) rep.error([...base, 'annotations', name], `invalid annotation name: ${name}`, { at: 'key' })
  }
  if (rule.alert === '' || rule.record !== '') return undefined
  const template = `__alert_${rule.alert}`
  // Group labels are merged first so that rule labels win, as in Prometheus's FromMaps(group, rule).
  const labels = compileAll(
    'label',
    template,
    { ...groupLabels, ...rule.labels },
    k => ruleLabelPath(base, k, rule),
    rep,
  )
  const annotations = compileAll('annotation', template, rule.annotations, k => [...base, 'annotations', k], rep)
  return {
    name: rule.alert,
    expr: rule.expr.trim(),
    forMs: rule.for ?? 0,
    keepFiringForMs: rule.keep_firing_for ?? 0,
    labels,
    annotations,
  }
}

/** ruleLabelPath is undefined for labels inherited from the group, whose errors checkGroup reports. */
function ruleLabelPath(base: Path, key: string, rule: RuleInput): Path | undefined {
  return Object.hasOwn(rule.labels, key) ? [...base, 'labels', key] : undefined
}

function checkExpr(expr: string, path: Path, rep: Reporter): void {
  if (expr === '') {
    rep.error(path, "field 'expr' must be set in rule")
    return
  }
  const res = checkPromQL(expr)
  if (!res.ok) rep.error(path, res.message, { offset: res.offset })
}

function checkRecordingRule(rule: RuleInput, base: Path, rep: Reporter): void {
  const record: Path = [...base, 'record']
  rep.error(record, RECORDING_UNSUPPORTED, { at: 'key' })
  if (Object.keys(rule.annotations).length > 0)
    rep.error([...base, 'annotations'], "invalid field 'annotations' in recording rule", { at: 'key' })
  if ((rule.for ?? 0) !== 0) rep.error([...base, 'for'], "invalid field 'for' in recording rule", { at: 'key' })
  if ((rule.keep_firing_for ?? 0) !== 0) {
    rep.error([...base, 'keep_firing_for'], "invalid field 'keep_firing_for' in recording rule", { at: 'key' })
  }
  if (!isValidName(rule.record)) rep.error(record, `invalid recording rule name: ${rule.record}`)
  if (/[{}]/.test(rule.record))
    rep.error(record, `braces present in the recording rule name; should it be in expr?: ${rule.record}`)
}

function checkLabels(labels: Record<string, string>, base: Path, rep: Reporter): void {
  for (const [name, value] of Object.entries(labels)) {
    if (!isValidName(name) || name === '__name__')
      rep.error([...base, name], `invalid label name: ${name}`, { at: 'key' })
    if (LONE_SURROGATE.test(value)) rep.error([...base, name], `invalid label value: ${value}`)
  }
}

/** isValidName is Prometheus 3's default (UTF-8) label-name check: non-empty valid UTF-8. */
export function isValidName(name: string): boolean {
  return name !== '' && !LONE_SURROGATE.test(name)
}

function compileAll(
  kind: 'label' | 'annotation',
  templateName: string,
  sources: Record<string, string>,
  pathOf: (key: string) => Path | undefined,
  rep: Reporter,
): Record<string, Template> {
  const out: Array<[string, Template]> = []
  for (const [key, source] of Object.entries(sources)) {
    try {
      out.push([key, compileTemplate(templateName, source)])
    } catch (err) {
      const path = pathOf(key)
      const message = errorText(err)
      if (path !== undefined)
        rep.error(path, `${kind} ${JSON.stringify(key)}: ${message}`, { offset: lineOffset(source, errorLine(err)) })
    }
  }
  // fromEntries, not assignment, so that a "__proto__" label stays an own property.
  return Object.fromEntries(out)
}

function errorLine(err: unknown): number {
  const line = (err as { line?: unknown } | null)?.line
  return typeof line === 'number' && line > 0 ? line : 1
}

/** lineOffset is the offset of the start of the 1-based line in text. */
function lineOffset(text: string, line: number): number {
  let offset = 0
  for (let i = 1; i < line; i++) {
    const next = text.indexOf('\n', offset)
    if (next < 0) break
    offset = next + 1
  }
  return offset
}

/** lintDuplicates is promtool's duplicate-rules lint: same name and same merged labels within a file. */
function lintDuplicates(groups: readonly DecodedGroup[], rep: Reporter): void {
  const first = new Map<string, string>()
  for (const { index: gi, group, rules } of groups) {
    for (const { index: ri, rule } of rules) {
      if (group === undefined || rule === undefined) continue
      const name = rule.alert !== '' ? rule.alert : rule.record
      const labels = { ...group.labels, ...rule.labels }
      const key = JSON.stringify([
        name,
        Object.keys(labels)
          .sort()
          .map(k => [k, labels[k]]),
      ])
      const where = `group ${JSON.stringify(group.name)}, rule ${ri + 1}`
      const earlier = first.get(key)
      if (earlier === undefined) first.set(key, where)
      else
        rep.lint(
          ['groups', gi, 'rules', ri],
          `duplicate rule: same name and labels as ${earlier}: ${formatLabels(name, labels)}`,
        )
    }
  }
}

function formatLabels(name: string, labels: Record<string, string>): string {
  const parts = Object.keys(labels)
    .sort()
    .map(k => `${k}=${JSON.stringify(labels[k])}`)
  return `${name}{${parts.join(', ')}}`
}
