import t from 'tap'
import { RetrySettings } from '../../src/actions/actions-config.js'
import { retryDelay } from '../../src/actions/backoff.js'

t.test('capped exponential backoff with equal jitter, bounded by max_attempts', async t => {
  const s = RetrySettings.parse({ max_attempts: 6, initial_backoff: '1s', max_backoff: '5s' })
  t.same(
    [2, 3, 4, 5, 6].map(n => retryDelay(n, s, 0)),
    [500, 1000, 2000, 2500, 2500],
    'half of the base at the least',
  )
  t.same(
    [2, 3, 4, 5, 6].map(n => retryDelay(n, s, 0.999999)),
    [1000, 2000, 4000, 5000, 5000],
    'the base (capped) at the most',
  )
  t.equal(retryDelay(7, s, 0.5), undefined, 'no attempt past max_attempts')
  t.equal(retryDelay(1, s, 0.5), undefined, 'the first attempt is not a retry')
  t.equal(retryDelay(2, RetrySettings.parse({ max_attempts: 1 }), 0.5), undefined, 'max_attempts 1: never retried')
  t.same(RetrySettings.parse({}), { max_attempts: 8, initial_backoff: 1_000, max_backoff: 30_000 })
  t.throws(
    () => RetrySettings.parse({ initial_backoff: '1m', max_backoff: '1s' }),
    /max_backoff must not be less than initial_backoff/,
  )
})
