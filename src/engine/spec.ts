import type { Template } from './types.js'

/** AlertingRuleSpec is one loaded alerting rule, templates compiled. Labels are group labels merged with rule labels (rule wins). */
export interface AlertingRuleSpec {
  readonly name: string
  readonly expr: string
  readonly forMs: number
  readonly keepFiringForMs: number
  readonly labels: Readonly<Record<string, Template>>
  readonly annotations: Readonly<Record<string, Template>>
}

/** RuleGroupSpec is one loaded rule group; intervalMs 0 means "use the daemon's default interval". */
export interface RuleGroupSpec {
  readonly file: string
  readonly name: string
  readonly intervalMs: number
  readonly queryOffsetMs: number
  readonly limit: number
  readonly rules: readonly AlertingRuleSpec[]
}
