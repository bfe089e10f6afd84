// doctor's GET: every answer is read with a bound (the setting of the API asked), a gzip bomb included.
import t from 'tap'
import { get } from '../../src/doctor/http.js'
import { gzipBomb, MiB, serve, stream, type Streamed } from '../fixtures/big-answers.js'

t.test(
  'an answer past maxResponseBytes is an error naming the limit and the setting; smaller ones are answers',
  async t => {
    const bomb = gzipBomb(50 * MiB)
    let streamed: Promise<Streamed> | undefined
    const { url } = await serve(t, (req, res) => {
      if (req.url === '/bomb') res.writeHead(200, { 'Content-Encoding': 'gzip' }).end(bomb)
      else if (req.url === '/small')
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"success"}')
      else streamed = stream(res.writeHead(200), 50 * MiB)
    })
    const access = { timeoutMs: 20_000, maxResponseBytes: 1 * MiB, limitKey: 'prometheus.max_response_bytes' }
    const message =
      'response exceeds 1048576 bytes (1 MiB); raise prometheus.max_response_bytes to accept larger answers'
    await t.rejects(get(`${url}/big`, access), { message })
    const sent = (await streamed) as Streamed
    t.ok(sent.closedEarly && sent.written < 17 * MiB, `the server stopped after ${sent.written} bytes`)
    await t.rejects(get(`${url}/bomb`, access), { message })
    t.match(await get(`${url}/small`, access), { status: 200, body: '{"status":"success"}' })
  },
)
