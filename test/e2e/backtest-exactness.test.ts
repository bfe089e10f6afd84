// The backtest against Prometheus itself: a real Prometheus evaluates the shipped rules (scaled down) while faults
// come and go, and writes its alert history into its TSDB (ALERTS). Backtesting the same window must give the same
// firing intervals — every start and end within one evaluation interval — and no extra or missing alert.
import t from 'tap'
import { runBacktest } from '../../src/backtest/run.js'
import { startPrometheus } from '../../src/demo/stack.js'
import { loadRuleFiles } from '../../src/rules/load.js'
import { createPrometheusSource } from '../../src/sources/prometheus.js'
import { runBacktestCommand } from '../../src/cli/backtest.js'
import { defaultRulesFast, eventually, services, sleep, tempDir } from '../fixtures/e2e.js'

const INTERVAL = 1_000
const STEP = 100

interface Interval {
  start: number
  end: number
}

t.test("backtest firing intervals equal Prometheus's own ALERTS within one evaluation interval", async t => {
  const dir = tempDir(t)
  const rules = defaultRulesFast(dir)
  const svcs = await services(t, ['cart', 'checkout', 'search'])
  const [cart, checkout, search] = svcs
  if (!cart || !checkout || !search) throw new Error('services did not start')
  const prom = await startPrometheus({
    scrapeInterval: '1s',
    evaluationInterval: '1s',
    ruleFiles: [rules],
    scrapeTargets: svcs.map(s => ({
      job: 'sample',
      target: new URL(s.url).host,
      labels: { namespace: s.namespace, pod: s.pod },
      honorLabels: true,
    })),
    waitForTargets: true,
  })
  t.teardown(() => prom.stop())
  const source = createPrometheusSource({ url: prom.url, timeoutMs: 10_000 })
  t.teardown(() => source.close())

  // The script: checkout fails long enough to fire, twice; cart has a short blip (the 5s window stretches it); search is slow.
  // 4s of errors fire for 3–4 evaluations. A blip of 1.5s fired for a single one, and whether an alert of a single
  // evaluation shows on both sides depends on where each side's evaluation instants fall (missed once in CI).
  const from = Date.now()
  checkout.setFault({ errorRatio: 0.5 })
  await sleep(12_000)
  checkout.clearFault()
  cart.setFault({ errorRatio: 0.5 })
  await sleep(4_000)
  cart.clearFault()
  search.setFault({ latencySeconds: 6 })
  await sleep(10_000)
  search.clearFault()
  checkout.setFault({ errorRatio: 0.9 })
  await sleep(9_000)
  checkout.clearFault()
  await sleep(8_000)
  const to = Date.now() - 2_000

  const groups = (await loadRuleFiles([rules])).files.flatMap(f => f.groups)
  const result = await runBacktest(groups, {
    fromMs: from,
    toMs: to,
    stepMs: undefined,
    defaultIntervalMs: INTERVAL,
    rangeQuery: (expr, range) => source.queryRange(expr, range),
    externalLabels: {},
    externalURL: 'http://rollguard.test',
    maxConcurrentQueries: 4,
  })
  const ours = new Map<string, Interval[]>()
  for (const a of result.alerts) {
    const firing = a.intervals
      .filter(i => i.state === 'firing')
      .map(i => ({ start: i.start, end: i.end ?? Number.POSITIVE_INFINITY }))
    if (firing.length > 0) ours.set(key(a.labels), firing)
  }

  // Prometheus's own record, from the same data: ALERTS{alertstate="firing"} at a fine step.
  const alerts = await eventually('ALERTS in the TSDB', async () => {
    const r = await source.queryRange('ALERTS{alertstate="firing"}', { startMs: from, endMs: to, stepMs: STEP })
    return r.series.length > 0 ? r : undefined
  })
  const theirs = new Map<string, Interval[]>()
  for (const s of alerts.series) {
    const { alertstate: _state, __name__: _name, ...labels } = s.labels
    theirs.set(
      key(labels),
      intervalsOf(
        s.points.map(([at]) => at),
        to,
      ),
    )
  }

  t.same([...ours.keys()].sort(), [...theirs.keys()].sort(), 'the same alerts fired: none extra, none missing')
  t.ok(theirs.size >= 2, `alerts fired in the script (${[...theirs.keys()].join(' | ')})`)
  for (const [k, want] of theirs) {
    const got = ours.get(k) ?? []
    t.equal(got.length, want.length, `${k}: as many firing intervals`)
    want.forEach((w, i) => {
      const g = got[i]
      t.ok(
        g !== undefined && Math.abs(g.start - w.start) <= INTERVAL + STEP,
        `${k} #${i}: starts ${g?.start} vs ${w.start}`,
      )
      const end = (x: number) => (Number.isFinite(x) ? x : to)
      t.ok(
        g !== undefined && Math.abs(end(g.end) - end(w.end)) <= INTERVAL + STEP,
        `${k} #${i}: ends ${g?.end} vs ${w.end}`,
      )
    })
  }
  t.equal(result.groups[0]?.probeRules.join(','), 'HealthCheckFailing', 'the probe rule is reported as not replayable')

  // The command: table, json and html from the same window.
  const out: string[] = []
  const io = { stdout: (s: string) => void out.push(s), stderr: () => undefined }
  const argv = [
    '--rules',
    rules,
    '--prometheus-url',
    prom.url,
    '--eval-interval',
    '1s',
    '--from',
    String(from / 1000),
    '--to',
    String(to / 1000),
  ]
  t.equal(await runBacktestCommand(argv, io, {}), 0)
  t.match(
    out.join(''),
    /HighErrorRate +\{deployment="checkout", namespace="shop", rollguard_trigger="rollback", severity="critical"\} +firing +\S+ +\S+ +\d+s/,
  )
  out.length = 0
  t.equal(await runBacktestCommand([...argv, '--output', 'json'], io, {}), 0)
  const json = JSON.parse(out.join('')) as { alerts: Array<{ alertname: string; intervals: Array<{ state: string }> }> }
  t.ok(json.alerts.some(a => a.alertname === 'HighErrorRate' && a.intervals.some(i => i.state === 'firing')))
  out.length = 0
  t.equal(await runBacktestCommand([...argv, '--output', 'html'], io, {}), 0)
  t.match(out.join(''), /^<!doctype html>[\s\S]*<svg [\s\S]*class="firing"[\s\S]*<\/html>\n$/)
  t.notMatch(out.join(''), /<script/)
})

function key(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map(k => `${k}="${labels[k]}"`)
    .join(',')
}

/** intervalsOf groups sample times at STEP into contiguous intervals (a gap over two steps ends one). */
function intervalsOf(times: readonly number[], to: number): Interval[] {
  const out: Interval[] = []
  for (const at of times) {
    const last = out.at(-1)
    if (last !== undefined && at - last.end <= 2 * STEP) last.end = at
    else out.push({ start: at, end: at })
  }
  // Still firing at the end of the window: open-ended, as the backtest reports it.
  for (const i of out) if (to - i.end <= 2 * STEP) i.end = Number.POSITIVE_INFINITY
  // The series is present until the stale marker Prometheus writes at the evaluation that resolved it.
  return out
}
