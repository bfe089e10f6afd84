/**
 * A backtest: every configured rule group replayed over a past window, through the engine, against the
 * configured Prometheus-compatible API; the result is a timeline per alert. Groups replay one after another,
 * each window by window, so memory stays bounded by two windows of one group's answers.
 */

import type { ActionsConfig } from '../actions/actions-config.js'
import { workloadKey, type WorkloadRef } from '../actions/workload-ref.js'
import type { RuleGroupSpec } from '../engine/spec.js'
import type { Labels } from '../engine/types.js'
import { groupKey } from '../engine/spec.js'
import { readsProbeSeries } from '../sources/local-query.js'
import type { RangeQueryFn } from './replay.js'
import { replayGroup } from './replay.js'
import { timelines, type AlertTimeline } from './timeline.js'
import { triggerFirings, wouldBeRollbacks, type RolloutHistory, type WouldBe } from './would-be.js'

/** BacktestOptions are the window, the evaluation settings and where the data comes from. */
export interface BacktestOptions {
  readonly fromMs: number
  readonly toMs: number
  /** Overrides every group's interval (coarser steps approximate `for`); undefined: each group's own. */
  readonly stepMs: number | undefined
  readonly defaultIntervalMs: number
  readonly rangeQuery: RangeQueryFn
  readonly externalLabels: Labels
  readonly externalURL: string
  readonly maxConcurrentQueries: number
  readonly onProgress?: (group: string, done: number, total: number) => void
  /** With actions: the policy, and where each triggered workload's rollout history comes from. */
  readonly actions?: {
    readonly config: ActionsConfig
    readonly history: (ref: WorkloadRef) => Promise<RolloutHistory>
  }
}

/** GroupReport is what a group did in the window. */
export interface GroupReport {
  readonly key: string
  readonly intervalMs: number
  readonly slots: number
  readonly errors: Record<string, string>
  /** Rules that read rollguard's own probe series: their data lives only in rollguard, unless Prometheus scraped it. */
  readonly probeRules: string[]
}

/** Backtest is the whole result. */
export interface Backtest {
  readonly fromMs: number
  readonly toMs: number
  readonly groups: GroupReport[]
  readonly alerts: AlertTimeline[]
  /** The policy's verdict at each trigger firing (with an actions section). */
  readonly wouldBe?: WouldBe[]
}

/** runBacktest replays every group over [fromMs, toMs]. */
export async function runBacktest(groups: readonly RuleGroupSpec[], opts: BacktestOptions): Promise<Backtest> {
  const reports: GroupReport[] = []
  const alerts: AlertTimeline[] = []
  for (const spec of groups) {
    const key = groupKey(spec)
    const intervalMs = opts.stepMs ?? (spec.intervalMs > 0 ? spec.intervalMs : opts.defaultIntervalMs)
    const replay = await replayGroup(spec, intervalMs, opts.fromMs, opts.toMs, {
      rangeQuery: opts.rangeQuery,
      externalLabels: opts.externalLabels,
      externalURL: opts.externalURL,
      maxConcurrentQueries: opts.maxConcurrentQueries,
      onChunk: (done, total) => opts.onProgress?.(key, done, total),
    })
    reports.push({
      key,
      intervalMs,
      slots: replay.slots.length,
      errors: Object.fromEntries(replay.errors),
      probeRules: spec.rules.filter(r => readsProbeSeries(r.expr)).map(r => r.name),
    })
    alerts.push(...timelines(key, replay.transitions))
  }
  const result = { fromMs: opts.fromMs, toMs: opts.toMs, groups: reports, alerts }
  if (opts.actions === undefined) return result
  const firings = triggerFirings(alerts, opts.actions.config)
  const histories = new Map<string, RolloutHistory>()
  for (const f of firings) {
    const key = workloadKey(f.ref)
    if (!histories.has(key)) histories.set(key, await opts.actions.history(f.ref))
  }
  return { ...result, wouldBe: wouldBeRollbacks(firings, histories, opts.actions.config) }
}
