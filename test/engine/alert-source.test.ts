import t from 'tap'
import {
  AlertSourceError,
  compileAlertSource,
  DEFAULT_ALERT_SOURCE,
  pathEscape,
  type AlertSourceData,
} from '../../src/engine/alert-source.js'

const data: AlertSourceData = {
  expr: 'sum(rate(http_requests_total{code=~"5.."}[5m])) by (namespace) > 0.1',
  alertName: 'HighErrorRate',
  groupName: 'shop/slo',
  labels: { alertname: 'HighErrorRate', namespace: 'shop', deployment: 'checkout' },
  externalURL: 'http://rollguard:9099',
  prometheusURL: 'http://prometheus.example.com/prom',
}

t.test("the default opens the expression in Prometheus's graph page, as Prometheus's own generatorURL", async t => {
  t.equal(
    compileAlertSource(DEFAULT_ALERT_SOURCE).render(data),
    'http://prometheus.example.com/prom/graph?g0.expr=sum%28rate%28http_requests_total%7Bcode%3D~%225..%22%7D%5B5m%5D%29%29+by+%28namespace%29+%3E+0.1&g0.tab=1',
  )
})

t.test("fields, labels and functions; Go's two spellings of a call", async t => {
  const render = (source: string) => compileAlertSource(source).render(data)
  t.equal(
    render('{{.AlertName}} {{ .GroupName }} {{ .ExternalURL }} {{.PrometheusURL}}'),
    'HighErrorRate shop/slo http://rollguard:9099 http://prometheus.example.com/prom',
  )
  t.equal(render('{{ .Labels.namespace }}/{{ .Labels.deployment }}'), 'shop/checkout')
  t.equal(render('[{{ .Labels.missing }}]'), '[]', 'a missing label is empty (missingkey=zero)')
  t.equal(render('{{ .GroupName | pathEscape }}'), 'shop%2Fslo')
  t.equal(render('{{ pathEscape .GroupName }}'), 'shop%2Fslo')
  t.equal(render('{{ .Labels.namespace | jsonEscape }}'), '"shop"')
  t.equal(render('{{ .Expr | jsonEscape | queryEscape }}').slice(0, 12), '%22sum%28rat', 'piped left to right')
  t.equal(render('{{ queryEscape .AlertName | jsonEscape }}'), '"HighErrorRate"')
  t.equal(render('no actions'), 'no actions')
  t.equal(render('a }} b'), 'a }} b', 'a lone }} is text, as in Go')
  const grafana =
    'https://grafana.example.com/explore?left={"queries":[{"expr":{{ .Expr | jsonEscape | queryEscape }}}]}'
  t.match(
    compileAlertSource(grafana).render({ ...data, expr: 'up == 0' }),
    'left={"queries":[{"expr":%22up+%3D%3D+0%22}]}',
  )
})

t.test('mistakes are errors naming the action', async t => {
  const cases: Array<[string, RegExp]> = [
    [
      '{{ .Exp }}',
      /\{\{ \.Exp \}\}: unknown field \.Exp \(fields: \.Expr, \.AlertName, \.GroupName, \.ExternalURL, \.PrometheusURL, \.Labels\.NAME\)/,
    ],
    ['{{ .Expr | urlquery }}', /unknown function urlquery \(functions: queryEscape, pathEscape, jsonEscape\)/],
    ['{{ $labels.namespace }}', /unknown field \$labels\.namespace/],
    ['{{ }}', /want a field/],
    ['{{ a b c }}', /want a field/],
    ['{{ .Expr | queryEscape pathEscape }}', /each \| takes one function/],
    ['{{ .Labels.a-b }}', /unknown field \.Labels\.a-b/],
    ['http://x/{{ .Expr', /unclosed action: \{\{ \.Expr/],
  ]
  for (const [source, message] of cases)
    t.throws(() => compileAlertSource(source), { name: 'AlertSourceError', message }, source)
  t.ok(new AlertSourceError('x') instanceof Error)
})

t.test("pathEscape is Go's url.PathEscape", async t => {
  t.equal(pathEscape('a b/c?d;e,f'), 'a%20b%2Fc%3Fd%3Be%2Cf')
  t.equal(pathEscape("$&+:=@-_.~!'()*"), '$&+:=@-_.~%21%27%28%29%2A')
  t.equal(pathEscape('é'), '%C3%A9')
})
