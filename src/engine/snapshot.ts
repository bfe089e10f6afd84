/**
 * Read-only snapshots of the engine's state, for everything outside the engine and the runtime (the HTTP API, the
 * status page, the actions, the no-data watch). The rule manager copies a group's state once per evaluation (and
 * after a restore), as Prometheus's rules hand out copies of their alerts (currentAlerts): readers share that copy
 * and never see, or hold, the live state an evaluation mutates. The live GroupState has the same shape with
 * mutable parts, so pure functions typed against snapshots also take a state the caller owns (tests, replays).
 */

import type { GroupState } from './group.js'
import type { AlertingRuleSpec, RuleGroupSpec } from './spec.js'
import type { Alert, RuleHealth } from './types.js'

/** AlertSnapshot is one alert as it was at the end of an evaluation. */
export type AlertSnapshot = Readonly<Alert>

/** RuleStateSnapshot is a rule's alerts (by fingerprint) and health after its last evaluation. */
export interface RuleStateSnapshot {
  readonly active: ReadonlyMap<string, AlertSnapshot>
  readonly health: RuleHealth
  readonly lastError: string
  readonly lastEvaluation: number
  readonly evaluationDurationMs: number
}

/** RuleSnapshot is one alerting rule and its state. */
export interface RuleSnapshot {
  readonly spec: AlertingRuleSpec
  readonly state: RuleStateSnapshot
  readonly warnings: readonly string[]
}

/** GroupSnapshot is one rule group and its rules' state. */
export interface GroupSnapshot {
  readonly spec: RuleGroupSpec
  readonly intervalMs: number
  readonly rules: readonly RuleSnapshot[]
  readonly lastEvaluation: number
  readonly evaluationDurationMs: number
}

/** RuleAlert is one alert with the rule and group it belongs to (RuleManager.alerts). */
export interface RuleAlert {
  readonly group: GroupSnapshot
  readonly rule: RuleSnapshot
  readonly alert: AlertSnapshot
}

const NO_ALERTS: ReadonlyMap<string, AlertSnapshot> = new Map()

/**
 * snapshotGroup copies a group's state: every alert, every rule's state, the group's times; the group and rule
 * records are frozen, the alerts are typed read-only but not frozen (freezing 20,000 alerts costs about five times
 * their copying, on every evaluation). Labels and annotations are shared: the engine replaces them, never edits them.
 */
export function snapshotGroup(group: GroupState): GroupSnapshot {
  return Object.freeze({
    spec: group.spec,
    intervalMs: group.intervalMs,
    lastEvaluation: group.lastEvaluation,
    evaluationDurationMs: group.evaluationDurationMs,
    rules: Object.freeze(
      group.rules.map(rule => {
        const { state } = rule
        // Most rules have no alerts: they share one empty map (4,000 rules made 4,000 empty maps per round).
        let active: ReadonlyMap<string, AlertSnapshot> = NO_ALERTS
        if (state.active.size > 0) {
          const copy = new Map<string, AlertSnapshot>()
          for (const [fp, alert] of state.active) copy.set(fp, copyAlert(alert))
          active = copy
        }
        return Object.freeze({
          spec: rule.spec,
          warnings: rule.warnings,
          state: Object.freeze({
            active,
            health: state.health,
            lastError: state.lastError,
            lastEvaluation: state.lastEvaluation,
            evaluationDurationMs: state.evaluationDurationMs,
          }),
        })
      }),
    ),
  })
}

// A literal of the fields rather than a spread: one object shape, the cheapest copy.
function copyAlert(a: Alert): AlertSnapshot {
  return {
    fingerprint: a.fingerprint,
    labels: a.labels,
    annotations: a.annotations,
    state: a.state,
    value: a.value,
    activeAt: a.activeAt,
    firedAt: a.firedAt,
    resolvedAt: a.resolvedAt,
    lastSentAt: a.lastSentAt,
    validUntil: a.validUntil,
    keepFiringSince: a.keepFiringSince,
  }
}
