import { planCoalescing, type CoalescePlan, type RuleShare, type SharedQuery } from '../engine/coalesce.js'
import type { QueryFn, QueryResult } from '../engine/ports.js'
import type { RuleGroupSpec } from '../engine/spec.js'
import { samplesByValues, valuesKey } from '../engine/labels.js'
import type { Labels, Sample } from '../engine/types.js'
import { QueryError } from '../sources/prometheus.js'
import type { CoalescingMetrics } from '../telemetry/coalescing-metrics.js'

/**
 * Errors of the shared query that are about the query itself, not about reaching Prometheus: a merged answer too
 * big for prometheus.max_response_bytes, a sample limit, or an execution error caused by series of other rules.
 * Each rule then asks on its own, so limits and errors stay its own, exactly as without coalescing.
 */
const REFUSALS = new Set(['too_large', 'execution', 'bad_data', 'unsupported'])

/** isRefusal: the error is Prometheus refusing the query itself (not a failure to reach it). */
export function isRefusal(err: unknown): boolean {
  return err instanceof QueryError && REFUSALS.has(err.errorType)
}

interface Pending {
  readonly at: number
  readonly answer: Promise<QueryResult>
  /** Rules still to take their series from this answer; once none is left it is dropped. */
  left: number
}

/**
 * CoalescedQueries issues each shared query of a plan once per instant and hands every rule its series. An answer
 * is kept only until all the rules sharing it took their part (or the next instant comes), one per shared query.
 */
export class CoalescedQueries {
  readonly #pending = new Map<SharedQuery, Pending>()
  /**
   * Each shared answer's samples by the values its rules filter on, made by the first rule that takes its part: a
   * query shared by a thousand rules is split once, not scanned a thousand times (an outage answers every series).
   */
  readonly #parts = new WeakMap<QueryResult, Map<string, Sample[]>>()

  constructor(
    readonly plan: CoalescePlan,
    private readonly metrics: CoalescingMetrics,
  ) {}

  /** queryFor is the query function for one group's rules: planned expressions shared, everything else as is. */
  queryFor(groupKey: string, query: QueryFn): QueryFn {
    const shares = this.plan.groups.get(groupKey)
    if (shares === undefined) return query
    return (expr, at) => {
      const share = shares.get(expr)
      return share === undefined ? query(expr, at) : this.#answer(share, expr, at, query)
    }
  }

  async #answer(share: RuleShare, expr: string, at: number, query: QueryFn): Promise<QueryResult> {
    let pending = this.#pending.get(share.query)
    // A group running late behind the others asks on its own rather than evict their answer.
    if (pending !== undefined && pending.at > at) return query(expr, at)
    const reused = pending?.at === at
    if (pending === undefined || !reused) {
      pending = { at, answer: query(share.query.expr, at), left: share.query.rules }
      this.#pending.set(share.query, pending)
    }
    if (--pending.left <= 0) this.#pending.delete(share.query)
    let result: QueryResult
    try {
      result = await pending.answer
    } catch (err) {
      if (!isRefusal(err)) throw err
      this.metrics.fallbacks.inc()
      return query(expr, at)
    }
    if (reused) this.metrics.saved.inc()
    return this.#slice(result, share.filter)
  }

  /** #slice is the rule's part of a shared answer: the samples carrying its filter's values, in the answer's order. */
  #slice(result: QueryResult, filter: Labels): QueryResult {
    const names = Object.keys(filter)
    if (names.length === 0) return result
    let parts = this.#parts.get(result)
    if (parts === undefined) {
      parts = samplesByValues(result.samples, names)
      this.#parts.set(result, parts)
    }
    return { samples: parts.get(valuesKey(names, filter)) ?? [], warnings: result.warnings }
  }
}

/**
 * createCoalescedQueries plans coalescing for a rule set (groups without an interval use defaultIntervalMs) and sets
 * the plan's gauges.
 */
export function createCoalescedQueries(
  specs: readonly RuleGroupSpec[],
  defaultIntervalMs: number,
  metrics: CoalescingMetrics,
): CoalescedQueries {
  const plan = planCoalescing(
    specs.map(spec => ({ spec, intervalMs: spec.intervalMs > 0 ? spec.intervalMs : defaultIntervalMs })),
  )
  metrics.rules.set(plan.rules)
  metrics.queries.set(plan.queries)
  return new CoalescedQueries(plan, metrics)
}
