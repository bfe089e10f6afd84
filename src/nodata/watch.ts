/**
 * The no-data watch: every rules.no_data_check_interval it counts the series each distinct selector of the loaded
 * rules matches (once per selector, however many rules share it; a few counts in flight at a time), and flags the
 * rules none of whose selectors matched anything for rules.no_data_for (the verdict is detector.ts's). Counts go
 * through the daemon's query router, so rollguard_probe_* selectors are answered by the local probe store.
 */

import type { Logger } from 'pino'
import { mapBounded, type GroupEvaluation } from '../engine/group.js'
import type { QueryFn } from '../engine/ports.js'
import type { RuleGroupSpec } from '../engine/spec.js'
import { formatDuration } from '../rules/duration.js'
import { groupKey } from '../engine/spec.js'
import { RuleMap } from '../engine/rule-map.js'
import type { RuleDataMetrics } from '../telemetry/rule-data-metrics.js'
import { selectorChecks, type SelectorCheck } from './checks.js'
import { countsOf, ownCount, planCounts, type CountQuery } from './count-plan.js'
import { changes, noDataOf, observe, type NoData, type SelectorState } from './detector.js'
import { RuleSamples } from './samples.js'
import { errorText } from '../errors.js'
import { isRefusal } from '../runtime/coalesced-query.js'
import type { GroupSnapshot, RuleSnapshot } from '../engine/snapshot.js'

/** CHECK_CONCURRENCY bounds the counts in flight: they are a background chore and must not crowd the rules' queries. */
export const CHECK_CONCURRENCY = 4

/** WatchSettings come from the config (rules.no_data_*) and change on reload. */
export interface WatchSettings {
  /** checkIntervalMs is the time between two rounds of counts; 0 switches the watch off. */
  readonly checkIntervalMs: number
  readonly noDataForMs: number
  /** probesConfigured is false when no health probe is configured: rollguard_probe_* series can never exist. */
  readonly probesConfigured: boolean
  /** mergeCounts: selectors of one shape are counted by one query (rules.query_coalescing; count-plan.ts). */
  readonly mergeCounts: boolean
}

/** RuleDataStatus is what the API and the status page show about one rule's data. */
export interface RuleDataStatus {
  /** noData is set while none of the rule's selectors matches a series (for at least rules.no_data_for). */
  readonly noData: NoData | undefined
  /** probesMissing: the rule reads rollguard_probe_* series, but no probe is configured. */
  readonly probesMissing: boolean
}

/** WatchDeps are the watch's collaborators; now is Unix ms. */
export interface WatchDeps {
  readonly logger: Logger
  readonly metrics: RuleDataMetrics
  /** query is the daemon's query router (Prometheus, or the probe store for rollguard_probe_* expressions). */
  readonly query: QueryFn
  /**
   * owns says whether this replica evaluates the group now (sharding): only the selectors of its groups' rules are
   * counted and only those rules judged, so N replicas share the counts as they share the rules. Absent: every group.
   */
  readonly owns?: (groupKey: string) => boolean
  readonly now?: () => number
}

/** CountPlan is a round's queries and the selectors they count. */
interface CountPlan {
  readonly keys: ReadonlySet<string>
  readonly counts: readonly CountQuery[]
}

/** ByName holds a value per rule name within a group, keyed by the rules' own strings, not a joined key per rule. */
type ByName<T> = Map<string, Map<string, T>>

function at<T>(map: ByName<T>, group: string, name: string): T | undefined {
  return map.get(group)?.get(name)
}

function put<T>(map: ByName<T>, group: string, name: string, value: T): void {
  let names = map.get(group)
  if (names === undefined) map.set(group, (names = new Map()))
  names.set(name, value)
}

interface WatchedRule {
  readonly ruleGroup: string
  readonly name: string
  /** uses are the keys of the selectors the rule reads (SelectorCheck.key). */
  readonly uses: readonly string[]
  readonly readsProbes: boolean
}

/** NoDataWatch keeps the selector states, the rules' verdicts and the per-rule data metrics. */
export class NoDataWatch {
  readonly #samples: RuleSamples
  readonly #now: () => number
  #settings: WatchSettings = { checkIntervalMs: 0, noDataForMs: 0, probesConfigured: true, mergeCounts: true }
  /**
   * The rules by group, name and expression (a changed expression is a new rule). A rule keeps its object across
   * reloads while those stay the same: the verdicts are keyed by it.
   */
  #rules = new RuleMap<WatchedRule>()
  #checks = new Map<string, SelectorCheck>()
  /** The last round's plan, kept while the selectors to count stay the same; undefined after a reload. */
  #plan: CountPlan | undefined
  readonly #states = new Map<string, SelectorState>()
  #verdicts = new Map<WatchedRule, NoData | undefined>()
  /** The rules judged last time, by group and name: the ones with a no-data gauge here. */
  #judged: ByName<{ readonly rule: WatchedRule }> = new Map()
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #again = false
  #stopped = false

