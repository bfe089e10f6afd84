import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { pino } from 'pino'
import t from 'tap'
import { createHealthProber, parseStatusPattern, runProbe } from '../../src/sources/health-probe.js'
import type { ProbeSpec, ProbeTransport } from '../../src/sources/health-probe.js'
import { ProbeStore } from '../../src/sources/probe-store.js'
import { gzipBomb, MiB, serve, stream, type Streamed } from '../fixtures/big-answers.js'
import type { ProbeResult } from '../../src/sources/probe-store.js'

interface Teardown {
  teardown(fn: () => void): void
}

/** targetServer answers /ok with 200, /down with 503, /echo with the request method, and never answers /hang. */
async function targetServer(t: Teardown): Promise<{ url: string; requests: http.IncomingMessage[] }> {
  const requests: http.IncomingMessage[] = []
  const server = http.createServer((req, res) => {
    requests.push(req)
    if (req.url === '/hang') return
    res.writeHead(req.url === '/down' ? 503 : 200, { 'Content-Type': 'text/plain' })
    res.end(req.url === '/echo' ? req.method : 'hello')
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests }
}

async function refusedUrl(): Promise<string> {
  const server = http.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise(resolve => server.close(resolve))
  return `http://127.0.0.1:${port}/`
}

const spec = (name: string, url: string, extra: Partial<ProbeSpec> = {}): ProbeSpec => ({
  name,
  url,
  intervalMs: 1000,
  timeoutMs: 1000,
  labels: { team: 'a' },
  ...extra,
})

/** waitFor polls cond every 10ms, failing after timeoutMs. */
async function waitFor(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

t.test('runProbe: status codes, timeout and connection errors', async t => {
  const target = await targetServer(t)
  const ok = await runProbe(spec('ok', `${target.url}/ok`))
  t.match(ok, { probe: 'ok', success: true, statusCode: 200 })
  t.equal(ok.error, undefined)
  t.ok(ok.durationMs >= 0 && ok.at <= Date.now())

  t.match(await runProbe(spec('down', `${target.url}/down`)), {
    success: false,
    statusCode: 503,
    error: 'unexpected status code 503',
  })
  t.match(await runProbe(spec('down', `${target.url}/down`, { expectedStatus: [parseStatusPattern('5xx')] })), {
    success: true,
    statusCode: 503,
  })

  const started = Date.now()
  const hang = await runProbe(spec('hang', `${target.url}/hang`, { timeoutMs: 100 }))
  t.match(hang, { success: false, error: 'timeout after 100ms' })
  t.equal(hang.statusCode, undefined)
  t.ok(hang.durationMs >= 90 && Date.now() - started < 1500, 'bounded by timeoutMs')

  const refused = await runProbe(spec('refused', await refusedUrl()))
  t.equal(refused.success, false)
  t.match(refused.error, /ECONNREFUSED/)
})

t.test('runProbe: method, headers, injected transport, redacted errors', async t => {
  const target = await targetServer(t)
  await runProbe(spec('head', `${target.url}/echo`, { method: 'HEAD', headers: { 'X-Probe': 'yes' } }))
  t.equal(target.requests[0]?.method, 'HEAD')
  t.equal(target.requests[0]?.headers['x-probe'], 'yes')

  const throwing: ProbeTransport = {
    request: async () => {
      throw 'boom' as unknown as Error
    },
    close: () => {},
  }
  t.match(await runProbe(spec('x', 'http://127.0.0.1:1/', {}), throwing), { success: false, error: 'boom' })
  const withCredentials = await runProbe(spec('x', 'http://user:secret@127.0.0.1:1/'))
  t.equal(withCredentials.success, false)
  t.notMatch(withCredentials.error, /secret/)
})

t.test('parseStatusPattern', async t => {
  t.same(parseStatusPattern('2xx'), { min: 200, max: 299 })
  t.same(parseStatusPattern(' 204 '), { min: 204, max: 204 })
  t.same(parseStatusPattern('200-399'), { min: 200, max: 399 })
  for (const bad of ['6xx', '99', '300-200', 'ok', ''])
    t.throws(() => parseStatusPattern(bad), /invalid expected status/, bad)
})

t.test('prober runs every probe on its own timer, feeds the store and stops cleanly', async t => {
  const target = await targetServer(t)
  const store = new ProbeStore()
  const results: ProbeResult[] = []
  const lines: string[] = []
  const logger = pino(
    { level: 'info' },
    {
      write: (line: string) => {
        lines.push(line)
      },
    },
  )
  const prober = createHealthProber({
    probes: [
      spec('ok', `${target.url}/ok`, { intervalMs: 30 }),
      spec('down', `${target.url}/down`, { intervalMs: 30 }),
      spec('hang', `${target.url}/hang`, { intervalMs: 30, timeoutMs: 60_000 }),
      spec('refused', await refusedUrl(), { intervalMs: 30 }),
    ],
    store,
    logger,
    onResult: r => {
      results.push(r)
      throw new Error('callback errors are contained')
    },
  })
  prober.start()
  prober.start()
  await waitFor(() => ['ok', 'down', 'refused'].every(p => results.filter(r => r.probe === p).length >= 3))
  t.equal(results.filter(r => r.probe === 'hang').length, 0, 'hang is still in flight')

  const success = store.samples('rollguard_probe_success', Date.now())
  t.same(success.map(s => `${s.labels['probe']}=${s.value}`).sort(), ['down=0', 'ok=1', 'refused=0'])
  t.same(store.samples('rollguard_probe_http_status_code', Date.now()).find(s => s.labels['probe'] === 'ok')?.labels, {
    __name__: 'rollguard_probe_http_status_code',
    team: 'a',
    probe: 'ok',
    instance: `${target.url}/ok`,
  })

  const started = Date.now()
  await prober.stop()
  t.ok(Date.now() - started < 1000, 'stop aborts the hanging probe instead of waiting for its timeout')
  const count = results.length
  await new Promise(resolve => setTimeout(resolve, 100))
  t.equal(results.length, count, 'no results after stop')
  t.equal(store.latest('hang'), undefined, 'aborted probe results are discarded')

  const failed = lines.map(l => JSON.parse(l) as { msg: string; probe?: string }).filter(l => l.msg === 'probe failed')
  t.same(failed.map(l => l.probe).sort(), ['down', 'refused'], 'failures are logged once per state change')
  t.ok(lines.some(l => l.includes('probe result callback failed')))
})

t.test('store: staleness, targets and ordering', async t => {
  const store = new ProbeStore()
  store.setTargets([
    { name: 'a', url: 'http://u:p@a/', labels: { env: '', probe: 'spoofed' }, staleAfterMs: 300 },
    { name: 'b', url: 'http://b/', labels: {}, staleAfterMs: 300 },
  ])
  store.record({ probe: 'a', success: false, durationMs: 1500, at: 0 })
  store.record({ probe: 'unknown', success: true, durationMs: 1, at: 0 })
  t.same(store.samples('rollguard_probe_success', 300), [
    { labels: { __name__: 'rollguard_probe_success', probe: 'a', instance: 'http://a/' }, value: 0 },
  ])
  t.same(
    store.samples('rollguard_probe_duration_seconds', 0).map(s => s.value),
    [1.5],
  )
  t.same(
    store.samples('rollguard_probe_http_status_code', 0).map(s => s.value),
    [0],
    'no response reports status 0',
  )
  t.same(store.samples('rollguard_probe_success', 301), [], 'a stale result is missing data, not a failure')

  store.record({ probe: 'a', success: true, durationMs: 1, at: 1000 })
  store.record({ probe: 'a', success: false, durationMs: 1, at: 900 })
  t.equal(store.latest('a')?.success, true, 'an older result does not replace a newer one')
  t.equal(store.latest('unknown'), undefined)

  store.setTargets([{ name: 'b', url: 'http://b/', labels: {}, staleAfterMs: 300 }])
  t.equal(store.latest('a'), undefined, 'results of removed probes are dropped')
})

t.test(
  'runProbe never reads the body: an endless answer or a gzip bomb is a quick success and the connection closes',
  async t => {
    const bomb = gzipBomb(50 * MiB)
    const sent: Array<Promise<Streamed>> = []
    const { url } = await serve(t, (req, res) => {
      if (req.url === '/bomb')
        res.writeHead(200, { 'Content-Encoding': 'gzip', 'Content-Length': bomb.length }).end(bomb)
      else sent.push(stream(res.writeHead(200), 1024 * MiB))
    })
    for (const path of ['/endless', '/bomb']) {
      const started = Date.now()
      t.match(
        await runProbe(spec('big', `${url}${path}`, { timeoutMs: 10_000 })),
        { success: true, statusCode: 200 },
        path,
      )
      t.ok(Date.now() - started < 5_000, `${path}: ${Date.now() - started} ms`)
    }
    const [endless] = await Promise.all(sent)
    t.ok(endless?.closedEarly && endless.written < 17 * MiB, `the server stopped after ${endless?.written} bytes`)
  },
)
