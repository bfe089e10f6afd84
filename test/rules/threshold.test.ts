import { readFileSync } from 'node:fs'
import t from 'tap'
import { parse } from 'yaml'
import { applyLabelSource, labelSources, withoutThreshold } from '../../src/rules/threshold.js'

t.test('removes the outermost comparison against a number and follows the left side of set operators', async t => {
  const cases: Array<[string, string]> = [
    ['x > 0.1', 'x'],
    ['0.5 < x', 'x'],
    ['(x > 1)', 'x'],
    ['x > -(1)', 'x'],
    ['rate(x[5m]) > 0.1 and on (a) y >= 1', 'rate(x[5m])'],
    ['x == 0 or y == 1', 'x'],
    ['(x / y > 0.9) unless z', 'x / y'],
    ['sum by (a) (x) > 5', 'sum by (a) (x)'],
  ]
  for (const [expr, want] of cases) t.equal(withoutThreshold(expr), want, expr)
})

t.test('leaves what is not a comparison against a number', async t => {
  for (const expr of ['x > bool 1', 'x > y', 'absent(up)', 'x', 'x + 1']) t.equal(withoutThreshold(expr), expr, expr)
})

t.test('the shipped rules: the series part of each', async t => {
  const doc = parse(readFileSync(new URL('../../rules/rollback-triggers.yml', import.meta.url), 'utf8')) as {
    groups: { rules: { alert: string; expr: string }[] }[]
  }
  const rules = new Map(doc.groups[0]!.rules.map(r => [r.alert, withoutThreshold(r.expr)]))
  t.match(
    rules.get('HighErrorRate'),
    /^sum by \(namespace, deployment\) \(\n.*code=~"5\.\."[\s\S]*\/\n\s*sum by \(namespace, deployment\) \([\s\S]*\)$/,
  )
  t.notMatch(rules.get('HighErrorRate'), /> 0\.10|>= 1|and on/)
  t.match(rules.get('HighLatency'), /^histogram_quantile\(0\.95,[\s\S]*\)$/)
  t.match(rules.get('HighMemory'), /^max by \(namespace, deployment\) \([\s\S]*\)$/)
  t.equal(rules.get('HealthCheckFailing'), 'rollguard_probe_success')
})

t.test(
  'label sources: the series part, then the operands of one-to-one vector arithmetic with on/ignoring applied',
  async t => {
    t.same(labelSources('a / b > 0.1 and c'), [
      { expr: 'a / b', drop: [] },
      { expr: 'a', drop: [] },
      { expr: 'b', drop: [] },
    ])
    t.same(labelSources('(a / on (ns, dep) b) > 1'), [
      { expr: 'a / on (ns, dep) b', drop: [] },
      { expr: 'a', keep: ['ns', 'dep'], drop: [] },
      { expr: 'b', keep: ['ns', 'dep'], drop: [] },
    ])
    t.same(
      labelSources('a - ignoring (le) b * 100').map(s => [s.expr, s.drop]),
      [
        ['a - ignoring (le) b * 100', []],
        ['a', ['le']],
        ['b * 100', ['le']],
        ['b', ['le']],
      ],
    )
    t.same(
      labelSources('a / on (x) group_left b').map(s => s.expr),
      ['a / on (x) group_left b'],
      "many-to-one: the labels are not either side's",
    )
    t.same(
      labelSources('sum(a) > 1').map(s => s.expr),
      ['sum(a)'],
    )
    t.same(
      applyLabelSource(
        { ns: 'shop', dep: 'web', pod: 'web-1', le: '1' },
        { expr: 'b', keep: ['ns', 'dep', 'le'], drop: ['le'] },
      ),
      { ns: 'shop', dep: 'web' },
    )
  },
)
