import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import t from 'tap'
import { freePort, isAlive, runningProcesses, startProcess, waitForHttp } from '../../src/demo/processes.js'
import { startSampleService } from '../../src/demo/sample-service.js'
import {
  amAlerts,
  amCreateSilence,
  amExpireSilence,
  amPostAlerts,
  amSilences,
  findBinary,
  promQuery,
  startAlertmanager,
  startPrometheus,
} from '../../src/demo/stack.js'

/** eventually polls fn until it returns a value (not undefined), bounded by timeoutMs. */
async function eventually<T>(
  what: string,
  timeoutMs: number,
  fn: () => Promise<T | undefined>,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await fn()
      if (v !== undefined) return v
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms: ${what}${last !== undefined ? ` (last error: ${String(last)})` : ''}`,
      )
    await new Promise(r => setTimeout(r, intervalMs))
  }
}

const postJson = (url: string, body: unknown): Promise<Response> =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  })

t.test('processes: free ports, bounded start/stop', async t => {
  const port = await freePort()
  t.ok(port > 0 && port < 65536)
  const logFile = join(t.testdir(), 'stubborn.log')
  const script = 'process.on("SIGTERM", () => {}); console.log("ready"); setInterval(() => {}, 1000)'
  const sleeper = await startProcess(process.execPath, ['-e', script], { name: 'stubborn', logFile })
  t.ok(isAlive(sleeper.pid))
  await eventually(
    'the child logs ready',
    10_000,
    async () => (readFileSync(logFile, 'utf8').includes('ready') ? true : undefined),
    50,
  )
  t.ok(runningProcesses().includes(sleeper))
  const started = Date.now()
  await sleeper.stop(300) // ignores SIGTERM: SIGKILL after 300 ms
  t.ok(Date.now() - started < 5000)
  t.equal(sleeper.exitInfo()?.signal, 'SIGKILL')
  t.notOk(isAlive(sleeper.pid))
  await t.rejects(startProcess('/nonexistent/binary', []), /cannot start/)
  await t.rejects(waitForHttp(`http://127.0.0.1:${port}/`, { timeoutMs: 300 }), /timed out after 300 ms/)
  t.throws(() => findBinary(['rollguard-no-such-binary']), /npm run deps:system/)
})

