// {{define}}, {{template}} and {{block}} as Go's text/template runs them inside Prometheus's alert templates: each
// annotation is its own template set; Prometheus's $labels/$value prefix belongs to the top-level template only; a
// called template sees no variables but $ and the dot it is passed. Expected texts were checked against
// Prometheus 2.42 (see template-differential.test.ts, which compares the same cases live) and promtool.
import tap from 'tap'
import { nodeString } from '../../src/engine/template/ast.js'
import { MAX_EXEC_DEPTH } from '../../src/engine/template/exec.js'
import { checkFunction } from '../../src/engine/template/funcs.js'
import { compileTemplate, TemplateSyntaxError } from '../../src/engine/template/index.js'
import { isEmptyTree, parseTemplate } from '../../src/engine/template/parser.js'
import type { TemplateData } from '../../src/engine/types.js'

const NAME = '__alert_T'
const PREFIX = 112
const DATA: TemplateData = {
  labels: { __name__: 'x', instance: 'web-1:9100', job: 'api' },
  externalLabels: {},
  externalURL: '',
  value: 0.5,
}

const expand = (source: string): string => compileTemplate(NAME, source).expand(DATA, 0)

function execError(column: number, executing: string, context: string, message: string, line = 1): string {
  const col = line === 1 ? column + PREFIX : column
  return `<error expanding template: error executing template ${NAME}: template: ${NAME}:${line}:${col}: executing "${executing}" at <${context}>: ${message}>`
}

tap.test('define and template: dot is what the call passes, nil without a pipeline', async t => {
  const cases: Array<[string, string]> = [
    [
      '{{ define "x" }}[{{ . }}]{{ end }}{{ template "x" $value }}|{{ template "x" }}|{{ template "x" $labels.instance }}',
      '[0.5]|[<no value>]|[web-1:9100]',
    ],
    ['{{ define "l" }}{{ .instance }} {{ len . }}{{ end }}{{ template "l" $labels }}', 'web-1:9100 3'],
    ['{{ define "d" }}{{ $.instance }}/{{ .job }}{{ end }}{{ template "d" .Labels }}', 'web-1:9100/api'],
    [
      '{{ define "n" }}{{ . }}|{{ printf "%v" . }}|{{ if . }}t{{ else }}f{{ end }}{{ end }}{{ template "n" }}',
      '<no value>|<nil>|f',
    ],
    ['{{ define "u" }}{{ . }}{{ end }}{{ template "u" $labels.instance | toUpper }}', 'WEB-1:9100'],
    [
      '{{ template "a" 3 }}{{ define "a" }}a{{ . }}{{ template "b" . }}{{ end }}{{ define "b" }}b{{ . }}{{ end }}',
      'a3b3',
    ],
    ['{{ define `r` }}R{{ end }}{{ template `r` }}{{ template "r" }}', 'RR'],
    ['{{- define "t" -}}  T  {{- end -}}  {{ template "t" }}  ', 'T  '],
    [
      '{{ range $k, $v := $labels }}{{ template "kv" (args $k $v) }}{{ end }}{{ define "kv" }}{{ .arg0 }}:{{ .arg1 }},{{ end }}',
      '__name__:x,instance:web-1:9100,job:api,',
    ],
    [
      '{{ define "w" }}{{ with .severity }}sev={{ . }}{{ else }}none{{ end }}{{ end }}{{ template "w" $labels }}',
      'none',
    ],
    [
      '{{ define "first" }}{{ range $k, $v := . }}{{ $k }}{{ break }}{{ end }}{{ end }}{{ template "first" $labels }}',
      '__name__',
    ],
    ['{{ define "" }}empty name{{ end }}{{ template "" }}', 'empty name'],
    ['{{ define "x" }}never called{{ end }}only main', 'only main'],
  ]
  for (const [source, want] of cases) t.equal(expand(source), want, source)
})

tap.test("no dynamic scoping: the caller's variables are not visible, declarations in the call persist", async t => {
  t.equal(expand('{{ define "v" }}{{ $x := 1 }}{{ $x }}{{ end }}{{ $x := 2 }}{{ template "v" }}{{ $x }}'), '12')
  t.equal(expand('{{ define "p" }}{{ . }}{{ end }}{{ template "p" $y := "v" }}{{ $y }}'), 'vv')
  t.equal(expand('{{ define "s" }}{{ $ }}{{ end }}{{ with $labels.job }}{{ template "s" . }}{{ end }}'), 'api')
  // $labels and friends are declared by Prometheus's prefix in the top-level template only: a parse error in a define.
  t.throws(() => compileTemplate(NAME, '{{ define "x" }}{{ $labels.job }}{{ end }}'), {
    message: `template: ${NAME}:1: undefined variable "$labels"`,
  })
  t.throws(() => compileTemplate(NAME, '{{ define "x" }}{{ $y := 1 }}{{ end }}{{ $y }}'), {
    message: `template: ${NAME}:1: undefined variable "$y"`,
  })
})

