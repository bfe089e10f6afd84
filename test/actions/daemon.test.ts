// The daemon with and without actions: no Kubernetes without an actions section, a clear error without a
// kubeconfig, and what a reload may and may not change.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { ConfigError } from '../../src/config/load.js'
import { Daemon } from '../../src/daemon.js'
import { logSink, tempDir } from '../fixtures/e2e.js'
import { writeKubeconfig } from '../fixtures/kubeconfig.js'
import { firing } from './fixtures/executor.js'
import { harness } from '../fixtures/cluster-harness.js'

const base = { prometheus: { url: 'http://127.0.0.1:9' }, web: { listen_address: '127.0.0.1:0' } }

async function start(config: string, log = logSink()): Promise<Daemon> {
  return Daemon.start(
    { flags: new Map([['config', [config]]]), env: {}, cwd: process.cwd() },
    { version: 'test', logger: log.logger },
  )
}

t.test('without actions: no actions component, no action metrics; adding actions needs a restart', async t => {
  const dir = tempDir(t)
  const config = join(dir, 'rollguard.yml')
  writeFileSync(config, stringify(base))
  const log = logSink()
  const daemon = await start(config, log)
  t.teardown(() => daemon.stop())
  t.equal(daemon.actions, undefined)
  t.notMatch(await (await fetch(`${daemon.address}/metrics`)).text(), /rollguard_leader/)
  writeFileSync(config, stringify({ ...base, actions: {} }))
  t.same(await daemon.reload(), { ok: true })
  t.equal(daemon.actions, undefined)
  t.ok(log.lines().some(l => l.msg === 'actions were added by the reload; they start on the next restart'))
})

t.test('actions without a usable kubeconfig: the daemon refuses to start, naming the problem', async t => {
  const config = join(tempDir(t), 'rollguard.yml')
  writeFileSync(config, stringify({ ...base, actions: {}, kubernetes: { kubeconfig: '/nonexistent/kubeconfig' } }))
  const err = await start(config).then(
    () => undefined,
    (e: unknown) => e,
  )
  t.ok(err instanceof ConfigError)
  t.match((err as ConfigError).problems, [
    /^kubernetes: cannot load the Kubernetes configuration for actions: .*nonexistent/,
  ])
})

t.test('reload: actions settings apply, removing them stops acting, kubernetes changes wait for a restart', async t => {
  const h = await harness('shop')
  t.teardown(h.close)
  const dir = tempDir(t)
  const kubernetes = { kubeconfig: writeKubeconfig(dir, h.fake), lease: { enabled: false } }
  const config = join(dir, 'rollguard.yml')
  writeFileSync(config, stringify({ ...base, actions: { allow: [{ namespace: 'shop' }] }, kubernetes }))
  const log = logSink()
  const daemon = await start(config, log)
  t.teardown(() => daemon.stop())
  const metrics = await (await fetch(`${daemon.address}/metrics`)).text()
  t.match(metrics, /rollguard_leader 1/)
  t.match(metrics, /# TYPE rollguard_rollbacks_total counter/)

  writeFileSync(config, stringify({ ...base, kubernetes: { ...kubernetes, request_timeout: '5s' } }))
  t.same(await daemon.reload(), { ok: true })
  t.ok(log.lines().some(l => l.msg === 'kubernetes settings change only on restart'))
  t.ok(log.lines().some(l => String(l.msg).startsWith('actions were removed by the reload')))
  daemon.actions?.handle([firing('checkout')])
  await daemon.actions?.idle()
  t.same(daemon.actions?.recentDecisions(), [], 'triggers are ignored')
  t.same(
    h.fake.log.filter(e => e.resource === 'deployments'),
    [],
    'and Kubernetes is not asked',
  )
})
