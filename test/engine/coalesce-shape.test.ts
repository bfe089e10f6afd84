import t from 'tap'
import { sameShape, shapeOf } from '../../src/engine/coalesce-shape.js'

const mergeable = (expr: string): string[] => [...shapeOf(expr).mergeable].sort()

t.test('cuts the expression at its equality matchers on plain label names', async t => {
  const s = shapeOf(`rate(x{d="a", e!="b", __name__="x", "q"="c", f='g\\'s'}[5m]) > 1`)
  t.same(s.slots, [
    { label: 'd', value: 'a' },
    { label: 'f', value: "g's" },
  ])
  t.same(s.pieces, ['rate(x{', ', e!="b", __name__="x", "q"="c", ', '}[5m]) > 1'])
  t.same(shapeOf('x').slots, [])
  t.same(shapeOf('x').pieces, ['x'])
})

t.test('a selector keeps its labels: every equality label is mergeable', async t => {
  t.same(mergeable('x{d="a", e="b"}'), ['d', 'e'])
  t.same(mergeable('(x{d="a"})'), ['d'])
  t.same(mergeable('-x{d="a"}'), ['d'])
})

t.test('aggregations keep the label only when grouping by it (or not without it), and only groupwise ones', async t => {
  t.same(mergeable('sum by (ns, d) (x{d="a", ns="n"})'), ['d', 'ns'])
  t.same(mergeable('sum by (d) (x{d="a", ns="n"})'), ['d'])
  t.same(mergeable('sum(x{d="a"}) by (d)'), ['d'])
  t.same(mergeable('avg without (pod) (x{d="a", pod="p"})'), ['d'])
  t.same(mergeable('sum without (d) (x{d="a"})'), [])
  t.same(mergeable('sum(x{d="a"})'), [])
  t.same(mergeable('topk by (d) (3, x{d="a"})'), [])
  t.same(mergeable('quantile by (d) (0.9, x{d="a"})'), [])
  t.same(mergeable('count_values by (d) ("v", x{d="a"})'), [])
  t.same(mergeable('group by (d) (x{d="a"})'), ['d'])
})

t.test('binary operations: literals on one side, or vector matching that includes the label', async t => {
  t.same(mergeable('x{d="a"} > 0.1'), ['d'])
  t.same(mergeable('0.1 < bool x{d="a"}'), ['d'])
  t.same(mergeable('x{d="a"} * (2 - -1)'), ['d'])
  t.same(mergeable('x{d="a"} / y{d="a"}'), ['d'])
  t.same(mergeable('x{d="a"} / on (d, i) y{d="a"}'), ['d'])
  t.same(mergeable('x{d="a"} / on (i) y{d="a"}'), [])
  t.same(mergeable('x{d="a"} / on () y{d="a"}'), [])
  t.same(mergeable('x{d="a"} / ignoring (i) group_left (j) y{d="a"}'), ['d'])
  t.same(mergeable('x{d="a"} / ignoring (d) y{d="a"}'), [])
  t.same(mergeable('x{d="a"} and on ("d") y{d="a"}'), ['d'])
  t.same(mergeable('x{d="a"} or y{d="a"}'), ['d'])
  t.same(mergeable('x{d="a"} unless y'), [], 'every selector must be narrowed')
})

t.test('functions: per-series ones keep the label; label functions unless they touch it', async t => {
  t.same(mergeable('rate(x{d="a"}[5m])'), ['d'])
  t.same(mergeable('histogram_quantile(0.9, sum by (le, d) (rate(x{d="a", le="1"}[5m])))'), ['d'])
  t.same(mergeable('clamp(x{d="a"}, 0, 1)'), ['d'])
  t.same(mergeable('label_replace(x{d="a"}, "e", "$1", "pod", "(.*)")'), ['d'])
  t.same(mergeable('label_replace(x{d="a"}, "d", "$1", "pod", "(.*)")'), [])
  t.same(mergeable('label_replace(x{d="a"}, "e", "$1", "d", "(.*)")'), [])
  t.same(mergeable('label_join(x{d="a"}, "e", "-", "f", "g")'), ['d'])
  t.same(mergeable('label_replace(x{d="a"}, 1, "$1", "pod", "(.*)")'), [], 'a label name that is no string')
  t.same(mergeable('label_join(x{d="a"}, "e", "-", "f", "d")'), [])
  t.same(mergeable('label_join("e", x{d="a"}, "-", "f")'), [], 'the series argument comes first')
  t.same(mergeable('absent(x{d="a"})'), [])
  t.same(mergeable('absent_over_time(x{d="a"}[5m])'), [])
  t.same(mergeable('scalar(x{d="a"}) * x{d="a"}'), [])
  t.same(mergeable('vector(1)'), [])
  t.same(mergeable('time()'), [])
  t.same(mergeable('x{d="a"} > time()'), [])
  t.same(mergeable('rate(x{d="a"}[5m]) + rate(y{d="a"}[5m]) * 2 > 1'), ['d'])
  t.same(mergeable('predict_linear(x{d="a"}[1h], x{d="a"})'), [], 'two series arguments')
})

t.test('offsets, @, subqueries, comments and broken expressions are left alone', async t => {
  t.same(mergeable('x{d="a"} offset 5m'), [])
  t.same(mergeable('rate(x{d="a"}[5m] offset 5m)'), [])
  t.same(mergeable('x{d="a"} @ 100'), [])
  t.same(mergeable('max_over_time(x{d="a"}[5m:1m])'), [])
  t.same(mergeable('x{d="a"} # a comment'), [])
  t.same(mergeable('x{d="a"} +'), [])
  t.same(mergeable('x{d="a"}[5m]'), [])
})

t.test('sameShape reads an expression of the same template without parsing it, or says it is not one', async t => {
  const known = shapeOf('sum by (d) (x{d="a", e="k"}) > 1')
  const same = sameShape(known, `sum by (d) (x{d = 'b\\'c', e="k2"}) > 1`)
  t.same(same?.slots, [
    { label: 'd', value: "b'c" },
    { label: 'e', value: 'k2' },
  ])
  t.equal(same?.mergeable, known.mergeable)
  t.equal(sameShape(known, 'sum by (d) (y{d="a", e="k"}) > 1'), undefined, 'other text before a matcher')
  t.equal(sameShape(known, 'sum by (d) (x{f="a", e="k"}) > 1'), undefined, 'another label')
  t.equal(sameShape(known, 'sum by (d) (x{d=~"a", e="k"}) > 1'), undefined, 'another operator')
  t.equal(sameShape(known, 'sum by (d) (x{d="a", e="k"}) > 2'), undefined, 'other text at the end')
})
