// The http_config keys added to prometheus.*, alertmanager.* and each probe: oauth2 (files read at load, relative
// to the config file, Prometheus's exclusions and messages), the proxy keys, follow_redirects (default true) and
// enable_http2 (accepted), read again by every load (a reload).
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { ConfigError, loadConfig } from '../../src/config/load.js'

const dir = mkdtempSync(join(tmpdir(), 'rollguard-http-config-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

async function load(doc: Record<string, unknown>, env: Record<string, string> = {}) {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yml`)
  writeFileSync(file, stringify(doc))
  return loadConfig({ flags: new Map([['config', [file]]]), env, cwd: '/elsewhere' })
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

writeFileSync(join(dir, 'client-secret'), 'secret-1\n')
writeFileSync(join(dir, 'ca.crt'), 'CA PEM')

const oauth2 = {
  client_id: 'rollguard',
  client_secret_file: 'client-secret',
  token_url: 'https://idp/token',
  scopes: ['metrics'],
  endpoint_params: { audience: 'prom' },
  tls_config: { ca_file: 'ca.crt' },
  proxy_url: 'http://proxy:3128',
}

t.test('oauth2: the secret file is relative to the config file and read at every load', async t => {
  const c = await load({ prometheus: { url: 'https://p', oauth2 } })
  t.match(c.prometheusClient.oauth2, {
    clientId: 'rollguard',
    clientSecret: 'secret-1',
    tokenUrl: 'https://idp/token',
    scopes: ['metrics'],
    endpointParams: { audience: 'prom' },
    tls: { section: 'prometheus.oauth2', ca: 'CA PEM' },
    proxy: { url: 'http://proxy:3128' },
  })
  t.equal(c.prometheusAuth, undefined, 'no static credentials besides')
  writeFileSync(join(dir, 'client-secret'), 'secret-2')
  const again = await load({ prometheus: { url: 'https://p', oauth2 } })
  t.equal(again.prometheusClient.oauth2?.clientSecret, 'secret-2', 'a reload reads the file again')
  const inline = await load({
    prometheus: { url: 'https://p' },
    alertmanager: { oauth2: { client_id: 'a', client_secret: 's', token_url: 'http://i/t' } },
  })
  t.match(inline.alertmanagerClient.oauth2, { clientSecret: 's', scopes: [], endpointParams: {} })
})

t.test("oauth2: Prometheus's rules", async t => {
  t.same(await problems({ prometheus: { url: 'https://p', oauth2: { token_url: 'https://i/t' } } }), [
    'prometheus.oauth2: oauth2 client_id must be configured',
  ])
  t.same(await problems({ prometheus: { url: 'https://p', oauth2: { client_id: 'a' } } }), [
    'prometheus.oauth2: oauth2 token_url must be configured',
  ])
  t.same(
    await problems({
      prometheus: { url: 'https://p', oauth2: { ...oauth2, client_secret: 'inline' } },
    }),
    [
      'prometheus.oauth2: at most one of oauth2 client_secret, client_secret_file & client_secret_ref must be configured using grant-type=client_credentials',
    ],
  )
  t.same(await problems({ prometheus: { url: 'https://p', oauth2, basic_auth: { username: 'u', password: 'p' } } }), [
    'prometheus: basic_auth and oauth2 are mutually exclusive',
  ])
  t.same(await problems({ prometheus: { url: 'https://p', oauth2, authorization: { credentials: 'c' } } }), [
    'prometheus: authorization and oauth2 are mutually exclusive',
  ])
  const missing = await problems({
    prometheus: { url: 'https://p', oauth2: { ...oauth2, client_secret_file: 'nope' } },
  })
  t.match(missing, [/^prometheus\.oauth2\.client_secret_file: cannot read .*nope: ENOENT$/])
  t.match(
    await problems({ prometheus: { url: 'https://p', oauth2: { ...oauth2, grant_type: 'x' } } }),
    [/grant_type/],
    'other grants are refused by name',
  )
  t.same(
    await problems({ prometheus: { url: 'https://p', oauth2: { ...oauth2, proxy_url: undefined, no_proxy: 'x' } } }),
    ['prometheus.oauth2: if no_proxy is configured, proxy_url must also be configured'],
  )
})

t.test('proxy keys, follow_redirects and enable_http2', async t => {
  const c = await load({
    prometheus: {
      url: 'https://p',
      proxy_url: 'http://proxy:3128',
      no_proxy: '.svc',
      proxy_connect_header: { 'Proxy-Authorization': ['Basic eA=='] },
      follow_redirects: false,
      enable_http2: true,
    },
  })
  t.same(c.prometheusClient.proxy, {
    url: 'http://proxy:3128',
    noProxy: '.svc',
    connectHeaders: { 'Proxy-Authorization': ['Basic eA=='] },
  })
  t.equal(c.prometheusClient.followRedirects, false)
  t.equal(c.alertmanagerClient.followRedirects, true, 'follow_redirects defaults to true, as in Prometheus')
  const env = await load(
    { prometheus: { url: 'https://p' }, alertmanager: { urls: ['http://am:9093'], proxy_from_environment: true } },
    { HTTPS_PROXY: 'http://corp:8080', NO_PROXY: 'am' },
  )
  t.same(env.alertmanagerClient.proxy?.environment, { httpProxy: '', httpsProxy: 'http://corp:8080', noProxy: 'am' })
  t.same(await problems({ prometheus: { url: 'https://p', proxy_url: 'http://x', proxy_from_environment: true } }), [
    'prometheus: if proxy_from_environment is configured, proxy_url must not be configured',
  ])
})

t.test('probes take the same keys, and their errors name the probe by its index', async t => {
  const c = await load({
    prometheus: { url: 'https://p' },
    probes: [
      { name: 'plain', url: 'http://a/healthz' },
      {
        name: 'mtls',
        url: 'https://b/healthz',
        tls_config: { ca_file: 'ca.crt' },
        authorization: { credentials: 'tok' },
        follow_redirects: false,
      },
    ],
  })
  t.equal(c.probeClients.length, 2)
  t.match(c.probeClients[1], {
    tls: { section: 'probes.1', ca: 'CA PEM' },
    auth: { type: 'authorization', credentials: 'tok' },
    followRedirects: false,
  })
  t.same(c.doc.probes[1]?.headers, {}, 'headers keep their default')
  t.match(
    await problems({
      prometheus: { url: 'https://p' },
      probes: [{ name: 'x', url: 'https://b', tls_config: { ca_file: 'missing.crt' } }],
    }),
    [/^probes\.0\.tls_config\.ca_file: cannot read .*missing\.crt: ENOENT$/],
  )
})
