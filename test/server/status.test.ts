// The status page without a browser: escaping, thresholds, the bounded history, timelines, the model, and the
// route through app.inject (headers, no actions configured, a label value carrying <script>).
import t from 'tap'
import { Gauge, Registry } from 'prom-client'
import type { DecisionRecord } from '../../src/actions/audit.js'
import { ActionsConfig } from '../../src/actions/actions-config.js'
import { evaluateGroup, newGroupState, type GroupOptions, type GroupState } from '../../src/engine/group.js'
import type { RuleGroupSpec } from '../../src/engine/spec.js'
import type { Sample } from '../../src/engine/types.js'
import { SeriesHistory, presentAlerts } from '../../src/server/status/history.js'
import { escapeHtml, html, trusted } from '../../src/server/status/html.js'
import { ago } from '../../src/server/status/render.js'
import {
  actionsStatus,
  CONTENT_SECURITY_POLICY,
  statusRoutes,
  type StatusOptions,
} from '../../src/server/status/route.js'
import { span, timelineSvg, yDomain } from '../../src/server/status/svg.js'
import { parseThreshold } from '../../src/server/status/threshold.js'
import {
  buildStatusModel,
  buildTimeline,
  formatValue,
  workloadLink,
  type StatusInput,
} from '../../src/server/status/view-model.js'
import { group, literal, MIN, rule, SEC, scripted } from '../fixtures/engine.js'
import { T0, testServer } from './fixtures/server.js'

const XSS = '<script>alert(1)</script>'

/** Run evaluates a group at successive slots with answer(expr, at), recording every iteration into the history. */
class Run {
  readonly state: GroupState
  constructor(
    spec: RuleGroupSpec,
    readonly history: SeriesHistory,
    private readonly answer: (expr: string, at: number) => Sample[],
  ) {
    this.state = newGroupState(spec, spec.intervalMs, 'http://rollguard:9099')
  }
  async at(...slots: number[]): Promise<void> {
    const opts: GroupOptions = {
      query: scripted(this.answer),
      clock: () => 0,
      externalLabels: {},
      externalURL: 'http://rollguard:9099',
      resendDelayMs: MIN,
      maxConcurrentQueries: 1,
    }
    for (const ts of slots) this.history.record(this.state, await evaluateGroup(this.state, ts, opts))
  }
}

const triggerLabels = { severity: literal('critical'), rollguard_trigger: literal('rollback') }
const errorRate = rule({
  name: 'HighErrorRate',
  expr: 'sum by (namespace, deployment) (errors) / sum by (namespace, deployment) (requests) > 0.10',
  forMs: 10 * SEC,
  labels: triggerLabels,
  annotations: { summary: literal('{{ $labels.deployment }} fails', d => `${d.labels.deployment} fails`) },
})
const health = rule({ name: 'HealthCheckFailing', expr: 'rollguard_probe_success == 0', labels: triggerLabels })
const spec = group([errorRate, health], {
  file: 'rules/rollback-triggers.yml',
  name: 'rollback-triggers',
  intervalMs: 5 * SEC,
})

function decision(over: Partial<DecisionRecord> = {}): DecisionRecord {
  return {
    kind: 'rolled_back',
    reason: 'rollback',
    message: 'rolling back Deployment shop/checkout from revision 2 to 1: patch stored',
    alert: { name: 'HighErrorRate', labels: {}, fingerprint: 'f', startsAt: T0 },
    mode: 'execute',
    workload: { kind: 'Deployment', namespace: 'shop', name: 'checkout' },
    fromRevision: 2,
    toRevision: 1,
    at: T0 + 30 * SEC,
    decision: 'rollback',
    result: 'attempted',
    ...over,
  }
}

