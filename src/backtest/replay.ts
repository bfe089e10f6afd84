/**
 * Replaying rule groups over past data through the same pure engine that evaluates them live. A range query
 * at step = the group's interval, on the group's own slot grid, returns at each step exactly what an instant
 * query at that slot returns (Prometheus evaluates both the same way), so evaluating the group slot by slot
 * against those answers reproduces its alert lifecycle: `for`, `keep_firing_for`, templates, resolution.
 * Used by `rollguard backtest` and to restore alert state after a restart.
 */

import { evaluateGroup, newGroupState, type GroupState } from '../engine/group.js'
import { evalTimestamp, groupOffset } from '../engine/slots.js'
import type { RuleGroupSpec } from '../engine/spec.js'
import type { Labels, Sample, Transition } from '../engine/types.js'
import { errorText } from '../errors.js'

/** RangeQueryFn answers one expression over [startMs, endMs] at stepMs: points per series in Unix ms. */
export type RangeQueryFn = (
  expr: string,
  range: { readonly startMs: number; readonly endMs: number; readonly stepMs: number },
) => Promise<{
  readonly series: ReadonlyArray<{ readonly labels: Labels; readonly points: ReadonlyArray<readonly [number, number]> }>
  readonly warnings: readonly string[]
}>

/** ReplayOptions are the settings a replay needs besides the group. */
export interface ReplayOptions {
  readonly rangeQuery: RangeQueryFn
  readonly externalLabels: Labels
  readonly externalURL: string
  /** Range queries running at once. */
  readonly maxConcurrentQueries: number
  /**
   * Steps per range query. Prometheus refuses more than 11,000 points per series; fewer keep memory flat: the
   * replay asks one window of time at a time (the next one already while evaluating this one), evaluates it and
   * drops its answers.
   */
  readonly pointsPerQuery?: number
  /** Called after each chunk of each rule, for progress reports. */
  readonly onChunk?: (done: number, total: number) => void
}

/** Replay is what a group did over the replayed slots, and its state after the last one. */
export interface Replay {
  readonly state: GroupState
  readonly transitions: Transition[]
  /** Every slot evaluated, in order. */
  readonly slots: number[]
  /** Rule errors by rule name (the first error seen), e.g. a query the source refused. */
  readonly errors: ReadonlyMap<string, string>
}

const PROMETHEUS_MAX_POINTS = 11_000

/** slotsBetween lists the group's evaluation slots in [fromMs, toMs], on the grid the live scheduler uses. */
export function slotsBetween(
  spec: Pick<RuleGroupSpec, 'file' | 'name'>,
  intervalMs: number,
  fromMs: number,
  toMs: number,
): number[] {
  const offset = groupOffset(spec.file, spec.name, intervalMs)
  let first = evalTimestamp(fromMs, intervalMs, offset)
  if (first < fromMs) first += intervalMs
  const slots: number[] = []
  for (let s = first; s <= toMs; s += intervalMs) slots.push(s)
  return slots
}

/**
 * Windows whose range queries are asked before the earlier ones are evaluated. With 2, the next window's queries run
 * while the current window's slowest query finishes and its slots are evaluated, so a group whose rules differ in
 * cost (a histogram quantile beside a gauge comparison) keeps the datasource busy instead of waiting on one query
 * per window; answers are held for at most this many windows.
 */
const WINDOWS_AHEAD = 2

/**
 * replayGroup evaluates the group at every slot in [fromMs, toMs] from a fresh state. Time is replayed window by
 * window: every rule's range query for the window, then the window's slots in order. Range queries of the next
 * window (WINDOWS_AHEAD) are already running meanwhile; at most maxConcurrentQueries run at once, asked in order.
 */
