import t from 'tap'
import { evaluateGroup, newGroupState } from '../../src/engine/group.js'
import { group, MIN, rule, sample, scripted } from '../fixtures/engine.js'

t.test(
  'an alert is handed over with the same labels object at every resend: the notifier keys deliveries on it',
  async t => {
    const spec = group([rule()])
    const state = newGroupState(spec, spec.intervalMs, 'http://rollguard:9099')
    let tick = 0
    const options = {
      query: scripted(() => [sample({ job: 'a' }), sample({ job: 'b' })]),
      clock: () => (tick += 5),
      externalLabels: {},
      externalURL: 'http://rollguard:9099',
      resendDelayMs: 0,
      maxConcurrentQueries: 1,
    }
    const first = await evaluateGroup(state, 1_767_225_600_000, options)
    const second = await evaluateGroup(state, 1_767_225_600_000 + MIN, options)
    t.equal(first.toSend.length, 2)
    t.equal(second.toSend.length, 2)
    second.toSend.forEach((alert, i) => {
      t.not(alert, first.toSend[i], 'a new object per hand-over')
      t.equal(alert.labels, first.toSend[i]?.labels, `alert ${alert.labels['job']}: the same labels object`)
    })
  },
)

t.test('a rule with 150,000 alerts is evaluated and every alert handed over (no argument-spread limit)', async t => {
  const spec = group([rule()])
  const state = newGroupState(spec, spec.intervalMs, 'http://rollguard:9099')
  const samples = Array.from({ length: 150_000 }, (_, i) => sample({ instance: `i${i}` }))
  const out = await evaluateGroup(state, 1_767_225_600_000, {
    query: scripted(() => samples),
    clock: () => 0,
    externalLabels: {},
    externalURL: 'http://rollguard:9099',
    resendDelayMs: 0,
    maxConcurrentQueries: 1,
  })
  t.equal(out.outcomes[0]?.error, '')
  t.equal(out.transitions.length, 300_000, 'each alert went pending and firing')
  t.equal(out.toSend.length, 150_000)
})
