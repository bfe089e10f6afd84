import t from 'tap'
import { chunkSlots, replayGroup, slotsBetween, type RangeQueryFn } from '../../src/backtest/replay.js'
import { restoreGroup } from '../../src/backtest/restore.js'
import { timelines } from '../../src/backtest/timeline.js'
import { newGroupState } from '../../src/engine/group.js'
import { evalTimestamp, groupOffset } from '../../src/engine/slots.js'
import { group, rule, SEC } from '../fixtures/engine.js'

const T0 = Date.parse('2026-12-01T10:00:00Z')

/** scriptedRange answers every expression with one series whose value at t is fn(t) (undefined: no point). */
function scriptedRange(
  fn: (t: number) => number | undefined,
  calls: Array<{ startMs: number; endMs: number }> = [],
): RangeQueryFn {
  return async (_expr, range) => {
    calls.push({ startMs: range.startMs, endMs: range.endMs })
    const points: Array<[number, number]> = []
    for (let at = range.startMs; at <= range.endMs; at += range.stepMs) {
      const v = fn(at)
      if (v !== undefined) points.push([at, v])
    }
    return { series: [{ labels: { job: 'api' }, points }], warnings: [] }
  }
}

t.test("slots are the live scheduler's grid; chunks keep order", async t => {
  const spec = group([rule()], { intervalMs: 10 * SEC })
  const offset = groupOffset(spec.file, spec.name, 10 * SEC)
  const slots = slotsBetween(spec, 10 * SEC, T0, T0 + 60 * SEC)
  t.ok(
    slots.every(s => evalTimestamp(s, 10 * SEC, offset) === s),
    'every slot on the grid',
  )
  t.ok((slots[0] as number) >= T0 && (slots[0] as number) < T0 + 10 * SEC)
  t.same(chunkSlots([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]])
})

t.test('replay: pending, firing after for, resolved; windows of pointsPerQuery slots', async t => {
  const spec = group([rule({ name: 'Down', expr: 'up == 0', forMs: 30 * SEC })], { intervalMs: 10 * SEC })
  const badFrom = T0 + 60 * SEC
  const badTo = T0 + 180 * SEC
  const calls: Array<{ startMs: number; endMs: number }> = []
  const r = await replayGroup(spec, 10 * SEC, T0, T0 + 300 * SEC, {
    rangeQuery: scriptedRange(at => (at >= badFrom && at < badTo ? 0 : undefined), calls),
    externalLabels: {},
    externalURL: 'http://x',
    maxConcurrentQueries: 2,
    pointsPerQuery: 7,
  })
  t.equal(calls.length, Math.ceil(r.slots.length / 7), 'one range query per window')
  t.ok(calls.every(c => c.endMs - c.startMs <= 6 * 10 * SEC))
  const [line] = timelines('g', r.transitions)
  t.match(
    line?.intervals.map(i => i.state),
    ['pending', 'firing'],
  )
  const [pending, firing] = line?.intervals ?? []
  t.ok(
    pending !== undefined && pending.start >= badFrom && pending.start < badFrom + 10 * SEC,
    'pending at the first bad slot',
  )
  t.equal(firing?.start, (pending?.start ?? 0) + 30 * SEC, 'firing exactly for later')
  t.ok(
    firing?.end !== undefined && firing.end >= badTo && firing.end < badTo + 10 * SEC,
    'resolved at the first good slot',
  )
  t.equal(r.errors.size, 0)
})

t.test("replay: a failing range query is the rule's error, not a crash", async t => {
  const spec = group([rule({ name: 'A', expr: 'a' }), rule({ name: 'B', expr: 'b' })], { intervalMs: 10 * SEC })
  const r = await replayGroup(spec, 10 * SEC, T0, T0 + 60 * SEC, {
    rangeQuery: async expr => {
      if (expr === 'b') throw new Error('query failed: timeout')
      return { series: [], warnings: [] }
    },
    externalLabels: {},
    externalURL: 'http://x',
    maxConcurrentQueries: 2,
  })
  t.same([...r.errors.entries()], [['B', 'query failed: timeout']])
})

t.test('restore: mid-for pending keeps its activeAt; long-active alerts are looked up further back', async t => {
  const spec = group([rule({ name: 'Down', expr: 'up == 0', forMs: 60 * SEC })], { intervalMs: 10 * SEC })
  const live = newGroupState(spec, 10 * SEC, 'http://x')
  const firstLive = slotsBetween(spec, 10 * SEC, T0 + 600 * SEC, T0 + 610 * SEC)[0] as number
  const badFrom = firstLive - 35 * SEC
  const out = await restoreGroup(live, firstLive, {
    rangeQuery: scriptedRange(at => (at >= badFrom ? 0 : undefined)),
    externalLabels: {},
    externalURL: 'http://x',
    maxConcurrentQueries: 1,
    windowMs: 3_600_000,
  })
  t.match(out, { kind: 'restored', pending: 1, firing: 0 })
  const alert = [...(live.rules[0]?.state.active.values() ?? [])][0]
  t.ok(
    alert !== undefined &&
      alert.state === 'pending' &&
      alert.activeAt >= badFrom &&
      alert.activeAt < badFrom + 10 * SEC,
    'the original activeAt',
  )

  // Bad for an hour: the first replay window (for + interval) starts inside the fault, so it looks further back.
  const old = newGroupState(spec, 10 * SEC, 'http://x')
  const calls: Array<{ startMs: number; endMs: number }> = []
  const since = firstLive - 20 * 60 * SEC
  const res = await restoreGroup(old, firstLive, {
    rangeQuery: scriptedRange(at => (at >= since ? 0 : undefined), calls),
    externalLabels: {},
    externalURL: 'http://x',
    maxConcurrentQueries: 1,
    windowMs: 3_600_000,
  })
  t.match(res, { kind: 'restored', firing: 1 })
  const a = [...(old.rules[0]?.state.active.values() ?? [])][0]
  t.ok(
    a !== undefined && a.activeAt >= since && a.activeAt < since + 10 * SEC,
    `onset exact within the restore window (${a?.activeAt} vs ${since})`,
  )
  t.equal(a?.lastSentAt, 0, 'sent again by the first live evaluation')

  t.match(
    await restoreGroup(newGroupState(spec, 10 * SEC, 'x'), firstLive, {
      rangeQuery: scriptedRange(() => 0),
      externalLabels: {},
      externalURL: 'x',
      maxConcurrentQueries: 1,
      windowMs: 0,
    }),
    { kind: 'skipped' },
  )
  t.match(
    await restoreGroup(
      newGroupState(group([rule({ expr: 'rollguard_probe_success == 0', forMs: 60 * SEC })]), 10 * SEC, 'x'),
      firstLive,
      {
        rangeQuery: scriptedRange(() => 0),
        externalLabels: {},
        externalURL: 'x',
        maxConcurrentQueries: 1,
        windowMs: 3_600_000,
      },
    ),
    { kind: 'skipped' },
    'probe series have no history',
  )
  const failing = await restoreGroup(newGroupState(spec, 10 * SEC, 'x'), firstLive, {
    rangeQuery: async () => {
      throw new Error('connection refused')
    },
    externalLabels: {},
    externalURL: 'x',
    maxConcurrentQueries: 1,
    windowMs: 3_600_000,
  })
  t.match(failing, { kind: 'failed', error: /Down: connection refused/ })
})
