// The web config on a real listener: basic auth, security headers and the rate limit on every path (fastify's
// inject), and TLS with each client_auth_type against Node clients with and without certificates (loopback).
import t, { type Test } from 'tap'
import https from 'node:https'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { TLSSocket } from 'node:tls'
import { pino } from 'pino'
import { stringify } from 'yaml'
import { readWebConfig, type WebConfig } from '../../src/server/web-config.js'
import { WebListener } from '../../src/server/web-listener.js'
import { ALICE, makePki, makeServerCert } from '../fixtures/tls.js'
import { testServer } from './fixtures/server.js'

const dir = mkdtempSync(join(tmpdir(), 'rollguard-web-listener-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const pki = makePki(dir)
const pem = (file: string) => readFileSync(file, 'utf8')
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`

/** logs is a logger whose JSON lines are kept. */
function logs() {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>)
      cb()
    },
  })
  return { logger: pino({ level: 'info' }, stream), lines }
}

async function webConfig(doc: unknown, name = `web-${Math.random().toString(36).slice(2)}.yml`): Promise<WebConfig> {
  const file = join(dir, name)
  writeFileSync(file, stringify(doc))
  const problems: string[] = []
  const config = await readWebConfig(file, problems)
  if (config === undefined) throw new Error(problems.join('\n'))
  return config
}

const HEADERS = { 'X-Content-Type-Options': 'nosniff', 'Content-Security-Policy': "default-src 'self'" }

t.test('basic auth and the headers cover every path, 404 and 401 included', async t => {
  const web = new WebListener(
    await webConfig({ basic_auth_users: { alice: ALICE.bcrypt }, http_server_config: { headers: HEADERS } }),
    logs(),
  )
  const app = testServer({ web })
  t.teardown(() => app.close())
  const get = (url: string, authorization?: string) =>
    app.inject({ url, headers: authorization === undefined ? {} : { authorization } })

  for (const url of ['/-/healthy', '/metrics', '/api/v1/rules', '/nowhere']) {
    const none = await get(url)
    t.equal(none.statusCode, 401, `${url} without credentials`)
    t.equal(none.headers['www-authenticate'], 'Basic')
    t.equal(none.headers['x-content-type-options'], 'nosniff', 'headers on the 401 too')
    t.equal((await get(url, basic('alice', 'wrong'))).statusCode, 401, `${url} with a wrong password`)
  }
  const ok = await get('/-/healthy', basic(ALICE.username, ALICE.password))
  t.equal(ok.statusCode, 200)
  t.equal(ok.headers['content-security-policy'], "default-src 'self'")
  t.equal(ok.headers['x-content-type-options'], 'nosniff')
  t.equal(ok.headers['www-authenticate'], undefined)
  const missing = await get('/nowhere', basic(ALICE.username, ALICE.password))
  t.equal(missing.statusCode, 404, 'authenticated: the 404 of the route')
  t.equal(missing.headers['x-content-type-options'], 'nosniff')
  t.match((await get('/api/v1/rules')).json(), { status: 'error', error: 'Unauthorized' }, "the API's error envelope")
})

t.test('apply swaps users and headers; no web config: open and bare', async t => {
  const web = new WebListener(await webConfig({ basic_auth_users: { alice: ALICE.bcrypt } }), logs())
  const app = testServer({ web })
  t.teardown(() => app.close())
  t.equal((await app.inject({ url: '/-/healthy' })).statusCode, 401)
  web.apply(await webConfig({ http_server_config: { headers: { 'X-Frame-Options': 'deny' } } }))
  const open = await app.inject({ url: '/-/healthy' })
  t.equal(open.statusCode, 200, 'no users any more')
  t.equal(open.headers['x-frame-options'], 'deny')
  web.apply(undefined)
  const bare = await app.inject({ url: '/-/healthy' })
  t.equal(bare.statusCode, 200)
  t.equal(bare.headers['x-frame-options'], undefined)
})

t.test("rate_limit: exporter-toolkit's one bucket for all requests", async t => {
  let now = 1_000_000
  const web = new WebListener(await webConfig({ rate_limit: { burst: 2, interval: '1s' } }), {
    ...logs(),
    now: () => now,
  })
  const app = testServer({ web })
  t.teardown(() => app.close())
  const codes = async (k: number) => {
    const out: number[] = []
    for (let i = 0; i < k; i++) out.push((await app.inject({ url: '/-/healthy' })).statusCode)
    return out
  }
  t.same(await codes(3), [200, 200, 429])
  now += 1000
  t.same(await codes(2), [200, 429], 'one more per interval')
})

t.test('a change of the file is re-read; an invalid change keeps the last good config and is logged once', async t => {
  const log = logs()
  const file = 'watched.yml'
  const web = new WebListener(await webConfig({ basic_auth_users: { alice: ALICE.bcrypt } }, file), log)
  const app = testServer({ web })
  t.teardown(() => app.close())
  web.watch(3_600_000)
  t.teardown(() => web.stop())
  await web.checkFiles()
  t.equal((await app.inject({ url: '/-/healthy' })).statusCode, 401, 'unchanged: still asks')

  writeFileSync(join(dir, file), stringify({ basic_auth_users: {} }))
  await web.checkFiles()
  t.equal((await app.inject({ url: '/-/healthy' })).statusCode, 200, 'the new file is in force')
  t.ok(log.lines.some(l => l['msg'] === 'web config re-read after a change'))

  writeFileSync(join(dir, file), 'basic_auth_users:\n  alice: not-a-hash-at-all\n')
  await web.checkFiles()
  await web.checkFiles()
  t.equal((await app.inject({ url: '/-/healthy' })).statusCode, 200, 'the last good config stays')
  const errors = log.lines.filter(l => l['msg'] === 'web config changed but is invalid: keeping the last good one')
  t.equal(errors.length, 1, 'logged once for one change')
  t.match(errors[0]?.['problems'], [/watched\.yml:2:3: basic_auth_users\.alice: must be a bcrypt hash/])
  t.notOk(JSON.stringify(log.lines).includes('not-a-hash-at-all'), 'the value is not logged')
})

t.test('the files are checked only while there is a web config: a reload that adds or removes one', async t => {
  const web = new WebListener(undefined, logs())
  const app = testServer({ web })
  t.teardown(() => app.close())
  web.watch(20)
  t.teardown(() => web.stop())
  t.notOk(web.watching, 'no web config: nothing to check')

  const file = 'added.yml'
  web.apply(await webConfig({ basic_auth_users: { alice: ALICE.bcrypt } }, file))
  t.ok(web.watching, 'a reload added one: its files are checked')
  t.equal((await app.inject({ url: '/-/healthy' })).statusCode, 401)
  writeFileSync(join(dir, file), stringify({ basic_auth_users: {}, http_server_config: { headers: HEADERS } }))
  const deadline = Date.now() + 5_000
  while ((await app.inject({ url: '/-/healthy' })).statusCode !== 200 && Date.now() < deadline)
    await new Promise(resolve => setTimeout(resolve, 20))
  t.equal((await app.inject({ url: '/-/healthy' })).statusCode, 200, 'its change was picked up by the checks')

  web.apply(undefined)
  t.notOk(web.watching, 'a reload removed it: the checks stop')
  web.apply(await webConfig({ basic_auth_users: {} }))
  web.stop()
  t.notOk(web.watching, 'stopped')
})

/** get requests path over TLS trusting the test CA; it resolves with the status or rejects with the error. */
function get(port: number, opts: https.RequestOptions = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      { host: '127.0.0.1', port, path: '/-/healthy', ca: pem(pki.caFile), agent: false, timeout: 5_000, ...opts },
      res => {
        res.resume()
        resolve(res.statusCode ?? 0)
      },
    )
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
  })
}

const CLIENT = { cert: pem(pki.clientCert), key: pem(pki.clientKey) }
const OTHER_CLIENT = { cert: pem(pki.otherClientCert), key: pem(pki.otherClientKey) }

/** serve starts the server with web's TLS on a free loopback port. */
async function serve(t: Test, web: WebListener): Promise<number> {
  const app = testServer({ web })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const addr = app.server.address()
  if (addr === null || typeof addr === 'string') throw new Error('no address')
  return addr.port
}

const tlsDoc = (extra: Record<string, unknown> = {}) => ({
  tls_server_config: { cert_file: pki.serverCert, key_file: pki.serverKey, ...extra },
})

t.test('client_auth_type against clients with no, a trusted and an untrusted certificate', async t => {
  const cases: Array<[string, Record<string, unknown>, [boolean, boolean, boolean]]> = [
    ['NoClientCert', {}, [true, true, true]],
    ['RequestClientCert', { client_auth_type: 'RequestClientCert' }, [true, true, true]],
    ['RequireAnyClientCert', { client_auth_type: 'RequireAnyClientCert' }, [false, true, true]],
    [
      'VerifyClientCertIfGiven',
      { client_auth_type: 'VerifyClientCertIfGiven', client_ca_file: pki.caFile },
      [true, true, false],
    ],
    [
      'RequireAndVerifyClientCert',
      { client_auth_type: 'RequireAndVerifyClientCert', client_ca_file: pki.caFile },
      [false, true, false],
    ],
    [
      "RequireAndVerifyClientCert with client_allowed_sans naming the client's SAN",
      {
        client_auth_type: 'RequireAndVerifyClientCert',
        client_ca_file: pki.caFile,
        client_allowed_sans: ['client.test'],
      },
      [false, true, false],
    ],
    [
      'RequireAnyClientCert with client_allowed_sans naming the SAN of both client certificates',
      { client_auth_type: 'RequireAnyClientCert', client_allowed_sans: ['client.test'] },
      [false, true, true],
    ],
    [
      'RequireAndVerifyClientCert with client_allowed_sans',
      {
        client_auth_type: 'RequireAndVerifyClientCert',
        client_ca_file: pki.caFile,
        client_allowed_sans: ['someone-else.test'],
      },
      [false, false, false],
    ],
  ]
  for (const [name, extra, [none, trusted, untrusted]] of cases) {
    await t.test(name, async t => {
      const log = logs()
      const web = new WebListener(await webConfig(tlsDoc(extra)), log)
      t.equal(web.scheme, 'https')
      const port = await serve(t, web)
      const outcome = (p: Promise<number>) =>
        p.then(
          status => status === 200,
          () => false,
        )
      t.equal(await outcome(get(port)), none, 'no certificate')
      t.equal(await outcome(get(port, CLIENT)), trusted, 'a certificate from the client CA')
      t.equal(await outcome(get(port, OTHER_CLIENT)), untrusted, 'a certificate from another CA')
      if (!(none && trusted && untrusted))
        t.ok(
          log.lines.some(l => l['msg'] === 'TLS client refused' && /^127\.0\.0\.1:\d+$/.test(String(l['peer']))),
          'the refusal is logged with the peer',
        )
    })
  }
})

t.test('the refusal says why', async t => {
  const log = logs()
  const web = new WebListener(
    await webConfig(tlsDoc({ client_auth_type: 'RequireAndVerifyClientCert', client_ca_file: pki.caFile })),
    log,
  )
  const port = await serve(t, web)
  await get(port, OTHER_CLIENT).catch(() => 0)
  t.match(
    log.lines.find(l => l['msg'] === 'TLS client refused'),
    {
      reason: /^client certificate not trusted: signed by an unknown authority \(\w+; check client_ca_file\)$/,
    },
  )
})

t.test('a client that does not trust the server is logged as a failed handshake', async t => {
  const log = logs()
  const port = await serve(t, new WebListener(await webConfig(tlsDoc()), log))
  await t.rejects(get(port, { ca: pem(pki.otherCaFile) }), /self-signed|unable to verify|issuer/i)
  for (let i = 0; i < 50 && !log.lines.some(l => l['msg'] === 'TLS client refused'); i++)
    await new Promise(resolve => setTimeout(resolve, 20))
  t.match(
    log.lines.find(l => l['msg'] === 'TLS client refused'),
    { reason: /^TLS handshake failed: / },
  )
})

t.test('apply rotates the certificate without a restart; TLS cannot be switched off', async t => {
  const log = logs()
  const web = new WebListener(await webConfig(tlsDoc()), log)
  const port = await serve(t, web)
  const fingerprint = () =>
    new Promise<string>((resolve, reject) => {
      const req = https.get(
        { host: '127.0.0.1', port, path: '/-/healthy', ca: pem(pki.caFile), agent: false, timeout: 5_000 },
        res => {
          res.resume()
          resolve((res.socket as TLSSocket).getPeerCertificate().fingerprint256)
        },
      )
      req.on('error', reject)
    })
  const before = await fingerprint()
  const rotated = makeServerCert(dir, 'server-rotated')
  web.apply(await webConfig({ tls_server_config: { cert_file: rotated.cert, key_file: rotated.key } }))
  const after = await fingerprint()
  t.not(after, before, 'new connections get the new certificate')
  t.equal(after, new (await import('node:crypto')).X509Certificate(pem(rotated.cert)).fingerprint256, 'the rotated one')
  web.apply(await webConfig({}))
  t.equal(await fingerprint(), after, 'still TLS with the last certificate')
  t.ok(log.lines.some(l => String(l['msg']).includes('turns TLS on or off: that takes a restart')))
})