t.test('sample service: metrics, faults, /healthz', async t => {
  const svc = await startSampleService({ namespace: 'shop', deployment: 'checkout', requestsPerSecond: 100 })
  t.teardown(() => svc.stop())
  t.match(svc.pod, /^checkout-[a-z0-9]{10}-[a-z0-9]{5}$/)
  t.match(svc.url, /^http:\/\/127\.0\.0\.1:\d+$/)

  const metrics = await (await fetch(`${svc.url}/metrics`)).text()
  t.match(metrics, /http_requests_total\{method="GET",route="\/api\/products",code="200"\} \d+/)
  t.match(metrics, /http_request_duration_seconds_bucket\{le="5",/)
  t.match(metrics, /http_request_duration_seconds_bucket\{le="10",/)
  t.match(metrics, `container_memory_working_set_bytes{namespace="shop",pod="${svc.pod}",container="checkout"}`)
  t.match(
    metrics,
    `kube_pod_container_resource_limits{namespace="shop",pod="${svc.pod}",container="checkout",resource="memory",unit="byte"} 536870912`,
  )

  t.equal((await postJson(`${svc.url}/fault`, { errorRatio: 2 })).status, 400)
  t.equal((await postJson(`${svc.url}/fault`, { bogus: 1 })).status, 400)
  const res = await postJson(`${svc.url}/fault`, { errorRatio: 0.5, memoryRatio: 0.9 })
  t.equal(res.status, 200)
  t.same(await (await fetch(`${svc.url}/fault`)).json(), { errorRatio: 0.5, memoryRatio: 0.9 })

  const count = async (code: string): Promise<number> => {
    const m = await svc.registry.getSingleMetric('http_requests_total')?.get()
    return (m?.values ?? []).filter(v => v.labels['code'] === code).reduce((a, v) => a + v.value, 0)
  }
  const [ok0, err0] = [await count('200'), await count('500')]
  await new Promise(r => setTimeout(r, 500))
  const [okD, errD] = [(await count('200')) - ok0, (await count('500')) - err0]
  t.ok(okD + errD >= 20, `simulated traffic flows (${okD + errD} requests)`)
  t.ok(Math.abs(errD - okD) <= 2, `deterministic 50% errors (ok ${okD}, err ${errD})`)
  const ws = (await svc.registry.getSingleMetric('container_memory_working_set_bytes')?.get())?.values[0]?.value
  t.equal(ws, Math.round(0.9 * 536870912))

  t.equal((await fetch(`${svc.url}/healthz`)).status, 200)
  svc.setFault({ health: 'fail' })
  t.equal((await fetch(`${svc.url}/healthz`)).status, 503)
  svc.setFault({ health: 'hang' })
  await t.rejects(fetch(`${svc.url}/healthz`, { signal: AbortSignal.timeout(300) }), 'hangs')
  const pending = fetch(`${svc.url}/healthz`, { signal: AbortSignal.timeout(5000) })
  await new Promise(r => setTimeout(r, 200))
  t.equal((await fetch(`${svc.url}/fault`, { method: 'DELETE' })).status, 200)
  t.equal((await pending).status, 200, 'a hanging health check is answered once the fault is cleared')
  t.same(svc.fault(), {})
})

t.test('real Prometheus + Alertmanager against the sample service', async t => {
  const svc = await startSampleService({ namespace: 'shop', deployment: 'checkout' })
  t.teardown(() => svc.stop())
  const am = await startAlertmanager()
  t.teardown(() => am.stop())
  const prom = await startPrometheus({
    scrapeTargets: [
      { job: 'checkout', target: `127.0.0.1:${svc.port}`, labels: { namespace: svc.namespace, pod: svc.pod } },
    ],
    scrapeInterval: '1s',
    alertmanagerUrls: [am.url],
    waitForTargets: true,
  })
  t.teardown(() => prom.stop())
  t.match(prom.url, /^http:\/\/127\.0\.0\.1:\d+$/)
  t.match(am.url, /^http:\/\/127\.0\.0\.1:\d+$/)

  const up = await eventually('up{job="checkout"} == 1', 10_000, async () => {
    const r = await promQuery(prom.url, 'up{job="checkout"}')
    return r[0]?.value === 1 ? r[0] : undefined
  })
  t.equal(up.labels['namespace'], 'shop')
  t.equal(up.labels['pod'], svc.pod)
  const reqs = await promQuery(prom.url, 'http_requests_total{job="checkout"}')
  t.ok(reqs.length >= 3, 'http_requests_total is scraped')
  t.match(reqs[0]?.labels, { method: String, route: String, code: String, namespace: 'shop', pod: svc.pod })

  const ratioExpr =
    'sum(rate(http_requests_total{job="checkout",code=~"5.."}[5s])) / sum(rate(http_requests_total{job="checkout"}[5s]))'
  const before = await eventually('a rate is computable', 15_000, async () => (await promQuery(prom.url, ratioExpr))[0])
  t.equal(before.value, 0, 'no 5xx before the fault')

  t.equal((await postJson(`${svc.url}/fault`, { errorRatio: 0.5 })).status, 200)
  const after = await eventually('5xx ratio rises to ~0.5', 30_000, async () => {
    const v = (await promQuery(prom.url, ratioExpr))[0]?.value
    return v !== undefined && v > 0.4 && v < 0.6 ? v : undefined
  })
  t.ok(after > 0.4, `5xx ratio ${after}`)

  const ams = await eventually('Prometheus discovers its Alertmanager', 15_000, async () => {
    const r = (await (await fetch(`${prom.url}/api/v1/alertmanagers`)).json()) as {
      data: { activeAlertmanagers: { url: string }[] }
    }
    return r.data.activeAlertmanagers.length > 0 ? r.data.activeAlertmanagers : undefined
  })
  t.match(ams[0]?.url, `${am.url}/api/v2/alerts`)
  await prom.reload({ scrapeInterval: '2s' })

  const labels = { alertname: 'RollguardStackTest', namespace: 'shop', pod: svc.pod, severity: 'critical' }
  const now = Date.now()
  await amPostAlerts(am.url, [
    {
      labels,
      annotations: { summary: 'stack test' },
      startsAt: new Date(now).toISOString(),
      endsAt: new Date(now + 300_000).toISOString(),
    },
  ])
  const alert = await eventually(
    'the alert is listed',
    10_000,
    async () => (await amAlerts(am.url, { matchers: { alertname: 'RollguardStackTest' } }))[0],
  )
  t.same(alert.labels, labels)
  t.equal(alert.annotations['summary'], 'stack test')
  t.equal(alert.status.state, 'active')

  const silenceId = await amCreateSilence(am.url, { alertname: 'RollguardStackTest' }, 60_000, 'stack test')
  const silenced = await eventually('the alert is silenced', 10_000, async () => {
    const a = (await amAlerts(am.url, { matchers: { alertname: 'RollguardStackTest' } }))[0]
    return a?.status.state === 'suppressed' ? a : undefined
  })
  t.same(silenced.status.silencedBy, [silenceId])
  t.equal((await amAlerts(am.url, { matchers: { alertname: 'RollguardStackTest' }, silenced: false })).length, 0)
  t.equal((await amSilences(am.url)).find(s => s.id === silenceId)?.status.state, 'active')
  await amExpireSilence(am.url, silenceId)
  t.equal((await amSilences(am.url)).find(s => s.id === silenceId)?.status.state, 'expired')

  const pids = [prom.pid, am.pid]
  const dirs = [dirname(prom.configFile), dirname(am.configFile)]
  await Promise.all([prom.stop(), am.stop(), svc.stop()])
  for (const pid of pids) t.notOk(isAlive(pid), `process ${pid} is gone`)
  for (const dir of dirs) t.notOk(existsSync(dir), `${dir} removed`)
  t.same(runningProcesses(), [], 'registry is empty')
  await t.rejects(fetch(`${svc.url}/metrics`, { signal: AbortSignal.timeout(2000) }), 'sample service is closed')
})
