// What the notifier reads of Alertmanager's answers: at most 64 KiB (only an error's first bytes are ever shown);
// past that it stops reading and closes the connection, whatever the status.
import t from 'tap'
import type { OutgoingAlert } from '../../src/engine/types.js'
import { createAlertmanagerNotifier } from '../../src/notifier/alertmanager.js'
import { MiB, serve, stream, type Streamed } from '../fixtures/big-answers.js'

const alert: OutgoingAlert = {
  labels: { alertname: 'HighErrorRate' },
  annotations: {},
  startsAt: 1767261900000,
  endsAt: 0,
  generatorURL: '',
}

t.test('an endless answer is read up to 64 KiB: a 2xx is a success, a 5xx an error quoting its start', async t => {
  const sent: Array<Promise<Streamed>> = []
  const { url } = await serve(t, (req, res) => {
    req.resume()
    req.on('end', () => sent.push(stream(res.writeHead(req.url === '/ok/api/v2/alerts' ? 200 : 500), 1024 * MiB, 0x78)))
  })
  for (const [path, ok] of [
    ['/ok', true],
    ['/failing', false],
  ] as const) {
    const notifier = createAlertmanagerNotifier({ urls: [`${url}${path}`], timeoutMs: 20_000 })
    t.teardown(() => notifier.stop())
    const started = Date.now()
    notifier.send([alert])
    await notifier.drain(20_000)
    const [status] = notifier.status()
    if (ok) t.ok(status?.lastSuccess !== undefined && status.lastError === undefined, `${path}: sent`)
    else
      t.match(
        status?.lastError,
        /^server returned HTTP status 500 Internal Server Error: x{256}\.\.\.$/,
        `${path}: the error quotes the start`,
      )
    t.ok(Date.now() - started < 10_000, `${path}: done in ${Date.now() - started} ms, not after 1 GiB`)
  }
  for (const streamed of await Promise.all(sent))
    t.ok(streamed.closedEarly && streamed.written < 17 * MiB, `the server stopped after ${streamed.written} bytes`)
})
