import t from 'tap'
import fc from 'fast-check'
import { Counter, Gauge, Registry } from 'prom-client'
import { KeyedCounter, KeyedGauge } from '../../src/telemetry/keyed-metric.js'
import { gather, textChunks } from '../../src/telemetry/exposition.js'

const LABELS = ['rule_group', 'alertname', 'state'] as const
type Label = (typeof LABELS)[number]

type Op =
  | { readonly kind: 'set' | 'inc'; readonly labels: Partial<Record<Label, string>>; readonly value: number }
  | { readonly kind: 'remove'; readonly labels: Partial<Record<Label, string>> }

// Few values, so that operations meet the same series; a label may be left out.
const labels = fc.record(
  {
    rule_group: fc.constantFrom('a.yml;g1', 'a.yml;g2', 'b "x".yml;g\\1', ''),
    alertname: fc.constantFrom('HighErrorRate', 'HighLatency', 'line\nbreak'),
    state: fc.constantFrom('pending', 'firing', 'inactive'),
  },
  { requiredKeys: [] },
)
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), labels, value: fc.double({ noNaN: false }) }),
  fc.record({ kind: fc.constant('inc' as const), labels, value: fc.double({ min: 0, max: 1e9, noNaN: true }) }),
  fc.record({ kind: fc.constant('remove' as const), labels }),
)

/** lines is a registry's text with the series in a canonical order (the keyed metric orders them by label). */
async function lines(registry: Registry): Promise<string[]> {
  const text = [...textChunks(await gather(registry))].join('')
  const [help, type, ...series] = text.trimEnd().split('\n')
  return [help ?? '', type ?? '', ...series.sort()]
}

/** Pair applies each operation to prom-client's metric and to ours alike. */
interface Pair {
  readonly apply: (o: Op) => void
}

function gauges(theirs: Registry, ours: Registry): Pair {
  const gauge = new Gauge({ name: 'g', help: 'help', labelNames: LABELS, registers: [theirs] })
  const keyed = new KeyedGauge({ name: 'g', help: 'help', labelNames: LABELS, registers: [ours] })
  return {
    apply: o => {
      if (o.kind === 'remove') for (const m of [gauge, keyed]) m.remove(o.labels)
      else for (const m of [gauge, keyed]) m.set(o.labels, o.value)
    },
  }
}

function counters(theirs: Registry, ours: Registry): Pair {
  const counter = new Counter({ name: 'c_total', help: 'help', labelNames: LABELS, registers: [theirs] })
  const keyed = new KeyedCounter({ name: 'c_total', help: 'help', labelNames: LABELS, registers: [ours] })
  return {
    apply: o => {
      if (o.kind === 'remove') for (const m of [counter, keyed]) m.remove(o.labels)
      else if (o.kind === 'inc') for (const m of [counter, keyed]) m.inc(o.labels, o.value)
    },
  }
}

for (const [name, make, seed] of [
  ['KeyedGauge exports what prom-client Gauge exports (set, remove)', gauges, 20261206],
  ['KeyedCounter exports what prom-client Counter exports (inc, remove)', counters, 20261207],
] as const) {
  t.test(`random sequences: ${name}`, async t => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async ops => {
        const theirs = new Registry()
        const ours = new Registry()
        const pair = make(theirs, ours)
        for (const o of ops) pair.apply(o)
        t.same(await lines(ours), await lines(theirs))
      }),
      { numRuns: 300, seed },
    )
  })
}

t.test('inc(labels, 0) makes a series at zero, as in prom-client', async t => {
  const registry = new Registry()
  const counter = new KeyedCounter({ name: 'c_total', help: 'h', labelNames: ['rule_group'], registers: [registry] })
  counter.inc({ rule_group: 'a.yml;g' }, 0)
  t.same((await counter.get()).values, [{ labels: { rule_group: 'a.yml;g' }, value: 0 }])
  counter.inc({ rule_group: 'a.yml;g' })
  t.same((await counter.get()).values, [{ labels: { rule_group: 'a.yml;g' }, value: 1 }])
})

