import tap from 'tap'
import type { TemplateData } from '../../src/engine/types.js'
import { compileTemplate, TemplateSyntaxError } from '../../src/engine/template/index.js'
import { nodeString, type ListNode } from '../../src/engine/template/ast.js'
import { parseTemplate } from '../../src/engine/template/parser.js'
import { checkFunction } from '../../src/engine/template/funcs.js'

const NAME = '__alert_Test'
// Length of Prometheus's "{{$labels := .Labels}}...{{$value := .Value}}" prefix: line-1 columns are offset by it.
const PREFIX = 112
const EVAL_TIME = Date.UTC(2026, 0, 1, 10, 0, 0, 500)
const DATA: TemplateData = {
  labels: { __name__: 'http_errors', instance: 'web-1.example.com:9100', job: 'api', severity: 'critical' },
  externalLabels: { cluster: 'prod', region: 'eu-west-1' },
  externalURL: 'http://prom.example.com:9090/prom',
  value: 0.1234,
}

type Case = [source: string, want: string, data?: Partial<TemplateData>]

function expand(source: string, data: Partial<TemplateData> = {}): string {
  return compileTemplate(NAME, source).expand({ ...DATA, ...data }, EVAL_TIME)
}

// execError builds Prometheus's rendering of a Go execution error at column `offset` of line 1 of the user's source.
// The <context> is the whole node, as Prometheus 2.42 (Go 1.19) prints it; very old Go cut it at 20 bytes.
function execError(offset: number, context: string, message: string, line = 1): string {
  const column = line === 1 ? offset + PREFIX : offset
  return `<error expanding template: error executing template ${NAME}: template: ${NAME}:${line}:${column}: executing "${NAME}" at <${context}>: ${message}>`
}

function table(t: Pick<typeof tap, 'equal'>, cases: readonly Case[]): void {
  for (const [source, want, data] of cases) t.equal(expand(source, data), want, source)
}

tap.test('realistic Prometheus alert annotations', async t => {
  table(t, [
    ['{{ $labels.instance }} has {{ $value | humanizePercentage }} errors', 'web-1.example.com:9100 has 12.34% errors'],
    ['{{ printf "%.2f" $value }}', '0.12'],
    ['{{ if gt $value 0.5 }}high{{ else }}low{{ end }}', 'low'],
    ['{{ if gt $value 0.5 }}high{{ else }}low{{ end }}', 'high', { value: 0.9 }],
    [
      '{{ range $k, $v := $labels }}{{ $k }}={{ $v }} {{ end }}',
      '__name__=http_errors instance=web-1.example.com:9100 job=api severity=critical ',
    ],
    [
      'Instance {{ $labels.instance }} of job {{ $labels.job }} has been down for more than 5 minutes.',
      'Instance web-1.example.com:9100 of job api has been down for more than 5 minutes.',
    ],
    ['{{ .Labels.job }}/{{ .Labels.instance | stripPort }}: {{ .Value | humanize }}', 'api/web-1.example.com: 123.4m'],
    ['Disk {{ $value | humanize1024 }}B free', 'Disk 1.205kiB free', { value: 1234 }],
    ['Up for {{ $value | humanizeDuration }}', 'Up for 1d 1h 1m 1s', { value: 90061 }],
    ['Since {{ $value | humanizeTimestamp }}', 'Since 2026-01-01 10:00:00 +0000 UTC', { value: 1767261600 }],
    ['{{ $externalLabels.cluster }} {{ $externalURL }}/alerts', 'prod http://prom.example.com:9090/prom/alerts'],
    ['{{ with $labels.severity }}[{{ . | toUpper }}]{{ end }} {{ $labels.job | title }}', '[CRITICAL] Api'],
    ['{{ $value }}', '1e+06', { value: 1e6 }],
    ['{{ $value }}', 'NaN', { value: NaN }],
    ['{{ $labels.instance | reReplaceAll ":[0-9]+$" "" | stripDomain }}', 'web-1'],
    ['{{ if and (gt $value 0.1) (eq $labels.severity "critical") }}page{{ end }}', 'page'],
    [
      '<a href="{{ externalURL }}{{ graphLink "rate(x[5m]) > 0" }}">graph</a>',
      '<a href="http://prom.example.com:9090/prom/graph?g0.expr=rate%28x%5B5m%5D%29+%3E+0&g0.tab=0">graph</a>',
    ],
  ])
})

tap.test('plain text takes the fast path', async t => {
  const tmpl = compileTemplate(NAME, 'no actions here {single} }}')
  t.equal(tmpl.source, 'no actions here {single} }}')
  t.equal(tmpl.expand(DATA, 0), 'no actions here {single} }}')
  t.equal(compileTemplate(NAME, '{{ 1 }}').source, '{{ 1 }}')
})

tap.test('text, trim markers and comments', async t => {
  table(t, [
    ['a {{- " b " -}} c', 'a b c'],
    ['a  \n {{- 1 }}', 'a1'],
    ['{{ 1 -}} \n\t b', '1b'],
    ['{{1}}{{ 2 }}', '12'],
    ['x{{/* a comment */}}y', 'xy'],
    ['x {{- /* trimmed */ -}} y', 'xy'],
    ['x {{- /* left only */}} y', 'x y'],
    ['{{- 3 -}}', '3'],
    ['{{ -3 }}', '-3'],
    ['{{ 3 -}}  ', '3'],
    ['{{3 }}', '3'],
    ['{{ 3  -}} x', '3x'],
    ['{{"a"}}{{`b`}}', 'ab'],
    ['line1\n{{ "x" }}\nline3', 'line1\nx\nline3'],
  ])
})

tap.test('literals', async t => {
  table(t, [
    ['{{ "tab\\tnew\\nquote\\"back\\\\" }}', 'tab\tnew\nquote"back\\'],
    ['{{ "\\x41\\u00e9\\U0001F600\\101\\a\\b\\f\\r\\v" }}', 'A\u00e9\u{1F600}A\x07\b\f\r\v'],
    ['{{ "\\xe2\\x82\\xac" }}', '€'],
    ['{{ "héllo" }}', 'héllo'],
    ['{{ `raw \\n "x"` }}', 'raw \\n "x"'],
    ['{{ `a\r\nb` }}', 'a\nb'],
    [
      '{{ 42 }} {{ -7 }} {{ +5 }} {{ 0x1F }} {{ 0X1e }} {{ 017 }} {{ 0o17 }} {{ 0b101 }} {{ 0 }}',
      '42 -7 5 31 30 15 15 5 0',
    ],
    ['{{ 1.5 }} {{ 1e3 }} {{ .5 }} {{ 5. }} {{ 1.0 }} {{ -2.5e-3 }} {{ 1e21 }}', '1.5 1000 0.5 5 1 -0.0025 1e+21'],
    ["{{ 'a' }} {{ '\\n' }} {{ '\\x41' }} {{ 'é' }} {{ '\\'' }}", '97 10 65 233 39'],
    ['{{ true }} {{ false }}', 'true false'],
    // Integer constants are exact up to 2^53 (JavaScript numbers); Go's int64 goes further.
    ['{{ 9007199254740991 }} {{ -9007199254740991 }}', '9007199254740991 -9007199254740991'],
  ])
})

