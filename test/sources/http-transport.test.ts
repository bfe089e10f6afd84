// The one outgoing HTTP layer against local peers: a CONNECT proxy in front of a TLS server (private CA from
// openssl), an absolute-form proxy for http, redirects as Go follows them, OAuth2 client credentials with a token
// endpoint written here, and errors that name the peer and the key that fixes them.
import t, { type Test } from 'tap'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { readBody } from '../../src/sources/bounded-body.js'
import type { TlsSettings } from '../../src/sources/http-client.js'
import { HttpClient, type HttpClientInit } from '../../src/sources/http-transport.js'
import { tempDir } from '../fixtures/e2e.js'
import { startForwardProxy } from '../fixtures/proxy.js'
import { makePki } from '../fixtures/tls.js'

interface Seen {
  method: string
  url: string
  headers: http.IncomingHttpHeaders
  body: string
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void

async function listen(t: Test, server: http.Server): Promise<number> {
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(
    () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  return (server.address() as AddressInfo).port
}

/** origin serves handler over http (or https with tls), recording every request. */
async function origin(t: Test, handler: Handler, tls?: https.ServerOptions) {
  const seen: Seen[] = []
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      handler(req, res, body)
    })
  }
  const server = tls === undefined ? http.createServer(onRequest) : https.createServer(tls, onRequest)
  const port = await listen(t, server)
  return { seen, port, url: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}` }
}

function client(t: Test, init: Partial<HttpClientInit> = {}): HttpClient {
  const c = new HttpClient({ peer: 'Prometheus', section: 'prometheus', ...init })
  t.teardown(() => c.close())
  return c
}

async function text(c: HttpClient, url: string, init: { method?: string; body?: string } = {}) {
  const res = await c.request(url, {
    method: init.method ?? 'GET',
    ...(init.body === undefined ? {} : { body: init.body }),
  })
  const body = await readBody(res, { maxBytes: 1 << 20 })
  return { status: res.statusCode, body: body.toString('utf8') }
}

const ok: Handler = (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

t.test('proxy_url: https through a CONNECT tunnel (kept alive), http in absolute form', async t => {
  const pki = makePki(tempDir(t))
  const pem = (f: string) => readFileSync(f, 'utf8')
  const secure = await origin(t, ok, { cert: pem(pki.serverCert), key: pem(pki.serverKey) })
  const plain = await origin(t, ok)
  const p = await startForwardProxy(t, { require: basic('px', 'p@ss') })
  const proxyUrl = p.url.replace('http://', 'http://px:p%40ss@')
  const tls: TlsSettings = { section: 'prometheus', insecureSkipVerify: false, ca: pem(pki.caFile) }
  const c = client(t, {
    tls,
    auth: { type: 'bearer', token: 'origin-token' },
    proxy: { url: proxyUrl, connectHeaders: { 'X-Tenant': ['a', 'b'] } },
  })

  t.same(await text(c, `${secure.url}/one`), { status: 200, body: 'ok' })
  t.same(await text(c, `${secure.url}/two`), { status: 200, body: 'ok' })
  t.equal(p.connects.length, 1, 'one tunnel, reused by the second request')
  t.equal(p.connects[0]?.target, `127.0.0.1:${secure.port}`)
  t.equal(p.connects[0]?.headers['proxy-authorization'], basic('px', 'p@ss'), "the proxy URL's user info")
  t.equal(p.connects[0]?.headers['x-tenant'], 'a, b', 'proxy_connect_header goes with CONNECT')
  t.equal(p.connects[0]?.headers['authorization'], undefined, "the origin's credentials stay inside the tunnel")
  t.equal(secure.seen[0]?.headers['authorization'], 'Bearer origin-token')

  t.same(await text(c, `${plain.url}/three?x=1`, { method: 'POST', body: 'a=b' }), { status: 200, body: 'ok' })
  t.equal(p.forwarded[0]?.url, `${plain.url}/three?x=1`, 'absolute-form request line')
  t.equal(p.forwarded[0]?.headers['proxy-authorization'], basic('px', 'p@ss'))
  t.equal(p.forwarded[0]?.headers['x-tenant'], undefined, 'proxy_connect_header is for CONNECT only (as Go)')
  t.equal(plain.seen[0]?.body, 'a=b')
  t.equal(plain.seen[0]?.headers['authorization'], 'Bearer origin-token')
})

t.test('proxy errors name the peer, the proxy and the key', async t => {
  const secure = await origin(t, ok)
  const p = await startForwardProxy(t, { require: 'nobody' })
  const refused = client(t, { proxy: { url: p.url, connectHeaders: {} } })
  await t.rejects(
    refused.request(secure.url.replace('http:', 'https:'), { method: 'GET' }),
    /^Prometheus at https:\/\/127\.0\.0\.1:\d+\/: proxy http:\/\/127\.0\.0\.1:\d+\/ refused CONNECT: HTTP 407 Proxy Authentication Required \(set credentials in prometheus\.proxy_url or prometheus\.proxy_connect_header\)$/,
  )
  const closed = await new Promise<number>(resolve => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port
      s.close(() => resolve(port))
    })
  })
  const down = client(t, { proxy: { url: `http://127.0.0.1:${closed}`, connectHeaders: {} } })
  await t.rejects(
    down.request(`${secure.url}/x`, { method: 'GET' }),
    /^Prometheus at http:\/\/127\.0\.0\.1:\d+\/x: proxy http:\/\/127\.0\.0\.1:\d+\/: .*ECONNREFUSED.* \(check prometheus\.proxy_url\)$/,
  )
  await t.rejects(
    down.request('https://127.0.0.1:1/x', { method: 'GET' }),
    /proxy http:\/\/127\.0\.0\.1:\d+\/: .*ECONNREFUSED/,
    'and for a tunnel',
  )
})

