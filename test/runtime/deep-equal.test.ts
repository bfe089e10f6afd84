// deepEqual decides whether a reload changed a component's settings: structure, not object identity or key order.
import t from 'tap'
import { deepEqual } from '../../src/runtime/deep-equal.js'

t.test('primitives by value, NaN equal to itself, no coercion', async t => {
  t.ok(deepEqual(1, 1))
  t.ok(deepEqual(Number.NaN, Number.NaN))
  t.ok(deepEqual('a', 'a'))
  t.notOk(deepEqual(1, '1'))
  t.notOk(deepEqual(0, null))
  t.notOk(deepEqual(null, undefined))
  t.notOk(deepEqual(null, {}))
})

t.test('objects by their keys in any order; an undefined value counts as absent', async t => {
  t.ok(deepEqual({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 }))
  t.ok(deepEqual({ a: 1, b: undefined }, { a: 1 }), 'an optional key left out equals one set to undefined')
  t.notOk(deepEqual({ a: 1 }, { a: 2 }))
  t.notOk(deepEqual({ a: 1 }, { a: 1, b: 2 }))
  t.notOk(deepEqual({ a: { b: 1 } }, { a: { b: 1, c: 0 } }), 'nested difference')
  t.notOk(deepEqual({ a: null }, { a: undefined }))
})

t.test('arrays in order, of equal length; an array is not an object with index keys', async t => {
  t.ok(deepEqual([1, [2, { x: 3 }]], [1, [2, { x: 3 }]]))
  t.notOk(deepEqual([1, 2], [2, 1]))
  t.notOk(deepEqual([1], [1, undefined]))
  t.notOk(deepEqual([1], { 0: 1 }))
})

t.test('Maps, Sets, Buffers and Dates by content', async t => {
  t.ok(deepEqual(new Map([['a', { v: 1 }]]), new Map([['a', { v: 1 }]])))
  t.notOk(deepEqual(new Map([['a', 1]]), new Map([['b', 1]])))
  t.notOk(deepEqual(new Map([['a', 1]]), new Map([['a', 2]])))
  t.ok(deepEqual(new Set([1, 2]), new Set([2, 1])))
  t.notOk(deepEqual(new Set([1, 2]), new Set([1, 3])))
  t.ok(deepEqual(Buffer.from('pem'), Buffer.from('pem')))
  t.notOk(deepEqual(Buffer.from('pem'), Buffer.from('pen')))
  t.ok(deepEqual(new Date(5), new Date(5)))
  t.notOk(deepEqual(new Date(5), new Date(6)))
})

t.test('functions by identity', async t => {
  const f = () => 1
  t.ok(deepEqual({ f }, { f }))
  t.notOk(deepEqual({ f }, { f: () => 1 }))
})
