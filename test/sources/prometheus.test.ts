import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { authorizationHeader, bodySnippet, joinUrlPath, redactUrl } from '../../src/sources/http-auth.js'
import {
  createPrometheusSource,
  formatUnixSeconds,
  parseSampleValue,
  QueryError,
} from '../../src/sources/prometheus.js'
import type { PrometheusSourceOptions } from '../../src/sources/prometheus.js'

interface Seen {
  readonly method: string
  readonly path: string
  readonly headers: http.IncomingHttpHeaders
  readonly form: URLSearchParams
  readonly remotePort: number
}
/** Teardown is the part of a tap test the helpers need. */
interface Teardown {
  teardown(fn: () => void): void
}
type Reply = { status?: number; body: unknown } | 'hang'

/** fakePrometheus serves reply(request) on 127.0.0.1:0 and records every request. */
async function fakePrometheus(t: Teardown, reply: (seen: Seen) => Reply): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = []
  const server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString()
    })
    req.on('end', () => {
      const s = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        form: new URLSearchParams(body),
        remotePort: req.socket.remotePort ?? 0,
      }
      seen.push(s)
      const r = reply(s)
      if (r === 'hang') return
      const text = typeof r.body === 'string' ? r.body : JSON.stringify(r.body)
      res.writeHead(r.status ?? 200, { 'Content-Type': typeof r.body === 'string' ? 'text/html' : 'application/json' })
      res.end(text)
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
}

function source(t: Teardown, opts: Partial<PrometheusSourceOptions> & { url: string }) {
  const src = createPrometheusSource({ timeoutMs: 2000, ...opts })
  t.teardown(() => src.close())
  return src
}

const vector = (result: unknown[], extra: object = {}) => ({
  body: { status: 'success', data: { resultType: 'vector', result }, ...extra },
})
const AT = 1767261900123

async function rejection(p: Promise<unknown>): Promise<QueryError> {
  try {
    await p
  } catch (err) {
    if (err instanceof QueryError) return err
    throw err
  }
  throw new Error('expected a QueryError')
}

t.test('vector result: request shape and samples', async t => {
  const fake = await fakePrometheus(t, () =>
    vector([
      { metric: { __name__: 'up', job: 'api', empty: '' }, value: [AT / 1000, '0'] },
      { metric: { job: 'web' }, value: [AT / 1000, '1.5e-7'] },
    ]),
  )
  const result = await source(t, { url: fake.url, timeoutMs: 1500 }).query('up == 0', AT)
  t.same(result, {
    samples: [
      { labels: { __name__: 'up', job: 'api' }, value: 0 },
      { labels: { job: 'web' }, value: 1.5e-7 },
    ],
    warnings: [],
  })
  const req = fake.seen[0]
  t.equal(req?.method, 'POST')
  t.equal(req?.path, '/api/v1/query')
  t.match(req?.headers['content-type'], /^application\/x-www-form-urlencoded/)
  t.same(Object.fromEntries(req?.form ?? []), { query: 'up == 0', time: '1767261900.123', timeout: '1.5' })
})

t.test('scalar result becomes one sample without labels; special values are parsed', async t => {
  const replies: Reply[] = [
    { body: { status: 'success', data: { resultType: 'scalar', result: [1, '42'] } } },
    vector([
      { metric: { a: '1' }, value: [1, 'NaN'] },
      { metric: { a: '2' }, value: [1, '+Inf'] },
      { metric: { a: '3' }, value: [1, '-Inf'] },
    ]),
  ]
  const fake = await fakePrometheus(t, () => replies.shift() ?? { status: 500, body: 'no more' })
  const src = source(t, { url: fake.url })
  t.same(await src.query('42', AT), { samples: [{ labels: {}, value: 42 }], warnings: [] })
  const values = (await src.query('x', AT)).samples.map(s => s.value)
  t.ok(Number.isNaN(values[0]))
  t.same(values.slice(1), [Infinity, -Infinity])
  t.equal(fake.seen[0]?.remotePort, fake.seen[1]?.remotePort, 'keep-alive reuses the connection')
})

