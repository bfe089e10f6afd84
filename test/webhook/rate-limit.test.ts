import t from 'tap'
import { TokenBuckets } from '../../src/webhook/rate-limit.js'

const T0 = Date.UTC(2026, 0, 1)

t.test('a burst, then the average rate, per source', async t => {
  const buckets = new TokenBuckets({ perSecond: 2, burst: 3 })
  for (let i = 0; i < 3; i++) t.same(buckets.take('10.0.0.1', T0), { ok: true }, `burst ${i + 1}`)
  t.same(buckets.take('10.0.0.1', T0), { ok: false, retryAfterSeconds: 1 })
  t.same(buckets.take('10.0.0.2', T0), { ok: true }, 'another source has its own bucket')
  t.same(buckets.take('10.0.0.1', T0 + 499), { ok: false, retryAfterSeconds: 1 }, 'not yet a whole token')
  t.same(buckets.take('10.0.0.1', T0 + 500), { ok: true }, 'one token after 1/perSecond')
  t.same(buckets.take('10.0.0.1', T0 + 500), { ok: false, retryAfterSeconds: 1 })
  t.same(buckets.take('10.0.0.1', T0 + 60_000), { ok: true }, 'refilled, but never beyond the burst')
  t.same(buckets.take('10.0.0.1', T0 + 60_000), { ok: true })
  t.same(buckets.take('10.0.0.1', T0 + 60_000), { ok: true })
  t.same(buckets.take('10.0.0.1', T0 + 60_000), { ok: false, retryAfterSeconds: 1 })
})

t.test('Retry-After rounds the wait for the next token up to whole seconds', async t => {
  const slow = new TokenBuckets({ perSecond: 0.1, burst: 1 })
  t.same(slow.take('a', T0), { ok: true })
  t.same(slow.take('a', T0), { ok: false, retryAfterSeconds: 10 })
  t.same(slow.take('a', T0 + 2_500), { ok: false, retryAfterSeconds: 8 }, '7.5 s left')
  t.same(slow.take('a', T0 + 10_000), { ok: true })
})

t.test('a clock going backwards refills nothing', async t => {
  const buckets = new TokenBuckets({ perSecond: 1, burst: 1 })
  t.same(buckets.take('a', T0), { ok: true })
  t.same(buckets.take('a', T0 - 5_000), { ok: false, retryAfterSeconds: 1 })
})

t.test('bounded: the least recently active source is forgotten first', async t => {
  const buckets = new TokenBuckets({ perSecond: 1, burst: 1, maxSources: 2 })
  buckets.take('a', T0)
  buckets.take('b', T0)
  buckets.take('a', T0) // a is now the most recent (and empty)
  buckets.take('c', T0) // evicts b
  t.equal(buckets.sources, 2)
  t.same(buckets.take('a', T0), { ok: false, retryAfterSeconds: 1 }, 'a was kept')
  t.same(buckets.take('b', T0), { ok: true }, 'b was forgotten and starts full')
})

t.test('invalid settings are refused', async t => {
  t.throws(() => new TokenBuckets({ perSecond: 0, burst: 1 }), /per_second > 0/)
  t.throws(() => new TokenBuckets({ perSecond: 1, burst: 0 }), /burst >= 1/)
  t.throws(() => new TokenBuckets({ perSecond: Number.NaN, burst: 1 }))
})
