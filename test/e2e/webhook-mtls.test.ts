// rollguard's own listener with Prometheus's web configuration file, against a real Alertmanager: certificates made
// with Debian's openssl, rollguard serving TLS that requires and verifies client certificates, Alertmanager
// delivering its webhook over mTLS (webhook_configs' http_config.tls_config). A client without a certificate or with
// one from another CA is refused and rollguard says why; a reload rotates the server certificate, then adds bcrypt
// basic auth (401 without or with a wrong password, 200 with the right one) that Alertmanager then sends; an invalid
// web config at reload names its file, line and column and changes nothing. Loopback only; every wait is bounded.
import t from 'tap'
import https from 'node:https'
import { X509Certificate } from 'node:crypto'
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import type { TLSSocket } from 'node:tls'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { amPostAlerts, startAlertmanager } from '../../src/demo/stack.js'
import { freePort } from '../../src/demo/processes.js'
import { DEFAULT_WEBHOOK_PATH } from '../../src/webhook/config.js'
import { eventually, logSink, rollguard, tempDir } from '../fixtures/e2e.js'
import { ALICE, makePki, makeServerCert } from '../fixtures/tls.js'

// A reload parses the files in a worker thread; its first start compiles the loader, slow on a busy machine.
const RELOAD_TIMEOUT_MS = 60_000

interface Answer {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: string
  readonly fingerprint: string
}

/** request sends one request over TLS on a fresh connection; it rejects when the connection is refused. */
function request(url: string, opts: https.RequestOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { agent: false, timeout: 5_000, ...opts }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          fingerprint: (res.socket as TLSSocket).getPeerCertificate().fingerprint256,
        }),
      )
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
    req.end()
  })
}

/** metric sums the samples of a metric (lines starting with name, containing labels) in a /metrics text. */
function metric(text: string, name: string, labels = ''): number {
  return text
    .split('\n')
    .filter(l => l.startsWith(name) && (l[name.length] === ' ' || l[name.length] === '{') && l.includes(labels))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)
}

