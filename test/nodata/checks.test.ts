// Which selectors the no-data watch counts for a rule, and with which query.
import t from 'tap'
import { selectorChecks } from '../../src/nodata/checks.js'

t.test('instant and range selectors, deduplicated, in order of appearance', async t => {
  const expr = `sum by (namespace) (rate(http_requests_total{code=~"5.."}[1m])) / sum by (namespace) (rate(http_requests_total[1m])) > 0.1
    and on (namespace) sum by (namespace) (rate(http_requests_total[1m])) >= 1`
  t.same(selectorChecks(expr), [
    {
      key: 'http_requests_total{code=~"5.."}[1m]',
      series: 'last_over_time(http_requests_total{code=~"5.."}[1m])',
      query: 'count(last_over_time(http_requests_total{code=~"5.."}[1m]))',
      probe: false,
    },
    {
      key: 'http_requests_total[1m]',
      series: 'last_over_time(http_requests_total[1m])',
      query: 'count(last_over_time(http_requests_total[1m]))',
      probe: false,
    },
  ])
  t.same(selectorChecks('up{job="api"} == 0'), [
    { key: 'up{job="api"}', series: 'up{job="api"}', query: 'count(up{job="api"})', probe: false },
  ])
})

t.test('subqueries add their range; offsets are kept', async t => {
  t.same(
    selectorChecks('max_over_time(rate(x[1m])[1h:5m]) > 1').map(c => c.query),
    ['count(last_over_time(x[1h1m]))'],
  )
  t.same(
    selectorChecks('rate(x[5m] offset 1h) > 1').map(c => c.query),
    ['count(last_over_time(x[5m] offset 1h))'],
  )
})

t.test('absent() and absent_over_time() selectors are not counted: no series is what they look for', async t => {
  t.same(selectorChecks('absent(up{job="api"})'), [])
  t.same(
    selectorChecks('absent_over_time(up[5m]) or x > 1').map(c => c.key),
    ['x'],
  )
  t.same(selectorChecks('vector(1) > 0'), [], 'no selector at all')
})

t.test('probe selectors are counted as instant selectors, for the local probe store', async t => {
  t.same(selectorChecks('rollguard_probe_success{probe="checkout"} == 0'), [
    {
      key: 'rollguard_probe_success{probe="checkout"}',
      series: 'rollguard_probe_success{probe="checkout"}',
      query: 'count(rollguard_probe_success{probe="checkout"})',
      probe: true,
    },
  ])
  t.same(selectorChecks('avg_over_time(rollguard_probe_success[5m]) < 0.5'), [
    {
      key: 'rollguard_probe_success[5m]',
      series: 'rollguard_probe_success',
      query: 'count(rollguard_probe_success)',
      probe: true,
    },
  ])
  t.same(
    selectorChecks('{__name__="rollguard_probe_duration_seconds"} > 1').map(c => c.probe),
    [true],
    'named by __name__',
  )
})

t.test('checks are parsed once per expression and shared, read-only', async t => {
  const expr = 'rate(cache_test_total{job="api"}[5m]) > 1'
  const first = selectorChecks(expr)
  t.equal(selectorChecks(expr), first, 'the same list for the same expression: a reload does not parse again')
  t.ok(Object.isFrozen(first), 'callers share it, so none may change it')
  t.not(selectorChecks(`${expr} `), first, 'another expression text is parsed on its own')
  t.same(selectorChecks(`${expr} `), first)
})
