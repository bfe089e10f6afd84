// The no-data watch with a scripted data source and a fake clock: counts per distinct selector, verdicts, the log
// lines when a rule enters and leaves "no data", the metrics, reloads, probe rules without probes, the schedule.
import t from 'tap'
import { Registry } from 'prom-client'
import { evaluateGroup, newGroupState, type GroupOptions } from '../../src/engine/group.js'
import type { QueryFn } from '../../src/engine/ports.js'
import type { RuleGroupSpec } from '../../src/engine/spec.js'
import { CHECK_CONCURRENCY, NoDataWatch, type WatchSettings } from '../../src/nodata/watch.js'
import { QueryError } from '../../src/sources/prometheus.js'
import { createRuleDataMetrics } from '../../src/telemetry/rule-data-metrics.js'
import { logSink, sleep } from '../fixtures/e2e.js'
import { group, MIN, rule, sample, scripted } from '../fixtures/engine.js'

const T0 = 1_767_225_600_000
const SETTINGS: WatchSettings = {
  checkIntervalMs: 0,
  noDataForMs: 10 * MIN,
  probesConfigured: true,
  mergeCounts: true,
}

const missing = rule({ name: 'Missing', expr: 'rate(renamed_requests_total[5m]) > 1' })
const present = rule({ name: 'Present', expr: 'up{job="api"} == 0' })
const shared = rule({ name: 'Shared', expr: 'sum(rate(renamed_requests_total[5m])) > 2 or absent(nothing)' })
const probe = rule({ name: 'HealthCheckFailing', expr: 'rollguard_probe_success == 0' })
const rules = group([missing, present, shared, probe], { file: 'r.yml', name: 'g' })

/** setup builds a watch whose data source answers count queries from `series` (query → count; a thrown error is a failed count). */
function setup(
  series: (query: string) => number | Error,
  over: { now?: () => number; owns?: (groupKey: string) => boolean } = {},
) {
  const registry = new Registry()
  const log = logSink()
  const queries: string[] = []
  const query: QueryFn = async expr => {
    queries.push(expr)
    const n = series(expr)
    if (n instanceof Error) throw n
    return { samples: n === 0 ? [] : [sample({}, n)], warnings: [] }
  }
  let now = T0
  const watch = new NoDataWatch({
    logger: log.logger,
    metrics: createRuleDataMetrics(registry),
    query,
    now: over.now ?? (() => now),
    ...(over.owns === undefined ? {} : { owns: over.owns }),
  })
  const metric = async (name: string) => (await registry.getSingleMetric(name)?.get())?.values ?? []
  const at = (ms: number) => (now = ms)
  return { watch, log, queries, metric, at }
}

const status = (watch: NoDataWatch, spec: RuleGroupSpec, name: string) => {
  const state = newGroupState(spec, MIN, 'http://rg')
  const r = state.rules.find(x => x.spec.name === name)
  return r === undefined ? undefined : watch.status(state, r)
}

/** evaluation is the engine's options for evaluating a group against `query`. */
const evaluation = (query: QueryFn): GroupOptions => ({
  query,
  clock: () => 0,
  externalLabels: {},
  externalURL: 'http://rg',
  resendDelayMs: MIN,
  maxConcurrentQueries: 1,
})

const messages = (log: ReturnType<typeof logSink>) => log.lines().map(l => [l['level'], l['msg']])

