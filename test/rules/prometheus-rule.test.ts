// PrometheusRule objects (prometheus-operator) as rule files: one object, several documents, a List; every
// position points into the original text; other kinds get a hint; the file's limits count every object.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1'
import t from 'tap'
import { parse as parseYamlText, stringify } from 'yaml'
import { DEFAULT_RULE_LIMITS } from '../../src/rules/limits.js'
import { formatRuleFileError, parseRuleFile } from '../../src/rules/load.js'
import type { ParsedRuleFile, RuleFileError } from '../../src/rules/load.js'

const dir = fileURLToPath(new URL('../fixtures/prometheus-rules/', import.meta.url))
const read = (name: string): string => readFileSync(dir + name, 'utf8')
const fixture = (name: string): ParsedRuleFile => parseRuleFile(name, read(name))
const parse = (text: string): ParsedRuleFile => parseRuleFile('r.yml', text)
const messages = (errors: readonly RuleFileError[]): string[] => errors.map(formatRuleFileError)
const summary = (f: ParsedRuleFile) => f.groups.map(g => [g.file, g.name, g.rules.map(r => r.name)])
/** meaning is what a rule does, independent of where it came from. */
const meaning = (f: ParsedRuleFile) =>
  f.groups.map(g => ({
    name: g.name,
    intervalMs: g.intervalMs,
    rules: g.rules.map(r => ({
      name: r.name,
      expr: r.expr,
      forMs: r.forMs,
      labels: Object.entries(r.labels).map(([k, v]) => [k, v.source]),
      annotations: Object.entries(r.annotations).map(([k, v]) => [k, v.source]),
    })),
  }))

type Groups = NonNullable<PrometheusRule['spec']['groups']>

/** object is a PrometheusRule the operator's own schema accepts, as a YAML document. */
function object(name: string, groups: Groups, namespace = 'shop'): string {
  const rule = new PrometheusRule({ metadata: { name, namespace }, spec: { groups } })
  rule.validate()
  return stringify(rule.toJSON())
}

t.test('one object: its groups as from a rule file, the file named after the object', async t => {
  const f = fixture('single.yaml')
  t.same(f.errors, [])
  t.same(f.warnings, [])
  t.equal(f.ruleCount, 2)
  t.same(summary(f), [['single.yaml#shop/checkout-rules', 'checkout', ['CheckoutErrors', 'CheckoutDown']]])
  // The same groups written as a Prometheus rule file mean the same; the object's labels play no part.
  const spec = (parseYamlText(read('single.yaml')) as { spec: { groups: unknown } }).spec
  const plain = parseRuleFile('plain.yml', stringify({ groups: spec.groups }))
  t.same(plain.errors, [])
  t.same(meaning(f), meaning(plain))
  t.equal(f.groups[0]?.intervalMs, 30_000)
})

t.test('objects built with the operator schema load, in the order written', async t => {
  const a = object('a', [{ name: 'g', rules: [{ alert: 'A', expr: 'up == 0', for: '5m' }] }])
  const b = object('b', [
    { name: 'g', partial_response_strategy: 'abort', rules: [{ alert: 'B', expr: 'up == 0', keep_firing_for: '1m' }] },
    { name: 'h', interval: '10s', limit: 3, rules: [{ alert: 'C', expr: 1 }] },
  ])
  const f = parse(`${a}---\n${b}`)
  t.same(messages(f.errors), [])
  t.same(summary(f), [
    ['r.yml#shop/a', 'g', ['A']],
    ['r.yml#shop/b', 'g', ['B']],
    ['r.yml#shop/b', 'h', ['C']],
  ])
  t.equal(f.groups[1]?.rules[0]?.keepFiringForMs, 60_000)
  t.equal(f.groups[2]?.limit, 3)
  t.equal(f.groups[2]?.rules[0]?.expr, '1', 'expr is an IntOrString in the CRD')
})

t.test('several documents: empty ones skipped, a group name may repeat across objects', async t => {
  const f = fixture('multi.yaml')
  t.same(messages(f.errors), [])
  t.same(f.warnings, [])
  t.equal(f.ruleCount, 3)
  t.same(summary(f), [
    ['multi.yaml#shop/checkout', 'availability', ['CheckoutDown']],
    ['multi.yaml#shop/payments', 'availability', ['PaymentsDown', 'PaymentsErrors']],
  ])
})

