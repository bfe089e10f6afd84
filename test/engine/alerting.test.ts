import t from 'tap'
import {
  activeAlerts,
  ERR_DUPLICATE_LABELSET,
  evaluateAlertingRule,
  newAlertingRuleState,
  RESOLVED_RETENTION_MS,
  ruleState,
} from '../../src/engine/alerting.js'
import { literal, MIN, rule, sample } from '../fixtures/engine.js'
import type { Sample } from '../../src/engine/types.js'

const ctx = (evalTime: number) => ({ evalTime, externalLabels: {}, externalURL: 'http://rg' })

/** run evaluates a rule over a list of (time, samples) steps and returns the states seen after each. */
function run(spec: ReturnType<typeof rule>, steps: Array<[number, Sample[]]>, limit = 0) {
  const state = newAlertingRuleState()
  const seen: string[] = []
  for (const [ts, samples] of steps) {
    const out = evaluateAlertingRule(spec, state, samples, ctx(ts), limit)
    if (!out.ok) throw new Error(out.error)
    state.health = 'ok'
    seen.push([...state.active.values()].map(a => a.state).join(',') || '-')
  }
  return { state, seen }
}

t.test('for: 0 fires on the first evaluation that returns the series', async t => {
  const { state, seen } = run(rule(), [[0, [sample({ job: 'a' })]]])
  t.same(seen, ['firing'])
  const alert = [...state.active.values()][0]
  t.equal(alert?.firedAt, 0)
  t.equal(alert?.activeAt, 0)
})

t.test('for: 5m at 1m interval: pending five times, firing at ActiveAt+5m', async t => {
  const steps: Array<[number, Sample[]]> = []
  for (let i = 0; i <= 6; i++) steps.push([i * MIN, [sample({ job: 'a' })]])
  const { state, seen } = run(rule({ forMs: 5 * MIN }), steps)
  t.same(seen, ['pending', 'pending', 'pending', 'pending', 'pending', 'firing', 'firing'])
  t.equal([...state.active.values()][0]?.firedAt, 5 * MIN)
})

t.test('for shorter than the interval fires at the second evaluation', async t => {
  const { seen } = run(rule({ forMs: 10_000 }), [
    [0, [sample({})]],
    [MIN, [sample({})]],
  ])
  t.same(seen, ['pending', 'firing'])
})

t.test('a pending alert that disappears is deleted, not resolved', async t => {
  const spec = rule({ forMs: 5 * MIN })
  const state = newAlertingRuleState()
  evaluateAlertingRule(spec, state, [sample({ job: 'a' })], ctx(0), 0)
  const out = evaluateAlertingRule(spec, state, [], ctx(MIN), 0)
  t.equal(state.active.size, 0)
  t.ok(out.ok)
  if (out.ok)
    t.same(
      out.transitions.map(x => `${x.from}->${x.to}`),
      ['pending->deleted'],
    )
})

t.test('resolution, retention for 15m and deletion after', async t => {
  const spec = rule()
  const state = newAlertingRuleState()
  evaluateAlertingRule(spec, state, [sample({ job: 'a' })], ctx(0), 0)
  const out = evaluateAlertingRule(spec, state, [], ctx(MIN), 0)
  const alert = [...state.active.values()][0]
  t.equal(alert?.state, 'inactive')
  t.equal(alert?.resolvedAt, MIN)
  if (out.ok)
    t.same(
      out.transitions.map(x => `${x.from}->${x.to}`),
      ['firing->inactive'],
    )
  evaluateAlertingRule(spec, state, [], ctx(MIN + RESOLVED_RETENTION_MS), 0)
  t.equal(state.active.size, 1, 'kept while ts - resolvedAt == 15m')
  evaluateAlertingRule(spec, state, [], ctx(2 * MIN + RESOLVED_RETENTION_MS), 0)
  t.equal(state.active.size, 0, 'deleted once ts - resolvedAt > 15m')
})

