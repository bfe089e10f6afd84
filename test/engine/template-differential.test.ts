// Templates against Prometheus itself: a real Prometheus (Debian's 2.42) and rollguard evaluate the same rule file
// over the same data, and every alert's labels and annotations must come out byte for byte the same. The rules'
// templates use {{define}}, {{template}} and {{block}} (scoping, dot, errors inside defined templates) and the
// `query` function with first, label, value, strvalue, sortByLabel and args, including queries that fail. The only
// difference allowed is the documented one: the depth at which endless {{template}} recursion stops.
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { stringify } from 'yaml'
import { startPrometheus } from '../../src/demo/stack.js'
import { MAX_EXEC_DEPTH } from '../../src/engine/template/exec.js'
import { eventually, getJson, rollguard, services, sleep, tempDir } from '../fixtures/e2e.js'

interface ApiAlert {
  labels: Record<string, string>
  annotations: Record<string, string>
  state: string
}

// Each annotation is one case; the alert's value is 0.5 and its labels instance="web-1:9100", job="api".
const DEFINE_TEMPLATE_BLOCK: Record<string, string> = {
  d01_dot:
    '{{ define "x" }}[{{ . }}]{{ end }}{{ template "x" $value }}|{{ template "x" }}|{{ template "x" $labels.instance }}',
  d02_map: '{{ define "l" }}{{ .instance }} {{ len . }}{{ end }}{{ template "l" $labels }}',
  d03_block: '{{ block "b" $labels }}{{ range $k, $v := . }}{{ $k }}={{ $v }};{{ end }}{{ end }}',
  d04_block_overridden: '{{ block "b" . }}{{ end }}{{ define "b" }}override {{ .Value }}{{ end }}',
  d05_empty_block_kept: '{{ define "b" }}D{{ .Labels.job }}{{ end }}{{ block "b" . }}  {{ end }}',
  d06_undefined: 'before {{ template "nope" }} after',
  d07_no_dynamic_scope: '{{ define "v" }}{{ $x := 1 }}{{ $x }}{{ end }}{{ $x := 2 }}{{ template "v" }}{{ $x }}',
  d08_dollar: '{{ define "d" }}{{ $.instance }}/{{ .job }}{{ end }}{{ template "d" .Labels }}',
  d09_decl_persists: '{{ define "p" }}{{ . }}{{ end }}{{ template "p" $y := "v" }}{{ $y }}',
  d10_defined_later:
    '{{ template "a" 3 }}{{ define "a" }}a{{ . }}{{ template "b" . }}{{ end }}{{ define "b" }}b{{ . }}{{ end }}',
  d11_in_range:
    '{{ range $k, $v := $labels }}{{ template "kv" (args $k $v) }}{{ end }}{{ define "kv" }}{{ .arg0 }}:{{ .arg1 }},{{ end }}',
  d12_error_inside: '{{ define "e" }}ok {{ .Nope }}{{ end }}{{ template "e" 1 }}',
  d13_trim: '{{- define "t" -}}  T  {{- end -}}  {{ template "t" }}  ',
  d14_raw_names: '{{ define `r` }}R{{ end }}{{ template `r` }}{{ template "r" }}',
  d15_with_else:
    '{{ define "w" }}{{ with .severity }}sev={{ . }}{{ else }}none{{ end }}{{ end }}{{ template "w" $labels }}',
  d16_pipeline: '{{ define "u" }}{{ . }}{{ end }}{{ template "u" $labels.instance | toUpper }}',
  d17_empty_main_name: '{{ define "__alert_DefineTemplateBlock" }} {{ end }}main',
  d18_long_context: '{{ template "a-very-long-template-name" . }}',
  d19_block_in_range: '{{ range $i, $v := $labels }}{{ block "rb" $v }}<{{ . }}>{{ end }}{{ end }}',
  d20_nil_dot: '{{ define "n" }}{{ . }}|{{ printf "%v" . }}|{{ if . }}t{{ else }}f{{ end }}{{ end }}{{ template "n" }}',
  d21_recursion: '{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}',
  d22_multiline: '{{ define "m" }}\nline {{ .job }}\n{{ .Nope.x }}{{ end }}\n{{ template "m" $labels }}',
  d23_nested_blocks: '{{ block "outer" $labels }}({{ block "inner" .job }}[{{ . }}]{{ end }}){{ end }}',
  d24_break_in_define:
    '{{ define "first" }}{{ range $k, $v := . }}{{ $k }}{{ break }}{{ end }}{{ end }}{{ template "first" $labels }}',
}

