// Label-set keys: exact, whatever the values hold.
import t from 'tap'
import { fingerprint, samplesByValues, valuesKey } from '../../src/engine/labels.js'

t.test(
  'valuesKey: the named values in order; no value passes for two, and a missing label matches no value',
  async t => {
    const names = ['namespace', 'pod']
    t.equal(valuesKey(names, { pod: 'cart-1', namespace: 'shop', other: 'x' }), '["shop","cart-1"]')
    t.equal(valuesKey(names, { namespace: 'shop' }), '["shop",null]')
    t.not(valuesKey(names, { namespace: 'shop', pod: 'null' }), valuesKey(names, { namespace: 'shop' }))
    t.not(valuesKey(names, { namespace: 'a","b', pod: '' }), valuesKey(names, { namespace: 'a', pod: 'b' }))
    t.equal(valuesKey([], { a: '1' }), '[]', 'no names: every label set alike')
  },
)

t.test('fingerprint: one key per label set, whatever the order of its names', async t => {
  t.equal(fingerprint({ b: '2', a: '1' }), fingerprint({ a: '1', b: '2' }))
  t.not(fingerprint({ a: '1' }), fingerprint({ a: '1', b: '' }))
  // U+00FF is a character like any other in a value: it must not pass for a separator.
  t.not(fingerprint({ a: 'x\xffb\xffy' }), fingerprint({ a: 'x', b: 'y' }))
  t.not(fingerprint({ a: '1:b1:2' }), fingerprint({ a: '', b: '2' }))
  t.not(fingerprint({ ab: 'c' }), fingerprint({ a: 'bc' }))
})

t.test("samplesByValues: samples grouped by the named values, each group in the answer's order", async t => {
  const a1 = { labels: { d: 'a', k: '1' }, value: 1 }
  const b1 = { labels: { d: 'b', k: '1' }, value: 2 }
  const a2 = { labels: { d: 'a', k: '2' }, value: 3 }
  const none = { labels: { k: '3' }, value: 4 }
  const groups = samplesByValues([a1, b1, a2, none], ['d'])
  t.same([...groups.keys()], ['["a"]', '["b"]', '[null]'])
  t.same(groups.get(valuesKey(['d'], { d: 'a' })), [a1, a2])
  t.same(groups.get(valuesKey(['d'], { d: 'b' })), [b1])
  t.same(samplesByValues([], ['d']).size, 0)
})
