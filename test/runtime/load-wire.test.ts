import t from 'tap'
import type { RuleGroupSpec } from '../../src/engine/spec.js'
import { parseRuleFile } from '../../src/rules/load.js'
import { Assembler, lazyTemplate, wireChunks } from '../../src/runtime/load-wire.js'
import { Slices } from '../../src/sources/sliced-json.js'
import { realisticRules } from '../fixtures/big-yaml.js'

const data = {
  labels: { pod: 'p-1', namespace: 'shop' },
  externalLabels: {},
  externalURL: 'http://rollguard',
  value: 0.95,
}

/** view is what a spec means: every field, each template by its source and its expansion. */
function view(groups: readonly RuleGroupSpec[]): unknown {
  const templates = (ts: Record<string, { source: string; expand: (d: typeof data, at: number) => string }>) =>
    Object.entries(ts).map(([k, tpl]) => [k, tpl.source, tpl.expand(data, 0)])
  return groups.map(g => ({
    ...g,
    rules: g.rules.map(r => ({ ...r, labels: templates(r.labels), annotations: templates(r.annotations) })),
  }))
}

async function roundTrip(
  groups: readonly RuleGroupSpec[],
  maxChars?: number,
): Promise<{ chunks: number; groups: RuleGroupSpec[] }> {
  const chunks = wireChunks(groups, maxChars)
  const assembler = new Assembler()
  // Through structured clone, as between threads.
  for (const chunk of chunks) await assembler.add(structuredClone(chunk), new Slices())
  return { chunks: chunks.length, groups: assembler.groups() }
}

t.test('rules cross as chunks of bounded size and come back the same, templates compiled again', async t => {
  const groups = parseRuleFile('r.yml', realisticRules(200_000)).groups
  const rules = groups.reduce((n, g) => n + g.rules.length, 0)
  t.ok(rules > 200, `${rules} rules`)
  const big = await roundTrip(groups)
  t.equal(big.chunks, 2, 'about 128 K characters a chunk')
  t.same(view(big.groups), view(groups))
  const small = await roundTrip(groups, 1)
  t.equal(small.chunks, rules, 'at least one rule a chunk')
  t.same(view(small.groups), view(groups))
})

t.test('empty groups, no groups, odd label names', async t => {
  t.same((await roundTrip([])).groups, [])
  const f = parseRuleFile(
    'r.yml',
    'groups:\n  - name: empty\n  - name: g\n    labels: {team: a}\n    rules: [{alert: A, expr: up, labels: {__proto__: x}}]\n',
  )
  const back = await roundTrip(f.groups)
  t.same(view(back.groups), view(f.groups))
  t.equal(back.groups[1]?.rules[0]?.labels['__proto__']?.source, 'x', 'an own label, not a prototype')
  t.equal(Object.getPrototypeOf(back.groups[1]?.rules[0]?.labels), Object.prototype)
})

t.test('rebuilding yields to the event loop when a slice has run for its budget', async t => {
  const groups = parseRuleFile('r.yml', realisticRules(400_000)).groups
  let turns = 0
  const counter = setInterval(() => turns++, 0)
  const assembler = new Assembler()
  let seen = 0
  for (const chunk of wireChunks(groups)) await assembler.add(chunk, new Slices(0), () => seen++)
  clearInterval(counter)
  t.equal(
    seen,
    groups.reduce((n, g) => n + g.rules.length, 0),
    'onRule sees every rule',
  )
  t.ok(turns > 0, `the loop turned ${turns} times`)
})

t.test('templates compile on first expansion; one that fails then renders the error, as Prometheus does', async t => {
  const ok = lazyTemplate('__alert_A', 'value {{ $value }}')
  t.equal(ok.source, 'value {{ $value }}')
  t.equal(ok.expand(data, 0), 'value 0.95')
  t.match(lazyTemplate('__alert_A', 'broken {{ $value ').expand(data, 0), /^<error expanding template: /)
})