t.test(
  'a rule none of whose selectors matches for no_data_for is flagged once, and cleared once when data comes',
  async t => {
    let renamed = 0
    const { watch, log, queries, metric, at } = setup(q =>
      q.includes('renamed_requests_total') ? renamed : q.includes('up{') ? 3 : 1,
    )
    watch.update([rules], SETTINGS)
    t.same(
      await metric('rollguard_rule_no_data'),
      [
        { value: 0, labels: { rule_group: 'r.yml;g', alertname: 'Missing' } },
        { value: 0, labels: { rule_group: 'r.yml;g', alertname: 'Present' } },
        { value: 0, labels: { rule_group: 'r.yml;g', alertname: 'Shared' } },
        { value: 0, labels: { rule_group: 'r.yml;g', alertname: 'HealthCheckFailing' } },
      ],
      'every rule has the gauge at 0 from the start',
    )
    for (let i = 0; i <= 10; i++) {
      at(T0 + i * MIN)
      await watch.check()
    }
    t.same(
      new Set(queries),
      new Set([
        'count(last_over_time(renamed_requests_total[5m]))',
        'count(up{job="api"})',
        'count(rollguard_probe_success)',
      ]),
      'absent() selectors are not counted',
    )
    t.equal(queries.length, 33, 'a selector shared by two rules is counted once per round')
    t.same(status(watch, rules, 'Missing'), {
      noData: { since: T0, selectors: ['renamed_requests_total[5m]'] },
      probesMissing: false,
    })
    t.same(status(watch, rules, 'Shared')?.noData?.since, T0)
    t.same(status(watch, rules, 'Present'), { noData: undefined, probesMissing: false })
    t.equal(status(watch, group([rule({ name: 'Unknown' })]), 'Unknown'), undefined, 'a rule the watch was not given')
    t.same(
      (await metric('rollguard_rule_no_data')).filter(v => v.value === 1).map(v => v.labels.alertname),
      ['Missing', 'Shared'],
    )
    const started = log.lines().filter(l => String(l['msg']).includes('has no data'))
    t.same(
      started.map(l => [l['level'], l['rule'], l['group'], l['since']]),
      [
        [40, 'Missing', 'r.yml;g', new Date(T0).toISOString()],
        [40, 'Shared', 'r.yml;g', new Date(T0).toISOString()],
      ],
    )
    t.match(started[0]?.['msg'], /none of its selectors matched a series for 10m; it cannot fire/)
    t.same(started[0]?.['selectors'], ['renamed_requests_total[5m]'])

    at(T0 + 11 * MIN)
    await watch.check()
    t.equal(
      log.lines().filter(l => String(l['msg']).includes('has no data')).length,
      2,
      'logged once, not at every check',
    )
    renamed = 7
    at(T0 + 12 * MIN)
    await watch.check()
    t.equal(status(watch, rules, 'Missing')?.noData, undefined)
    t.same(
      log
        .lines()
        .filter(l => String(l['msg']).includes('has data again'))
        .map(l => l['rule']),
      ['Missing', 'Shared'],
    )
    t.same(
      (await metric('rollguard_rule_no_data')).filter(v => v.value === 1),
      [],
    )
    t.same(await metric('rollguard_rule_selector_checks_total'), [
      { value: 39, labels: { result: 'success' } },
      { value: 0, labels: { result: 'failure' } },
    ])
  },
)

t.test(
  'a failed count is no evidence: no flag while the source is down, and the time without counts does not count',
  async t => {
    let down = false
    const { watch, log, metric, at } = setup(q =>
      down ? new Error('connection refused') : q.includes('renamed') ? 0 : 1,
    )
    watch.update([group([missing])], SETTINGS)
    at(T0)
    await watch.check()
    down = true
    for (let i = 1; i <= 12; i++) {
      at(T0 + i * MIN)
      await watch.check()
    }
    t.equal(status(watch, group([missing]), 'Missing')?.noData, undefined, 'not flagged on the strength of one count')
    t.same(
      (await metric('rollguard_rule_selector_checks_total')).map(v => v.value),
      [1, 12],
    )
    t.match(messages(log), [[20, 'no-data check failed']], 'failures are logged at debug level')
    down = false
    at(T0 + 13 * MIN)
    await watch.check()
    t.same(
      status(watch, group([missing]), 'Missing')?.noData?.since,
      T0,
      'the empty counts on either side of the outage prove the period',
    )
  },
)

