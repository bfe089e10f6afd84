import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseRunArgs, runUsage, UsageError } from '../../src/cli/args.js'
import { ConfigError, loadConfig } from '../../src/config/load.js'

const dir = fileURLToPath(new URL('../fixtures/config/', import.meta.url))
const flags = (o: Record<string, string | string[]>) =>
  new Map(Object.entries(o).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]))

async function problems(p: Promise<unknown>): Promise<readonly string[]> {
  try {
    await p
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  throw new Error('expected a ConfigError')
}

t.test('defaults apply when only the Prometheus URL is given', async t => {
  const c = await loadConfig({ flags: flags({ 'prometheus-url': 'http://127.0.0.1:9090' }), env: {}, cwd: '/w' })
  t.equal(c.doc.prometheus.url, 'http://127.0.0.1:9090')
  t.equal(c.doc.prometheus.timeout, 30_000)
  t.equal(c.doc.rules.evaluation_interval, 60_000)
  t.equal(c.doc.rules.resend_delay, 60_000)
  t.equal(c.doc.web.listen_address, '0.0.0.0:9099')
  t.same(c.doc.alertmanager.urls, [])
  t.equal(c.doc.alertmanager.queue_capacity, 10_000)
  t.equal(c.prometheusAuth, undefined)
  t.ok(Object.isFrozen(c.doc.rules), 'deep-frozen')
})

t.test('the exact command line from the issue parses', async t => {
  const c = await loadConfig({
    flags: flags({
      'prometheus-url': 'http://127.0.0.1:9090',
      'alertmanager-url': 'http://127.0.0.1:9093',
      rules: 'rules/rollback-triggers.yml',
      'eval-interval': '1s',
      listen: '127.0.0.1:9099',
    }),
    env: {},
    cwd: '/w',
  })
  t.same(c.doc.rules.files, ['/w/rules/rollback-triggers.yml'])
  t.equal(c.doc.rules.evaluation_interval, 1000)
  t.same(c.doc.alertmanager.urls, ['http://127.0.0.1:9093'])
})

t.test('precedence: flag > env > file > default', async t => {
  const config = join(dir, 'rollguard.good.yaml')
  const fileOnly = await loadConfig({ flags: flags({ config }), env: {}, cwd: '/w' })
  t.equal(fileOnly.doc.rules.evaluation_interval, 15_000, 'file beats default')
  t.equal(fileOnly.doc.rules.resend_delay, 60_000, 'default where nothing is set')
  const env = {
    ROLLGUARD_EVAL_INTERVAL: '30s',
    ROLLGUARD_ALERTMANAGER_URL: 'http://a:1, http://b:2',
    ROLLGUARD_EXTERNAL_LABEL: 'cluster=env,team=sre',
  }
  const withEnv = await loadConfig({ flags: flags({ config }), env, cwd: '/w' })
  t.equal(withEnv.doc.rules.evaluation_interval, 30_000, 'env beats file')
  t.same(withEnv.doc.alertmanager.urls, ['http://a:1', 'http://b:2'])
  t.same(withEnv.doc.global.external_labels, { cluster: 'env', team: 'sre' })
  const withFlag = await loadConfig({
    flags: flags({ config, 'eval-interval': '5s', 'external-label': ['cluster=flag'] }),
    env,
    cwd: '/w',
  })
  t.equal(withFlag.doc.rules.evaluation_interval, 5_000, 'flag beats env')
  t.same(withFlag.doc.global.external_labels, { cluster: 'flag' })
  const viaEnvConfig = await loadConfig({ flags: flags({}), env: { ROLLGUARD_CONFIG: config }, cwd: '/w' })
  t.equal(viaEnvConfig.configFile, config)
})

t.test('file paths resolve relative to the config file; secrets are read from files', async t => {
  const c = await loadConfig({ flags: flags({ config: join(dir, 'rollguard.good.yaml') }), env: {}, cwd: '/elsewhere' })
  t.same(c.doc.rules.files, [join(dir, 'rules/*.yml')])
  t.same(c.prometheusAuth, { type: 'bearer', token: 'prom-secret-token' }, 'trailing newline stripped')
  t.same(c.alertmanagerAuth, { type: 'basic', username: 'rollguard', password: 's3cret' })
  t.equal(c.doc.prometheus.url, 'http://prometheus.monitoring:9090/prometheus')
  t.same(c.doc.probes[0]?.expected_status, [200, '3xx'])
  t.equal(c.doc.probes[0]?.interval, 15_000)
  t.equal(c.doc.probes[0]?.method, 'GET')
})

t.test('bad values name the option, its source and the reason', async t => {
  const found = await problems(
    loadConfig({ flags: flags({ config: join(dir, 'rollguard.bad.yaml') }), env: {}, cwd: '/w' }),
  )
  const text = found.join('\n')
  t.match(text, /rollguard\.bad\.yaml:2:8: prometheus\.url: must be an http:\/\/ or https:\/\/ URL/)
  t.match(text, /rollguard\.bad\.yaml:4:24: rules\.evaluation_interval: .*"1\.5m"/)
  t.match(text, /rollguard\.bad\.yaml:5:3: rules\.unknown_key: Unrecognized key: "unknown_key"/)
  t.match(text, /rollguard\.bad\.yaml:9:23: probes\.0\.expected_status\.0: /)
  const flagged = await problems(
    loadConfig({ flags: flags({ 'prometheus-url': 'http://p', 'eval-interval': '5x' }), env: {}, cwd: '/w' }),
  )
  t.match(flagged, [/^--eval-interval: .*"5x"/])
  const envd = await problems(
    loadConfig({
      flags: flags({}),
      env: { ROLLGUARD_PROMETHEUS_URL: 'http://p', ROLLGUARD_QUERY_CONCURRENCY: 'many' },
      cwd: '/w',
    }),
  )
  t.match(envd[0], /^ROLLGUARD_QUERY_CONCURRENCY: /)
  const missing = await problems(loadConfig({ flags: flags({}), env: {}, cwd: '/w' }))
  t.same(missing, ['prometheus.url (--prometheus-url, ROLLGUARD_PROMETHEUS_URL): is required'])
  const labels = await problems(
    loadConfig({ flags: flags({ 'prometheus-url': 'http://p', 'external-label': 'nolabel' }), env: {}, cwd: '/w' }),
  )
  t.same(labels, ['--external-label: "nolabel" is not NAME=VALUE'])
})

t.test('unreadable files are reported, never their contents', async t => {
  const found = await problems(
    loadConfig({
      flags: flags({ 'prometheus-url': 'http://p', 'prometheus-bearer-token-file': '/nonexistent/token' }),
      env: {},
      cwd: '/w',
    }),
  )
  t.same(found, ['prometheus.bearer_token_file: cannot read /nonexistent/token: ENOENT'])
  const noFile = await problems(
    loadConfig({ flags: flags({ config: '/nonexistent/rollguard.yml' }), env: {}, cwd: '/w' }),
  )
  t.match(noFile[0], /^--config: cannot read \/nonexistent\/rollguard\.yml: ENOENT/)
  const both = await problems(
    loadConfig({
      flags: flags({
        'prometheus-url': 'http://p',
        'prometheus-bearer-token-file': join(dir, 'secrets/prom-token'),
        'prometheus-basic-auth-username': 'u',
      }),
      env: {},
      cwd: '/w',
    }),
  )
  t.same(both, ['prometheus: bearer_token_file and basic_auth are mutually exclusive'])
})

t.test('web.workload_link: a URL template for the status page', async t => {
  const write = (text: string) => {
    const file = join(t.testdir(), 'rollguard.yml')
    writeFileSync(file, `prometheus:\n  url: http://127.0.0.1:9090\nweb:\n  workload_link: ${text}\n`)
    return file
  }
  const ok = await loadConfig({
    flags: flags({ config: write('"https://headlamp.example.com/c/main/{resource}/{namespace}/{name}"') }),
    env: {},
    cwd: '/w',
  })
  t.equal(ok.doc.web.workload_link, 'https://headlamp.example.com/c/main/{resource}/{namespace}/{name}')
  const bad = await problems(
    loadConfig({ flags: flags({ config: write('"javascript:alert(1)/{name}"') }), env: {}, cwd: '/w' }),
  )
  t.match(bad, [/rollguard\.yml:4:18: web\.workload_link: must be an http:\/\/ or https:\/\/ URL template/])
})

t.test(
  'web.enable_lifecycle: off by default; a bare --web.enable-lifecycle, the environment or the file turn it on',
  async t => {
    const load = (f: Map<string, string[]>, env: Record<string, string> = {}) =>
      loadConfig({ flags: f, env, cwd: '/w' })
    const base = { 'prometheus-url': 'http://127.0.0.1:9090' }
    t.equal((await load(flags(base))).doc.web.enable_lifecycle, false)
    const parsed = parseRunArgs(['--prometheus-url', 'http://127.0.0.1:9090', '--web.enable-lifecycle'])
    t.equal((await load(parsed.flags)).doc.web.enable_lifecycle, true, 'the flag takes no value, as in Prometheus')
    t.throws(() => parseRunArgs(['--web.enable-lifecycle=yes']), UsageError)
    t.equal((await load(flags(base), { ROLLGUARD_WEB_ENABLE_LIFECYCLE: 'true' })).doc.web.enable_lifecycle, true)
    const file = join(t.testdir(), 'rollguard.yml')
    writeFileSync(file, 'prometheus:\n  url: http://127.0.0.1:9090\nweb:\n  enable_lifecycle: true\n')
    t.equal((await load(flags({ config: file }))).doc.web.enable_lifecycle, true)
    t.match(await problems(load(flags(base), { ROLLGUARD_WEB_ENABLE_LIFECYCLE: 'yes' })), [
      /^ROLLGUARD_WEB_ENABLE_LIFECYCLE: .*boolean/,
    ])
    t.match(runUsage(), /--web\.enable-lifecycle {2}\(ROLLGUARD_WEB_ENABLE_LIFECYCLE; config: web\.enable_lifecycle\)/)
  },
)

t.test('--web.config.file / web.config_file: read with the config, relative to the cwd or the config file', async t => {
  const dir = t.testdir({
    conf: { 'rollguard.yml': 'prometheus:\n  url: http://127.0.0.1:9090\nweb:\n  config_file: web.yml\n' },
  })
  writeFileSync(join(dir, 'conf', 'web.yml'), 'http_server_config:\n  headers:\n    X-Frame-Options: deny\n')
  const fromFile = await loadConfig({ flags: flags({ config: 'conf/rollguard.yml' }), env: {}, cwd: dir })
  t.equal(fromFile.webConfig?.file, join(dir, 'conf', 'web.yml'), 'relative to the config file')
  t.same(fromFile.webConfig?.headers, { 'X-Frame-Options': 'deny' })
  const fromFlag = parseRunArgs(['--prometheus-url', 'http://127.0.0.1:9090', '--web.config.file', 'conf/web.yml'])
  t.equal((await loadConfig({ flags: fromFlag.flags, env: {}, cwd: dir })).webConfig?.file, join(dir, 'conf/web.yml'))
  const none = await loadConfig({ flags: flags({ 'prometheus-url': 'http://127.0.0.1:9090' }), env: {}, cwd: dir })
  t.equal(none.webConfig, undefined)

  writeFileSync(join(dir, 'conf', 'web.yml'), 'tls_server_config:\n  client_auth_type: Sometimes\n')
  const bad = await problems(loadConfig({ flags: flags({ config: 'conf/rollguard.yml' }), env: {}, cwd: dir }))
  t.same(bad, [
    `${join(dir, 'conf', 'web.yml')}:2:3: tls_server_config.client_auth_type: must be one of NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert`,
  ])
  t.match(
    runUsage(),
    /--web\.config\.file VALUE {2}\(ROLLGUARD_WEB_CONFIG_FILE; config: web\.config_file\)\n\s+Prometheus's web configuration file/,
  )
})
