import t from 'tap'
import { evaluateGroup, mapBounded, newGroupState, type GroupOptions } from '../../src/engine/group.js'
import { generatorURLFor, needsSending, queryEscape } from '../../src/engine/outbox.js'
import type { QueryFn } from '../../src/engine/ports.js'
import type { OutgoingAlert } from '../../src/engine/types.js'
import { group, MIN, rule, sample, scripted, SEC } from '../fixtures/engine.js'

function options(query: QueryFn, over: Partial<GroupOptions> = {}): GroupOptions {
  let tick = 0
  return {
    query,
    clock: () => (tick += 5),
    externalLabels: {},
    externalURL: 'http://rollguard:9099',
    resendDelayMs: MIN,
    maxConcurrentQueries: 4,
    ...over,
  }
}

/** simulate evaluates the group at each slot and records, per slot, the alerts sent. */
async function simulate(
  spec: ReturnType<typeof group>,
  slots: number[],
  query: QueryFn,
  over: Partial<GroupOptions> = {},
) {
  const state = newGroupState(spec, spec.intervalMs, 'http://rollguard:9099')
  const sent: Array<{ at: number; alerts: OutgoingAlert[] }> = []
  for (const ts of slots) {
    const out = await evaluateGroup(state, ts, options(query, over))
    if (out.toSend.length > 0) sent.push({ at: ts, alerts: out.toSend })
  }
  return { state, sent }
}

/** T0 is a realistic epoch (2026-01-01T00:00:00Z): 0 means "never" in alert times. */
const T0 = 1_767_225_600_000
const minutes = (n: number) => Array.from({ length: n }, (_, i) => T0 + i * MIN)

t.test('worked timeline: for 5m, resend 1m at 1m interval, resolved retention', async t => {
  // condition true T0..T9, false from T10 (rule-semantics §1.8)
  const query = scripted((_e, at) => (at < T0 + 10 * MIN ? [sample({ job: 'a' })] : []))
  const { sent } = await simulate(group([rule({ forMs: 5 * MIN })]), minutes(30), query)
  const at = (n: number) => T0 + n * MIN
  t.same(
    sent.map(s => (s.at - T0) / MIN),
    [5, 7, 9, 10, 12, 14, 16, 18, 20, 22, 24],
  )
  t.same(
    sent.map(s => [s.alerts[0]?.startsAt, s.alerts[0]?.endsAt]),
    [[at(5), at(9)], [at(5), at(11)], [at(5), at(13)], ...[10, 12, 14, 16, 18, 20, 22, 24].map(() => [at(5), at(10)])],
  )
})

t.test('for: 0 fires and is sent at once with endsAt = ts + 4·max(interval, resendDelay)', async t => {
  const { sent } = await simulate(
    group([rule()]),
    [0],
    scripted(() => [sample({ job: 'a' })]),
  )
  t.equal(sent.length, 1)
  t.same(sent[0]?.alerts[0], {
    labels: { job: 'a', alertname: 'TestAlert' },
    annotations: {},
    startsAt: 0,
    endsAt: 4 * MIN,
    generatorURL: 'http://rollguard:9099/graph?g0.expr=up+%3D%3D+0&g0.tab=1',
  })
})

t.test('resend cadence uses a strict <: 30s interval with 1m delay resends every 90s', async t => {
  const slots = Array.from({ length: 8 }, (_, i) => T0 + i * 30 * SEC)
  const { sent } = await simulate(
    group([rule()], { intervalMs: 30 * SEC }),
    slots,
    scripted(() => [sample({})]),
  )
  t.same(
    sent.map(s => (s.at - T0) / SEC),
    [0, 90, 180],
  )
  t.equal(sent[0]?.alerts[0]?.endsAt, T0 + 4 * MIN, 'max(30s, 1m) · 4')
})

t.test('a query error keeps state, sends nothing and sets health err; recovery sets ok', async t => {
  let fail = false
  const query: QueryFn = async () => {
    if (fail) throw new Error('query failed: timeout: query timed out')
    return { samples: [sample({ job: 'a' })], warnings: ['w1'] }
  }
  const state = newGroupState(group([rule({ forMs: 2 * MIN })]), MIN, 'http://x')
  await evaluateGroup(state, 0, options(query))
  const rt = state.rules[0]!
  t.equal(rt.state.health, 'ok')
  t.same(rt.warnings, ['w1'])
  fail = true
  const failed = await evaluateGroup(state, MIN, options(query))
  t.equal(rt.state.health, 'err')
  t.equal(rt.state.lastError, 'query failed: timeout: query timed out')
  t.same(failed.toSend, [])
  t.same(failed.transitions, [])
  t.equal([...rt.state.active.values()][0]?.activeAt, 0, 'pending alert untouched')
  t.equal(failed.outcomes[0]?.error, 'query failed: timeout: query timed out')
  fail = false
  const recovered = await evaluateGroup(state, 2 * MIN, options(query))
  t.equal(rt.state.health, 'ok')
  t.equal(rt.state.lastError, '')
  t.equal(recovered.toSend.length, 1, 'fires at ActiveAt + for')
})