tap.test('fields, variables and missingkey=zero', async t => {
  table(t, [
    ['{{ .Labels.missing }}|{{ $labels.missing }}|{{ index $labels "missing" }}|', '|||'],
    ['{{ $labels.constructor }}|{{ $labels.toString }}', '|'],
    [
      '{{ .Value }} {{ .ExternalURL }} {{ .ExternalLabels.region }}',
      '0.1234 http://prom.example.com:9090/prom eu-west-1',
    ],
    [
      '{{ . }}',
      '{map[__name__:http_errors] map[] http://x 2}',
      { labels: { __name__: 'http_errors' }, externalLabels: {}, externalURL: 'http://x', value: 2 },
    ],
    ['{{ .Labels }}', 'map[a:1 b:2]', { labels: { b: '2', a: '1' } }],
    ['{{ $.Labels.job }} {{ $.Value }}', 'api 0.1234'],
    ['{{ $x := "v" }}{{ $x }}{{ $x = "w" }}{{ $x }}', 'vw'],
    ['{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ $y := 3 }}{{ $y }}{{ end }}{{ $x }}', '32'],
    ['{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}', '21'],
    ['{{ $l := .Labels }}{{ $l.job }}', 'api'],
    ['{{ (args "a").arg0 }}|{{ (args).missing }}|{{ (args).missing.deeper }}', 'a|<no value>|<no value>'],
    ['{{ $v := (args).missing }}{{ $v }}', '<no value>'],
    ['{{ with $x := 5 }}{{ $x }}{{ . }}{{ end }}', '55'],
    ['{{ if $x := "" }}{{ else }}{{ $x }}empty{{ end }}', 'empty'],
    ['{{ $ }}', '{map[] map[] u 1}', { labels: {}, externalLabels: {}, externalURL: 'u', value: 1 }],
  ])
})

tap.test('if, with and range', async t => {
  table(t, [
    ['{{ if 0 }}a{{ else if "" }}b{{ else if .Labels.job }}c{{ else }}d{{ end }}', 'c'],
    ['{{ if 0 }}a{{ else if 0.0 }}b{{ else }}d{{ end }}', 'd'],
    ['{{ if (args).none }}{{ else }}nil is false{{ end }}', 'nil is false'],
    ['{{ if $labels }}labels{{ end }}{{ if $externalLabels }}ext{{ end }}', 'labels', { externalLabels: {} }],
    ['{{ if $value }}nonzero{{ end }}', 'nonzero', { value: NaN }],
    ['{{ if safeHtml "" }}x{{ else }}empty html{{ end }}', 'empty html'],
    ['{{ if toTime 0 }}time is truthy{{ end }}', 'time is truthy'],
    ['{{ if . }}struct is truthy{{ end }}', 'struct is truthy'],
    ['{{ with .Labels.nope }}x{{ else with .Labels.job }}job={{ . }}{{ end }}', 'job=api'],
    ['{{ with 0 }}x{{ else with "" }}y{{ else }}z{{ end }}', 'z'],
    ['{{ range $labels }}{{ . }},{{ end }}', 'http_errors,web-1.example.com:9100,api,critical,'],
    ['{{ range $v := $externalLabels }}{{ $v }};{{ end }}', 'prod;eu-west-1;'],
    ['{{ range $externalLabels }}x{{ else }}none{{ end }}', 'none', { externalLabels: {} }],
    ['{{ range (args).missing }}x{{ else }}nil map{{ end }}', 'nil map'],
    ['{{ range $i := 3 }}{{ $i }}{{ end }}', '012'],
    ['{{ range 0 }}x{{ else }}zero{{ end }}|{{ range -2 }}x{{ end }}', 'zero|'],
    ['{{ range $k, $v := args 1 2 }}{{ $k }}={{ $v }};{{ end }}', 'arg0=1;arg1=2;'],
    ['{{ range $k, $v := $labels }}{{ if eq $k "job" }}{{ break }}{{ end }}{{ $k }};{{ end }}', '__name__;instance;'],
    [
      '{{ range $k, $v := $labels }}{{ if eq $k "job" }}{{ continue }}{{ end }}{{ $k }};{{ end }}',
      '__name__;instance;severity;',
    ],
    ['{{ range 5 }}{{ if eq . 2 }}{{ break }}{{ end }}{{ . }}{{ end }}', '01'],
    ['{{ $k := "" }}{{ $v := "" }}{{ range $k, $v = $externalLabels }}{{ end }}{{ $k }}={{ $v }}', 'region=eu-west-1'],
    ['{{ $v := "" }}{{ range $v = $externalLabels }}{{ end }}{{ $v }}', 'eu-west-1'],
    ['{{ range $x := $externalLabels }}{{ else }}{{ $x }}{{ end }}', 'map[]', { externalLabels: {} }],
    ['{{ range 2 }}[{{ range (args).none }}{{ else }}{{ break }}{{ end }}]{{ end }}', '[][]'],
    ['{{ range 3 }}{{ range (args).none }}{{ else }}{{ continue }}{{ end }}{{ . }}{{ end }}', ''],
    ['{{ range $i, $e := $labels }}{{ with $i }}{{ end }}{{ end }}done', 'done'],
  ])
})

tap.test('comparison built-ins', async t => {
  table(t, [
    [
      '{{ eq 1 1 }} {{ eq 1 2 }} {{ eq 1 2 3 1 }} {{ eq "a" "a" }} {{ eq 1.5 1.5 }} {{ eq true true }}',
      'true false true true true true',
    ],
    ['{{ ne 1 2 }} {{ ne "a" "a" }}', 'true false'],
    [
      '{{ lt 1 2 }} {{ le 2 2 }} {{ gt 3 2 }} {{ ge 2 3 }} {{ lt "a" "b" }} {{ lt 1.5 2.5 }} {{ gt 2.0 2.0 }}',
      'true true true false true true false',
    ],
    [
      '{{ eq (index "a" 0) 97 }} {{ eq 97 (index "a" 0) }} {{ lt (index "a" 0) 98 }} {{ lt 96 (index "a" 0) }}',
      'true true true true',
    ],
    ['{{ eq (safeHtml "x") "x" }} {{ lt "a" (safeHtml "b") }}', 'true true'],
    ['{{ eq (args).none (args).none }} {{ eq (args).none 1 }} {{ eq 1 (args).none }}', 'true false false'],
    ['{{ $t := toTime 1 }}{{ eq $t $t }} {{ eq (toTime 1) (toTime 1) }}', 'true false'],
    ['{{ eq $value 0.1234 }} {{ le $value 1.0 }}', 'true true'],
  ])
})

tap.test('not, and, or', async t => {
  table(t, [
    ['{{ not 0 }} {{ not "x" }} {{ not $labels }} {{ not (args).x }}', 'true false false true'],
    ['{{ and 1 0 2 }} {{ and 1 2 }} {{ and "" (index nil 1) }}', '0 2 '],
    ['{{ or 0 "" 3 4 }} {{ or 0 "" }} {{ or 1 (index nil 1) }}', '3  1'],
    ['{{ 1 | and 2 }} {{ 0 | and 2 }} {{ "" | or 0 }} {{ 0 | and }}', '1 0  0'],
    ['{{ 0 | and 0 }}', '0'],
  ])
})

