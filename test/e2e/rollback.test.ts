// Automatic rollback end to end: real Prometheus and Alertmanager, a sample service whose error rate degrades,
// the shipped HighErrorRate trigger (fast `for`), and a fake Kubernetes cluster holding shop/checkout where
// revision 2 was just deployed. Every wait is bounded.
import t, { type Test } from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { decodeRollbackRecord, ROLLBACK_ANNOTATION } from '../../src/actions/policy.js'
import { Daemon } from '../../src/daemon.js'
import { amAlerts, amCreateSilence, amExpireSilence } from '../../src/demo/stack.js'
import {
  alertmanager,
  checkoutCluster,
  defaultRulesFast,
  eventually,
  logSink,
  prometheus,
  services,
  tempDir,
  type LogSink,
} from '../fixtures/e2e.js'
import type { FakeKube } from '../fixtures/kube/index.js'
import { writeKubeconfig } from '../fixtures/kubeconfig.js'

const FAST_LEASE = { namespace: 'rollguard-system', lease_duration: '3s', renew_deadline: '2s', retry_period: '500ms' }

interface Running {
  daemon: Daemon
  log: LogSink
  stop(): Promise<void>
}

const image = (o: unknown) =>
  (o as { spec?: { template?: { spec?: { containers?: { image?: string }[] } } } } | undefined)?.spec?.template?.spec
    ?.containers?.[0]?.image
// Rollback patches, not the annotation-only merge patch that writes the verification into the record.
const rollbackPatches = (fake: FakeKube) =>
  fake.log.filter(
    e => e.method === 'PATCH' && e.resource === 'deployments' && e.contentType !== 'application/merge-patch+json',
  )
const eventReasons = (fake: FakeKube) => fake.list('events', 'shop').map(e => String((e as { reason?: string }).reason))

