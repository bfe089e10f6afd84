import t from 'tap'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { RuleManager, type ManagerSettings } from '../../src/runtime/manager.js'
import { groupKey } from '../../src/engine/spec.js'
import { Scheduler } from '../../src/runtime/scheduler.js'
import { createEngineMetrics } from '../../src/telemetry/metrics.js'
import type { OutgoingAlert } from '../../src/engine/types.js'
import { group, literal, rule, sample, scripted } from '../fixtures/engine.js'
import { sleep } from '../fixtures/e2e.js'

function setup(query = scripted(() => [sample({ job: 'a' })])) {
  const sent: OutgoingAlert[][] = []
  const settings: ManagerSettings = {
    query,
    defaultIntervalMs: 50,
    resendDelayMs: 0,
    maxConcurrentQueries: 4,
    externalLabels: {},
    externalURL: 'http://rg',
  }
  const manager = new RuleManager(
    {
      logger: pino({ level: 'silent' }),
      metrics: createEngineMetrics(new Registry()),
      sink: () => ({ send: a => void sent.push([...a]) }),
    },
    settings,
  )
  return { manager, sent, settings }
}

t.test('groups evaluate on their own schedule and send alerts to the sink', async t => {
  const { manager, sent, settings } = setup()
  t.teardown(() => manager.stop())
  t.ok(manager.hasEvaluated(), 'no groups: nothing to wait for')
  await manager.update([group([rule()], { intervalMs: 0 })], settings)
  t.notOk(manager.hasEvaluated())
  await sleep(200)
  t.ok(manager.hasEvaluated())
  t.ok(sent.length >= 1)
  t.equal(manager.groups()[0]?.intervalMs, 50, 'default interval applied')
})

t.test('reload: unchanged groups keep running untouched, changed ones keep alert state, removed ones stop', async t => {
  const { manager, settings } = setup()
  t.teardown(() => manager.stop())
  const a = group([rule({ name: 'A', forMs: 60_000 })], { name: 'a', intervalMs: 20 })
  const b = group([rule({ name: 'B', forMs: 60_000 })], { name: 'b', intervalMs: 20 })
  const c = group([rule({ name: 'C' })], { name: 'c', intervalMs: 20 })
  await manager.update([a, b, c], settings)
  await sleep(120)
  const [stateA, stateB] = manager.groups()
  const activeAtB = [...(stateB?.rules[0]?.state.active.values() ?? [])][0]?.activeAt
  t.ok(activeAtB !== undefined && activeAtB > 0, 'B pending')

  const b2 = group([rule({ name: 'B', forMs: 60_000, annotations: { summary: literal('changed') } })], {
    name: 'b',
    intervalMs: 20,
  })
  await manager.update([a, b2], settings)
  const groups = manager.groups()
  t.same(groups.map(g => g.spec.name).sort(), ['a', 'b'], 'c removed, a and b kept')
  t.equal(
    groups.find(g => g.spec.name === 'a'),
    stateA,
    'a is the very same object',
  )
  const newB = groups.find(g => g.spec.name === 'b')
  t.not(newB, stateB, 'b was rebuilt')
  t.equal([...(newB?.rules[0]?.state.active.values() ?? [])][0]?.activeAt, activeAtB, 'pending since the same time')
  await sleep(80)
  t.equal(newB?.rules[0]?.spec.annotations.summary?.source, 'changed')
  t.ok((newB?.lastEvaluation ?? 0) > 0, 'rebuilt group evaluates')
})

t.test('a changed setting (e.g. external URL) rebuilds every group', async t => {
  const { manager, settings } = setup()
  t.teardown(() => manager.stop())
  const a = group([rule()], { name: 'a', intervalMs: 20 })
  await manager.update([a], settings)
  const before = manager.groups()[0]
  await manager.update([a], { ...settings, externalURL: 'http://other' })
  t.not(manager.groups()[0], before)
  t.equal(manager.groups()[0]?.externalURL, 'http://other')
  t.equal(groupKey(a), 'test.yml;a')
})

t.test('a failing sink never stops the loop', async t => {
  let calls = 0
  const manager = new RuleManager(
    {
      logger: pino({ level: 'silent' }),
      metrics: createEngineMetrics(new Registry()),
      sink: () => ({
        send: () => {
          calls++
          throw new Error('boom')
        },
      }),
    },
    {
      query: scripted(() => [sample({})]),
      defaultIntervalMs: 20,
      resendDelayMs: 0,
      maxConcurrentQueries: 1,
      externalLabels: {},
      externalURL: 'http://rg',
    },
  )
  t.teardown(() => manager.stop())
  await manager.update([group([rule()], { intervalMs: 20 })], {
    query: scripted(() => [sample({})]),
    defaultIntervalMs: 20,
    resendDelayMs: 0,
    maxConcurrentQueries: 1,
    externalLabels: {},
    externalURL: 'http://rg',
  })
  await sleep(150)
  t.ok(calls >= 2, 'kept iterating after the sink threw')
})

