// Closing a source (every reload replaces it): the queries in flight finish, and every connection of the old
// source closes, none left open behind a reload.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Socket } from 'node:net'
import t from 'tap'
import { createPrometheusSource } from '../../src/sources/prometheus.js'

const ANSWER = JSON.stringify({
  status: 'success',
  data: { resultType: 'vector', result: [{ metric: { job: 'a' }, value: [1, '1'] }] },
})

t.test('close lets the queries in flight finish, then no connection of the closed source stays open', async t => {
  const open = new Set<Socket>()
  const held: http.ServerResponse[] = []
  let release = false
  const server = http.createServer((req, res) => {
    req.resume()
    req.on('end', () => (release ? res.end(ANSWER) : held.push(res)))
  })
  server.on('connection', (socket: Socket) => {
    open.add(socket)
    socket.on('close', () => open.delete(socket))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const src = createPrometheusSource({ url, timeoutMs: 10_000 })

  // One idle keep-alive connection, and three queries held by the server when close comes.
  release = true
  await src.query('up', 0)
  release = false
  const inFlight = [src.query('a', 0), src.query('b', 0), src.query('c', 0)]
  while (held.length < 3) await new Promise(r => setTimeout(r, 5))
  t.equal(open.size, 3, 'three connections in use (the idle one reused)')
  src.close()
  for (const res of held) res.end(ANSWER)
  const results = await Promise.all(inFlight)
  t.same(
    results.map(r => r.samples.length),
    [1, 1, 1],
    'the queries in flight at close succeeded',
  )
  const deadline = Date.now() + 5_000
  while (open.size > 0 && Date.now() < deadline) await new Promise(r => setTimeout(r, 10))
  t.equal(open.size, 0, 'and their connections closed once they were answered')
})
