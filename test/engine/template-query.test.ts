// Prometheus's `query` template function and its helpers (first, label, value, strvalue, sortByLabel, args) over a
// stub of the answers, then how a group evaluation runs template queries through its query port: at the
// evaluation time, each distinct expression once, rounds for queries that depend on earlier answers, bounded, and
// with Prometheus's error texts. Expected texts follow Prometheus 2.42 (template-differential.test.ts checks the
// same functions live).
import tap from 'tap'
import { evaluateGroup, newGroupState, type GroupOptions } from '../../src/engine/group.js'
import type { QueryFn } from '../../src/engine/ports.js'
import { compileTemplate } from '../../src/engine/template/index.js'
import {
  answerTemplateQueries,
  MAX_TEMPLATE_QUERIES,
  MAX_TEMPLATE_QUERY_ROUNDS,
  NOT_RUN,
  templateQueryError,
  unansweredQueries,
} from '../../src/engine/template/queries.js'
import { compareGoStrings } from '../../src/engine/template/strconv.js'
import type { Sample, Template, TemplateData, TemplateQueries, TemplateQueryAnswer } from '../../src/engine/types.js'
import { group, literal, rule, sample } from '../fixtures/engine.js'

const NAME = '__alert_T'
const PREFIX = 112
const DATA: TemplateData = { labels: { instance: 'a:1', job: 'api' }, externalLabels: {}, externalURL: '', value: 2 }
const UP: Sample[] = [
  sample({ __name__: 'up', instance: 'b:1', job: 'node', zone: 'z2' }, 1),
  sample({ __name__: 'up', instance: 'a:1', job: 'api', zone: 'z1' }, 0),
  sample({ __name__: 'up', instance: 'c:1', job: 'api' }, 1),
]

/** stub answers from a table (a string is an error); expressions not in it are unanswered. */
function stub(table: Record<string, readonly Sample[] | string>): TemplateQueries & { unasked: string[] } {
  const unasked: string[] = []
  return {
    unasked,
    answer: expr => {
      const a = table[expr]
      if (a === undefined) return undefined
      return typeof a === 'string' ? { error: a } : { samples: a }
    },
    unanswered: expr => void unasked.push(expr),
  }
}

const ANSWERS = {
  up: UP,
  'vector(3)': [sample({}, 3)],
  none: [],
  seven: [sample({ __value__: 'seven' }, 7)],
  bad: 'parse error: unexpected end of input',
}

function expand(source: string, queries: TemplateQueries | undefined = stub(ANSWERS)): string {
  return compileTemplate(NAME, source).expand(DATA, 0, queries)
}

function execError(column: number, context: string, message: string): string {
  return `<error expanding template: error executing template ${NAME}: template: ${NAME}:1:${column + PREFIX}: executing "${NAME}" at <${context}>: ${message}>`
}

tap.test('query and its helpers', async t => {
  const cases: Array<[string, string]> = [
    ['{{ with query "up" }}{{ . | first | value }}{{ end }}', '1'],
    ['{{ range query "up" }}{{ .Labels.instance }}={{ .Value }} {{ end }}', 'b:1=1 a:1=0 c:1=1 '],
    ['{{ range $i, $s := query "up" }}{{ $i }}{{ label "job" $s }} {{ end }}', '0node 1api 2api '],
    ['{{ range sortByLabel "instance" (query "up") }}{{ label "instance" . }} {{ end }}', 'a:1 b:1 c:1 '],
    ['{{ range sortByLabel "job" (query "up") }}{{ label "instance" . }} {{ end }}', 'a:1 c:1 b:1 '],
    ['{{ range sortByLabel "zone" (query "up") }}{{ label "instance" . }} {{ end }}', 'c:1 a:1 b:1 '],
    ['{{ range sortByLabel "missing" (query "up") }}{{ label "instance" . }} {{ end }}', 'b:1 a:1 c:1 '],
    [
      '{{ query "seven" | first | strvalue }}|{{ query "up" | first | strvalue }}|{{ query "up" | first | label "nope" }}',
      'seven||',
    ],
    ['{{ (query "up" | first).Labels.job }} {{ (query "up" | first).Value }}', 'node 1'],
    ['{{ (args (query "up" | first) 2).arg0.Labels.zone }}', 'z2'],
    ['{{ query "vector(3)" | first | value | humanize }} {{ query "vector(3)" | len }}', '3 1'],
    ['{{ if query "none" }}some{{ else }}none{{ end }} {{ with query "up" }}{{ len . }}{{ end }}', 'none 3'],
    ['{{ sortByLabel "x" nil }} {{ if sortByLabel "x" nil }}t{{ else }}f{{ end }}', '[] f'],
    ['{{ query "none" }}', '[]'],
  ]
  for (const [source, want] of cases) t.equal(expand(source), want, source)
})