tap.test('block defines a template and calls it in place; an empty body gives way to a define', async t => {
  t.equal(
    expand('{{ block "b" $labels }}{{ range $k, $v := . }}{{ $k }}={{ $v }};{{ end }}{{ end }}'),
    '__name__=x;instance=web-1:9100;job=api;',
  )
  t.equal(expand('{{ block "b" . }}{{ end }}{{ define "b" }}override {{ .Value }}{{ end }}'), 'override 0.5')
  t.equal(expand('{{ define "b" }}D{{ .Labels.job }}{{ end }}{{ block "b" . }}  {{ end }}'), 'Dapi')
  t.equal(expand('{{ range $i, $v := $labels }}{{ block "rb" $v }}<{{ . }}>{{ end }}{{ end }}'), '<x><web-1:9100><api>')
  t.equal(expand('{{ block "outer" $labels }}({{ block "inner" .job }}[{{ . }}]{{ end }}){{ end }}'), '([api])')
  // An empty definition of the top-level name gives way to the top-level template.
  t.equal(expand(`{{ define "${NAME}" }} {{ end }}main`), 'main')
})

tap.test('execution errors name the template being executed and locate the node in the whole text', async t => {
  t.equal(
    expand('before {{ template "nope" }} after'),
    execError(19, NAME, '{{template "nope"}}', 'template "nope" not defined'),
  )
  t.equal(
    expand('{{ template "a-very-long-template-name" . }}'),
    execError(
      12,
      NAME,
      '{{template "a-very-long-template-name" .}}',
      'template "a-very-long-template-name" not defined',
    ),
  )
  t.equal(
    expand('{{ define "e" }}ok {{ .Nope }}{{ end }}{{ template "e" 1 }}'),
    execError(22, 'e', '.Nope', "can't evaluate field Nope in type int"),
  )
  t.equal(
    expand('{{ define "m" }}\nline {{ .job }}\n{{ .Nope.x }}{{ end }}\n{{ template "m" $labels }}'),
    execError(8, 'm', '.Nope.x', "can't evaluate field x in type string", 3),
  )
  // After a call returns, errors are the caller's again.
  t.equal(
    expand('{{ define "ok" }}{{ end }}{{ template "ok" }}{{ .Nope }}'),
    execError(
      48,
      NAME,
      '.Nope',
      `can't evaluate field Nope in type struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }`,
    ),
  )
})

tap.test(`recursion stops at depth ${MAX_EXEC_DEPTH} with Go's message`, async t => {
  t.equal(
    expand('{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}'),
    execError(28, 'r', '{{template "r" .}}', `exceeded maximum template depth (${MAX_EXEC_DEPTH})`),
  )
  // Finite recursion below the bound runs: one level per byte of a string.
  t.equal(
    expand(
      '{{ define "c" }}{{ if . }}{{ len . }} {{ template "c" (slice . 1) }}{{ end }}{{ end }}{{ template "c" "abcd" }}',
    ),
    '4 3 2 1 ',
  )
  // A chain of n nested calls, each template wrapping the next in {{if}} and {{with}}.
  const chain = (n: number): string => {
    let text = ''
    for (let i = 0; i < n - 1; i++)
      text += `{{ define "d${i}" }}{{ if . }}{{ with . }}{{ template "d${i + 1}" . }}{{ end }}{{ end }}{{ end }}`
    return `${text}{{ define "d${n - 1}" }}bottom{{ end }}{{ template "d0" $labels }}`
  }
  t.equal(expand(chain(MAX_EXEC_DEPTH)), 'bottom', 'the deepest allowed call still runs')
  t.match(
    expand(chain(MAX_EXEC_DEPTH + 1)),
    new RegExp(
      `executing "d${MAX_EXEC_DEPTH - 1}" at <{{template "d${MAX_EXEC_DEPTH}" .}}>: exceeded maximum template depth`,
    ),
  )
})