t.test('scheduler: aligned slots, no overlap, missed slots counted', async t => {
  let now = 1_000_000
  const seen: Array<[number, number]> = []
  let release: () => void = () => {}
  const scheduler = new Scheduler(
    { file: 'f', name: 'g' },
    10,
    async (slot, missed) => {
      seen.push([slot, missed])
      if (seen.length === 1) {
        now += 35 // the first iteration "runs" for 35ms of slot time
        await new Promise<void>(r => {
          release = r
          setTimeout(r, 5)
        })
      }
    },
    () => now,
  )
  scheduler.start()
  const deadline = Date.now() + 2_000
  while (seen.length < 2 && Date.now() < deadline) {
    await sleep(5)
    now += 1
  }
  release()
  await scheduler.stop()
  t.ok(seen.length >= 2)
  const [first, second] = seen
  t.equal((first?.[0] ?? 0) % 10, (second?.[0] ?? 0) % 10, 'same phase')
  t.ok((second?.[1] ?? 0) >= 2, 'slots skipped while the first iteration ran are counted')
  t.equal(
    ((second?.[0] ?? 0) - (first?.[0] ?? 0)) / 10,
    (second?.[1] ?? 0) + 1,
    'next slot = last + (missed+1)·interval',
  )
})

t.test('metrics: evaluations and failures counted per iteration, alert gauges follow state changes', async t => {
  const registry = new Registry()
  let firing = true
  let fail = false
  const query = async (expr: string) => {
    if (fail && expr === 'b') throw new Error('boom')
    return { samples: firing && expr === 'a' ? [sample({ job: 'x' })] : [], warnings: [] }
  }
  const settings: ManagerSettings = {
    query,
    defaultIntervalMs: 20,
    resendDelayMs: 0,
    maxConcurrentQueries: 2,
    externalLabels: {},
    externalURL: 'http://rg',
  }
  const manager = new RuleManager(
    { logger: pino({ level: 'silent' }), metrics: createEngineMetrics(registry), sink: () => ({ send: () => {} }) },
    settings,
  )
  t.teardown(() => manager.stop())
  await manager.update(
    [group([rule({ name: 'A', expr: 'a' }), rule({ name: 'B', expr: 'b' })], { name: 'g', intervalMs: 20 })],
    settings,
  )
  const value = async (name: string, labels: Record<string, string>): Promise<number | undefined> => {
    const m = (await registry.getSingleMetric(name)?.get())?.values ?? []
    return m.find(v => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value
  }
  await sleep(120)
  t.equal(await value('rollguard_alerts', { alertname: 'A', state: 'firing' }), 1)
  t.equal(await value('rollguard_alerts', { alertname: 'A', state: 'pending' }), 0)
  t.equal(
    await value('rollguard_alerts', { alertname: 'B', state: 'firing' }),
    0,
    'rules without alerts have zero series',
  )
  firing = false
  fail = true
  await sleep(120)
  t.equal(await value('rollguard_alerts', { alertname: 'A', state: 'firing' }), 0)
  t.equal(await value('rollguard_alerts', { alertname: 'A', state: 'inactive' }), 1, 'resolved and retained')
  await manager.stop()
  const evaluations = (await value('rollguard_rule_evaluations_total', {})) ?? 0
  const iterations = (await value('rollguard_rule_group_iterations_total', {})) ?? 0
  const missed = (await value('rollguard_rule_group_iterations_missed_total', {})) ?? 0
  t.equal(evaluations, 2 * (iterations - missed), 'two rule evaluations per iteration that ran')
  const failures = (await value('rollguard_rule_evaluation_failures_total', {})) ?? 0
  t.ok(failures >= 1 && failures < evaluations / 2 + 1, 'only B failed')
})

t.test('metrics: a reload drops the series of removed groups and of rules a changed group no longer has', async t => {
  const registry = new Registry()
  const removed: string[] = []
  const settings: ManagerSettings = {
    query: scripted(() => [sample({ job: 'x' })]),
    defaultIntervalMs: 20,
    resendDelayMs: 0,
    maxConcurrentQueries: 2,
    externalLabels: {},
    externalURL: 'http://rg',
  }
  const manager = new RuleManager(
    {
      logger: pino({ level: 'silent' }),
      metrics: createEngineMetrics(registry),
      sink: () => ({ send: () => {} }),
      onRemoved: g => void removed.push(g.spec.name),
    },
    settings,
  )
  t.teardown(() => manager.stop())
  const groupsIn = async (): Promise<string[]> => {
    const text = await registry.metrics()
    return [...new Set([...text.matchAll(/rule_group="([^"]+)"/g)].map(m => m[1] as string))].sort()
  }
  const alertnames = async (group: string): Promise<string[]> => {
    const values = (await registry.getSingleMetric('rollguard_alerts')?.get())?.values ?? []
    return [
      ...new Set(values.filter(v => v.labels['rule_group'] === group).map(v => String(v.labels['alertname']))),
    ].sort()
  }
  const keep = group([rule({ name: 'A' }), rule({ name: 'B', expr: 'b' })], { name: 'keep', intervalMs: 20 })
  const gone = group([rule({ name: 'C' })], { name: 'gone', intervalMs: 20 })
  await manager.update([keep, gone], settings)
  await sleep(100)
  t.same(await groupsIn(), [groupKey(gone), groupKey(keep)])
  t.same(await alertnames(groupKey(keep)), ['A', 'B'])

  const changed = group([rule({ name: 'A' })], { name: 'keep', intervalMs: 20 })
  await manager.update([changed], settings)
  await sleep(100)
  t.same(await groupsIn(), [groupKey(keep)], 'every series of the removed group is gone')
  t.same(await alertnames(groupKey(keep)), ['A'], 'the rule the changed group lost has no alert gauges left')
  t.same(removed, ['gone'], 'onRemoved sees only the removed group')
})
