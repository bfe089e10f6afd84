import type { Logger } from 'pino'
import {
  evaluateGroup,
  newGroupState,
  type GroupEvaluation,
  type GroupOptions,
  type GroupState,
  type RuleRuntime,
} from '../engine/group.js'
import { labelsToString } from '../engine/labels.js'
import { snapshotGroup, type GroupSnapshot, type RuleAlert } from '../engine/snapshot.js'
import { groupKey, type AlertingRuleSpec, type RuleGroupSpec } from '../engine/spec.js'
import type { OutgoingAlert, Transition } from '../engine/types.js'
import type { EngineMetrics } from '../telemetry/metrics.js'
import { deepEqual } from './deep-equal.js'
import { createCoalescedQueries, type CoalescedQueries } from './coalesced-query.js'
import { Scheduler } from './scheduler.js'
import { forgetAlertState } from './sharding/handover.js'
import { Slices } from '../sources/sliced-json.js'

/** AlertSink receives the alerts due for (re)sending; the Alertmanager notifier implements it. */
export interface AlertSink {
  send(alerts: readonly OutgoingAlert[]): void
}

/** ManagerSettings are the daemon-wide evaluation settings (replaced on reload). */
export interface ManagerSettings extends Omit<GroupOptions, 'clock'> {
  readonly defaultIntervalMs: number
  /** queryCoalescing answers rules that differ only in a kept label's value with one query (default true). */
  readonly queryCoalescing?: boolean
}

/** ManagerDeps are the manager's collaborators. */
export interface ManagerDeps {
  readonly logger: Logger
  readonly metrics: EngineMetrics
  readonly sink: () => AlertSink
  readonly now?: () => number
  readonly clock?: () => number
  /** onEvaluation sees every group iteration's snapshot and transitions (actions hang off this). */
  readonly onEvaluation?: (group: GroupSnapshot, result: GroupEvaluation) => void
  /**
   * restore rebuilds the alert state of a started group's rules that have none, before its first live iteration
   * at firstLiveSlot (which waits for it); it must not throw.
   */
  readonly restore?: (group: GroupState, firstLiveSlot: number) => Promise<void>
  /**
   * owns says whether this replica evaluates the group now (sharding, docs/sharding.md); absent: every group. With
   * it, a group is restored when it is taken over (at its first owned slot), not at start.
   */
  readonly owns?: (groupKey: string) => boolean
  /** onRemoved sees each group a reload removed, after it stopped (to drop what others keep per group). */
  readonly onRemoved?: (group: GroupState) => void
}

interface RunningGroup {
  readonly state: GroupState
  readonly scheduler: Scheduler
  /** The state as of the last evaluation (or restore): what readers outside the runtime get. */
  snapshot: GroupSnapshot
  /** Settles once the group's state was restored (or not); the first iteration waits for it. */
  restored: Promise<void>
  /** Whether this replica evaluated it at its last slot (always true without sharding). */
  owned: boolean
}

/** RuleManager owns the rule groups: schedules them, applies reloads, logs transitions and hands alerts to the sink. */
export class RuleManager {
  readonly #groups = new Map<string, RunningGroup>()
  /** last alert counts (pending, firing, inactive) set per rule; a rebuilt group has new rules, so it sets all again. */
  readonly #alertCounts = new WeakMap<RuleRuntime, readonly [number, number, number]>()
  #settings: ManagerSettings
  #coalesced: CoalescedQueries | undefined
  #evaluatedOnce = false
  #stopped = false
  /** Changes whenever a snapshot or the set of groups does: alerts() is rebuilt only then. */
  #generation = 0
  #alerts: { readonly generation: number; readonly alerts: readonly RuleAlert[] } | undefined

  constructor(
    private readonly deps: ManagerDeps,
    settings: ManagerSettings,
  ) {
    this.#settings = settings
  }