tap.test('len, index, slice', async t => {
  table(t, [
    ['{{ len "héllo" }} {{ len $labels }} {{ len (safeHtml "ab") }} {{ len (args 1 2 3) }}', '6 4 2 3'],
    ['{{ len "€😀" }} {{ "😀\\t" }}', '7 😀\t'],
    [
      '{{ index $labels "job" }} {{ index "abc" 1 }} {{ index (args "xy") "arg0" 1 }} {{ index $labels }}',
      'api 98 121 map[__name__:http_errors instance:web-1.example.com:9100 job:api severity:critical]',
    ],
    ['{{ index (safeHtml "AB") 1 }}', '66'],
    [
      '{{ slice "abcdef" 1 3 }}|{{ slice "abcdef" 2 }}|{{ slice "abcdef" }}|{{ slice "abc" 3 }}|{{ slice "héllo" 1 3 }}',
      'bc|cdef|abcdef||é',
    ],
    ['{{ slice (safeHtml "<b>") 1 2 }} {{ printf "%T" (slice (safeHtml "ab") 1) }}', 'b template.HTML'],
  ])
})

tap.test('print, println, printf', async t => {
  table(t, [
    ['{{ print 1 2 "a" "b" 3 nil true }}', '1 2ab3 <nil> true'],
    ['{{ println 1 "a" }}', '1 a\n'],
    ['{{ print }}|{{ print $labels.job 1.5 }}', '|api1.5'],
    ['{{ printf "%d %s %v %t %%" 42 "str" 1.5 true }}', '42 str 1.5 true %'],
    [
      '{{ printf "%.2f|%8.3f|%-8.2f|%08.3f|%+.1f|% .1f|%+08.2f" 3.14159 3.14159 3.14159 -3.14159 2.0 2.0 -1.5 }}',
      '3.14|   3.142|3.14    |-003.142|+2.0| 2.0|-0001.50',
    ],
    [
      '{{ printf "%e|%E|%g|%G|%.3g|%F|%.0f" 123456.789 0.000123 1e21 1e-7 1234.5678 2.5 2.5 }}',
      '1.234568e+05|1.230000E-04|1e+21|1E-07|1.23e+03|2.500000|2',
    ],
    ['{{ printf "%v|%6v|%-6v|%+v|% v" 1.5 1.5 1.5 1.5 1.5 }}', '1.5|   1.5|1.5   |1.5| 1.5'],
    [
      '{{ printf "%f|%v|%+v|% v|%5.1f|%05.1f|%+f|%v" $value $value $value $value $value $value $value $value }}',
      'NaN|NaN|NaN| NaN|  NaN|  NaN|+NaN|NaN',
      { value: NaN },
    ],
    [
      '{{ printf "%v|%f|% f|%06.1f|%-6v|" $value $value $value $value $value }}',
      '+Inf|+Inf| Inf|  +Inf|+Inf  |',
      { value: Infinity },
    ],
    [
      '{{ printf "%d|%5d|%-5d|%05d|%+d|% d|%x|%X|%o|%O|%b|%#x|%#X|%#o|%#b|%c|%q|%U|%#U|%.3d|%08.3d" 42 42 42 -42 42 42 255 255 8 8 5 255 255 8 5 65 65 65 233 7 7 }}',
      "42|   42|42   |-0042|+42| 42|ff|FF|10|0o10|101|0xff|0XFF|010|0b101|A|'A'|U+0041|U+00E9 'é'|007|     007",
    ],
    ['{{ printf "%.0d|%5.0d|%#o|%x" 0 0 0 -255 }}', '|     |0|-ff'],
    ['{{ printf "%c|%q|%c" -1 10 1114112 }}', "\uFFFD|'\\n'|\uFFFD"],
    [
      '{{ printf "%s|%10s|%-10s|%.2s|%q|%#q|%#q|%x|%X|% x|%#x|%# X|%.1x" "go" "go" "go" "héllo" "a\\"b\\n" "raw" "a`b" "hi" "hi" "hi" "hi" "hi" "hi" }}',
      'go|        go|go        |hé|"a\\"b\\n"|`raw`|"a`b"|6869|6869|68 69|0x6869|0X68 0X69|68',
    ],
    ['{{ printf "%x|%5x|%q" "" "" "\\u00e9\\x01\\u2028" }}', '|     |"é\\x01\\u2028"'],
    ['{{ printf "%05s|%-05s" "ab" "ab" }}', '000ab|ab   '],
    [
      '{{ printf "%v %s %v %d" (safeHtml "<b>") (safeHtml "x") $labels (args 1 "a") }}',
      '<b> x map[__name__:http_errors instance:web-1.example.com:9100 job:api severity:critical] map[%!d(string=arg0):1 %!d(string=arg1):%!d(string=a)]',
    ],
    [
      '{{ printf "%T %T %T %T %T %T %T %T %T" 1 1.5 "s" true nil $labels (args) (index "a" 0) (toTime 0) }}',
      'int float64 string bool <nil> map[string]string map[string]interface {} uint8 *time.Time',
    ],
    [
      '{{ printf "%v|%s|%d" (toTime 0) (toDuration 1.5) (toTime 0) }}',
      '1970-01-01 00:00:00 +0000 UTC|1.5s|%!d(*time.Time=1970-01-01 00:00:00 +0000 UTC)',
    ],
    ['{{ printf "%v" . }}', '{map[] map[] u 1}', { labels: {}, externalLabels: {}, externalURL: 'u', value: 1 }],
    [
      '{{ printf "%d" . }}',
      '{map[] map[] %!d(string=u) %!d(float64=1)}',
      { labels: {}, externalLabels: {}, externalURL: 'u', value: 1 },
    ],
    [
      '{{ printf "%d|%s|%t|%x|%v|%s|%5d" 1.5 1 1 true nil nil "x" }}',
      '%!d(float64=1.5)|%!s(int=1)|%!t(int=1)|%!x(bool=true)|<nil>|%!s(<nil>)|%!d(string=    x)',
    ],
    [
      '{{ printf "%d %d" 1 }}|{{ printf "%d" 1 2 "x" nil }}|{{ printf "%" }}|{{ printf "%-" 1 }}',
      '1 %!d(MISSING)|1%!(EXTRA int=2, string=x, <nil>)|%!(NOVERB)|%!(NOVERB)%!(EXTRA int=1)',
    ],
    ['{{ printf "%*d|%-*d|%.*f|%*d" 5 1 -5 1 2 3.14159 "x" 1 }}', '    1|1    |3.14|%!(BADWIDTH)1'],
    ['{{ printf "%.*f|%.*f" -1 1.0 "x" 1.0 }}', '%!(BADPREC)1.000000|%!(BADPREC)1.000000'],
    ['{{ printf "%5.f|%.f|%5.x" 1.5 2.5 "ab" }}', '    2|2|     '],
    [
      '{{ printf "%z" 1 }}|{{ printf "%z" true }}|{{ printf "%z" (toDuration 1) }}',
      '%!z(int=1)|%!z(bool=true)|%!z(*time.Duration=1s)',
    ],
    ['{{ printf "no verbs" }} {{ printf "%s" "é" | len }}', 'no verbs 2'],
    ['{{ printf "%v %v" (index "é" 0) (index "a" 0) }}', '195 97'],
    ['{{ printf "%#d|%#v|%c|%q|%q" 5 5 55296 -1 55296 }}', "5|5|\uFFFD|'\uFFFD'|'\uFFFD'"],
    ['{{ printf "%T" (toTime 0).UTC }}', 'time.Time'],
    ['{{ printf "%q" $labels.odd }}', '"\\ufffd\\U000e0001"', { labels: { odd: '\ud800\u{E0001}' } }],
  ])
})

