import t from 'tap'
import { checkPromQL, longestRange, metricNames, unquote } from '../../src/rules/promql.js'

t.test('valid expressions pass', async t => {
  const valid = [
    'up == 0',
    'up',
    '{__name__="up"}',
    '{"up", job="x"}',
    'sum by (job) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (job) (rate(http_requests_total[5m])) > 0.05',
    'histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m]))) > 1',
    'rate(x[5m] offset 1h)',
    'rate(x[5m] @ 1700000000)',
    'x @ start() offset 1m',
    'max_over_time(deriv(x[5m])[30m:1m])',
    'quantile_over_time(0.9, x[5m])',
    'topk(3, x)',
    'count_values("v", x)',
    'label_replace(x, "a", "$1", "b", "(.*)")',
    'label_join(x, "a", ",", "b", "c")',
    'round(x)',
    'round(x, 5)',
    'absent(up{job="x"})',
    '1 > bool 2',
    'time() - x > 60',
    '-x',
    'vector(1)',
    'x and on(job) y',
    'x{a="b\\\\"}',
    '(x)',
    '# comment\nup',
    'x{a!~"foo|bar", b=""}',
  ]
  for (const e of valid) t.same(checkPromQL(e), { ok: true }, e)
})

t.test('invalid expressions fail with a message and a 0-based offset', async t => {
  const cases: Array<[expr: string, message: string, offset: number]> = [
    ['', 'no expression found in input', 0],
    ['   ', 'no expression found in input', 0],
    ['up ==', 'unexpected end of input', 5],
    ['up == \n', 'unexpected end of input', 5],
    ['sum(x) by', 'unexpected end of input', 9],
    ['up === 0', 'unexpected "="', 5],
    ['foo(bar)', 'unknown function with name "foo"', 0],
    ['x + max_of(1, 2)', 'unknown function with name "max_of"', 4],
    ['"abc', 'unterminated quoted string', 0],
    ['rate(x)', 'expected type range vector in call to function "rate", got instant vector', 5],
    ['abs(x[5m])', 'expected type instant vector in call to function "abs", got range vector', 4],
    ['sum(x[5m])', 'expected type instant vector in aggregation expression, got range vector', 4],
    ['topk(x)', 'wrong number of arguments for aggregate expression provided, expected 2, got 1', 0],
    ['topk("a", x)', 'expected type scalar in aggregation parameter, got string', 5],
    ['x[5m] > 0', 'binary expression must contain only scalar and instant vector types', 0],
    ['1 > 2', 'comparisons between scalars must use BOOL modifier', 0],
    ['x + bool y', 'bool modifier can only be used on comparison operators', 0],
    ['vector(1) and 1', 'set operator "and" not allowed in binary scalar expression', 0],
    [
      '-(x[5m])',
      'unary expression only allowed on expressions of type scalar or instant vector, got "range vector"',
      0,
    ],
    ['{}', 'vector selector must contain at least one non-empty matcher', 0],
    ['{job!="x"}', 'vector selector must contain at least one non-empty matcher', 0],
    ['{job=~".*"}', 'vector selector must contain at least one non-empty matcher', 0],
    ['up{__name__="x"}', 'metric name must not be set twice: "up" or "x"', 0],
    ['(x + y)[5m]', 'ranges only allowed for vector selectors', 0],
    [
      '(x + y) offset 5m',
      'offset modifier must be preceded by an instant vector selector or range vector selector or a subquery',
      0,
    ],
    ['1[5m:1m]', 'subquery is only allowed on instant vector, got scalar instead', 0],
    ['round(x, 1, 2)', 'expected at most 2 argument(s) in call to "round", got 3', 0],
    ['label_join(x, "a")', 'expected at least 3 argument(s) in call to "label_join", got 2', 0],
    ['clamp(x, 1)', 'expected 3 argument(s) in call to "clamp", got 2', 0],
    ['time(1)', 'expected 0 argument(s) in call to "time", got 1', 0],
  ]
  for (const [expr, message, offset] of cases) {
    t.same(
      checkPromQL(expr),
      { ok: false, message: `could not parse expression: ${message} at char ${offset + 1}`, offset },
      expr,
    )
  }
})

t.test('metricNames lists selected metric names', async t => {
  t.same(metricNames('sum(rate(b_total[5m])) / sum(rate(a_total[5m])) > on() group_left b_total'), [
    'a_total',
    'b_total',
  ])
  t.same(metricNames('{__name__="up", job="x"} or {"node_load1"} or {\'__name__\'="q"}'), ['node_load1', 'q', 'up'])
  t.same(metricNames('{__name__=~"up|down"}'), [], 'regex name matchers name no single metric')
  t.same(metricNames('vector(1) + time()'), [])
  t.same(metricNames('sum by (job) (x{job="a"})'), ['x'])
})

t.test('unquote decodes PromQL string literals', async t => {
  t.equal(unquote('"a\\"b\\n"'), 'a"b\n')
  t.equal(unquote("'it\\'s'"), "it's")
  t.equal(unquote('`raw\\n`'), 'raw\\n')
  t.equal(unquote('"\\x41\\u00e9\\101"'), 'AéA')
})

t.test('longestRange: the longest range or subquery window, string literals and offsets aside', async t => {
  t.equal(longestRange('up'), 0)
  t.equal(longestRange('sum(rate(x{a=~"[9h]"}[1m])) / sum(rate(y[5m:30s])) > 0 and z offset 1h'), 300_000)
  t.equal(longestRange('max_over_time(x[1h] offset 5m) or rate(y[ 2m ])'), 3_600_000)
  t.equal(longestRange("x{a='[2d]'} + rate(y[90s])"), 90_000)
  t.equal(longestRange('rate(x[1m30s])'), 90_000)
  t.equal(longestRange('x[300]'), 0, 'a number of seconds is not understood here: no window')
})
