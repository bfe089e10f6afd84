// The Prometheus client's bounds: an answer past prometheus.max_response_bytes fails the query with an error
// naming the limit and the setting (plain, chunked or a gzip bomb) and the connection is closed there; a big
// answer within the limit (instant or range) is read without holding the event loop for more than 100 ms.
import type http from 'node:http'
import t from 'tap'
import {
  createPrometheusSource,
  DEFAULT_MAX_RESPONSE_BYTES,
  QueryError,
  type PrometheusSourceOptions,
} from '../../src/sources/prometheus.js'
import {
  gzipBomb,
  matrixAnswer,
  MiB,
  serve,
  stream,
  vectorAnswer,
  type Streamed,
  type Teardown,
} from '../fixtures/big-answers.js'
import { describeHold, holdWhile } from '../fixtures/event-loop.js'

const AT = 1767261900123

function source(t: Teardown, opts: Partial<PrometheusSourceOptions> & { url: string }) {
  const src = createPrometheusSource({ timeoutMs: 20_000, ...opts })
  t.teardown(() => src.close())
  return src
}

async function rejection(p: Promise<unknown>): Promise<QueryError> {
  try {
    await p
  } catch (err) {
    if (err instanceof QueryError) return err
    throw err
  }
  throw new Error('expected a QueryError')
}

const TOO_LARGE =
  'query failed: too_large: response exceeds 33554432 bytes (32 MiB); raise prometheus.max_response_bytes to accept larger answers'

t.test(
  '50 MB answers fail at 32 MiB by default, plain, chunked or gzipped, and the connection is closed there',
  async t => {
    t.equal(DEFAULT_MAX_RESPONSE_BYTES, 32 * MiB)
    const sent: Array<Promise<Streamed>> = []
    const { url } = await serve(t, (req, res) => {
      req.resume()
      req.on('end', () => {
        if (req.url === '/length/api/v1/query')
          sent.push(
            stream(res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 50 * MiB }), 50 * MiB),
          )
        else if (req.url === '/chunked/api/v1/query')
          sent.push(stream(res.writeHead(200, { 'Content-Type': 'application/json' }), 50 * MiB))
        else
          res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }).end(gzipBomb(50 * MiB))
      })
    })
    for (const path of ['/length', '/chunked', '/gzip']) {
      const started = performance.now()
      const err = await rejection(source(t, { url: `${url}${path}` }).query('{__name__=~".+"}', AT))
      t.equal(err.errorType, 'too_large', path)
      t.equal(err.message, TOO_LARGE, path)
      t.ok(performance.now() - started < 10_000, `${path}: failed after ${(performance.now() - started).toFixed(0)} ms`)
    }
    const [declared, chunked] = await Promise.all(sent)
    t.ok(
      declared?.closedEarly && declared.written < 16 * MiB,
      `declared 50 MiB: hung up at the headers (${declared?.written} bytes sent)`,
    )
    t.ok(
      chunked?.closedEarly && chunked.written < 32 * MiB + 16 * MiB,
      `chunked: the server stopped after ${chunked?.written} bytes, not 50 MiB`,
    )
  },
)

t.test('maxResponseBytes sets the limit; range queries are bounded the same way', async t => {
  const { url } = await serve(t, (req, res) => {
    req.resume()
    req.on('end', () => {
      const body = req.url === '/api/v1/query_range' ? matrixAnswer(10_000, 100).body : vectorAnswer(10_000).body
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(body)
    })
  })
  const small = source(t, { url, maxResponseBytes: 4096 })
  const expected =
    'query failed: too_large: response exceeds 4096 bytes (4 KiB); raise prometheus.max_response_bytes to accept larger answers'
  t.equal((await rejection(small.query('up', AT))).message, expected)
  t.equal(
    (await rejection(small.queryRange('up', { startMs: AT - 60_000, endMs: AT, stepMs: 15_000 }))).message,
    expected,
  )
  t.ok((await source(t, { url }).query('up', AT)).samples.length > 0, 'within the default limit')
})

/** answering serves body to every query, consuming the request first. */
function answering(body: Buffer): http.RequestListener {
  return (req, res) => {
    req.resume()
    req.on('end', () =>
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length }).end(body),
    )
  }
}

t.test('a 20 MB instant answer is read without holding the event loop for more than 100 ms', async t => {
  const { body, series } = vectorAnswer(20 * MiB)
  const { url } = await serve(t, answering(body))
  const src = source(t, { url })
  let samples = 0
  const hold = await holdWhile(async () => {
    samples = (await src.query('big', AT)).samples.length
  })
  t.equal(samples, series)
  t.ok(hold.cpuMs < 100, describeHold(hold))
})

t.test('a 20 MB range answer is read without holding the event loop for more than 100 ms', async t => {
  const { body, series } = matrixAnswer(20 * MiB)
  const { url } = await serve(t, answering(body))
  const src = source(t, { url })
  let points = 0
  let count = 0
  const hold = await holdWhile(async () => {
    const result = await src.queryRange('big', { startMs: AT - 3_600_000, endMs: AT, stepMs: 15_000 })
    count = result.series.length
    points = result.series.reduce((n, s) => n + s.points.length, 0)
  })
  t.equal(count, series)
  t.equal(points, series * 5_000)
  t.ok(hold.cpuMs < 100, describeHold(hold))
})
