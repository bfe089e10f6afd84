// Rule files whose labels and annotations use {{define}}, {{template}}, {{block}} and the query function load as in
// Prometheus: they parse and check at load like promtool's check (an undefined template name is an execution-time
// error, not a load error), and the same bad templates fail with promtool's messages. The promtool comparison is
// skipped only where promtool is not installed (`npm test` installs it: scripts/install-system-deps.sh).
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { stringify } from 'yaml'
import { parseRuleFile } from '../../src/rules/load.js'
import type { TemplateData, TemplateQueries } from '../../src/engine/types.js'

const hasPromtool = spawnSync('promtool', ['--version']).error === undefined

// Accepted by promtool check rules (Prometheus 2.42).
const GOOD: Record<string, string> = {
  define: '{{ define "row" }}{{ .job }}/{{ .instance }}{{ end }}{{ template "row" $labels }}',
  block: '{{ block "b" $value }}value {{ . }}{{ end }}',
  block_then_define: '{{ block "b" . }}{{ end }}{{ define "b" }}{{ .Value }}{{ end }}',
  undefined_template: '{{ template "defined-nowhere" . }}',
  query: '{{ with query "up" }}{{ . | first | value }}{{ end }}',
  helpers:
    '{{ range sortByLabel "instance" (query (printf "up{job=%q}" $labels.job)) }}{{ label "instance" . }} {{ strvalue . }} {{ value . }}{{ end }}{{ template "a" (args 1 2) }}{{ define "a" }}{{ .arg0 }}{{ end }}',
  query_in_define: '{{ define "q" }}{{ query . | len }}{{ end }}{{ template "q" "up" }}',
}

// Rejected by promtool check rules, with these messages (after `annotation "<key>": `).
const BAD: Record<string, [string, string]> = {
  define_in_if: ['{{ if true }}{{ define "x" }}{{ end }}{{ end }}', 'unexpected <define> in command'],
  labels_in_define: ['{{ define "x" }}{{ $labels.job }}{{ end }}', 'undefined variable "$labels"'],
  template_name: ['{{ template x }}', 'unexpected "x" in template clause'],
  block_pipeline: ['{{ block "b" }}{{ end }}', 'missing value for block clause'],
  redefined: ['{{ define "x" }}a{{ end }}{{ define "x" }}b{{ end }}', 'template: multiple definition of template "x"'],
  define_else: ['{{ define "x" }}a{{ else }}b{{ end }}', 'unexpected {{else}} in define clause'],
  unclosed_define: ['{{ define "x" }}\n{{ query "up" }}', 'unexpected EOF'],
  query_args: ['{{ query }}{{ query "a" "b" | bogus }}', 'function "bogus" not defined'],
}

function ruleFile(
  dir: string,
  name: string,
  annotations: Record<string, string>,
  labels: Record<string, string> = {},
): string {
  const file = join(dir, name)
  writeFileSync(
    file,
    stringify(
      { groups: [{ name: 'g', rules: [{ alert: 'T', expr: 'up == 0', labels, annotations }] }] },
      { lineWidth: 0 },
    ),
  )
  return file
}

t.test('templates with define, template, block and query load and expand', async t => {
  const dir = t.testdir()
  const file = ruleFile(dir, 'good.yml', GOOD, {
    team: '{{ define "t" }}team-{{ . }}{{ end }}{{ template "t" $labels.job }}',
  })
  const parsed = parseRuleFile(file, readFileSync(file, 'utf8'))
  t.same(parsed.errors, [], 'no load errors')
  const spec = parsed.groups[0]?.rules[0]
  const data: TemplateData = { labels: { job: 'api', instance: 'a:1' }, externalLabels: {}, externalURL: '', value: 0 }
  const queries: TemplateQueries = {
    answer: expr => ({
      samples:
        expr === 'up'
          ? [{ labels: { instance: 'a:1' }, value: 1 }]
          : [{ labels: { instance: 'b:1', __value__: 'v' }, value: 2 }],
    }),
    unanswered: () => undefined,
  }
  const expand = (k: string): string | undefined => spec?.annotations[k]?.expand(data, 0, queries)
  t.equal(spec?.labels.team?.expand(data, 0), 'team-api')
  t.equal(expand('define'), 'api/a:1')
  t.equal(expand('block'), 'value 0')
  t.equal(expand('block_then_define'), '0')
  t.match(expand('undefined_template'), /template "defined-nowhere" not defined>$/)
  t.equal(expand('query'), '1')
  t.equal(expand('helpers'), 'b:1 v 21')
  t.equal(expand('query_in_define'), '1')
  t.same(
    Object.entries(spec?.annotations ?? {})
      .filter(([, v]) => v.usesQuery === true)
      .map(([k]) => k)
      .sort(),
    ['helpers', 'query', 'query_in_define'],
  )
})

t.test("bad templates fail at load with promtool's messages", async t => {
  const dir = t.testdir()
  const file = ruleFile(dir, 'bad.yml', Object.fromEntries(Object.entries(BAD).map(([k, [v]]) => [k, v])))
  const parsed = parseRuleFile(file, readFileSync(file, 'utf8'))
  const ours = parsed.errors.map(e => e.message).sort()
  const want = Object.entries(BAD)
    .map(
      ([k, [, message]]) =>
        `annotation ${JSON.stringify(k)}: template: __alert_T:${k === 'unclosed_define' ? 2 : 1}: ${message}`,
    )
    .sort()
  t.same(ours, want)
  t.same(parsed.groups, [], 'no specs from a file with errors')
  // The error points at the template's line in the file.
  const unclosed = parsed.errors.find(e => e.field.endsWith('unclosed_define'))
  t.ok(unclosed !== undefined && unclosed.line > 0)

  if (!hasPromtool) {
    t.comment('promtool is not installed: its messages are not compared')
    return
  }
  const good = spawnSync('promtool', ['check', 'rules', ruleFile(dir, 'good.yml', GOOD)], { encoding: 'utf8' })
  t.equal(good.status, 0, `promtool accepts the good templates: ${good.stdout}${good.stderr}`)
  const bad = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' })
  t.equal(bad.status, 1)
  const theirs = `${bad.stdout}${bad.stderr}`
    .split('\n')
    .filter(l => l.includes(': annotation '))
    .map(l => l.replace(/^.*?"T": /, ''))
    .sort()
  t.same(theirs, ours, 'promtool reports the same problems in the same words')
})
