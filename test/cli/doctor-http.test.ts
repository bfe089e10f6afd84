// Prometheus-compatible APIs and Alertmanagers that are not quite Prometheus and Alertmanager: no buildinfo, a
// query API that fails, credentials refused — answered by a loopback stub that records what doctor sent.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import type { Teardown } from '../fixtures/e2e.js'
import { doctor, failures, writeFile } from './fixtures/doctor.js'

interface Seen {
  readonly method: string
  readonly path: string
  readonly authorization: string | undefined
}

/** stub serves answer(path, method) on 127.0.0.1 and records every request. */
async function stub(
  t: Teardown,
  answer: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = []
  const server = createServer((req, res) => {
    seen.push({
      method: req.method ?? '',
      path: (req.url ?? '').split('?')[0] ?? '',
      authorization: req.headers.authorization,
    })
    req.resume()
    req.on('end', () => answer(req, res))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(
    () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
}

const json = (res: ServerResponse, code: number, body: unknown) => {
  res.writeHead(code, { 'Content-Type': 'application/json' })
  res.end(JSON.stringify(body))
}

t.test(
  "a Prometheus-compatible API without buildinfo answers vector(1): ok, version unknown; rollguard's credentials are sent",
  async t => {
    const prom = await stub(t, (req, res) => {
      if (req.url?.startsWith('/prefix/api/v1/query'))
        return json(res, 200, {
          status: 'success',
          data: { resultType: 'vector', result: [{ metric: {}, value: [1, '1'] }] },
        })
      json(res, 404, { error: 'not found' })
    })
    const am = await stub(t, (_req, res) => json(res, 404, { error: 'not found' }))
    const token = writeFile(t, 'token', 'sekret\n')
    const r = await doctor([
      '--prometheus-url',
      `${prom.url}/prefix`,
      '--prometheus-bearer-token-file',
      token,
      '--alertmanager-url',
      am.url,
    ])
    t.match(
      r.out,
      `[ ok ] prometheus: Prometheus at ${prom.url}/prefix answers queries (version unknown: it serves no /api/v1/status/buildinfo)\n`,
    )
    t.same(
      prom.seen.map(s => [s.method, s.path, s.authorization]),
      [
        ['GET', '/prefix/api/v1/status/buildinfo', 'Bearer sekret'],
        ['POST', '/prefix/api/v1/query', 'Bearer sekret'],
        // time(): is the query answered as of the time asked (the query-time check)?
        ['POST', '/prefix/api/v1/query', 'Bearer sekret'],
      ],
    )
    t.same(failures(r.out), [
      `[FAIL] alertmanager: Alertmanager at ${am.url} does not serve its v2 API: GET /api/v2/status answered HTTP 404 Not Found`,
    ])
    t.equal(r.code, 1)
  },
)

t.test('credentials refused (401) and a query API that fails are failures with what to check', async t => {
  const refusing = await stub(t, (_req, res) => json(res, 401, { error: 'unauthorized' }))
  const r = await doctor(['--prometheus-url', refusing.url, '--alertmanager-url', refusing.url])
  t.same(failures(r.out), [
    `[FAIL] prometheus: Prometheus at ${refusing.url} refused rollguard's credentials: HTTP 401 Unauthorized`,
    `[FAIL] alertmanager: Alertmanager at ${refusing.url} refused rollguard's credentials: HTTP 401 Unauthorized`,
  ])
  t.match(r.out, /fix: check prometheus\.bearer_token_file or prometheus\.basic_auth/)
  const broken = await stub(t, (req, res) => {
    if (req.url?.startsWith('/api/v1/status/buildinfo'))
      return json(res, 200, { status: 'success', data: { version: '2.99.0' } })
    json(res, 503, { status: 'error', errorType: 'unavailable', error: 'storage is not ready' })
  })
  const q = await doctor([
    '--prometheus-url',
    broken.url,
    '--config',
    writeFile(t, 'rollguard.yml', 'alertmanager: { urls: [] }\n'),
  ])
  t.same(failures(q.out), [
    `[FAIL] prometheus: Prometheus at ${broken.url} does not answer the query vector(1): query failed: unavailable: storage is not ready`,
  ])
  t.equal(q.code, 1)
})