tap.test('html, js, urlquery', async t => {
  table(t, [
    [`{{ html "<a href=\\"x\\" title='y'>&\\x00" }}`, '&lt;a href=&#34;x&#34; title=&#39;y&#39;&gt;&amp;\uFFFD'],
    ['{{ html 1 "<" 2 }}', '1&lt;2'],
    [
      `{{ js "it's \\"q\\" <b> & a=b \\\\ \\n \\x01 \\u2028 é \\x7f" }}`,
      'it\\\'s \\"q\\" \\u003Cb\\u003E \\u0026 a\\u003Db \\\\ \\u000A \\u0001 \\u2028 é \x7f',
    ],
    ['{{ urlquery "a b&c=d/é~" }} {{ urlquery 1 2 }}', 'a+b%26c%3Dd%2F%C3%A9~ 1+2'],
  ])
})

tap.test('string functions', async t => {
  table(t, [
    ['{{ toUpper "abc" }} {{ toLower "ABC" }} {{ "x" | toUpper }}', 'ABC abc X'],
    [
      '{{ title "hello world" }}|{{ title "foo.bar baz-qux" }}|{{ title "it\'s o\'neil" }}|{{ title "node_exporter" }}',
      "Hello World|Foo.bar Baz-Qux|It's O'neil|Node_exporter",
    ],
    [
      '{{ title "3d printer" }}|{{ title "a..b" }}|{{ title "hELLO" }}|{{ title "x1y" }}|{{ title "日本 éa" }}',
      '3D Printer|A..B|HELLO|X1y|日本 Éa',
    ],
    ['{{ match "^web-[0-9]+" .Labels.instance }} {{ match "db" .Labels.instance }}', 'true false'],
    [
      '{{ match "(?i)WEB" .Labels.instance }} {{ match "(?s)a.b" "a\\nb" }} {{ match "a.b" "a\\nb" }} {{ match "(?m)^b$" "a\\nb" }}',
      'true true false true',
    ],
    ['{{ reReplaceAll "(.*):(.*)" "$2 on $1" .Labels.instance }}', '9100 on web-1.example.com'],
    ['{{ reReplaceAll "(.*):(.*)" "${1}x|$1x|$$|$|$-|${2" .Labels.instance }}', 'web-1.example.comx||$|$|$-|${2'],
    [
      '{{ reReplaceAll "(?P<host>[^:]+):(?P<port>\\\\d+)" "$port@$host ${host}" .Labels.instance }}',
      '9100@web-1.example.com web-1.example.com',
    ],
    [
      '{{ reReplaceAll "(?<h>[a-z]+)" "<$h>" "ab cd" }} {{ reReplaceAll "(a)|(b)" "[$1$2$3$01]" "ab" }}',
      '<ab> <cd> [a][b]',
    ],
    [
      '{{ reReplaceAll "a*" "-" "baaac" }}|{{ reReplaceAll "" "-" "abc" }}|{{ reReplaceAll "x*" "-" "" }}',
      '-b-c-|-a-b-c-|-',
    ],
    [
      '{{ reReplaceAll "" "-" "😀é" }}|{{ reReplaceAll "\\\\pL+" "L" "ab1cd" }}|{{ reReplaceAll "\\\\p{Greek}" "G" "aβc" }}',
      '-😀-é-|L1L|aGc',
    ],
    [
      '{{ reReplaceAll "[[:digit:]]+" "#" "a12b3" }}|{{ reReplaceAll "[]a]" "x" "]a" }}|{{ reReplaceAll "[^]a]" "x" "]ab" }}|{{ reReplaceAll "[[:]" "x" "[:" }}',
      'a#b#|xx|]ax|xx',
    ],
    [
      '{{ reReplaceAll "\\\\x{41}\\\\x42\\\\-\\\\:" "y" "AB-:" }}|{{ reReplaceAll "a\\\\z" "y" "aa" }}|{{ reReplaceAll "\\\\Aa" "y" "aa" }}|{{ reReplaceAll "(?:a)\\\\.b" "y" "a.b" }}',
      'y|ay|ya|y',
    ],
    [
      '{{ reReplaceAll "\\\\p{L}" "L" "é1" }}|{{ reReplaceAll "\\\\p{Any}" "." "ab" }}|{{ reReplaceAll "\\\\PL" "_" "a1" }}',
      'L1|..|a_',
    ],
    ['{{ reReplaceAll "[a\\\\-c]" "x" "a-bc" }}', 'xxbx'],
    [
      '{{ reReplaceAll "a{" "x" "a{" }}|{{ reReplaceAll "]}" "x" "]}" }}|{{ reReplaceAll "a{2}" "x" "aaa" }}|{{ reReplaceAll "[{}]" "x" "{}" }}',
      'x|x|xa|xx',
    ],
  ])
})

tap.test('network and URL functions', async t => {
  table(t, [
    [
      '{{ stripPort "host:9100" }}|{{ stripPort "host" }}|{{ stripPort "[::1]:80" }}|{{ stripPort "::1" }}|{{ stripPort "[::1]" }}',
      'host|host|::1|::1|[::1]',
    ],
    [
      '{{ stripPort "a:b:c" }}|{{ stripPort "[a]b:1" }}|{{ stripPort "[a:1" }}|{{ stripPort "x]:1" }}|{{ stripPort "[a]:1]" }}',
      'a:b:c|[a]b:1|[a:1|x]:1|[a]:1]',
    ],
    [
      '{{ stripDomain "web-1.example.com:9100" }}|{{ stripDomain "web-1.example.com" }}|{{ stripDomain "10.0.0.1:80" }}',
      'web-1:9100|web-1|10.0.0.1:80',
    ],
    [
      '{{ stripDomain "[2001:db8::1]:80" }}|{{ stripDomain "2001:db8::1" }}|{{ stripDomain "::ffff:1.2.3.4" }}|{{ stripDomain "host:" }}',
      '[2001:db8::1]:80|2001:db8::1|::ffff:1.2.3.4|host',
    ],
    [
      '{{ stripDomain "1:2:3:4:5:6:7:8" }}|{{ stripDomain "1::2::3" }}|{{ stripDomain "[1:2:3:4:5:6:7:8::]:1" }}|{{ stripDomain "[g::1]:1" }}',
      '1:2:3:4:5:6:7:8|1::2::3|[1:2:3:4:5:6:7:8::]:1|[g::1]:1',
    ],
    [
      '{{ stripDomain "1.2.3.4.5" }}|{{ stripDomain "01.2.3.4" }}|{{ stripDomain "256.1.1.1" }}|{{ stripDomain "[::1.2.3]:1" }}|{{ stripDomain "[1.2.3.4::]:1" }}',
      '1|01|256|[::1]:1|1:1',
    ],
    ['{{ stripDomain "[fe80::1.2.3.4]:9" }}|{{ stripDomain "[::]:9" }}', '[fe80::1.2.3.4]:9|[::]:9'],
    ['{{ externalURL }} {{ pathPrefix }}', 'http://prom.example.com:9090/prom /prom'],
    ['{{ pathPrefix }}|', '|', { externalURL: 'http://prom.example.com:9090' }],
    ['{{ pathPrefix }}', '/a b/', { externalURL: 'https://h/a%20b/?q=1#f' }],
    ['{{ pathPrefix }}', '/bad%zz', { externalURL: 'http://h/bad%zz' }],
    ['{{ pathPrefix }}', '/relative', { externalURL: '/relative' }],
    [
      '{{ graphLink "up == 0" }} {{ tableLink "up" }}',
      '/graph?g0.expr=up+%3D%3D+0&g0.tab=0 /graph?g0.expr=up&g0.tab=1',
    ],
    ['{{ urlQueryEscape "a b&c" }}', 'a+b%26c'],
  ])
})

