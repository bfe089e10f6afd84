// Rules that see no data on the API and the status page: an added noData field on /api/v1/rules (Prometheus's fields
// untouched), a "no data" badge instead of "ok", a page that is not green, and the probe-rule flag.
import t from 'tap'
import type { GroupState } from '../../src/engine/group.js'
import type { GroupSnapshot, RuleSnapshot } from '../../src/engine/snapshot.js'
import type { RuleDataStatus } from '../../src/nodata/watch.js'
import { SeriesHistory } from '../../src/server/status/history.js'
import { renderStatusPage } from '../../src/server/status/render.js'
import { statusRoutes } from '../../src/server/status/route.js'
import { buildStatusModel } from '../../src/server/status/view-model.js'
import { group, MIN, rule, SEC } from '../fixtures/engine.js'
import { evaluated, T0, testServer } from './fixtures/server.js'

const spec = group(
  [
    rule({ name: 'RenamedErrors', expr: 'rate(http_server_errors_total[5m]) > 1' }),
    rule({ name: 'Up', expr: 'up == 0' }),
    rule({ name: 'HealthCheckFailing', expr: 'rollguard_probe_success == 0' }),
  ],
  { file: 'r.yml', name: 'triggers', intervalMs: 30 * SEC },
)
const SINCE = T0 - 20 * MIN
const SINCE_API = '2025-12-31T23:40:00Z' // Go's RFC3339Nano, as every time on the API

/** lookup flags RenamedErrors and HealthCheckFailing as no data; HealthCheckFailing reads probes that are not configured. */
function lookup(_group: GroupSnapshot, rule: RuleSnapshot): RuleDataStatus | undefined {
  if (rule.spec.name === 'RenamedErrors')
    return { noData: { since: SINCE, selectors: ['http_server_errors_total[5m]'] }, probesMissing: false }
  if (rule.spec.name === 'HealthCheckFailing')
    return { noData: { since: SINCE, selectors: ['rollguard_probe_success'] }, probesMissing: true }
  if (rule.spec.name === 'Up') return { noData: undefined, probesMissing: false }
  return undefined
}

async function groups(): Promise<GroupState[]> {
  return [await evaluated(spec, [T0], () => [])]
}

t.test('/api/v1/rules: noData is added after the Prometheus fields, only on rules that see no data', async t => {
  const live = await groups()
  const app = testServer({ groups: () => live, ruleData: lookup })
  t.teardown(() => app.close())
  const rules = (await app.inject({ url: '/api/v1/rules' })).json().data.groups[0].rules as Array<
    Record<string, unknown>
  >
  t.same(
    rules.map(r => [r['name'], r['health'], r['noData']]),
    [
      ['RenamedErrors', 'ok', { since: SINCE_API, selectors: ['http_server_errors_total[5m]'] }],
      ['Up', 'ok', undefined],
      ['HealthCheckFailing', 'ok', { since: SINCE_API, selectors: ['rollguard_probe_success'] }],
    ],
  )
  t.same(Object.keys(rules[0] ?? {}), [
    'state',
    'name',
    'query',
    'duration',
    'keepFiringFor',
    'labels',
    'annotations',
    'alerts',
    'health',
    'evaluationTime',
    'lastEvaluation',
    'type',
    'noData',
  ])
  t.same(Object.keys(rules[1] ?? {}).includes('noData'), false)
  const plain = testServer({ groups: () => live })
  t.teardown(() => plain.close())
  t.notMatch(
    (await plain.inject({ url: '/api/v1/rules' })).body,
    /noData/,
    "without the watch: Prometheus's shape only",
  )
})

t.test(
  'the status page: a "no data" badge, the selectors, the probe flag, and a summary that is not green',
  async t => {
    const live = await groups()
    const input = {
      now: T0 + 5 * SEC,
      version: 't',
      groups: live,
      history: () => undefined,
      windowMs: 15 * MIN,
      bucketMs: 5 * SEC,
      refreshSeconds: 10,
      actions: undefined,
      ruleData: lookup,
    }
    const m = buildStatusModel(input)
    t.same(m.summary, { firing: 0, pending: 0, rules: 3, failing: 0, noData: 2 })
    t.same(
      m.groups[0]?.rules.map(r => [r.name, r.health, r.noData?.since, r.probesMissing]),
      [
        ['RenamedErrors', 'ok', SINCE, false],
        ['Up', 'ok', undefined, false],
        ['HealthCheckFailing', 'ok', SINCE, true],
      ],
    )
    const page = renderStatusPage(m)
    t.match(
      page,
      /<span class="big nodata">No alerts firing<\/span> <span class="nodata">2 of 3 rules see no data<\/span>/,
    )
    const rows = page.split('<tr').filter(r => r.includes('<td><strong>'))
    t.match(rows[0], /^ class="row-nodata">/)
    t.match(rows[0], /<span class="chip nodata"[^>]*>no data<\/span>/)
    t.match(rows[0], /no series match <code>http_server_errors_total\[5m\]<\/code> since <time[^>]*>20m ago<\/time>/)
    t.notMatch(rows[0], /chip ok/, 'never "ok"')
    t.match(rows[1], /<span class="chip ok">ok<\/span>/)
    t.match(rows[2], /no probes configured/)
    const fine = renderStatusPage(buildStatusModel({ ...input, ruleData: undefined }))
    t.match(
      fine,
      /<span class="big ok">No alerts firing<\/span> <span class="muted">3 rules healthy<\/span>/,
      'without verdicts: as before',
    )
    const failing = renderStatusPage(
      buildStatusModel({
        ...input,
        groups: [
          await evaluated(spec, [T0], () => {
            throw new Error('down')
          }),
        ],
      }),
    )
    t.match(failing, /3 of 3 rules failing · 2 of 3 rules see no data/)
    t.match(failing, /<span class="chip firing">err<\/span>/, 'an error shows as an error, not as no data')
  },
)

t.test('GET /status.json carries the verdicts', async t => {
  const live = await groups()
  const app = testServer({
    extraRoutes: [
      statusRoutes({
        groups: () => live,
        history: new SeriesHistory(),
        version: 't',
        actions: () => undefined,
        ruleData: lookup,
      }),
    ],
  })
  t.teardown(() => app.close())
  const json = (await app.inject({ url: '/status.json' })).json()
  t.equal(json.summary.noData, 2)
  t.same(json.groups[0].rules[2].probesMissing, true)
})
