// The rest of Prometheus's http_config against real peers: a real Prometheus reached through a CONNECT proxy
// (over TLS from a private CA) and through an absolute-form proxy (plain HTTP), through redirects, and behind an
// OAuth2-checking reverse proxy with a client-credentials token endpoint written here (Prometheus has no OAuth2
// server); health probes over mTLS to a real Alertmanager serving its own --web.config.file; and the daemon wired
// from a config file with these keys. Loopback only; every wait is bounded.
import t from 'tap'
import http from 'node:http'
import { readFileSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { startAlertmanager, startPrometheus } from '../../src/demo/stack.js'
import { runProbe } from '../../src/sources/health-probe.js'
import type { TlsSettings } from '../../src/sources/http-client.js'
import { createPrometheusSource, type PrometheusSourceOptions } from '../../src/sources/prometheus.js'
import { eventually, logSink, rollguard, tempDir, type Teardown } from '../fixtures/e2e.js'
import { startForwardProxy } from '../fixtures/proxy.js'
import { makePki } from '../fixtures/tls.js'

/** serve runs handler on a free loopback port until teardown. */
async function serve(t: Teardown, handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(
    () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function readAll(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

t.test('http_config against a real Prometheus and Alertmanager', async t => {
  const dir = tempDir(t)
  const pki = makePki(dir)
  const pem = (f: string) => readFileSync(f, 'utf8')
  const promWeb = join(dir, 'prometheus-web.yml')
  writeFileSync(promWeb, stringify({ tls_server_config: { cert_file: pki.serverCert, key_file: pki.serverKey } }))
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
  const [tlsProm, plainProm, am] = await Promise.all([
    startPrometheus({ scrapeInterval: '1s', scrapeTargets: [], webConfigFile: promWeb }),
    startPrometheus({ scrapeInterval: '1s', scrapeTargets: [] }),
    startAlertmanager({ webConfigFile: amWeb }),
  ])
  t.teardown(() => Promise.all([tlsProm.stop(), plainProm.stop(), am.stop()]))
  const ca: TlsSettings = { section: 'prometheus', insecureSkipVerify: false, ca: pem(pki.caFile) }

  const query = async (opts: Omit<PrometheusSourceOptions, 'timeoutMs'>, expr = 'vector(42)') => {
    const source = createPrometheusSource({ timeoutMs: 10_000, ...opts })
    try {
      return await source.query(expr, Date.now())
    } finally {
      source.close()
    }
  }

  await t.test('https through a CONNECT proxy, http through an absolute-form proxy', async t => {
    const proxy = await startForwardProxy(t, { require: `Basic ${Buffer.from('rg:pw').toString('base64')}` })
    const proxyUrl = proxy.url.replace('http://', 'http://rg:pw@')
    const overTls = await query({ url: tlsProm.url, tls: ca, proxy: { url: proxyUrl, connectHeaders: {} } })
    t.equal(overTls.samples[0]?.value, 42)
    t.equal(proxy.connects[0]?.target, new URL(tlsProm.url).host, 'tunnelled to Prometheus')
    const plain = await query({ url: plainProm.url, proxy: { url: proxyUrl, connectHeaders: {} } })
    t.equal(plain.samples[0]?.value, 42)
    t.equal(proxy.forwarded[0]?.url, `${plainProm.url}/api/v1/query`, 'absolute-form request line')
    t.equal(proxy.forwarded[0]?.method, 'POST')
    await t.rejects(
      query({ url: tlsProm.url, tls: ca, proxy: { url: proxy.url, connectHeaders: {} } }),
      /query failed: connection: Prometheus at https:\/\/127\.0\.0\.1:\d+: proxy http:\/\/127\.0\.0\.1:\d+\/ refused CONNECT: HTTP 407/,
      'a proxy refusing the tunnel is named',
    )
  })

  await t.test('redirects to a real Prometheus', async t => {
    const redirector = await serve(t, (req, res) => {
      const status = Number(/^\/(\d{3})/.exec(req.url ?? '')?.[1] ?? 302)
      res.writeHead(status, { location: `${plainProm.url}${(req.url ?? '').replace(/^\/\d{3}/, '')}` }).end()
    })
    t.equal((await query({ url: `${redirector}/307` })).samples[0]?.value, 42, '307 keeps the POST and its form')
    t.equal((await query({ url: `${redirector}/308` })).samples[0]?.value, 42)
    await t.rejects(
      query({ url: `${redirector}/302` }),
      /query failed: bad_data: .*query/,
      "302 turns the POST into a GET without the form, which Prometheus refuses as it would Go's",
    )
    await t.rejects(
      query({ url: `${redirector}/307`, followRedirects: false }),
      /server returned HTTP status 307/,
      'follow_redirects: false',
    )
  })

  await t.test('oauth2 client credentials to a Prometheus behind a token-checking reverse proxy', async t => {
    let issued = 0
    let valid = ''
    const tokenUrl = await serve(t, (req, res) => {
      void readAll(req).then(body => {
        const form = new URLSearchParams(body.toString('utf8'))
        const client = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString()
        if (client !== 'rollguard:s3cret' || form.get('grant_type') !== 'client_credentials') {
          res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}')
          return
        }
        valid = `token-${++issued}-${form.get('scope')}`
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ access_token: valid, token_type: 'Bearer', expires_in: 300 }))
      })
    })
    const upstream = new URL(plainProm.url)
    const guarded = await serve(t, (req, res) => {
      if (req.headers.authorization !== `Bearer ${valid}` || valid === '') {
        res.writeHead(401).end('unauthorized')
        return
      }
      const out = http.request(
        { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
        answer => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
        },
      )
      out.on('error', () => res.writeHead(502).end())
      req.pipe(out)
    })
    const oauth2 = {
      clientId: 'rollguard',
      clientSecret: 's3cret',
      tokenUrl: `${tokenUrl}/oauth2/token`,
      scopes: ['metrics'],
      endpointParams: {},
    }
    const source = createPrometheusSource({ url: guarded, timeoutMs: 10_000, oauth2 })
    t.teardown(() => source.close())
    t.equal((await source.query('vector(1)', Date.now())).samples[0]?.value, 1)
    t.equal((await source.query('vector(2)', Date.now())).samples[0]?.value, 2)
    t.equal(issued, 1, 'the token is cached')
    valid = 'rotated-on-the-server'
    t.equal(
      (await source.query('vector(3)', Date.now())).samples[0]?.value,
      3,
      'the server refuses the cached token: one 401, a new token, the query again',
    )
    t.equal(issued, 2)
    t.equal((await source.query('vector(4)', Date.now())).samples[0]?.value, 4)
    t.equal(issued, 2, 'and the new one is cached')
    await t.rejects(
      query({ url: guarded, oauth2: { ...oauth2, clientSecret: 'wrong' } }),
      /query failed: connection: Prometheus at http:\/\/127\.0\.0\.1:\d+: cannot get an OAuth2 token from http:\/\/127\.0\.0\.1:\d+\/oauth2\/token: HTTP 401 Unauthorized: \{"error":"invalid_client"\} \(check prometheus\.oauth2\)/,
    )
  })

  await t.test('health probes over mTLS with a private CA', async t => {
    const spec = (tls: Omit<TlsSettings, 'section'>) => ({
      name: 'alertmanager',
      url: `${am.url}/-/healthy`,
      intervalMs: 1_000,
      timeoutMs: 5_000,
      labels: {},
      section: 'probes.0',
      client: { tls: { section: 'probes.0', ...tls } },
    })
    const withCert = {
      insecureSkipVerify: false,
      ca: pem(pki.caFile),
      cert: pem(pki.clientCert),
      key: pem(pki.clientKey),
    }
    t.match(await runProbe(spec(withCert)), { success: true, statusCode: 200 })
    t.match(await runProbe(spec({ insecureSkipVerify: false, ca: pem(pki.caFile) })), { success: false })
    t.match(await runProbe(spec({ ...withCert, ca: pem(pki.otherCaFile) })), {
      success: false,
      error:
        /^probe "alertmanager" at https:\/\/127\.0\.0\.1:\d+\/-\/healthy: certificate signed by unknown authority \(set probes\.0\.tls_config\.ca_file\)$/,
    })
  })

  await t.test(
    'the daemon, configured by file: Prometheus through the proxy with OAuth2, a probe over mTLS',
    async t => {
      const proxy = await startForwardProxy(t)
      const secret = 'daemon-client-secret'
      let tokens = 0
      const tokenUrl = await serve(t, (req, res) => {
        void readAll(req).then(() => {
          const ok = req.headers.authorization === `Basic ${Buffer.from(`rollguard:${secret}`).toString('base64')}`
          if (ok) tokens++
          res
            .writeHead(ok ? 200 : 401, { 'content-type': 'application/json' })
            .end(ok ? JSON.stringify({ access_token: 'daemon-token', expires_in: 3600 }) : '{"error":"invalid_client"}')
        })
      })
      const secretFile = join(dir, 'oauth2-secret')
      writeFileSync(secretFile, `${secret}\n`)
      const rules = join(dir, 'rules.yml')
      writeFileSync(
        rules,
        stringify({
          groups: [
            {
              name: 'wired',
              rules: [
                { alert: 'ThroughProxy', expr: 'vector(1)' },
                { alert: 'ProbeUp', expr: 'rollguard_probe_success{probe="am"} == 1' },
              ],
            },
          ],
        }),
      )
      const config = join(dir, 'rollguard.yml')
      writeFileSync(
        config,
        stringify({
          prometheus: {
            url: tlsProm.url,
            tls_config: { ca_file: pki.caFile },
            proxy_url: proxy.url,
            enable_http2: true,
            oauth2: { client_id: 'rollguard', client_secret_file: secretFile, token_url: `${tokenUrl}/token` },
          },
          probes: [
            {
              name: 'am',
              url: `${am.url}/-/healthy`,
              interval: '1s',
              tls_config: { ca_file: pki.caFile, cert_file: pki.clientCert, key_file: pki.clientKey },
            },
          ],
        }),
      )
      const log = logSink()
      const daemon = await rollguard(t, { config, rules, 'eval-interval': '1s' }, log)
      type Rules = { data: { groups: Array<{ rules: Array<{ name: string; health: string; state: string }> }> } }
      const states = await eventually(
        'both rules fire',
        async () => {
          const res = await fetch(`${daemon.address}/api/v1/rules`, { signal: AbortSignal.timeout(5_000) })
          const list = ((await res.json()) as Rules).data.groups[0]?.rules ?? []
          return list.length === 2 && list.every(r => r.health === 'ok' && r.state === 'firing') ? list : undefined
        },
        30_000,
      )
      t.same(
        states.map(r => r.name),
        ['ThroughProxy', 'ProbeUp'],
      )
      t.ok(
        proxy.connects.some(c => c.target === new URL(tlsProm.url).host),
        'the queries went through the proxy',
      )
      t.equal(tokens, 1, 'one OAuth2 token, read from client_secret_file, cached')
      t.notMatch(log.text(), secret, 'the client secret is never logged')
    },
  )
})