t.test('a resolved alert reappearing within retention starts a new pending alert', async t => {
  const spec = rule({ forMs: 2 * MIN })
  const steps: Array<[number, Sample[]]> = [0, 1, 2].map(i => [i * MIN, [sample({ job: 'a' })]])
  steps.push([3 * MIN, []], [4 * MIN, [sample({ job: 'a' })]])
  const { state, seen } = run(spec, steps)
  t.same(seen, ['pending', 'pending', 'firing', 'inactive', 'pending'])
  const alert = [...state.active.values()][0]
  t.equal(alert?.activeAt, 4 * MIN)
  t.equal(alert?.firedAt, 0)
  t.equal(alert?.resolvedAt, 0)
})

t.test('keep_firing_for keeps a firing alert, strictly less than the duration', async t => {
  const spec = rule({ keepFiringForMs: 3 * MIN })
  const present = [sample({ job: 'a' })]
  const steps: Array<[number, Sample[]]> = [
    [0, present],
    [MIN, present],
    [2 * MIN, present],
    [3 * MIN, []],
    [4 * MIN, []],
    [5 * MIN, []],
    [6 * MIN, []],
  ]
  const { seen, state } = run(spec, steps)
  t.same(seen, ['firing', 'firing', 'firing', 'firing', 'firing', 'firing', 'inactive'])
  t.equal([...state.active.values()][0]?.resolvedAt, 6 * MIN)
})

t.test('keep_firing_for resets when the series returns and does not apply to pending alerts', async t => {
  const spec = rule({ keepFiringForMs: 2 * MIN })
  const p = [sample({ job: 'a' })]
  const { seen, state } = run(spec, [
    [0, p],
    [MIN, []],
    [2 * MIN, p],
    [3 * MIN, []],
    [4 * MIN, []],
    [5 * MIN, []],
  ])
  t.same(seen, ['firing', 'firing', 'firing', 'firing', 'firing', 'inactive'])
  t.equal([...state.active.values()][0]?.keepFiringSince, 3 * MIN)
  const pending = run(rule({ forMs: 5 * MIN, keepFiringForMs: 10 * MIN }), [
    [0, p],
    [MIN, []],
  ])
  t.same(pending.seen, ['pending', '-'])
})

t.test('duplicate label sets are an error and change nothing', async t => {
  const spec = rule()
  const state = newAlertingRuleState()
  evaluateAlertingRule(spec, state, [sample({ job: 'a' })], ctx(0), 0)
  const before = JSON.stringify([...state.active.values()])
  const out = evaluateAlertingRule(
    spec,
    state,
    [sample({ __name__: 'x', job: 'b' }), sample({ __name__: 'y', job: 'b' })],
    ctx(MIN),
    0,
  )
  t.same(out, { ok: false, error: ERR_DUPLICATE_LABELSET })
  t.equal(JSON.stringify([...state.active.values()]), before)
})

t.test('limit: exceeding clears every alert and reports Prometheus text', async t => {
  const spec = rule()
  const state = newAlertingRuleState()
  t.ok(evaluateAlertingRule(spec, state, [sample({ i: '1' }), sample({ i: '2' })], ctx(0), 2).ok)
  const out = evaluateAlertingRule(
    spec,
    state,
    [sample({ i: '1' }), sample({ i: '2' }), sample({ i: '3' })],
    ctx(MIN),
    2,
  )
  t.same(out, { ok: false, error: 'exceeded limit of 2 with 3 alerts' })
  t.equal(state.active.size, 0)
})

t.test('scalar result: one alert labelled only by alertname and rule labels', async t => {
  const spec = rule({ labels: { severity: literal('page') } })
  const { state } = run(spec, [[0, [sample({}, 42)]]])
  t.same([...state.active.values()][0]?.labels, { severity: 'page', alertname: 'TestAlert' })
})

t.test('labels: __name__ dropped, rule labels override, empty expansion deletes, alertname wins', async t => {
  const spec = rule({
    name: 'Real',
    labels: {
      severity: literal('page'),
      team: literal('{{ $labels.none }}', () => ''),
      alertname: literal('Fake'),
      value_seen: literal('{{ $value }}', d => String(d.value)),
    },
  })
  const { state } = run(spec, [
    [0, [sample({ __name__: 'http_requests_total', severity: 'info', team: 'x', job: 'api' }, 7)]],
  ])
  t.same([...state.active.values()][0]?.labels, { severity: 'page', job: 'api', alertname: 'Real', value_seen: '7' })
})