t.test('escapeHtml and the html template escape data, not markup', async t => {
  t.equal(escapeHtml(`<a href="x" title='y'>&</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;')
  const inner = html`<b>${XSS}</b>`
  t.equal(String(inner), '<b>&lt;script&gt;alert(1)&lt;/script&gt;</b>')
  t.equal(
    html`<p>${inner}${[1, ' & ', [html`<i>x</i>`]]}${null}${undefined}${false}${trusted('<br>')}</p>`.value,
    '<p><b>&lt;script&gt;alert(1)&lt;/script&gt;</b>1 &amp; <i>x</i><br></p>',
  )
})

t.test('parseThreshold reads the top-level comparison with a number', async t => {
  const cases: Array<[string, string | undefined]> = [
    ['sum(x) / sum(y)\n  > 0.10\n', '> 0.1'],
    ['0.5 < x', '> 0.5'],
    ['2 >= x', '<= 2'],
    ['(x > 0.1)', '> 0.1'],
    ['(((x)) >= (2))', '>= 2'],
    ['rollguard_probe_success == 0', '== 0'],
    ['x != 1', '!= 1'],
    ['x > -1', '> -1'],
    ['x > 1e3', '> 1000'],
    ['x > 0x10', '> 16'],
    ['x > +Inf', '> Infinity'],
    ['x > NaN', '> NaN'],
    ['x > 1 and on (a) y', '> 1'],
    ['(x > 1) unless y', '> 1'],
    ['x > 5 # five', '> 5'],
    ['histogram_quantile(0.95, sum by (le) (rate(x[1m])))\n > 5', '> 5'],
    ['x > bool 1', undefined],
    ['x > on () y', undefined],
    ['x > y', undefined],
    ['1 > 2', undefined],
    ['x > 1 * 2', undefined],
    ['x > 1 or y', undefined],
    ['x + 1', undefined],
    ['x', undefined],
    ['x > 5m', undefined],
    ['', undefined],
  ]
  for (const [expr, want] of cases) {
    const th = parseThreshold(expr)
    t.equal(th === undefined ? undefined : `${th.op} ${th.value}`, want, JSON.stringify(expr))
  }
})

t.test('formatValue and ago', async t => {
  t.same([0.5, 0.123456, 6.25, 1234.5, 12345, 2.5e9, 0.0001234, 0, -3, NaN, Infinity, -Infinity].map(formatValue), [
    '0.5',
    '0.1235',
    '6.25',
    '1235',
    '12.35k',
    '2.5G',
    '1.23e-4',
    '0',
    '-3',
    'NaN',
    '+Inf',
    '-Inf',
  ])
  t.same([0, 999, 42_000, 192_000, 25 * MIN, 125 * MIN, 3 * 24 * 60 * MIN + 4 * 60 * MIN].map(ago), [
    'just now',
    'just now',
    '42s ago',
    '3m 12s ago',
    '25m ago',
    '2h 5m ago',
    '3d 4h ago',
  ])
})

t.test('the history keeps what each rule returned, per series, bounded', async t => {
  const history = new SeriesHistory({ windowMs: 60 * SEC, maxFrames: 12, maxSeries: 2 })
  t.equal(history.bucketMs, 5 * SEC)
  let fail = false
  let pods = ['a']
  const run = new Run(spec, history, expr => {
    if (fail) throw new Error('prometheus down')
    if (expr.startsWith('rollguard_probe'))
      return pods.map(p => ({ labels: { namespace: 'shop', deployment: 'checkout', probe: p }, value: 0 }))
    return [{ labels: { namespace: 'shop', deployment: 'checkout' }, value: 0.5 }]
  })
  await run.at(T0, T0 + 5 * SEC)
  const [rate, probe] = run.state.rules
  if (!rate || !probe) throw new Error('rules')
  t.same(
    history.get(run.state, rate)?.frames.map(f => [f.t - T0, f.error, [...f.values.values()]]),
    [
      [0, false, [0.5]],
      [5000, false, [0.5]],
    ],
  )
  // A second evaluation in the same 5s bucket merges: a series present at either is kept.
  pods = ['a', 'b', 'c']
  await run.at(T0 + 6 * SEC)
  const probes = history.get(run.state, probe)
  t.equal(probes?.frames.length, 2, 'merged into the second frame')
  t.equal(probes?.frames[1]?.t, T0 + 5 * SEC, "which keeps the bucket's first evaluation time")
  t.equal(probes?.frames[1]?.values.size, 2, 'maxSeries bounds the series of a rule')
  t.equal(probes?.truncated, 1)
  t.equal(history.tracked, 3)
  fail = true
  await run.at(T0 + 10 * SEC)
  t.same(
    history.get(run.state, rate)?.frames.at(-1),
    { t: T0 + 10 * SEC, error: true, values: new Map() },
    'a failed query: an error frame',
  )
  fail = false
  pods = []
  await run.at(T0 + 15 * SEC, T0 + 80 * SEC)
  const frames = history.get(run.state, probe)?.frames ?? []
  t.same(
    frames.map(f => f.t - T0),
    [80_000],
    'frames older than the window are dropped',
  )
  t.same(
    [...(history.get(run.state, probe)?.labels.keys() ?? [])],
    [],
    'and the labels of series no longer in any frame',
  )
  t.equal(history.tracked, 1, 'series without a value in the window are no longer tracked')
  history.prune(T0 + 80 * SEC + 60 * SEC)
  t.equal(history.get(run.state, rate), undefined, 'rules not evaluated within the window are dropped')
  t.equal(history.tracked, 0)

  const small = new SeriesHistory({ maxTotalSeries: 2 })
  const wide = new Run(spec, small, expr =>
    ['a', 'b', 'c'].map(d => ({ labels: { namespace: 'shop', deployment: d, q: expr.slice(0, 3) }, value: 1 })),
  )
  await wide.at(T0)
  t.equal(small.tracked, 2, 'maxTotalSeries bounds all rules together')
  t.same(
    wide.state.rules.map(r => small.get(wide.state, r)?.truncated),
    [1, 3],
  )
})

t.test(
  'the history forgets rules a reload removed as evaluations come in, without anyone viewing the page',
  async t => {
    const history = new SeriesHistory({ windowMs: 60 * SEC, maxFrames: 12 })
    const answer = (): Sample[] => [{ labels: { namespace: 'shop', deployment: 'checkout' }, value: 1 }]
    const before = new Run(spec, history, answer)
    await before.at(T0, T0 + 5 * SEC)
    const [removed] = before.state.rules
    if (!removed) throw new Error('rules')
    t.ok(history.get(before.state, removed), 'recorded')
    // A reload replaced the group by one with other rules; only the new one is evaluated from then on.
    const after = new Run(
      group([rule({ name: 'Other', expr: 'other > 0' })], { file: spec.file, name: spec.name, intervalMs: 5 * SEC }),
      history,
      answer,
    )
    await after.at(T0 + 10 * SEC, T0 + 60 * SEC)
    t.ok(history.get(before.state, removed), 'still within the window')
    await after.at(T0 + 70 * SEC)
    t.equal(history.get(before.state, removed), undefined, 'gone once its last frame left the window')
    t.equal(history.tracked, 1, 'and its series are no longer counted against maxTotalSeries')
  },
)

t.test(
  'presentAlerts: only alerts whose series the last evaluation returned (not kept firing, not resolved)',
  async t => {
    const history = new SeriesHistory()
    let present = true
    const kept = group([rule({ name: 'Kept', expr: 'x > 1', keepFiringForMs: MIN })], { intervalMs: 5 * SEC })
    const run = new Run(kept, history, () => (present ? [{ labels: { job: 'a' }, value: 2 }] : []))
    await run.at(T0)
    const r = run.state.rules[0]
    if (!r) throw new Error('rule')
    t.equal(presentAlerts(r).length, 1)
    present = false
    await run.at(T0 + 5 * SEC)
    t.equal(r.state.active.size, 1, 'still firing through keep_firing_for')
    t.equal(presentAlerts(r).length, 0, 'but its series was not returned')
  },
)

t.test('buildTimeline: value runs, gaps below threshold, failed queries, time not evaluated', async t => {
  const f = (sec: number, v?: number, error = false) => ({
    t: T0 + sec * SEC,
    error,
    values: new Map(v === undefined ? [] : [['fp', v]]),
  })
  const frames = [f(-100, 9), f(0, 1), f(5, 2), f(10), f(15), f(20, undefined, true), f(25, 3), f(30, 4), f(60, 5)]
  const tl = buildTimeline(frames, 'fp', T0 - 10 * SEC, T0 + 70 * SEC, 5 * SEC, { op: '>', value: 0.5 })
  t.same(
    tl.segments.map(s => s.map(p => [(p.t - T0) / SEC, p.v])),
    [
      [
        [0, 1],
        [2.5, 1],
        [7.5, 2],
        [10, 2],
      ],
      [
        [25, 3],
        [27.5, 3],
        [35, 4],
        [40, 4],
      ],
      [
        [60, 5],
        [65, 5],
        [70, 5],
      ],
    ],
    "through the middle of each frame's time, from the run's start to its end; a frame covers at most 2 steps",
  )
  t.same(
    tl.bands.map(b => [(b.from - T0) / SEC, (b.to - T0) / SEC, b.kind]),
    [
      [10, 20, 'absent'],
      [20, 25, 'error'],
    ],
  )
  t.equal(tl.from, T0 - 10 * SEC)
  const svg = timelineSvg(tl, `HighErrorRate ${XSS}`).value
  t.match(svg, /<polyline class="tl-line"/)
  t.match(svg, /<line class="tl-thr"/)
  t.match(svg, /class="tl-absent"/)
  t.match(svg, /class="tl-error"/)
  t.match(svg, /&gt; 0\.5/)
  t.notMatch(svg, /<script>/)
  t.match(
    timelineSvg(buildTimeline([], 'fp', T0 - MIN, T0, SEC, undefined), 'empty').value,
    /no value/,
    'an empty timeline still draws',
  )
  t.same([40_000, 150_000, 900_000].map(span), ['40s', '2.5m', '15m'])
  t.match(
    timelineSvg(buildTimeline([f(0, -2), f(1, -2)], 'fp', T0 - 40 * SEC, T0 + 2 * SEC, SEC, undefined), 'negative')
      .value,
    /-2/,
  )
})

t.test('workloadLink fills the template, only for http(s)', async t => {
  const w = { kind: 'Deployment', namespace: 'shop', name: 'check out' } as const
  t.equal(
    workloadLink('https://k8s.example/#/{resource}/{namespace}/{name}?k={kind}', w),
    'https://k8s.example/#/deployments/shop/check%20out?k=deployment',
  )
  t.equal(workloadLink('javascript:alert({name})', w), undefined)
  t.equal(workloadLink(undefined, w), undefined)
})

/** scenario: checkout's error rate fires (value 0.5 > 0.1), a probe is failing, a rule is broken; label values carry XSS. */
async function scenario(): Promise<{ history: SeriesHistory; groups: GroupState[] }> {
  const history = new SeriesHistory()
  const run = new Run(spec, history, (expr, at) => {
    if (expr.startsWith('rollguard_probe'))
      return at >= T0 + 40 * SEC ? [{ labels: { namespace: 'shop', deployment: 'cart', probe: XSS }, value: 0 }] : []
    return at >= T0 + 10 * SEC
      ? [{ labels: { namespace: 'shop', deployment: 'checkout', pod_note: XSS }, value: 0.5 }]
      : []
  })
  const slots = Array.from({ length: 12 }, (_, i) => T0 + i * 5 * SEC)
  await run.at(...slots)
  const broken = new Run(
    group([rule({ name: 'Broken', expr: 'bad(' })], { file: 'b.yml', name: 'errors', intervalMs: 5 * SEC }),
    history,
    () => {
      throw new Error(`bad_data: parse error near ${XSS}`)
    },
  )
  await broken.at(T0 + 55 * SEC)
  return { history, groups: [run.state, broken.state] }
}

const NOW = T0 + 57 * SEC

t.test('the model: alerts, workloads with timelines, decisions newest first, rule health', async t => {
  const { history, groups } = await scenario()
  const input: StatusInput = {
    now: NOW,
    version: '1.2.3',
    groups,
    history: (g, r) => history.get(g, r),
    windowMs: history.windowMs,
    bucketMs: history.bucketMs,
    refreshSeconds: 10,
    actions: {
      mode: 'execute',
      leader: true,
      decisions: [decision({ kind: 'dry_run', at: T0 }), decision()],
      trigger: { label: 'rollguard_trigger', value: 'rollback' },
      targets: ActionsConfig.parse({}).targets,
    },
  }
  const m = buildStatusModel(input)
  t.same(m.summary, { firing: 2, pending: 0, rules: 3, failing: 1, noData: 0 })
  t.same(
    m.alerts.map(a => [a.name, a.state, a.value, a.threshold, a.workload]),
    [
      ['HealthCheckFailing', 'firing', '0', '== 0', 'Deployment shop/cart'],
      ['HighErrorRate', 'firing', '0.5', '> 0.1', 'Deployment shop/checkout'],
    ],
  )
  t.same(m.alerts[1]?.labels, [
    ['pod_note', XSS],
    ['severity', 'critical'],
  ])
  t.equal(m.alerts[1]?.summary, 'checkout fails')
  t.same(
    m.workloads.map(w => [w.ref.name, w.firing, w.series.map(s => [s.rule, s.state, s.last, s.trigger])]),
    [
      ['cart', 1, [['HealthCheckFailing', 'firing', '0', true]]],
      ['checkout', 1, [['HighErrorRate', 'firing', '0.5', true]]],
    ],
  )
  t.same(m.workloads[0]?.series[0]?.labels, [['probe', XSS]], 'rule labels and workload labels are not repeated')
  t.same(
    m.decisions?.map(d => [d.headline, d.tone, d.kubectl]),
    [
      ['rolled back (revision 2 → 1)', 'action', 'kubectl -n shop rollout history deployment/checkout'],
      ['dry-run: would roll back (revision 2 → 1)', 'info', 'kubectl -n shop rollout history deployment/checkout'],
    ],
  )
  t.same(
    m.groups.map(g => [g.name, g.rules.map(r => [r.name, r.state, r.health, r.threshold])]),
    [
      ['errors', [['Broken', 'inactive', 'err', undefined]]],
      [
        'rollback-triggers',
        [
          ['HighErrorRate', 'firing', 'ok', '> 0.1'],
          ['HealthCheckFailing', 'firing', 'ok', '== 0'],
        ],
      ],
    ],
    'sorted by file, then name',
  )
  const checkout = m.workloads[1]?.series[0]?.timeline
  t.equal(checkout?.segments.length, 1, 'one run of values since the error rate went up')
  t.same(
    checkout?.bands.map(b => b.kind),
    ['absent'],
    'before that: below the threshold',
  )
  t.same(
    checkout?.markers,
    [
      { t: T0, text: 'dry-run rollback' },
      { t: T0 + 30 * SEC, text: 'rollback' },
    ],
    "the workload's rollbacks are marked",
  )
  t.same(m.workloads[0]?.series[0]?.timeline.markers, [], 'not on other workloads')
  t.equal(m.since, T0, 'the timelines start at the first evaluation while the daemon is younger than the window')
  const svg = timelineSvg(checkout!, 'x').value
  t.match(
    svg,
    /<text class="tl-mark-label" x="56" y="11" text-anchor="start">dry-run rollback<\/text>/,
    'a label near the left edge starts at its line',
  )
  t.match(svg, /text-anchor="middle">rollback<\/text>/)

  const many = buildStatusModel({
    ...input,
    actions: { ...input.actions!, decisions: Array.from({ length: 30 }, (_, i) => decision({ at: T0 + i })) },
  })
  t.equal(many.decisions?.length, 25)
  t.equal(many.decisionsHidden, 5)
  t.equal(many.decisions?.[0]?.at, T0 + 29, 'newest first')
  const other = buildStatusModel({
    ...input,
    actions: {
      ...input.actions!,
      decisions: [decision({ kind: 'ignored', workload: undefined, fromRevision: undefined })],
    },
  })
  t.same(
    other.decisions?.map(d => [d.headline, d.workload, d.kubectl]),
    [['ignored: names no workload', undefined, undefined]],
  )
})

function routeServer(over: Partial<StatusOptions> & Pick<StatusOptions, 'groups' | 'history'>) {
  return testServer({
    extraRoutes: [statusRoutes({ version: '1.2.3', actions: () => undefined, now: () => NOW, ...over })],
  })
}

t.test('GET /: escaped label values, security headers, the page without actions', async t => {
  const { history, groups } = await scenario()
  const app = routeServer({ groups: () => groups, history })
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/html; charset=utf-8/)
  t.equal(res.headers['content-security-policy'], CONTENT_SECURITY_POLICY)
  t.match(CONTENT_SECURITY_POLICY, /default-src 'none'; style-src 'unsafe-inline'; img-src data:/)
  t.equal(res.headers['x-content-type-options'], 'nosniff')
  t.equal(res.headers['cache-control'], 'no-store')
  const body = res.body
  t.match(body, /^<!doctype html>\n<html lang="en">/)
  t.match(body, /<meta http-equiv="refresh" content="10">/)
  t.notMatch(body, /<script/i, 'no script element at all: label values are text')
  t.match(body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/)
  t.match(body, /Automatic rollbacks are not configured/)
  t.match(body, /<title>\(2 firing\) rollguard<\/title>/)
  t.match(body, /HighErrorRate/)
  t.match(body, /<svg class="tl"/)
  t.match(body, /Deployment shop\/checkout/)
  t.match(body, /bad_data: parse error near &lt;script&gt;/, 'rule errors are shown, escaped')
  t.notMatch(body, /leader/, 'no leadership without actions')
  const head = await app.inject({ method: 'HEAD', url: '/' })
  t.equal(head.statusCode, 200)
  const json = await app.inject({ url: '/status.json' })
  t.equal(json.statusCode, 200)
  t.equal(json.headers['x-content-type-options'], 'nosniff')
  t.match(json.json(), { version: '1.2.3', summary: { firing: 2 }, decisions: undefined })
})

t.test('GET /: dry-run and execute banners, leader and follower, decisions, reload status', async t => {
  const { history, groups } = await scenario()
  const registry = new Registry()
  const ok = new Gauge({ name: 'rollguard_config_last_reload_successful', help: 'h', registers: [registry] })
  const at = new Gauge({
    name: 'rollguard_config_last_reload_success_timestamp_seconds',
    help: 'h',
    registers: [registry],
  })
  ok.set(1)
  at.set((NOW - 5 * MIN) / 1000)
  const config = ActionsConfig.parse({ mode: 'dry-run' })
  let leader = false
  let brake = { rollbacks: 2, limit: 5 }
  const service = {
    isLeader: () => leader,
    brakeCount: () => brake,
    recentDecisions: () => [
      decision({
        kind: 'skipped',
        reason: 'cooldown',
        message: 'in cooldown until 12:00',
        fromRevision: undefined,
        mode: 'dry-run',
      }),
    ],
  }
  let mode = config
  const app = routeServer({
    groups: () => groups,
    history,
    registry,
    actions: () => actionsStatus(service, mode),
    kubernetesLink: () => 'https://dash.example/{namespace}/{name}',
  })
  t.teardown(() => app.close())
  let body = (await app.inject({ url: '/' })).body
  t.match(body, /<strong>DRY-RUN<\/strong>/)
  t.match(body, /follower/)
  t.notMatch(body, /global brake/, "a follower's count does not decide: not shown")
  t.match(body, `config loaded <time datetime="${new Date(NOW - 5 * MIN).toISOString()}"`)
  t.match(body, /5m 0s ago/)
  t.match(body, /skipped<\/span> <span class="tag">dry-run<\/span>/)
  t.match(body, /reason: cooldown/)
  t.match(body, /<a href="https:\/\/dash.example\/shop\/checkout">Deployment shop\/checkout<\/a>/)
  t.match(body, /<code>kubectl -n shop rollout history deployment\/checkout<\/code>/)
  leader = true
  mode = ActionsConfig.parse({ mode: 'execute' })
  ok.set(0)
  body = (await app.inject({ url: '/' })).body
  t.match(body, /<strong>EXECUTE<\/strong>/)
  t.match(body, /chip ok">leader/)
  t.match(body, /<li>global brake: 2 of 5 automatic rollbacks in the last 1h<\/li>/)
  t.match(body, /config reload failed/)
  brake = { rollbacks: 5, limit: 5 }
  body = (await app.inject({ url: '/' })).body
  t.match(body, /chip firing">global brake engaged<\/span> 5 of 5 automatic rollbacks in the last 1h: no automatic/)
  const json = (await app.inject({ url: '/status.json' })).json() as { actions?: { brake?: unknown } }
  t.same(json.actions?.brake, { rollbacks: 5, limit: 5, windowMs: 3_600_000 }, 'in status.json too')
  t.equal(actionsStatus(undefined, config), undefined)
  t.equal(actionsStatus(service, undefined), undefined, 'actions removed by a reload: shown as not configured')
})

t.test('GET / with nothing loaded yet', async t => {
  const app = routeServer({ groups: () => [], history: new SeriesHistory(), registry: new Registry() })
  t.teardown(() => app.close())
  const body = (await app.inject({ url: '/' })).body
  t.match(body, /No alerts firing/)
  t.match(body, /no rules loaded/)
  t.match(body, /No pending or firing alerts/)
  t.match(body, /No rule returned a value for a workload in the last 15 minutes/)
  t.match(body, /No rule groups loaded/)
  const registry = new Registry()
  new Gauge({ name: 'rollguard_config_last_reload_successful', help: 'h', registers: [registry] }).set(1)
  const app2 = routeServer({
    groups: () => [],
    history: new SeriesHistory(),
    registry,
    actions: () => ({
      mode: 'execute',
      leader: true,
      decisions: [],
      trigger: { label: 'x', value: 'y' },
      targets: ActionsConfig.parse({}).targets,
    }),
  })
  t.teardown(() => app2.close())
  const body2 = (await app2.inject({ url: '/' })).body
  t.match(body2, /No rollback decisions yet/)
  t.match(body2, /<li>config loaded<\/li>/)
})

t.test('the y axis: from 0 unless negative, rounded out to readable numbers', async t => {
  t.same(yDomain([]), [0, 1])
  t.same(yDomain([0.5393, 0.1]), [0, 0.6])
  t.same(yDomain([6.2, 5]), [0, 8])
  t.same(yDomain([0, 0]), [0, 1.2])
  t.same(yDomain([-2, -2]), [-2, 0.2])
  t.same(yDomain([-3, 40]), [-3, 50])
  t.same(yDomain([2.5e9]), [0, 3e9])
})

t.test(
  'a full window: the timelines span the last 15 minutes; a rollback near now is labelled left of its line',
  async t => {
    const history = new SeriesHistory()
    const run = new Run(spec, history, (expr, at) =>
      expr.startsWith('sum') && at > T0 + 10 * MIN
        ? [{ labels: { namespace: 'shop', deployment: 'checkout' }, value: 0.3 }]
        : [],
    )
    await run.at(...Array.from({ length: 16 * 12 }, (_, i) => T0 + i * 5 * SEC))
    const now = T0 + 16 * MIN
    const app = routeServer({
      groups: () => [run.state],
      history,
      now: () => now,
      actions: () => ({
        mode: 'dry-run',
        leader: true,
        decisions: [decision({ kind: 'rolled_back', at: now - 2 * SEC })],
        trigger: { label: 'rollguard_trigger', value: 'rollback' },
        targets: ActionsConfig.parse({}).targets,
      }),
    })
    t.teardown(() => app.close())
    const model = (await app.inject({ url: '/status.json' })).json() as { since: number }
    t.equal(model.since, now - 15 * MIN)
    const body = (await app.inject({ url: '/' })).body
    t.match(body, /Workloads <span class="muted small">last 15 minutes<\/span>/)
    t.match(body, />−15m</)
    t.match(body, /text-anchor="end">rollback<\/text>/)
  },
)