t.test('a List, as kubectl get prometheusrule -o yaml prints it (metadata of any kind ignored)', async t => {
  const f = fixture('list.yaml')
  t.same(messages(f.errors), [])
  t.same(summary(f), [
    ['list.yaml#shop/checkout', 'availability', ['CheckoutDown']],
    ['list.yaml#shop/payments', 'availability', ['PaymentsDown']],
  ])
  const typed = parse(
    `apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRuleList\nitems:\n${object('a', [
      { name: 'g', rules: [{ alert: 'A', expr: 'up' }] },
    ])
      .replace(/^/gm, '  ')
      .replace(/^ {2}apiVersion/, '- apiVersion')}`,
  )
  t.same(messages(typed.errors), [])
  t.same(summary(typed), [['r.yml#shop/a', 'g', ['A']]])
  t.same(summary(parse('apiVersion: v1\nkind: List\nitems: []\n')), [], 'an empty List holds no rules')
})

t.test('an invalid rule deep in the second document: its position in the original file, with context', async t => {
  const f = fixture('second-document.bad.yaml')
  t.same(f.groups, [], 'no groups from a file with errors')
  t.equal(f.ruleCount, 3)
  t.match(f.errors, [
    {
      line: 25,
      col: 67,
      field: 'spec.groups[0].rules[1].expr',
      object: 'shop/payments',
      group: 'availability',
      rule: 2,
      ruleName: 'PaymentsErrors',
    },
  ])
  t.same(messages(f.errors), [
    `second-document.bad.yaml:25:67: PrometheusRule shop/payments: group "availability", rule 2, "PaymentsErrors": field 'expr': could not parse expression: unexpected "by" at char 51`,
  ])
  const source = read('second-document.bad.yaml').split('\n')[24] ?? ''
  t.equal(source.slice(66, 68), 'by', 'line 25, column 67 is where the parser stopped')
})

t.test('every kind of problem points into its own document and object', async t => {
  const text = `# leading comment
---
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: { name: a }
spec:
  groups:
    - name: g
      evaluation_interval: 1m
      rules:
        - { alert: A, expr: up, for: 5q }
        - { alert: A, expr: up }
    - name: g
      rules: []
---
apiVersion: v1
kind: List
items:
  - apiVersion: monitoring.coreos.com/v1
    kind: PrometheusRule
    metadata: { name: b, namespace: ns }
    spec:
      groups:
        - name: g
          labels: { "": x }
          rules:
            - { record: r, expr: up }
`
  const f = parse(text)
  t.same(messages(f.errors), [
    `r.yml:9:7: PrometheusRule a: group "g": field evaluation_interval not found in type rulefmt.RuleGroup`,
    `r.yml:11:38: PrometheusRule a: group "g", rule 1, "A": field 'for': unknown unit "q" in duration "5q"`,
    `r.yml:13:13: PrometheusRule a: group "g": field 'name': groupname: "g" is repeated in the same file`,
    `r.yml:25:21: PrometheusRule ns/b: group "g": field 'labels[""]': invalid label name: `,
    `r.yml:27:17: PrometheusRule ns/b: group "g", rule 1, "r": field 'record': recording rules are not supported by rollguard (it evaluates alerting rules only); evaluate them in Prometheus`,
  ])
  t.match(f.errors[0], { field: 'spec.groups[0].evaluation_interval' })
  t.match(f.errors[3], { field: 'items[0].spec.groups[0].labels[""]' })
  t.same(messages(f.warnings), [
    `r.yml:12:11: PrometheusRule a: group "g", rule 2, "A": duplicate rule: same name and labels as group "g", rule 1: A{}`,
  ])
})

t.test('duplicate rules are a lint within one object only, as the operator writes one file per object', async t => {
  const rules = [{ name: 'g', rules: [{ alert: 'A', expr: 'up' }] }]
  t.same(parse(`${object('a', rules)}---\n${object('b', rules)}`).warnings, [])
})

