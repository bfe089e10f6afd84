// slow: files of tens of thousands of YAML nodes and alias bombs, each parsed several times to time it
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import {
  DEFAULT_RULE_LIMITS,
  FileTooLargeError,
  formatSize,
  maxYamlNodes,
  readTextFile,
} from '../../src/rules/limits.js'
import type { RuleLimits } from '../../src/rules/limits.js'
import { formatRuleFileError, loadRuleFiles, parseRuleFile } from '../../src/rules/load.js'
import { aliasBomb, manyAnnotations, realisticRules } from '../fixtures/big-yaml.js'

const parse = (text: string, limits: Partial<RuleLimits> = {}) =>
  parseRuleFile('r.yml', text, { ...DEFAULT_RULE_LIMITS, ...limits })
const lines = (text: string, limits: Partial<RuleLimits> = {}) => parse(text, limits).errors.map(formatRuleFileError)

/** fastest is the shortest of `runs` timings of fn, in ms: the least disturbed by other work on the machine. */
function fastest(fn: () => unknown, runs = 3): number {
  let best = Infinity
  for (let i = 0; i < runs; i++) {
    const started = performance.now()
    fn()
    best = Math.min(best, performance.now() - started)
  }
  return best
}

t.test(
  '40 000 keys in one mapping parse in linear time; the annotation limit stops the file at the first one over',
  async t => {
    const big = manyAnnotations(40_000)
    t.ok(big.length > 1_000_000, `${big.length} bytes`)
    t.same(lines(big), [
      `r.yml:1007:11: group "big", rule 1, "Big": field 'annotations.a1000': too many annotations: 40000, at most 1000 (rules.max_annotations_per_rule)`,
    ])
    // Raised, the limit lets the file load. A quadratic duplicate check made 40 000 keys 30 times slower than 10 000.
    const raised = { maxAnnotationsPerRule: 50_000 }
    const small = fastest(() => parse(manyAnnotations(10_000), raised))
    const large = fastest(() => t.same(parse(big, raised).errors, []))
    t.ok(
      large < 8 * small,
      `40 000 keys took ${large.toFixed(0)} ms, 10 000 keys ${small.toFixed(0)} ms: linear (quadratic would be 16×)`,
    )
    t.ok(large < 20_000, 'in seconds')
    t.equal(Object.keys(parse(big, raised).groups[0]?.rules[0]?.annotations ?? {}).length, 40_000)
  },
)

t.test('a duplicate key in a 40 000-key mapping is still found, with its position', async t => {
  t.same(lines(manyAnnotations(40_000, 39_000), { maxAnnotationsPerRule: 50_000 }), [
    'r.yml:39007:11: mapping key "a7" already defined',
  ])
  // Reported once, not again where an alias repeats the mapping; keys compare as text, as in yaml.v3.
  t.same(lines('a: &m {x: 1, x: 2}\nb: *m\nc: *m\n'), ['r.yml:1:14: mapping key "x" already defined'])
  t.same(lines('groups: [{name: g, 1: a, "1": b}]'), ['r.yml:1:26: mapping key "1" already defined'])
  t.same(
    parse('base: &b {labels: {a: x}}\ngroups: [{<<: *b, name: g, rules: []}, {<<: *b, name: h}]\n').errors.map(
      e => e.message,
    ),
    ['field base not found in type rulefmt.RuleGroups'],
    'merge keys are not duplicates',
  )
})

t.test(
  'groups, rules, labels and annotations per file are bounded, each error at the first entry over the limit',
  async t => {
    const rules = (n: number) =>
      `groups:\n  - name: g\n    rules:\n${Array.from({ length: n }, (_, i) => `      - {alert: A${i}, expr: up}\n`).join('')}`
    t.same(lines(rules(4), { maxRulesPerFile: 3 }), [
      `r.yml:7:9: group "g", rule 4, "A3": too many rules: more than 3 in the file (rules.max_rules_per_file)`,
    ])
    t.same(parse(rules(3), { maxRulesPerFile: 3 }).errors, [])
    const groups = 'groups:\n  - name: a\n  - name: b\n  - name: c\n'
    t.same(lines(groups, { maxGroupsPerFile: 2 }), [
      `r.yml:4:5: group "c": too many groups in the file: 3, at most 2 (rules.max_groups_per_file)`,
    ])
    const labels =
      'groups:\n  - name: g\n    labels: {a: "1", b: "2", c: "3"}\n    rules: [{alert: A, expr: up, labels: {x: "1", y: "2"}}]\n'
    t.same(lines(labels, { maxLabelsPerRule: 2 }), [
      `r.yml:3:30: group "g": field 'labels.c': too many labels: 3, at most 2 (rules.max_labels_per_rule)`,
    ])
    t.same(lines(labels, { maxLabelsPerRule: 1 }).length, 2, 'group labels and rule labels')
  },
)