t.test(
  'reload: new selectors are counted, removed rules and selectors are forgotten, metrics leave /metrics',
  async t => {
    const { watch, metric, at, queries } = setup(q => (q.includes('renamed') ? 0 : 1))
    const evalOpts: GroupOptions = {
      query: scripted(() => [sample({ a: '1' }), sample({ a: '2' })]),
      clock: () => 0,
      externalLabels: {},
      externalURL: 'http://rg',
      resendDelayMs: MIN,
      maxConcurrentQueries: 1,
    }
    const state = newGroupState(rules, MIN, 'http://rg')
    watch.update([rules], SETTINGS)
    watch.recordEvaluation(state, await evaluateGroup(state, T0, evalOpts))
    for (let i = 0; i <= 10; i++) {
      at(T0 + i * MIN)
      await watch.check()
    }
    t.ok(status(watch, rules, 'Missing')?.noData)
    t.equal((await metric('rollguard_rule_last_evaluation_samples')).length, 4)

    const edited = group([present, rule({ name: 'Missing', expr: 'rate(renamed_requests_total[10m]) > 1' })], {
      file: 'r.yml',
      name: 'g',
    })
    queries.length = 0
    watch.update([edited], SETTINGS)
    t.same(
      status(watch, edited, 'Missing'),
      { noData: undefined, probesMissing: false },
      'a changed expression is a new rule; its selector was never counted',
    )
    t.equal(status(watch, rules, 'Shared'), undefined, 'removed')
    t.same(
      (await metric('rollguard_rule_no_data')).map(v => [v.labels.alertname, v.value]),
      [
        ['Missing', 0],
        ['Present', 0],
      ],
      'removed rules leave /metrics',
    )
    t.same(
      (await metric('rollguard_rule_last_evaluation_samples')).map(v => v.labels.alertname),
      ['Missing', 'Present'],
    )
    at(T0 + 11 * MIN)
    await watch.check()
    t.same(
      queries.sort(),
      ['count(last_over_time(renamed_requests_total[10m]))', 'count(up{job="api"})'],
      'only the selectors of the loaded rules',
    )
    // Back to the first rule set: the selectors dropped by the edit start over (their counts were forgotten).
    watch.update([rules], SETTINGS)
    t.equal(status(watch, rules, 'Missing')?.noData, undefined)
  },
)

t.test('a reload that adds a rule reading selectors already known to be empty reports it at once', async t => {
  const { watch, log, at } = setup(q => (q.includes('renamed') ? 0 : 1))
  watch.update([group([missing])], SETTINGS)
  for (let i = 0; i <= 10; i++) {
    at(T0 + i * MIN)
    await watch.check()
  }
  const twin = group([missing, rule({ name: 'Twin', expr: 'rate(renamed_requests_total[5m]) > 9' })])
  watch.update([twin], SETTINGS)
  t.ok(status(watch, twin, 'Twin')?.noData)
  t.same(
    log
      .lines()
      .filter(l => String(l['msg']).includes('has no data'))
      .map(l => l['rule']),
    ['Missing', 'Twin'],
  )
})

t.test(
  "a reload keeps a rule's verdict while its group, name and expression stay; two rules of one name are judged apart",
  async t => {
    const { watch, log, at, metric } = setup(q => (q.includes('renamed') ? 0 : 1))
    // Two rules named Errors in one group, as for two severities: only the first reads the renamed series.
    const first = rule({ name: 'Errors', expr: 'rate(renamed_requests_total[5m]) > 1' })
    const second = rule({ name: 'Errors', expr: 'up{job="api"} == 0' })
    const spec = group([first, second], { file: 'r.yml', name: 'g' })
    const statuses = (s: RuleGroupSpec) => {
      const state = newGroupState(s, MIN, 'http://rg')
      return state.rules.map(r => watch.status(state, r)?.noData?.since)
    }
    watch.update([spec], SETTINGS)
    for (let i = 0; i <= 10; i++) {
      at(T0 + i * MIN)
      await watch.check()
    }
    t.same(statuses(spec), [T0, undefined], 'the verdict is per rule, not per name')
    const gauge = async () => (await metric('rollguard_rule_no_data')).map(v => [v.labels['alertname'], v.value])
    t.same(await gauge(), [['Errors', 1]], 'one series per name: no data if any rule of that name has none')
    const swapped = group([second, first], { file: 'r.yml', name: 'g' })
    watch.update([swapped], SETTINGS)
    await watch.check()
    t.same(await gauge(), [['Errors', 1]], 'whichever of them comes first')
    watch.update([spec], SETTINGS)
    // The file read again: equal rules, new objects and strings.
    const reread = group([{ ...first, expr: `${first.expr}` }, { ...second }], { file: 'r.yml', name: 'g' })
    watch.update([reread], SETTINGS)
    t.same(statuses(reread), [T0, undefined], 'kept across the reload, with its start')
    const noData = () => log.lines().filter(l => String(l['msg']).includes('has no data')).length
    t.equal(noData(), 1, 'not logged again')
    // A changed expression is a new rule: its evidence starts again (the selector is the same, so it is flagged at once).
    const changed = group([{ ...first, expr: 'rate(renamed_requests_total[5m]) > 5' }, second], {
      file: 'r.yml',
      name: 'g',
    })
    watch.update([changed], SETTINGS)
    t.same(statuses(changed), [T0, undefined])
    t.equal(noData(), 2, 'the changed rule is reported as a new one')
    const elsewhere = group([first, second], { file: 'r.yml', name: 'other' })
    t.same(statuses(elsewhere), [undefined, undefined], 'the same rules in another group are unknown')
  },
)

