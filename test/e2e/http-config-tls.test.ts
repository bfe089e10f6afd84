// Prometheus's HTTP client settings against real TLS peers: certificates made with Debian's openssl, a real
// Prometheus and a real Alertmanager serving TLS through their own --web.config.file (exporter-toolkit format),
// Prometheus also asking for basic auth. rollguard queries Prometheus trusting the private CA (tls_config.ca_file)
// with basic auth, sends its alerts to Alertmanager over TLS with a client certificate, and names the server and
// the key to set when it trusts the wrong CA. Loopback only; every wait is bounded.
import t from 'tap'
import https from 'node:https'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { AlertmanagerSilences } from '../../src/actions/silences.js'
import { startAlertmanager, startPrometheus } from '../../src/demo/stack.js'
import type { TlsSettings } from '../../src/sources/http-client.js'
import { eventually, logSink, rollguard, tempDir } from '../fixtures/e2e.js'
import { ALICE, makePki } from '../fixtures/tls.js'

interface ApiRule {
  name: string
  health: string
  lastError?: string
}
type RulesResponse = { data: { groups: Array<{ rules: ApiRule[] }> } }

/** httpsJson GETs JSON over TLS trusting ca, with a client certificate. */
function httpsJson<T>(url: string, tls: { ca: string; cert: string; key: string }): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ...tls, timeout: 5_000 }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T)
        } catch (err) {
          reject(err)
        }
      })
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
  })
}

