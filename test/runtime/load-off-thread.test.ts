// slow: every test starts a loader worker thread, which compiles the TypeScript sources anew
import { join, relative } from 'node:path'
import { pathToFileURL } from 'node:url'
import t, { type Test } from 'tap'
import { ConfigError, ProblemsError, type ConfigInput } from '../../src/config/load.js'
import type { RuleGroupSpec } from '../../src/engine/spec.js'
import { loadAll, RulesError } from '../../src/runtime/load.js'
import { loadOffThread, WORKER_ENTRY } from '../../src/runtime/load-off-thread.js'
import { aliasBomb, manyAnnotations, realisticRules } from '../fixtures/big-yaml.js'
import { describeStall, heldMs, stallWhile } from '../fixtures/main-thread-stall.js'

const RULES = `groups:
  - name: g
    interval: 30s
    labels: { team: shop }
    rules:
      - alert: HighErrorRate
        expr: sum(rate(errors_total[5m])) > 1
        for: 2m
        labels: { severity: page, __proto__: odd }
        annotations:
          summary: "{{ $labels.team }} errors at {{ $value }}"
`

function setup(t: Test, files: Parameters<Test['testdir']>[0]): ConfigInput {
  const dir = t.testdir(files)
  return { flags: new Map([['config', [join(dir, 'rollguard.yml')]]]), env: {}, cwd: dir }
}

const config = (extra = '') => `prometheus:\n  url: http://127.0.0.1:9090\nrules:\n  files: [rules/*.yml]\n${extra}`

/** view is what the groups mean: every field, each template by its source and its expansion. */
function view(groups: readonly RuleGroupSpec[]): unknown {
  const data = { labels: { team: 'shop' }, externalLabels: {}, externalURL: 'http://x', value: 3 }
  const templates = (ts: RuleGroupSpec['rules'][number]['labels']) =>
    Object.entries(ts).map(([k, tpl]) => [k, tpl.source, tpl.expand(data, 0)])
  return groups.map(g => ({
    ...g,
    rules: g.rules.map(r => ({ ...r, labels: templates(r.labels), annotations: templates(r.annotations) })),
  }))
}

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p
  } catch (err) {
    return err as Error
  }
  throw new Error('expected the load to fail')
}

t.test('the worker loads exactly what loadAll loads in this thread, configuration frozen', async t => {
  const input = setup(t, {
    'rollguard.yml': config('  max_rules_per_file: 10000\n'),
    rules: { 'a.yml': RULES, 'b.yml': realisticRules(300_000) },
  })
  const [here, there] = [await loadAll(input), await loadOffThread(input)]
  t.same(there.config, here.config)
  t.ok(Object.isFrozen(there.config.doc.rules), 'frozen again after the clone')
  t.same(view(there.groups), view(here.groups))
  t.equal(
    there.groups[0]?.rules[0]?.annotations['summary']?.expand(
      { labels: { team: 'shop' }, externalLabels: {}, externalURL: '', value: 3 },
      0,
    ),
    'shop errors at 3',
  )
  t.ok(there.groups.length > 10)
  t.ok(WORKER_ENTRY.pathname.endsWith('/src/runtime/load-worker.ts'), 'from the sources under the test runner')
})

t.test('problems come back as the errors loadAll throws, every line naming its file', async t => {
  t.test('configuration', async t => {
    const err = await failure(loadOffThread(setup(t, { 'rollguard.yml': aliasBomb('probes') })))
    t.type(err, ConfigError)
    t.match((err as ConfigError).problems, [/rollguard\.yml:5:\d+: too many alias references/])
  })
  t.test('rules', async t => {
    const files = {
      'rollguard.yml': config(),
      rules: { 'a.yml': RULES, 'dup.yml': 'groups:\n  - name: x\n    name: y\n', 'big.yml': manyAnnotations(40_000) },
    }
    const err = await failure(loadOffThread(setup(t, files)))
    t.type(err, RulesError)
    t.match((err as RulesError).problems, [
      /rules\/big\.yml:1007:11: group "big", rule 1, "Big": field 'annotations\.a1000': too many annotations: 40000, at most 1000 \(rules\.max_annotations_per_rule\)$/,
      /rules\/dup\.yml:3:5: mapping key "name" already defined$/,
    ])
  })
})

t.test('PrometheusRule files load in the worker as in this thread; their errors name file:line:col', async t => {
  const object = (name: string, expr: string) =>
    `apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: { name: ${name}, namespace: shop }\nspec:\n  groups:\n    - name: g\n      rules:\n        - { alert: A, expr: "${expr}" }\n`
  const input = setup(t, {
    'rollguard.yml': config(),
    rules: { 'a.yml': RULES, 'objects.yml': `${object('one', 'up == 0')}---\n${object('two', 'up == 1')}` },
  })
  const [here, there] = [await loadAll(input), await loadOffThread(input)]
  t.same(view(there.groups), view(here.groups))
  t.same(
    there.groups.map(g => [relative(input.cwd, g.file), g.name, g.rules[0]?.expr]),
    [
      ['rules/a.yml', 'g', 'sum(rate(errors_total[5m])) > 1'],
      ['rules/objects.yml#shop/one', 'g', 'up == 0'],
      ['rules/objects.yml#shop/two', 'g', 'up == 1'],
    ],
  )
  const bad = setup(t, {
    'rollguard.yml': config(),
    rules: { 'objects.yml': `${object('one', 'up')}---\n${object('two', 'up ==')}` },
  })
  const err = await failure(loadOffThread(bad))
  t.type(err, RulesError)
  t.match((err as RulesError).problems, [
    /\/rules\/objects\.yml:17:35: PrometheusRule shop\/two: group "g", rule 1, "A": field 'expr': could not parse expression/,
  ])
})

t.test('without a worker entry it loads in this thread; a load over its time bound is stopped', async t => {
  const input = setup(t, { 'rollguard.yml': config(), rules: { 'a.yml': RULES } })
  const fallback = await loadOffThread(input, { entry: pathToFileURL('/nonexistent/load-worker.js') })
  t.same(view(fallback.groups), view((await loadAll(input)).groups))
  const slow = await failure(loadOffThread(input, { timeoutMs: 1 }))
  t.type(slow, ProblemsError)
  t.equal(slow.message, 'loading the configuration and rules took longer than 0.001s; stopped')
  const broken = join(t.testdir({ 'w.mjs': 'throw new Error("no such module")\n' }), 'w.mjs')
  t.equal(
    (await failure(loadOffThread(input, { entry: pathToFileURL(broken) }))).message,
    'loading the configuration and rules failed: no such module',
  )
})

t.test('loading megabytes of rules off the main thread leaves its event loop free', async t => {
  const input = setup(t, {
    'rollguard.yml': config(),
    rules: { 'kube.yml': realisticRules(1024 * 1024), 'more.yml': realisticRules(512 * 1024, 'Node') },
  })
  const { value, stall } = await stallWhile(() => loadOffThread(input))
  t.ok(value.groups.reduce((n, g) => n + g.rules.length, 0) > 2000, 'loaded')
  t.comment(describeStall(stall))
  t.ok(heldMs(stall) < 100, describeStall(stall))
})