t.test('rule files over their byte limit are refused before they are read', async t => {
  const dir = t.testdir({ 'small.yml': 'groups: []\n' })
  writeFileSync(join(dir, 'big.yml'), realisticRules(300_000))
  const loaded = await loadRuleFiles(['*.yml'], {
    cwd: dir,
    limits: { ...DEFAULT_RULE_LIMITS, maxFileBytes: 256 * 1024 },
  })
  t.match(loaded.errors.map(formatRuleFileError), [
    /^big\.yml: the file is 29\d(\.\d)? KiB, larger than the limit of 256 KiB \(rules\.max_file_bytes\)$/,
  ])
  t.same(
    loaded.files.map(f => [f.file, f.errors.length]),
    [
      ['big.yml', 1],
      ['small.yml', 0],
    ],
  )
  await t.rejects(readTextFile(join(dir, 'big.yml'), 1000), FileTooLargeError)
  t.equal(await readTextFile(join(dir, 'small.yml'), 11), 'groups: []\n')
  t.equal(
    new FileTooLargeError(8 * 1024 * 1024 + 5, 8 * 1024 * 1024).message,
    'the file is 8388613 bytes, larger than the limit of 8388608 bytes',
  )
  t.same(
    [formatSize(700), formatSize(1536), formatSize(8 * 1024 * 1024), formatSize(3 * 1024 ** 3)],
    ['700 B', '1.5 KiB', '8 MiB', '3 GiB'],
  )
})

t.test('a file of tiny YAML nodes is refused by its node budget before a tree is built', async t => {
  const maxFileBytes = 64 * 1024
  const dense = `groups: [${Array(maxYamlNodes(maxFileBytes) + 10)
    .fill('0')
    .join(',')}]\n`
  t.ok(dense.length < maxFileBytes, 'within the byte limit')
  t.same(lines(dense, { maxFileBytes }), [
    `r.yml:1:8198: too many YAML nodes: more than ${maxYamlNodes(maxFileBytes)} (see the file size limits)`,
  ])
  t.equal(maxYamlNodes(DEFAULT_RULE_LIMITS.maxFileBytes), 524_288)
  const real = realisticRules(1024 * 1024)
  t.same(
    parse(real, { maxFileBytes: real.length }).errors,
    [],
    'a realistic file at its byte limit is within its node budget',
  )
})

t.test('alias bombs and deep nesting end in one positioned error, fast', async t => {
  const started = performance.now()
  const bomb = parse(aliasBomb())
  t.match(bomb.errors, [
    {
      line: 5,
      message:
        /^too many alias references \(aliases expand to more than 100000 nodes; document contains excessive aliasing\)$/,
    },
  ])
  t.ok((bomb.errors[0]?.col ?? 0) > 0)
  // One anchor of 100 000 items aliased 1 000 times: each alias costs little, together they would cost 10^8 nodes.
  const wide = `a: &a [${Array(100_000).fill('x').join(',')}]\nb: [${Array(1_000).fill('*a').join(',')}]\n`
  t.match(parse(wide).errors, [{ line: 2, message: /too many alias references/ }])
  const recursive = parse('a: &a [*a, *a]\n')
  t.match(recursive.errors, [{ line: 1, message: 'YAML nesting is deeper than 100 levels (recursive alias?)' }])
  t.equal(recursive.errors.length, 1, 'reported once')
  t.match(parse(`${'['.repeat(150)}${']'.repeat(150)}`).errors, [{ line: 1, message: /deeper than 100 levels/ }])
  t.match(parse('a: &a [*a]\nb: {<<: *a}\n').errors, [{ message: /deeper than 100 levels/ }], 'a recursive merge')
  const merges = `a: &a {x: 1}\n${Array.from(
    { length: 12 },
    (_, i) =>
      `m${i + 1}: &m${i + 1} [${Array(8)
        .fill(i === 0 ? '*a' : `*m${i}`)
        .join(', ')}]`,
  ).join('\n')}\nb: {<<: *m12}\n`
  t.match(parse(merges).errors, [{ message: /too many alias references/ }], 'a merge bomb')
  t.ok(performance.now() - started < 20_000, 'in seconds')
  t.same(
    parse('x: &x {alert: A, expr: up}\ngroups: [{name: g, rules: [*x, *x]}]\n').errors.map(e => e.message),
    ['field x not found in type rulefmt.RuleGroups'],
    'ordinary aliases still work',
  )
})