tap.test('number functions accept Prometheus ConvertToFloat inputs', async t => {
  table(t, [
    [
      '{{ humanize 1234567 }} {{ humanize "1234567" }} {{ humanize 0.001234 }} {{ humanize 0 }} {{ humanize "NaN" }} {{ humanize "-Inf" }}',
      '1.235M 1.235M 1.234m 0 NaN -Inf',
    ],
    [
      '{{ humanize1024 1048576 }} {{ humanizeDuration 1.5 }} {{ humanizeDuration "90061" }} {{ humanizePercentage 0.5 }}',
      '1Mi 1.5s 1d 1h 1m 1s 50%',
    ],
    ['{{ humanize (len "abc") }} {{ (toTime 1767261600).Unix | humanize }}', '3 1.767G'],
    [
      '{{ humanizeTimestamp 1767261600.25 }} {{ humanizeTimestamp "0" }} {{ humanizeTimestamp "inf" }}',
      '2026-01-01 10:00:00.249 +0000 UTC 1970-01-01 00:00:00 +0000 UTC +Inf',
    ],
    ['{{ humanize "1e3" }} {{ humanize ".5" }} {{ humanize "+infinity" }}', '1k 500m +Inf'],
    [
      '{{ parseDuration "1h30m" }} {{ parseDuration "90s" }} {{ parseDuration "0" }} {{ parseDuration "-5m" }} {{ parseDuration "1y2w3d4h5m6s7ms" }}',
      '5400 90 0 -300 3.3019506007e+07',
    ],
    ['{{ now }} {{ now | humanizeTimestamp }}', '1.7672616005e+09 2026-01-01 10:00:00.5 +0000 UTC'],
  ])
})

tap.test('time values from toTime and toDuration', async t => {
  table(t, [
    [
      '{{ toTime 1767261600 }}|{{ toTime "1.5" }}|{{ (toTime 1767261600.75).UTC }}',
      '2026-01-01 10:00:00 +0000 UTC|1970-01-01 00:00:01.5 +0000 UTC|2026-01-01 10:00:00.75 +0000 UTC',
    ],
    [
      '{{ (toTime 1767261600).Unix }} {{ (toTime -1.5).Unix }} {{ (toTime 1.5).UnixMilli }} {{ (toTime 0).String }}',
      '1767261600 -2 1500 1970-01-01 00:00:00 +0000 UTC',
    ],
    ['{{ (toTime 1767261600.5).Format "2006-01-02T15:04:05.000Z07:00" }}', '2026-01-01T10:00:00.500Z'],
    [
      '{{ (toTime 1767261600.5).Format "Mon Monday Jan January 1 01 2 02 _2 06 2006 002 __2" }}',
      'Thu Thursday Jan January 1 01 1 01  1 26 2026 001   1',
    ],
    [
      '{{ (toTime 1767308645.12).Format "3 03 15 4 04 5 05 PM pm MST -0700 -07:00 -07 -070000 -07:00:00 Z0700 Z07 .999 ,000 .9 _2006 Janet Monk" }}',
      '11 11 23 4 04 5 05 PM pm UTC +0000 +00:00 +00 +000000 +00:00:00 Z Z .12 ,120 .1 _2026 Janet Monk',
    ],
    ['{{ (toTime 1767225600).Format "3PM 3pm .999|.000" }}', '12AM 12am |.000'],
    ['{{ $t := toTime 0 }}{{ $t.UTC.Unix }}', '0'],
    [
      '{{ toDuration 90.5 }}|{{ toDuration 0.0015 }}|{{ toDuration -3600 }}|{{ toDuration "1e-9" }}|{{ toDuration 1e300 }}|{{ toDuration $value }}',
      '1m30.5s|1.5ms|-1h0m0s|1ns|-2562047h47m16.854775808s|-2562047h47m16.854775808s',
      { value: NaN },
    ],
    [
      '{{ (toDuration 5400).Seconds }} {{ (toDuration 5400).Minutes }} {{ (toDuration 5400).Hours }} {{ (toDuration 1.5).Milliseconds }} {{ (toDuration 90).String }}',
      '5400 90 1.5 1500 1m30s',
    ],
    ['{{ (toDuration 90).Seconds | humanizeDuration }}', '1m 30s'],
  ])
})

