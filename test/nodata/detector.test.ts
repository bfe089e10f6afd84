// The pure no-data verdict: selector observations (time is an argument) → which rules see no data, since when.
import t from 'tap'
import { changes, noDataOf, observe, type NoData, type SelectorState } from '../../src/nodata/detector.js'

const MIN = 60_000
const T0 = 1_767_225_600_000

/** states folds (key, at, series) observations in order. */
function states(...obs: Array<[string, number, number | undefined]>): Map<string, SelectorState> {
  const out = new Map<string, SelectorState>()
  for (const [key, at, series] of obs) {
    const next = observe(out.get(key), { at, series })
    if (next !== undefined) out.set(key, next)
  }
  return out
}

t.test('observe: an empty run starts at its first empty count and ends at the first count with series', async t => {
  let s = observe(undefined, { at: T0, series: 0 })
  t.same(s, { series: 0, emptySince: T0, checkedAt: T0 })
  s = observe(s, { at: T0 + MIN, series: 0 })
  t.same(s, { series: 0, emptySince: T0, checkedAt: T0 + MIN }, 'still empty since the first empty count')
  s = observe(s, { at: T0 + 2 * MIN, series: 3 })
  t.same(s, { series: 3, emptySince: undefined, checkedAt: T0 + 2 * MIN })
  s = observe(s, { at: T0 + 3 * MIN, series: 0 })
  t.same(s, { series: 0, emptySince: T0 + 3 * MIN, checkedAt: T0 + 3 * MIN }, 'a new run')
})

t.test('observe: a failed count is no evidence; an answer older than the last count is ignored', async t => {
  t.equal(observe(undefined, { at: T0, series: undefined }), undefined)
  const s = observe(undefined, { at: T0, series: 0 })
  t.equal(observe(s, { at: T0 + MIN, series: undefined }), s, 'unchanged, checkedAt included')
  t.equal(observe(s, { at: T0 - 1, series: 5 }), s)
})

t.test('noDataOf: none of the selectors matched through the whole period, proven by counts', async t => {
  const s = states(
    ['a', T0, 0],
    ['b', T0, 5],
    ['a', T0 + 5 * MIN, 0],
    ['b', T0 + 5 * MIN, 0],
    ['a', T0 + 10 * MIN, 0],
    ['b', T0 + 10 * MIN, 0],
  )
  t.same(noDataOf(['a'], s, 10 * MIN), { since: T0, selectors: ['a'] }, '10 minutes of empty counts')
  t.equal(noDataOf(['a'], s, 10 * MIN + 1), undefined, 'one ms short')
  t.equal(noDataOf(['a', 'b'], s, 10 * MIN), undefined, 'b was empty for 5 minutes only')
  t.same(
    noDataOf(['a', 'b'], s, 5 * MIN),
    { since: T0 + 5 * MIN, selectors: ['a', 'b'] },
    'since: when the last of them went empty',
  )
  t.equal(noDataOf(['a', 'c'], s, 0), undefined, 'a selector never counted is not known to be empty')
  t.equal(noDataOf([], s, 0), undefined, 'a rule that reads no selector (vector(1), absent()) always has data')
})

t.test('noDataOf: one selector with series is enough (a 5xx counter that appears only with errors)', async t => {
  const s = states(
    ['errors', T0, 0],
    ['requests', T0, 12],
    ['errors', T0 + 20 * MIN, 0],
    ['requests', T0 + 20 * MIN, 12],
  )
  t.equal(noDataOf(['errors', 'requests'], s, 10 * MIN), undefined)
})

t.test('noDataOf: evidence ends at the earliest last count; failed counts do not extend it', async t => {
  const s = states(['a', T0, 0], ['b', T0, 0], ['a', T0 + 10 * MIN, 0], ['b', T0 + 10 * MIN, undefined])
  t.equal(noDataOf(['a', 'b'], s, 10 * MIN), undefined, 'b was last counted at T0')
  t.same(noDataOf(['a'], s, 10 * MIN)?.since, T0)
})

t.test('changes: entering and leaving no data; new rules that start flagged; removed rules forgotten', async t => {
  const v: NoData = { since: T0, selectors: ['a'] }
  const before = new Map<string, NoData | undefined>([
    ['kept', undefined],
    ['flagged', v],
    ['removed', v],
    ['quiet', undefined],
  ])
  const after = new Map<string, NoData | undefined>([
    ['kept', v],
    ['flagged', undefined],
    ['quiet', undefined],
    ['new', v],
    ['newOk', undefined],
  ])
  t.same(changes(before, after), [
    { key: 'kept', to: 'no_data', verdict: v },
    { key: 'flagged', to: 'data' },
    { key: 'new', to: 'no_data', verdict: v },
  ])
  t.same(changes(after, after), [], 'nothing changed: nothing to log')
})