tap.test('samples are pointers, results are slices: printing, comparing, indexing as in Go', async t => {
  t.equal(expand('{{ query "vector(3)" | first }}'), '{map[] 3}', 'an action prints the struct a pointer points to')
  t.equal(expand('{{ print (query "up" | first) }}'), '&{map[__name__:up instance:b:1 job:node zone:z2] 1}')
  t.equal(
    expand(
      '{{ printf "%v|%s|%d|%T|%T" (query "vector(3)" | first) (query "vector(3)" | first) (query "vector(3)" | first) (query "up") (query "up" | first) }}',
    ),
    '&{map[] 3}|&{map[] %!s(float64=3)}|&{map[] %!d(float64=3)}|template.queryResult|*template.sample',
  )
  // Deeper down, fmt prints a pointer as its address (which differs from run to run in Go).
  t.match(expand('{{ query "up" }}'), /^\[0xc[0-9a-f]+ 0xc[0-9a-f]+ 0xc[0-9a-f]+\]$/)
  t.match(expand('{{ args (query "up" | first) }}'), /^map\[arg0:0xc[0-9a-f]+\]$/)
  t.match(
    expand('{{ printf "%p|%v|%d|%x" (query "up" | first) (query "up") (query "vector(3)") (query "vector(3)") }}'),
    /^0xc[0-9a-f]+\|\[0xc[0-9a-f]+ 0xc[0-9a-f]+ 0xc[0-9a-f]+\]\|\[\d+\]\|\[c[0-9a-f]+\]$/,
  )
  t.equal(
    expand('{{ printf "%q|%s" (args (query "vector(3)" | first)) (query "vector(3)") }}'),
    'map["arg0":%!q(*template.sample=&{map[] 3})]|[%!s(*template.sample=&{map[] 3})]',
  )
  t.equal(
    expand('{{ $r := query "up" }}{{ eq (first $r) (first $r) }} {{ eq (query "up" | first) (query "up" | first) }}'),
    'true false',
  )
  t.equal(
    expand('{{ eq (sortByLabel "x" nil) (sortByLabel "y" nil) }} {{ eq (sortByLabel "x" nil) (query "up") }}'),
    'true false',
  )
  t.equal(
    expand('{{ $r := query "vector(3)" }}{{ eq $r $r }}'),
    execError(
      32,
      'eq $r $r',
      'error calling eq: non-comparable type [%!s(*template.sample=&{map[] 3})]: template.queryResult',
    ),
  )
  t.equal(
    expand('{{ lt (query "up" | first) 1 }}'),
    execError(3, 'lt (query "up" | first) 1', 'error calling lt: invalid type for comparison'),
  )
  t.equal(
    expand('{{ eq (query "up" | first) 1 }}'),
    execError(3, 'eq (query "up" | first) 1', 'error calling eq: incompatible types for comparison'),
  )
})

