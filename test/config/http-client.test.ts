// Prometheus's HTTP client keys under prometheus.* and alertmanager.*: parsing, Prometheus's mutual exclusions,
// paths relative to the config file, files read at load, and the header each auth form sends.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { ConfigError, loadConfig } from '../../src/config/load.js'
import { authorizationHeader } from '../../src/sources/http-auth.js'
import { describeTlsError, tlsAgentOptions } from '../../src/sources/http-client.js'

const dir = mkdtempSync(join(tmpdir(), 'rollguard-http-client-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

async function load(doc: Record<string, unknown>) {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yml`)
  writeFileSync(file, stringify(doc))
  return loadConfig({ flags: new Map([['config', [file]]]), env: {}, cwd: '/elsewhere' })
}

async function problems(doc: Record<string, unknown>): Promise<readonly string[]> {
  try {
    await load(doc)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  throw new Error('expected a ConfigError')
}

writeFileSync(join(dir, 'token'), 'tok-1\n')
writeFileSync(join(dir, 'ca.crt'), 'CA PEM')
writeFileSync(join(dir, 'client.crt'), 'CERT PEM')
writeFileSync(join(dir, 'client.key'), 'KEY PEM')

t.test(
  'authorization: type defaults to Bearer; credentials_file is relative to the config file and read at load',
  async t => {
    const c = await load({ prometheus: { url: 'https://p', authorization: { credentials_file: 'token' } } })
    t.same(c.prometheusAuth, { type: 'authorization', scheme: 'Bearer', credentials: 'tok-1' })
    t.equal(authorizationHeader(c.prometheusAuth), 'Bearer tok-1')
    const custom = await load({
      alertmanager: { urls: ['https://a'], authorization: { type: 'Token', credentials: 'abc' } },
      prometheus: { url: 'http://p' },
    })
    t.equal(authorizationHeader(custom.alertmanagerAuth), 'Token abc')
    writeFileSync(join(dir, 'token'), 'tok-2\n')
    const reloaded = await load({ prometheus: { url: 'https://p', authorization: { credentials_file: 'token' } } })
    t.equal(authorizationHeader(reloaded.prometheusAuth), 'Bearer tok-2', 'a new load (a reload) reads the file again')
  },
)

t.test('basic_auth takes password or password_file; bearer_token_file still works', async t => {
  const inline = await load({ prometheus: { url: 'https://p', basic_auth: { username: 'u', password: 'pw' } } })
  t.same(inline.prometheusAuth, { type: 'basic', username: 'u', password: 'pw' })
  const bearer = await load({ prometheus: { url: 'https://p', bearer_token_file: 'token' } })
  t.same(bearer.prometheusAuth, { type: 'bearer', token: 'tok-2' })
})

t.test("Prometheus's exclusions", async t => {
  t.match(
    await problems({
      prometheus: { url: 'https://p', bearer_token_file: 'token', authorization: { credentials: 'x' } },
    }),
    ['prometheus: bearer_token_file and authorization are mutually exclusive'],
  )
  t.match(await problems({ prometheus: { url: 'https://p', authorization: { type: 'Basic', credentials: 'x' } } }), [
    /authorization type cannot be set to "basic", use "basic_auth" instead/,
  ])
  t.match(
    await problems({
      prometheus: { url: 'https://p', authorization: { credentials: 'x', credentials_file: 'token' } },
    }),
    [/at most one of authorization credentials & credentials_file/],
  )
  t.match(
    await problems({
      prometheus: { url: 'https://p', basic_auth: { username: 'u', password: 'x', password_file: 'token' } },
    }),
    [/at most one of basic_auth password & password_file/],
  )
  t.match(await problems({ prometheus: { url: 'https://p', tls_config: { cert_file: 'client.crt' } } }), [
    /cert_file and key_file must be set together/,
  ])
  t.match(await problems({ prometheus: { url: 'https://p', tls_config: { min_version: 'TLS14' } } }), [
    /tls_config\.min_version/,
  ])
  t.match(await problems({ prometheus: { url: 'https://p', tls_config: { ca_file: 'missing.crt' } } }), [
    /^prometheus\.tls_config\.ca_file: cannot read .*missing\.crt: ENOENT$/,
  ])
})

t.test('tls_config: files read at load, mapped onto the agent', async t => {
  const c = await load({
    prometheus: {
      url: 'https://p',
      tls_config: {
        ca_file: 'ca.crt',
        cert_file: 'client.crt',
        key_file: 'client.key',
        server_name: 'prom.internal',
        min_version: 'TLS13',
      },
    },
  })
  t.same(tlsAgentOptions(c.prometheusTls), {
    ca: 'CA PEM',
    cert: 'CERT PEM',
    key: 'KEY PEM',
    servername: 'prom.internal',
    minVersion: 'TLSv1.3',
    rejectUnauthorized: true,
  })
  const skip = await load({ prometheus: { url: 'https://p', tls_config: { insecure_skip_verify: true } } })
  t.same(tlsAgentOptions(skip.prometheusTls), { rejectUnauthorized: false })
  t.same(tlsAgentOptions(undefined), {}, "without tls_config: Node's defaults (the system CAs)")
})

t.test('certificate errors name the peer and the key', async t => {
  const err = Object.assign(new Error('unable to verify the first certificate'), {
    code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  })
  t.equal(
    describeTlsError(err, 'Prometheus', 'https://p:9090', 'prometheus'),
    'Prometheus at https://p:9090: certificate signed by unknown authority (set prometheus.tls_config.ca_file)',
  )
  t.equal(
    describeTlsError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), 'Prometheus', 'https://p', 'prometheus'),
    undefined,
  )
})
