// readBody: the limit exactly, one byte over (declared and streamed), compressed bodies and bombs, chunked
// bodies, bodies cut short, truncation, and that the connection is closed the moment the limit is passed.
import http from 'node:http'
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib'
import { randomBytes } from 'node:crypto'
import t from 'tap'
import {
  formatBytes,
  readBody,
  ResponseTooLargeError,
  UnsupportedEncodingError,
  type BodyLimit,
} from '../../src/sources/bounded-body.js'
import { gzipBomb, MiB, serve, stream, type Streamed } from '../fixtures/big-answers.js'

/** fetchBody GETs url and reads the answer with readBody. */
function fetchBody(url: string, limit: BodyLimit): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, res => void readBody(res, limit).then(resolve, reject))
    req.on('error', reject)
  })
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a rejection')
}

const LIMIT = { maxBytes: 1 * MiB, key: 'test.max_response_bytes' }

t.test('a body of exactly the limit is read whole, with a Content-Length or chunked', async t => {
  const body = randomBytes(LIMIT.maxBytes)
  const { url } = await serve(t, (req, res) => {
    if (req.url === '/length') res.writeHead(200, { 'Content-Length': body.length }).end(body)
    else void stream(res.writeHead(200), body.length, 0x61)
  })
  t.same(await fetchBody(`${url}/length`, LIMIT), body)
  const chunked = await fetchBody(`${url}/chunked`, LIMIT)
  t.equal(chunked.length, LIMIT.maxBytes)
  t.ok(chunked.every(b => b === 0x61))
  t.equal((await fetchBody(`${url}/length`, { maxBytes: 2 * MiB })).length, LIMIT.maxBytes, 'well under a limit too')
})

t.test('one byte over: declared in Content-Length it fails before reading; streamed it fails at the limit', async t => {
  let streamed: Promise<Streamed> | undefined
  const { url } = await serve(t, (req, res) => {
    const total = req.url === '/declared-huge' ? 1024 * MiB : LIMIT.maxBytes + 1
    if (req.url === '/chunked') res.writeHead(200)
    else res.writeHead(200, { 'Content-Length': total })
    streamed = stream(res, total)
  })
  for (const path of ['/length', '/chunked', '/declared-huge']) {
    const err = await rejection(fetchBody(`${url}${path}`, LIMIT))
    t.ok(err instanceof ResponseTooLargeError, path)
    t.equal(
      err.message,
      'response exceeds 1048576 bytes (1 MiB); raise test.max_response_bytes to accept larger answers',
    )
    t.match(err, { limitBytes: LIMIT.maxBytes, key: 'test.max_response_bytes' })
  }
  const sent = (await streamed) as Streamed
  t.ok(sent.closedEarly, 'a declared 1 GiB: the client hung up at the headers')
  t.ok(sent.written < 16 * MiB, `only the socket buffers were filled (${sent.written} bytes)`)
})

t.test('an endless body is cut at the limit: the connection closes and the server stops shortly after', async t => {
  let streamed: Promise<Streamed> | undefined
  const { url } = await serve(t, (_req, res) => {
    streamed = stream(res.writeHead(200), 1024 * MiB)
  })
  const started = Date.now()
  const err = await rejection(fetchBody(url, LIMIT))
  t.ok(err instanceof ResponseTooLargeError)
  const sent = (await streamed) as Streamed
  t.ok(sent.closedEarly, 'the server saw the connection close')
  // What the server got rid of is what was read plus what sat in the socket buffers (a few MiB on loopback).
  t.ok(sent.written < LIMIT.maxBytes + 16 * MiB, `the server stopped after ${sent.written} bytes, not 1 GiB`)
  t.ok(Date.now() - started < 5_000)
})

