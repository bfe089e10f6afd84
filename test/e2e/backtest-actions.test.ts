// A backtest with actions: the policy at each firing of a rollback trigger, with the rollout history read from a
// (simulated) cluster. checkout was deployed a minute ago and fails: a would-be rollback with its reason. cart was
// deployed two hours ago and fails too: blocked, outside the post-deploy window. Real Prometheus; every wait bounded.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { runBacktestCommand } from '../../src/cli/backtest.js'
import {
  deployImage,
  defaultRulesFast,
  eventually,
  getJson,
  prometheus,
  services,
  sleep,
  tempDir,
} from '../fixtures/e2e.js'
import { kubectlUndo, startFakeKube, type FakeKube } from '../fixtures/kube/index.js'
import { startKubeStateMetrics } from '../fixtures/kube-state-metrics.js'
import { startPrometheus } from '../../src/demo/stack.js'
import { writeKubeconfig } from '../fixtures/kubeconfig.js'

const HOUR = 3_600_000

/** seedShop creates shop/cart and shop/checkout at revision 1 (image shop/<name>:1) at the fake clock's time. */
async function seedShop(fake: FakeKube): Promise<void> {
  for (const name of ['cart', 'checkout']) {
    await fake.seedDeployment('shop', {
      metadata: { name },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: `shop/${name}:1` }] } },
      },
    })
  }
}

t.test('backtest with actions: a would-be rollback and one blocked by the post-deploy window', async t => {
  const dir = tempDir(t)
  const svcs = await services(t, ['cart', 'checkout'])
  const prom = await prometheus(t, svcs)
  const fake = await startFakeKube()
  t.teardown(() => fake.close())
  // History: both at revision 1 three hours ago; cart's revision 2 two hours ago; checkout's a minute ago.
  fake.clock.advance(-3 * HOUR)
  await seedShop(fake)
  fake.clock.advance(HOUR)
  await deployImage(fake, 'cart', 'shop/cart:2')
  fake.clock.advance(2 * HOUR - 60_000)
  await deployImage(fake, 'checkout', 'shop/checkout:2')
  fake.clock.advance(60_000)

  const from = Date.now()
  for (const s of svcs) s.setFault({ errorRatio: 0.5 })
  await eventually('errors in Prometheus', async () => {
    const body = await getJson<{ data: { result: unknown[] } }>(
      `${prom.url}/api/v1/query?query=${encodeURIComponent('rate(http_requests_total{code=~"5.."}[5s]) > 0')}`,
    )
    return body.data.result.length >= 2
  })
  await sleep(8_000)
  const to = Date.now()

  const config = join(dir, 'rollguard.yml')
  writeFileSync(
    config,
    stringify({
      actions: { mode: 'dry-run', allow: [{ namespace: 'shop' }], correlation: { enabled: false } },
      kubernetes: { kubeconfig: writeKubeconfig(dir, fake) },
    }),
  )
  const out: string[] = []
  const err: string[] = []
  const io = { stdout: (s: string) => void out.push(s), stderr: (s: string) => void err.push(s) }
  const argv = [
    '--config',
    config,
    '--rules',
    defaultRulesFast(dir),
    '--prometheus-url',
    prom.url,
    '--eval-interval',
    '1s',
    `--from=${from / 1000}`,
    `--to=${to / 1000}`,
    '--output',
    'json',
  ]
  t.equal(await runBacktestCommand(argv, io, {}), 0, err.join(''))
  const report = JSON.parse(out.join('')) as {
    wouldBe: Array<{ workload: { name: string }; alertname: string; act: boolean; reason: string; message: string }>
  }
  const checkout = report.wouldBe.find(w => w.workload.name === 'checkout' && w.alertname === 'HighErrorRate')
  const cart = report.wouldBe.find(w => w.workload.name === 'cart' && w.alertname === 'HighErrorRate')
  t.match(checkout, {
    act: true,
    reason: 'rollback',
    message: /rolling back Deployment shop\/checkout from revision 2 to 1/,
  })
  t.match(cart, { act: false, reason: 'outside_post_deploy_window', message: /outside the 1h post-deploy window/ })
  t.equal(fake.log.filter(e => e.method !== 'GET').length, 0, 'a backtest only reads the cluster')

  out.length = 0
  t.equal(await runBacktestCommand(argv.slice(0, -2), io, {}), 0)
  t.match(
    out.join(''),
    /Would-be rollbacks \(the policy at each trigger firing\):\n(.*\n)*.*Deployment shop\/checkout +HighErrorRate +ROLLBACK: rolling back/,
  )
  t.match(out.join(''), /Deployment shop\/cart +HighErrorRate +blocked \(outside_post_deploy_window\)/)
})