t.test('probe rules without probes: a warning per rule set, and a flag on the rule', async t => {
  const { watch, log } = setup(() => 0)
  watch.update([rules], { ...SETTINGS, probesConfigured: false })
  t.same(status(watch, rules, 'HealthCheckFailing'), { noData: undefined, probesMissing: true })
  t.same(status(watch, rules, 'Present')?.probesMissing, false)
  const warning = log.lines().find(l => String(l['msg']).includes('no health probes are configured'))
  t.same(warning?.['rules'], ['r.yml;g HealthCheckFailing'])
  t.equal(warning?.['level'], 40)
  watch.update([rules], SETTINGS)
  t.same(status(watch, rules, 'HealthCheckFailing')?.probesMissing, false, 'probes configured by a reload')
  watch.update([group([present])], { ...SETTINGS, probesConfigured: false })
  t.equal(
    log.lines().filter(l => String(l['msg']).includes('no health probes')).length,
    1,
    'no warning without probe rules',
  )
})

t.test("per-rule samples: the last evaluation's count, and when a rule last returned any", async t => {
  const { watch, metric } = setup(() => 1)
  const spec = group(
    [rule({ name: 'A', expr: 'a > 1' }), rule({ name: 'A', expr: 'b > 1' }), rule({ name: 'B', expr: 'c > 1' })],
    { file: 'r.yml', name: 'g' },
  )
  watch.update([spec], SETTINGS)
  const state = newGroupState(spec, MIN, 'http://rg')
  let answer: Record<string, number | Error> = { 'a > 1': 2, 'b > 1': 1, 'c > 1': 0 }
  const opts = () =>
    evaluation(async expr => {
      const n = answer[expr] ?? 0
      if (n instanceof Error) throw n
      return { samples: Array.from({ length: n }, (_, i) => sample({ i: String(i) })), warnings: [] }
    })
  watch.recordEvaluation(state, await evaluateGroup(state, T0, opts()))
  const values = async (name: string) =>
    Object.fromEntries((await metric(name)).map(v => [v.labels.alertname, v.value]))
  t.same(await values('rollguard_rule_last_evaluation_samples'), { A: 3, B: 0 }, 'rules sharing a name are summed')
  t.same(await values('rollguard_rule_last_samples_timestamp_seconds'), { A: T0 / 1000, B: 0 }, '0: never returned any')
  answer = { 'a > 1': new Error('timeout'), 'b > 1': 0, 'c > 1': 1 }
  watch.recordEvaluation(state, await evaluateGroup(state, T0 + MIN, opts()))
  t.same(await values('rollguard_rule_last_evaluation_samples'), { A: 0, B: 1 }, 'a failed evaluation returned nothing')
  t.same(await values('rollguard_rule_last_samples_timestamp_seconds'), { A: T0 / 1000, B: (T0 + MIN) / 1000 })
  // The same answer again: the same values (set only on change, so nothing else may have changed them).
  answer = { 'a > 1': 0, 'b > 1': 0, 'c > 1': 1 }
  watch.recordEvaluation(state, await evaluateGroup(state, T0 + 2 * MIN, opts()))
  t.same(await values('rollguard_rule_last_evaluation_samples'), { A: 0, B: 1 })
  t.same(await values('rollguard_rule_last_samples_timestamp_seconds'), {
    A: T0 / 1000,
    B: (T0 + 2 * MIN) / 1000,
  })
  // B removed by a reload and brought back by the next: its series come back with the next evaluation's values.
  const withoutB = group([rule({ name: 'A', expr: 'a > 1' }), rule({ name: 'A', expr: 'b > 1' })], {
    file: 'r.yml',
    name: 'g',
  })
  watch.update([withoutB], SETTINGS)
  t.same(await values('rollguard_rule_last_evaluation_samples'), { A: 0 }, 'removed with its rule')
  watch.update([spec], SETTINGS)
  watch.recordEvaluation(state, await evaluateGroup(state, T0 + 3 * MIN, opts()))
  t.same(await values('rollguard_rule_last_evaluation_samples'), { A: 0, B: 1 })
  t.same(await values('rollguard_rule_last_samples_timestamp_seconds'), {
    A: T0 / 1000,
    B: (T0 + 3 * MIN) / 1000,
  })
})

