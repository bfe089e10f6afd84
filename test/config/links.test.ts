// The URLs in front of people: --external-url loses its trailing slash as in Prometheus (flag, environment, file),
// --prometheus-external-url and the alert-source template are validated with the rest of the configuration.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { alertSourceOf, prometheusLinkURL, rollguardURL, trimExternalURL } from '../../src/config/links.js'
import { ConfigError, loadConfig } from '../../src/config/load.js'
import { rule, group } from '../fixtures/engine.js'

const PROM = { 'prometheus-url': ['http://prometheus.monitoring:9090'] }
const flags = (o: Record<string, string>) =>
  new Map([...Object.entries(PROM), ...Object.entries(o).map(([k, v]) => [k, [v]] as [string, string[]])])

async function problems(p: Promise<unknown>): Promise<readonly string[]> {
  try {
    await p
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  throw new Error('expected a ConfigError')
}

t.test('trimExternalURL drops the trailing slashes of the path only', async t => {
  t.equal(trimExternalURL('http://x/prom/'), 'http://x/prom')
  t.equal(trimExternalURL('http://x/prom//'), 'http://x/prom')
  t.equal(trimExternalURL('http://x/'), 'http://x')
  t.equal(trimExternalURL('http://x:9099'), 'http://x:9099')
  t.equal(trimExternalURL('http://x/a/?q=/#f/'), 'http://x/a?q=/#f/', 'query and fragment stay')
})

t.test('--external-url: the trailing slash goes, from a flag, the environment or the config file', async t => {
  const fromFlag = await loadConfig({ flags: flags({ 'external-url': 'http://x/prom/' }), env: {}, cwd: '/w' })
  t.equal(fromFlag.doc.web.external_url, 'http://x/prom')
  const fromEnv = await loadConfig({
    flags: flags({}),
    env: { ROLLGUARD_EXTERNAL_URL: 'https://rollguard.example.com/' },
    cwd: '/w',
  })
  t.equal(fromEnv.doc.web.external_url, 'https://rollguard.example.com')
  const dir = t.testdir({
    'rollguard.yml':
      'web:\n  external_url: http://x/rollguard/\nprometheus:\n  url: http://p:9090\n  external_url: https://prometheus.example.com/\n',
  })
  const fromFile = await loadConfig({ flags: new Map([['config', [join(dir, 'rollguard.yml')]]]), env: {}, cwd: '/w' })
  t.equal(fromFile.doc.web.external_url, 'http://x/rollguard')
  t.equal(fromFile.doc.prometheus.external_url, 'https://prometheus.example.com')
  t.equal(rollguardURL(fromFile.doc), 'http://x/rollguard')
  t.equal(prometheusLinkURL(fromFile.doc), 'https://prometheus.example.com')
  t.same(await problems(loadConfig({ flags: flags({ 'external-url': "http://x/'" }), env: {}, cwd: '/w' })), [
    '--external-url: must not begin or end with quotes',
  ])
  t.same(
    await problems(loadConfig({ flags: flags({ 'external-url': '/prom' }), env: {}, cwd: '/w' })),
    ['--external-url: must be an http:// or https:// URL'],
    'scheme and host are required',
  )
})

t.test('links default to http://<hostname>:<port> for rollguard and to --prometheus-url for Prometheus', async t => {
  const c = await loadConfig({
    flags: new Map([
      ['prometheus-url', ['http://p:9090/']],
      ['listen', ['127.0.0.1:9100']],
    ]),
    env: {},
    cwd: '/w',
  })
  t.match(rollguardURL(c.doc), /^http:\/\/[^/]+:9100$/)
  t.equal(prometheusLinkURL(c.doc), 'http://p:9090', 'no trailing slash in links')
  const external = await loadConfig({
    flags: flags({ 'prometheus-external-url': 'https://prometheus.example.com/prom/' }),
    env: {},
    cwd: '/w',
  })
  t.equal(prometheusLinkURL(external.doc), 'https://prometheus.example.com/prom')
  const env = await loadConfig({
    flags: flags({}),
    env: { ROLLGUARD_PROMETHEUS_EXTERNAL_URL: 'https://p.example.com' },
    cwd: '/w',
  })
  t.equal(env.doc.prometheus.external_url, 'https://p.example.com')
})

t.test('--alert-source-url: the template renders the generatorURL; mistakes are configuration errors', async t => {
  const spec = rule({ name: 'HighErrorRate', expr: 'rate(errors[5m]) > 0.1' })
  const g = group([spec], { name: 'shop' })
  const byDefault = await loadConfig({
    flags: flags({ 'prometheus-external-url': 'https://prometheus.example.com' }),
    env: {},
    cwd: '/w',
  })
  t.equal(
    alertSourceOf(byDefault.doc)(spec, g, {}),
    'https://prometheus.example.com/graph?g0.expr=rate%28errors%5B5m%5D%29+%3E+0.1&g0.tab=1',
  )
  const template =
    'https://grafana.example.com/d/svc?var-ns={{ .Labels.namespace }}&var-alert={{ .AlertName }}&from=now-1h'
  const custom = await loadConfig({ flags: flags({ 'alert-source-url': template }), env: {}, cwd: '/w' })
  t.equal(custom.doc.web.alert_source_url, template)
  t.equal(
    alertSourceOf(custom.doc)(spec, g, { namespace: 'shop' }),
    'https://grafana.example.com/d/svc?var-ns=shop&var-alert=HighErrorRate&from=now-1h',
  )
  const dir = t.testdir({})
  writeFileSync(
    join(dir, 'rollguard.yml'),
    'prometheus: { url: "http://p:9090" }\nweb:\n  alert_source_url: "{{ .Expr | urlquery }}"\n',
  )
  t.same(
    await problems(loadConfig({ flags: new Map([['config', [join(dir, 'rollguard.yml')]]]), env: {}, cwd: '/w' })),
    [
      `${join(dir, 'rollguard.yml')}:3:21: web.alert_source_url: {{ .Expr | urlquery }}: unknown function urlquery (functions: queryEscape, pathEscape, jsonEscape)`,
    ],
  )
  t.same(
    await problems(
      loadConfig({ flags: flags({ 'alert-source-url': '/graph?g0.expr={{ .Expr }}' }), env: {}, cwd: '/w' }),
    ),
    [
      '--alert-source-url: must render an http:// or https:// URL (it renders "/graph?g0.expr=up"; start it with {{ .PrometheusURL }}, {{ .ExternalURL }} or a URL)',
    ],
  )
})
