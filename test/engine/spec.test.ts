// Group keys: Prometheus's "<file>;<name>", one string per group spec however often it is asked for.
import t from 'tap'
import { groupKey } from '../../src/engine/spec.js'

t.test('groupKey is "<file>;<name>", the same for the same spec and for an equal one', async t => {
  const spec = { file: '/etc/rollguard/rules.yml', name: 'checkout' }
  t.equal(groupKey(spec), '/etc/rollguard/rules.yml;checkout')
  t.equal(groupKey(spec), '/etc/rollguard/rules.yml;checkout', 'asked again')
  t.equal(groupKey({ ...spec }), groupKey(spec), 'another object with the same file and name')
})