t.test('removing the last series of a level leaves nothing behind; a series made again starts anew', async t => {
  const gauge = new KeyedGauge({ name: 'g', help: 'h', labelNames: LABELS, registers: [] })
  gauge.set({ rule_group: 'a', alertname: 'X', state: 'firing' }, 1)
  gauge.remove({ rule_group: 'a', alertname: 'X', state: 'firing' })
  gauge.remove({ rule_group: 'never', alertname: 'seen', state: 'firing' })
  t.same((await gauge.get()).values, [])
  const counter = new KeyedCounter({ name: 'c_total', help: 'h', labelNames: LABELS, registers: [] })
  counter.inc({ rule_group: 'a', alertname: 'X', state: 'firing' }, 5)
  counter.remove({ rule_group: 'a', alertname: 'X', state: 'firing' })
  counter.inc({ rule_group: 'a', alertname: 'X', state: 'firing' }, 2)
  t.same((await counter.get()).values, [{ labels: { rule_group: 'a', alertname: 'X', state: 'firing' }, value: 2 }])
  counter.reset()
  t.same((await counter.get()).values, [])
})

t.test('the label strings are the caller’s: a series holds the very strings it was set with', async t => {
  const gauge = new KeyedGauge({ name: 'g', help: 'h', labelNames: ['rule_group', 'alertname'], registers: [] })
  const group = ['rules.yml', 'team'].join(';')
  gauge.set({ rule_group: group, alertname: 'A' }, 1)
  gauge.set({ rule_group: group, alertname: 'B' }, 2)
  const values = (await gauge.get()).values
  t.same(
    values.map(v => v.labels),
    [
      { rule_group: 'rules.yml;team', alertname: 'A' },
      { rule_group: 'rules.yml;team', alertname: 'B' },
    ],
  )
})

t.test('misuse fails loudly, as with prom-client', async t => {
  const registry = new Registry()
  const gauge = new KeyedGauge({ name: 'g', help: 'h', labelNames: ['rule_group'], registers: [registry] })
  t.throws(
    () => gauge.set({ rule_group: 'a', other: 'x' } as never, 1),
    /g: label "other" is not one of its labels \(rule_group\)/,
  )
  t.throws(() => gauge.set({ rule_group: 'a' }, '1' as never), /value is not a number/)
  const counter = new KeyedCounter({ name: 'c_total', help: 'h', labelNames: ['rule_group'], registers: [registry] })
  t.throws(() => counter.inc({ rule_group: 'a' }, -1), /not possible to decrease a counter/)
  t.throws(() => counter.inc({ rule_group: 'a' }, NaN), /not a finite number/)
  t.throws(
    () => new KeyedGauge({ name: 'g', help: 'h', labelNames: ['x'], registers: [registry] }),
    /already been registered/,
  )
  t.throws(
    () => new KeyedGauge({ name: 'bad-name', help: 'h', labelNames: ['x'], registers: [] }),
    /invalid metric name/,
  )
  t.throws(
    () => new KeyedGauge({ name: 'ok', help: 'h', labelNames: ['__x'], registers: [] }),
    /invalid label name "__x"/,
  )
  t.throws(() => new KeyedGauge({ name: 'ok', help: 'h', labelNames: [], registers: [] }), /at least one label/)
})

t.test('a registry reads keyed metrics like its own: metrics(), getMetricsAsJSON(), resetMetrics()', async t => {
  const registry = new Registry()
  const gauge = new KeyedGauge({ name: 'rollguard_x', help: 'x', labelNames: ['rule_group'], registers: [registry] })
  gauge.set({ rule_group: 'a' }, 2)
  t.equal(await registry.metrics(), '# HELP rollguard_x x\n# TYPE rollguard_x gauge\nrollguard_x{rule_group="a"} 2\n')
  t.same((await registry.getMetricsAsJSON())[0]?.values, [{ labels: { rule_group: 'a' }, value: 2 }])
  registry.resetMetrics()
  t.same((await gauge.get()).values, [])
})