t.test('matrix, string and native histogram results are errors', async t => {
  const replies: Reply[] = [
    { body: { status: 'success', data: { resultType: 'matrix', result: [] } } },
    { body: { status: 'success', data: { resultType: 'string', result: [1, 'x'] } } },
    vector([{ metric: {}, histogram: [1, { count: '1', sum: '1', buckets: [] }] }]),
  ]
  const fake = await fakePrometheus(t, () => replies.shift() ?? { status: 500, body: 'no more' })
  const src = source(t, { url: fake.url })
  t.equal((await rejection(src.query('x[5m]', AT))).message, 'rule result is not a vector or scalar')
  t.equal((await rejection(src.query('"x"', AT))).message, 'rule result is not a vector or scalar')
  t.equal((await rejection(src.query('h', AT))).message, 'native histograms are not supported')
})

t.test('error envelopes keep errorType, status and error text', async t => {
  const cases = [
    { status: 400, errorType: 'bad_data', error: '1:5: parse error: unexpected end of input' },
    { status: 422, errorType: 'execution', error: 'found duplicate series for the match group' },
    { status: 503, errorType: 'timeout', error: 'query timed out in expression evaluation' },
  ]
  let next = 0
  const fake = await fakePrometheus(t, () => {
    const c = cases[next++]
    return { status: c?.status, body: { status: 'error', errorType: c?.errorType, error: c?.error } }
  })
  const src = source(t, { url: fake.url })
  for (const c of cases) {
    const err = await rejection(src.query('up ==', AT))
    t.equal(err.errorType, c.errorType)
    t.equal(err.statusCode, c.status)
    t.equal(err.message, `query failed: ${c.errorType}: ${c.error}`)
  }
})

t.test('non-JSON bodies from proxies and malformed JSON are bad_response', async t => {
  const replies: Reply[] = [
    { status: 502, body: `<html><body>\n<h1>502 Bad Gateway</h1>\n${'x'.repeat(1000)}</body></html>` },
    { status: 200, body: { status: 'success' } },
    vector([{ metric: {}, value: [1, 'zero'] }]),
    { status: 404, body: { status: 'success', data: { resultType: 'scalar', result: [1, '1'] } } },
  ]
  const fake = await fakePrometheus(t, () => replies.shift() ?? { status: 500, body: 'no more' })
  const src = source(t, { url: fake.url })
  const proxy = await rejection(src.query('up', AT))
  t.equal(proxy.errorType, 'bad_response')
  t.equal(proxy.statusCode, 502)
  t.match(
    proxy.message,
    /^query failed: bad_response: server returned HTTP status 502 Bad Gateway: <html><body> <h1>502 Bad Gateway<\/h1> x+\.\.\.$/,
  )
  t.ok(proxy.message.length < 400, 'the body is truncated')
  t.match((await rejection(src.query('up', AT))).message, /bad_response: invalid query data/)
  t.match((await rejection(src.query('up', AT))).message, /bad_response: invalid sample value "zero"/)
  t.match((await rejection(src.query('up', AT))).message, /bad_response: server returned HTTP status 404/)
})

t.test('timeout, caller cancellation and connection refused', async t => {
  const fake = await fakePrometheus(t, () => 'hang')
  const started = Date.now()
  const timeout = await rejection(source(t, { url: fake.url, timeoutMs: 150 }).query('up', AT))
  t.equal(timeout.errorType, 'timeout')
  t.equal(timeout.message, 'query failed: timeout: no response within 150ms')
  t.ok(Date.now() - started < 1500, 'bounded by timeoutMs')

  const controller = new AbortController()
  setTimeout(() => controller.abort(), 50)
  t.equal((await rejection(source(t, { url: fake.url }).query('up', AT, controller.signal))).errorType, 'canceled')

  const closed = http.createServer()
  await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve))
  const port = (closed.address() as AddressInfo).port
  await new Promise(resolve => closed.close(resolve))
  const refused = await rejection(source(t, { url: `http://127.0.0.1:${port}` }).query('up', AT))
  t.equal(refused.errorType, 'connection')
  t.match(refused.message, /^query failed: connection: .*ECONNREFUSED/)
})

