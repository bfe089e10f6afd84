import t from 'tap'
import { settleDelay, TriggerLog } from '../../src/actions/correlation.js'
import { CorrelationSettings } from '../../src/actions/policy-config.js'
import type { WorkloadRef } from '../../src/actions/workload-ref.js'

const T0 = Date.parse('2026-03-30T10:00:00Z')
const MIN = 60_000
const ref = (namespace: string, name: string): WorkloadRef => ({ kind: 'Deployment', namespace, name })
const names = (refs: readonly WorkloadRef[]) => refs.map(r => `${r.namespace}/${r.name}`)

t.test('workloads whose triggers fired within the window of this one, in its scope, itself included', async t => {
  const log = new TriggerLog()
  const cluster = CorrelationSettings.parse({ window: '5m' })
  const namespace = CorrelationSettings.parse({ window: '5m', scope: 'namespace' })
  log.note(ref('shop', 'cart'), T0 - 5 * MIN, T0, 10 * MIN) // exactly one window before: outside (half-open)
  log.note(ref('shop', 'search'), T0 - 5 * MIN + 1, T0, 10 * MIN)
  log.note(ref('shop', 'search'), T0 - MIN, T0, 10 * MIN) // a second firing of the same workload counts once
  log.note(ref('pay', 'gateway'), T0 + 4 * MIN, T0, 10 * MIN) // later triggers count too (a new leader decides old ones)
  t.same(names(log.correlated(ref('shop', 'checkout'), T0, cluster).workloads), [
    'pay/gateway',
    'shop/checkout',
    'shop/search',
  ])
  t.equal(log.correlated(ref('shop', 'checkout'), T0, cluster).scope, 'cluster')
  t.same(names(log.correlated(ref('shop', 'checkout'), T0, namespace).workloads), ['shop/checkout', 'shop/search'])
  t.equal(log.correlated(ref('shop', 'checkout'), T0, namespace).scope, 'namespace shop')
  t.same(names(log.correlated(ref('db', 'pg'), T0 + 20 * MIN, cluster).workloads), ['db/pg'], 'alone')
})

t.test('old firings are forgotten, and the log is bounded', async t => {
  const log = new TriggerLog()
  log.note(ref('shop', 'a'), T0, T0, 10 * MIN)
  log.note(ref('shop', 'b'), T0 + 11 * MIN, T0 + 11 * MIN, 10 * MIN)
  t.equal(log.size, 1, 'a is older than keep')
  for (let i = 0; i < 10_050; i++) log.note(ref('shop', `w${i}`), T0 + 11 * MIN, T0 + 11 * MIN, 10 * MIN)
  t.ok(log.size <= 10_001, `bounded (${log.size})`)
})

t.test(
  'settleDelay: wait until the trigger has been firing for settle; nothing when disabled or already past',
  async t => {
    const s = CorrelationSettings.parse({ settle: '1m' })
    t.equal(settleDelay(T0, T0, s), MIN)
    t.equal(settleDelay(T0, T0 + 45_000, s), 15_000)
    t.equal(settleDelay(T0, T0 + 2 * MIN, s), 0, 'a trigger decided late (new leader) does not wait')
    t.equal(settleDelay(T0, T0, CorrelationSettings.parse({ enabled: false })), 0)
    t.same(CorrelationSettings.parse({}), {
      enabled: true,
      threshold: 3,
      window: 300_000,
      scope: 'cluster',
      settle: 60_000,
    })
    t.throws(() => CorrelationSettings.parse({ threshold: 1 }), /too_small|>=2/)
  },
)