t.test(
  'rollout history from kube-state-metrics: an operator undo blocks, a fresh deploy rolls back, no cluster access needed',
  async t => {
    const dir = tempDir(t)
    const svcs = await services(t, ['cart', 'checkout'])
    const fake = await startFakeKube()
    t.teardown(() => fake.close())
    fake.clock.advance(-3 * HOUR)
    await seedShop(fake)
    fake.clock.advance(HOUR)
    await deployImage(fake, 'checkout', 'shop/checkout:2')
    fake.clock.advance(2 * HOUR)
    const ksm = await startKubeStateMetrics(fake, ['shop'])
    t.teardown(() => ksm.close())
    const prom = await startPrometheus({
      scrapeInterval: '1s',
      scrapeTargets: [
        ...svcs.map(s => ({
          job: 'sample',
          target: new URL(s.url).host,
          labels: { namespace: s.namespace, pod: s.pod },
          honorLabels: true,
        })),
        { job: 'kube-state-metrics', target: ksm.target, honorLabels: true },
      ],
    })
    t.teardown(() => prom.stop())
    const query = async (q: string) =>
      (await getJson<{ data: { result: unknown[] } }>(`${prom.url}/api/v1/query?query=${encodeURIComponent(q)}`)).data
        .result.length
    await eventually('kube-state-metrics scraped', async () => (await query('kube_replicaset_spec_replicas == 0')) >= 1)

    const from = Date.now()
    await sleep(2_000)
    // The operator undoes checkout's revision 2 (its first ReplicaSet scales up again); cart gets a new version.
    await kubectlUndo(fake, 'shop', 'checkout')
    await deployImage(fake, 'cart', 'shop/cart:2')
    await eventually(
      'the undo and the deploy scraped',
      async () => (await query('changes(kube_replicaset_spec_replicas[1m]) > 0')) >= 3,
    )
    await sleep(2_000)
    for (const s of svcs) s.setFault({ errorRatio: 0.5 })
    await eventually(
      'errors in Prometheus',
      async () => (await query('rate(http_requests_total{code=~"5.."}[5s]) > 0')) >= 2,
    )
    await sleep(8_000)
    const to = Date.now()

    const config = join(dir, 'rollguard.yml')
    writeFileSync(
      config,
      stringify({ actions: { mode: 'dry-run', allow: [{ namespace: 'shop' }], correlation: { enabled: false } } }),
    )
    const out: string[] = []
    const err: string[] = []
    const io = { stdout: (s: string) => void out.push(s), stderr: (s: string) => void err.push(s) }
    const argv = [
      '--config',
      config,
      '--rules',
      defaultRulesFast(dir),
      '--prometheus-url',
      prom.url,
      '--eval-interval',
      '1s',
      `--from=${from / 1000}`,
      `--to=${to / 1000}`,
      '--rollout-history=kube-state-metrics',
      '--output',
      'json',
    ]
    const requestsBefore = fake.log.length
    t.equal(await runBacktestCommand(argv, io, {}), 0, err.join(''))
    const report = JSON.parse(out.join('')) as {
      wouldBe: Array<{
        workload: { name: string }
        alertname: string
        history: string
        act: boolean
        reason: string
        message: string
      }>
    }
    const verdict = (name: string) =>
      report.wouldBe.find(w => w.workload.name === name && w.alertname === 'HighErrorRate')
    t.match(verdict('checkout'), {
      act: false,
      reason: 'current_is_rollback',
      history: 'kube-state-metrics',
      message: /re-applied an older template .*scaled up from 0 again \(kube-state-metrics\)/,
    })
    t.match(verdict('cart'), {
      act: true,
      reason: 'rollback',
      history: 'kube-state-metrics',
      message: /rolling back Deployment shop\/cart from revision 2 to 1/,
    })
    t.equal(fake.log.length, requestsBefore, 'the backtest did not ask the cluster')
  },
)
