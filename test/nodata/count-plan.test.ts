// How the no-data watch's counts are planned: checks of one shape merged into one `count by` query, the rest alone.
import t from 'tap'
import { MAX_SHARED_QUERY_LENGTH } from '../../src/engine/coalesce.js'
import { selectorChecks } from '../../src/nodata/checks.js'
import { countsOf, planCounts, type CountQuery } from '../../src/nodata/count-plan.js'
import type { Sample } from '../../src/engine/types.js'

const checksOf = (...exprs: string[]) => {
  const byKey = new Map(exprs.flatMap(selectorChecks).map(c => [c.key, c]))
  return [...byKey.values()]
}

t.test('selectors differing in one equality value: one count by that label, each check its own value', async t => {
  const plan = planCounts(
    checksOf(
      'rate(http_requests_total{namespace="shop",pod="cart-1"}[1m]) > 1',
      'rate(http_requests_total{namespace="shop",pod="checkout-1"}[1m]) > 1',
      'up{namespace="shop",pod="cart-1"} == 0',
    ),
  )
  t.same(plan, [
    {
      query: 'count(up{namespace="shop",pod="cart-1"})',
      checks: [{ key: 'up{namespace="shop",pod="cart-1"}', filter: {} }],
    },
    {
      query: 'count by (pod) (last_over_time(http_requests_total{namespace="shop",pod=~"cart-1|checkout-1"}[1m]))',
      checks: [
        { key: 'http_requests_total{namespace="shop",pod="cart-1"}[1m]', filter: { pod: 'cart-1' } },
        { key: 'http_requests_total{namespace="shop",pod="checkout-1"}[1m]', filter: { pod: 'checkout-1' } },
      ],
    },
  ])
})

t.test('two varying labels: counted by both; values are regex-quoted', async t => {
  const plan = planCounts(checksOf('x{namespace="a",pod="p.1"} > 0', 'x{namespace="b",pod="p|2"} > 0'))
  t.same(plan, [
    {
      query: 'count by (namespace, pod) (x{namespace=~"a|b",pod=~"p\\\\.1|p\\\\|2"})',
      checks: [
        { key: 'x{namespace="a",pod="p.1"}', filter: { namespace: 'a', pod: 'p.1' } },
        { key: 'x{namespace="b",pod="p|2"}', filter: { namespace: 'b', pod: 'p|2' } },
      ],
    },
  ])
})

t.test('never merged: other metrics or matchers, offsets, empty values, probe selectors', async t => {
  const alone = (...exprs: string[]) => planCounts(checksOf(...exprs)).map(q => q.checks.length)
  t.same(alone('x{pod="a"} > 0', 'y{pod="b"} > 0'), [1, 1], 'another metric')
  t.same(alone('x{pod="a",code="5"} > 0', 'x{pod="b"} > 0'), [1, 1], 'another set of matchers')
  t.same(alone('x{pod="a"} offset 5m > 0', 'x{pod="b"} offset 5m > 0'), [1, 1], 'offsets')
  t.same(alone('x{pod=""} > 0', 'x{pod="b"} > 0'), [1, 1], 'an empty value also matches series without the label')
  t.same(
    alone('rollguard_probe_success{probe="a"} == 0', 'rollguard_probe_success{probe="b"} == 0'),
    [1, 1],
    'probe selectors: the local store answers only their own form',
  )
  t.same(alone('x{pod=~"a.*"} > 0', 'x{pod=~"b.*"} > 0'), [1, 1], 'regex matchers are not values')
})

t.test(
  'a merged count stays within the query length bound: more values, more queries, every check counted once',
  async t => {
    const exprs = Array.from(
      { length: 1200 },
      (_, i) => `x{namespace="shop",pod="deployment-${i}-abcdefghij-klmno"} > 0`,
    )
    const plan = planCounts(checksOf(...exprs))
    t.ok(plan.length > 1, `${plan.length} queries`)
    for (const q of plan) t.ok(q.query.length <= MAX_SHARED_QUERY_LENGTH + 40, `${q.query.length} characters`)
    const keys = plan.flatMap(q => q.checks.map(c => c.key))
    t.equal(keys.length, 1200)
    t.equal(new Set(keys).size, 1200)
    const asked = (query: string) => (/pod=~"([^"]*)"/.exec(query)?.[1] ?? '').split('|')
    t.ok(
      plan.every(q => q.checks.every(c => asked(q.query).includes(c.filter['pod'] ?? ''))),
      'each check is counted by the query that asks its value',
    )
  },
)

t.test('countsOf: each check takes the sample of its own values, else 0, as a scan of the answer would', async t => {
  // What each check's count is, read the plain way: the first sample carrying all its filter's values.
  const scan = (q: CountQuery, samples: readonly Sample[]) =>
    q.checks.map(({ key, filter }) => {
      const wanted = Object.entries(filter)
      return [key, samples.find(s => wanted.every(([l, v]) => s.labels[l] === v))?.value ?? 0]
    })
  let seed = 7
  const random = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
    return seed % n
  }
  for (let round = 0; round < 50; round++) {
    const n = 1 + random(300)
    const checks = Array.from({ length: n }, (_, i) => ({
      key: `k${i}`,
      filter: { namespace: `ns-${i % 7}`, pod: `app-${i}` },
    }))
    const q: CountQuery = { query: 'count by (namespace, pod) (x)', checks }
    const samples: Sample[] = []
    for (let i = 0; i < n + 20; i++) {
      const r = random(10)
      // Most values answered, some not, some answers for values no check has, some missing a label.
      if (r < 6) samples.push({ labels: { namespace: `ns-${i % 7}`, pod: `app-${i}` }, value: 1 + random(5) })
      else if (r < 8) samples.push({ labels: { namespace: `ns-${(i + 1) % 7}`, pod: `app-${i}` }, value: 9 })
      else if (r < 9) samples.push({ labels: { pod: `app-${i}` }, value: 8 })
    }
    samples.sort(() => random(3) - 1)
    t.same(countsOf(q, samples), scan(q, samples), `round ${round}: ${n} checks, ${samples.length} samples`)
  }
  const own: CountQuery = { query: 'count(up)', checks: [{ key: 'up', filter: {} }] }
  t.same(countsOf(own, [{ labels: {}, value: 4 }]), [['up', 4]], "a check's own count")
  t.same(countsOf(own, []), [['up', 0]], 'no answer: 0')
  // A value that looks like two joined values must not match them.
  const tricky: CountQuery = {
    query: 'count by (a, b) (x)',
    checks: [{ key: 'k', filter: { a: 'x', b: 'y' } }],
  }
  t.same(countsOf(tricky, [{ labels: { a: 'x","y', b: '' }, value: 3 }]), [['k', 0]])
})