t.test('no_proxy and loopback: httpproxy sends them directly; a bare proxy_url proxies everything', async t => {
  const plain = await origin(t, ok)
  const p = await startForwardProxy(t)
  await text(client(t, { proxy: { url: p.url, noProxy: 'example.com', connectHeaders: {} } }), plain.url)
  t.equal(p.forwarded.length, 0, 'with no_proxy, a loopback target is never proxied (as Go)')
  await text(client(t, { proxy: { url: p.url, connectHeaders: {} } }), plain.url)
  t.equal(p.forwarded.length, 1)
})

t.test('redirects: as Go follows them, credentials only on the original host', async t => {
  const target = await origin(t, (req, res) => res.writeHead(200).end(`${req.method} ${req.url}`))
  let hops = 0
  const redirector = await origin(t, (req, res) => {
    const [, status = '302', to = ''] = /^\/(\d{3})(\/.*)?$/.exec(req.url ?? '') ?? []
    if (req.url === '/loop') {
      hops++
      res.writeHead(302, { location: '/loop' }).end()
      return
    }
    if (req.url === '/nolocation') {
      res.writeHead(302).end('no location')
      return
    }
    res.writeHead(Number(status), { location: to.startsWith('/other') ? `${target.url}${to}` : to }).end()
  })
  const c = client(t, { auth: { type: 'bearer', token: 'secret-token' }, headers: { 'X-Custom': 'kept' } })

  t.same(await text(c, `${redirector.url}/302/other/a`, { method: 'POST', body: 'q=1' }), {
    status: 200,
    body: 'GET /other/a',
  })
  t.equal(target.seen[0]?.body, '', '302: a POST becomes a GET without its body')
  t.same(await text(c, `${redirector.url}/307/other/b`, { method: 'POST', body: 'q=2' }), {
    status: 200,
    body: 'POST /other/b',
  })
  t.equal(target.seen[1]?.body, 'q=2', '307 keeps the method and the body')
  t.same((await text(c, `${redirector.url}/308/other/c`, { method: 'POST', body: 'q=3' })).body, 'POST /other/c')
  t.same((await text(c, `${redirector.url}/303/other/d`, { method: 'POST', body: 'q=4' })).body, 'GET /other/d')
  t.equal(target.seen[0]?.headers['authorization'], 'Bearer secret-token', 'the same host keeps the credentials')
  t.equal(target.seen[0]?.headers['x-custom'], 'kept')

  const other = `http://localhost:${target.port}`
  const cross = await origin(t, (_req, res) => res.writeHead(301, { location: `${other}/moved` }).end())
  t.same((await text(c, cross.url)).body, 'GET /moved')
  t.equal(target.seen.at(-1)?.headers['authorization'], undefined, 'another host gets no credentials')
  t.equal(target.seen.at(-1)?.headers['x-custom'], 'kept', 'other headers go on')

  await t.rejects(
    c.request(`${redirector.url}/loop`, { method: 'GET' }),
    /^Prometheus at http:\/\/127\.0\.0\.1:\d+\/loop: stopped after 10 redirects$/,
  )
  t.equal(hops, 11, 'the first request and 10 redirects')
  t.same(await text(c, `${redirector.url}/nolocation`), { status: 302, body: 'no location' }, 'no Location: the answer')
  const off = client(t, { followRedirects: false })
  t.equal((await text(off, `${redirector.url}/302/other/e`)).status, 302, 'follow_redirects: false')
})

