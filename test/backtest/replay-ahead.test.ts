// The backtest benchmark's fix (bench/backtest.mjs, docs/benchmarks.md): a replay asks the next window's range
// queries while the current window's slowest one finishes, within max_concurrent_queries, never more than one
// window ahead of the slots being evaluated, and with the same result as one query at a time. No timings.
import t from 'tap'
import { replayGroup, type RangeQueryFn } from '../../src/backtest/replay.js'
import { timelines } from '../../src/backtest/timeline.js'
import { group, rule, SEC } from '../fixtures/engine.js'

const T0 = Date.parse('2026-12-01T10:00:00Z')
const STEP = 10 * SEC
const POINTS = 5

const spec = group(
  [
    rule({ name: 'Slow', expr: 'slow == 0', forMs: 30 * SEC }),
    rule({ name: 'Fast', expr: 'fast == 0', forMs: 0 }),
    rule({ name: 'Other', expr: 'other == 0', forMs: 20 * SEC }),
  ],
  { intervalMs: STEP },
)

const bad = (at: number): boolean =>
  (at >= T0 + 70 * SEC && at < T0 + 190 * SEC) || (at >= T0 + 260 * SEC && at < T0 + 290 * SEC)

interface Trace {
  maxInFlight: number
  /** window index of each query when it was asked, and the windows fully answered by then */
  asked: Array<{ window: number; answeredBefore: number }>
}

/** tracedRange answers after a delay that depends on the expression (slow ones last), recording concurrency. */
function tracedRange(trace: Trace, windowOf: (startMs: number) => number): RangeQueryFn {
  let inFlight = 0
  const answered = new Map<number, number>()
  const allAnsweredBelow = (): number => {
    let w = 0
    while ((answered.get(w) ?? 0) === spec.rules.length) w++
    return w
  }
  return async (expr, range) => {
    const window = windowOf(range.startMs)
    trace.asked.push({ window, answeredBefore: allAnsweredBelow() })
    inFlight++
    trace.maxInFlight = Math.max(trace.maxInFlight, inFlight)
    await new Promise(r => setTimeout(r, expr.startsWith('slow') ? 15 : 1))
    const points: Array<[number, number]> = []
    for (let at = range.startMs; at <= range.endMs; at += range.stepMs) if (bad(at)) points.push([at, 0])
    inFlight--
    answered.set(window, (answered.get(window) ?? 0) + 1)
    return { series: points.length === 0 ? [] : [{ labels: { job: 'api' }, points }], warnings: [] }
  }
}

t.test('range queries of the next window overlap the current one, bounded, with the same alerts', async t => {
  const run = async (maxConcurrentQueries: number) => {
    const trace: Trace = { maxInFlight: 0, asked: [] }
    let first: number | undefined
    const windowOf = (startMs: number): number => {
      first ??= startMs
      return Math.round((startMs - first) / (POINTS * STEP))
    }
    const r = await replayGroup(spec, STEP, T0, T0 + 400 * SEC, {
      rangeQuery: tracedRange(trace, windowOf),
      externalLabels: {},
      externalURL: 'http://x',
      maxConcurrentQueries,
      pointsPerQuery: POINTS,
    })
    return { r, trace }
  }
  const one = await run(1)
  const many = await run(5)
  const windows = Math.ceil(one.r.slots.length / POINTS)
  t.equal(one.trace.maxInFlight, 1, 'maxConcurrentQueries 1: one query at a time')
  t.equal(many.trace.asked.length, windows * 3, 'one query per rule and window')
  t.ok(
    many.trace.maxInFlight > 3,
    `the next window's queries run beside this one's (${many.trace.maxInFlight} at once)`,
  )
  t.ok(many.trace.maxInFlight <= 5, 'never more than maxConcurrentQueries')
  t.ok(
    many.trace.asked.every(a => a.window <= a.answeredBefore + 1),
    'never more than one window ahead of the answered ones',
  )
  const shape = (r: typeof one.r) => timelines('g', r.transitions).map(l => ({ rule: l.rule, intervals: l.intervals }))
  t.same(shape(many.r), shape(one.r), 'the same timelines as one query at a time')
  t.same(many.r.slots, one.r.slots)
  t.ok(
    shape(one.r).some(l => l.intervals.some(i => i.state === 'firing')),
    'something fired',
  )
})
