// The rule manager's read-only snapshots: copies of the live state made once per evaluation (and after a
// restore), shared by every reader until the next, never the live objects an evaluation mutates.
import t from 'tap'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import type { GroupSnapshot } from '../../src/engine/snapshot.js'
import { RuleManager, type ManagerSettings } from '../../src/runtime/manager.js'
import { createEngineMetrics } from '../../src/telemetry/metrics.js'
import { group, rule, sample, scripted } from '../fixtures/engine.js'
import { eventually, sleep } from '../fixtures/e2e.js'

const until = (what: string, cond: () => boolean) => eventually(what, async () => cond(), 5_000, 5)

function setup(deps: Partial<ConstructorParameters<typeof RuleManager>[0]> = {}, intervalMs = 20) {
  let value = 1
  const settings: ManagerSettings = {
    query: scripted(expr => (expr.includes('firing') ? [sample({ job: 'a' }, value)] : [sample({ job: 'b' }, value)])),
    defaultIntervalMs: 20,
    resendDelayMs: 0,
    maxConcurrentQueries: 4,
    externalLabels: {},
    externalURL: 'http://rg',
  }
  const manager = new RuleManager(
    {
      logger: pino({ level: 'silent' }),
      metrics: createEngineMetrics(new Registry()),
      sink: () => ({ send: () => undefined }),
      ...deps,
    },
    settings,
  )
  t.teardown(() => manager.stop())
  const specs = [
    group([rule({ name: 'Firing', expr: 'firing' }), rule({ name: 'Pending', expr: 'pending', forMs: 3_600_000 })], {
      intervalMs,
    }),
  ]
  return { manager, settings, specs, setValue: (v: number) => (value = v) }
}

t.test('rules() are copies: frozen records, each alert copied, never the live state', async t => {
  const { manager, settings, specs } = setup()
  await manager.update(specs, settings)
  await until('one firing alert', () => manager.firingAlerts().length === 1)
  const [snapshot] = manager.rules()
  const [live] = manager.groups()
  t.ok(snapshot !== undefined && live !== undefined)
  t.not(snapshot, live)
  t.not(snapshot?.rules[0]?.state.active, live?.rules[0]?.state.active, 'the alerts map is a copy')
  const alert = [...(snapshot?.rules[0]?.state.active.values() ?? [])][0]
  t.ok(Object.isFrozen(snapshot) && Object.isFrozen(snapshot?.rules[0]) && Object.isFrozen(snapshot?.rules[0]?.state))
  t.equal(alert?.state, 'firing')
  t.not(alert, live?.rules[0]?.state.active.get(alert?.fingerprint ?? ''), 'each alert is a copy')
  t.equal(snapshot?.spec, specs[0], 'specs are immutable and shared')
})

t.test('a snapshot stays as it was while the live state moves on; the next evaluation publishes a new one', async t => {
  const { manager, settings, specs, setValue } = setup()
  await manager.update(specs, settings)
  await until('one firing alert', () => manager.firingAlerts().length === 1)
  const before = manager.rules()[0] as GroupSnapshot
  const valueBefore = [...(before.rules[0]?.state.active.values() ?? [])][0]?.value
  setValue(42)
  await until('the new value', () => manager.firingAlerts()[0]?.alert.value === 42)
  t.equal([...(before.rules[0]?.state.active.values() ?? [])][0]?.value, valueBefore, 'the old snapshot is unchanged')
  t.ok((manager.rules()[0]?.lastEvaluation ?? 0) > before.lastEvaluation)
})

t.test(
  'alerts() and firingAlerts() name each alert’s rule and group; alerts() is reused until something changes',
  async t => {
    const { manager, settings, specs } = setup()
    await manager.update(specs, settings)
    await until('both alerts', () => manager.alerts().length === 2)
    await manager.stop() // no more evaluations: the snapshots stay
    const alerts = manager.alerts()
    t.same(alerts.map(a => [a.group.spec.name, a.rule.spec.name, a.alert.state]).sort(), [
      ['g', 'Firing', 'firing'],
      ['g', 'Pending', 'pending'],
    ])
    t.equal(manager.alerts(), alerts, 'the same list while nothing was evaluated')
    t.same(
      manager.firingAlerts().map(a => a.rule.spec.name),
      ['Firing'],
    )
  },
)

t.test('onEvaluation sees the published snapshot, not the live state', async t => {
  const seen: GroupSnapshot[] = []
  const { manager, settings, specs } = setup({ onEvaluation: g => void seen.push(g) })
  await manager.update(specs, settings)
  await until('two evaluations', () => seen.length >= 2)
  await manager.stop()
  t.ok(seen.every(g => Object.isFrozen(g)))
  t.not(seen[0], manager.groups()[0])
  t.equal(seen[seen.length - 1], manager.rules()[0], 'the last evaluation’s snapshot is the one rules() hands out')
  t.not(seen[0], seen[1], 'one snapshot per evaluation')
})

t.test('a restore that fills the state is published before the first evaluation', async t => {
  const { manager, settings, specs } = setup(
    {
      restore: async group => {
        await sleep(10)
        group.rules[1]?.state.active.set('restored', {
          fingerprint: 'restored',
          labels: { alertname: 'Pending' },
          annotations: {},
          state: 'pending',
          value: 7,
          activeAt: 1,
          firedAt: 0,
          resolvedAt: 0,
          lastSentAt: 0,
          validUntil: 0,
          keepFiringSince: 0,
        })
      },
      // The first evaluation is a minute away: the restore's own snapshot is what readers see.
      now: () => 0,
    },
    60_000,
  )
  await manager.update(specs, settings)
  await until('the restored alert', () => manager.alerts().some(a => a.alert.fingerprint === 'restored'))
  t.equal(manager.rules()[0]?.rules[1]?.state.active.get('restored')?.value, 7)
})