export async function replayGroup(
  spec: RuleGroupSpec,
  intervalMs: number,
  fromMs: number,
  toMs: number,
  opts: ReplayOptions,
): Promise<Replay> {
  const slots = slotsBetween(spec, intervalMs, fromMs, toMs)
  const state = newGroupState(spec, intervalMs, opts.externalURL)
  const transitions: Transition[] = []
  const errors = new Map<string, string>()
  const windows = chunkSlots(slots, Math.min(PROMETHEUS_MAX_POINTS, opts.pointsPerQuery ?? DEFAULT_POINTS))
  const exprs = [...new Set(spec.rules.map(r => r.expr))]
  const limit = limiter(opts.maxConcurrentQueries)
  let done = 0
  const onDone = (): void => opts.onChunk?.(++done, windows.length * exprs.length)
  // fetchAnswers never rejects (a failed query is that rule's error), so answers asked ahead never go unhandled.
  const asked: Array<Promise<Answers> | undefined> = []
  for (let w = 0; w < windows.length; w++) {
    for (let next = asked.length; next < Math.min(windows.length, w + WINDOWS_AHEAD); next++) {
      asked.push(
        fetchAnswers(exprs, windows[next] as number[], intervalMs, spec.queryOffsetMs, opts.rangeQuery, limit, onDone),
      )
    }
    const answers = await (asked[w] as Promise<Answers>)
    asked[w] = undefined // dropped once evaluated
    const window = windows[w] as number[]
    for (const slot of window) {
      const result = await evaluateGroup(state, slot, {
        query: async (expr, at) => answerAt(answers, expr, at),
        clock: () => 0,
        externalLabels: opts.externalLabels,
        externalURL: opts.externalURL,
        resendDelayMs: 0,
        maxConcurrentQueries: 1,
      })
      transitions.push(...result.transitions)
      for (const o of result.outcomes) if (o.error !== '' && !errors.has(o.rule)) errors.set(o.rule, o.error)
    }
  }
  return { state, transitions, slots, errors }
}

const DEFAULT_POINTS = 240

/** Answers holds, per expression, the samples at each query time, or the error its range query failed with. */
type Answers = Map<
  string,
  { readonly byTime: Map<number, Sample[]>; readonly warnings: readonly string[] } | { readonly error: string }
>

function answerAt(answers: Answers, expr: string, at: number): { samples: Sample[]; warnings: readonly string[] } {
  const a = answers.get(expr)
  if (a === undefined) throw new Error(`no range query answer for ${expr}`)
  if ('error' in a) throw new Error(a.error)
  return { samples: a.byTime.get(at) ?? [], warnings: a.warnings }
}

async function fetchAnswers(
  exprs: readonly string[],
  window: readonly number[],
  stepMs: number,
  queryOffsetMs: number,
  rangeQuery: RangeQueryFn,
  limit: Limiter,
  onDone: () => void,
): Promise<Answers> {
  const answers: Answers = new Map()
  const range = {
    startMs: (window[0] as number) - queryOffsetMs,
    endMs: (window[window.length - 1] as number) - queryOffsetMs,
    stepMs,
  }
  await Promise.all(
    exprs.map(expr =>
      limit(async () => {
        try {
          const r = await rangeQuery(expr, range)
          const byTime = new Map<number, Sample[]>()
          for (const s of r.series) for (const [t, value] of s.points) pushAt(byTime, t, { labels: s.labels, value })
          answers.set(expr, { byTime, warnings: [...new Set(r.warnings)] })
        } catch (err) {
          answers.set(expr, { error: errorText(err) })
        }
        onDone()
      }),
    ),
  )
  return answers
}

/** Limiter runs at most n functions at once; the others wait in the order they were submitted. */
export type Limiter = <T>(fn: () => Promise<T>) => Promise<T>

export function limiter(n: number): Limiter {
  let active = 0
  const waiting: Array<() => void> = []
  return async fn => {
    if (active < Math.max(1, n)) active++
    else await new Promise<void>(resolve => waiting.push(resolve)) // the finishing function hands over its place
    try {
      return await fn()
    } finally {
      const next = waiting.shift()
      if (next !== undefined) next()
      else active--
    }
  }
}

function pushAt(byTime: Map<number, Sample[]>, t: number, sample: Sample): void {
  const at = byTime.get(t)
  if (at === undefined) byTime.set(t, [sample])
  else at.push(sample)
}

/** chunkSlots splits slots into consecutive windows of at most size slots. */
export function chunkSlots(slots: readonly number[], size: number): number[][] {
  const out: number[][] = []
  for (let i = 0; i < slots.length; i += Math.max(1, size)) out.push(slots.slice(i, i + Math.max(1, size)))
  return out
}