tap.test('parse errors match promtool check rules (Prometheus 2.42)', async t => {
  const cases: Array<[string, string, number?]> = [
    ['{{ if true }}{{ define "x" }}{{ end }}{{ end }}', 'unexpected <define> in command'],
    ['{{ define "x" }}a{{ else }}b{{ end }}', 'unexpected {{else}} in define clause'],
    ['{{ define x }}{{ end }}', 'unexpected "x" in define clause'],
    ['{{ define "x" 1 }}{{ end }}', 'unexpected "1" in define clause'],
    ['{{ define "x" }}a{{ end }}{{ define "x" }}b{{ end }}', 'template: multiple definition of template "x"'],
    [`{{ define "${NAME}" }}a{{ end }}`, `template: multiple definition of template "${NAME}"`],
    ['{{ block "x" }}{{ end }}', 'missing value for block clause'],
    ['{{ block "x" . }}a{{ else }}{{ end }}', 'unexpected {{else}} in block clause'],
    ['{{ block "x" . }}\n{{ else }}\n{{ end }}', 'unexpected {{else}} in block clause'],
    ['{{ block "x" . }}a{{ end }}{{ define "x" }}b{{ end }}', 'template: multiple definition of template "x"'],
    ['{{ block x . }}{{ end }}', 'unexpected "x" in block clause'],
    ['{{ template x }}', 'unexpected "x" in template clause'],
    ['{{ range . }}{{ block "b" . }}{{ break }}{{ end }}{{ end }}', '{{break}} outside {{range}}'],
    ['{{ define "x" }}', 'unexpected EOF'],
    ['{{ template "x"', 'unclosed action'],
    ['{{ define "a\\z" }}{{ end }}', 'invalid syntax'],
    ['{{ template "a\\z" }}', 'invalid syntax'],
    ['{{ define "x" }}\n{{ 1 }\n{{ end }}', 'unexpected "}" in operand', 2],
    ['{{ block "x" . }}\n{{ 1 }\n{{ end }}', 'unexpected "}" in operand', 2],
    ['{{ define "x" }}\n{{/* c', 'unclosed comment', 2],
    ['{{ block "x" . }}\n{{/* c', 'unclosed comment', 2],
    ['{{ if 1 }}\n{{ block "x" . }}{{ .a }}{{ end }}\n{{ .b', 'unclosed action', 3],
    ['{{ define "x" }}\n{{ .a', 'unclosed action', 2],
    [
      '{{ define "x" }}{{ end }}\n\n{{ define "x" }}b{{ end }}\n{{ define "x" }}c{{ end }}',
      'template: multiple definition of template "x"',
      4,
    ],
  ]
  for (const [source, message, line = 1] of cases) {
    t.throws(
      () => compileTemplate(NAME, source),
      new TemplateSyntaxError(`template: ${NAME}:${line}: ${message}`, line),
      JSON.stringify(source),
    )
  }
})

tap.test('accepted at load: undefined templates fail only when executed, like Go', async t => {
  for (const source of [
    '{{ template "x" 1 2 }}{{ define "x" }}{{ end }}',
    '{{ if false }}{{ template "nowhere" }}{{ end }}',
    '{{ define "x" }}a{{ end }}{{ define "x" }} {{ end }}',
    '{{ define "x" }}\u0085\u00a0\u2028 {{ end }}{{ define "x" }}b{{ end }}',
    '{{ template "x" $z := 1 }}{{ $z }}{{ define "x" }}{{ end }}',
  ])
    t.doesNotThrow(() => compileTemplate(NAME, source), JSON.stringify(source).replace(/[^\x20-\x7e]/g, '?'))
  t.equal(expand('{{ if false }}{{ template "nowhere" }}{{ end }}ok'), 'ok')
})

tap.test("empty trees are white space as Go sees it (unicode.IsSpace, not JavaScript's \\s)", async t => {
  const tree = (text: string) => parseTemplate('x', text, checkFunction).get('x')
  const empty = (text: string): boolean => {
    const list = tree(text)
    return list !== undefined && isEmptyTree(list)
  }
  t.ok(empty(' \t\n\v\f\r\u0085\u00a0\u2003\u3000'))
  t.notOk(empty('\ufeff'), 'U+FEFF is not a space in Go')
  t.notOk(empty('{{ 1 }}'))
  t.notOk(empty('{{ template "y" }}'))
  // A define whose body is U+FEFF is not empty: a second definition is an error.
  t.throws(() => compileTemplate(NAME, '{{ define "x" }}\ufeff{{ end }}{{ define "x" }}b{{ end }}'), {
    message: /multiple definition/,
  })
})

tap.test("template nodes print like Go's TemplateNode.String", async t => {
  const trees = parseTemplate(
    'x',
    '{{ template "a" }}{{ template `b` .X | printf "%s" }}{{ block "c" 1 }}c{{ end }}{{ define "d" }}D{{ end }}',
    checkFunction,
  )
  t.equal(nodeString(trees.get('x') as never), '{{template "a"}}{{template "b" .X | printf "%s"}}{{template "c" 1}}')
  t.equal(nodeString(trees.get('c') as never), 'c')
  t.equal(nodeString(trees.get('d') as never), 'D')
  t.same([...trees.keys()].sort(), ['c', 'd', 'x'])
})

tap.test('usesQuery marks templates that name the query function anywhere in their set', async t => {
  t.equal(compileTemplate(NAME, '{{ $value }}').usesQuery, false)
  t.equal(compileTemplate(NAME, 'plain').usesQuery, undefined)
  t.equal(compileTemplate(NAME, '{{ define "q" }}{{ query "up" }}{{ end }}').usesQuery, true)
  t.equal(compileTemplate(NAME, '{{ if false }}{{ query "up" | first | value }}{{ end }}').usesQuery, true)
  t.equal(compileTemplate(NAME, '{{ "query" }}').usesQuery, false, 'a string is not a call')
})