tap.test("index, slice and len on query results share the array, with Go's bounds and errors", async t => {
  const cases: Array<[string, string]> = [
    [
      '{{ $r := sortByLabel "instance" (query "up") }}{{ (index $r 1).Labels.instance }} {{ len (slice $r 1) }} {{ (slice $r 1 2 | first).Labels.instance }}',
      'b:1 2 b:1',
    ],
    [
      '{{ $r := query "up" }}{{ $s := slice $r 0 1 }}{{ len $s }} {{ len (slice $s 0 3) }} {{ len (slice $s 0 1 1) }}',
      '1 3 1',
    ],
    // sortByLabel sorts in place: the slice it was given, and what shares its array, see the new order.
    [
      '{{ $r := query "up" }}{{ $s := sortByLabel "instance" $r }}{{ range $r }}{{ .Labels.instance }},{{ end }}',
      'a:1,b:1,c:1,',
    ],
    [
      '{{ $r := query "up" }}{{ $s := sortByLabel "instance" (slice $r 1) }}{{ range $r }}{{ .Labels.instance }},{{ end }}',
      'b:1,a:1,c:1,',
    ],
    [
      '{{ $r := query "up" }}{{ $s := sortByLabel "zone" (slice $r 0 2) }}{{ range $r }}{{ .Labels.instance }},{{ end }}',
      'a:1,b:1,c:1,',
    ],
    // range reads each element as it goes: sorting inside the loop is seen by the later iterations.
    [
      '{{ $r := query "up" }}{{ range $i, $s := $r }}{{ $s.Labels.instance }}{{ if eq $i 0 }}{{ $x := sortByLabel "instance" $r }}{{ end }},{{ end }}',
      'b:1,b:1,c:1,',
    ],
  ]
  for (const [source, want] of cases) t.equal(expand(source), want, source)
  const errors: Array<[string, string, string]> = [
    [
      '{{ index (query "none") 0 }}',
      'index (query "none") 0',
      'error calling index: reflect: slice index out of range',
    ],
    ['{{ index (query "up") 4 }}', 'index (query "up") 4', 'error calling index: index out of range: 4'],
    ['{{ slice (query "up") 2 1 }}', 'slice (query "up") 2 1', 'error calling slice: invalid slice index: 2 > 1'],
    ['{{ slice (query "up") 0 2 1 }}', 'slice (query "up") 0 2 1', 'error calling slice: invalid slice index: 2 > 1'],
    ['{{ slice (query "up") 0 4 }}', 'slice (query "up") 0 4', 'error calling slice: index out of range: 4'],
    ['{{ len (query "up" | first) }}', 'len (query "up" | first)', 'error calling len: len of type template.sample'],
    [
      '{{ index (query "up" | first) 0 }}',
      'index (query "up" | first) 0',
      "error calling index: can't index item of type template.sample",
    ],
    [
      '{{ slice (query "up" | first) }}',
      'slice (query "up" | first)',
      "error calling slice: can't slice item of type *template.sample",
    ],
    [
      '{{ humanize (query "up" | first) }}',
      'humanize (query "up" | first)',
      "error calling humanize: can't convert *template.sample to float",
    ],
  ]
  for (const [source, context, message] of errors) t.equal(expand(source), execError(3, context, message), source)
})

tap.test("type, field and nil errors read like Prometheus's", async t => {
  t.equal(
    expand('{{ (query "up").Foo }}'),
    execError(10, '"up"', "can't evaluate field Foo in type template.queryResult"),
  )
  // Go reports the last node it evaluated: "up" after first (query "up"), first after (query "up" | first).
  t.equal(
    expand('{{ (first (query "up")).foo }}'),
    execError(17, '"up"', "can't evaluate field foo in type *template.sample"),
  )
  t.equal(
    expand('{{ (query "up" | first).foo }}'),
    execError(17, 'first', "can't evaluate field foo in type *template.sample"),
  )
  t.equal(expand('{{ value "x" }}'), execError(9, '"x"', 'can\'t handle "x" for arg of type *template.sample'))
  t.equal(
    expand('{{ value $labels.job }}'),
    execError(16, '$labels.job', 'wrong type for value; expected *template.sample; got string'),
  )
  t.equal(
    expand('{{ first (query "up" | first) }}'),
    execError(23, 'first', 'wrong type for value; expected template.queryResult; got *template.sample'),
  )
  t.equal(expand('{{ query 1 }}'), execError(9, '1', 'expected string; found 1'))
  t.equal(
    expand('{{ query "none" | first }}'),
    execError(18, 'first', 'error calling first: first() called on vector with no elements'),
  )
})

tap.test(
  'a failed query renders its error; without answers the expansion goes on and reports what it needs',
  async t => {
    t.equal(
      expand('x{{ query "bad" }}'),
      execError(4, 'query "bad"', 'error calling query: parse error: unexpected end of input'),
    )
    t.equal(
      expand('{{ define "f" }}{{ query . }}{{ end }}{{ template "f" "bad" }}'),
      `<error expanding template: error executing template ${NAME}: template: ${NAME}:1:131: executing "f" at <query .>: error calling query: parse error: unexpected end of input>`,
    )
    const queries = stub({ a: [sample({ n: 'b' }, 1)] })
    t.equal(
      expand(
        '{{ with query "a" }}{{ with query (printf "x%s" (. | first | label "n")) }}found{{ else }}empty{{ end }}{{ end }}|{{ query "z" | len }}',
        queries,
      ),
      'empty|0',
    )
    t.same(queries.unasked, ['xb', 'z'], 'each expression without an answer is reported, in order')
    t.equal(
      compileTemplate(NAME, '{{ query "up" }}').expand(DATA, 0),
      execError(
        3,
        'query "up"',
        'error calling query: no query source here: template queries run only during rule evaluation',
      ),
    )
  },
)

