import { ProblemsError, loadConfig, type Config, type ConfigInput } from '../config/load.js'
import type { RuleGroupSpec } from '../engine/spec.js'
import { ruleLimitsOf } from '../rules/limits.js'
import { formatRuleFileError, loadRuleFiles } from '../rules/load.js'

/** RulesError lists rule-file problems, one line each with file:line:col; at start-up main prints them and exits 2. */
export class RulesError extends ProblemsError {
  override name = 'RulesError'
}

/** Loaded is a validated configuration and the rule groups of its rule files. */
export interface Loaded {
  readonly config: Config
  readonly groups: RuleGroupSpec[]
}

/** loadRules reads, parses and validates the config's rule files within its limits; throws RulesError. */
export async function loadRules(config: Config): Promise<RuleGroupSpec[]> {
  const loaded = await loadRuleFiles([...config.doc.rules.files], { limits: ruleLimitsOf(config.doc.rules) })
  if (loaded.errors.length > 0) throw new RulesError(loaded.errors.map(formatRuleFileError))
  return loaded.files.flatMap(f => f.groups)
}

/** loadAll loads the configuration, then its rules, in this thread; throws ConfigError or RulesError. */
export async function loadAll(input: ConfigInput): Promise<Loaded> {
  const config = await loadConfig(input)
  return { config, groups: await loadRules(config) }
}
