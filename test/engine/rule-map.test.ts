// RuleMap: rules known by group, name and expression, without a joined key string per rule.
import t from 'tap'
import { RuleMap } from '../../src/engine/rule-map.js'

const G = 'rules.yml;shop'

t.test('a rule is found by its group, name and expression, and by nothing less', async t => {
  const m = new RuleMap<number>()
  m.set(G, 'HighErrorRate', 'rate(errors[5m]) > 0.1', 1)
  t.equal(m.get(G, 'HighErrorRate', 'rate(errors[5m]) > 0.1'), 1)
  t.equal(m.get(G, 'HighErrorRate', 'rate(errors[5m]) > 0.2'), undefined, 'another expression is another rule')
  t.equal(m.get(G, 'HighLatency', 'rate(errors[5m]) > 0.1'), undefined, 'another name')
  t.equal(m.get('rules.yml;cart', 'HighErrorRate', 'rate(errors[5m]) > 0.1'), undefined, 'another group')
  // An equal expression built anew (a reload parses the file again) finds the rule.
  const again = ['rate(errors[5m])', '> 0.1'].join(' ')
  t.equal(m.get(G, 'HighErrorRate', again), 1)
  t.equal(m.size, 1)
})

t.test('several rules of one name in a group are kept apart; setting one again replaces its value', async t => {
  const m = new RuleMap<string>()
  m.set(G, 'HighErrorRate', 'a > 0.1', 'warning').set(G, 'HighErrorRate', 'a > 0.5', 'critical')
  t.equal(m.size, 2)
  t.equal(m.get(G, 'HighErrorRate', 'a > 0.1'), 'warning')
  t.equal(m.get(G, 'HighErrorRate', 'a > 0.5'), 'critical')
  m.set(G, 'HighErrorRate', 'a > 0.5', 'page')
  t.equal(m.size, 2, 'replaced, not added')
  t.equal(m.get(G, 'HighErrorRate', 'a > 0.5'), 'page')
  t.same([...m.values()], ['warning', 'page'])
})

t.test('deleteWhere removes the matching rules, returns their values and leaves the rest', async t => {
  const m = new RuleMap<number>()
  m.set(G, 'A', 'x > 1', 1).set(G, 'A', 'x > 2', 2).set(G, 'B', 'y > 1', 3).set('rules.yml;cart', 'C', 'z', 4)
  t.same(m.deleteWhere(v => v % 2 === 0).sort(), [2, 4])
  t.equal(m.size, 2)
  t.same([...m.values()], [1, 3])
  t.equal(m.get(G, 'A', 'x > 2'), undefined)
  t.equal(m.get('rules.yml;cart', 'C', 'z'), undefined, 'a group left empty')
  t.same(m.deleteWhere(() => true).sort(), [1, 3])
  t.equal(m.size, 0)
  t.same([...m.values()], [])
  // A group emptied and filled again works as a new one.
  m.set(G, 'A', 'x > 1', 5)
  t.equal(m.get(G, 'A', 'x > 1'), 5)
  t.same(
    m.deleteWhere(() => false),
    [],
  )
})
