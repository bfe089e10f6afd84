import { isAbsolute, relative } from 'node:path'
import type { AlertingRuleSpec, RuleGroupSpec } from '../engine/spec.js'

/** RuleRef is one loaded alerting rule with the group (and so the file) it comes from. */
export interface RuleRef {
  readonly rule: AlertingRuleSpec
  readonly group: RuleGroupSpec
}

/** ruleRefs flattens rule groups into their rules, in file and group order. */
export function ruleRefs(groups: readonly RuleGroupSpec[]): RuleRef[] {
  return groups.flatMap(group => group.rules.map(rule => ({ rule, group })))
}

/** describeRule names a rule for a message: `rule "HighErrorRate" (rules/triggers.yml)`, the file relative to cwd when inside it. */
export function describeRule(ref: RuleRef, cwd: string): string {
  const rel = relative(cwd, ref.group.file)
  const file = rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : ref.group.file
  return `rule "${ref.rule.name}" (${file})`
}