tap.test('Go-compatible runtime errors are rendered, not thrown', async t => {
  table(t, [
    [
      '{{ if gt $value 1 }}x{{ end }}',
      execError(6, 'gt $value 1', 'error calling gt: incompatible types for comparison'),
    ],
    [
      '{{ .Foo }}',
      execError(
        3,
        '.Foo',
        `can't evaluate field Foo in type struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }`,
      ),
    ],
    ['{{ $labels.instance.port }}', execError(10, '$labels.instance.port', `can't evaluate field port in type string`)],
    [
      '{{ humanize "abc" }}',
      execError(3, 'humanize "abc"', 'error calling humanize: strconv.ParseFloat: parsing "abc": invalid syntax'),
    ],
    [
      '{{ humanize "1e400" }}',
      execError(
        3,
        'humanize "1e400"',
        'error calling humanize: strconv.ParseFloat: parsing "1e400": value out of range',
      ),
    ],
    ['{{ humanize true }}', execError(3, 'humanize true', `error calling humanize: can't convert bool to float`)],
    [
      '{{ humanize $labels }}',
      execError(3, 'humanize $labels', `error calling humanize: can't convert map[string]string to float`),
    ],
    ['{{ humanize nil }}', execError(3, 'humanize nil', `error calling humanize: can't convert <nil> to float`)],
    [
      '{{ humanize (index "a" 0) }}',
      execError(3, 'humanize (index "a" 0)', `error calling humanize: can't convert uint8 to float`),
    ],
    [
      '{{ humanizeTimestamp 1e10 }}',
      execError(
        3,
        'humanizeTimestamp 1e10',
        'error calling humanizeTimestamp: 1e+10 cannot be represented as a nanoseconds timestamp since it overflows int64',
      ),
    ],
    ['{{ toTime "NaN" }}', execError(3, 'toTime "NaN"', 'error calling toTime: value is NaN or Inf')],
    ['{{ $value | toUpper }}', execError(12, 'toUpper', 'wrong type for value; expected string; got float64')],
    ['{{ toUpper 1 }}', execError(11, '1', 'expected string; found 1')],
    ['{{ toUpper nil }}', execError(11, 'nil', 'cannot assign nil to string')],
    ['{{ toUpper (args).x }}', execError(12, 'args', 'invalid value; expected string')],
    ['{{ toUpper (safeHtml "x") }}', execError(21, '"x"', 'wrong type for value; expected string; got template.HTML')],
    ['{{ humanize }}', execError(3, 'humanize', 'wrong number of args for humanize: want 1 got 0')],
    ['{{ 1 | humanize 2 }}', execError(7, 'humanize', 'wrong number of args for humanize: want 1 got 2')],
    ['{{ printf }}', execError(3, 'printf', 'wrong number of args for printf: want at least 1 got 0')],
    ['{{ eq 1 }}', execError(3, 'eq 1', 'error calling eq: missing argument for comparison')],
    ['{{ eq 1 "a" }}', execError(3, 'eq 1 "a"', 'error calling eq: incompatible types for comparison')],
    [
      '{{ eq $labels $labels }}',
      execError(
        3,
        'eq $labels $labels',
        'error calling eq: non-comparable type map[__name__:http_errors instance:web-1.example.com:9100 job:api severity:critical]: map[string]string',
      ),
    ],
    ['{{ eq . 1.5 }}', execError(3, 'eq . 1.5', 'error calling eq: incompatible types for comparison')],
    [
      '{{ eq $labels (toTime 0) }}',
      execError(
        3,
        'eq $labels (toTime 0)',
        'error calling eq: non-comparable types map[__name__:http_errors instance:web-1.example.com:9100 job:api severity:critical]: map[string]string, *time.Time: 1970-01-01 00:00:00 +0000 UTC',
      ),
    ],
    ['{{ eq nil 1 }}', execError(6, 'nil', 'cannot assign nil to reflect.Value')],
    ['{{ lt true false }}', execError(3, 'lt true false', 'error calling lt: invalid type for comparison')],
    ['{{ lt $labels 1 }}', execError(3, 'lt $labels 1', 'error calling lt: invalid type for comparison')],
    ['{{ lt 1 (args).x }}', execError(3, 'lt 1 (args).x', 'error calling lt: invalid type for comparison')],
    ['{{ lt 1 1.5 }}', execError(3, 'lt 1 1.5', 'error calling lt: incompatible types for comparison')],
    ['{{ ge "a" 1 }}', execError(3, 'ge "a" 1', 'error calling ge: incompatible types for comparison')],
    ['{{ len 3 }}', execError(3, 'len 3', 'error calling len: len of type int')],
    ['{{ len (toTime 0) }}', execError(3, 'len (toTime 0)', 'error calling len: len of type time.Time')],
    ['{{ len (args).x }}', execError(3, 'len (args).x', 'error calling len: len of nil pointer')],
    ['{{ index nil 1 }}', execError(9, 'nil', 'cannot assign nil to reflect.Value')],
    ['{{ index (args).x 1 }}', execError(3, 'index (args).x 1', 'error calling index: index of untyped nil')],
    ['{{ index (args) "a" "b" }}', execError(3, 'index (args) "a" "b"', 'error calling index: index of nil pointer')],
    ['{{ index 1 2 }}', execError(3, 'index 1 2', `error calling index: can't index item of type int`)],
    [
      '{{ index $labels 1 }}',
      execError(3, 'index $labels 1', 'error calling index: value has type int; should be string'),
    ],
    [
      '{{ index $labels (args).x }}',
      execError(3, 'index $labels (args).x', 'error calling index: value is nil; should be of type string'),
    ],
    ['{{ index "abc" 3 }}', execError(3, 'index "abc" 3', 'error calling index: reflect: string index out of range')],
    ['{{ index "abc" 4 }}', execError(3, 'index "abc" 4', 'error calling index: index out of range: 4')],
    ['{{ index "abc" -1 }}', execError(3, 'index "abc" -1', 'error calling index: index out of range: -1')],
    [
      '{{ index "abc" 1.5 }}',
      execError(3, 'index "abc" 1.5', 'error calling index: cannot index slice/array with type float64'),
    ],
    [
      '{{ index "abc" (args).x }}',
      execError(3, 'index "abc" (args).x', 'error calling index: cannot index slice/array with nil'),
    ],
    ['{{ slice (args).x }}', execError(3, 'slice (args).x', 'error calling slice: slice of untyped nil')],
    [
      '{{ slice "abc" 1 2 3 4 }}',
      execError(3, 'slice "abc" 1 2 3 4', 'error calling slice: too many slice indexes: 4'),
    ],
    [
      '{{ slice "abc" 1 2 3 }}',
      execError(3, 'slice "abc" 1 2 3', 'error calling slice: cannot 3-index slice a string'),
    ],
    ['{{ slice 1 }}', execError(3, 'slice 1', `error calling slice: can't slice item of type int`)],
    ['{{ slice "abc" 2 1 }}', execError(3, 'slice "abc" 2 1', 'error calling slice: invalid slice index: 2 > 1')],
    ['{{ call 1 }}', execError(3, 'call 1', 'error calling call: non-function 1 of type int')],
    ['{{ call (args).x }}', execError(3, 'call (args).x', 'error calling call: call of nil')],
    ['{{ 1 | call }}', execError(7, 'call', 'error calling call: non-function  of type int')],
    ['{{ nil }}', execError(3, 'nil', 'nil is not a command')],
    ['{{ 1 2 }}', execError(3, '1', `can't give argument to non-function 1`)],
    ['{{ $value 2 }}', execError(3, '$value', `can't give argument to non-function $value`)],
    ['{{ 1 | $value }}', execError(7, '$value', `can't give argument to non-function $value`)],
    ['{{ 1 | (2) }}', execError(3, '1', `can't give argument to non-function 2`)],
    ['{{ .Labels 1 }}', execError(3, '.Labels', 'Labels has arguments but cannot be invoked as function')],
    ['{{ .Labels.job 1 }}', execError(10, '.Labels.job', 'job is not a method but has arguments')],
    ['{{ (toTime 0).Nope }}', execError(11, '0', `can't evaluate field Nope in type *time.Time`)],
    ['{{ (toDuration 0).Nope }}', execError(15, '0', `can't evaluate field Nope in type *time.Duration`)],
    ['{{ (toTime 0).Format }}', execError(11, '0', 'wrong number of args for Format: want 1 got 0')],
    ['{{ now.Foo }}', execError(3, 'now', `can't evaluate field Foo in type float64`)],
    ['{{ $x := $x }}', execError(9, '$x', 'undefined variable: $x')],
    ['{{ $y = 1 }}', execError(8, '1', 'undefined variable: $y')],
    ['{{ range 1.5 }}{{ end }}', execError(9, '1.5', `range can't iterate over 1.5`)],
    ['{{ range $i, $e := 3 }}{{ end }}', execError(19, '3', `can't use 3 to iterate over more than one variable`)],
    ['{{ 18446744073709551615 }}', execError(3, '18446744073709551615', '18446744073709551615 overflows int')],
    ['{{ first 1 }}', execError(9, '1', `can't handle 1 for arg of type template.queryResult`)],
    ['{{ first $value }}', execError(9, '$value', 'wrong type for value; expected template.queryResult; got float64')],
    ['{{ first nil }}', execError(3, 'first nil', 'error calling first: first() called on vector with no elements')],
    [
      '{{ label "x" nil }}',
      execError(
        3,
        'label "x" nil',
        'error calling label: runtime error: invalid memory address or nil pointer dereference',
      ),
    ],
    [
      '{{ value nil }}|{{ strvalue nil }}',
      execError(
        3,
        'value nil',
        'error calling value: runtime error: invalid memory address or nil pointer dereference',
      ),
    ],
    // A nil queryResult is a typed nil slice: fmt prints [] (checked against Prometheus 2.42).
    ['{{ sortByLabel "x" nil }}', '[]'],
    [
      '{{ first (args).x }}',
      execError(3, 'first (args).x', 'error calling first: first() called on vector with no elements'),
    ],
    [
      '{{ match "a\\\\p" "x" }}',
      execError(
        3,
        'match "a\\\\p" "x"',
        'error calling match: error parsing regexp: invalid character class range: `a\\p`',
      ),
    ],
    [
      '{{ match "(" "x" }}',
      execError(3, 'match "(" "x"', 'error calling match: error parsing regexp: missing closing ): `(`'),
    ],
    [
      '{{ reReplaceAll "a)" "" "x" }}',
      execError(
        3,
        'reReplaceAll "a)" "" "x"',
        'error calling reReplaceAll: regexp: Compile(`a)`): error parsing regexp: unexpected ): `a)`',
      ),
    ],
    [
      '{{ reReplaceAll "a`(" "" "x" }}',
      execError(
        3,
        'reReplaceAll "a`(" "" "x"',
        'error calling reReplaceAll: regexp: Compile("a`("): error parsing regexp: missing closing ): `a`(`',
      ),
    ],
    [
      '{{ match "*" "x" }}',
      execError(
        3,
        'match "*" "x"',
        'error calling match: error parsing regexp: missing argument to repetition operator: `*`',
      ),
    ],
    [
      '{{ match "[a" "x" }}',
      execError(3, 'match "[a" "x"', 'error calling match: error parsing regexp: missing closing ]: `[a`'),
    ],
    [
      '{{ match "a{2,1}" "x" }}',
      execError(
        3,
        'match "a{2,1}" "x"',
        'error calling match: error parsing regexp: numbers out of order in {} quantifier: `a{2,1}`',
      ),
    ],
    [
      '{{ match "(a)\\\\1" "x" }}',
      execError(
        3,
        'match "(a)\\\\1" "x"',
        'error calling match: error parsing regexp: invalid escape sequence: `\\1`: `(a)\\1`',
      ),
    ],
    [
      '{{ match "a(?=b)" "x" }}',
      execError(
        3,
        'match "a(?=b)" "x"',
        'error calling match: error parsing regexp: invalid or unsupported Perl syntax: `(?=`: `a(?=b)`',
      ),
    ],
    [
      '{{ match "a(?i:b)" "x" }}',
      execError(
        3,
        'match "a(?i:b)" "x"',
        'error calling match: error parsing regexp: flags inside a pattern are not supported by rollguard: `a(?i:b)`',
      ),
    ],
    [
      '{{ match "[[:foo:]]" "x" }}',
      execError(
        3,
        'match "[[:foo:]]" "x"',
        'error calling match: error parsing regexp: invalid character class range: `[:foo:]`: `[[:foo:]]`',
      ),
    ],
    [
      '{{ match "a\\\\" "x" }}',
      execError(
        3,
        'match "a\\\\" "x"',
        'error calling match: error parsing regexp: trailing backslash at end of expression: `a\\`',
      ),
    ],
    ['{{ parseDuration "" }}', execError(3, 'parseDuration ""', 'error calling parseDuration: empty duration string')],
    [
      '{{ parseDuration "5x" }}',
      execError(3, 'parseDuration "5x"', 'error calling parseDuration: unknown unit "x" in duration "5x"'),
    ],
    [
      '{{ parseDuration "m" }}',
      execError(3, 'parseDuration "m"', 'error calling parseDuration: not a valid duration string: "m"'),
    ],
    [
      '{{ parseDuration "5m1h" }}',
      execError(3, 'parseDuration "5m1h"', 'error calling parseDuration: not a valid duration string: "5m1h"'),
    ],
    [
      '{{ parseDuration "1.5h" }}',
      execError(3, 'parseDuration "1.5h"', 'error calling parseDuration: unknown unit "." in duration "1.5h"'),
    ],
    [
      '{{ parseDuration "300y" }}',
      execError(3, 'parseDuration "300y"', 'error calling parseDuration: duration out of range'),
    ],
    [
      '{{ parseDuration "99999999999999999999ms" }}',
      execError(
        3,
        'parseDuration "99999999999999999999ms"',
        'error calling parseDuration: not a valid duration string: "99999999999999999999ms"',
      ),
    ],
    [
      'x\n{{ .Nope }}',
      execError(
        3,
        '.Nope',
        `can't evaluate field Nope in type struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }`,
        2,
      ),
    ],
    [
      'é{{ .Nope }}',
      execError(
        5,
        '.Nope',
        `can't evaluate field Nope in type struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }`,
      ),
    ],
    [
      '{{ printf "%s" "a very long argument here" 1 | toUpper 1 }}',
      execError(47, 'toUpper', 'wrong number of args for toUpper: want 1 got 2'),
    ],
  ])
})

