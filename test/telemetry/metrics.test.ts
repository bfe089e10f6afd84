import t from 'tap'
import { createRegistry, EVENT_LOOP_SAMPLE_INTERVAL_MS } from '../../src/telemetry/metrics.js'

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

async function gauge(registry: ReturnType<typeof createRegistry>, name: string): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find(m => m.name === name)
  const value = metric?.values[0]?.value
  if (typeof value !== 'number') throw new Error(`${name} is not exported`)
  return value
}

t.test('a stall as long as the event-loop sample interval shows in the lag histogram', async t => {
  const registry = createRegistry('0.0.0-test')
  t.teardown(() => registry.clear())
  // The first reading resets the histogram (prom-client reads and resets it at every collection).
  await sleep(EVENT_LOOP_SAMPLE_INTERVAL_MS + 100)
  await gauge(registry, 'rollguard_nodejs_eventloop_lag_max_seconds')
  const stallMs = EVENT_LOOP_SAMPLE_INTERVAL_MS + 300
  const until = performance.now() + stallMs
  while (performance.now() < until) {
    // Holds the loop, as a long synchronous task would.
  }
  await sleep(EVENT_LOOP_SAMPLE_INTERVAL_MS + 100)
  const maxS = await gauge(registry, 'rollguard_nodejs_eventloop_lag_max_seconds')
  // The sample due during the stall fires late by the stall less the time until it was due: at least 300 ms.
  t.ok(maxS >= (stallMs - EVENT_LOOP_SAMPLE_INTERVAL_MS) / 1000 - 0.01, `max lag ${maxS}s after a ${stallMs} ms stall`)
  t.ok((await gauge(registry, 'rollguard_nodejs_eventloop_lag_p99_seconds')) > 0)
})

t.test('the sample interval wakes the process at most twice a second', async t => {
  t.ok(EVENT_LOOP_SAMPLE_INTERVAL_MS >= 500, 'idle wake-ups cost CPU (docs/metrics.md#event-loop-delay)')
  t.ok(EVENT_LOOP_SAMPLE_INTERVAL_MS <= 1000, 'stalls of a second must always show')
})
