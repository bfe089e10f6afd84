// The Alertmanager webhook end to end: a real Prometheus evaluates the shipped HighErrorRate trigger (fast `for`)
// with its own rule manager over a faulty sample service, a real Alertmanager routes the alert to rollguard's
// webhook with bearer auth from a credentials_file and repeats the notification every second, and rollguard rolls
// shop/checkout back in the fake Kubernetes API server exactly once, also across a restart after a new deploy.
// Loopback only, free ports, every wait bounded.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { stringify } from 'yaml'
import { decodeRollbackRecord, ROLLBACK_ANNOTATION } from '../../src/actions/policy.js'
import { Daemon } from '../../src/daemon.js'
import { freePort } from '../../src/demo/processes.js'
import { startPrometheus } from '../../src/demo/stack.js'
import { DEFAULT_WEBHOOK_PATH } from '../../src/webhook/config.js'
import {
  alertmanager,
  checkoutCluster,
  defaultRulesFast,
  eventually,
  logSink,
  rollbackRoute,
  services,
  tempDir,
  type LogSink,
} from '../fixtures/e2e.js'
import type { FakeKube } from '../fixtures/kube/index.js'
import { writeKubeconfig } from '../fixtures/kubeconfig.js'

const TOKEN = 'e2e-webhook-token'
const image = (o: unknown) =>
  (o as { spec?: { template?: { spec?: { containers?: { image?: string }[] } } } } | undefined)?.spec?.template?.spec
    ?.containers?.[0]?.image
const rollbackPatches = (fake: FakeKube) =>
  fake.log.filter(
    e =>
      e.method === 'PATCH' &&
      e.resource === 'deployments' &&
      e.query['dryRun'] === undefined &&
      e.contentType !== 'application/merge-patch+json',
  )

/** metric sums the samples of one metric whose label text contains `labels` in rollguard's or Alertmanager's /metrics. */
async function metric(url: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text()
  return text
    .split('\n')
    .filter(l => l.startsWith(name) && (l[name.length] === ' ' || l[name.length] === '{') && l.includes(labels))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)
}

