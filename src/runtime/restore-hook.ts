/**
 * The rule manager's restore hook: before a started group's first live evaluation, its alert state is rebuilt from
 * the rules' own recent data (backtest/restore.ts), bounded in time, with a metric and a log line per outcome.
 */

import type { Logger } from 'pino'
import { restoreGroup, type RestoreOutcome } from '../backtest/restore.js'
import { limiter, type Limiter, type RangeQueryFn } from '../backtest/replay.js'
import type { GroupState } from '../engine/group.js'
import { snapshotGroup, type GroupSnapshot } from '../engine/snapshot.js'
import type { Labels } from '../engine/types.js'
import type { RestoreMetrics } from '../telemetry/restore-metrics.js'
import { groupKey } from '../engine/spec.js'

/** RestoreSettings are read when a group starts, so they follow reloads. */
export interface RestoreSettings {
  readonly rangeQuery: (
    expr: string,
    range: Parameters<RangeQueryFn>[1],
    signal: AbortSignal,
  ) => ReturnType<RangeQueryFn>
  /** prometheus.timeout: with two intervals of the group, the most a restore may delay its first evaluation. */
  readonly timeoutMs: number
  readonly externalLabels: Labels
  readonly externalURL: string
  readonly maxConcurrentQueries: number
  readonly windowMs: number
  /** rules.max_concurrent_restores: groups restoring at once, daemon-wide (see restoreHook). */
  readonly groupsAtOnce: number
}

/** RestoreHookDeps connect the hook to the daemon. */
export interface RestoreHookDeps {
  readonly logger: Logger
  readonly metrics: RestoreMetrics
  readonly settings: () => RestoreSettings
  /** onFiring sees a group restored with firing alerts: they never went firing in this process. */
  readonly onFiring: (group: GroupSnapshot) => void
}

/**
 * restoreHook builds the manager's `restore`; it never throws (a failed restore starts the group fresh).
 *
 * At most settings.groupsAtOnce groups restore at the same time, daemon-wide. At start every group restores within
 * its first interval: 1,000 groups put 4,000 range queries on the datasource in 5 s, more than a small Prometheus
 * answers in that time, and each group waiting on its answers held its replay meanwhile (the peak RSS of 4,000 rules
 * was ~15 MiB higher). Queued groups hold nothing; the datasource, busy either way, answers about as fast
 * (docs/benchmarks.md). A changed bound applies to the restores that start after the reload.
 */
export function restoreHook(deps: RestoreHookDeps): (group: GroupState, firstLiveSlot: number) => Promise<void> {
  let queue: { readonly size: number; readonly run: Limiter } | undefined
  return async (group, firstLiveSlot) => {
    const settings = deps.settings()
    const key = groupKey(group.spec)
    if (queue?.size !== settings.groupsAtOnce)
      queue = { size: settings.groupsAtOnce, run: limiter(settings.groupsAtOnce) }
    // Bounded, the wait in the queue included: a slow or broken datasource delays readiness at most this long, then
    // the group starts fresh.
    const signal = AbortSignal.timeout(Math.max(settings.timeoutMs, 2 * group.intervalMs))
    const outcome = await queue.run(async (): Promise<RestoreOutcome> =>
      signal.aborted
        ? { kind: 'failed', error: `did not start in time (${String(signal.reason ?? 'aborted')})` }
        : restoreGroup(group, firstLiveSlot, {
            rangeQuery: (expr, range) => settings.rangeQuery(expr, range, signal),
            externalLabels: settings.externalLabels,
            externalURL: settings.externalURL,
            maxConcurrentQueries: settings.maxConcurrentQueries,
            windowMs: settings.windowMs,
            signal,
          }),
    )
    deps.metrics.restores.inc({ rule_group: key, result: outcome.kind })
    if (outcome.kind === 'failed') {
      deps.logger.warn(
        { group: key, error: outcome.error },
        'alert state not restored: the group starts fresh (for windows start over)',
      )
    } else if (outcome.kind === 'restored') {
      const { pending, firing, fromMs } = outcome
      deps.logger.info(
        { group: key, pending, firing, from: new Date(fromMs).toISOString() },
        'alert state restored from history',
      )
      // Restored firing triggers never went firing in this process: decided as a new leader decides them.
      if (firing > 0) deps.onFiring(snapshotGroup(group))
    }
  }
}

/** forgetRestores drops a removed group's restore counters (the manager drops its other series). */
export function forgetRestores(metrics: RestoreMetrics, group: GroupState): void {
  for (const result of ['restored', 'skipped', 'failed'])
    metrics.restores.remove({ rule_group: groupKey(group.spec), result })
}