t.test('path prefix, auth and custom headers; secrets stay out of errors', async t => {
  const fake = await fakePrometheus(t, () => ({ status: 401, body: 'unauthorized' }))
  const bearer = source(t, {
    url: `${fake.url}/prometheus/`,
    auth: { type: 'bearer', token: 's3cret-token' },
    headers: { 'X-Scope-OrgID': 'tenant-1', Authorization: 'ignored' },
  })
  const err = await rejection(bearer.query('up', AT))
  t.notMatch(err.message, /s3cret/)
  t.equal(fake.seen[0]?.path, '/prometheus/api/v1/query')
  t.equal(fake.seen[0]?.headers.authorization, 'Bearer s3cret-token')
  t.equal(fake.seen[0]?.headers['x-scope-orgid'], 'tenant-1')

  const basic = source(t, { url: `${fake.url}/a/b`, auth: { type: 'basic', username: 'user', password: 'pa:ss' } })
  await rejection(basic.query('up', AT))
  t.equal(fake.seen[1]?.path, '/a/b/api/v1/query')
  t.equal(fake.seen[1]?.headers.authorization, `Basic ${Buffer.from('user:pa:ss').toString('base64')}`)
})

t.test('warnings are returned', async t => {
  const fake = await fakePrometheus(t, () => vector([], { warnings: ['results truncated due to limit'], infos: ['x'] }))
  t.same(await source(t, { url: fake.url }).query('up', AT), {
    samples: [],
    warnings: ['results truncated due to limit'],
  })
})

t.test('formatUnixSeconds and parseSampleValue', async t => {
  t.equal(formatUnixSeconds(1767261900000), '1767261900.000')
  t.equal(formatUnixSeconds(1767261900005.4), '1767261900.005')
  t.equal(formatUnixSeconds(-1500), '-1.500')
  t.equal(parseSampleValue('-0.25'), -0.25)
  t.equal(parseSampleValue('1e21'), 1e21)
  t.equal(parseSampleValue('Inf'), Infinity)
  t.throws(() => parseSampleValue(''), QueryError)
  t.throws(() => parseSampleValue(' 1'), QueryError)
})

t.test('http helpers', async t => {
  t.equal(authorizationHeader(undefined), undefined)
  t.equal(joinUrlPath('http://h:9090', '/api/v1/query'), 'http://h:9090/api/v1/query')
  t.equal(joinUrlPath('http://h/a//b/?x=1#f', 'api/v2/alerts'), 'http://h/a/b/api/v2/alerts')
  t.equal(redactUrl('http://u:p@h:1/x'), 'http://h:1/x')
  t.equal(redactUrl('http://h:1/x'), 'http://h:1/x')
  t.equal(redactUrl('not a url //u:p@h'), 'not a url //h')
  t.equal(bodySnippet(' a \n b '), 'a b')
})