t.test('with sharding, a replica counts and judges only the rules of the groups it owns now', async t => {
  let owned = 'a.yml;a'
  const { watch, log, queries, metric, at } = setup(q => (q.includes('up{') ? 2 : 0), {
    owns: key => key === owned,
  })
  const a = group(
    [rule({ name: 'GoneA', expr: 'rate(gone_a_total[5m]) > 1' }), rule({ name: 'OnlyA', expr: 'only_a > 1' })],
    { file: 'a.yml', name: 'a' },
  )
  const b = group(
    [
      rule({ name: 'GoneB', expr: 'gone_b > 1' }),
      rule({ name: 'UpB', expr: 'up{job="api"} == 0' }),
      rule({ name: 'Both', expr: 'rate(gone_a_total[5m]) > 1' }),
    ],
    { file: 'b.yml', name: 'b' },
  )
  const gauges = async () =>
    Object.fromEntries((await metric('rollguard_rule_no_data')).map(v => [v.labels.alertname, v.value]))
  const round = async (minute: number) => {
    at(T0 + minute * MIN)
    queries.length = 0
    await watch.check()
    return [...queries].sort()
  }

  watch.update([a, b], { ...SETTINGS, mergeCounts: false })
  t.same(await gauges(), { GoneA: 0, OnlyA: 0 }, "only the owned group's rules have a gauge")
  t.same(
    await round(0),
    ['count(last_over_time(gone_a_total[5m]))', 'count(only_a)'],
    "only the owned group's selectors are counted",
  )
  for (let m = 1; m <= 10; m++) await round(m)
  t.same(status(watch, a, 'OnlyA')?.noData?.since, T0, 'flagged after no_data_for')
  t.same(
    status(watch, b, 'GoneB'),
    { noData: undefined, probesMissing: false },
    'no verdict on a group it does not own',
  )
  t.same(await gauges(), { GoneA: 1, OnlyA: 1 })
  const state = newGroupState(a, MIN, 'http://rg')
  watch.recordEvaluation(
    state,
    await evaluateGroup(
      state,
      T0,
      evaluation(async () => ({ samples: [], warnings: [] })),
    ),
  )
  const samples = async () => (await metric('rollguard_rule_last_evaluation_samples')).map(v => v.labels.alertname)
  t.same(await samples(), ['GoneA', 'OnlyA'])

  owned = 'b.yml;b'
  t.same(
    await round(11),
    ['count(gone_b)', 'count(last_over_time(gone_a_total[5m]))', 'count(up{job="api"})'],
    "the other group's selectors, a shared one included",
  )
  t.same(await gauges(), { GoneB: 0, UpB: 0, Both: 1 }, "a group given away takes its rules' gauges with it")
  t.same(await samples(), [], 'and its sample gauges')
  t.same(status(watch, b, 'Both')?.noData?.since, T0, 'a selector counted all along keeps its evidence')
  t.equal(status(watch, a, 'OnlyA')?.noData, undefined)
  t.same(
    log.lines().filter(l => String(l['msg']).includes('has data again')),
    [],
    'giving a group away is not its rules having data again',
  )

  owned = 'a.yml;a'
  t.same(await round(12), ['count(last_over_time(gone_a_total[5m]))', 'count(only_a)'])
  t.equal(status(watch, a, 'OnlyA')?.noData, undefined, 'taken back: the counts before the gap are no evidence')
  t.same(status(watch, a, 'GoneA')?.noData?.since, T0)
  for (let m = 13; m <= 21; m++) await round(m)
  t.equal(status(watch, a, 'OnlyA')?.noData, undefined, '9 minutes of evidence since it came back')
  await round(22)
  t.same(status(watch, a, 'OnlyA')?.noData?.since, T0 + 12 * MIN, 'flagged no_data_for after it came back')

  owned = ''
  t.same(await round(23), [], 'a replica that owns nothing (or cannot prove its membership) counts nothing')
  t.same(await gauges(), {})
})