// One alert per sample service (namespace shop, pods cart/checkout/search): labels instance, job, namespace, pod.
const QUERIES: Record<string, string> = {
  q01_first_value: '{{ with query "up" }}{{ . | first | value }}{{ end }}',
  q02_range: '{{ range query "up{job=\\"sample\\"}" }}{{ .Labels.pod }}={{ .Value }} {{ end }}',
  q03_sort: '{{ range sortByLabel "pod" (query "up") }}{{ label "pod" . }}={{ value . }} {{ end }}',
  q04_per_alert: '{{ with printf "up{instance=%q}" $labels.instance | query }}{{ . | first | label "pod" }}{{ end }}',
  q05_strvalue:
    '{{ with query "label_replace(vector(7), \\"__value__\\", \\"seven\\", \\"\\", \\"\\")" }}{{ . | first | strvalue }}|{{ . | first | label "x" }}{{ end }}',
  q06_args_define:
    '{{ template "row" (args "up" (query "up" | len)) }}{{ define "row" }}{{ .arg0 }} has {{ .arg1 }} series{{ end }}',
  q07_parse_error: '{{ query "foo{" }}',
  q08_string_result: '{{ query "\\"abc\\"" }}',
  q09_matrix_result: '{{ query "up[1m]" }}',
  q10_bad_function: '{{ query "rate(up)" }}',
  q11_first_of_empty: '{{ query "absent_metric_xyz" | first }}',
  q12_scalar: '{{ query "scalar(count(up))" | first | value }} {{ (query "1" | first).Labels }} {{ query "2" | len }}',
  q13_dependent:
    '{{ with sortByLabel "pod" (query "up") }}{{ $i := . | first | label "instance" }}{{ with query (printf "up{instance=%q}" $i) }}{{ . | first | label "pod" }}{{ end }}{{ end }}',
  q14_index:
    '{{ $r := sortByLabel "pod" (query "up") }}{{ $r | len }} {{ (index $r 1).Labels.pod }} {{ slice $r 1 | len }} {{ (slice $r 1 2 | first).Labels.pod }}',
  q15_sort_in_place: '{{ $r := query "up" }}{{ $s := sortByLabel "pod" $r }}{{ range $r }}{{ .Labels.pod }},{{ end }}',
  q16_pointers:
    '{{ $r := query "up" }}{{ eq (first $r) (first $r) }} {{ eq (query "up" | first) (query "up" | first) }}',
  q17_nan: '{{ query "vector(NaN)" | first | value }} {{ query "vector(+Inf)" | first | value | humanize }}',
  q18_in_define:
    '{{ define "q" }}{{ range query . }}{{ .Labels.pod }}{{ end }}{{ end }}{{ template "q" (printf "up{instance=%q}" $labels.instance) }}',
  q19_error_in_define: '{{ define "f" }}{{ query . }}{{ end }}{{ template "f" "sum(" }}',
  q20_humanize:
    '{{ query "vector(1234567)" | first | value | humanize }} {{ query "vector(0.25)" | first | value | humanizePercentage }}',
  q21_struct: '{{ query "vector(3)" | first }} {{ print (query "vector(3)" | first) }}',
  q22_printf:
    '{{ printf "%v|%s|%T|%T" (query "vector(3)" | first) (query "vector(3)" | first) (query "up") (query "up" | first) }}',
  q23_type_errors: '{{ len (query "up" | first) }}',
  q24_slice_pointer: '{{ slice (query "up" | first) }}',
  q25_field_errors: '{{ (query "up").Foo }}',
  q26_sample_field: '{{ (query "up" | first).foo }}',
  q27_index_out: '{{ index (query "absent_metric_xyz") 0 }}',
  q28_eq_slices: '{{ $r := query "vector(1)" }}{{ eq $r $r }}',
  q29_sort_nil: '{{ sortByLabel "x" nil }}',
  q30_empty_truth:
    '{{ if query "absent_metric_xyz" }}some{{ else }}none{{ end }} {{ with query "up" }}{{ len . }}{{ end }}',
}

const hasPrometheus = spawnSync('prometheus', ['--version']).error === undefined