t.test('non-Error throws are reported as text', async t => {
  const state = newGroupState(group([rule()]), MIN, 'http://x')
  await evaluateGroup(
    state,
    0,
    options(async () => {
      throw 'boom'
    }),
  )
  t.equal(state.rules[0]?.state.lastError, 'boom')
})

t.test('rule errors (duplicates, limit) set health err without sending', async t => {
  const spec = group([rule()], { limit: 1 })
  const state = newGroupState(spec, MIN, 'http://x')
  const out = await evaluateGroup(state, 0, options(scripted(() => [sample({ a: '1' }), sample({ a: '2' })])))
  t.equal(state.rules[0]?.state.health, 'err')
  t.equal(state.rules[0]?.state.lastError, 'exceeded limit of 1 with 2 alerts')
  t.same(out.toSend, [])
  t.equal(out.outcomes[0]?.samples, 2)
})

t.test('query offset: the query runs at ts - offset, alert times use ts', async t => {
  const asked: number[] = []
  const query = scripted((_e, at) => {
    asked.push(at)
    return [sample({})]
  })
  const { state } = await simulate(group([rule()], { queryOffsetMs: 30 * SEC }), [MIN], query)
  t.same(asked, [30 * SEC])
  t.equal([...state.rules[0]!.state.active.values()][0]?.activeAt, MIN)
  t.equal(state.lastEvaluation, MIN)
  t.equal(state.evaluationDurationMs > 0, true)
})

t.test('rules are queried concurrently but applied in file order', async t => {
  const order: string[] = []
  const query: QueryFn = async expr => {
    await new Promise(r => setTimeout(r, expr === 'a' ? 20 : 1))
    order.push(expr)
    return { samples: [sample({})], warnings: [] }
  }
  const spec = group([rule({ name: 'A', expr: 'a' }), rule({ name: 'B', expr: 'b' })])
  const state = newGroupState(spec, MIN, 'http://x')
  const out = await evaluateGroup(state, 0, options(query))
  t.same(order, ['b', 'a'], 'b finished first')
  t.same(
    out.transitions.map(x => x.rule),
    ['A', 'A', 'B', 'B'],
    'new→pending→firing per rule, in file order',
  )
})

t.test('mapBounded never exceeds its limit and keeps order', async t => {
  let inFlight = 0
  let peak = 0
  const out = await mapBounded([1, 2, 3, 4, 5, 6, 7], 3, async n => {
    inFlight++
    peak = Math.max(peak, inFlight)
    await new Promise(r => setTimeout(r, 7 - n))
    inFlight--
    return n * 2
  })
  t.same(out, [2, 4, 6, 8, 10, 12, 14])
  t.equal(peak, 3)
  t.same(await mapBounded([], 3, async (n: number) => n), [])
})

t.test('alertSource: each alert sent gets the generatorURL built from its rule, group and labels', async t => {
  const seen: string[] = []
  const { sent } = await simulate(
    group([rule({ name: 'Down', expr: 'up == 0' })], { name: 'svc' }),
    [0],
    scripted(() => [sample({ job: 'a' }), sample({ job: 'b' })]),
    {
      alertSource: (r, g, labels) => {
        seen.push(`${g.name}/${r.name}`)
        return `http://prom/graph?g0.expr=${queryEscape(r.expr)}&job=${labels['job']}`
      },
    },
  )
  t.same(
    sent[0]?.alerts.map(a => a.generatorURL),
    ['http://prom/graph?g0.expr=up+%3D%3D+0&job=a', 'http://prom/graph?g0.expr=up+%3D%3D+0&job=b'],
  )
  t.same(seen, ['svc/Down', 'svc/Down'])
  const without = await simulate(
    group([rule()]),
    [0],
    scripted(() => [sample({ job: 'a' })]),
  )
  t.equal(
    without.sent[0]?.alerts[0]?.generatorURL,
    'http://rollguard:9099/graph?g0.expr=up+%3D%3D+0&g0.tab=1',
    "without it: the rule's own link",
  )
})

t.test('needsSending and generator URLs', async t => {
  const base = {
    fingerprint: '',
    labels: {},
    annotations: {},
    value: 1,
    activeAt: 0,
    firedAt: 0,
    keepFiringSince: 0,
    validUntil: 0,
  }
  t.notOk(needsSending({ ...base, state: 'pending', resolvedAt: 0, lastSentAt: 0 }, MIN, MIN))
  t.ok(needsSending({ ...base, state: 'inactive', resolvedAt: 2, lastSentAt: 1 }, 3, MIN))
  t.notOk(needsSending({ ...base, state: 'firing', resolvedAt: 0, lastSentAt: MIN }, 2 * MIN, MIN))
  t.ok(needsSending({ ...base, state: 'firing', resolvedAt: 0, lastSentAt: MIN }, 2 * MIN + 1, MIN))
  t.equal(
    generatorURLFor('http://h:1/prefix/', 'a{b="c d"} > 0.1'),
    'http://h:1/prefix/graph?g0.expr=a%7Bb%3D%22c+d%22%7D+%3E+0.1&g0.tab=1',
  )
  t.equal(queryEscape("!'()*~"), '%21%27%28%29%2A~', "as Go's url.QueryEscape")
})
