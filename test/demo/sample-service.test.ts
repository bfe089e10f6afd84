// The sample service's simulated traffic at low rates: fractional requests accumulate across ticks, so
// requestsPerSecond 0.2 is one request every 5 s (the traffic under the default rules' request-rate floor).
// Date.now is replaced by a clock the test moves; every scrape of /metrics accounts the traffic up to it.
import t from 'tap'
import { startSampleService } from '../../src/demo/sample-service.js'

t.test('0.2 requests/s: one request every 5 s, none lost to rounding per tick', async t => {
  let now = Date.UTC(2026, 0, 1)
  t.capture(Date, 'now', () => now)
  const svc = await startSampleService({
    namespace: 'shop',
    deployment: 'checkout',
    requestsPerSecond: 0.2,
    tickMs: 100,
    fault: { errorRatio: 1, latencySeconds: 6 },
  })
  t.teardown(() => svc.stop())
  const sum = async (
    name: string,
    pick: (labels: Partial<Record<string, string | number>>) => boolean = () => true,
  ): Promise<number> =>
    ((await svc.registry.getSingleMetric(name)?.get())?.values ?? [])
      .filter(v => pick(v.labels))
      .reduce((a, v) => a + v.value, 0)

  // 60 s in steps of one tick (100 ms), scraping at every step as a fast Prometheus would.
  const at: number[] = []
  let seen = 0
  for (let step = 1; step <= 600; step++) {
    now += 100
    const res = await fetch(`${svc.url}/metrics`, { signal: AbortSignal.timeout(5000) })
    await res.text()
    const total = await sum('http_requests_total')
    for (; seen < total; seen++) at.push(step * 100)
  }
  t.equal(at.length, 12, `12 requests in 60 s (at ${at.join(', ')} ms)`)
  const gaps = at.slice(1).map((x, i) => x - (at[i] ?? 0))
  t.ok(
    gaps.every(g => Math.abs(g - 5000) <= 100),
    `one every 5 s, give or take a tick (gaps ${gaps.join(', ')} ms)`,
  )
  t.ok(Math.abs((at[0] ?? 0) - 5000) <= 100, 'the first after 5 s')
  t.equal(await sum('http_requests_total', l => l['code'] === '500'), 12, 'errorRatio 1: every request fails')
  t.equal(await sum('http_request_duration_seconds', l => l['le'] === '+Inf'), 12, 'every request is observed')
  t.equal(
    await sum('http_request_duration_seconds', l => String(l['le']) === '5'),
    0,
    'none within 5 s (latencySeconds 6)',
  )
  t.equal(await sum('http_request_duration_seconds', l => String(l['le']) === '10'), 12, 'all within 10 s')
})

t.test('rates below one request per tick and above one per tick add up to the same traffic', async t => {
  let now = Date.UTC(2026, 0, 1)
  t.capture(Date, 'now', () => now)
  for (const rps of [0.5, 3, 25]) {
    const svc = await startSampleService({ requestsPerSecond: rps, tickMs: 100 })
    const scrape = async (): Promise<void> =>
      void (await (await fetch(`${svc.url}/metrics`, { signal: AbortSignal.timeout(5000) })).text())
    for (let step = 0; step < 100; step++) {
      now += 100
      await scrape()
    }
    const total = ((await svc.registry.getSingleMetric('http_requests_total')?.get())?.values ?? []).reduce(
      (a, v) => a + v.value,
      0,
    )
    t.ok(Math.abs(total - rps * 10) <= 1, `${rps} requests/s for 10 s: ${total} requests`)
    await svc.stop()
  }
})
