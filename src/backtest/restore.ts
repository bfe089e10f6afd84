/**
 * Alert state after a restart, rebuilt from the rules' own data: each rule is replayed over the slots before the
 * group's first live evaluation, far enough back to cover its `for` and `keep_firing_for` (at most
 * rules.restore_window), and the live rule continues from the replayed state. A restart in the middle of a 5-minute
 * `for` fires at the original time, not 5 minutes after the restart; a firing alert stays firing with its
 * original activeAt. Prometheus restores from the ALERTS_FOR_STATE series it wrote itself (with
 * --rules.alert.for-outage-tolerance); rollguard writes no series, so it recomputes from the data instead.
 */

import type { GroupState } from '../engine/group.js'
import type { Labels } from '../engine/types.js'
import { readsProbeSeries } from '../sources/local-query.js'
import { replayGroup, type RangeQueryFn } from './replay.js'
import { errorText } from '../errors.js'

/** RestoreOptions configure one group's restore. */
export interface RestoreOptions {
  readonly rangeQuery: RangeQueryFn
  readonly externalLabels: Labels
  readonly externalURL: string
  readonly maxConcurrentQueries: number
  /** rules.restore_window: the longest history replayed (0: never restore). */
  readonly windowMs: number
  /** Aborts the restore (a deadline): nothing is applied once it fired. */
  readonly signal?: AbortSignal | undefined
}

/** RestoreOutcome says what a group's restore did. */
export type RestoreOutcome =
  | {
      readonly kind: 'restored'
      readonly fromMs: number
      readonly rules: number
      readonly pending: number
      readonly firing: number
    }
  | { readonly kind: 'skipped'; readonly reason: string }
  | { readonly kind: 'failed'; readonly error: string }

function activeFromStart(replay: { readonly slots: readonly number[]; readonly state: GroupState }): boolean {
  const first = replay.slots[0]
  return (
    first !== undefined &&
    replay.state.rules.some(r => [...r.state.active.values()].some(a => a.resolvedAt === 0 && a.activeAt === first))
  )
}

/**
 * restoreGroup rebuilds the state of the group's rules whose state is still empty, replaying the slots before
 * firstLiveSlot. It never throws; on a datasource error the group starts fresh and the outcome says why.
 */
export async function restoreGroup(
  state: GroupState,
  firstLiveSlot: number,
  opts: RestoreOptions,
): Promise<RestoreOutcome> {
  // Rules over rollguard's own probe series have no history to replay (the series live only in this process).
  const eligible = state.rules.filter(
    r => r.state.active.size === 0 && r.state.health === 'unknown' && !readsProbeSeries(r.spec.expr),
  )
  const needed = Math.max(0, ...eligible.map(r => r.spec.forMs + r.spec.keepFiringForMs))
  if (opts.windowMs <= 0) return { kind: 'skipped', reason: 'rules.restore_window is 0' }
  if (eligible.length === 0 || needed === 0)
    return { kind: 'skipped', reason: 'no rule with for or keep_firing_for to restore' }
  // One interval more than needed: the slot at exactly activeAt + for must be replayed as pending first. An alert
  // active from the first replayed slot on began earlier: look further back (its onset decides fault_predates_rollout).
  let windowMs = Math.min(opts.windowMs, needed + state.intervalMs)
  const spec = { ...state.spec, rules: eligible.map(r => r.spec) }
  let replay
  for (;;) {
    try {
      replay = await replayGroup(spec, state.intervalMs, firstLiveSlot - windowMs, firstLiveSlot - 1, {
        rangeQuery: opts.rangeQuery,
        externalLabels: opts.externalLabels,
        externalURL: opts.externalURL,
        maxConcurrentQueries: opts.maxConcurrentQueries,
      })
    } catch (err) {
      return { kind: 'failed', error: errorText(err) }
    }
    if (windowMs >= opts.windowMs || replay.errors.size > 0 || !activeFromStart(replay)) break
    windowMs = Math.min(opts.windowMs, windowMs * 4)
  }
  const fromMs = firstLiveSlot - windowMs
  if (opts.signal?.aborted === true)
    return { kind: 'failed', error: `did not finish in time (${String(opts.signal.reason ?? 'aborted')})` }
  const failed = [...replay.errors.entries()]
  if (failed.length > 0) return { kind: 'failed', error: failed.map(([rule, error]) => `${rule}: ${error}`).join('; ') }
  let pending = 0
  let firing = 0
  eligible.forEach((rule, i) => {
    const restored = replay.state.rules[i]?.state
    if (restored === undefined) return
    // Only the alerts: health and timings are the live evaluation's to report.
    for (const [fp, alert] of restored.active) {
      // Sent again by the first live evaluation, as Prometheus re-sends restored alerts.
      rule.state.active.set(fp, { ...alert, lastSentAt: 0, validUntil: 0 })
      if (alert.state === 'pending') pending++
      if (alert.state === 'firing') firing++
    }
  })
  return { kind: 'restored', fromMs, rules: eligible.length, pending, firing }
}