t.test('the schedule: a round at once on update, then every interval; bounded concurrency; stop waits', async t => {
  let inFlight = 0
  let most = 0
  const { watch, queries } = setup(() => 0, { now: Date.now })
  const many = group(Array.from({ length: 12 }, (_, i) => rule({ name: `R${i}`, expr: `metric_${i} > 0` })))
  // Slow counts, so that rounds overlap an update.
  const slow = new NoDataWatch({
    logger: logSink().logger,
    metrics: createRuleDataMetrics(new Registry()),
    query: async expr => {
      queries.push(expr)
      most = Math.max(most, ++inFlight)
      await sleep(5)
      inFlight--
      return { samples: [], warnings: [] }
    },
  })
  t.teardown(() => slow.stop())
  slow.update([many], { ...SETTINGS, checkIntervalMs: 40 })
  await sleep(15)
  slow.update([many], { ...SETTINGS, checkIntervalMs: 40 }) // while the first round runs: another round right after it
  await sleep(150)
  t.ok(
    queries.length >= 36,
    `rounds at once, again after the update and then every interval (${queries.length} counts)`,
  )
  t.equal(most, CHECK_CONCURRENCY, 'never more counts in flight than the bound')
  await slow.stop()
  const after = queries.length
  await sleep(80)
  t.equal(queries.length, after, 'no round after stop')
  watch.update([many], SETTINGS)
  await sleep(20)
  t.equal(queries.length, after, 'interval 0: the watch is off')
  await watch.stop()
})

t.test(
  'rules generated per Deployment: one count by pod for all of them; a Deployment without series is flagged alone',
  async t => {
    const pods = ['cart-1', 'checkout-1', 'gone-1']
    const perPod = group(
      pods.map(p =>
        rule({ name: `Errors-${p}`, expr: `rate(http_requests_total{namespace="shop",pod="${p}"}[1m]) > 1` }),
      ),
      { file: 'r.yml', name: 'team' },
    )
    let refuse = false
    let down = false
    const registry = new Registry()
    const log = logSink()
    const queries: string[] = []
    let now = T0
    const watch = new NoDataWatch({
      logger: log.logger,
      metrics: createRuleDataMetrics(registry),
      now: () => now,
      query: async expr => {
        queries.push(expr)
        if (down) throw new Error('connection refused')
        if (expr.startsWith('count by')) {
          if (refuse) throw new QueryError('execution', 422, 'query processing would load too many samples')
          return { samples: [sample({ pod: 'cart-1' }, 2), sample({ pod: 'checkout-1' }, 1)], warnings: [] }
        }
        return { samples: expr.includes('gone-1') ? [] : [sample({}, 1)], warnings: [] }
      },
    })
    watch.update([perPod], SETTINGS)
    const flagged = () => pods.filter(p => status(watch, perPod, `Errors-${p}`)?.noData !== undefined)
    for (let i = 0; i <= 10; i++) {
      now = T0 + i * MIN
      await watch.check()
    }
    t.same(
      [...new Set(queries)],
      ['count by (pod) (last_over_time(http_requests_total{namespace="shop",pod=~"cart-1|checkout-1|gone-1"}[1m]))'],
      'one query a round',
    )
    t.same(flagged(), ['gone-1'], 'a value missing from the answer counts 0')
    const checks = async () => (await registry.getSingleMetric('rollguard_rule_selector_checks_total')?.get())?.values
    t.same(
      (await checks())?.map(v => [v.labels['result'], v.value]),
      [
        ['success', 33],
        ['failure', 0],
      ],
      'counted per selector',
    )

    refuse = true
    queries.length = 0
    now = T0 + 11 * MIN
    await watch.check()
    t.same(
      queries.slice(1),
      pods.map(p => `count(last_over_time(http_requests_total{namespace="shop",pod="${p}"}[1m]))`),
      'a refused merged count is counted selector by selector',
    )
    t.same(flagged(), ['gone-1'])

    down = true
    now = T0 + 12 * MIN
    await watch.check()
    t.same(flagged(), ['gone-1'], 'a failed count changes no verdict')
    t.same(
      (await checks())?.map(v => [v.labels['result'], v.value]),
      [
        ['success', 36],
        ['failure', 3],
      ],
    )

    down = false
    refuse = false
    watch.update([perPod], { ...SETTINGS, mergeCounts: false })
    queries.length = 0
    now = T0 + 13 * MIN
    await watch.check()
    t.same(
      queries,
      pods.map(p => `count(last_over_time(http_requests_total{namespace="shop",pod="${p}"}[1m]))`),
      'with query coalescing off, every selector is counted on its own',
    )
  },
)
