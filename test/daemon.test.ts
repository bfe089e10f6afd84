// Composition-root wiring that the component tests cannot see: the notifier gets the configured Alertmanager headers.
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { stringify } from 'yaml'
import { eventually, logSink, rollguard, tempDir } from './fixtures/e2e.js'
import { Daemon } from '../src/daemon.js'
import { freePort } from '../src/demo/processes.js'

t.test('alerts are sent with alertmanager.headers (e.g. a tenant header for Mimir/Cortex Alertmanager)', async t => {
  const received: IncomingHttpHeaders[] = []
  const am = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      if (req.url === '/api/v2/alerts') received.push(req.headers)
      res.writeHead(200).end()
    })
  })
  await new Promise<void>(resolve => am.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => am.close(() => resolve())))
  const dir = tempDir(t)
  const closed = await freePort()
  const rules = join(dir, 'probe.rules.yml')
  writeFileSync(
    rules,
    stringify({
      groups: [{ name: 'g', rules: [{ alert: 'ProbeFailing', expr: 'rollguard_probe_success == 0', for: '0s' }] }],
    }),
  )
  const config = join(dir, 'rollguard.yml')
  writeFileSync(
    config,
    stringify({
      alertmanager: {
        urls: [`http://127.0.0.1:${(am.address() as AddressInfo).port}`],
        headers: { 'X-Scope-OrgID': 'tenant-1' },
      },
      probes: [{ name: 'down', url: `http://127.0.0.1:${closed}/healthz`, interval: '200ms', timeout: '100ms' }],
    }),
  )
  // Every rule here is answered from rollguard's own probes: Prometheus is never asked.
  await rollguard(t, {
    config,
    rules,
    'prometheus-url': `http://127.0.0.1:${closed}`,
    'eval-interval': '200ms',
    listen: '127.0.0.1:0',
  })
  const headers = await eventually('an alert at the Alertmanager', async () => received[0], 15_000)
  t.equal(headers['x-scope-orgid'], 'tenant-1')
  t.equal(headers['content-type'], 'application/json')
})

t.test('the heap growth is set before the rules load and again when a reload changes it', async t => {
  const dir = tempDir(t)
  const closed = await freePort()
  const config = join(dir, 'rollguard.yml')
  writeFileSync(config, stringify({ runtime: { heap_growth_percent: 35 } }))
  const flags: string[] = []
  const daemon = await Daemon.start(
    {
      flags: new Map([
        ['config', [config]],
        ['prometheus-url', [`http://127.0.0.1:${closed}`]],
        ['listen', ['127.0.0.1:0']],
      ]),
      env: {},
      cwd: dir,
    },
    { version: 'test', logger: logSink().logger, setV8Flags: f => flags.push(f) },
  )
  t.teardown(() => daemon.stop())
  t.same(flags, ['--heap-growing-percent=35'])
  t.equal((await daemon.reload()).ok, true)
  t.same(flags, ['--heap-growing-percent=35'], 'an unchanged setting is not applied again')
  writeFileSync(config, stringify({ runtime: { heap_growth_percent: 0 } }))
  t.equal((await daemon.reload()).ok, true)
  t.same(flags, ['--heap-growing-percent=35', '--heap-growing-percent=0'], "0 hands the choice back to V8's heuristics")
})

t.test(
  "without a setting the heap may grow by three quarters of what is live, as Prometheus's default runtime.gogc",
  async t => {
    const closed = await freePort()
    const flags: string[] = []
    const daemon = await Daemon.start(
      {
        flags: new Map([
          ['prometheus-url', [`http://127.0.0.1:${closed}`]],
          ['listen', ['127.0.0.1:0']],
        ]),
        env: {},
        cwd: process.cwd(),
      },
      { version: 'test', logger: logSink().logger, setV8Flags: f => flags.push(f) },
    )
    t.teardown(() => daemon.stop())
    t.same(flags, ['--heap-growing-percent=50'], 'the default heap growth')
  },
)