t.test('automatic rollback against real Prometheus and Alertmanager', async t => {
  const dir = tempDir(t)
  const [checkout] = await services(t, ['checkout'])
  if (!checkout) throw new Error('service did not start')
  const [prom, am] = await Promise.all([prometheus(t, [checkout]), alertmanager(t)])
  const rules = defaultRulesFast(dir)
  checkout.setFault({ errorRatio: 0.5 })
  let runs = 0

  /** cluster: a fake cluster where shop/checkout's revision 2 was just deployed (revision 1 is the good one). */
  const cluster = (t: Test): Promise<FakeKube> => checkoutCluster(t)

  /** start runs a daemon (own run label on its alerts) against the fake with the given actions mode and lease identity. */
  async function start(
    t: Test,
    fake: FakeKube,
    mode: 'execute' | 'dry-run',
    identity: string,
    run = `r${++runs}`,
    actions: Record<string, unknown> = {},
  ): Promise<Running> {
    const config = join(tempDir(t), 'rollguard.yml')
    writeFileSync(
      config,
      stringify({
        actions: {
          mode,
          allow: [{ namespace: 'shop' }],
          verify_timeout: '30s',
          correlation: { settle: '1s' },
          ...actions,
        },
        kubernetes: { kubeconfig: writeKubeconfig(tempDir(t), fake), lease: { ...FAST_LEASE, identity } },
      }),
    )
    const log = logSink()
    const flags = new Map<string, string[]>(
      Object.entries({
        config,
        listen: '127.0.0.1:0',
        'prometheus-url': prom.url,
        'alertmanager-url': am.url,
        rules,
        'eval-interval': '1s',
        'resend-delay': '2s',
        'external-label': `run=${run}`,
      }).map(([k, v]) => [k, [v]]),
    )
    const daemon = await Daemon.start(
      { flags, env: {}, cwd: process.cwd() },
      { version: 'test', logger: log.logger, actions: { verifyPollMs: 100 } },
    )
    let stopped: Promise<void> | undefined
    const stop = () => (stopped ??= daemon.stop())
    t.teardown(stop)
    return { daemon, log, stop }
  }

  const decisions = (r: Running) => r.daemon.actions?.recentDecisions() ?? []
  const decided = (r: Running, kind: string, reason?: string) =>
    eventually(
      `${kind} ${reason ?? ''}`,
      async () => decisions(r).find(d => d.kind === kind && (reason === undefined || d.reason === reason)),
      45_000,
    )

  await t.test('the trigger fires, exactly one rollback patch restores revision 1, verified and reported', async t => {
    const fake = await cluster(t)
    const r = await start(t, fake, 'execute', 'solo', 'execute')
    const executed = await eventually(
      'RollbackExecuted in Alertmanager',
      async () => {
        const alerts = await amAlerts(am.url, { matchers: { alertname: 'RollbackExecuted', run: 'execute' } })
        return alerts[0]
      },
      45_000,
    )
    t.match(executed, {
      labels: {
        severity: 'info',
        namespace: 'shop',
        kind: 'Deployment',
        workload: 'checkout',
        trigger_alertname: 'HighErrorRate',
      },
      annotations: { from_revision: '2', to_revision: '1' },
    })
    const sent = rollbackPatches(fake)
    t.equal(sent.length, 1, 'exactly one rollback PATCH')
    t.equal(sent[0]?.query['dryRun'], undefined)
    const d = fake.get('deployments', 'shop', 'checkout')
    t.equal(image(d), 'shop/checkout:1', "the template is revision 1's again")
    t.match(decodeRollbackRecord(d?.metadata.annotations?.[ROLLBACK_ANNOTATION]), {
      fromRevision: 2,
      toRevision: 1,
      alert: 'HighErrorRate',
    })
    await decided(r, 'verified')
    await eventually('events on the workload', async () =>
      ['RolledBack', 'RollbackVerified'].every(e => eventReasons(fake).includes(e)),
    )
    const metrics = await (await fetch(`${r.daemon.address}/metrics`)).text()
    t.match(
      metrics,
      /rollguard_rollbacks_total\{result="succeeded",reason="complete",workload_namespace="shop",kind="Deployment",workload="checkout"\} 1/,
    )
    t.match(metrics, /rollguard_leader 1/)
    t.match(metrics, /rollguard_rollback_duration_seconds_count 1/)
    t.ok(
      r.log
        .lines()
        .some(l => l.decision === 'rollback' && l.workload === 'Deployment shop/checkout' && l.reason === 'rollback'),
      'structured log line',
    )
    const rolled = decisions(r).find(x => x.kind === 'rolled_back')
    t.ok(
      rolled !== undefined && rolled.at - rolled.alert.startsAt < 5_000,
      'the patch follows the trigger going firing closely',
    )
  })

  await t.test('dry-run sends only a dryRun=All patch and changes nothing', async t => {
    const fake = await cluster(t)
    const before = fake.get('deployments', 'shop', 'checkout')
    const r = await start(t, fake, 'dry-run', 'dry', 'dry')
    const rec = await decided(r, 'dry_run')
    t.match(rec.message, /^dry-run: would roll back Deployment shop\/checkout from revision 2 to 1/)
    const sent = rollbackPatches(fake)
    t.equal(sent.length, 1)
    t.equal(sent[0]?.query['dryRun'], 'All')
    const after = fake.get('deployments', 'shop', 'checkout')
    t.equal(after?.metadata.resourceVersion, before?.metadata.resourceVersion, 'nothing stored')
    t.equal(image(after), 'shop/checkout:2')
    t.same(await amAlerts(am.url, { matchers: { alertname: 'RollbackExecuted', run: 'dry' } }), [])
  })

  await t.test(
    'two daemons with leader election: one rollback; the other takes over and does not repeat it',
    async t => {
      const fake = await cluster(t)
      const a = await start(t, fake, 'execute', 'a')
      const b = await start(t, fake, 'execute', 'b')
      const leader = await eventually('a leader', async () => [a, b].find(x => x.daemon.actions?.isLeader()), 10_000)
      const follower = leader === a ? b : a
      await decided(leader, 'verified')
      await decided(follower, 'not_leader')
      t.equal(rollbackPatches(fake).length, 1, 'exactly one rollback')
      await leader.stop()
      await eventually('the follower leads', async () => follower.daemon.actions?.isLeader(), 10_000)
      const again = await decided(follower, 'skipped', 'already_rolled_back')
      t.match(again.message, /was rolled back by rollguard/)
      t.equal(rollbackPatches(fake).length, 1, 'the new leader did not roll back again')
    },
  )

  await t.test(
    'a silence created through Alertmanager stops the rollback; expiring it lets the still-firing trigger act',
    async t => {
      const fake = await cluster(t)
      // `run` is an external label: the silence matches the alert as Alertmanager sees it, not only the rule's labels.
      const id = await amCreateSilence(
        am.url,
        { alertname: 'HighErrorRate', namespace: 'shop', run: 'silenced' },
        3_600_000,
        'release freeze',
        'oncall',
      )
      const r = await start(t, fake, 'execute', 'silenced', 'silenced', { silences: { recheck_interval: '1s' } })
      const held = await decided(r, 'skipped', 'silenced')
      t.match(held, {
        decision: 'skip',
        silence: { id, createdBy: 'oncall', comment: 'release freeze', alertmanager: am.url },
      })
      const checks = async () =>
        Number(
          /rollguard_silence_checks_total\{result="silenced"\} (\d+)/.exec(
            await (await fetch(`${r.daemon.address}/metrics`)).text(),
          )?.[1] ?? 0,
        )
      await eventually('the held trigger to be asked about again', async () => (await checks()) >= 3, 30_000)
      t.equal(rollbackPatches(fake).length, 0, 'no PATCH while the silence is active')
      t.equal(
        decisions(r).filter(d => d.reason === 'silenced').length,
        1,
        'held quietly: one record, not one per re-check',
      )
      await amExpireSilence(am.url, id)
      await decided(r, 'verified')
      t.equal(rollbackPatches(fake).length, 1, 'exactly one PATCH once the silence expired')
      t.equal(image(fake.get('deployments', 'shop', 'checkout')), 'shop/checkout:1')
      t.match(
        await (await fetch(`${r.daemon.address}/metrics`)).text(),
        /rollguard_rollback_decisions_total\{decision="skip",reason="silenced"\} 1/,
      )
    },
  )

  await t.test('a restarted daemon does not roll back a second time', async t => {
    const fake = await cluster(t)
    const first = await start(t, fake, 'execute', 'first')
    await decided(first, 'verified')
    await first.stop()
    const second = await start(t, fake, 'execute', 'second')
    await decided(second, 'skipped', 'already_rolled_back')
    t.equal(rollbackPatches(fake).length, 1)
    t.equal(image(fake.get('deployments', 'shop', 'checkout')), 'shop/checkout:1')
  })
})
