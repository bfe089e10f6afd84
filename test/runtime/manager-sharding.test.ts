import t from 'tap'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { RuleManager, type ManagerSettings } from '../../src/runtime/manager.js'
import { groupKey } from '../../src/engine/spec.js'
import { createEngineMetrics } from '../../src/telemetry/metrics.js'
import { group, rule, sample, scripted } from '../fixtures/engine.js'
import { sleep } from '../fixtures/e2e.js'

function setup(owned: Set<string>) {
  const queried: string[] = []
  const restored: Array<{ group: string; slot: number }> = []
  const settings: ManagerSettings = {
    query: scripted(() => [sample({ job: 'a' })]),
    defaultIntervalMs: 20,
    resendDelayMs: 0,
    maxConcurrentQueries: 4,
    externalLabels: {},
    externalURL: 'http://rg',
  }
  const query: ManagerSettings['query'] = async (expr, at) => {
    queried.push(expr)
    return settings.query(expr, at)
  }
  const manager = new RuleManager(
    {
      logger: pino({ level: 'silent' }),
      metrics: createEngineMetrics(new Registry()),
      sink: () => ({ send: () => undefined }),
      owns: key => owned.has(key),
      restore: async (state, slot) => void restored.push({ group: groupKey(state.spec), slot }),
    },
    settings,
  )
  return { manager, queried, restored, settings: { ...settings, query } }
}

const waitFor = async (check: () => boolean, what: string) => {
  const deadline = Date.now() + 5_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

t.test('only owned groups are evaluated; a group is restored when taken over, not at start', async t => {
  const a = group([rule({ name: 'A', expr: 'up_a', forMs: 60_000 })], { name: 'a', intervalMs: 20 })
  const b = group([rule({ name: 'B', expr: 'up_b', forMs: 60_000 })], { name: 'b', intervalMs: 20 })
  const owned = new Set([groupKey(a)])
  const { manager, queried, restored, settings } = setup(owned)
  t.teardown(() => manager.stop())
  await manager.update([a, b], settings)
  await waitFor(() => queried.filter(q => q === 'up_a').length >= 3, 'a to be evaluated')
  t.notOk(queried.includes('up_b'), 'b is not evaluated')
  t.ok(manager.hasEvaluated(), 'ready')
  t.same(
    restored.map(r => r.group),
    [groupKey(a)],
    'restored once, when first owned',
  )
  const [stateA] = manager.groups()
  t.equal(stateA?.rules[0]?.state.active.size, 1, 'a holds a pending alert')

  // a moves away, b comes here
  owned.clear()
  owned.add(groupKey(b))
  await waitFor(() => queried.includes('up_b'), 'b to be evaluated')
  await waitFor(() => stateA?.rules[0]?.state.active.size === 0, 'a to forget its alert state')
  t.equal(stateA?.rules[0]?.state.health, 'unknown', 'a given away starts as never evaluated')
  const aEvaluations = queried.filter(q => q === 'up_a').length
  await sleep(100)
  t.equal(queried.filter(q => q === 'up_a').length, aEvaluations, 'a is no longer evaluated')
  t.same(
    restored.map(r => r.group),
    [groupKey(a), groupKey(b)],
  )
  t.match(
    manager.rules().find(g => g.spec.name === 'a')?.rules[0]?.state.active.size,
    0,
    'the snapshot shows the forgotten state',
  )

  // a comes back: restored again before its first evaluation here
  owned.add(groupKey(a))
  await waitFor(() => restored.length === 3, 'a to be restored again')
  t.equal(restored[2]?.group, groupKey(a))
})

t.test('a group lost while it was being restored is not evaluated and keeps no restored state', async t => {
  const a = group([rule({ name: 'A', expr: 'up_a', forMs: 60_000 })], { name: 'a', intervalMs: 20 })
  const owned = new Set([groupKey(a)])
  const queried: string[] = []
  const settings: ManagerSettings = {
    query: async (expr, at) => {
      queried.push(expr)
      return scripted(() => [sample({})])(expr, at)
    },
    defaultIntervalMs: 20,
    resendDelayMs: 0,
    maxConcurrentQueries: 4,
    externalLabels: {},
    externalURL: 'http://rg',
  }
  let restores = 0
  const manager = new RuleManager(
    {
      logger: pino({ level: 'silent' }),
      metrics: createEngineMetrics(new Registry()),
      sink: () => ({ send: () => undefined }),
      owns: key => owned.has(key),
      restore: async state => {
        restores++
        state.rules[0]?.state.active.set(1n as never, { state: 'pending' } as never)
        owned.clear()
      },
    },
    settings,
  )
  t.teardown(() => manager.stop())
  await manager.update([a], settings)
  await waitFor(() => restores === 1, 'the restore')
  await sleep(100)
  t.same(queried, [], 'never evaluated')
  t.equal(manager.groups()[0]?.rules[0]?.state.active.size, 0, 'the restored state is dropped')
})