t.test(
  'Prometheus → Alertmanager → webhook → exactly one rollback, despite repeated notifications and a restart',
  async t => {
    const dir = tempDir(t)
    const [checkout] = await services(t, ['checkout'])
    if (!checkout) throw new Error('service did not start')
    checkout.setFault({ errorRatio: 0.5 })
    const am = await alertmanager(t)
    const prom = await startPrometheus({
      scrapeInterval: '1s',
      scrapeTargets: [
        {
          job: 'sample',
          target: new URL(checkout.url).host,
          labels: { namespace: checkout.namespace, pod: checkout.pod },
          honorLabels: true,
        },
      ],
      ruleFiles: [defaultRulesFast(dir)],
      alertmanagerUrls: [am.url],
    })
    t.teardown(() => prom.stop())

    const fake = await checkoutCluster(t)

    // rollguard on a fixed free port, so Alertmanager's receiver URL stays valid across the restart.
    const port = await freePort()
    const tokenFile = join(dir, 'webhook-token')
    writeFileSync(tokenFile, `${TOKEN}\n`)
    const kubeconfig = writeKubeconfig(dir, fake)
    async function start(
      t: Test,
      cooldown: string,
    ): Promise<{ daemon: Daemon; log: LogSink; stop: () => Promise<void> }> {
      const config = join(tempDir(t), 'rollguard.yml')
      writeFileSync(
        config,
        stringify({
          actions: {
            mode: 'execute',
            allow: [{ namespace: 'shop' }],
            verify_timeout: '30s',
            cooldown,
            correlation: { settle: '0s' },
          },
          kubernetes: { kubeconfig, lease: { enabled: false } },
          webhook: { auth: { bearer_token_file: tokenFile } },
        }),
      )
      const log = logSink()
      const flags = new Map<string, string[]>([
        ['config', [config]],
        ['listen', [`127.0.0.1:${port}`]],
        ['prometheus-url', [prom.url]],
        ['alertmanager-url', [am.url]],
      ])
      const daemon = await Daemon.start(
        { flags, env: {}, cwd: process.cwd() },
        { version: 'test', logger: log.logger, actions: { verifyPollMs: 100 } },
      )
      let stopped: Promise<void> | undefined
      const stop = () => (stopped ??= daemon.stop())
      t.teardown(stop)
      return { daemon, log, stop }
    }

    const first = await start(t, '30m')
    // The receiver config users paste, with timers shortened: a notification every second while the alert fires.
    await am.reload(
      rollbackRoute([`http://127.0.0.1:${port}${DEFAULT_WEBHOOK_PATH}`], {
        authorization: { type: 'Bearer', credentials_file: tokenFile },
      }),
    )

    const decisions = (d: Daemon) => d.actions?.recentDecisions() ?? []
    const verified = await eventually(
      'the rollback, verified',
      async () => decisions(first.daemon).find(d => d.kind === 'verified'),
      60_000,
    )
    t.match(verified, {
      workload: { kind: 'Deployment', namespace: 'shop', name: 'checkout' },
      alert: { name: 'HighErrorRate' },
    })
    t.equal(image(fake.get('deployments', 'shop', 'checkout')), 'shop/checkout:1', "revision 1's template is back")
    const record = decodeRollbackRecord(
      fake.get('deployments', 'shop', 'checkout')?.metadata.annotations?.[ROLLBACK_ANNOTATION],
    )
    t.match(record, { fromRevision: 2, toRevision: 1, alert: 'HighErrorRate' })
    t.match(
      record?.triggers?.[0],
      /^[0-9a-f]{16}@\d{4}-\d\d-\d\dT/,
      "the record names Alertmanager's fingerprint and startsAt",
    )

    // Alertmanager keeps notifying (the service still fails): several repeats, all acknowledged as duplicates.
    const duplicates = await eventually(
      'four repeated notifications',
      async () => {
        const n = await metric(first.daemon.address, 'rollguard_webhook_alerts_total', 'result="duplicate"')
        return n >= 4 ? n : undefined
      },
      30_000,
    )
    t.ok(duplicates >= 4, `${duplicates} repeats acknowledged`)
    t.equal(rollbackPatches(fake).length, 1, 'exactly one rollback PATCH')
    t.equal(await metric(first.daemon.address, 'rollguard_webhook_alerts_total', 'result="accepted"'), 1)
    t.equal(
      await metric(first.daemon.address, 'rollguard_webhook_requests_total', 'status="401"'),
      0,
      'Alertmanager authenticated with the credentials_file',
    )
    t.ok((await metric(first.daemon.address, 'rollguard_webhook_requests_total', 'status="200"')) >= 5)
    t.ok(
      (await metric(am.url, 'alertmanager_notifications_total', 'integration="webhook"')) >= 5,
      'Alertmanager notified the webhook repeatedly',
    )
    t.equal(
      await metric(am.url, 'alertmanager_notifications_failed_total', 'integration="webhook"'),
      0,
      'and saw no failed notification',
    )
    t.ok(
      first.log
        .lines()
        .some(
          l =>
            (l['webhook'] as { status?: number; result?: { accepted?: number } } | undefined)?.result?.accepted === 1,
        ),
      'a log line for the accepting request',
    )
    t.notMatch(first.log.text(), TOKEN, 'the token is never logged')

    // A new deploy, then a restarted rollguard without cooldown: Alertmanager's repeats of the same firing do not roll back again.
    await first.stop()
    await fake.updateTemplate('shop', 'checkout', tmpl => {
      const c = tmpl.spec?.containers?.[0]
      if (c) c.image = 'shop/checkout:3'
    })
    const second = await start(t, '0s')
    const skipped = await eventually(
      'the restarted daemon deciding on a repeat',
      async () => decisions(second.daemon).find(d => d.kind === 'skipped'),
      30_000,
    )
    t.match(skipped, { reason: 'already_rolled_back', message: /for this very alert/ })
    t.equal(rollbackPatches(fake).length, 1, 'still exactly one rollback PATCH')
    t.equal(image(fake.get('deployments', 'shop', 'checkout')), 'shop/checkout:3', 'the new deploy stays')
  },
)