t.test(
  'templates render exactly as in Prometheus: define, template, block and query',
  { skip: hasPrometheus ? false : 'prometheus is not installed' },
  async t => {
    const dir = tempDir(t)
    const rules = join(dir, 'templates.yml')
    writeFileSync(
      rules,
      stringify(
        {
          groups: [
            {
              name: 'templates',
              rules: [
                {
                  alert: 'DefineTemplateBlock',
                  expr: 'label_replace(label_replace(vector(0.5), "instance", "web-1:9100", "", ""), "job", "api", "", "")',
                  labels: {
                    severity:
                      '{{ define "sev" }}{{ if gt . 0.4 }}page{{ else }}ticket{{ end }}{{ end }}{{ template "sev" $value }}',
                  },
                  annotations: DEFINE_TEMPLATE_BLOCK,
                },
                {
                  alert: 'Queries',
                  expr: 'up{job="sample"}',
                  labels: { targets: '{{ with query "count(up)" }}{{ . | first | value }}{{ end }}' },
                  annotations: QUERIES,
                },
              ],
            },
          ],
        },
        { lineWidth: 0 },
      ),
    )

    const svcs = await services(t, ['cart', 'checkout', 'search'])
    const prom = await startPrometheus({
      scrapeInterval: '1s',
      ruleFiles: [rules],
      scrapeTargets: svcs.map(s => ({
        job: 'sample',
        target: new URL(s.url).host,
        labels: { namespace: s.namespace, pod: s.pod },
        honorLabels: true,
      })),
      waitForTargets: true,
    })
    t.teardown(() => prom.stop())
    const daemon = await rollguard(t, { 'prometheus-url': prom.url, rules, 'eval-interval': '1s' })

    // Both sides have all four alerts; then a few more evaluations, so that both saw every target's `up`.
    const ready = async (url: string): Promise<boolean> => (await alerts(url)).length === 4
    await eventually('Prometheus alerts', () => ready(prom.url), 60_000)
    await eventually('rollguard alerts', () => ready(daemon.address), 60_000)
    await sleep(3_000)
    const [theirs, ours] = await Promise.all([alerts(prom.url), alerts(daemon.address)])

    t.same(
      ours.map(a => key(a.labels)).sort(),
      theirs.map(a => key(a.labels)).sort(),
      'the same alerts, labels expanded alike (severity, targets)',
    )
    for (const want of theirs) {
      const got = ours.find(a => key(a.labels) === key(want.labels))
      const name = want.labels.alertname ?? ''
      const cases = name === 'Queries' ? QUERIES : DEFINE_TEMPLATE_BLOCK
      t.same(
        Object.keys(got?.annotations ?? {}).sort(),
        Object.keys(want.annotations).sort(),
        `${key(want.labels)}: the same annotations`,
      )
      for (const k of Object.keys(cases)) {
        let expected = want.annotations[k]
        // Go stops endless recursion at depth 100000, rollguard sooner (docs/conformance.md).
        if (k === 'd21_recursion') expected = expected?.replace('(100000)', `(${MAX_EXEC_DEPTH})`)
        t.equal(got?.annotations[k], expected, `${name} ${k}: ${cases[k]}`)
      }
    }
    // What the cases show, so that a change of data (no targets, all errors) cannot make them pass vacuously.
    const q = theirs.find(a => a.labels.pod?.startsWith('checkout-') === true)
    t.match(q?.annotations.q03_sort, /^cart-\S+=1 checkout-\S+=1 search-\S+=1 $/)
    t.equal(q?.annotations.q04_per_alert, q?.labels.pod)
    t.equal(q?.annotations.q05_strvalue, 'seven|')
    t.equal(q?.annotations.q06_args_define, 'up has 3 series')
    t.match(
      q?.annotations.q07_parse_error,
      /error calling query: 1:5: parse error: unexpected end of input inside braces>$/,
    )
    t.equal(q?.labels.targets, '3')
    const d = theirs.find(a => a.labels.alertname === 'DefineTemplateBlock')
    t.equal(d?.labels.severity, 'page')
    t.equal(d?.annotations.d07_no_dynamic_scope, '12')
    t.match(d?.annotations.d21_recursion, /exceeded maximum template depth \(100000\)>$/)
  },
)

async function alerts(url: string): Promise<ApiAlert[]> {
  return (await getJson<{ data: { alerts: ApiAlert[] } }>(`${url}/api/v1/alerts`)).data.alerts
}

function key(labels: Record<string, string>): string {
  return JSON.stringify(
    Object.keys(labels)
      .sort()
      .map(k => [k, labels[k]]),
  )
}
