/**
 * "No data" as a verdict over observations: which rules read nothing at all, and since when. Pure: the checks'
 * results and their times are arguments.
 *
 * An alerting rule's result is normally empty (nothing is wrong), so the rule's result cannot tell "healthy" from
 * "watching nothing". Its selectors can: each distinct selector is counted periodically (count(sel)), and a rule
 * has no data when *none* of its selectors matched a series through the whole of `noDataForMs`. One empty
 * selector among others is not enough: series that appear only when something goes wrong (a 5xx counter that
 * the first error creates) are normal. A failed count (the source is down) is no evidence either way: the
 * selector keeps its state, and the rule's own health already reports the failure.
 */

/** SelectorObservation is one count of a selector at `at` (Unix ms); series undefined means the count failed. */
export interface SelectorObservation {
  readonly at: number
  readonly series: number | undefined
}

/** SelectorState is what the observations of one selector established. */
export interface SelectorState {
  /** series is the last successful count. */
  readonly series: number
  /** emptySince is the first of the current run of counts that found nothing; undefined while it matches series. */
  readonly emptySince: number | undefined
  /** checkedAt is the time of the last successful count. */
  readonly checkedAt: number
}

/** NoData is a rule's verdict: since when none of its selectors matched, and those selectors. */
export interface NoData {
  readonly since: number
  readonly selectors: readonly string[]
}

/** observe folds one observation into a selector's state (undefined: never counted successfully). */
export function observe(state: SelectorState | undefined, obs: SelectorObservation): SelectorState | undefined {
  if (obs.series === undefined) return state
  if (state !== undefined && obs.at < state.checkedAt) return state // an answer that arrived out of order
  if (obs.series > 0) return { series: obs.series, emptySince: undefined, checkedAt: obs.at }
  return { series: 0, emptySince: state?.emptySince ?? obs.at, checkedAt: obs.at }
}

/**
 * noDataOf is the verdict on a rule reading the given selectors: no data when every one of them was counted empty
 * continuously from `since` (the latest start of their empty runs) until a count at least noDataForMs later
 * (the earliest of their last counts), so the whole period is covered by evidence. A rule reading no selector
 * (`vector(1)`, only absent()) always has data.
 */
export function noDataOf(
  selectors: readonly string[],
  states: ReadonlyMap<string, SelectorState>,
  noDataForMs: number,
): NoData | undefined {
  if (selectors.length === 0) return undefined
  let since = -Infinity
  let evidenceUntil = Infinity
  for (const key of selectors) {
    const state = states.get(key)
    if (state?.emptySince === undefined) return undefined
    since = Math.max(since, state.emptySince)
    evidenceUntil = Math.min(evidenceUntil, state.checkedAt)
  }
  return evidenceUntil - since >= noDataForMs ? { since, selectors: [...selectors] } : undefined
}

/** Change is a rule entering or leaving "no data". */
export type Change<K> =
  { readonly key: K; readonly to: 'no_data'; readonly verdict: NoData } | { readonly key: K; readonly to: 'data' }

/**
 * changes lists the rules whose verdict switched from before to after. A rule new in after counts as having had data
 * (a reload that adds a rule reading known-empty selectors reports it at once); a rule gone from after is forgotten.
 */
export function changes<K>(
  before: ReadonlyMap<K, NoData | undefined>,
  after: ReadonlyMap<K, NoData | undefined>,
): Change<K>[] {
  const out: Change<K>[] = []
  for (const [key, verdict] of after) {
    if (!before.has(key)) {
      if (verdict !== undefined) out.push({ key, to: 'no_data', verdict })
      continue
    }
    const was = before.get(key)
    if (was === undefined && verdict !== undefined) out.push({ key, to: 'no_data', verdict })
    else if (was !== undefined && verdict === undefined) out.push({ key, to: 'data' })
  }
  return out
}
