import t from 'tap'
import type { Sample } from '../../src/engine/types.js'
import {
  compileLocalQuery,
  isLocalExpression,
  LocalQueryError,
  mayNameProbeMetric,
  readsProbeSeries,
} from '../../src/sources/local-query.js'
import { parseNumber } from '../../src/sources/local-query-ops.js'
import { unquote } from '../../src/rules/promql.js'
import { ProbeStore } from '../../src/sources/probe-store.js'

const AT = 2000

function store(): ProbeStore {
  const s = new ProbeStore()
  s.setTargets([
    { name: 'a', url: 'http://a/healthz', labels: { service: 'api', env: 'prod' }, staleAfterMs: 5000 },
    { name: 'b', url: 'http://b/', labels: { service: 'api', env: 'staging' }, staleAfterMs: 5000 },
    { name: 'c', url: 'http://c/', labels: { service: 'web' }, staleAfterMs: 5000 },
    { name: 'd', url: 'http://d/', labels: { service: 'web' }, staleAfterMs: 500 },
  ])
  s.record({ probe: 'a', success: true, durationMs: 100, statusCode: 200, at: 1000 })
  s.record({
    probe: 'b',
    success: false,
    durationMs: 250,
    statusCode: 503,
    error: 'unexpected status code 503',
    at: 1000,
  })
  s.record({ probe: 'c', success: false, durationMs: 5000, error: 'timeout after 5000ms', at: 1000 })
  s.record({ probe: 'd', success: false, durationMs: 1, error: 'connection refused', at: 1000 })
  return s
}

const base = {
  a: { probe: 'a', instance: 'http://a/healthz', service: 'api', env: 'prod' },
  b: { probe: 'b', instance: 'http://b/', service: 'api', env: 'staging' },
  c: { probe: 'c', instance: 'http://c/', service: 'web' },
} as const
type P = keyof typeof base
const SUCCESS = 'rollguard_probe_success'
const DURATION = 'rollguard_probe_duration_seconds'
const STATUS = 'rollguard_probe_http_status_code'
const named = (name: string, p: P, value: number): Sample => ({ labels: { __name__: name, ...base[p] }, value })
const plain = (p: P, value: number): Sample => ({ labels: { ...base[p] }, value })

function sorted(samples: Sample[]): Sample[] {
  return [...samples].sort((x, y) => JSON.stringify(x.labels).localeCompare(JSON.stringify(y.labels)))
}

