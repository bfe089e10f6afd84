import t from 'tap'
import { decodeLedger, encodeLedger, RollbackLedger } from '../../src/actions/ledger.js'

const T = Date.parse('2026-12-05T10:00:00Z')

t.test('the ledger merges what it performed, read and inherited, and lists the recent part per workload', async t => {
  const l = new RollbackLedger()
  l.add('Deployment/shop/checkout', T)
  l.observe('Deployment/shop/cart', {
    at: T - 60_000,
    fromRevision: 2,
    toRevision: 1,
    generation: 3,
    alert: 'HighErrorRate',
    history: [T - 7_200_000, T - 60_000],
  })
  l.inherit([
    ['Deployment/shop/checkout', [T, T - 30_000]],
    ['StatefulSet/data/db', [T - 10_000]],
  ])
  t.same(l.recent(), [T - 7_200_000, T - 60_000, T - 30_000, T - 10_000, T], 'a time seen twice counts once')
  t.same(l.since(T - 3_600_000), [
    ['Deployment/shop/checkout', [T - 30_000, T]],
    ['Deployment/shop/cart', [T - 60_000]],
    ['StatefulSet/data/db', [T - 10_000]],
  ])
  t.same(l.since(T + 1), [], 'nothing that recent')
})

t.test('the Lease annotation round-trips, keeps the newest 200 times, and rejects what it cannot read', async t => {
  const entries = [
    ['Deployment/shop/checkout', [T - 30_000, T]],
    ['StatefulSet/data/db', [T - 10_000]],
  ] as const
  const text = encodeLedger(entries)
  t.same(JSON.parse(text), {
    'Deployment/shop/checkout': ['2026-12-05T09:59:30.000Z', '2026-12-05T10:00:00.000Z'],
    'StatefulSet/data/db': ['2026-12-05T09:59:50.000Z'],
  })
  t.same(decodeLedger(text), [
    ['Deployment/shop/checkout', [T - 30_000, T]],
    ['StatefulSet/data/db', [T - 10_000]],
  ])
  const many = Array.from({ length: 300 }, (_, i) => [`Deployment/ns/w${i}`, [T + i * 1000]] as const)
  const kept = decodeLedger(encodeLedger(many))
  t.equal(Array.isArray(kept) ? kept.length : 0, 200)
  const names = new Set(Array.isArray(kept) ? kept.map(([name]) => name) : [])
  t.ok(names.has('Deployment/ns/w100') && names.has('Deployment/ns/w299'), 'the newest kept')
  t.notOk(names.has('Deployment/ns/w99'), 'the oldest dropped')
  t.equal(encodeLedger([]), '{}')
  t.same(decodeLedger('{}'), [])
  t.equal(decodeLedger(undefined), undefined)
  for (const bad of ['{', '[]', '{"Deployment/a/b": "2026"}', '{"Deployment/a/b": ["yesterday"]}', '{"": []}'])
    t.equal(decodeLedger(bad), 'malformed', bad)
})