tap.test('Go orders strings by bytes: characters beyond U+FFFF sort after U+E000-U+FFFF', async t => {
  t.ok(compareGoStrings('\uff5e', '\u{1f600}') < 0)
  t.ok(compareGoStrings('\u{1f600}', '\uff5e') > 0)
  t.ok('\u{1f600}' < '\uff5e', "JavaScript's < disagrees")
  t.equal(compareGoStrings('\u{1f600}a', '\u{1f600}a'), 0)
  t.ok(compareGoStrings('\u{1f600}', '\u{1f600}a') < 0)
  t.ok(compareGoStrings('a', 'b') < 0)
  t.ok(compareGoStrings('b', 'a') > 0)
  t.equal(compareGoStrings('a', 'a'), 0)
  const wide = [sample({ k: '\u{1f600}' }), sample({ k: '\uff5e' }), sample({ k: 'a' })]
  t.equal(
    expand('{{ range sortByLabel "k" (query "w") }}{{ label "k" . }}{{ end }}', stub({ w: wide })),
    'a\uff5e\u{1f600}',
  )
})

// ---- running the queries: template/queries.ts --------------------------------------------------------------------

const CTX = { evalTime: 5_000, externalLabels: {}, externalURL: '' }
const tmpl = (source: string): Template => compileTemplate(NAME, source)

/** recorder answers from fn (a thrown error is a failed query) and records every call. */
function recorder(fn: (expr: string) => Sample[]): QueryFn & { calls: Array<[string, number]> } {
  const calls: Array<[string, number]> = []
  const query: QueryFn = async (expr, at) => {
    calls.push([expr, at])
    return { samples: fn(expr), warnings: [] }
  }
  return Object.assign(query, { calls })
}

tap.test('unansweredQueries expands only templates that query, for every sample', async t => {
  const spec = rule({
    labels: { plain: tmpl('{{ $labels.i }}'), fixed: literal('x') },
    annotations: { a: tmpl('{{ query (printf "up{i=%q}" $labels.i) }}'), b: tmpl('{{ query "count(up)" }}') },
  })
  const samples = [sample({ i: '1' }), sample({ i: '2' }), sample({ i: '1' })]
  t.same(unansweredQueries(spec, samples, CTX, new Map()), ['up{i="1"}', 'count(up)', 'up{i="2"}'])
  t.same(
    unansweredQueries(spec, samples, CTX, new Map<string, TemplateQueryAnswer>([['count(up)', { samples: [] }]])),
    ['up{i="1"}', 'up{i="2"}'],
  )
  t.same(unansweredQueries(rule({ annotations: { a: tmpl('{{ $value }}') } }), samples, CTX, new Map()), [])
})

tap.test(
  'answerTemplateQueries: once per expression, at the evaluation time, rounds for dependent queries',
  async t => {
    const spec = rule({
      annotations: {
        per: tmpl('{{ query (printf "up{i=%q}" $labels.i) | len }}'),
        chain: tmpl(
          '{{ with query "a" }}{{ with query (printf "b%v" (. | first | value)) }}{{ . | first | value }}{{ end }}{{ end }}',
        ),
      },
    })
    const query = recorder(expr =>
      expr === 'a' ? [sample({}, 7)] : expr === 'b7' ? [sample({}, 8)] : [sample({}), sample({})],
    )
    const samples = [sample({ i: '1' }), sample({ i: '2' }), sample({ i: '1' })]
    const queries = await answerTemplateQueries(spec, samples, CTX, query)
    t.same(
      query.calls,
      [
        ['up{i="1"}', 5_000],
        ['a', 5_000],
        ['up{i="2"}', 5_000],
        ['b7', 5_000],
      ],
      'the first round, then the query that needed its answer',
    )
    const expanded = spec.annotations.chain?.expand({ ...DATA, labels: { i: '1' } }, CTX.evalTime, queries)
    t.equal(expanded, '8')
    t.equal(spec.annotations.per?.expand({ ...DATA, labels: { i: '2' } }, CTX.evalTime, queries), '2')
    queries?.unanswered('up{i="3"}')
    t.same(
      queries?.answer('up{i="3"}'),
      { error: NOT_RUN },
      'the final answers run nothing more: an expression never asked fails',
    )

    const none = recorder(() => [])
    t.equal(
      await answerTemplateQueries(rule({ annotations: { a: tmpl('{{ $value }}') } }), samples, CTX, none),
      undefined,
      'no query: nothing to answer',
    )
    t.equal(await answerTemplateQueries(spec, [], CTX, none), undefined, 'no alerts: nothing to expand')
    t.same(none.calls, [])
  },
)

