/**
 * The no-data watch's counts, planned: checks whose selectors differ only in the values of equality matchers (the
 * same rule generated once per Deployment) are counted by one `count by (those labels) (…)` query, the values merged
 * into regex matchers as query coalescing merges them (src/engine/coalesce.ts, docs/query-coalescing.md); each
 * check takes the count of its own values, 0 when the answer has none. A selector keeps every label and
 * `last_over_time` is per series, so the count of each value is exactly what the check's own query counts. Pure.
 */

import { planShared, type SharedQuery } from '../engine/coalesce.js'
import { samplesByValues, valuesKey } from '../engine/labels.js'
import type { Labels, Sample } from '../engine/types.js'
import { labelName } from '../rules/vector-selectors.js'
import type { SelectorCheck } from './checks.js'

/** CountedCheck is one check a count query answers, with the label values that pick its count (none: the only one). */
export interface CountedCheck {
  readonly key: string
  readonly filter: Labels
}

/** CountQuery is one query of a round and the checks it answers. */
export interface CountQuery {
  readonly query: string
  readonly checks: readonly CountedCheck[]
}

/** planCounts lists the queries of one round: merged counts where checks share a shape, each check's own otherwise. */
export function planCounts(checks: readonly SelectorCheck[]): CountQuery[] {
  const mergeable = checks.filter(c => !c.probe)
  const shares = planShared(mergeable.map(c => ({ timing: '', expr: c.series })))
  const merged = new Map<SharedQuery, CountedCheck[]>()
  // Probe selectors are answered by the local probe store, which knows only the plain form.
  const out: CountQuery[] = checks.filter(c => c.probe).map(ownCount)
  mergeable.forEach((check, i) => {
    const share = shares[i]
    if (share === undefined || Object.keys(share.filter).length === 0) {
      out.push(ownCount(check))
      return
    }
    const members = merged.get(share.query) ?? []
    merged.set(share.query, members)
    members.push({ key: check.key, filter: share.filter })
  })
  for (const [shared, members] of merged) {
    const labels = Object.keys((members[0] as CountedCheck).filter).map(labelName)
    out.push({ query: `count by (${labels.join(', ')}) (${shared.expr})`, checks: members })
  }
  return out
}

/** NO_FILTER: a check's own count is the answer's only sample (one object for the thousands of such checks). */
const NO_FILTER: Labels = Object.freeze({})

/** ownCount is a check's own count query. */
export function ownCount(check: SelectorCheck): CountQuery {
  return { query: check.query, checks: [{ key: check.key, filter: NO_FILTER }] }
}

/**
 * countsOf reads each check's count from the answer to its count query: the sample of its values, else 0. The
 * checks of one query filter on the same labels, so the answer is indexed once by their values: a merged count of a
 * thousand Deployments is a thousand lookups, not a thousand scans of a thousand samples.
 */
export function countsOf(q: CountQuery, samples: readonly Sample[]): [key: string, series: number][] {
  const names = Object.keys(q.checks[0]?.filter ?? NO_FILTER)
  const byValues = samplesByValues(samples, names)
  return q.checks.map(({ key, filter }) => [key, byValues.get(valuesKey(names, filter))?.[0]?.value ?? 0])
}