t.test('oauth2: client credentials, token cached, one retry on 401, token endpoint errors', async t => {
  let issued = 0
  let accepted = 'token-1'
  let refuse = false
  const tokens = await origin(t, (req, res, body) => {
    const form = new URLSearchParams(body)
    if (refuse || req.headers['authorization'] !== basic('app', 's3cr%t'.replace('%', '%25'))) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}')
      return
    }
    t.equal(form.get('grant_type'), 'client_credentials')
    t.equal(form.get('scope'), 'read write')
    t.equal(form.get('audience'), 'prometheus', 'endpoint_params')
    issued++
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ access_token: `token-${issued}`, token_type: 'bearer', expires_in: 3600 }))
  })
  const resource = await origin(t, (req, res) =>
    req.headers['authorization'] === `Bearer ${accepted}` ? res.writeHead(200).end('data') : res.writeHead(401).end(),
  )
  const oauth2 = {
    clientId: 'app',
    clientSecret: 's3cr%t',
    tokenUrl: `${tokens.url}/token`,
    scopes: ['read', 'write'],
    endpointParams: { audience: 'prometheus' },
  }
  const c = client(t, { oauth2 })
  for (let i = 0; i < 3; i++) t.same(await text(c, `${resource.url}/q`), { status: 200, body: 'data' })
  t.equal(issued, 1, 'one token for three requests')

  accepted = 'token-2'
  t.same(await text(c, `${resource.url}/q`), { status: 200, body: 'data' }, 'a refused token is renewed once')
  t.equal(issued, 2)
  accepted = 'never'
  t.equal((await text(c, `${resource.url}/q`)).status, 401, 'only once: the second 401 is the answer')
  t.equal(issued, 3)

  refuse = true
  const failing = client(t, { oauth2 })
  const err = await failing.request(`${resource.url}/q`, { method: 'GET' }).then(
    () => undefined,
    (e: unknown) => e as Error,
  )
  t.match(
    err?.message,
    /^Prometheus at http:\/\/127\.0\.0\.1:\d+\/q: cannot get an OAuth2 token from http:\/\/127\.0\.0\.1:\d+\/token: HTTP 401 Unauthorized: \{"error":"invalid_client"\} \(check prometheus\.oauth2\)$/,
  )
  t.notMatch(err?.message, /s3cr/, 'the secret is not in the error')
})

t.test("a token endpoint that does not answer holds a request only until the request's own deadline", async t => {
  const silent = await origin(t, () => undefined)
  const c = client(t, {
    oauth2: { clientId: 'a', clientSecret: 'b', tokenUrl: `${silent.url}/token`, scopes: [], endpointParams: {} },
  })
  const started = Date.now()
  await t.rejects(c.request(`${silent.url}/q`, { method: 'GET', signal: AbortSignal.timeout(300) }), /aborted/)
  t.ok(Date.now() - started < 10_000, 'rejected at the deadline, not after the token timeout')
})

t.test('certificate errors are worded with the peer and the key', async t => {
  const pki = makePki(tempDir(t))
  const pem = (f: string) => readFileSync(f, 'utf8')
  const secure = await origin(t, ok, { cert: pem(pki.serverCert), key: pem(pki.serverKey) })
  const c = client(t, {
    peer: 'probe "api"',
    section: 'probes.0',
    tls: { section: 'probes.0', insecureSkipVerify: false, ca: pem(pki.otherCaFile) },
  })
  await t.rejects(
    c.request(secure.url, { method: 'GET' }),
    /^probe "api" at https:\/\/127\.0\.0\.1:\d+\/: certificate signed by unknown authority \(set probes\.0\.tls_config\.ca_file\)$/,
  )
})
