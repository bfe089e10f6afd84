/**
 * What the no-data watch counts for a rule: one query per distinct selector the rule reads, built on the shared
 * selector listing of src/rules/vector-selectors.ts. Pure (a bounded cache per expression).
 */

import { selectorQuery, vectorSelectors, type SelectorUse } from '../rules/vector-selectors.js'
import { PROBE_METRIC_PREFIX as PROBE_PREFIX } from '../sources/local-query.js'

/** SelectorCheck counts the series one selector matches, as the rule reads it. */
export interface SelectorCheck {
  /** key is the selector as the rule reads it, with its range and offset (`rate(x[5m])` → `x[5m]`): the identity shared across rules. */
  readonly key: string
  /** series is the expression whose series are counted: the selector, or `last_over_time` of it over its range. */
  readonly series: string
  /** query is the instant query that counts its series; it returns nothing (not 0) when there are none. */
  readonly query: string
  /** probe: a rollguard_probe_* selector, answered by the local probe store. */
  readonly probe: boolean
}

// Parsing is the costly part (~0.1 ms an expression), and a reload hands every rule over again: the checks are kept
// per expression, bounded, and the watch holds these same objects. The loader fills the cache a slice at a time
// while it takes a reload's rules in (src/runtime/load-off-thread.ts).
const cache = new Map<string, readonly SelectorCheck[]>()
const CACHE_LIMIT = 50_000

/**
 * selectorChecks lists the distinct selectors of expr to count, in order of appearance: `count(sel)` for an
 * instant selector (Prometheus's 5 minute lookback), `count(last_over_time(sel[range]))` for one read over a range
 * (its own plus any enclosing subquery's). Selectors inside absent() or absent_over_time() are left out: no series
 * is what such a rule looks for. Probe selectors are counted as instant selectors without offset, the only form the
 * local probe store answers (it keeps the latest result per probe).
 */
export function selectorChecks(expr: string): readonly SelectorCheck[] {
  let checks = cache.get(expr)
  if (checks === undefined) {
    checks = Object.freeze(checksOf(expr))
    if (cache.size >= CACHE_LIMIT) cache.clear()
    cache.set(expr, checks)
  }
  return checks
}

function checksOf(expr: string): SelectorCheck[] {
  const out = new Map<string, SelectorCheck>()
  for (const use of vectorSelectors(expr)) {
    if (use.role === 'absence') continue
    const check = checkOf(use)
    out.set(check.key, check)
  }
  return [...out.values()]
}

function checkOf(use: SelectorUse): SelectorCheck {
  const key = selectorQuery(use, use.lookbackMs)
  if (use.metric?.startsWith(PROBE_PREFIX) === true)
    return { key, series: use.selector, query: `count(${use.selector})`, probe: true }
  const series = use.lookbackMs > 0 ? `last_over_time(${key})` : key
  return { key, series, query: `count(${series})`, probe: false }
}