t.test('rollguard reaches a Prometheus and an Alertmanager that serve TLS from a private CA', async t => {
  const dir = tempDir(t)
  const pki = makePki(dir)
  const ca = readFileSync(pki.caFile, 'utf8')
  const promWeb = join(dir, 'prometheus-web.yml')
  writeFileSync(
    promWeb,
    stringify({
      tls_server_config: { cert_file: pki.serverCert, key_file: pki.serverKey },
      basic_auth_users: { [ALICE.username]: ALICE.bcrypt },
    }),
  )
  const amWeb = join(dir, 'alertmanager-web.yml')
  writeFileSync(
    amWeb,
    stringify({
      tls_server_config: {
        cert_file: pki.serverCert,
        key_file: pki.serverKey,
        client_auth_type: 'RequireAndVerifyClientCert',
        client_ca_file: pki.caFile,
      },
    }),
  )
  const prom = await startPrometheus({ scrapeInterval: '1s', scrapeTargets: [], webConfigFile: promWeb })
  t.teardown(() => prom.stop())
  const am = await startAlertmanager({ webConfigFile: amWeb })
  t.teardown(() => am.stop())
  t.match(prom.url, /^https:\/\/127\.0\.0\.1:\d+$/)

  const passwordFile = join(dir, 'password')
  writeFileSync(passwordFile, `${ALICE.password}\n`)
  const rules = join(dir, 'rules.yml')
  writeFileSync(
    rules,
    stringify({
      groups: [{ name: 'tls', rules: [{ alert: 'OverTls', expr: 'vector(1)', labels: { severity: 'none' } }] }],
    }),
  )
  const start = async (prometheus: Record<string, unknown>, alertmanager: Record<string, unknown> = {}) => {
    const config = join(dir, `rollguard-${Math.random().toString(36).slice(2)}.yml`)
    writeFileSync(
      config,
      stringify({ prometheus: { url: prom.url, ...prometheus }, alertmanager: { urls: [am.url], ...alertmanager } }),
    )
    const log = logSink()
    const daemon = await rollguard(t, { config, rules, 'eval-interval': '1s' }, log)
    const rule = async () =>
      (
        (await (
          await fetch(`${daemon.address}/api/v1/rules`, { signal: AbortSignal.timeout(5_000) })
        ).json()) as RulesResponse
      ).data.groups[0]?.rules[0]
    return { daemon, log, rule }
  }

  await t.test('private CA and basic auth to Prometheus; a client certificate to Alertmanager', async t => {
    const { rule, log } = await start(
      { tls_config: { ca_file: pki.caFile }, basic_auth: { username: ALICE.username, password_file: passwordFile } },
      { tls_config: { ca_file: pki.caFile, cert_file: pki.clientCert, key_file: pki.clientKey } },
    )
    const ok = await eventually(
      'the rule evaluates over TLS',
      async () => {
        const r = await rule()
        return r?.health === 'ok' ? r : undefined
      },
      30_000,
    )
    t.equal(ok.lastError, undefined)
    const alerts = await eventually(
      'Alertmanager has the alert',
      async () => {
        const list = await httpsJson<Array<{ labels: Record<string, string> }>>(
          `${am.url}/api/v2/alerts?filter=alertname%3D%22OverTls%22`,
          { ca, cert: readFileSync(pki.clientCert, 'utf8'), key: readFileSync(pki.clientKey, 'utf8') },
        )
        return list.length > 0 ? list : undefined
      },
      30_000,
    )
    t.equal(alerts[0]?.labels['alertname'], 'OverTls', 'delivered over TLS with the client certificate')
    t.notMatch(log.text(), ALICE.password, 'the password is never logged')
  })

  await t.test("a wrong password is Prometheus's 401 in the rule's health", async t => {
    const wrong = join(dir, 'wrong-password')
    writeFileSync(wrong, 'not-alice123')
    const { rule } = await start({
      tls_config: { ca_file: pki.caFile },
      basic_auth: { username: ALICE.username, password_file: wrong },
    })
    const failed = await eventually(
      'the rule fails',
      async () => {
        const r = await rule()
        return r?.health === 'err' ? r : undefined
      },
      30_000,
    )
    t.match(failed.lastError, /401/)
  })

  await t.test('the wrong CA: the error names Prometheus and the key to set', async t => {
    const { rule } = await start({
      tls_config: { ca_file: pki.otherCaFile },
      basic_auth: { username: ALICE.username, password: ALICE.password },
    })
    const failed = await eventually(
      'the rule fails',
      async () => {
        const r = await rule()
        return r?.health === 'err' ? r : undefined
      },
      30_000,
    )
    t.match(
      failed.lastError,
      new RegExp(
        `Prometheus at ${prom.url.replace(/[.]/g, '\\.')}: certificate signed by unknown authority \\(set prometheus\\.tls_config\\.ca_file\\)`,
      ),
    )
  })

  await t.test('insecure_skip_verify accepts a certificate from an unknown CA', async t => {
    const { rule } = await start({
      tls_config: { insecure_skip_verify: true },
      basic_auth: { username: ALICE.username, password: ALICE.password },
    })
    const ok = await eventually(
      'the rule evaluates',
      async () => {
        const r = await rule()
        return r?.health === 'ok' ? r : undefined
      },
      30_000,
    )
    t.equal(ok.health, 'ok')
  })

  await t.test('the silence check reads Alertmanager over mTLS, and names it when the CA is wrong', async t => {
    const pem = (f: string) => readFileSync(f, 'utf8')
    const check = (tls: TlsSettings) => {
      const checker = new AlertmanagerSilences({
        access: () => ({ urls: [am.url], timeoutMs: 5_000, tls }),
        externalLabels: () => ({}),
      })
      t.teardown(() => checker.close())
      return checker.check(
        { name: 'X', labels: { alertname: 'X' }, fingerprint: '0', startsAt: 0 },
        { fresh: true, required: true },
      )
    }
    t.same(
      await check({
        section: 'alertmanager',
        insecureSkipVerify: false,
        ca,
        cert: pem(pki.clientCert),
        key: pem(pki.clientKey),
      }),
      { state: 'none' },
    )
    const wrong = await check({
      section: 'alertmanager',
      insecureSkipVerify: false,
      ca: pem(pki.otherCaFile),
      cert: pem(pki.clientCert),
      key: pem(pki.clientKey),
    })
    t.match(wrong, {
      state: 'unknown',
      error:
        /Alertmanager at https:\/\/127\.0\.0\.1:\d+: certificate signed by unknown authority \(set alertmanager\.tls_config\.ca_file\)/,
    })
  })

  await t.test('the wrong CA for Alertmanager: the notifier names it and the key to set', async t => {
    const { log } = await start(
      { tls_config: { ca_file: pki.caFile }, basic_auth: { username: ALICE.username, password: ALICE.password } },
      { tls_config: { ca_file: pki.otherCaFile } },
    )
    const line = await eventually(
      'a failed delivery is logged',
      async () => log.lines().find(l => l['msg'] === 'error sending alerts'),
      30_000,
    )
    t.match(
      String(line['err']),
      /^Alertmanager at https:\/\/127\.0\.0\.1:\d+\/api\/v2\/alerts: certificate signed by unknown authority \(set alertmanager\.tls_config\.ca_file\)/,
    )
  })
})
