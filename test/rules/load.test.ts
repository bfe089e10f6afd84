import { spawnSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { formatRuleFileError, loadRuleFiles, parseRuleFile } from '../../src/rules/load.js'
import type { ParsedRuleFile, RuleFileError } from '../../src/rules/load.js'

const dir = fileURLToPath(new URL('../fixtures/rules/', import.meta.url))
const fixture = (name: string): ParsedRuleFile => parseRuleFile(name, readFileSync(dir + name, 'utf8'))
const parse = (text: string): ParsedRuleFile => parseRuleFile('r.yml', text)
const at = (e: RuleFileError | undefined) => (e === undefined ? 'none' : `${e.line}:${e.col} ${e.field} ${e.message}`)

interface Expected {
  line: number
  col: number
  field: string
  message: string
}

// The first error of each bad fixture (errors are sorted by position) and how many errors there are.
const BAD: Record<string, { count: number; first: Expected }> = {
  'unknown-rule-field.bad.yaml': {
    count: 1,
    first: {
      line: 6,
      col: 9,
      field: 'groups[0].rules[0].annotation',
      message: 'field annotation not found in type rulefmt.Rule',
    },
  },
  'unknown-group-field.bad.yaml': {
    count: 1,
    first: {
      line: 3,
      col: 5,
      field: 'groups[0].evaluation_interval',
      message: 'field evaluation_interval not found in type rulefmt.RuleGroup',
    },
  },
  'bad-for.bad.yaml': {
    count: 1,
    first: { line: 6, col: 14, field: 'groups[0].rules[0].for', message: 'unknown unit "." in duration "1.5m"' },
  },
  'bad-keep-firing-for.bad.yaml': {
    count: 1,
    first: {
      line: 6,
      col: 26,
      field: 'groups[0].rules[0].keep_firing_for',
      message: 'not a valid duration string: "-5m"',
    },
  },
  'bad-interval.bad.yaml': {
    count: 1,
    first: { line: 3, col: 15, field: 'groups[0].interval', message: 'not a valid duration string: "1m30"' },
  },
  'negative-limit.bad.yaml': {
    count: 1,
    first: { line: 3, col: 12, field: 'groups[0].limit', message: 'limit must not be negative' },
  },
  'missing-expr.bad.yaml': {
    count: 1,
    first: { line: 4, col: 9, field: 'groups[0].rules[0].expr', message: "field 'expr' must be set in rule" },
  },
  'record-and-alert.bad.yaml': {
    count: 2,
    first: {
      line: 5,
      col: 9,
      field: 'groups[0].rules[0].record',
      message: "only one of 'record' and 'alert' must be set",
    },
  },
  'no-record-no-alert.bad.yaml': {
    count: 1,
    first: { line: 4, col: 9, field: 'groups[0].rules[0]', message: "one of 'record' or 'alert' must be set" },
  },
  'recording-rule.bad.yaml': {
    count: 1,
    first: {
      line: 4,
      col: 9,
      field: 'groups[0].rules[0].record',
      message: 'recording rules are not supported by rollguard',
    },
  },
  'duplicate-group.bad.yaml': {
    count: 1,
    first: { line: 6, col: 11, field: 'groups[1].name', message: 'groupname: "g" is repeated in the same file' },
  },
  'empty-group-name.bad.yaml': {
    count: 1,
    first: { line: 2, col: 11, field: 'groups[0].name', message: 'Groupname must not be empty' },
  },
  'bad-promql.bad.yaml': {
    count: 1,
    first: {
      line: 5,
      col: 46,
      field: 'groups[0].rules[0].expr',
      message: 'could not parse expression: unexpected end of input at char 32',
    },
  },
  'bad-promql-multiline.bad.yaml': {
    count: 1,
    first: {
      line: 8,
      col: 19,
      field: 'groups[0].rules[0].expr',
      message: 'could not parse expression: unexpected end of input',
    },
  },
  'bad-annotation-template.bad.yaml': {
    count: 1,
    first: { line: 7, col: 20, field: 'groups[0].rules[0].annotations.summary', message: 'annotation "summary": ' },
  },
  'bad-label-template.bad.yaml': {
    count: 1,
    first: { line: 7, col: 21, field: 'groups[0].rules[0].labels.severity', message: 'label "severity": ' },
  },
  'name-label.bad.yaml': {
    count: 1,
    first: { line: 7, col: 11, field: 'groups[0].rules[0].labels.__name__', message: 'invalid label name: __name__' },
  },
  'yaml-syntax.bad.yaml': {
    count: 2,
    first: { line: 6, col: 7, field: '', message: 'All mapping items must start at the same column' },
  },
  'wrong-type.bad.yaml': {
    count: 1,
    first: {
      line: 7,
      col: 11,
      field: 'groups[0].rules[0].labels',
      message: 'cannot unmarshal !!seq into map[string]string',
    },
  },
  'many-errors.bad.yaml': {
    count: 5,
    first: { line: 5, col: 20, field: 'groups[0].rules[0].expr', message: 'unexpected end of input' },
  },
}

t.test('every bad fixture fails with the expected first error', async t => {
  const files = readdirSync(dir).filter(f => f.endsWith('.bad.yaml'))
  t.same(files.sort(), Object.keys(BAD).sort(), 'the table covers every bad fixture')
  for (const [name, want] of Object.entries(BAD)) {
    const got = fixture(name)
    const first = got.errors[0]
    t.equal(got.errors.length, want.count, `${name}: error count (${got.errors.map(at).join('; ')})`)
    t.match(
      first,
      { file: name, line: want.first.line, col: want.first.col, field: want.first.field },
      `${name}: ${at(first)}`,
    )
    t.ok(first?.message.includes(want.first.message), `${name}: message ${JSON.stringify(first?.message)}`)
    t.same(got.groups, [], `${name}: no specs from a file with errors`)
  }
})

t.test('many-errors reports every problem, in file order, with context', async t => {
  const lines = fixture('many-errors.bad.yaml').errors.map(formatRuleFileError)
  t.same(lines, [
    'many-errors.bad.yaml:5:20: group "g", rule 1, "A": field \'expr\': could not parse expression: unexpected end of input at char 6',
    'many-errors.bad.yaml:6:14: group "g", rule 1, "A": field \'for\': unknown unit "x" in duration "5x"',
    'many-errors.bad.yaml:9:9: group "g", rule 2, "B": field annotatons not found in type rulefmt.Rule',
    'many-errors.bad.yaml:11:11: group "g": field \'name\': groupname: "g" is repeated in the same file',
    'many-errors.bad.yaml:13:9: group "g", rule 1, "r": field \'record\': recording rules are not supported by rollguard (it evaluates alerting rules only); evaluate them in Prometheus',
  ])
})

t.test('basic.good.yaml yields engine specs', async t => {
  const f = fixture('basic.good.yaml')
  t.same(f.errors, [])
  t.same(f.warnings, [])
  t.equal(f.ruleCount, 3)
  t.equal(f.groups.length, 2)
  const [http, latency] = f.groups
  t.match(http, { file: 'basic.good.yaml', name: 'http', intervalMs: 30_000, queryOffsetMs: 0, limit: 10 })
  t.match(latency, { name: 'latency', intervalMs: 0, queryOffsetMs: 0, limit: 0 })
  const rule = http?.rules[0]
  t.match(rule, { name: 'HighErrorRate', forMs: 600_000, keepFiringForMs: 300_000 })
  t.ok(rule?.expr.startsWith('sum by (job)') && rule.expr.endsWith('> 0.05'), 'expr is trimmed')
  t.same(Object.keys(rule?.labels ?? {}).sort(), ['severity', 'team'])
  t.equal(rule?.labels['severity']?.source, 'page')
  t.equal(rule?.annotations['summary']?.source, 'High error rate on {{ $labels.job }}')
  t.match(http?.rules[1], { name: 'InstanceDown', expr: 'up == 0', forMs: 5_400_000, keepFiringForMs: 0 })
  t.same(latency?.rules[0]?.labels, {})
})

t.test('prometheus3.good.yaml: query_offset and group labels (rule labels win)', async t => {
  const f = fixture('prometheus3.good.yaml')
  t.same(f.errors, [])
  const g = f.groups[0]
  t.match(g, { intervalMs: 60_000, queryOffsetMs: 30_000, limit: 5 })
  const labels = g?.rules[0]?.labels ?? {}
  t.equal(labels['team']?.source, 'payments')
  t.equal(labels['severity']?.source, 'critical')
  t.equal(g?.rules[0]?.annotations['runbook_url']?.source, '{{ $externalLabels.cluster }}/runbooks/crashloop')
})

t.test('aliases.good.yaml: anchors, aliases and merge keys', async t => {
  const f = fixture('aliases.good.yaml')
  t.same(f.errors, [])
  const [base, merged, copy] = f.groups[0]?.rules ?? []
  t.equal(merged?.name, 'HighLatencyTicket')
  t.equal(merged?.expr, base?.expr)
  t.equal(merged?.forMs, 300_000)
  t.equal(merged?.labels['severity']?.source, 'ticket', 'explicit keys override merged ones')
  t.equal(merged?.annotations['summary']?.source, 'Latency is {{ $value }}s')
  t.equal(copy?.expr, base?.expr)
  t.equal(copy?.labels['severity']?.source, 'page')
})

t.test('empty files and comment-only files are valid with no groups', async t => {
  for (const name of ['empty.good.yaml', 'comments-only.good.yaml']) {
    t.match(fixture(name), { groups: [], ruleCount: 0, errors: [], warnings: [] }, name)
  }
  t.match(parse('---\n'), { groups: [], errors: [] })
  t.match(parse('groups:\n'), { groups: [], errors: [] })
  t.match(parse('groups: []\n'), { groups: [], errors: [] })
})

t.test('only the first YAML document is used; a second one is a warning', async t => {
  const f = fixture('multidoc.good.yaml')
  t.same(f.errors, [])
  t.equal(f.groups.length, 1)
  t.equal(f.groups[0]?.name, 'first')
  t.match(f.warnings, [{ line: 6, col: 1, message: /multiple YAML documents/ }])
})

t.test('duplicate rules are a lint warning, as promtool --lint=duplicate-rules', async t => {
  const f = fixture('duplicate-rules.lint.yaml')
  t.same(f.errors, [])
  t.equal(f.groups.length, 2)
  t.match(f.warnings, [
    { line: 11, col: 9, field: 'groups[1].rules[0]', lint: 'duplicate-rules', group: 'b', rule: 1, ruleName: 'Down' },
  ])
  t.match(f.warnings[0]?.message, 'same name and labels as group "a", rule 1: Down{severity="page"}')
  t.same(
    parse('groups: [{name: a, rules: [{alert: X, expr: up}, {alert: X, expr: up, labels: {a: b}}]}]').warnings,
    [],
    'labels differ',
  )
})

t.test('scalars decode into strings with their source text, as yaml.v3 does', async t => {
  const f = parse(`groups:
  - name: 2024
    rules:
      - alert: 123
        expr: up
        for: 0
        keep_firing_for:
        labels: { priority: 1, version: 1.10, page: true, hex: 0x1F, none: ~ }
`)
  t.same(f.errors, [])
  const g = f.groups[0]
  t.equal(g?.name, '2024')
  const rule = g?.rules[0]
  t.match(rule, { name: '123', forMs: 0, keepFiringForMs: 0 })
  const src = Object.fromEntries(Object.entries(rule?.labels ?? {}).map(([k, v]) => [k, v.source]))
  t.same(src, { priority: '1', version: '1.10', page: 'true', hex: '0x1F', none: '' })
})

t.test('null entries decode to zero values, then fail validation like Prometheus', async t => {
  t.match(parse('groups:\n  -\n').errors, [{ field: 'groups[0].name', message: 'Groupname must not be empty' }])
  const f = parse('groups:\n  - name: g\n    rules:\n      -\n')
  t.same(
    f.errors.map(e => e.message),
    ["one of 'record' or 'alert' must be set", "field 'expr' must be set in rule"],
  )
})

t.test('type and shape errors name the field and the Go type', async t => {
  const cases: Array<[string, string, string]> = [
    ['groups: {}', 'groups', 'cannot unmarshal !!map into []rulefmt.RuleGroup'],
    ['- a', '', 'cannot unmarshal !!seq into rulefmt.RuleGroups'],
    ['groups: [x]', 'groups[0]', 'cannot unmarshal !!str `x` into rulefmt.RuleGroup'],
    ['groups: [{name: g, rules: [x]}]', 'groups[0].rules[0]', 'cannot unmarshal !!str `x` into rulefmt.Rule'],
    ['groups: [{name: g, limit: "5"}]', 'groups[0].limit', 'cannot unmarshal !!str `5` into int'],
    ['groups: [{name: g, limit: 1.5}]', 'groups[0].limit', 'cannot unmarshal !!float `1.5` into int'],
    ['groups: [{name: [g]}]', 'groups[0].name', 'cannot unmarshal !!seq into string'],
    [
      'groups: [{name: g, rules: [{alert: a, expr: up, for: [1]}]}]',
      'groups[0].rules[0].for',
      'cannot unmarshal !!seq into model.Duration',
    ],
    ['groups: [{name: g, rules: [{alert: a, expr: up, for: ""}]}]', 'groups[0].rules[0].for', 'empty duration string'],
    ['oops: 1', 'oops', 'field oops not found in type rulefmt.RuleGroups'],
  ]
  for (const [text, field, message] of cases) t.match(parse(text).errors[0], { field, message }, text)
})

t.test('label and annotation names follow Prometheus 3 (UTF-8) rules', async t => {
  const f = parse(`groups:
  - name: g
    labels: { "": x }
    rules:
      - alert: A
        expr: up
        labels: { "service.name": ok, "\\uD800": bad, v: "\\uDC00" }
        annotations: { "": empty, "a b": fine }
`)
  t.same(
    f.errors.map(e => `${e.line}:${e.col} ${e.message}`),
    [
      '3:15 invalid label name: ',
      '7:39 invalid label name: \uD800',
      '7:57 invalid label value: \uDC00',
      '8:24 invalid annotation name: ',
    ],
  )
})

t.test('error positions point inside quoted expressions when possible', async t => {
  const single = parse("groups: [{name: g, rules: [{alert: A, expr: 'rate(x)'}]}]").errors[0]
  t.match(
    single,
    { line: 1, col: 51, message: /expected type range vector/ },
    'offset 5 after the opening quote at col 45',
  )
  const escaped = parse('groups: [{name: g, rules: [{alert: A, expr: "\\u0072ate(x)"}]}]').errors[0]
  t.match(escaped, { line: 1, col: 45 }, 'escapes make the source differ: fall back to the value start')
})

t.test('YAML errors: duplicate keys, unknown aliases, excessive aliasing', async t => {
  t.match(parse('groups:\n  - name: a\n    name: b\n').errors, [
    { line: 3, col: 5, message: 'mapping key "name" already defined' },
  ])
  t.match(parse('groups: *nope\n').errors, [
    { line: 1, col: 9, field: 'groups', message: "unknown anchor 'nope' referenced" },
  ])
  const laughs = ['a: &a [x, x, x, x, x, x, x, x, x, x]']
  for (let i = 0; i < 6; i++)
    laughs.push(`${'bcdefg'[i]}: &${'bcdefg'[i]} [${Array(10).fill(`*${'abcdef'[i]}`).join(', ')}]`)
  t.match(parse(laughs.join('\n')).errors, [{ message: 'document contains excessive aliasing' }])
})

t.test('a "__proto__" key stays an ordinary (and valid) label', async t => {
  const f = parse('groups: [{name: g, rules: [{alert: A, expr: up, labels: {__proto__: x}}]}]')
  t.same(f.errors, [])
  t.equal(f.groups[0]?.rules[0]?.labels['__proto__']?.source, 'x')
  t.equal(Object.getPrototypeOf(f.groups[0]?.rules[0]?.labels), Object.prototype)
})

t.test('formatRuleFileError reads like promtool and names the field', async t => {
  const base = {
    file: 'r.yml',
    line: 6,
    col: 14,
    field: 'groups[0].rules[1].for',
    message: 'not a valid duration string: "1.5m"',
  }
  t.equal(
    formatRuleFileError({ ...base, group: 'g', rule: 2, ruleName: 'HighErrorRate' }),
    'r.yml:6:14: group "g", rule 2, "HighErrorRate": field \'for\': not a valid duration string: "1.5m"',
  )
  t.equal(
    formatRuleFileError({ ...base, field: 'groups[0].interval', group: 'g' }),
    'r.yml:6:14: group "g": field \'interval\': not a valid duration string: "1.5m"',
  )
  t.equal(
    formatRuleFileError({ ...base, line: 0, col: 0, field: '', message: 'no rule files match x' }),
    'r.yml: no rule files match x',
  )
  t.equal(formatRuleFileError({ ...base, field: 'oops', message: 'm' }), "r.yml:6:14: field 'oops': m")
})

t.test('loadRuleFiles expands globs, sorts, de-duplicates and reports unmatched patterns', async t => {
  const good = 'groups: [{name: g, rules: [{alert: A, expr: up}]}]\n'
  const cwd = t.testdir({
    'b.yml': good,
    'a.yml': good,
    '.hidden.yml': good,
    'x.txt': 'not yaml: [',
    sub: { 'c.yml': good, deep: { 'd.yml': good, 'e1.yaml': good, 'e2.yaml': good } },
    'bad.yml': 'groups: [{name: ""}]\n',
  })
  const names = async (patterns: string[]) => (await loadRuleFiles(patterns, { cwd })).files.map(f => f.file)
  t.same(await names(['*.yml']), ['a.yml', 'b.yml', 'bad.yml'], 'dotfiles are not matched by *')
  t.same(await names(['?.yml']), ['a.yml', 'b.yml'])
  t.same(await names(['[ab].yml', 'a.yml', './a.yml']), ['a.yml', 'b.yml'], 'de-duplicated')
  t.same(await names(['[!a].yml']), ['b.yml'])
  t.same(await names(['sub/**/*.yml']), ['sub/c.yml', 'sub/deep/d.yml'])
  t.same(await names(['**/e?.yaml']), ['sub/deep/e1.yaml', 'sub/deep/e2.yaml'])
  t.same(await names(['sub/**']), ['sub/c.yml', 'sub/deep/d.yml', 'sub/deep/e1.yaml', 'sub/deep/e2.yaml'])
  t.same(await names([`${cwd}/b.yml`]), [`${cwd}/b.yml`], 'absolute paths')
  const loaded = await loadRuleFiles(['*.json', 'sub', 'a.yml', 'bad.yml'], { cwd })
  t.same(
    loaded.files.map(f => f.file),
    ['a.yml', 'bad.yml'],
  )
  t.same(
    loaded.errors.map(e => `${e.file}: ${e.message}`),
    ['*.json: no rule files match *.json', 'sub: no rule files match sub', 'bad.yml: Groupname must not be empty'],
    'errors holds pattern errors and every file error',
  )
  t.equal(loaded.files[0]?.groups[0]?.rules[0]?.name, 'A')
})

const hasPromtool = spawnSync('promtool', ['--version']).error === undefined

t.test('promtool agrees on the fixtures', { skip: hasPromtool ? false : 'promtool is not installed' }, async t => {
  // Rejected by rollguard only; query_offset and group labels need Prometheus 3 (Debian ships 2.42).
  const rollguardOnly = new Set(['negative-limit.bad.yaml', 'recording-rule.bad.yaml'])
  const prometheus3Only = new Set(['prometheus3.good.yaml'])
  for (const name of readdirSync(dir).sort()) {
    if (prometheus3Only.has(name)) continue
    const status = spawnSync('promtool', ['check', 'rules', dir + name]).status
    const want = name.endsWith('.bad.yaml') && !rollguardOnly.has(name) ? 1 : 0
    t.equal(status, want, `promtool check rules ${name}`)
  }
})

t.test('a bad group label template is reported once, at the group label', async t => {
  const f = parse(`groups:
  - name: g
    labels: { team: "{{ end }}" }
    rules:
      - { alert: A, expr: up }
      - { alert: B, expr: up }
`)
  t.match(f.errors, [
    { line: 3, col: 21, field: 'groups[0].labels.team', group: 'g', rule: undefined, message: /^label "team": / },
  ])
  t.equal(f.errors.length, 1)
})
