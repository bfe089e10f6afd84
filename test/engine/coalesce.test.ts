import t from 'tap'
import { MAX_SHARED_QUERY_LENGTH, planCoalescing, quoteMeta, type PlannedGroup } from '../../src/engine/coalesce.js'
import { groupOffset } from '../../src/engine/slots.js'
import { group, rule } from '../fixtures/engine.js'

const INTERVAL = 100

/** aligned builds groups named so that all of them share one slot offset at INTERVAL (found by search). */
function alignedNames(count: number): string[] {
  const byOffset = new Map<number, string[]>()
  for (let i = 0; ; i++) {
    const name = `g${i}`
    const offset = groupOffset('test.yml', name, INTERVAL)
    const names = [...(byOffset.get(offset) ?? []), name]
    if (names.length === count) return names
    byOffset.set(offset, names)
  }
}

function planned(exprsByGroup: readonly (readonly string[])[], names = alignedNames(exprsByGroup.length)) {
  return exprsByGroup.map((exprs, i): PlannedGroup => ({
    spec: group(
      exprs.map(expr => rule({ expr })),
      { name: names[i] as string, intervalMs: INTERVAL },
    ),
    intervalMs: INTERVAL,
  }))
}

t.test('rules differing in a kept label share one query with a regex matcher; each takes its own series', async t => {
  const plan = planCoalescing(
    planned([
      [
        'sum by (d) (rate(x{d="cart", ns="shop"}[5m])) > 0.1',
        'sum by (d) (rate(x{d="check.out", ns="shop"}[5m])) > 0.1',
      ],
    ]),
  )
  const shares = plan.groups.get(`test.yml;${alignedNames(1)[0]}`)
  const cart = shares?.get('sum by (d) (rate(x{d="cart", ns="shop"}[5m])) > 0.1')
  const checkout = shares?.get('sum by (d) (rate(x{d="check.out", ns="shop"}[5m])) > 0.1')
  t.equal(cart?.query.expr, 'sum by (d) (rate(x{d=~"cart|check\\\\.out", ns="shop"}[5m])) > 0.1')
  t.equal(cart?.query, checkout?.query, 'one query object')
  t.equal(cart?.query.rules, 2)
  t.same(cart?.filter, { d: 'cart' })
  t.same(checkout?.filter, { d: 'check.out' })
  t.equal(plan.rules, 2)
  t.equal(plan.queries, 1)
})

t.test('across groups at the same instants, and not across groups at different ones', async t => {
  const [a, b] = alignedNames(2) as [string, string]
  const same = planCoalescing(planned([['x{d="a"} > 1'], ['x{d="b"} > 1']], [a, b]))
  t.equal(same.queries, 1)
  t.equal(same.groups.get(`test.yml;${b}`)?.get('x{d="b"} > 1')?.query.expr, 'x{d=~"a|b"} > 1')
  const other = planned([['x{d="a"} > 1'], ['x{d="b"} > 1']], [a, b])
  const shifted = [
    other[0] as PlannedGroup,
    { ...(other[1] as PlannedGroup), spec: { ...(other[1] as PlannedGroup).spec, queryOffsetMs: 10 } },
  ]
  t.equal(planCoalescing(shifted).queries, 0, 'a query offset moves the instants')
  const slower = [other[0] as PlannedGroup, { ...(other[1] as PlannedGroup), intervalMs: 2 * INTERVAL }]
  t.equal(planCoalescing(slower).queries, 0, 'another interval')
})

t.test('identical expressions share their query as written, whatever their shape', async t => {
  const plan = planCoalescing(planned([['absent(up{job="a"})', 'absent(up{job="a"})'], ['absent(up{job="a"})']]))
  t.equal(plan.queries, 1)
  t.equal(plan.rules, 3)
  const share = plan.groups.get(`test.yml;${alignedNames(2)[1]}`)?.get('absent(up{job="a"})')
  t.equal(share?.query.expr, 'absent(up{job="a"})')
  t.same(share?.filter, {})
  const quoting = planCoalescing(planned([["x{d='a'} > 1", 'x{d="a"} > 1']]))
  t.equal(quoting.queries, 1, 'quoting aside')
  t.equal(quoting.groups.get(`test.yml;${alignedNames(1)[0]}`)?.get("x{d='a'} > 1")?.query.expr, 'x{d="a"} > 1')
})