t.test(
  'compressed bodies are counted after decompression: gzip, deflate and br; a gzip bomb stops at the limit',
  async t => {
    const text = Buffer.from('{"status":"success"}')
    const bomb = gzipBomb(50 * MiB)
    t.ok(bomb.length < 100 * 1024, `50 MiB of zeros gzip to ${bomb.length} bytes`)
    const bodies: Record<string, [string, Buffer]> = {
      '/gzip': ['gzip', gzipSync(text)],
      '/x-gzip': ['x-gzip', gzipSync(text)],
      '/deflate': ['deflate', deflateSync(text)],
      '/br': ['br', brotliCompressSync(text)],
      '/bomb': ['gzip', bomb],
      '/deflate-bomb': ['deflate', deflateSync(Buffer.alloc(50 * MiB))],
      '/br-bomb': ['br', brotliCompressSync(Buffer.alloc(50 * MiB))],
      '/identity': ['identity', text],
    }
    const { url } = await serve(t, (req, res) => {
      const [encoding, body] = bodies[req.url ?? ''] ?? ['identity', Buffer.alloc(0)]
      res.writeHead(200, { 'Content-Encoding': encoding, 'Content-Length': body.length }).end(body)
    })
    for (const path of ['/gzip', '/x-gzip', '/deflate', '/br', '/identity'])
      t.same(await fetchBody(`${url}${path}`, LIMIT), text, path)
    for (const path of ['/bomb', '/deflate-bomb', '/br-bomb']) {
      const started = performance.now()
      const err = await rejection(fetchBody(`${url}${path}`, LIMIT))
      t.ok(err instanceof ResponseTooLargeError, `${path}: ${err.message}`)
      t.ok(performance.now() - started < 2_000, `${path}: stopped at the limit, not after 50 MiB`)
    }
  },
)

t.test('a compressed body is bounded on the wire too; an encoding rollguard cannot undo is an error', async t => {
  const incompressible = gzipSync(randomBytes(2 * MiB))
  const { url } = await serve(t, (req, res) => {
    if (req.url === '/compress') res.writeHead(200, { 'Content-Encoding': 'compress' }).end('x')
    else res.writeHead(200, { 'Content-Encoding': 'gzip' }).end(incompressible)
  })
  t.ok((await rejection(fetchBody(`${url}/random`, LIMIT))) instanceof ResponseTooLargeError)
  const err = await rejection(fetchBody(`${url}/compress`, LIMIT))
  t.ok(err instanceof UnsupportedEncodingError)
  t.equal(err.message, 'unsupported content encoding "compress"')
  t.same(
    await fetchBody(`${url}/compress`, { maxBytes: 10, truncate: true }),
    Buffer.from('x'),
    'truncating: read as it is',
  )
})

t.test('a body cut short rejects, never resolves with a part', async t => {
  const { url } = await serve(t, (req, res) => {
    if (req.url === '/length') {
      res.writeHead(200, { 'Content-Length': 1000 })
      res.write('{"status":')
      setTimeout(() => res.destroy(), 20)
    } else if (req.url === '/gzip') {
      res.writeHead(200, { 'Content-Encoding': 'gzip' })
      res.write(gzipSync(Buffer.alloc(100_000)).subarray(0, 200))
      setTimeout(() => res.destroy(), 20)
    } else {
      res.writeHead(200)
      res.write('{"status":')
      setTimeout(() => res.socket?.destroy(), 20)
    }
  })
  for (const path of ['/length', '/gzip', '/chunked']) {
    const err = await rejection(fetchBody(`${url}${path}`, LIMIT))
    t.notOk(err instanceof ResponseTooLargeError, `${path}: ${err.message}`)
    t.match(err.message, /aborted|premature|ECONNRESET|socket hang up|unexpected end/i, path)
  }
})

t.test('truncate keeps the first maxBytes, stops reading there and closes the connection', async t => {
  let streamed: Promise<Streamed> | undefined
  const { url } = await serve(t, (req, res) => {
    if (req.url === '/short') res.writeHead(200).end('short')
    else if (req.url === '/gzip') res.writeHead(200, { 'Content-Encoding': 'gzip' }).end(gzipBomb(50 * MiB))
    else streamed = stream(res.writeHead(200), 1024 * MiB, 0x62)
  })
  const kept = await fetchBody(url, { maxBytes: 64 * 1024, truncate: true })
  t.equal(kept.length, 64 * 1024)
  t.ok(kept.every(b => b === 0x62))
  const sent = (await streamed) as Streamed
  t.ok(sent.closedEarly && sent.written < 32 * MiB, `the server stopped after ${sent.written} bytes`)
  t.equal(
    (await fetchBody(`${url}/gzip`, { maxBytes: 1000, truncate: true })).length,
    1000,
    'decoded bytes are what is kept',
  )
  t.equal((await fetchBody(`${url}/short`, { maxBytes: 1000, truncate: true })).toString(), 'short')
})

t.test('formatBytes', async t => {
  t.equal(formatBytes(33554432), '33554432 bytes (32 MiB)')
  t.equal(formatBytes(65536), '65536 bytes (64 KiB)')
  t.equal(formatBytes(1000), '1000 bytes')
  t.equal(new ResponseTooLargeError(1000, undefined).message, 'response exceeds 1000 bytes')
})
