/**
 * The would-be rollbacks of a backtest: the safety policy applied at each firing of a rollback trigger in the
 * replayed window, with each workload's rollout history (its ReplicaSets or ControllerRevisions in creation order)
 * standing in for the workload as it was at that moment. Earlier would-be rollbacks count as if they had happened
 * (cooldown, per-workload limit, global brake, already rolled back); triggers count towards correlated failures as
 * they do live. Not simulated: silences, freeze annotations of the past, GitOps owners, leader election (assumed
 * held), and the workload changing because of a would-be rollback. Pure.
 */

import type { ActionsConfig } from '../actions/actions-config.js'
import { TriggerLog } from '../actions/correlation.js'
import {
  decide,
  encodeRollbackRecord,
  nextRollbackRecord,
  ROLLBACK_ANNOTATION,
  type Decision,
  type PolicyInput,
  type WorkloadFacts,
} from '../actions/policy.js'
import { isTrigger, targetOf } from '../actions/trigger.js'
import { workloadKey, type WorkloadRef } from '../actions/workload-ref.js'
import type { Labels } from '../engine/types.js'
import type { AlertTimeline } from './timeline.js'

/** Rollout is one revision of a workload and when it was first rolled out. */
export interface Rollout {
  readonly revision: number
  readonly at: number
  readonly name: string
  /** Set when this rollout made an older template current again (an undo, a revert): the evidence. */
  readonly reapplied?: string | undefined
}

/** RolloutHistory is a workload's labels and its rollouts in time order, or why it could not be read. */
export type RolloutHistory =
  | {
      readonly labels: Labels
      readonly rollouts: readonly Rollout[]
      /** [Unix ms, generation − observed generation] samples: a rollout is in progress where the lag is above 0. */
      readonly generationLag?: ReadonlyArray<readonly [number, number]> | undefined
      /** Where the history was read: the Kubernetes API (default) or kube-state-metrics. */
      readonly source?: 'kubernetes' | 'kube-state-metrics' | undefined
    }
  | { readonly error: string }

/** TriggerFiring is one firing of a rollback trigger in the window, with the workload it names. */
export interface TriggerFiring {
  readonly at: number
  readonly onset: number
  readonly ref: WorkloadRef
  readonly alert: AlertTimeline
}

/** WouldBe is the policy's verdict at one trigger firing. */
export interface WouldBe {
  readonly at: number
  readonly ref: WorkloadRef
  readonly alertname: string
  /** Where the workload's rollout history came from; undefined when it could not be read. */
  readonly history?: 'kubernetes' | 'kube-state-metrics' | undefined
  readonly decision:
    | Decision
    | {
        readonly act: false
        readonly reason: 'unreadable'
        readonly message: string
        readonly blockers: readonly string[]
      }
}

/** triggerFirings lists the firings of the alerts that are rollback triggers and name a workload, in time order. */
export function triggerFirings(
  alerts: readonly AlertTimeline[],
  config: Pick<ActionsConfig, 'trigger' | 'targets'>,
): TriggerFiring[] {
  const out: TriggerFiring[] = []
  for (const alert of alerts) {
    if (!isTrigger(alert.labels, config.trigger)) continue
    const ref = targetOf(alert.labels, config.targets)
    if ('reason' in ref) continue
    alert.intervals.forEach((interval, i) => {
      if (interval.state !== 'firing') return
      const before = alert.intervals[i - 1]
      const onset = before?.state === 'pending' && before.end === interval.start ? before.start : interval.start
      out.push({ at: interval.start, onset, ref, alert })
    })
  }
  return out.sort((a, b) => a.at - b.at)
}

/** wouldBeRollbacks decides every firing in order, carrying the would-be rollbacks forward. */
export function wouldBeRollbacks(
  firings: readonly TriggerFiring[],
  histories: ReadonlyMap<string, RolloutHistory>,
  config: ActionsConfig,
): WouldBe[] {
  const policy: ActionsConfig = { ...config, mode: 'execute' }
  const log = new TriggerLog()
  for (const f of firings) log.note(f.ref, f.at, f.at, Number.POSITIVE_INFINITY)
  const records = new Map<string, string>()
  const undone = new Map<string, number>()
  const rollbacks: number[] = []
  return firings.map(f => {
    const key = workloadKey(f.ref)
    const history = histories.get(key) ?? { error: 'not read' }
    const alertname = f.alert.labels['alertname'] ?? f.alert.rule
    if ('error' in history)
      return {
        at: f.at,
        ref: f.ref,
        alertname,
        decision: { act: false, reason: 'unreadable', message: history.error, blockers: ['unreadable'] },
      }
    const facts = factsAt(f.ref, history, f.at, records.get(key), undone.get(key) ?? 0)
    const input: PolicyInput = {
      now: f.at,
      policy,
      facts,
      recentRollbacks: rollbacks,
      isLeader: true,
      alert: { fingerprint: key, labels: f.alert.labels, startsAt: f.at, origin: 'rules', onset: f.onset },
      correlated: config.correlation.enabled ? log.correlated(f.ref, f.at, config.correlation) : undefined,
    }
    const decision = decide(input)
    if (decision.act && decision.target !== undefined) {
      rollbacks.push(f.at)
      records.set(
        key,
        encodeRollbackRecord({
          ...nextRollbackRecord(input, decision.target, alertname),
          generation: facts.generation + 1,
        }),
      )
      undone.set(key, (undone.get(key) ?? 0) + 1)
    }
    return { at: f.at, ref: f.ref, alertname, history: history.source ?? 'kubernetes', decision }
  })
}

/**
 * factsAt is the workload as it was at `at`: the newest rollout by then is current, the one before it previous;
 * a rollout in progress where kube-state-metrics showed the generation ahead of the observed one. Revisions are numbered as the controller would have: one per rollout, plus one per earlier would-be
 * rollback (an undo is a revision too); generations advance by two per revision, one for a rollback's own patch.
 */
export function factsAt(
  ref: WorkloadRef,
  history: Extract<RolloutHistory, { labels: Labels }>,
  at: number,
  record: string | undefined,
  undone = 0,
): WorkloadFacts {
  const done = history.rollouts.filter(r => r.at <= at)
  const current = done.at(-1)
  const revision = done.length + undone
  const generation = 2 * revision
  const lag = history.generationLag?.filter(([t]) => t <= at).at(-1)?.[1] ?? 0
  return {
    ref,
    labels: history.labels,
    annotations: record === undefined ? {} : { [ROLLBACK_ANNOTATION]: record },
    paused: false,
    generation,
    observedGeneration: lag > 0 ? generation - 1 : generation,
    currentRevision: revision,
    previousRevision: done.length < 2 ? undefined : revision - 1,
    currentRevisionSince: current?.at,
    currentIsUndo: current?.reapplied === undefined ? undefined : { evidence: current.reapplied },
  }
}
