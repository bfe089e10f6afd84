import { readFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import t from 'tap'
import type { OutgoingAlert } from '../../src/engine/types.js'
import { createAlertmanagerNotifier, formatTime, toPostableAlert } from '../../src/notifier/alertmanager.js'
import type { AlertmanagerNotifier, AlertmanagerNotifierOptions } from '../../src/notifier/alertmanager.js'
import { createNotifierMetrics } from '../../src/telemetry/notifier-metrics.js'

interface Teardown {
  teardown(fn: () => void): void
}
interface Received {
  readonly path: string
  readonly headers: http.IncomingHttpHeaders
  readonly raw: string
  readonly alerts: { labels: Record<string, string> }[]
}
type Answer = number | 'hang'

/** fakeAlertmanager records every POST and answers with answer(request) (a status code, possibly later). */
async function fakeAlertmanager(t: Teardown, answer: (r: Received) => Answer | Promise<Answer> = () => 200) {
  const received: Received[] = []
  const server = http.createServer((req, res) => {
    let raw = ''
    req.on('data', (chunk: Buffer) => {
      raw += chunk.toString()
    })
    req.on('end', () => {
      const r = { path: req.url ?? '', headers: req.headers, raw, alerts: JSON.parse(raw) as Received['alerts'] }
      received.push(r)
      void Promise.resolve(answer(r)).then(status => {
        if (status === 'hang') return
        res.writeHead(status, { 'Content-Type': 'text/plain' })
        res.end(status === 200 ? '' : 'something broke\n')
      })
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received }
}

function notifier(t: Teardown, opts: AlertmanagerNotifierOptions): AlertmanagerNotifier {
  const n = createAlertmanagerNotifier(opts)
  t.teardown(() => n.stop())
  return n
}

async function metricValues(registry: Registry, name: string): Promise<Record<string, number>> {
  const metric = registry.getSingleMetric(name)
  const out: Record<string, number> = {}
  for (const v of (await metric?.get())?.values ?? []) out[String(v.labels['alertmanager'] ?? '')] = v.value
  return out
}

/** waitFor polls cond every 10ms, failing after timeoutMs. */
async function waitFor(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

const alert = (name: string, extra: Partial<OutgoingAlert> = {}): OutgoingAlert => ({
  labels: { alertname: name },
  annotations: {},
  startsAt: 1767261900000,
  endsAt: 1767262140000,
  generatorURL: '',
  ...extra,
})
const names = (r: Received | undefined) => r?.alerts.map(a => a.labels['alertname'])

t.test('request: path prefix, headers and exact body', async t => {
  const am = await fakeAlertmanager(t)
  const n = notifier(t, {
    urls: [`${am.url}/alertmanager/`],
    auth: { type: 'bearer', token: 'tok' },
    externalLabels: { cluster: 'c1', severity: 'ignored', empty: '' },
  })
  n.send([
    alert('HighErrorRate', {
      labels: { alertname: 'HighErrorRate', severity: 'page' },
      annotations: { summary: 'errors > 5%' },
      startsAt: 1767261900123,
      generatorURL: 'http://rollguard:9400/graph?g0.expr=up+%3D%3D+0&g0.tab=1',
    }),
    alert('Resolved', { startsAt: 0, endsAt: 1767262000001 }),
  ])
  await n.drain(2000)
  const req = am.received[0]
  const version = (
    JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  ).version
  t.equal(req?.path, '/alertmanager/api/v2/alerts')
  t.equal(req?.headers['content-type'], 'application/json')
  t.equal(req?.headers['user-agent'], `rollguard/${version}`)
  t.equal(req?.headers.authorization, 'Bearer tok')
  t.strictSame(JSON.parse(req?.raw ?? ''), [
    {
      labels: { alertname: 'HighErrorRate', severity: 'page', cluster: 'c1' },
      annotations: { summary: 'errors > 5%' },
      startsAt: '2026-01-01T10:05:00.123Z',
      endsAt: '2026-01-01T10:09:00.000Z',
      generatorURL: 'http://rollguard:9400/graph?g0.expr=up+%3D%3D+0&g0.tab=1',
    },
    {
      labels: { alertname: 'Resolved', cluster: 'c1', severity: 'ignored' },
      startsAt: '0001-01-01T00:00:00.000Z',
      endsAt: '2026-01-01T10:06:40.001Z',
    },
  ])
  t.same(n.status(), [{ url: `${am.url}/alertmanager/`, queueLength: 0, lastSuccess: n.status()[0]?.lastSuccess }])
  t.type(n.status()[0]?.lastSuccess, 'number')
})

t.test('batches are sent back-to-back in order', async t => {
  const am = await fakeAlertmanager(t)
  const n = notifier(t, { urls: [am.url], batchSize: 2 })
  n.send(['a', 'b', 'c', 'd', 'e'].map(x => alert(x)))
  await n.drain(2000)
  t.same(am.received.map(names), [['a', 'b'], ['c', 'd'], ['e']])
})

t.test('overflow drops the oldest queued alerts', async t => {
  let release: () => void = () => undefined
  const held = new Promise<number>(resolve => {
    release = () => resolve(200)
  })
  const am = await fakeAlertmanager(t, r => (names(r)?.[0] === 'a1' ? held : 200))
  const registry = new Registry()
  const n = notifier(t, { urls: [am.url], batchSize: 1, queueCapacity: 3, metrics: createNotifierMetrics(registry) })
  n.send([alert('a1')])
  n.send(['a2', 'a3', 'a4'].map(x => alert(x)))
  n.send(['a5', 'a6'].map(x => alert(x)))
  t.equal(n.status()[0]?.queueLength, 3)
  t.same(await metricValues(registry, 'rollguard_notifications_queue_length'), { [am.url]: 3 })
  release()
  await n.drain(2000)
  t.same(am.received.map(names), [['a1'], ['a4'], ['a5'], ['a6']])
  t.same(await metricValues(registry, 'rollguard_notifications_dropped_total'), { [am.url]: 2 })
  t.same(await metricValues(registry, 'rollguard_notifications_sent_total'), { [am.url]: 4 })
  t.same(await metricValues(registry, 'rollguard_notifications_queue_capacity'), { '': 3 })

  n.send(['b1', 'b2', 'b3', 'b4', 'b5'].map(x => alert(x)))
  await n.drain(2000)
  t.same(
    am.received.slice(4).map(names),
    [['b3'], ['b4'], ['b5']],
    'one send larger than the capacity keeps the newest',
  )
  t.same(await metricValues(registry, 'rollguard_notifications_dropped_total'), { [am.url]: 4 })
})

t.test('a failed batch is counted and dropped, not retried; credentials are not logged', async t => {
  const am = await fakeAlertmanager(t, () => 500)
  const registry = new Registry()
  const lines: string[] = []
  const n = notifier(t, {
    urls: [am.url],
    auth: { type: 'basic', username: 'am-user', password: 'am-password' },
    metrics: createNotifierMetrics(registry),
    logger: pino(
      { level: 'debug' },
      {
        write: (l: string) => {
          lines.push(l)
        },
      },
    ),
  })
  n.send([alert('a'), alert('b')])
  await n.drain(2000)
  await new Promise(resolve => setTimeout(resolve, 100))
  t.equal(am.received.length, 1, 'no retry')
  t.equal(am.received[0]?.headers.authorization, `Basic ${Buffer.from('am-user:am-password').toString('base64')}`)
  for (const metric of ['errors', 'dropped', 'sent']) {
    t.same(await metricValues(registry, `rollguard_notifications_${metric}_total`), { [am.url]: 2 }, metric)
  }
  const histogram = (await registry.getSingleMetric('rollguard_notifications_latency_seconds')?.get())?.values ?? []
  t.ok(
    histogram.some(
      v =>
        (v as { metricName?: string }).metricName === 'rollguard_notifications_latency_seconds_count' && v.value === 1,
    ),
  )
  t.match(n.status()[0]?.lastError, /^server returned HTTP status 500 Internal Server Error: something broke$/)
  t.type(n.status()[0]?.lastErrorAt, 'number')
  t.match(lines.join(''), /error sending alerts/)
  t.notMatch(lines.join(''), /am-password|YW0tdXNlcjphbS1wYXNzd29yZA/)
})

t.test('several Alertmanagers are independent: one down does not block the others', async t => {
  const hanging = await fakeAlertmanager(t, () => 'hang')
  const healthy = await fakeAlertmanager(t)
  const closed = http.createServer()
  await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve))
  const refusedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`
  await new Promise(resolve => closed.close(resolve))

  const n = notifier(t, { urls: [hanging.url, refusedUrl, healthy.url], timeoutMs: 30_000, batchSize: 1 })
  n.send([alert('a'), alert('b')])
  await waitFor(
    () => healthy.received.length === 2 && hanging.received.length === 1 && n.status()[1]?.lastError !== undefined,
  )
  t.same(healthy.received.map(names), [['a'], ['b']])
  t.equal(hanging.received.length, 1, 'the hanging Alertmanager holds its own first batch')
  const [h, r] = n.status()
  t.equal(h?.queueLength, 1)
  t.match(r?.lastError, /ECONNREFUSED/)
  t.equal(r?.queueLength, 0, 'failed batches are dropped')
})

t.test('drain is bounded; timeouts fail a batch; stop drops the queue', async t => {
  const slow = await fakeAlertmanager(t, () => new Promise(resolve => setTimeout(() => resolve(200), 50)))
  const n1 = notifier(t, { urls: [slow.url], batchSize: 1 })
  n1.send([alert('a'), alert('b'), alert('c')])
  await n1.drain(5000)
  t.equal(slow.received.length, 3, 'drain waits for the whole queue')

  const hanging = await fakeAlertmanager(t, () => 'hang')
  const registry = new Registry()
  const n2 = notifier(t, {
    urls: [hanging.url],
    batchSize: 1,
    timeoutMs: 100,
    metrics: createNotifierMetrics(registry),
  })
  n2.send([alert('a'), alert('b'), alert('c')])
  let started = Date.now()
  await n2.drain(150)
  t.ok(Date.now() - started < 1000, 'drain returns at its deadline')
  await waitFor(() => n2.status()[0]?.lastError !== undefined)
  t.equal(n2.status()[0]?.lastError, 'no response within 100ms')
  n2.stop()
  t.equal(n2.status()[0]?.queueLength, 0)
  n2.send([alert('d')])
  started = Date.now()
  await n2.drain(1000)
  t.ok(Date.now() - started < 500, 'a stopped notifier is idle at once')
  t.same(
    await metricValues(registry, 'rollguard_notifications_dropped_total'),
    { [hanging.url]: 4 },
    'timed out, aborted, queued, sent after stop',
  )
  t.ok(hanging.received.length <= 3)
})

t.test('helpers and options', async t => {
  t.equal(formatTime(0), '0001-01-01T00:00:00.000Z')
  t.equal(formatTime(Number.NaN), '0001-01-01T00:00:00.000Z')
  t.equal(formatTime(1767261900000), '2026-01-01T10:05:00.000Z')
  t.strictSame(
    toPostableAlert(alert('x', { labels: { alertname: 'x', constructor: 'y' } }), { constructor: 'z', toString: 'w' })
      .labels,
    { alertname: 'x', constructor: 'y', toString: 'w' },
  )
  t.throws(() => createAlertmanagerNotifier({ urls: [], batchSize: 0 }), /at least 1/)
  const n = notifier(t, { urls: ['http://user:secret@127.0.0.1:1/'] })
  n.send([])
  t.same(n.status(), [{ url: 'http://127.0.0.1:1/', queueLength: 0 }])
})