t.test('templates see series labels and value; annotations update, labels stay', async t => {
  const spec = rule({
    forMs: MIN,
    annotations: {
      summary: literal('', d => `${d.labels.job} at ${d.value}`),
      empty: literal('', () => ''),
    },
  })
  const state = newAlertingRuleState()
  evaluateAlertingRule(spec, state, [sample({ job: 'a' }, 1)], ctx(0), 0)
  evaluateAlertingRule(spec, state, [sample({ job: 'a' }, 2)], ctx(MIN), 0)
  const alert = [...state.active.values()][0]
  t.same(alert?.annotations, { summary: 'a at 2' })
  t.equal(alert?.value, 2)
  t.equal(alert?.activeAt, 0)
})

t.test('a raised for after reload sends firing alerts back to pending', async t => {
  const state = newAlertingRuleState()
  const p = [sample({ job: 'a' })]
  evaluateAlertingRule(rule(), state, p, ctx(0), 0)
  const out = evaluateAlertingRule(rule({ forMs: 5 * MIN }), state, p, ctx(MIN), 0)
  const alert = [...state.active.values()][0]
  t.equal(alert?.state, 'pending')
  t.equal(alert?.firedAt, 0)
  if (out.ok)
    t.same(
      out.transitions.map(x => `${x.from}->${x.to}`),
      ['firing->pending'],
    )
})

t.test('ruleState and activeAlerts', async t => {
  const state = newAlertingRuleState()
  t.equal(ruleState(state), 'unknown')
  state.health = 'ok'
  t.equal(ruleState(state), 'inactive')
  evaluateAlertingRule(rule({ forMs: MIN }), state, [sample({ a: '1' })], ctx(0), 0)
  t.equal(ruleState(state), 'pending')
  evaluateAlertingRule(rule({ forMs: MIN }), state, [sample({ a: '1' }), sample({ a: '2' })], ctx(MIN), 0)
  t.equal(ruleState(state), 'firing')
  evaluateAlertingRule(rule({ forMs: MIN }), state, [sample({ a: '2' })], ctx(2 * MIN), 0)
  t.equal(activeAlerts(state).length, 1, 'the resolved alert is retained but not active')
  t.equal(state.active.size, 2)
})

t.test('NaN values create alerts like any other value', async t => {
  const { state } = run(rule(), [[0, [sample({ a: '1' }, Number.NaN)]]])
  t.ok(Number.isNaN([...state.active.values()][0]?.value))
})

t.test('checklist 11: real templates: $value like Go %v, missing labels empty, errors as text', async t => {
  const { compileTemplate } = await import('../../src/engine/template/index.js')
  const spec = rule({
    name: 'Tmpl',
    labels: { instance_copy: compileTemplate('__alert_Tmpl', '{{ $labels.instance }}') },
    annotations: {
      value: compileTemplate('__alert_Tmpl', '{{ $value }}'),
      missing: compileTemplate('__alert_Tmpl', '[{{ $labels.nope }}]'),
      external: compileTemplate('__alert_Tmpl', '{{ $externalLabels.cluster }} {{ $externalURL }}'),
      broken: compileTemplate('__alert_Tmpl', '{{ gt $value 1 }}'),
      ratio: compileTemplate('__alert_Tmpl', '{{ $value | humanize }}'),
    },
  })
  const state = newAlertingRuleState()
  const out = evaluateAlertingRule(
    spec,
    state,
    [sample({ instance: 'a:1', job: 'x' }, 1_000_000)],
    { evalTime: 0, externalLabels: { cluster: 'eu1' }, externalURL: 'http://rg:9099' },
    0,
  )
  t.ok(out.ok)
  const alert = [...state.active.values()][0]
  t.equal(alert?.labels.instance_copy, 'a:1')
  t.equal(alert?.annotations.value, '1e+06')
  t.equal(alert?.annotations.missing, '[]')
  t.equal(alert?.annotations.external, 'eu1 http://rg:9099')
  t.equal(alert?.annotations.ratio, '1M')
  t.match(alert?.annotations.broken, /^<error expanding template: .*incompatible types for comparison>$/)
})
