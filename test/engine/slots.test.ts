import t from 'tap'
import { advanceSlot, evalTimestamp, fnv1a64, groupOffset } from '../../src/engine/slots.js'

t.test('groupOffset is stable, within the interval and differs between groups', async t => {
  const a = groupOffset('rules.yml', 'a', 60_000)
  t.equal(a, groupOffset('rules.yml', 'a', 60_000))
  t.ok(a >= 0 && a < 60_000)
  t.not(a, groupOffset('rules.yml', 'b', 60_000))
  t.equal(groupOffset('f', 'g', 0), 0)
  t.equal(fnv1a64(''), 0xcbf29ce484222325n)
  t.equal(fnv1a64('a'), 0xaf63dc4c8601ec8cn, 'FNV-1a 64 test vector')
})

t.test('evalTimestamp aligns to k·interval + offset', async t => {
  const cases: Array<[now: number, interval: number, offset: number, want: number]> = [
    [125_000, 60_000, 0, 120_000],
    [125_000, 60_000, 10_000, 70_000],
    [129_999, 60_000, 10_000, 70_000],
    [130_000, 60_000, 10_000, 130_000],
    [5_000, 60_000, 10_000, -50_000],
  ]
  for (const [now, interval, offset, want] of cases) t.equal(evalTimestamp(now, interval, offset), want, `${now}`)
})

t.test('advanceSlot counts missed iterations', async t => {
  t.same(advanceSlot(0, 60_000, 60_000), { next: 60_000, missed: 0 })
  t.same(advanceSlot(0, 119_999, 60_000), { next: 60_000, missed: 0 })
  t.same(advanceSlot(0, 185_000, 60_000), { next: 180_000, missed: 2 })
  t.same(advanceSlot(0, 30_000, 60_000), { next: 60_000, missed: 0 })
})