tap.test('parse errors throw TemplateSyntaxError with Go wording', async t => {
  const cases: [string, string, number?][] = [
    ['{{ $labels.instance }', 'unexpected "}" in operand'],
    ['{{ foo }}', 'function "foo" not defined'],
    ['{{ $nope }}', 'undefined variable "$nope"'],
    ['{{ .x', 'unclosed action'],
    ['{{ .x\n\n', 'unclosed action started at __alert_Test:1', 3],
    ['{{ "abc', 'unterminated quoted string'],
    ['{{ "abc\\', 'unterminated quoted string'],
    ['{{ "a\nb" }}', 'unterminated quoted string'],
    ['{{ `abc', 'unterminated raw quoted string'],
    ["{{ 'ab }}", 'unterminated character constant'],
    ["{{ 'ab' }}", "malformed character constant: 'ab'"],
    ["{{ '\\q' }}", 'invalid syntax'],
    ['{{ "\\q" }}', 'invalid syntax'],
    ['{{ "\\\'" }}', 'invalid syntax'],
    ['{{ "\\xZZ" }}', 'invalid syntax'],
    ['{{ "\\uD800" }}', 'invalid syntax'],
    ['{{ "\\400" }}', 'invalid syntax'],
    ['{{ "\\12" }}', 'invalid syntax'],
    ['{{ 1x }}', 'bad number syntax: "1x"'],
    ['{{ 1+2 }}', 'bad number syntax: "1+2"'],
    ['{{ 1+2i }}', 'complex numbers are not supported by rollguard: 1+2i'],
    ['{{ 2i }}', 'complex numbers are not supported by rollguard: 2i'],
    ['{{ 08 }}', 'integer overflow: "08"'],
    ['{{ 99999999999999999999 }}', 'integer overflow: "99999999999999999999"'],
    ['{{ - }}', 'illegal number syntax: "-"'],
    ['{{ 0x1p3 }}', 'illegal number syntax: "0x1p3"'],
    ['{{ .x# }}', "bad character U+0023 '#'"],
    ['{{ foo# }}', "bad character U+0023 '#'"],
    ['{{ \x01 }}', 'unrecognized character in action: U+0001'],
    ['{{ 😀 }}', "unrecognized character in action: U+1F600 '😀'"],
    ['{{ .', 'illegal number syntax: "."'],
    ['{{ 1', 'unclosed action'],
    ["{{ '' }}", 'invalid syntax'],
    ['{{ true.x }}', 'unexpected . after term "true"'],
    ['{{ 1.5.x }}', 'unexpected . after term "1.5"'],
    ['{{ → }}', "unrecognized character in action: U+2192 '→'"],
    ['{{ ( 1 }}', 'unclosed left paren'],
    ['{{ 1 ) }}', 'unexpected right paren'],
    ['{{ 1 : 1 }}', 'expected :='],
    ['{{ $x : 1 }}', 'undefined variable "$x"'],
    ['{{ /* c */ }}', 'unexpected "/" in command'],
    ['{{/* c */ x }}', 'comment ends before closing delimiter'],
    ['{{/* c', 'unclosed comment'],
    ['{{ }}', 'missing value for command'],
    ['{{ if }}{{ end }}', 'missing value for if'],
    ['{{ 1 | 2 }}', 'non executable command in pipeline stage 2'],
    ['{{ end }}', 'unexpected {{end}}'],
    ['{{ else }}', 'unexpected {{else}}'],
    ['{{ else if 1 }}', 'unexpected {{else}}'],
    ['{{ if 1 }}', 'unexpected EOF'],
    ['{{ if 1 }}{{ else }}{{ else }}{{ end }}', 'expected end; found {{else}}'],
    ['{{ range 1 }}{{ else if 1 }}{{ end }}', 'unexpected <if> in input'],
    ['{{ end 1 }}', 'unexpected "1" in end'],
    ['{{ else 1 }}', 'unexpected "1" in else'],
    ['{{ break }}', '{{break}} outside {{range}}'],
    ['{{ range 1 }}{{ continue 1 }}{{ end }}', 'unexpected "1" in {{continue}}'],
    ['{{ range 1 }}{{ else }}{{ continue }}{{ end }}', '{{continue}} outside {{range}}'],
    ['{{ $x, $y := 1 }}', 'too many declarations in command'],
    ['{{ range $a, $b, $c := . }}{{ end }}', 'too many declarations in range'],
    ['{{ range $a, 1 }}{{ end }}', 'range can only initialize variables'],
    ['{{ range $a, $b }}{{ end }}', 'undefined variable "$b"'],
    ['{{ "x".y }}', 'unexpected . after term "\\"x\\""'],
    ['{{ ..x }}', 'unexpected . after term "."'],
    ['{{ nil.x }}', 'unexpected . after term "nil"'],
    ['{{ if | }}', 'unexpected "|" in if'],
    ['{{ 1 2 := }}', 'unexpected ":=" in operand'],
    ['{{ (1 | }}', 'unclosed left paren'],
    ['{{ (1 | . }}', 'unclosed left paren'],
    ['{{ . | printf "%s" | "long string literal" }}', 'non executable command in pipeline stage 3'],
    ['{{ "a" "abcdefghijkl" := }}', 'unexpected ":=" in operand'],
    ['{{ if "abcdefghijklmnop" := }}', 'unexpected ":=" in operand'],
    ['{{ with 1 }}{{ end }}{{ $x }}', 'undefined variable "$x"'],
    ['{{ with $x := 1 }}{{ end }}{{ $x }}', 'undefined variable "$x"'],
    ['{{ 1 }}}\n{{ end }}', 'unexpected {{end}}', 2],
    ['{{ if true }}\n\n{{ if }}{{ end }}{{ end }}', 'missing value for if', 3],
    ['{{ x\u00e9 }}', 'function "x\u00e9" not defined'],
  ]
  for (const [source, message, line = 1] of cases) {
    t.throws(
      () => compileTemplate(NAME, source),
      new TemplateSyntaxError(`template: ${NAME}:${line}: ${message}`, line),
      source,
    )
    try {
      compileTemplate(NAME, source)
    } catch (e) {
      t.ok(e instanceof TemplateSyntaxError, `${source} is a TemplateSyntaxError`)
      t.equal((e as TemplateSyntaxError).line, line, `${source} line`)
      t.equal((e as TemplateSyntaxError).name, 'TemplateSyntaxError')
    }
  }
  t.throws(() => compileTemplate(NAME, '{{ "x" | "abcdefghijklmnop" }}'), {
    message: /non executable command in pipeline stage 2/,
  })
  t.throws(() => compileTemplate(NAME, '{{ if true false "abcdefghijklm" ) }}'), { message: /unexpected right paren/ })
})