tap.test("failed template queries show Prometheus's own error text", async t => {
  t.equal(
    templateQueryError(
      new Error(
        'query failed: bad_data: invalid parameter "query": 1:5: parse error: unexpected end of input inside braces',
      ),
    ),
    '1:5: parse error: unexpected end of input inside braces',
  )
  t.equal(
    templateQueryError(
      new Error('query failed: execution: query processing would load too many samples into memory in query execution'),
    ),
    'query processing would load too many samples into memory in query execution',
  )
  t.equal(
    templateQueryError(new Error('rule result is not a vector or scalar')),
    'rule result is not a vector or scalar',
  )
  t.equal(templateQueryError('plain'), 'plain')
  const spec = rule({ annotations: { a: tmpl('{{ query "foo{" }}') } })
  const failing: QueryFn = async () => {
    throw new Error(
      'query failed: bad_data: invalid parameter "query": 1:5: parse error: unexpected end of input inside braces',
    )
  }
  const queries = await answerTemplateQueries(spec, [sample({})], CTX, failing)
  t.equal(
    spec.annotations.a?.expand(DATA, 0, queries),
    execError(3, 'query "foo{"', 'error calling query: 1:5: parse error: unexpected end of input inside braces'),
  )
})

tap.test('bounds: rounds of dependent queries and distinct queries per evaluation', async t => {
  // Each answer names the next query: one round more than allowed.
  const chain = tmpl(
    '{{ define "next" }}{{ with query . }}{{ template "next" (. | first | label "next") }}{{ else }}end{{ end }}{{ end }}{{ template "next" "q0" }}',
  )
  const spec = rule({ annotations: { chain } })
  const depth = (n: number) =>
    recorder(expr => {
      const i = Number(expr.slice(1))
      return i < n ? [sample({ next: `q${i + 1}` })] : []
    })
  let query = depth(MAX_TEMPLATE_QUERY_ROUNDS - 1)
  t.equal(
    chain.expand(DATA, 0, await answerTemplateQueries(spec, [sample({})], CTX, query)),
    'end',
    `${MAX_TEMPLATE_QUERY_ROUNDS} rounds run`,
  )
  query = depth(MAX_TEMPLATE_QUERY_ROUNDS)
  const cut = chain.expand(DATA, 0, await answerTemplateQueries(spec, [sample({})], CTX, query))
  t.match(cut, `error calling query: ${NOT_RUN}>`)
  t.equal(query.calls.length, MAX_TEMPLATE_QUERY_ROUNDS)

  const wide = rule({ annotations: { a: tmpl('{{ query $labels.i | len }}') } })
  const many = Array.from({ length: MAX_TEMPLATE_QUERIES + 1 }, (_, i) => sample({ i: `q${i}` }))
  const counted = recorder(() => [])
  const queries = await answerTemplateQueries(wide, many, CTX, counted)
  t.equal(counted.calls.length, 0, `more than ${MAX_TEMPLATE_QUERIES} distinct queries: none is run`)
  t.match(wide.annotations.a?.expand({ ...DATA, labels: { i: 'q1' } }, 0, queries), NOT_RUN)
})

// ---- in a group evaluation --------------------------------------------------------------------------------------

function options(query: QueryFn, over: Partial<GroupOptions> = {}): GroupOptions {
  let tick = 0
  return {
    query,
    clock: () => (tick += 5),
    externalLabels: {},
    externalURL: '',
    resendDelayMs: 60_000,
    maxConcurrentQueries: 4,
    ...over,
  }
}

