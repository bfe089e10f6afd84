import t from 'tap'
import type { Alert } from '../../src/engine/types.js'
import {
  allActiveAlerts,
  formatTime,
  GO_ZERO_TIME,
  seconds,
  sortGroups,
  templateSources,
  toApiAlert,
  toApiGroup,
  toApiRule,
} from '../../src/server/prom-json.js'
import { newGroupState, type GroupState } from '../../src/engine/group.js'
import { group, literal, MIN, rule, sample, SEC } from '../fixtures/engine.js'
import { evaluated, T0 } from './fixtures/server.js'

function alert(over: Partial<Alert> = {}): Alert {
  return {
    fingerprint: 'fp',
    labels: { job: 'a', alertname: 'A' },
    annotations: { summary: 's', description: 'd' },
    state: 'firing',
    value: 1,
    activeAt: T0,
    firedAt: T0,
    resolvedAt: 0,
    lastSentAt: 0,
    validUntil: 0,
    keepFiringSince: 0,
    ...over,
  }
}

t.test('formatTime emulates Go RFC3339Nano in UTC and the zero time', async t => {
  t.equal(formatTime(0), '0001-01-01T00:00:00Z')
  t.equal(GO_ZERO_TIME, '0001-01-01T00:00:00Z')
  t.equal(formatTime(T0), '2026-01-01T00:00:00Z')
  t.equal(formatTime(T0 + 5 * MIN + 123), '2026-01-01T00:05:00.123Z')
  t.equal(formatTime(T0 + 120), '2026-01-01T00:00:00.12Z')
  t.equal(formatTime(T0 + 100), '2026-01-01T00:00:00.1Z')
  t.equal(formatTime(T0 + 10 * SEC + 1), '2026-01-01T00:00:10.001Z')
  t.equal(formatTime(T0 + 10 * SEC), '2026-01-01T00:00:10Z')
})

t.test('seconds converts ms to float seconds', async t => {
  t.equal(seconds(MIN), 60)
  t.equal(seconds(1500), 1.5)
  t.equal(seconds(5), 0.005)
})

t.test('toApiAlert: Prometheus field order, sorted labels, Go float value, keepFiringSince only when set', async t => {
  t.equal(
    JSON.stringify(toApiAlert(alert())),
    '{"labels":{"alertname":"A","job":"a"},"annotations":{"description":"d","summary":"s"},' +
      '"state":"firing","activeAt":"2026-01-01T00:00:00Z","value":"1e+00"}',
  )
  const kept = toApiAlert(alert({ keepFiringSince: T0 + 90 * SEC, value: 15, state: 'firing' }))
  t.same(Object.keys(kept), ['labels', 'annotations', 'state', 'activeAt', 'keepFiringSince', 'value'])
  t.equal(kept.keepFiringSince, '2026-01-01T00:01:30Z')
  t.equal(kept.value, '1.5e+01')
  t.equal(toApiAlert(alert({ state: 'pending', value: 0.25 })).value, '2.5e-01')
})

t.test('templateSources gives raw template sources, sorted by name', async t => {
  const out = templateSources({ team: literal('{{ $labels.team }}', () => 'x'), severity: literal('page') })
  t.same(Object.entries(out), [
    ['severity', 'page'],
    ['team', '{{ $labels.team }}'],
  ])
})

t.test('toApiRule before any evaluation: unknown state and health, zero times, no lastError', async t => {
  const spec = group([rule({ name: 'Down', expr: ' up == 0\n', forMs: 5 * MIN, keepFiringForMs: 90 * SEC })])
  const state = newGroupState(spec, MIN, 'http://rollguard:9099')
  t.equal(
    JSON.stringify(toApiRule(state.rules[0]!)),
    '{"state":"unknown","name":"Down","query":"up == 0","duration":300,"keepFiringFor":90,"labels":{},' +
      '"annotations":{},"alerts":[],"health":"unknown","evaluationTime":0,' +
      '"lastEvaluation":"0001-01-01T00:00:00Z","type":"alerting"}',
  )
})