t.test('YAML problems of any document are reported at their place in the whole text', async t => {
  const f = parse(`${object('a', [{ name: 'g', rules: [] }])}---\nkind: PrometheusRule\nspec: { groups: [ }\n`)
  t.equal(f.errors.length > 0, true)
  t.match(f.errors[0], { line: 12, message: /./ })
  t.same(f.groups, [])
  const dup = parse(`${object('a', [{ name: 'g', rules: [] }])}---\nkind: PrometheusRule\nkind: List\n`)
  t.same(messages(dup.errors), ['r.yml:12:1: mapping key "kind" already defined'])
})

t.test('other kinds are not rule files, with a hint', async t => {
  t.same(messages(fixture('configmap.bad.yaml').errors), [
    `configmap.bad.yaml:1:1: kind ConfigMap is not a rule file: expected a Prometheus rule file (groups:) or a PrometheusRule (monitoring.coreos.com/v1); its data key "alerts.yml" holds a rule file: extract it with kubectl get configmap prometheus-rules -n monitoring -o jsonpath='{.data.alerts\\.yml}' > alerts.yml`,
  ])
  const cases: Array<[string, string]> = [
    [
      'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndata: { a: b }\n',
      'r.yml:1:1: kind ConfigMap is not a rule file: expected a Prometheus rule file (groups:) or a PrometheusRule (monitoring.coreos.com/v1); if its data holds a rule file, extract that file and check it',
    ],
    [
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: d }\n',
      'r.yml:1:1: kind Deployment is not a rule file: expected a Prometheus rule file (groups:) or a PrometheusRule (monitoring.coreos.com/v1)',
    ],
    [
      'apiVersion: v1\ngroups:\n  - name: g\n    rules: []\n',
      'r.yml:1:1: a document without kind is not a rule file: expected a Prometheus rule file (groups:) or a PrometheusRule (monitoring.coreos.com/v1); a Prometheus rule file has no apiVersion',
    ],
    [
      `${object('a', [])}---\ngroups: []\n`,
      'r.yml:9:1: a document without kind is not a rule file: expected a Prometheus rule file (groups:) or a PrometheusRule (monitoring.coreos.com/v1); a Prometheus rule file goes in a file of its own, not among Kubernetes objects',
    ],
    [
      `${object('a', [])}---\n- 1\n`,
      'r.yml:9:1: a !!seq is not a rule file: expected a Prometheus rule file (groups:) or a PrometheusRule (monitoring.coreos.com/v1)',
    ],
    [
      'kind: List\nitems:\n  - kind: Secret\n',
      "r.yml:3:5: field 'items[0]': kind Secret is not a rule file: expected a Prometheus rule file (groups:) or a PrometheusRule (monitoring.coreos.com/v1)",
    ],
    ['kind: List\nitems: 3\n', "r.yml:2:8: field 'items': cannot unmarshal !!int `3` into []PrometheusRule"],
  ]
  for (const [text, want] of cases) t.same(messages(parse(text).errors), [want], text)
})

