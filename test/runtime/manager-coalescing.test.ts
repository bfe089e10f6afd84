import t, { type Test } from 'tap'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { RuleManager, type ManagerSettings } from '../../src/runtime/manager.js'
import { createEngineMetrics } from '../../src/telemetry/metrics.js'
import type { QueryFn } from '../../src/engine/ports.js'
import { group, rule, sample } from '../fixtures/engine.js'
import { eventually } from '../fixtures/e2e.js'

const RULES = [rule({ name: 'A', expr: 'x{deployment="a"} > 1' }), rule({ name: 'B', expr: 'x{deployment="b"} > 1' })]

async function run(t: Test, queryCoalescing: boolean | undefined) {
  const asked: string[] = []
  const query: QueryFn = async expr => {
    asked.push(expr)
    return { samples: [sample({ deployment: 'a' }, 2), sample({ deployment: 'b' }, 3)], warnings: [] }
  }
  const settings: ManagerSettings = {
    query,
    defaultIntervalMs: 50,
    resendDelayMs: 0,
    maxConcurrentQueries: 4,
    externalLabels: {},
    externalURL: 'http://rg',
    ...(queryCoalescing === undefined ? {} : { queryCoalescing }),
  }
  const registry = new Registry()
  const manager = new RuleManager(
    { logger: pino({ level: 'silent' }), metrics: createEngineMetrics(registry), sink: () => ({ send: () => {} }) },
    settings,
  )
  t.teardown(() => manager.stop())
  await manager.update([group(RULES, { intervalMs: 0 })], settings)
  const rules = await eventually('an iteration', async () => {
    const rs = manager.groups()[0]?.rules ?? []
    if (rs.some(r => r.state.health === 'unknown')) throw new Error('not evaluated yet')
    return rs
  })
  const gauge = (await registry.getSingleMetric('rollguard_coalesced_rules')?.get())?.values[0]?.value
  return { asked, rules, gauge }
}

t.test('by default one query answers both rules, each alerting on its own series', async t => {
  const { asked, rules, gauge } = await run(t, undefined)
  t.equal(asked[0], 'x{deployment=~"a|b"} > 1')
  t.same(
    rules.map(r => [...r.state.active.values()].map(a => [a.labels.deployment, a.value])),
    [[['a', 2]], [['b', 3]]],
  )
  t.equal(gauge, 2)
})

t.test('queryCoalescing false: each rule asks its own query', async t => {
  const { asked, gauge } = await run(t, false)
  t.same(asked.slice(0, 2).sort(), RULES.map(r => r.expr).sort())
  t.equal(gauge, 0)
})
