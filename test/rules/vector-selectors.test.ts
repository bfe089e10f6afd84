import t from 'tap'
import { labelName, metricSelector, selectorQuery, vectorSelectors } from '../../src/rules/vector-selectors.js'

t.test('lists every selector with its matchers, offset, lookback and role', async t => {
  const uses = vectorSelectors(
    'sum(rate(http_requests_total{code=~"5..", job = "api"}[1m] offset 1h)) / sum(rate(http_requests_total[1m])) > 0.1',
  )
  t.same(uses, [
    {
      selector: 'http_requests_total{code=~"5..",job = "api"}',
      metric: 'http_requests_total',
      matchers: [
        { text: 'code=~"5.."', label: 'code' },
        { text: 'job = "api"', label: 'job' },
      ],
      offset: '1h',
      lookbackMs: 60_000,
      role: 'required',
    },
    {
      selector: 'http_requests_total',
      metric: 'http_requests_total',
      matchers: [],
      offset: undefined,
      lookbackMs: 60_000,
      role: 'required',
    },
  ])
  t.equal(selectorQuery(uses[0]!), 'http_requests_total{code=~"5..",job = "api"} offset 1h')
  t.equal(selectorQuery(uses[0]!, 60_000), 'http_requests_total{code=~"5..",job = "api"}[1m] offset 1h')
})

t.test('subquery ranges add to the lookback of the selectors inside them', async t => {
  t.same(
    vectorSelectors('max_over_time(rate(z[1m])[5m:30s])').map(u => u.lookbackMs),
    [360_000],
  )
  t.same(
    vectorSelectors('max_over_time(z[5m:])').map(u => u.lookbackMs),
    [300_000],
  )
  t.same(
    vectorSelectors('x offset 5m').map(u => [u.lookbackMs, u.offset]),
    [[0, '5m']],
  )
})

t.test('metric names from __name__ matchers and quoted names', async t => {
  t.same(
    vectorSelectors('{__name__="up", job="a"}').map(u => u.metric),
    ['up'],
  )
  t.same(
    vectorSelectors('{"my.metric", a="b"}').map(u => u.metric),
    ['my.metric'],
  )
  t.same(
    vectorSelectors('{__name__=~"up|down"}').map(u => u.metric),
    [undefined],
  )
  t.same(
    vectorSelectors('{"my.metric", "ütf.label"="x"}')[0]?.matchers.map(m => m.label),
    ['__name__', 'ütf.label'],
  )
  t.equal(metricSelector('up'), 'up')
  t.equal(metricSelector('my.metric'), '{"my.metric"}')
  t.equal(labelName('code'), 'code')
  t.equal(labelName('ütf.label'), '"ütf.label"')
})

t.test('roles: absent() looks for no series; or and the right of unless are optional', async t => {
  const role = (expr: string) => vectorSelectors(expr).map(u => `${u.selector}:${u.role}`)
  t.same(role('absent(up{job="a"}) or absent_over_time(x[5m])'), ['up{job="a"}:absence', 'x:absence'])
  t.same(role('a unless b'), ['a:required', 'b:optional'])
  t.same(role('(a or b) and c'), ['a:optional', 'b:optional', 'c:required'])
  t.same(role('a > 1 unless on (x) (b and c)'), ['a:required', 'b:optional', 'c:optional'])
})
