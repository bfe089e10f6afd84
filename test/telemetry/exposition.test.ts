import t from 'tap'
import fc from 'fast-check'
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client'
import { gather, textChunks } from '../../src/telemetry/exposition.js'
import { createEngineMetrics, createRegistry } from '../../src/telemetry/metrics.js'
import { createActionMetrics } from '../../src/telemetry/action-metrics.js'
import { createNotifierMetrics } from '../../src/telemetry/notifier-metrics.js'
import { createRestoreMetrics } from '../../src/telemetry/restore-metrics.js'
import { createRuleDataMetrics } from '../../src/telemetry/rule-data-metrics.js'
import { createShardingMetrics } from '../../src/telemetry/sharding-metrics.js'
import { createWebhookMetrics } from '../../src/telemetry/webhook-metrics.js'

async function written(registry: Registry, chunkChars?: number): Promise<string[]> {
  return [...textChunks(await gather(registry), chunkChars)]
}

const LABEL_NAMES = ['rule_group', 'alertname', 'state', 'le_like', 'code'] as const

const labelValue = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('a\\b', 'line\nbreak', 'say "hi"', '\\"\n', 'ÿ', '日本', ''),
)
const sampleValue = fc.oneof(
  fc.double(),
  fc.integer({ min: -1e6, max: 1e6 }),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 0.1 + 0.2, 1e21, 5e-324),
)

interface MetricSpec {
  readonly kind: 'counter' | 'gauge' | 'histogram' | 'summary'
  readonly help: string
  readonly labelNames: readonly string[]
  readonly samples: readonly { readonly labels: readonly string[]; readonly value: number }[]
}

const metricSpec: fc.Arbitrary<MetricSpec> = fc
  .record({
    kind: fc.constantFrom('counter', 'gauge', 'histogram', 'summary'),
    help: fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.constantFrom('back\\slash', 'two\nlines')),
    labelNames: fc.subarray([...LABEL_NAMES]),
  })
  .chain(base =>
    fc.record({
      kind: fc.constant(base.kind),
      help: fc.constant(base.help),
      labelNames: fc.constant(base.labelNames),
      samples: fc.array(
        fc.record({
          labels: fc.array(labelValue, { minLength: base.labelNames.length, maxLength: base.labelNames.length }),
          value: sampleValue,
        }),
        { maxLength: 8 },
      ),
    }),
  )

/** build registers the specs as prom-client metrics and applies their samples. */
function build(specs: readonly MetricSpec[]): Registry {
  const registry = new Registry()
  specs.forEach((spec, i) => {
    const common = { name: `m${i}_${spec.kind}`, help: spec.help, labelNames: spec.labelNames, registers: [registry] }
    const labelsOf = (values: readonly string[]) =>
      Object.fromEntries(spec.labelNames.map((name, j) => [name, values[j] ?? '']))
    if (spec.kind === 'counter') {
      const m = new Counter(common)
      for (const s of spec.samples) if (Number.isFinite(s.value)) m.inc(labelsOf(s.labels), Math.abs(s.value))
    } else if (spec.kind === 'gauge') {
      const m = new Gauge(common)
      for (const s of spec.samples) m.set(labelsOf(s.labels), s.value)
    } else if (spec.kind === 'histogram') {
      const m = new Histogram({ ...common, buckets: [0.1, 1, 10] })
      for (const s of spec.samples) if (Number.isFinite(s.value)) m.observe(labelsOf(s.labels), s.value)
    } else {
      const m = new Summary({ ...common, percentiles: [0.5, 0.99] })
      for (const s of spec.samples) if (Number.isFinite(s.value)) m.observe(labelsOf(s.labels), s.value)
    }
  })
  return registry
}

t.test('random registries: the chunks join to exactly what Registry.metrics() writes, at any chunk size', async t => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(metricSpec, { maxLength: 6 }),
      fc.integer({ min: 1, max: 400 }),
      async (specs, chunkChars) => {
        const registry = build(specs)
        const expected = await registry.metrics()
        t.equal((await written(registry, chunkChars)).join(''), expected)
        t.equal((await written(registry)).join(''), expected)
      },
    ),
    { numRuns: 300, seed: 20261206 },
  )
})

t.test(
  "the daemon's own metrics, with label values that need escaping, are written as prom-client writes them",
  async t => {
    const registry = new Registry()
    const engine = createEngineMetrics(registry)
    createActionMetrics(registry)
    createNotifierMetrics(registry)
    createRestoreMetrics(registry)
    createRuleDataMetrics(registry)
    createShardingMetrics(registry)
    createWebhookMetrics(registry)
    for (let i = 0; i < 300; i++) {
      const group = `/etc/rollguard/rules "${i}".yml;team\\${i % 7}\nx`
      engine.evaluations.inc({ rule_group: group })
      engine.evaluationDuration.observe(i / 100)
      engine.alerts.set({ rule_group: group, alertname: `A${i}`, state: 'firing' }, i % 3)
      engine.groupLastDuration.set({ rule_group: group }, i === 7 ? NaN : i / 1000)
    }
    const expected = await registry.metrics()
    t.ok(expected.length > 50_000, 'a sizeable text')
    const chunks = await written(registry, 4096)
    t.equal(chunks.join(''), expected)
    t.ok(chunks.length > 10, `written in ${chunks.length} chunks`)
    const longestLine = Math.max(...expected.split('\n').map(line => line.length))
    for (const chunk of chunks)
      t.ok(chunk.length < 4096 + longestLine + 2, 'a chunk holds about chunkChars, never more than one line over')
  },
)

t.test('the default process metrics: the same metrics in the same order as Registry.metrics()', async t => {
  const registry = createRegistry('0.0.0-test')
  t.teardown(() => registry.clear())
  // Their values and some series (handles by type) change from one collection to the next; the metrics do not.
  const headers = (text: string) => text.split('\n').filter(line => line.startsWith('# '))
  const ours = headers((await written(registry)).join(''))
  t.ok(ours.length > 20)
  t.same(ours, headers(await registry.metrics()))
})

t.test('an empty registry is one newline, as Registry.metrics() writes it', async t => {
  const registry = new Registry()
  t.same(await written(registry), ['\n'])
  t.equal(await registry.metrics(), '\n')
})

t.test('a collect callback that throws fails gather before any text is written', async t => {
  const registry = new Registry()
  new Gauge({
    name: 'broken',
    help: 'throws on collect',
    registers: [registry],
    collect() {
      throw new Error('collector failed')
    },
  })
  await t.rejects(gather(registry), /collector failed/)
})