  /**
   * groups lists the live, mutable group states in load order: for the runtime and its tests only. Everything
   * else reads rules(), alerts() and firingAlerts() (scripts/check-engine-boundary.mjs).
   */
  groups(): GroupState[] {
    return [...this.#groups.values()].map(g => g.state)
  }

  /** rules lists every group's snapshot in load order: copies made once per evaluation, shared by all readers. */
  rules(): readonly GroupSnapshot[] {
    return [...this.#groups.values()].map(g => g.snapshot)
  }

  /** alerts lists every alert the rules hold (pending, firing, and resolved ones kept for resending), in rule order. */
  alerts(): readonly RuleAlert[] {
    if (this.#alerts?.generation !== this.#generation) {
      const alerts: RuleAlert[] = []
      for (const group of this.rules())
        for (const rule of group.rules)
          for (const alert of rule.state.active.values()) alerts.push({ group, rule, alert })
      this.#alerts = { generation: this.#generation, alerts: Object.freeze(alerts) }
    }
    return this.#alerts.alerts
  }

  /** firingAlerts lists the alerts in state firing. */
  firingAlerts(): readonly RuleAlert[] {
    return this.alerts().filter(a => a.alert.state === 'firing')
  }

  /** hasEvaluated is true once any group completed an iteration (readiness). */
  hasEvaluated(): boolean {
    return this.#evaluatedOnce || this.#groups.size === 0
  }

  /**
   * update replaces the rule set (Prometheus Manager.Update): unchanged groups keep running untouched; changed
   * groups restart with the alert state of rules that kept their name and labels; removed groups stop.
   */
  async update(specs: readonly RuleGroupSpec[], settings: ManagerSettings): Promise<void> {
    const settingsChanged = !sameSettings(settings, this.#settings)
    this.#settings = settings
    this.#coalesced = this.#planQueries(specs, settings)
    const next = new Map<string, RuleGroupSpec>(specs.map(s => [groupKey(s), s]))
    const stopping: Promise<void>[] = []
    // A group at a time, giving the event loop a turn whenever a slice has run long: thousands of rules take a while.
    const slices = new Slices()
    for (const [key, running] of [...this.#groups]) {
      await slices.tick()
      // stop() may have come during a turn given away: change nothing more.
      if (this.#stopped) return
      const spec = next.get(key)
      if (spec !== undefined && !settingsChanged && sameGroup(running.state.spec, spec)) {
        next.delete(key)
        continue
      }
      this.#groups.delete(key)
      if (spec !== undefined) {
        stopping.push(running.scheduler.stop().then(() => this.#dropRemovedRules(running.state, spec)))
        this.#start(spec, running.state, running.owned)
      } else {
        stopping.push(running.scheduler.stop().then(() => this.#dropGroup(running.state)))
      }
      next.delete(key)
    }
    await Promise.all(stopping)
    for (const spec of next.values()) {
      await slices.tick()
      if (this.#stopped) return
      this.#start(spec, undefined)
    }
    for (const { state } of this.#groups.values()) this.#setGroupGauges(state)
    this.#generation++
  }

  /** stop halts every group, waiting for running iterations. */
  async stop(): Promise<void> {
    this.#stopped = true
    await Promise.all([...this.#groups.values()].map(g => g.scheduler.stop()))
  }

  #start(spec: RuleGroupSpec, previous: GroupState | undefined, owned = false): void {
    const interval = spec.intervalMs > 0 ? spec.intervalMs : this.#settings.defaultIntervalMs
    const state = newGroupState(spec, interval, this.#settings.externalURL)
    if (previous !== undefined) copyState(previous, state)
    const running: RunningGroup = {
      state,
      scheduler: new Scheduler(spec, interval, (slot, missed) => this.#iterate(running, slot, missed), this.deps.now),
      snapshot: snapshotGroup(state),
      restored: Promise.resolve(),
      owned,
    }
    this.#groups.set(groupKey(spec), running)
    this.#generation++
    const first = running.scheduler.start()
    // With sharding, a group is restored when this replica takes it over (#claim).
    if (this.deps.restore !== undefined && this.deps.owns === undefined)
      running.restored = this.deps.restore(state, first).finally(() => this.#publish(running))
  }

  async #iterate(running: RunningGroup, slot: number, missed: number): Promise<void> {
    await running.restored
    if (!(await this.#claim(running, slot))) return
    const state = running.state
    const group = groupKey(state.spec)
    const m = this.deps.metrics
    m.groupIterations.inc({ rule_group: group }, missed + 1)
    if (missed > 0) {
      m.groupIterationsMissed.inc({ rule_group: group }, missed)
      this.deps.logger.warn({ group, missed }, 'group iterations missed: the previous iteration ran too long')
    }
    try {
      const health = state.rules.map(r => r.state.health)
      const settings = this.#settings
      const query = this.#coalesced?.queryFor(group, settings.query) ?? settings.query
      const result = await evaluateGroup(state, slot, { ...settings, query, clock: this.deps.clock ?? performanceNow })
      this.#publish(running)
      this.#record(state, group, result, health)
      this.deps.sink().send(result.toSend)
      this.#evaluatedOnce = true
      this.deps.onEvaluation?.(running.snapshot, result)
    } catch (err) {
      // evaluateGroup never throws by design; this guards the loop against bugs in logging or sinks.
      this.deps.logger.error({ group, err }, 'group iteration failed')
    }
  }

  /**
   * #claim says whether this replica evaluates the group at this slot (sharding). A group taken over is restored
   * from history first; a group given away forgets its alert state.
   */
  async #claim(running: RunningGroup, slot: number): Promise<boolean> {
    const owns = this.deps.owns
    if (owns === undefined) return true
    const key = groupKey(running.state.spec)
    let owned = owns(key)
    const takenOver = owned && !running.owned
    if (takenOver && this.deps.restore !== undefined) {
      await this.deps.restore(running.state, slot)
      // The restore took time: evaluate only if the group is still ours.
      owned = owns(key)
    }
    if (!owned && (running.owned || takenOver)) {
      forgetAlertState(running.state)
      this.#setAlertGauges(running.state)
    }
    if (owned !== running.owned) this.#publish(running)
    running.owned = owned
    // Ready once it knows its share, even when it owns nothing.
    this.#evaluatedOnce ||= !owned
    return owned
  }

  /** #publish replaces the group's snapshot with a copy of its state now. */
  #publish(running: RunningGroup): void {
    running.snapshot = snapshotGroup(running.state)
    this.#generation++
  }

  /** #planQueries plans which rules share a query (docs/query-coalescing.md); none when coalescing is off. */
  #planQueries(specs: readonly RuleGroupSpec[], settings: ManagerSettings): CoalescedQueries | undefined {
    const metrics = this.deps.metrics.coalescing
    if (settings.queryCoalescing !== false) return createCoalescedQueries(specs, settings.defaultIntervalMs, metrics)
    metrics.rules.set(0)
    metrics.queries.set(0)
    return undefined
  }

  #record(state: GroupState, group: string, result: GroupEvaluation, healthBefore: string[]): void {
    const m = this.deps.metrics
    let samples = 0
    let failures = 0
    result.outcomes.forEach((o, i) => {
      samples += o.samples
      m.evaluationDuration.observe(o.durationMs / 1000)
      if (o.error !== '') failures++
      this.#logHealth(group, o.rule, healthBefore[i], o.error, o.warnings)
    })
    // One update per iteration, not per rule: labelled metric updates hash their labels every call.
    if (result.outcomes.length > 0) m.evaluations.inc({ rule_group: group }, result.outcomes.length)
    if (failures > 0) m.evaluationFailures.inc({ rule_group: group }, failures)
    m.groupDuration.observe(state.evaluationDurationMs / 1000)
    m.groupLastDuration.set({ rule_group: group }, state.evaluationDurationMs / 1000)
    m.groupLastEvaluation.set({ rule_group: group }, state.lastEvaluation / 1000)
    m.groupLastSamples.set({ rule_group: group }, samples)
    for (const t of result.transitions) this.#logTransition(group, t)
    this.#setAlertGauges(state)
  }

  #logHealth(
    group: string,
    rule: string,
    before: string | undefined,
    error: string,
    warnings: readonly string[],
  ): void {
    if (error !== '' && before !== 'err') this.deps.logger.warn({ group, rule, error }, 'rule evaluation failed')
    else if (error === '' && before === 'err') this.deps.logger.info({ group, rule }, 'rule evaluation recovered')
    if (warnings.length > 0) this.deps.logger.debug({ group, rule, warnings }, 'query returned warnings')
  }

  #logTransition(group: string, t: Transition): void {
    this.deps.logger.info(
      {
        group,
        rule: t.rule,
        labels: t.labels,
        value: t.value,
        from: t.from,
        to: t.to,
        alert: labelsToString(t.labels),
      },
      `alert ${t.rule} ${t.to === 'deleted' ? 'cleared while pending' : t.to}`,
    )
  }

  /**
   * #dropGroup removes a removed group's series from /metrics, as Prometheus does: without this every group name
   * a reload ever removed would stay exported (and in memory) until the process ends.
   */
  #dropGroup(state: GroupState): void {
    const group = groupKey(state.spec)
    const m = this.deps.metrics
    for (const metric of [
      m.evaluations,
      m.evaluationFailures,
      m.groupLastDuration,
      m.groupLastEvaluation,
      m.groupInterval,
      m.groupIterations,
      m.groupIterationsMissed,
      m.groupRules,
      m.groupLastSamples,
    ]) {
      metric.remove({ rule_group: group })
    }
    this.#dropAlertGauges(
      group,
      state.rules.map(r => r.spec.name),
    )
    this.deps.onRemoved?.(state)
  }

  /** #dropRemovedRules removes the alert gauges of rules a changed group no longer has (by name). */
  #dropRemovedRules(old: GroupState, spec: RuleGroupSpec): void {
    const kept = new Set(spec.rules.map(r => r.name))
    this.#dropAlertGauges(
      groupKey(spec),
      old.rules.map(r => r.spec.name).filter(name => !kept.has(name)),
    )
  }

  #dropAlertGauges(group: string, names: readonly string[]): void {
    for (const alertname of new Set(names))
      for (const state of ALERT_STATES) this.deps.metrics.alerts.remove({ rule_group: group, alertname, state })
  }

  #setGroupGauges(state: GroupState): void {
    const group = groupKey(state.spec)
    this.deps.metrics.groupInterval.set({ rule_group: group }, state.intervalMs / 1000)
    this.deps.metrics.groupRules.set({ rule_group: group }, state.rules.length)
    // Counters exist at zero from the start, as in Prometheus, so rate() and alerts on them see the group at once.
    for (const counter of [
      this.deps.metrics.evaluationFailures,
      this.deps.metrics.groupIterationsMissed,
      this.deps.metrics.evaluations,
      this.deps.metrics.groupIterations,
    ]) {
      counter.inc({ rule_group: group }, 0)
    }
  }

  /** #setAlertGauges sets each rule's alert counts by state, touching the gauge only for counts that changed. */
  #setAlertGauges(state: GroupState): void {
    const group = groupKey(state.spec)
    for (const rule of state.rules) {
      let pending = 0
      let firing = 0
      let inactive = 0
      for (const alert of rule.state.active.values()) {
        if (alert.state === 'pending') pending++
        else if (alert.state === 'firing') firing++
        else inactive++
      }
      const last = this.#alertCounts.get(rule)
      if (last !== undefined && last[0] === pending && last[1] === firing && last[2] === inactive) continue
      const counts = [pending, firing, inactive] as const
      ALERT_STATES.forEach((s, i) => {
        const n = counts[i] as number
        if (last === undefined || last[i] !== n)
          this.deps.metrics.alerts.set({ rule_group: group, alertname: rule.spec.name, state: s }, n)
      })
      this.#alertCounts.set(rule, counts)
    }
  }
}

/** ruleSignature is what makes two rules the same rule: templates compare by their source text. */
function ruleSignature(rule: AlertingRuleSpec): unknown {
  const sources = (t: AlertingRuleSpec['labels']) => Object.entries(t).map(([k, v]) => [k, v.source])
  return [rule.name, rule.expr, rule.forMs, rule.keepFiringForMs, sources(rule.labels), sources(rule.annotations)]
}

function sameGroup(a: RuleGroupSpec, b: RuleGroupSpec): boolean {
  return (
    a.intervalMs === b.intervalMs &&
    a.limit === b.limit &&
    a.queryOffsetMs === b.queryOffsetMs &&
    a.rules.length === b.rules.length &&
    a.rules.every((r, i) => deepEqual(ruleSignature(r), ruleSignature(b.rules[i] as AlertingRuleSpec)))
  )
}

/**
 * sameSettings compares the settings that are data; the query function and the alert-source builder are read at
 * every iteration, so a new one takes effect without rebuilding any group.
 */
function sameSettings(a: ManagerSettings, b: ManagerSettings): boolean {
  const data = (s: ManagerSettings) => Object.entries(s).filter(([, v]) => typeof v !== 'function')
  return deepEqual(Object.fromEntries(data(a)), Object.fromEntries(data(b)))
}

/** copyState carries alert state over to rules with the same name and labels, matching duplicates in order. */
function copyState(from: GroupState, to: GroupState): void {
  const key = (r: AlertingRuleSpec) =>
    JSON.stringify([
      r.name,
      Object.entries(r.labels)
        .map(([k, v]) => [k, v.source])
        .sort(),
    ])
  const pool = new Map<string, GroupState['rules']>()
  for (const rule of from.rules) pool.set(key(rule.spec), [...(pool.get(key(rule.spec)) ?? []), rule])
  for (const rule of to.rules) {
    const old = pool.get(key(rule.spec))?.shift()
    if (old === undefined) continue
    Object.assign(rule.state, old.state)
  }
}

const performanceNow = (): number => performance.now()

const ALERT_STATES = ['pending', 'firing', 'inactive'] as const