const cases: [string, Sample[]][] = [
  [SUCCESS, [named(SUCCESS, 'a', 1), named(SUCCESS, 'b', 0), named(SUCCESS, 'c', 0)]],
  [`${SUCCESS} == 0`, [named(SUCCESS, 'b', 0), named(SUCCESS, 'c', 0)]],
  [`${SUCCESS} == bool 0`, [plain('a', 0), plain('b', 1), plain('c', 1)]],
  [`0 == ${SUCCESS}`, [named(SUCCESS, 'b', 0), named(SUCCESS, 'c', 0)]],
  [`1 > ${DURATION}`, [named(DURATION, 'a', 0.1), named(DURATION, 'b', 0.25)]],
  [`1 > bool ${DURATION}`, [plain('a', 1), plain('b', 1), plain('c', 0)]],
  [`${DURATION} > 200ms`, [named(DURATION, 'b', 0.25), named(DURATION, 'c', 5)]],
  [`${DURATION} >= 5`, [named(DURATION, 'c', 5)]],
  [`${DURATION} <= 0.1`, [named(DURATION, 'a', 0.1)]],
  [`${DURATION} < -Inf`, []],
  [`${STATUS} != 200`, [named(STATUS, 'b', 503), named(STATUS, 'c', 0)]],
  [`${DURATION} * 1000`, [plain('a', 100), plain('b', 250), plain('c', 5000)]],
  [`1 - ${SUCCESS}`, [plain('a', 0), plain('b', 1), plain('c', 1)]],
  [`${STATUS} % 100`, [plain('a', 0), plain('b', 3), plain('c', 0)]],
  [`2 ^ ${SUCCESS}`, [plain('a', 2), plain('b', 1), plain('c', 1)]],
  [`${STATUS} / 0x64`, [plain('a', 2), plain('b', 5.03), plain('c', 0)]],
  [`-${DURATION}`, [plain('a', -0.1), plain('b', -0.25), plain('c', -5)]],
  [`+${SUCCESS}{probe="a"}`, [named(SUCCESS, 'a', 1)]],
  [`(${SUCCESS} * 2) > 1`, [plain('a', 2)]],
  [`${SUCCESS} < bool (1 + 1) * 0.5`, [plain('a', 0), plain('b', 1), plain('c', 1)]],
  [`${SUCCESS}{service="api"}`, [named(SUCCESS, 'a', 1), named(SUCCESS, 'b', 0)]],
  [`${SUCCESS}{service!="api"}`, [named(SUCCESS, 'c', 0)]],
  [`${SUCCESS}{probe=~"a|b"}`, [named(SUCCESS, 'a', 1), named(SUCCESS, 'b', 0)]],
  [`${SUCCESS}{probe!~"a|b"}`, [named(SUCCESS, 'c', 0)]],
  [`${SUCCESS}{instance=~"a"}`, []],
  [`${SUCCESS}{instance=~"(?i)HTTP://A/.*"}`, [named(SUCCESS, 'a', 1)]],
  [`${SUCCESS}{env=""}`, [named(SUCCESS, 'c', 0)]],
  [`${SUCCESS}{"env"='prod'}`, [named(SUCCESS, 'a', 1)]],
  [`${SUCCESS}{probe=\`a\`}`, [named(SUCCESS, 'a', 1)]],
  [`{__name__="${SUCCESS}", probe="b"}`, [named(SUCCESS, 'b', 0)]],
  [`${SUCCESS}{probe="zzz"}`, []],
  [`${SUCCESS} == 0 and ${STATUS} >= 500`, [named(SUCCESS, 'b', 0)]],
  [`${SUCCESS} == 0 or ${STATUS}`, [named(SUCCESS, 'b', 0), named(SUCCESS, 'c', 0), named(STATUS, 'a', 200)]],
  [`${SUCCESS} unless ${STATUS} == 200`, [named(SUCCESS, 'b', 0), named(SUCCESS, 'c', 0)]],
  [`${SUCCESS} and on(service) ${STATUS} == 503`, [named(SUCCESS, 'a', 1), named(SUCCESS, 'b', 0)]],
  [`${SUCCESS} unless ignoring(probe, instance, env) ${STATUS} == 503`, [named(SUCCESS, 'c', 0)]],
  [
    `sum by (service) (${SUCCESS})`,
    [
      { labels: { service: 'api' }, value: 1 },
      { labels: { service: 'web' }, value: 0 },
    ],
  ],
  [`sum(${SUCCESS}) by ("service") < 1`, [{ labels: { service: 'web' }, value: 0 }]],
  [
    `count without (probe, instance, env) (${SUCCESS})`,
    [
      { labels: { service: 'api' }, value: 2 },
      { labels: { service: 'web' }, value: 1 },
    ],
  ],
  [`min(${DURATION})`, [{ labels: {}, value: 0.1 }]],
  [`max by () (${DURATION})`, [{ labels: {}, value: 5 }]],
  [
    `avg by (service) (${DURATION})`,
    [
      { labels: { service: 'api' }, value: 0.175 },
      { labels: { service: 'web' }, value: 5 },
    ],
  ],
  [`sum by (nonexistent) (${SUCCESS})`, [{ labels: {}, value: 1 }]],
  ['2 * 3 + 1', [{ labels: {}, value: 7 }]],
  ['1 < bool 2', [{ labels: {}, value: 1 }]],
  ['-(2)', [{ labels: {}, value: -2 }]],
]

t.test('evaluates supported expressions like PromQL', async t => {
  const s = store()
  for (const [expr, want] of cases) {
    t.same(sorted(compileLocalQuery(expr).evaluate(s, AT)), sorted(want), expr)
  }
})

t.test('special values follow IEEE arithmetic and PromQL min/max', async t => {
  const s = store()
  const div = compileLocalQuery(`${SUCCESS} / 0`).evaluate(s, AT)
  t.same(div.map(x => String(x.value)).sort(), ['Infinity', 'NaN', 'NaN'])
  t.same(compileLocalQuery(`max(${SUCCESS} / 0)`).evaluate(s, AT), [{ labels: {}, value: Infinity }])
  t.same(compileLocalQuery(`min(${SUCCESS} / 0)`).evaluate(s, AT), [{ labels: {}, value: Infinity }])
  t.ok(Number.isNaN(compileLocalQuery(`sum(${SUCCESS} / 0)`).evaluate(s, AT)[0]?.value))
  t.same(compileLocalQuery(`${SUCCESS} / 0 == NaN`).evaluate(s, AT), [], 'NaN never compares equal')
  t.same(
    compileLocalQuery(`1 ^ (${SUCCESS} / 0)`)
      .evaluate(s, AT)
      .map(x => x.value),
    [1, 1, 1],
    'Go math.Pow(1, x) = 1',
  )
})

t.test('stale results are not served and an empty store yields no samples', async t => {
  const s = store()
  const q = compileLocalQuery(`${SUCCESS}{probe="d"}`)
  t.same(q.evaluate(s, 1400), [
    { labels: { __name__: SUCCESS, service: 'web', probe: 'd', instance: 'http://d/' }, value: 0 },
  ])
  t.same(q.evaluate(s, 1600), [])
  t.same(compileLocalQuery(`${SUCCESS} == 0`).evaluate(new ProbeStore(), AT), [])
})