t.test('Alertmanager delivers the webhook to rollguard over mutual TLS', async t => {
  const dir = tempDir(t)
  const pki = makePki(dir)
  const ca = readFileSync(pki.caFile, 'utf8')
  const client = { ca, cert: readFileSync(pki.clientCert, 'utf8'), key: readFileSync(pki.clientKey, 'utf8') }

  // The web config as Prometheus's docs write it, with paths relative to the file.
  const webFile = join(dir, 'web.yml')
  const tlsServerConfig = {
    cert_file: 'server.crt',
    key_file: 'server.key',
    client_auth_type: 'RequireAndVerifyClientCert',
    client_ca_file: 'ca.crt',
  }
  const headers = { 'X-Content-Type-Options': 'nosniff', 'Strict-Transport-Security': 'max-age=31536000' }
  writeFileSync(webFile, stringify({ tls_server_config: tlsServerConfig, http_server_config: { headers } }))
  // Client certificates authenticate Alertmanager: the webhook asks for nothing more.
  const configFile = join(dir, 'rollguard.yml')
  writeFileSync(configFile, stringify({ webhook: { insecure_no_auth: true } }))
  const log = logSink()
  const daemon = await rollguard(
    t,
    {
      config: configFile,
      'web.config.file': webFile,
      'web.enable-lifecycle': 'true',
      'prometheus-url': `http://127.0.0.1:${await freePort()}`,
    },
    log,
  )
  const base = daemon.address
  t.match(base, /^https:\/\/127\.0\.0\.1:\d+$/, 'rollguard serves https')

  const webhook = `${base}${DEFAULT_WEBHOOK_PATH}`
  const tlsConfig = { ca_file: pki.caFile, cert_file: pki.clientCert, key_file: pki.clientKey }
  const receiver = (name: string, httpConfig: Record<string, unknown>) => ({
    name,
    webhook_configs: [{ url: webhook, send_resolved: false, http_config: httpConfig }],
  })
  const amConfig = (mtlsHttpConfig: Record<string, unknown>) =>
    stringify({
      route: {
        receiver: 'mtls',
        group_by: ['alertname'],
        group_wait: '1s',
        group_interval: '1s',
        repeat_interval: '1s',
        routes: [
          { receiver: 'no-cert', matchers: ['alertname="NoCert"'] },
          { receiver: 'wrong-ca-cert', matchers: ['alertname="WrongCaCert"'] },
        ],
      },
      receivers: [
        receiver('mtls', mtlsHttpConfig),
        receiver('no-cert', { tls_config: { ca_file: pki.caFile } }),
        receiver('wrong-ca-cert', {
          tls_config: { ca_file: pki.caFile, cert_file: pki.otherClientCert, key_file: pki.otherClientKey },
        }),
      ],
    })
  const am = await startAlertmanager({ config: amConfig({ tls_config: tlsConfig }) })
  t.teardown(() => am.stop())
  const amMetrics = async () => (await fetch(`${am.url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text()
  const rollguardMetrics = async (auth: https.RequestOptions = {}) =>
    (await request(`${base}/metrics`, { ...client, ...auth })).body
  const delivered = async (auth: https.RequestOptions = {}) =>
    metric(await rollguardMetrics(auth), 'rollguard_webhook_requests_total', 'status="200"')
  const logged = (pattern: RegExp) =>
    log.lines().some(l => l['msg'] === 'TLS client refused' && pattern.test(String(l['reason'])))

  await amPostAlerts(am.url, [
    { labels: { alertname: 'OverMtls', severity: 'none' } },
    { labels: { alertname: 'NoCert' } },
    { labels: { alertname: 'WrongCaCert' } },
  ])

  await t.test('the notification arrives over mTLS', async t => {
    await eventually('a delivered notification', async () => (await delivered()) >= 1, 30_000)
    const text = await rollguardMetrics()
    t.ok(metric(text, 'rollguard_webhook_alerts_total') >= 1, 'rollguard counted the alert it received')
    t.ok(metric(await amMetrics(), 'alertmanager_notifications_total', 'integration="webhook"') >= 1)
  })

  await t.test('receivers without a client certificate or with one from another CA are refused', async t => {
    await eventually(
      'both refusals logged',
      async () => logged(/^no client certificate presented$/) && logged(/^client certificate not trusted: /),
      30_000,
    )
    t.ok(logged(/signed by an unknown authority .*check client_ca_file/), 'the refusal names the fix')
    await eventually(
      "Alertmanager's failed notifications",
      async () => metric(await amMetrics(), 'alertmanager_notifications_failed_total', 'integration="webhook"') >= 2,
      30_000,
    )
    await t.rejects(request(`${base}/-/healthy`, { ca }), 'a client without a certificate gets no answer')
    await t.rejects(
      request(`${base}/-/healthy`, {
        ca,
        cert: readFileSync(pki.otherClientCert, 'utf8'),
        key: readFileSync(pki.otherClientKey, 'utf8'),
      }),
      'nor one with a certificate from another CA',
    )
    await t.rejects(
      request(`${base}/-/healthy`, { ...client, ca: readFileSync(pki.otherCaFile, 'utf8') }),
      /self-signed|unable to verify|issuer/i,
      "a client that does not trust rollguard's CA refuses it",
    )
  })

  await t.test('the security headers are on every answer', async t => {
    const healthy = await request(`${base}/-/healthy`, client)
    t.equal(healthy.status, 200)
    t.equal(healthy.headers['x-content-type-options'], 'nosniff')
    t.equal(healthy.headers['strict-transport-security'], 'max-age=31536000')
    const missing = await request(`${base}/nowhere`, client)
    t.equal(missing.status, 404)
    t.equal(missing.headers['x-content-type-options'], 'nosniff')
  })

  await t.test('a reload rotates the server certificate; Alertmanager goes on delivering', async t => {
    const before = (await request(`${base}/-/healthy`, client)).fingerprint
    t.equal(before, new X509Certificate(readFileSync(pki.serverCert)).fingerprint256)
    const rotated = makeServerCert(dir, 'rotated')
    copyFileSync(rotated.cert, pki.serverCert)
    copyFileSync(rotated.key, pki.serverKey)
    const reload = await request(`${base}/-/reload`, { ...client, method: 'POST', timeout: RELOAD_TIMEOUT_MS })
    t.equal(reload.status, 200, reload.body)
    const after = (await request(`${base}/-/healthy`, client)).fingerprint
    t.equal(after, new X509Certificate(readFileSync(rotated.cert)).fingerprint256, 'the rotated certificate')
    t.not(after, before)
    const count = await delivered()
    await eventually('a delivery after the rotation', async () => (await delivered()) > count, 30_000)
  })

  const alice = { authorization: `Basic ${Buffer.from(`${ALICE.username}:${ALICE.password}`).toString('base64')}` }
  await t.test('basic auth with bcrypt, added by a reload', async t => {
    writeFileSync(
      webFile,
      stringify({
        tls_server_config: tlsServerConfig,
        http_server_config: { headers },
        basic_auth_users: { [ALICE.username]: ALICE.bcrypt },
      }),
    )
    t.equal((await request(`${base}/-/reload`, { ...client, method: 'POST', timeout: RELOAD_TIMEOUT_MS })).status, 200)
    const none = await request(`${base}/-/healthy`, client)
    t.equal(none.status, 401)
    t.equal(none.headers['www-authenticate'], 'Basic')
    t.equal(none.headers['x-content-type-options'], 'nosniff')
    const wrong = await request(`${base}/-/healthy`, {
      ...client,
      headers: { authorization: `Basic ${Buffer.from('alice:wrong').toString('base64')}` },
    })
    t.equal(wrong.status, 401)
    t.equal((await request(`${base}/-/healthy`, { ...client, headers: alice })).status, 200)

    // Alertmanager sends the user and password as well as its certificate.
    const count = await delivered({ headers: alice })
    await am.reload(
      amConfig({ tls_config: tlsConfig, basic_auth: { username: ALICE.username, password: ALICE.password } }),
    )
    await eventually('a delivery with basic auth', async () => (await delivered({ headers: alice })) > count, 30_000)
    t.notOk(log.text().includes(ALICE.bcrypt), 'the hash is never logged')
    t.notOk(log.text().includes(ALICE.password), 'nor the password')
  })

  await t.test('an invalid web config at reload is named with file:line:col and changes nothing', async t => {
    writeFileSync(
      webFile,
      stringify({ tls_server_config: { ...tlsServerConfig, client_auth_type: 'RequireAndVerify' } }),
    )
    const reload = await request(`${base}/-/reload`, {
      ...client,
      method: 'POST',
      timeout: RELOAD_TIMEOUT_MS,
      headers: alice,
    })
    t.equal(reload.status, 500)
    t.match(
      reload.body,
      `${webFile}:4:3: tls_server_config.client_auth_type: must be one of NoClientCert, RequestClientCert,`,
    )
    t.equal((await request(`${base}/-/healthy`, client)).status, 401, 'basic auth still asked for')
    t.equal((await request(`${base}/-/healthy`, { ...client, headers: alice })).status, 200)
    await t.rejects(request(`${base}/-/healthy`, { ca }), 'client certificates still required')
  })
})
