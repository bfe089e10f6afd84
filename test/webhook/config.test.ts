import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import t, { type Test } from 'tap'
import { ConfigError, loadConfig, type Config } from '../../src/config/load.js'
import { buildServer } from '../../src/server/app.js'
import { AlertmanagerWebhook } from '../../src/webhook/component.js'
import { DEFAULT_WEBHOOK_PATH } from '../../src/webhook/config.js'
import { logSink, tempDir } from '../fixtures/e2e.js'
import { recorded } from './fixtures/payloads.js'
import { fakeActions } from './fixtures/server.js'

/** load writes rollguard.yml (plus secret files) into a fresh directory and loads it. */
async function load(
  t: Test,
  yaml: string,
  files: Record<string, string> = {},
): Promise<{ config: Config; dir: string; reload: () => Promise<Config> }> {
  const dir = tempDir(t)
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  const file = join(dir, 'rollguard.yml')
  writeFileSync(file, `prometheus:\n  url: http://127.0.0.1:9090\n${yaml}`)
  const input = { flags: new Map([['config', [file]]]), env: {}, cwd: '/' }
  return { config: await loadConfig(input), dir, reload: () => loadConfig(input) }
}

async function problems(t: Test, yaml: string, files: Record<string, string> = {}): Promise<readonly string[]> {
  try {
    await load(t, yaml, files)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  throw new Error('expected a ConfigError')
}

t.test('defaults, and credentials read from files relative to the config file', async t => {
  const { config, dir } = await load(
    t,
    'webhook:\n  auth:\n    bearer_token_file: token\n    basic_auth: { username: am, password_file: pw }\n',
    { token: 'tok\n', pw: 'secret' },
  )
  const w = config.doc.webhook
  t.match(w, {
    enabled: true,
    path: DEFAULT_WEBHOOK_PATH,
    insecure_no_auth: false,
    max_body_bytes: 1024 * 1024,
    rate_limit: { per_second: 50, burst: 200 },
  })
  t.equal(w?.matchers, undefined, 'the actions trigger label by default')
  t.equal(w?.targets, undefined, 'actions.targets by default')
  t.equal(w?.auth?.bearer_token_file, join(dir, 'token'))
  t.same(
    config.webhookCredentials,
    { bearerToken: 'tok', basic: { username: 'am', password: 'secret' } },
    'the trailing newline is not part of the secret',
  )
  const none = await load(t, '')
  t.equal(none.config.doc.webhook, undefined, 'no section: no webhook')
  t.equal(none.config.webhookCredentials, undefined)
})

t.test('matchers and targets', async t => {
  const { config } = await load(
    t,
    'webhook:\n  insecure_no_auth: true\n  matchers: [\'severity="critical"\', \'alertname=~"High.*"\']\n  targets: { namespace: kubernetes_namespace }\n',
  )
  t.same(config.doc.webhook?.matchers, [
    { name: 'severity', type: '=', value: 'critical' },
    { name: 'alertname', type: '=~', value: 'High.*' },
  ])
  t.same(config.doc.webhook?.targets, { namespace: 'kubernetes_namespace' })
})

t.test('errors point at file:line:col and name the key', async t => {
  t.match(await problems(t, 'webhook: {}\n'), [
    /rollguard\.yml:\d+:\d+: webhook\.auth: is required: set auth\.bearer_token_file and\/or auth\.basic_auth, or insecure_no_auth: true/,
  ])
  t.match(await problems(t, 'webhook:\n  auth: {}\n'), [
    /rollguard\.yml:4:9: webhook\.auth: needs bearer_token_file, basic_auth or both/,
  ])
  t.match(await problems(t, 'webhook:\n  insecure_no_auth: true\n  auth: { bearer_token_file: t }\n', { t: 'x' }), [
    /webhook\.insecure_no_auth: cannot be true while auth is configured/,
  ])
  t.match(
    await problems(t, 'webhook:\n  insecure_no_auth: true\n  matchers: [\'severity="critical"\', \'team=~"(?=x)"\']\n'),
    [/rollguard\.yml:5:\d+: webhook\.matchers\.1: invalid matcher .*lookahead/],
  )
  t.match(await problems(t, 'webhook:\n  insecure_no_auth: true\n  matchers: []\n'), [
    /webhook\.matchers: must list at least one matcher/,
  ])
  t.match(await problems(t, 'webhook:\n  insecure_no_auth: true\n  path: api/hook\n'), [
    /webhook\.path: must be an absolute URL path/,
  ])
  t.match(await problems(t, 'webhook:\n  insecure_no_auth: true\n  max_body_bytes: 10\n'), [
    /webhook\.max_body_bytes: /,
  ])
  t.match(await problems(t, 'webhook:\n  insecure_no_auth: true\n  rate_limit: { per_second: 0 }\n'), [
    /webhook\.rate_limit\.per_second: /,
  ])
  t.match(await problems(t, 'webhook:\n  insecure_no_auth: true\n  targets: { deployment: "not a label" }\n'), [
    /webhook\.targets\.deployment: must be a valid label name/,
  ])
  t.match(await problems(t, 'webhook:\n  insecure_no_auth: true\n  tokens: x\n'), [
    /rollguard\.yml:5:3: webhook\.tokens: Unrecognized key/,
  ])
  t.match(await problems(t, 'webhook:\n  auth: { bearer_token_file: missing }\n'), [
    /^webhook\.auth\.bearer_token_file: cannot read .*missing: ENOENT/,
  ])
  t.match(await problems(t, 'webhook:\n  auth: { bearer_token_file: empty }\n', { empty: '\n' }), [
    /^webhook\.auth\.bearer_token_file: .*empty is empty/,
  ])
  t.match(
    await problems(t, 'webhook:\n  auth: { basic_auth: { username: am, password_file: empty } }\n', { empty: '' }),
    [/^webhook\.auth\.basic_auth\.password_file: .*is empty/],
  )
})

t.test('the component: reload re-reads credentials and matchers; disabling answers 404', async t => {
  const { config, dir, reload } = await load(t, 'webhook:\n  auth: { bearer_token_file: token }\nactions: {}\n', {
    token: 'first',
  })
  const log = logSink()
  const registry = new Registry()
  const actions = fakeActions()
  const webhook = AlertmanagerWebhook.create(config, { logger: log.logger, registry, actions: () => actions })
  if (webhook === undefined) throw new Error('expected the component')
  const app = buildServer({
    logger: pino({ level: 'silent' }),
    registry,
    groups: () => [],
    isReady: () => true,
    reload: async () => ({ ok: true }),
    version: 't',
    webhook: webhook.routes,
  })
  t.teardown(() => app.close())
  const post = (token: string) =>
    app.inject({
      method: 'POST',
      url: DEFAULT_WEBHOOK_PATH,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: recorded('firing'),
    })
  t.equal((await post('first')).statusCode, 200)
  writeFileSync(join(dir, 'token'), 'second')
  t.equal((await post('second')).statusCode, 401, 'credentials change on reload, not before')
  const reloaded = await reload()
  webhook.reload(reloaded, config)
  t.equal((await post('first')).statusCode, 401, 'the old token is refused after the reload')
  t.equal((await post('second')).statusCode, 200)

  writeFileSync(
    join(dir, 'rollguard.yml'),
    'prometheus:\n  url: http://127.0.0.1:9090\nwebhook:\n  enabled: false\n  insecure_no_auth: true\n',
  )
  webhook.reload(await reload(), reloaded)
  t.equal((await post('second')).statusCode, 404, 'disabled by the reload')
  t.notOk(
    log.lines().some(l => /accepts unauthenticated requests/.test(String(l['msg']))),
    'no insecure warning while disabled',
  )

  writeFileSync(
    join(dir, 'rollguard.yml'),
    'prometheus:\n  url: http://127.0.0.1:9090\nwebhook:\n  insecure_no_auth: true\n  max_body_bytes: 2048\n',
  )
  webhook.reload(await reload(), reloaded)
  t.equal((await post('anything')).statusCode, 200, 'enabled again, without authentication')
  t.ok(
    log
      .lines()
      .some(
        l =>
          l['level'] === 40 &&
          /accepts unauthenticated requests \(webhook\.insecure_no_auth: true\)/.test(String(l['msg'])),
      ),
    'a warning about running without authentication',
  )
  t.ok(
    log.lines().some(l => /change only on restart/.test(String(l['msg']))),
    'max_body_bytes needs a restart',
  )
  t.ok(
    log.lines().some(l => /actions are not configured/.test(String(l['msg']))),
    'a warning: no actions section',
  )
  t.equal(
    AlertmanagerWebhook.create(
      { ...config, doc: { ...config.doc, webhook: undefined } },
      { logger: log.logger, registry: new Registry(), actions: () => undefined },
    ),
    undefined,
  )
})

t.test(
  'the component: a decision held back by a silence makes the next notification news again; others do not',
  async t => {
    const { config } = await load(t, 'webhook:\n  auth: { bearer_token_file: token }\nactions: {}\n', { token: 'tok' })
    const actions = fakeActions()
    const webhook = AlertmanagerWebhook.create(config, {
      logger: logSink().logger,
      registry: new Registry(),
      actions: () => actions,
    })
    if (webhook === undefined) throw new Error('expected the component')
    const app = buildServer({
      logger: pino({ level: 'silent' }),
      registry: new Registry(),
      groups: () => [],
      isReady: () => true,
      reload: async () => ({ ok: true }),
      version: 't',
      webhook: webhook.routes,
    })
    t.teardown(() => app.close())
    const post = async () =>
      (
        await app.inject({
          method: 'POST',
          url: DEFAULT_WEBHOOK_PATH,
          headers: { authorization: 'Bearer tok', 'content-type': 'application/json' },
          payload: recorded('firing'),
        })
      ).json().data.alerts
    t.equal((await post()).accepted, 3)
    const first = actions.batches[0]?.[0]
    if (first?.kind !== 'fire') throw new Error('expected a fire event')
    webhook.decisionRecorded({ reason: 'cooldown', alert: first.request.alert })
    webhook.decisionRecorded({ reason: 'silenced' })
    t.equal((await post()).duplicate, 3, 'a cooldown (or a record without an alert) does not make a repeat news')
    webhook.decisionRecorded({ reason: 'silenced', alert: first.request.alert })
    t.equal((await post()).accepted, 1, 'silenced: the next notification of that alert is decided again')
    webhook.decisionRecorded({ reason: 'silence_check_failed', alert: first.request.alert })
    t.equal((await post()).accepted, 1, 'no Alertmanager to ask: likewise')
  },
)