tap.test('long token names are truncated like Go in parse errors', async t => {
  t.throws(() => compileTemplate(NAME, '{{ 1 "abcdefghijklmno" := }}'), {
    message: `template: ${NAME}:1: unexpected ":=" in operand`,
  })
  t.throws(() => compileTemplate(NAME, '{{ end "abcdefghijklmno" }}'), {
    message: `template: ${NAME}:1: unexpected "\\"abcdefghi"... in end`,
  })
})

tap.test('nodeString renders parse trees like Go', async t => {
  const sources = [
    'text{{ $x := 1 }}{{ $x = 2 }}{{ .A.b | printf "%d" }}{{ (1).X }}{{ now.Y }}{{ nil }}{{ . }}{{ true }}{{ 1.5 }}',
    '{{ if 1 }}a{{ else if 2 }}b{{ else }}c{{ end }}{{ with $v := 1 }}{{ end }}',
    '{{ range $k, $v := . }}{{ break }}{{ continue }}{{ end }}{{ range . }}{{ else }}e{{ end }}{{ `raw` }}',
  ]
  const want = [
    'text{{$x := 1}}{{$x = 2}}{{.A.b | printf "%d"}}{{(1).X}}{{now.Y}}{{nil}}{{.}}{{true}}{{1.5}}',
    '{{if 1}}a{{else}}{{if 2}}b{{else}}c{{end}}{{end}}{{with $v := 1}}{{end}}',
    '{{range $k, $v := .}}{{break}}{{continue}}{{end}}{{range .}}{{else}}e{{end}}{{`raw`}}',
  ]
  sources.forEach((s, i) => t.equal(nodeString(parseTemplate('x', s, checkFunction).get('x') as ListNode), want[i]))
})

tap.test('compiled templates are shared between rules with the same name and text', async t => {
  const a = compileTemplate('__alert_Shared', '{{ $labels.job }} is {{ $value }}')
  const b = compileTemplate('__alert_Shared', '{{ $labels.job }} is {{ $value }}')
  t.equal(a, b, 'one parse tree for identical templates')
  t.not(
    compileTemplate('__alert_Other', '{{ $labels.job }} is {{ $value }}'),
    a,
    'the name is part of the identity (it appears in errors)',
  )
  t.equal(b.expand(DATA, EVAL_TIME), 'api is 0.1234')
  t.throws(() => compileTemplate('__alert_Shared', '{{ $labels.job '), TemplateSyntaxError)
  t.throws(() => compileTemplate('__alert_Shared', '{{ $labels.job '), TemplateSyntaxError, 'errors are not cached')
})

tap.test('the shared template cache is bounded', async t => {
  const first = compileTemplate('__alert_Evicted', '{{ $value }}')
  for (let i = 0; i < 10_000; i++) compileTemplate(`__alert_Filler${i}`, '{{ $value }}')
  const again = compileTemplate('__alert_Evicted', '{{ $value }}')
  t.not(again, first, 'full cache was cleared, so the template was compiled afresh')
  t.equal(again.expand(DATA, EVAL_TIME), '0.1234')
})