t.test('toApiRule after evaluations: state, alerts, templates as sources, timing', async t => {
  const spec = group([
    rule({
      name: 'HighErrors',
      expr: 'errors > 1',
      forMs: 2 * MIN,
      labels: { severity: literal('page'), team: literal('{{ $labels.job }}', d => d.labels.job ?? '') },
      annotations: { summary: literal('{{ $labels.job }} fails', d => `${d.labels.job} fails`) },
    }),
  ])
  const state = await evaluated(spec, [T0, T0 + MIN], () => [sample({ __name__: 'errors', job: 'api' }, 3)])
  const api = toApiRule(state.rules[0]!)
  t.same(api, {
    state: 'pending',
    name: 'HighErrors',
    query: 'errors > 1',
    duration: 120,
    keepFiringFor: 0,
    labels: { severity: 'page', team: '{{ $labels.job }}' },
    annotations: { summary: '{{ $labels.job }} fails' },
    alerts: [
      {
        labels: { alertname: 'HighErrors', job: 'api', severity: 'page', team: 'api' },
        annotations: { summary: 'api fails' },
        state: 'pending',
        activeAt: '2026-01-01T00:00:00Z',
        value: '3e+00',
      },
    ],
    health: 'ok',
    evaluationTime: 0.005,
    lastEvaluation: '2026-01-01T00:01:00Z',
    type: 'alerting',
  })
  t.equal(toApiRule(state.rules[0]!, true).alerts, null, 'exclude_alerts gives null like Go')
})

t.test('toApiRule shows lastError and health err after a failed query', async t => {
  const spec = group([rule({ name: 'Broken' })])
  const state = await evaluated(spec, [T0], () => {
    throw new Error('bad_data: parse error')
  })
  const api = toApiRule(state.rules[0]!)
  t.equal(api.health, 'err')
  t.equal(api.lastError, 'bad_data: parse error')
  t.same(Object.keys(api).slice(8, 11), ['health', 'lastError', 'evaluationTime'])
})

t.test('toApiGroup: interval and evaluation time in seconds, limit, lastEvaluation', async t => {
  const spec = group([rule()], { name: 'g1', file: 'a.yml', intervalMs: 30 * SEC, limit: 10 })
  const state = await evaluated(spec, [T0], () => [])
  t.equal(
    JSON.stringify(toApiGroup(state, [])),
    '{"name":"g1","file":"a.yml","rules":[],"interval":30,"limit":10,"evaluationTime":0.015,' +
      '"lastEvaluation":"2026-01-01T00:00:00Z"}',
  )
})

t.test('sortGroups orders by file, then name; allActiveAlerts skips resolved alerts', async t => {
  const mk = (file: string, name: string) => newGroupState(group([rule()], { file, name }), MIN, '')
  const keys = (gs: GroupState[]) => gs.map(g => `${g.spec.file}/${g.spec.name}`)
  const want = ['a.yml/b', 'a.yml/z', 'b.yml/a']
  t.same(keys(sortGroups([mk('b.yml', 'a'), mk('a.yml', 'z'), mk('a.yml', 'b')])), want)
  t.same(keys(sortGroups([mk('a.yml', 'b'), mk('a.yml', 'z'), mk('b.yml', 'a')])), want)
  const [x, y] = [mk('a.yml', 'same'), mk('a.yml', 'same')]
  const stable = sortGroups([x, y])
  t.ok(stable[0] === x && stable[1] === y, 'equal keys keep their order')

  const query = (_e: string, at: number) => (at === T0 ? [sample({ job: 'gone' })] : [sample({ job: 'stays' })])
  const a = await evaluated(group([rule({ name: 'A' })], { file: 'b.yml' }), [T0, T0 + MIN], query)
  const b = await evaluated(group([rule({ name: 'B' })], { file: 'a.yml' }), [T0], query)
  t.equal([...a.rules[0]!.state.active.values()].length, 2, 'the resolved alert is still retained')
  t.same(
    allActiveAlerts([a, b]).map(x => `${x.labels.alertname}:${x.labels.job}:${x.state}`),
    ['B:gone:firing', 'A:stays:firing'],
  )
})