const errors: [string, RegExp][] = [
  [`rate(${SUCCESS}[5m])`, /not supported by the local probe source: function rate\(\)/],
  [`${SUCCESS} offset 5m`, /not supported.*offset modifier/],
  [`${SUCCESS} @ 100`, /not supported.*@ modifier/],
  [`max_over_time(${SUCCESS}[5m:1m])`, /not supported.*function max_over_time/],
  [`topk(1, ${SUCCESS})`, /not supported.*aggregation topk\(\)/],
  [`${SUCCESS} + ${DURATION}`, /not supported.*binary operator \+ between two vectors/],
  [`${SUCCESS} atan2 1`, /not supported.*binary operator atan2/],
  [`${SUCCESS} > on(probe) group_left ${DURATION}`, /not supported.*vector matching/],
  [`${SUCCESS} > on(probe) 1`, /not supported.*vector matching/],
  [`${SUCCESS} and on(probe) group_left ${DURATION}`, /not supported.*vector matching/],
  ['"str"', /not supported.*string literal/],
  [`{__name__=~"${SUCCESS}"}`, /not supported.*without a metric name/],
  ['1 > 2', /comparisons between scalars must use BOOL modifier/],
  [`${SUCCESS} + bool 1`, /bool modifier can only be used on comparison operators/],
  [`${SUCCESS} and 1`, /set operator and not allowed in binary scalar expression/],
  ['sum(1)', /expected type instant vector in aggregation expression, got scalar/],
  ['rollguard_probe_bogus', /unknown probe metric rollguard_probe_bogus/],
  [`${SUCCESS}{probe=~"("}`, /invalid regular expression "\("/],
  [`${SUCCESS} ==`, /syntax error/],
  ['', /syntax error|empty expression/],
]

t.test('rejects unsupported constructs at compile time', async t => {
  for (const [expr, message] of errors) {
    t.throws(() => compileLocalQuery(expr), message, expr)
    t.throws(() => compileLocalQuery(expr), LocalQueryError, expr)
  }
})

t.test('isLocalExpression', async t => {
  t.equal(isLocalExpression(`${SUCCESS} == 0`), true)
  t.equal(isLocalExpression(`{__name__="${SUCCESS}"}`), true)
  t.equal(isLocalExpression(`sum(rate(${SUCCESS}[5m]))`), true, 'local even if compileLocalQuery rejects it')
  t.equal(isLocalExpression('up == 0'), false)
  t.equal(isLocalExpression('vector(1)'), false)
  t.equal(isLocalExpression(`{__name__=~"rollguard_probe_.*"}`), false, 'no static name: left to Prometheus')
  t.throws(() => isLocalExpression(`${SUCCESS} and up`), /mixes rollguard_probe_\* metrics with Prometheus metrics/)
  t.throws(() => isLocalExpression(`${SUCCESS} unless {job="x"}`), LocalQueryError)
})

t.test('an escape in a string can spell a probe metric: the quick check lets it through to the parser', async t => {
  const escaped = String.raw`{__name__="rollguard\x5fprobe_success"} == 0`
  t.equal(unquote(String.raw`"rollguard\x5fprobe_success"`), SUCCESS, 'the escape spells the name')
  t.equal(mayNameProbeMetric(escaped), true)
  t.equal(isLocalExpression(escaped), true)
  t.equal(readsProbeSeries(escaped), true)
  t.same(compileLocalQuery(escaped).evaluate(new ProbeStore(), 0), [], 'and it compiles as a probe expression')
  t.throws(() => isLocalExpression(String.raw`{__name__="rollguard\x5fprobe_success"} and up`), /mixes/)
})

t.test('the quick check never says "cannot" of an expression that names a probe metric', async t => {
  const expressions = [
    `${SUCCESS} == 0`,
    `{__name__="${SUCCESS}"}`,
    `{__name__=\`${SUCCESS}\`}`,
    `{"${SUCCESS}"}`,
    `sum by (target) (${SUCCESS}) < 1`,
    `{__name__=~"rollguard_probe_.*"}`,
    `${SUCCESS} and up`,
    'up == 0',
    'vector(1)',
    'rate(http_requests_total{code=~"5.."}[5m]) > 0.1',
    'absent(up{job="x"})',
    'rollguard_probe',
    'sum(',
  ]
  for (const expr of expressions) {
    let local: boolean | 'mixed'
    try {
      local = isLocalExpression(expr)
    } catch {
      local = 'mixed'
    }
    if (local !== false) t.equal(mayNameProbeMetric(expr), true, expr)
    else t.equal(readsProbeSeries(expr), false, expr)
    if (!mayNameProbeMetric(expr)) t.equal(local, false, `${expr}: not local`)
  }
})

t.test('literals', async t => {
  const numbers: [string, number][] = [
    ['1', 1],
    ['1.5e3', 1500],
    ['.5', 0.5],
    ['0x1F', 31],
    ['010', 8],
    ['-Inf', -Infinity],
    ['+inf', Infinity],
    ['1m30s', 90],
    ['250ms', 0.25],
    ['1w', 604800],
    ['1y', 31536000],
  ]
  for (const [text, want] of numbers) t.equal(parseNumber(text), want, text)
  t.ok(Number.isNaN(parseNumber('NaN')))
  t.throws(() => parseNumber('1x'), LocalQueryError)
  t.equal(unquote('"a\\"b\\n\\x41\\u00e9\\101\\\\"'), 'a"b\nA\u00e9A\\')
  t.equal(unquote("'it\\'s'"), "it's")
  t.equal(unquote('`raw\\n`'), 'raw\\n')
})
