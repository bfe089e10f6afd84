// planReload: which components a reload rebuilds, decided from what each is built from, compared structurally.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { planReload, type Loaded, type ReloadPlan } from '../../src/composition/plan-reload.js'
import { loadConfig } from '../../src/config/load.js'
import { group, rule } from '../fixtures/engine.js'

const BASE = `
prometheus:
  url: http://prometheus:9090
alertmanager:
  urls: [http://alertmanager:9093]
probes:
  - name: checkout
    url: http://checkout/healthz
`

async function loaded(t: Test, yaml: string, groups = [group([rule()])]): Promise<Loaded> {
  const dir = mkdtempSync(join(tmpdir(), 'plan-reload-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'rollguard.yml'), yaml)
  const config = await loadConfig({ flags: new Map([['config', [join(dir, 'rollguard.yml')]]]), env: {}, cwd: dir })
  return { config, groups }
}

const NOTHING: ReloadPlan = {
  prometheus: false,
  notifier: false,
  probes: false,
  noData: false,
  actions: false,
  webhook: false,
  heapGrowth: false,
  restartOnly: [],
}

t.test('the same configuration, loaded again into new objects, changes nothing', async t => {
  const a = await loaded(t, BASE)
  const b = await loaded(t, BASE)
  t.not(a.config, b.config)
  t.same(planReload(a, b), NOTHING)
})

t.test('each section rebuilds only its own component', async t => {
  const base = await loaded(t, BASE)
  const cases: Array<[string, string, Partial<ReloadPlan>]> = [
    ['prometheus.timeout', BASE.replace('9090\n', '9090\n  timeout: 3s\n'), { prometheus: true }],
    ['prometheus.headers', BASE.replace('9090\n', '9090\n  headers: {X-Scope-OrgID: a}\n'), { prometheus: true }],
    ['alertmanager.urls', BASE.replace('9093]', '9093, http://am2:9093]'), { notifier: true }],
    ['global.external_labels', `${BASE}global:\n  external_labels: {cluster: eu}\n`, { notifier: true }],
    ['a probe URL', BASE.replace('/healthz', '/ready'), { probes: true }],
    ['no probes at all', BASE.replace(/probes:[\s\S]*$/, ''), { probes: true, noData: true }],
    ['rules.no_data_for', `${BASE}rules:\n  no_data_for: 20m\n`, { noData: true }],
    ['actions added', `${BASE}actions: {}\n`, { actions: true, webhook: true }],
    ['webhook added', `${BASE}webhook:\n  insecure_no_auth: true\n`, { webhook: true }],
    ['the listen address', `${BASE}web:\n  listen_address: 127.0.0.1:9999\n`, { restartOnly: ['web.listen_address'] }],
    ['kubernetes', `${BASE}kubernetes:\n  request_timeout: 5s\n`, { restartOnly: ['kubernetes'] }],
    ['runtime.heap_growth_percent', `${BASE}runtime:\n  heap_growth_percent: 100\n`, { heapGrowth: true }],
  ]
  for (const [what, yaml, expected] of cases) {
    const next = await loaded(t, yaml)
    t.same(planReload(base, next), { ...NOTHING, ...expected }, what)
  }
})

t.test('the no-data watch follows the rules it reads: group, name and expression', async t => {
  const base = await loaded(t, BASE, [group([rule({ name: 'A', expr: 'up == 0' })])])
  const annotated = await loaded(t, BASE, [group([rule({ name: 'A', expr: 'up == 0', forMs: 60_000 })])])
  t.same(planReload(base, annotated), NOTHING, 'a changed `for` is the rule manager’s business, not the watch’s')
  const otherExpr = await loaded(t, BASE, [group([rule({ name: 'A', expr: 'up == 1' })])])
  t.same(planReload(base, otherExpr), { ...NOTHING, noData: true })
  const otherGroup = await loaded(t, BASE, [group([rule({ name: 'A', expr: 'up == 0' })], { name: 'h' })])
  t.same(planReload(base, otherGroup), { ...NOTHING, noData: true })
})

t.test('a changed credential file is a change although the config text is the same', async t => {
  const dir = t.testdir({ token: 'one' })
  const yaml = `${BASE.replace('9090\n', `9090\n  authorization:\n    credentials_file: ${join(dir, 'token')}\n`)}`
  const before = await loaded(t, yaml)
  writeFileSync(join(dir, 'token'), 'two')
  const after = await loaded(t, yaml)
  t.same(planReload(before, after), { ...NOTHING, prometheus: true })
})