  constructor(private readonly deps: WatchDeps) {
    this.#samples = new RuleSamples(deps.metrics)
    this.#now = deps.now ?? Date.now
  }

  /**
   * update takes the loaded rule set (at start and on every reload): selectors no rule reads any more and removed
   * rules are forgotten (their series leave /metrics), and a round of counts starts at once for the new set.
   */
  update(groups: readonly RuleGroupSpec[], settings: WatchSettings): void {
    this.#settings = settings
    const rules = new RuleMap<WatchedRule>()
    const checks = new Map<string, SelectorCheck>()
    for (const group of groups) {
      const key = groupKey(group)
      for (const rule of group.rules) {
        const own = selectorChecks(rule.expr)
        for (const check of own) checks.set(check.key, check)
        const known = this.#rules.get(key, rule.name, rule.expr)
        const watched = known ?? {
          ruleGroup: key,
          name: rule.name,
          uses: own.map(c => c.key),
          readsProbes: own.some(c => c.probe),
        }
        rules.set(key, rule.name, rule.expr, watched)
      }
    }
    const after: ByName<true> = new Map()
    for (const r of rules.values()) put(after, r.ruleGroup, r.name, true)
    for (const r of this.#rules.values())
      if (at(after, r.ruleGroup, r.name) === undefined) this.#samples.forget(r.ruleGroup, r.name)
    this.#rules = rules
    this.#checks = checks
    this.#plan = undefined
    for (const key of [...this.#states.keys()]) if (!checks.has(key)) this.#states.delete(key)
    const kept = new Set(rules.values())
    for (const rule of [...this.#verdicts.keys()]) if (!kept.has(rule)) this.#verdicts.delete(rule)
    this.#judge()
    this.#warnAboutProbes()
    this.#kick(0)
  }

  /** recordEvaluation takes one group iteration (the rule manager's onEvaluation) for the per-rule sample metrics. */
  recordEvaluation(group: GroupSnapshot, result: GroupEvaluation): void {
    this.#samples.record(group, result)
  }

  /** status is the rule's data status, undefined for a rule the watch does not know (yet). */
  status(group: GroupSnapshot, rule: RuleSnapshot): RuleDataStatus | undefined {
    const watched = this.#rules.get(groupKey(group.spec), rule.spec.name, rule.spec.expr)
    if (watched === undefined) return undefined
    return {
      noData: this.#verdicts.get(watched),
      probesMissing: watched.readsProbes && !this.#settings.probesConfigured,
    }
  }

  /** check runs one round: counts every selector of the rules it judges, then judges them. It never throws. */
  async check(): Promise<void> {
    const at = this.#now()
    const checks = this.#checks
    const plan = this.#planFor(this.#ownedRules())
    // A selector left out of a round (its groups moved to another replica) loses its evidence: counts before and
    // after the gap must not make one empty run.
    for (const key of [...this.#states.keys()]) if (!plan.keys.has(key)) this.#states.delete(key)
    const rounds = await mapBounded(plan.counts, CHECK_CONCURRENCY, q => this.#count(q, at, checks))
    for (const counts of rounds) {
      for (const [key, series] of counts) {
        // A reload while counting may have dropped or replaced the selector: its count means nothing now.
        if (this.#checks.get(key) !== checks.get(key)) continue
        const state = observe(this.#states.get(key), { at, series })
        if (state !== undefined) this.#states.set(key, state)
      }
    }
    this.#judge()
  }

  /** stop ends the periodic checks and waits for a running one. */
  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#running
  }

  /** #ownedRules are the rules of the groups this replica evaluates now (all of them without sharding). */
  #ownedRules(): WatchedRule[] {
    const rules = [...this.#rules.values()]
    const owns = this.deps.owns
    if (owns === undefined) return rules
    const owned = new Map<string, boolean>()
    const ownsRule = (rule: WatchedRule) => {
      let yes = owned.get(rule.ruleGroup)
      if (yes === undefined) owned.set(rule.ruleGroup, (yes = owns(rule.ruleGroup)))
      return yes
    }
    return rules.filter(ownsRule)
  }

  /** #planFor is the plan counting the selectors the rules read: the last one while they are the same. */
  #planFor(rules: readonly WatchedRule[]): CountPlan {
    const keys = new Set<string>()
    for (const rule of rules) for (const key of rule.uses) keys.add(key)
    const last = this.#plan
    if (last !== undefined && last.keys.size === keys.size && [...keys].every(k => last.keys.has(k))) return last
    const checks = [...keys].map(k => this.#checks.get(k) as SelectorCheck)
    this.#plan = { keys, counts: this.#settings.mergeCounts ? planCounts(checks) : checks.map(ownCount) }
    return this.#plan
  }

  /**
   * #count runs one count query: each check's count (undefined when it failed). A merged count Prometheus refuses
   * (a sample limit, say) is counted check by check, so limits apply per selector as without merging.
   */
  async #count(
    q: CountQuery,
    at: number,
    checks: ReadonlyMap<string, SelectorCheck>,
  ): Promise<[string, number | undefined][]> {
    try {
      const result = await this.deps.query(q.query, at)
      this.deps.metrics.selectorChecks.inc({ result: 'success' }, q.checks.length)
      return countsOf(q, result.samples)
    } catch (err) {
      if (q.checks.length > 1 && isRefusal(err)) {
        const counts: [string, number | undefined][] = []
        for (const { key } of q.checks) {
          const check = checks.get(key)
          if (check !== undefined) counts.push(...(await this.#count(ownCount(check), at, checks)))
        }
        return counts
      }
      this.deps.metrics.selectorChecks.inc({ result: 'failure' }, q.checks.length)
      this.deps.logger.debug({ query: q.query, error: errorText(err) }, 'no-data check failed')
      return q.checks.map(({ key }) => [key, undefined])
    }
  }

  /**
   * judge recomputes the verdicts of the rules this replica evaluates, logs the rules that enter or leave "no data"
   * and sets their gauges. A rule whose group moved to another replica is forgotten here: no verdict, no series.
   */
  #judge(): void {
    const rules = this.#ownedRules()
    const verdicts = new Map<WatchedRule, NoData | undefined>()
    for (const rule of rules) verdicts.set(rule, noDataOf(rule.uses, this.#states, this.#settings.noDataForMs))
    for (const change of changes(this.#verdicts, verdicts)) {
      const rule = change.key
      const fields = { group: rule.ruleGroup, rule: rule.name, selectors: rule.uses }
      if (change.to === 'no_data') {
        this.deps.logger.warn(
          { ...fields, since: new Date(change.verdict.since).toISOString() },
          `rule ${rule.name} has no data: none of its selectors matched a series for ${formatDuration(this.#now() - change.verdict.since)}; it cannot fire`,
        )
      } else {
        this.deps.logger.info(fields, `rule ${rule.name} has data again`)
      }
    }
    this.#verdicts = verdicts
    // One gauge per rule name, set every time (judging runs once per check interval); a name shared by several
    // rules of a group is "no data" if any of them is.
    const judged: ByName<{ rule: WatchedRule; noData: boolean }> = new Map()
    for (const rule of rules) {
      const noData = (at(judged, rule.ruleGroup, rule.name)?.noData ?? false) || verdicts.get(rule) !== undefined
      put(judged, rule.ruleGroup, rule.name, { rule, noData })
    }
    for (const names of judged.values())
      for (const { rule, noData } of names.values())
        this.deps.metrics.noData.set({ rule_group: rule.ruleGroup, alertname: rule.name }, noData ? 1 : 0)
    for (const names of this.#judged.values()) {
      for (const { rule } of names.values()) {
        if (at(judged, rule.ruleGroup, rule.name) !== undefined) continue
        this.deps.metrics.noData.remove({ rule_group: rule.ruleGroup, alertname: rule.name })
        // Removed by a reload, or evaluated by another replica now: its sample gauges would go stale here.
        this.#samples.forget(rule.ruleGroup, rule.name)
      }
    }
    this.#judged = judged
  }

  #warnAboutProbes(): void {
    if (this.#settings.probesConfigured) return
    const rules = [...this.#rules.values()].filter(r => r.readsProbes).map(r => `${r.ruleGroup} ${r.name}`)
    if (rules.length === 0) return
    this.deps.logger.warn(
      { rules },
      'rules read rollguard_probe_* series but no health probes are configured (probes:): they will never fire',
    )
  }

  #kick(delayMs: number): void {
    clearTimeout(this.#timer)
    if (this.#stopped || this.#settings.checkIntervalMs <= 0) return
    this.#timer = setTimeout(() => this.#tick(), delayMs)
    this.#timer.unref()
  }

  #tick(): void {
    if (this.#running !== undefined) {
      this.#again = true
      return
    }
    this.#again = false
    this.#running = this.check().finally(() => {
      this.#running = undefined
      this.#kick(this.#again ? 0 : this.#settings.checkIntervalMs)
    })
  }
}
