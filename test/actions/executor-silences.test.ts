// Alertmanager silences as a veto in the executor: a real Alertmanager, the real adapter, the fake API server.
// The executor's clock stands still unless a test moves it, so re-checks of held triggers are deterministic.
import t, { type Test } from 'tap'
import type { SilenceChecker } from '../../src/actions/attempt.js'
import { AlertmanagerSilences, type SilenceCheckResult } from '../../src/actions/silences.js'
import { amCreateSilence, amExpireSilence } from '../../src/demo/stack.js'
import { alertmanager } from '../fixtures/e2e.js'
import { eventReasons, firing, metric, patches, resolved, rig, type Rig } from './fixtures/executor.js'

const MIN = 60_000
const HOUR = 60 * MIN

t.test('silences veto rollbacks', async t => {
  const am = await alertmanager(t)
  const down = 'http://127.0.0.1:9'
  let cases = 0

  interface Setup {
    r: Rig
    checks: SilenceCheckResult[]
    /** silence creates a silence matching the trigger alert (by the external label only this case has). */
    silence(comment?: string): Promise<string>
    /** tick moves the executor's clock, runs an evaluation (no transitions) and waits for what it started. */
    tick(ms: number): Promise<void>
  }

  async function setup(
    t: Test,
    o: {
      actions?: Record<string, unknown>
      urls?: string[]
      stillFiring?: () => boolean | undefined
      wrap?: (c: SilenceChecker) => SilenceChecker
    } = {},
  ): Promise<Setup> {
    const id = `case-${++cases}`
    const checks: SilenceCheckResult[] = []
    // No answer cache: these tests move from one check to the next within milliseconds (the cache has its own tests).
    const checker = new AlertmanagerSilences({
      access: () => ({ urls: o.urls ?? [am.url], timeoutMs: 5_000 }),
      externalLabels: () => ({ case: id }),
      onCheck: c => void checks.push(c),
      cacheMs: 0,
    })
    t.teardown(() => checker.close())
    const clock = { at: Date.now() }
    const r = await rig(t, {
      actions: { silences: { recheck_interval: '1m' }, ...o.actions },
      silences: o.wrap?.(checker) ?? checker,
      triggerState: () => {
        const firing = (o.stillFiring ?? (() => true))()
        return firing === undefined ? undefined : { firing }
      },
      now: () => clock.at,
    })
    r.fake.log.length = 0
    return {
      r,
      checks,
      silence: (comment = 'migration in progress') =>
        amCreateSilence(am.url, { case: id, deployment: 'checkout' }, HOUR, comment, 'alice'),
      async tick(ms) {
        clock.at += ms
        r.executor.handle([])
        await r.executor.idle()
      },
    }
  }

  const decisions = (r: Rig) => r.audit.recentDecisions()

  await t.test('a matching active silence stops the rollback and is recorded with the silence', async t => {
    const s = await setup(t)
    const id = await s.silence()
    s.r.executor.handle([firing('checkout')])
    await s.r.executor.idle()
    t.same(patches(s.r.fake.log), [], 'no PATCH')
    t.equal(decisions(s.r).length, 1)
    const d = decisions(s.r)[0]
    t.match(d, {
      kind: 'skipped',
      decision: 'skip',
      result: 'skipped',
      reason: 'silenced',
      blockers: ['silenced'],
      fromRevision: 2,
      toRevision: 1,
    })
    t.match(d?.silence, {
      state: 'silenced',
      id,
      createdBy: 'alice',
      comment: 'migration in progress',
      alertmanager: am.url,
    })
    t.match(
      d?.message,
      new RegExp(
        `^the trigger alert is silenced in Alertmanager ${am.url.replace(/[.]/g, '\\.')} by silence ${id} \\(created by "alice", comment "migration in progress", matchers \\{.*\\}, ends at `,
      ),
    )
    t.same(s.checks, ['silenced'])
    t.equal(
      await metric(s.r.registry, 'rollguard_rollback_decisions_total', { decision: 'skip', reason: 'silenced' }),
      1,
    )
    const line = s.r.log.lines().find(l => l.reason === 'silenced')
    t.match(line, {
      decision: 'skip',
      silence: { id, createdBy: 'alice', comment: 'migration in progress', alertmanager: am.url },
    })
    t.match((line?.silence as { endsAt?: string } | undefined)?.endsAt, /^\d{4}-\d\d-\d\dT.*Z$/)
    await s.r.audit.flush(5_000)
    t.same(eventReasons(s.r.fake, 'checkout'), ['RollbackSkipped'], 'an event on the workload says why')
  })

  await t.test('dry-run reports the silence too, and validates no patch', async t => {
    const s = await setup(t, { actions: { mode: 'dry-run' } })
    await s.silence()
    s.r.executor.handle([firing('checkout')])
    await s.r.executor.idle()
    t.same(patches(s.r.fake.log), [])
    t.match(decisions(s.r), [{ kind: 'skipped', reason: 'silenced', mode: 'dry-run' }])
  })

  await t.test(
    'a silence created after the decision stops the rollback right before the patch (fresh check)',
    async t => {
      let created: string | undefined
      const s: Setup = await setup(t, {
        // The first (cacheable) answer says "none"; the silence appears before the patch is sent.
        wrap: c => ({
          async check(alert, opts) {
            const answer = await c.check(alert, opts)
            if (!opts.fresh && created === undefined)
              created = await s.silence('created while the rollback was prepared')
            return answer
          },
        }),
      })
      s.r.executor.handle([firing('checkout')])
      await s.r.executor.idle()
      t.ok(created !== undefined)
      t.same(s.checks, ['none', 'silenced'], 'asked before deciding and again right before the patch')
      t.same(patches(s.r.fake.log), [], 'no PATCH')
      t.match(decisions(s.r), [
        { kind: 'skipped', reason: 'silenced', silence: { id: created }, fromRevision: 2, toRevision: 1 },
      ])
    },
  )

  await t.test(
    'a held trigger is asked about again while it fires; once the silence expires it acts, exactly once',
    async t => {
      const s = await setup(t)
      const id = await s.silence()
      s.r.executor.handle([firing('checkout')])
      await s.r.executor.idle()
      t.match(decisions(s.r), [{ reason: 'silenced' }])

      await s.tick(0)
      t.same(s.checks, ['silenced'], 'not asked again before recheck_interval')
      await s.tick(MIN)
      t.same(s.checks, ['silenced', 'silenced'], 'asked again after recheck_interval')
      t.equal(decisions(s.r).length, 1, 'a re-check that is still silenced records nothing new')

      await amExpireSilence(am.url, id)
      await s.tick(MIN - 1)
      t.same(patches(s.r.fake.log), [], 'the next re-check is not due yet')
      await s.tick(1)
      t.equal(patches(s.r.fake.log).length, 1, 'exactly one PATCH once the silence is gone')
      t.same(
        decisions(s.r).map(d => d.kind),
        ['skipped', 'rolled_back', 'verified'],
      )
      t.ok(s.r.log.lines().some(l => l.msg === 'no silence holds the rollback trigger any more: deciding again'))
      await s.tick(MIN)
      await s.tick(MIN)
      t.equal(patches(s.r.fake.log).length, 1, 'released: not decided again')
    },
  )

  await t.test('a held trigger that resolves is dropped', async t => {
    const s = await setup(t)
    const id = await s.silence()
    s.r.executor.handle([firing('checkout')])
    await s.r.executor.idle()
    s.r.executor.handle([resolved('checkout')])
    await amExpireSilence(am.url, id)
    await s.tick(MIN)
    await s.tick(MIN)
    t.same(s.checks, ['silenced'], 'never asked again')
    t.same(patches(s.r.fake.log), [])
  })

  await t.test('a held trigger that no longer fires (its rule is gone) is dropped at its next turn', async t => {
    let firingNow = true
    const s = await setup(t, { stillFiring: () => firingNow })
    await s.silence()
    s.r.executor.handle([firing('checkout')])
    await s.r.executor.idle()
    firingNow = false
    await s.tick(MIN)
    firingNow = true
    await s.tick(MIN)
    t.same(s.checks, ['silenced'])
  })

  await t.test('a trigger whose firing state is unknown (webhook) is not held; followers do not re-check', async t => {
    const webhook = await setup(t, { stillFiring: () => undefined })
    await webhook.silence()
    webhook.r.executor.handle([firing('checkout')])
    await webhook.r.executor.idle()
    await webhook.tick(MIN)
    t.same(webhook.checks, ['silenced'], 'not held')

    const follower = await setup(t)
    await follower.silence()
    follower.r.executor.handle([firing('checkout')])
    await follower.r.executor.idle()
    follower.r.leader.value = false
    await follower.tick(MIN)
    t.same(follower.checks, ['silenced'], 'only the leader asks')
    follower.r.leader.value = true
    await follower.tick(0)
    t.same(follower.checks, ['silenced', 'silenced'], 'the leader asks again')
  })

  await t.test('a held trigger that fires anew is decided at once', async t => {
    const s = await setup(t)
    const id = await s.silence()
    s.r.executor.handle([firing('checkout')])
    await s.r.executor.idle()
    await amExpireSilence(am.url, id)
    s.r.executor.handle([resolved('checkout'), firing('checkout')])
    await s.r.executor.idle()
    t.equal(patches(s.r.fake.log).length, 1)
    await s.tick(MIN)
    t.equal(patches(s.r.fake.log).length, 1)
  })

  await t.test('no Alertmanager answers: on_error skip (the default) holds, on_error act rolls back', async t => {
    const skip = await setup(t, { urls: [down] })
    skip.r.executor.handle([firing('checkout')])
    await skip.r.executor.idle()
    t.same(patches(skip.r.fake.log), [])
    t.match(decisions(skip.r), [
      {
        kind: 'skipped',
        reason: 'silence_check_failed',
        message: /^Alertmanager silences could not be checked \(http:\/\/127\.0\.0\.1:9: .*\); not acting/,
      },
    ])
    t.equal(decisions(skip.r)[0]?.silence, undefined)
    await skip.tick(MIN)
    t.same(skip.checks, ['error', 'error'], 'held and asked again')

    const act = await setup(t, { urls: [down], actions: { silences: { on_error: 'act' } } })
    act.r.executor.handle([firing('checkout')])
    await act.r.executor.idle()
    t.equal(patches(act.r.fake.log).length, 1)
    t.same(
      decisions(act.r).map(d => d.kind),
      ['rolled_back', 'verified'],
    )
  })

  await t.test('one of two Alertmanagers down: the other one answers and the rollback goes ahead', async t => {
    const s = await setup(t, { urls: [down, am.url] })
    s.r.executor.handle([firing('checkout')])
    await s.r.executor.idle()
    t.equal(patches(s.r.fake.log).length, 1)
    t.same(s.checks, ['none', 'none'])
  })

  await t.test('actions.silences.enabled: false ignores silences', async t => {
    const s = await setup(t, { actions: { silences: { enabled: false } } })
    await s.silence()
    s.r.executor.handle([firing('checkout')])
    await s.r.executor.idle()
    t.equal(patches(s.r.fake.log).length, 1)
    t.same(s.checks, [])
  })

  await t.test('actions.silences.enabled: true without an Alertmanager is a failed check', async t => {
    const s = await setup(t, { urls: [], actions: { silences: { enabled: true } } })
    s.r.executor.handle([firing('checkout')])
    await s.r.executor.idle()
    t.same(patches(s.r.fake.log), [])
    t.match(decisions(s.r), [
      {
        reason: 'silence_check_failed',
        message: /actions\.silences\.enabled is true but no Alertmanager is configured/,
      },
    ])
  })
})