t.test('asks for identity encoding but decodes gzip, deflate and br from servers that compress anyway', async t => {
  const { gzipSync, deflateSync, brotliCompressSync } = await import('node:zlib')
  const payload = JSON.stringify({
    status: 'success',
    data: { resultType: 'vector', result: [{ metric: { job: 'z' }, value: [1, '7'] }] },
  })
  const encodings: Array<[string, (b: Buffer) => Buffer]> = [
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
    ['compress', b => b],
  ]
  const seen: http.IncomingHttpHeaders[] = []
  let next = 0
  const server = http.createServer((req, res) => {
    seen.push(req.headers)
    req.resume()
    req.on('end', () => {
      const [name, fn] = encodings[next++] ?? ['identity', (b: Buffer) => b]
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': name })
      res.end(fn(Buffer.from(payload)))
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  const src = source(t, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
  for (let i = 0; i < 3; i++)
    t.same(
      await src.query('z', AT),
      { samples: [{ labels: { job: 'z' }, value: 7 }], warnings: [] },
      encodings[i]?.[0] ?? '',
    )
  const err = await rejection(src.query('z', AT))
  t.equal(err.errorType, 'bad_response')
  t.match(err.message, /unsupported content encoding "compress"/)
  t.equal(seen[0]?.['accept-encoding'], 'identity')
  t.match(seen[0]?.['user-agent'], /^rollguard\//)
})

t.test('a timeout while the body is still arriving is a timeout, not a hang', async t => {
  const server = http.createServer((req, res) => {
    req.resume()
    res.writeHead(200, { 'Content-Type': 'application/json' })
    res.write('{"status":"succ') // ...and never more
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  const started = Date.now()
  const err = await rejection(
    source(t, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, timeoutMs: 200 }).query('up', AT),
  )
  t.equal(err.errorType, 'timeout')
  t.ok(Date.now() - started < 1500)
})

t.test('a keep-alive connection the server dropped while idle is retried once on a new connection', async t => {
  let requests = 0
  const server = http.createServer((req, res) => {
    requests++
    if (requests === 2) {
      req.socket.destroy() // the idle connection died just as it was reused
      return
    }
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify({ status: 'success', data: { resultType: 'scalar', result: [1, String(requests)] } }))
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  const src = source(t, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
  t.same((await src.query('1', AT)).samples, [{ labels: {}, value: 1 }])
  t.same((await src.query('1', AT)).samples, [{ labels: {}, value: 3 }], 'answered by the retry')
  t.equal(requests, 3)
  // A fresh connection that fails is not retried: the error is reported.
  const closed = http.createServer(req => req.socket.destroy())
  await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve))
  t.teardown(() => closed.close())
  t.equal(
    (await rejection(source(t, { url: `http://127.0.0.1:${(closed.address() as AddressInfo).port}` }).query('1', AT)))
      .errorType,
    'connection',
  )
})

t.test('connections are bounded and kept for reuse; an already-aborted signal cancels at once', async t => {
  const { MAX_CONNECTIONS } = await import('../../src/sources/prometheus.js')
  let open = 0
  let maxOpen = 0
  let connections = 0
  const server = http.createServer((req, res) => {
    req.resume()
    req.on('end', () =>
      setTimeout(() => {
        res.writeHead(200, { 'Content-Type': 'application/json' })
        res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }))
      }, 20),
    )
  })
  server.on('connection', socket => {
    connections++
    maxOpen = Math.max(maxOpen, ++open)
    socket.on('close', () => open--)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  const src = source(t, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
  await Promise.all(Array.from({ length: MAX_CONNECTIONS * 2 }, () => src.query('up', AT)))
  t.ok(maxOpen <= MAX_CONNECTIONS, `at most ${MAX_CONNECTIONS} connections (saw ${maxOpen})`)
  const before = connections
  await Promise.all(Array.from({ length: MAX_CONNECTIONS }, () => src.query('up', AT)))
  t.equal(connections, before, 'the next round reuses the idle connections')
  const aborted = new AbortController()
  aborted.abort()
  t.equal((await rejection(src.query('up', AT, aborted.signal))).errorType, 'canceled')
})

t.test('queries beyond the connection bound wait off the wire and time out there; slots are released', async t => {
  const { MAX_CONNECTIONS } = await import('../../src/sources/prometheus.js')
  let hang = true
  let received = 0
  const server = http.createServer((req, res) => {
    received++
    req.resume()
    if (hang) return
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }))
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  const src = source(t, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, timeoutMs: 300 })
  const started = Date.now()
  const errors = await Promise.all(Array.from({ length: MAX_CONNECTIONS + 5 }, () => rejection(src.query('up', AT))))
  t.ok(
    errors.every(e => e.errorType === 'timeout'),
    'all time out, queued ones too',
  )
  t.ok(Date.now() - started < 2000, 'queued queries are bounded by their own deadline')
  t.equal(received, MAX_CONNECTIONS, 'only the admitted queries reached the server')
  hang = false
  t.same(await src.query('up', AT), { samples: [], warnings: [] }, 'slots were released by the timeouts')
})