t.test('rules that cannot be merged stay alone', async t => {
  const alone = (exprs: string[]) => planCoalescing(planned([exprs])).queries
  t.equal(alone(['sum(x{d="a"})', 'sum(x{d="b"})']), 0, 'the label is aggregated away')
  t.equal(alone(['absent(x{d="a"})', 'absent(x{d="b"})']), 0, 'absent')
  t.equal(alone(['x{d="a"} offset 1m', 'x{d="b"} offset 1m']), 0, 'offset')
  t.equal(alone(['x{d="a"} > 1', 'x{d="b"} > 2']), 0, 'other differences')
  t.equal(alone(['x{d="a"} / y{d="a"}', 'x{d="b"} / y{d="c"}']), 0, 'a rule narrowing the label to two values')
  t.equal(alone(['x{d=""} > 1', 'x{d="b"} > 1']), 0, 'an empty value also matches series without the label')
  t.equal(alone(['x{d="a"}']), 0, 'a single rule')
  t.equal(alone([]), 0)
})

t.test('labels vary together or apart; the regex lists each value once; fixed matchers stay', async t => {
  const plan = planCoalescing(
    planned([['x{ns="n1", d="a", e="k"} > 1', 'x{ns="n1", d="b", e="k"} > 1', 'x{ns="n2", d="a", e="k"} > 1']]),
  )
  const share = plan.groups.get(`test.yml;${alignedNames(1)[0]}`)?.get('x{ns="n2", d="a", e="k"} > 1')
  t.equal(share?.query.expr, 'x{ns=~"n1|n2", d=~"a|b", e="k"} > 1')
  t.same(share?.filter, { ns: 'n2', d: 'a' })
  t.equal(share?.query.rules, 3)
})

t.test('quoteMeta escapes what RE2 would read as syntax', async t => {
  t.equal(quoteMeta('a.b+c*d?e(f)g|h[i]j{k}l^m$n\\o-p'), 'a\\.b\\+c\\*d\\?e\\(f\\)g\\|h\\[i\\]j\\{k\\}l\\^m\\$n\\\\o-p')
})

t.test('expressions of one template are read against one parse, and checked exactly', async t => {
  const inString = planCoalescing(
    planned([
      [
        `label_replace(x{d="a"}, "e", "$1", "f", "k='v'")`,
        `label_replace(x{d="b"}, "e", "$1", "f", "k='w'")`,
        `label_replace(x{d="c"}, "e", "$1", "f", "k='v'")`,
      ],
    ]),
  )
  const shares = inString.groups.get(`test.yml;${alignedNames(1)[0]}`)
  t.equal(shares?.get(`label_replace(x{d="b"}, "e", "$1", "f", "k='w'")`), undefined, 'a string argument differs')
  t.equal(
    shares?.get(`label_replace(x{d="c"}, "e", "$1", "f", "k='v'")`)?.query.expr,
    `label_replace(x{d=~"a|c"}, "e", "$1", "f", "k='v'")`,
  )
  const alone = planCoalescing(planned([['x{d="a"} > 1', 'x{d = "b"} > 1', 'x{d="c",e="f"} > 1']]))
  t.equal(alone.queries, 0, 'a rule alone with its template (as written) is not even read')
  const spacing = planCoalescing(planned([['x{d="a"} > 1', 'x{d = "b"} > 1', 'x{d="c"} > 1', 'x{d = "e"} > 1']]))
  t.equal(spacing.queries, 1, 'spacing inside the matcher aside')
  t.equal(spacing.rules, 4)
})

t.test('a shared query stays within MAX_SHARED_QUERY_LENGTH: the values are split over several', async t => {
  const deployments = Array.from({ length: 900 }, (_, i) => `deployment-${String(i).padStart(4, '0')}-abcdefghij`)
  const exprs = deployments.map(d => `sum by (d) (rate(x{d="${d}"}[5m])) / sum by (d) (rate(y{d="${d}"}[5m])) > 0.1`)
  const plan = planCoalescing(planned([exprs]))
  const shares = [...(plan.groups.get(`test.yml;${alignedNames(1)[0]}`)?.values() ?? [])]
  const queries = new Set(shares.map(s => s.query))
  t.equal(plan.rules, 900, 'every rule still shares')
  t.equal(plan.queries, queries.size)
  t.ok(queries.size > 1 && queries.size <= 8, `${queries.size} queries`)
  for (const q of queries) t.ok(q.expr.length <= MAX_SHARED_QUERY_LENGTH, `${q.expr.length} characters`)
  t.equal(
    [...queries].reduce((n, q) => n + q.rules, 0),
    900,
    'each rule counted in one query',
  )
  const asked = (expr: string) => (/d=~"([^"]*)"/.exec(expr)?.[1] ?? '').split('|')
  t.ok(
    shares.every(s => asked(s.query.expr).includes(s.filter['d'] ?? '')),
    "each rule's value is in the query it takes its series from",
  )
})