t.test('apiVersion, metadata and spec are checked loosely; Thanos fields are accepted', async t => {
  const obj = (head: string, spec = '  groups: [{ name: g, rules: [{ alert: A, expr: up }] }]\n') =>
    parse(`${head}spec:\n${spec}`)
  const good = obj(
    'apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: { name: a, labels: { x: y } }\nstatus: {}\n',
  )
  t.same(messages(good.errors), [])
  t.same(summary(good), [['r.yml#a', 'g', ['A']]], 'without a namespace the name alone')
  const cases: Array<[ParsedRuleFile, string[]]> = [
    [
      obj('apiVersion: monitoring.coreos.com/v1beta1\nkind: PrometheusRule\nmetadata: { name: a }\n'),
      [
        "r.yml:1:13: field 'apiVersion': a PrometheusRule has apiVersion monitoring.coreos.com/v1, not monitoring.coreos.com/v1beta1",
      ],
    ],
    [
      obj('kind: PrometheusRule\nmetadata: { name: a }\n'),
      ['r.yml:1:1: field apiVersion must be monitoring.coreos.com/v1 in a PrometheusRule'],
    ],
    [
      obj('apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\n'),
      ['r.yml:1:1: field metadata.name must be set in a PrometheusRule'],
    ],
    [
      obj('apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: { namespace: x }\n'),
      ['r.yml:3:11: field metadata.name must be set in a PrometheusRule'],
    ],
    [
      obj('apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: a\n'),
      ["r.yml:3:11: field 'metadata': cannot unmarshal !!str `a` into v1.ObjectMeta"],
    ],
    [
      parse('apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: { name: a }\n'),
      ['r.yml:1:1: field spec must be set in a PrometheusRule'],
    ],
    [
      parse('apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: { name: a }\nspec: [1]\n'),
      ["r.yml:4:7: field 'spec': cannot unmarshal !!seq into v1.PrometheusRuleSpec"],
    ],
    [
      obj(
        'apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: { name: a }\n',
        '  groups: []\n  rules: []\n',
      ),
      ['r.yml:6:3: field rules not found in type v1.PrometheusRuleSpec'],
    ],
    [
      obj(
        'apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: { name: a }\n',
        '  groups: [{ name: g, partial_response_strategy: sometimes, rules: [] }]\n',
      ),
      [
        'r.yml:5:50: PrometheusRule a: group "g": field \'partial_response_strategy\': must be abort or warn, not "sometimes"',
      ],
    ],
    [
      obj('apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: { name: a }\n', '  groups: 3\n'),
      ["r.yml:5:11: PrometheusRule a: field 'spec.groups': cannot unmarshal !!int `3` into []rulefmt.RuleGroup"],
    ],
  ]
  for (const [f, want] of cases) t.same(messages(f.errors), want)
  const twice = object('a', [{ name: 'g', rules: [] }])
  t.same(messages(parse(`${twice}---\n${twice}`).errors), [
    "r.yml:14:9: field 'metadata.name': PrometheusRule shop/a is repeated in the same file",
  ])
  const strategies = ['warn', 'abort', 'WARN', '']
  for (const s of strategies) {
    const f = parse(object('a', [{ name: 'g', partial_response_strategy: s, rules: [{ alert: 'A', expr: 'up' }] }]))
    t.same(messages(f.errors), [], `partial_response_strategy ${JSON.stringify(s)}`)
  }
})

t.test('a plain rule file reads as before: a PrometheusRule after it is a second document, ignored', async t => {
  const f = parse(`groups: [{ name: g, rules: [{ alert: A, expr: up }] }]\n---\n${object('a', [])}`)
  t.same(messages(f.errors), [])
  t.same(messages(f.warnings), ['r.yml:2:1: multiple YAML documents are not supported; only the first one is used'])
  t.same(summary(f), [['r.yml', 'g', ['A']]])
  t.same(messages(parse('kind: [\n').errors).length, 1, 'a broken first document is a broken rule file')
})

t.test("the file's limits count the groups and rules of all its objects", async t => {
  const two = [
    { name: 'g1', rules: [{ alert: 'A', expr: 'up' }] },
    { name: 'g2', rules: [{ alert: 'B', expr: 'up' }] },
  ]
  const text = `${object('a', two)}---\n${object('b', two)}`
  const groups = parseRuleFile('r.yml', text, { ...DEFAULT_RULE_LIMITS, maxGroupsPerFile: 3 })
  // The fourth group is the second object's second: the last "- name: g2" of the text.
  const fourth = text.split('\n').lastIndexOf('    - name: g2') + 1
  t.same(messages(groups.errors), [
    `r.yml:${fourth}:7: PrometheusRule shop/b: group "g2": too many groups in the file: 4, at most 3 (rules.max_groups_per_file)`,
  ])
  const rules = parseRuleFile('r.yml', text, { ...DEFAULT_RULE_LIMITS, maxRulesPerFile: 2 })
  const third = text.split('\n').lastIndexOf('        - alert: A') + 1
  t.match(rules.errors, [
    {
      line: third,
      col: 11,
      object: 'shop/b',
      group: 'g1',
      rule: 1,
      message: /^too many rules: more than 2 in the file/,
    },
  ])
  t.equal(rules.errors.length, 1)
  t.same(parseRuleFile('r.yml', text, { ...DEFAULT_RULE_LIMITS, maxRulesPerFile: 4 }).errors, [])
})