tap.test('a group runs template queries at the evaluation time through its query port', async t => {
  const spec = group(
    [
      rule({
        name: 'Down',
        expr: 'up == 0',
        labels: {
          owner: tmpl('{{ with query (printf "team{job=%q}" $labels.job) }}{{ . | first | label "team" }}{{ end }}'),
        },
        annotations: {
          summary: tmpl('{{ $labels.job }} of {{ query "count(up)" | first | value }}'),
          broken: tmpl('{{ query "up[" }}'),
        },
      }),
      rule({ name: 'Plain', expr: 'vector(1)', annotations: { a: tmpl('{{ $value }}') } }),
    ],
    { queryOffsetMs: 30_000 },
  )
  const query = recorder(expr => {
    if (expr === 'up == 0') return [sample({ job: 'api' }, 0), sample({ job: 'web' }, 0)]
    if (expr === 'count(up)') return [sample({}, 5)]
    if (expr === 'up[')
      throw new Error('query failed: bad_data: invalid parameter "query": 1:4: parse error: unexpected end of input')
    if (expr.startsWith('team')) return [sample({ team: expr.includes('api') ? 'core' : 'edge' })]
    return [sample({})]
  })
  const state = newGroupState(spec, 60_000, '')
  const out = await evaluateGroup(state, 600_000, options(query))
  t.same(
    query.calls.filter(([e]) => e === 'up == 0' || e === 'vector(1)').map(([, at]) => at),
    [570_000, 570_000],
    'rule queries at ts - query_offset',
  )
  t.same(
    query.calls
      .filter(([e]) => e !== 'up == 0' && e !== 'vector(1)')
      .map(([e, at]) => `${e}@${at}`)
      .sort(),
    ['count(up)@600000', 'team{job="api"}@600000', 'team{job="web"}@600000', 'up[@600000'],
    'template queries at ts, each once',
  )
  const alerts = [...(state.rules[0]?.state.active.values() ?? [])]
  t.same(
    alerts.map(a => a.labels),
    [
      { job: 'api', owner: 'core', alertname: 'Down' },
      { job: 'web', owner: 'edge', alertname: 'Down' },
    ],
    'label templates may query too',
  )
  t.same(
    alerts.map(a => a.annotations.summary),
    ['api of 5', 'web of 5'],
  )
  t.equal(
    alerts[0]?.annotations.broken,
    execError(3, 'query "up["', 'error calling query: 1:4: parse error: unexpected end of input'),
  )
  t.same(
    out.outcomes.map(o => o.error),
    ['', ''],
    'a failed template query is no rule error',
  )
})

tap.test('no template queries when the rule query fails; rules without query templates query once', async t => {
  const spec = group([
    rule({ name: 'Fails', expr: 'fails', annotations: { a: tmpl('{{ query "x" }}') } }),
    rule({ name: 'Plain', expr: 'plain', annotations: { a: tmpl('{{ $value }}') } }),
  ])
  const query = recorder(expr => {
    if (expr === 'fails') throw new Error('boom')
    return [sample({})]
  })
  const out = await evaluateGroup(newGroupState(spec, 60_000, ''), 0, options(query))
  t.same(
    query.calls.map(([e]) => e),
    ['fails', 'plain'],
  )
  t.same(
    out.outcomes.map(o => o.error),
    ['boom', ''],
  )
})

tap.test('rule and template queries share the concurrency bound', async t => {
  let inFlight = 0
  let most = 0
  const query: QueryFn = async expr => {
    inFlight++
    most = Math.max(most, inFlight)
    await new Promise(resolve => setTimeout(resolve, 2))
    inFlight--
    return {
      samples: expr.startsWith('r') ? [sample({ i: '1' }), sample({ i: '2' }), sample({ i: '3' })] : [sample({})],
      warnings: [],
    }
  }
  const rules = Array.from({ length: 4 }, (_, n) =>
    rule({
      name: `R${n}`,
      expr: `r${n}`,
      annotations: { a: tmpl(`{{ query (printf "t${n}_%s" $labels.i) | len }}`) },
    }),
  )
  for (const limit of [1, 3]) {
    most = 0
    const state = newGroupState(group(rules), 60_000, '')
    await evaluateGroup(state, 0, options(query, { maxConcurrentQueries: limit }))
    t.equal(most, limit, `at most ${limit} queries in flight`)
    t.same(
      [...(state.rules[3]?.state.active.values() ?? [])].map(a => a.annotations.a),
      ['1', '1', '1'],
    )
  }
})
