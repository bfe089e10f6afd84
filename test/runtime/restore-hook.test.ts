import t from 'tap'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { newGroupState } from '../../src/engine/group.js'
import { restoreHook, type RestoreSettings } from '../../src/runtime/restore-hook.js'
import { createRestoreMetrics } from '../../src/telemetry/restore-metrics.js'
import { group, rule, SEC } from '../fixtures/engine.js'

const INTERVAL = 10 * SEC

/** groups that each hold one rule with a `for`, so that each one's restore asks a range query. */
function groups(n: number) {
  return Array.from({ length: n }, (_, i) =>
    newGroupState(
      group([rule({ name: 'Slow', forMs: 60 * SEC })], { name: `g${i}`, intervalMs: INTERVAL }),
      INTERVAL,
      'x',
    ),
  )
}

function settings(
  rangeQuery: RestoreSettings['rangeQuery'],
  over: Partial<RestoreSettings> = {},
): () => RestoreSettings {
  return () => ({
    rangeQuery,
    timeoutMs: 60_000,
    externalLabels: {},
    externalURL: 'x',
    maxConcurrentQueries: 16,
    windowMs: 3600_000,
    groupsAtOnce: 16,
    ...over,
  })
}

async function restoreCounts(registry: Registry): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric('rollguard_rule_group_restores_total')?.get()
  const out: Record<string, number> = {}
  for (const v of metric?.values ?? []) {
    const result = String(v.labels['result'])
    out[result] = (out[result] ?? 0) + v.value
  }
  return out
}

t.test('groups restore a bounded number at a time; the others wait their turn and are restored too', async t => {
  const registry = new Registry()
  let running = 0
  let most = 0
  let asked = 0
  let groupsAtOnce = 3
  const slowQuery: RestoreSettings['rangeQuery'] = async () => {
    running++
    most = Math.max(most, running)
    asked++
    await new Promise(resolve => setTimeout(resolve, 5))
    running--
    return { series: [], warnings: [] }
  }
  const hook = restoreHook({
    logger: pino({ level: 'silent' }),
    metrics: createRestoreMetrics(registry),
    settings: () => settings(slowQuery, { groupsAtOnce })(),
    onFiring: () => undefined,
  })
  const firstLive = 1_000 * INTERVAL
  await Promise.all(groups(10).map(g => hook(g, firstLive)))
  t.equal(most, 3, 'never more than three groups asking at once (one query each)')
  t.equal(asked, 10, 'every group asked its range query')
  t.same(await restoreCounts(registry), { restored: 10 })

  // A reload that changes rules.max_concurrent_restores applies to the restores after it.
  groupsAtOnce = 5
  most = 0
  await Promise.all(groups(10).map(g => hook(g, firstLive)))
  t.equal(most, 5, 'five at once after the change')
})

t.test('a group whose deadline passes while it waits starts fresh without asking the datasource', async t => {
  const registry = new Registry()
  const logged: string[] = []
  const logger = pino({ level: 'warn' }, { write: (line: string) => void logged.push(line) })
  const asked: string[] = []
  // The first group's query outlasts the second one's deadline (2 intervals of 10 ms; prometheus.timeout 1 ms).
  const hook = restoreHook({
    logger,
    metrics: createRestoreMetrics(registry),
    settings: settings(
      async (expr, _range, signal) => {
        asked.push(expr)
        await new Promise(resolve => setTimeout(resolve, 100))
        signal.throwIfAborted()
        return { series: [], warnings: [] }
      },
      { timeoutMs: 1, groupsAtOnce: 1 },
    ),
    onFiring: () => undefined,
  })
  const fast = (name: string) => newGroupState(group([rule({ forMs: 30 })], { name, intervalMs: 10 }), 10, 'x')
  const [first, second] = [fast('first'), fast('second')]
  await Promise.all([hook(first, 1_000_000), hook(second, 1_000_000)])
  t.equal(asked.length, 1, 'only the first group reached the datasource')
  t.same(await restoreCounts(registry), { failed: 2 })
  const lines = logged.map(l => JSON.parse(l) as { group: string; error: string })
  t.match(
    lines.find(l => l.group.endsWith(';second')),
    { error: /did not start in time/ },
    'the queued group says it never started',
  )
})
