import t from 'tap'
import { htmlReport, jsonReport, tableReport } from '../../src/backtest/report.js'
import type { Backtest } from '../../src/backtest/run.js'
import { parseBacktestArgs, parseTime, runBacktestCommand } from '../../src/cli/backtest.js'

const T0 = Date.parse('2026-12-01T10:00:00Z')
const MIN = 60_000

const backtest: Backtest = {
  fromMs: T0,
  toMs: T0 + 60 * MIN,
  groups: [
    { key: 'rules.yml;triggers', intervalMs: MIN, slots: 60, errors: {}, probeRules: ['HealthCheckFailing'] },
    {
      key: 'rules.yml;other',
      intervalMs: MIN,
      slots: 60,
      errors: { Broken: 'query failed: bad_data: parse error' },
      probeRules: [],
    },
  ],
  alerts: [
    {
      group: 'rules.yml;triggers',
      rule: 'HighErrorRate',
      labels: { alertname: 'HighErrorRate', namespace: 'shop', deployment: '<script>' },
      intervals: [
        { state: 'pending', start: T0 + 5 * MIN, end: T0 + 7 * MIN, startValue: 0.25, endValue: 0.3 },
        { state: 'firing', start: T0 + 7 * MIN, end: undefined, startValue: 0.3, endValue: undefined },
      ],
    },
  ],
}

t.test('table: one line per interval, a summary and the notes', async t => {
  const text = tableReport(backtest)
  t.match(text, /^ALERT +LABELS +STATE +FROM +TO +DURATION +VALUE\n/)
  t.match(
    text,
    /HighErrorRate +\{deployment="<script>", namespace="shop"\} +pending +2026-12-01T10:05:00Z +2026-12-01T10:07:00Z +2m +0\.3000\n/,
  )
  t.match(text, /firing +2026-12-01T10:07:00Z +\(still\) +53m +0\.3000\n/)
  t.match(text, /1 alert\(s\), 1 firing interval\(s\) between 2026-12-01T10:00:00Z and 2026-12-01T11:00:00Z/)
  t.match(text, /rules\.yml;triggers: HealthCheckFailing read rollguard's own probe series: not replayable/)
  t.match(text, /rules\.yml;other: rule Broken failed: query failed: bad_data/)
  t.match(tableReport({ ...backtest, alerts: [] }), /^no alert went pending or firing\n/)
})

t.test('json and html', async t => {
  const json = JSON.parse(jsonReport(backtest)) as {
    alerts: Array<{ intervals: Array<{ end: string | null }> }>
    groups: Array<{ interval: string }>
  }
  t.equal(json.alerts[0]?.intervals[1]?.end, null, 'an open interval ends in null')
  t.equal(json.groups[0]?.interval, '1m')
  const html = htmlReport(backtest)
  t.match(html, /<rect class="firing"/)
  t.notMatch(html, /<script>/, 'labels are escaped')
  t.match(html, /&#60;script&#62;/)
})

t.test('the command line: times, step, output, usage errors', async t => {
  const now = T0
  t.equal(parseTime('now', now, '--from'), now)
  t.equal(parseTime('now-24h', now, '--from'), now - 24 * 60 * MIN)
  t.equal(parseTime('-90m', now, '--from'), now - 90 * MIN)
  t.equal(parseTime('1764583200', now, '--from'), 1_764_583_200_000)
  t.equal(parseTime('2026-12-01T09:00:00Z', now, '--from'), T0 - 60 * MIN)
  t.throws(() => parseTime('yesterday', now, '--from'), /--from: "yesterday" is not a time/)
  t.throws(() => parseTime('now-x', now, '--from'), /--from: /)
  const args = parseBacktestArgs(
    ['--from', 'now-1h', '--step', '30s', '--output', 'json', '--rules', 'r.yml', '--prometheus-url', 'http://p'],
    now,
  )
  t.match(args, { fromMs: now - 60 * MIN, toMs: now, stepMs: 30_000, output: 'json' })
  t.same(args !== 'help' && args.flags.get('rules'), ['r.yml'], 'run flags pass through')
  t.equal(parseBacktestArgs(['--help'], now), 'help')
  t.throws(() => parseBacktestArgs([], now), /--from is required/)
  t.throws(() => parseBacktestArgs(['--from', 'now'], now), /--to .* must be after --from/)
  t.throws(
    () => parseBacktestArgs(['--from', 'now-1h', '--output', 'xml'], now),
    /--output must be table, json or html/,
  )
  t.throws(() => parseBacktestArgs(['--from', 'now-1h', '--step', '0s'], now), /--step: must be greater than 0/)
  t.throws(() => parseBacktestArgs(['--from', 'now-1h', '--nope'], now), /unknown flag --nope/)
  const out: string[] = []
  const err: string[] = []
  const io = { stdout: (s: string) => void out.push(s), stderr: (s: string) => void err.push(s) }
  t.equal(await runBacktestCommand(['--help'], io, {}), 0)
  t.match(out.join(''), /^Usage: rollguard backtest/)
  t.equal(await runBacktestCommand(['--from', 'soon'], io, {}), 2)
  t.match(err.join(''), /rollguard backtest: --from: "soon" is not a time/)
  err.length = 0
  t.equal(
    await runBacktestCommand(['--from', 'now-1h', '--rules', '/nonexistent/*.yml'], io, {}),
    1,
    'no Prometheus URL is a configuration error: invalid input, not usage',
  )
  t.match(err.join(''), /invalid configuration/)
})
