import t from 'tap'
import { LeaseElector, type LeaseElectorOptions } from '../../../src/actions/kube/lease.js'
import { harness, type Harness } from '../../fixtures/cluster-harness.js'

const NS = 'rollguard-system'
const FAST = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 }

interface Candidate {
  elector: LeaseElector
  run: Promise<void>
  stop: AbortController
  events: string[]
  leadership?: AbortSignal
  ledAt?: number
}

function candidate(h: Harness, identity: string, extra: Partial<LeaseElectorOptions> = {}): Candidate {
  const stop = new AbortController()
  const c: Partial<Candidate> & { events: string[] } = { events: [], stop }
  c.elector = new LeaseElector({
    leases: h.clients.leases,
    namespace: NS,
    name: 'rollguard',
    identity,
    ...FAST,
    onStartedLeading: signal => {
      c.leadership = signal
      c.ledAt = performance.now()
      c.events.push('started')
    },
    onStoppedLeading: () => c.events.push('stopped'),
    onNewLeader: who => c.events.push(`leader:${who}`),
    ...extra,
  })
  c.run = c.elector.run(stop.signal)
  return c as Candidate
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms
  while (performance.now() < end) {
    if (cond()) return true
    await new Promise(r => setTimeout(r, 20))
  }
  return cond()
}

type LeaseSpec = {
  holderIdentity?: string
  leaseTransitions?: number
  leaseDurationSeconds?: number
  acquireTime?: string
  renewTime?: string
}
const specOf = (h: Harness) => (h.fake.get('leases', NS, 'rollguard') as { spec?: LeaseSpec } | undefined)?.spec

t.test(
  'two electors: one leader; the leader dies without releasing; the other takes over after ~leaseDuration',
  async t => {
    const h = await harness(NS)
    t.teardown(h.close)
    const a = candidate(h, 'a')
    t.ok(await until(() => a.elector.isLeader(), 3_000), 'a leads')
    const b = candidate(h, 'b')
    t.teardown(() => b.stop.abort())
    await new Promise(r => setTimeout(r, 1_500))
    t.ok(a.elector.isLeader() && !b.elector.isLeader(), 'only one leader while a renews')
    t.equal(b.elector.leader(), 'a')
    t.same(b.events, ['leader:a'])
    t.match(specOf(h), { holderIdentity: 'a', leaseTransitions: 0, leaseDurationSeconds: 3 })
    t.match(specOf(h)?.renewTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'MicroTime on the wire')
    const diedAt = performance.now()
    a.stop.abort()
    await a.run
    t.same(a.events, ['leader:a', 'started', 'stopped'])
    t.ok(a.leadership?.aborted, 'leadership signal aborted')
    t.notOk(a.elector.isLeader())
    t.ok(await until(() => b.elector.isLeader(), 8_000), 'b takes over')
    const waited = (b.ledAt ?? 0) - diedAt
    t.ok(waited >= 2_400 && waited < 6_500, `takeover after ~leaseDuration (${Math.round(waited)} ms)`)
    t.match(specOf(h), { holderIdentity: 'b', leaseTransitions: 1 })
    t.same(b.events, ['leader:a', 'leader:b', 'started'])
    b.stop.abort()
    await b.run
  },
)

t.test('release on cancel: the next candidate takes over without waiting for expiry', async t => {
  const h = await harness(NS)
  t.teardown(h.close)
  const a = candidate(h, 'a', { releaseOnCancel: true })
  t.ok(await until(() => a.elector.isLeader(), 3_000))
  const b = candidate(h, 'b')
  t.teardown(() => b.stop.abort())
  await new Promise(r => setTimeout(r, 300))
  const releasedAt = performance.now()
  a.stop.abort()
  await a.run
  t.match(specOf(h), { holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 0 })
  t.ok(await until(() => b.elector.isLeader(), 3_000))
  t.ok(performance.now() - releasedAt < 2_000, 'no lease-duration wait for an empty holder')
  t.match(specOf(h), { holderIdentity: 'b', leaseTransitions: 1 })
  t.equal(await a.elector.release(), true, 'release when not holding is a no-op')
})

t.test(
  'release after a renewal whose answer the stop cut off: it reads the Lease again and still releases',
  async t => {
    const h = await harness(NS)
    t.teardown(h.close)
    const errors: string[] = []
    const a = candidate(h, 'a', {
      releaseOnCancel: true,
      annotations: () => ({ 'example.com/note': 'last' }),
      onError: m => errors.push(m),
    })
    t.ok(await until(() => a.elector.isLeader(), 3_000))
    const renewals = h.fake.log.filter(e => e.resource === 'leases' && e.verb === 'update').length
    // The stop arrives while the API server applies the next renewal: applied, its answer never read.
    h.fake.inject({
      kind: 'hook',
      when: 'after',
      run: () => a.stop.abort(),
      match: { verb: 'update', resource: 'leases' },
    })
    h.fake.inject({ kind: 'delay', ms: 300, phase: 'after', match: { verb: 'update', resource: 'leases' } })
    await a.run
    const updates = h.fake.log.filter(e => e.resource === 'leases' && e.verb === 'update')
    t.ok(updates.length >= renewals + 2, 'the cut-off renewal, then the release')
    t.match(specOf(h), { holderIdentity: '', leaseDurationSeconds: 1 }, 'released at once, no wait for the expiry')
    t.equal(annotationsOf(h)['example.com/note'], 'last')
    t.notOk(
      errors.some(m => /release/.test(m)),
      `no failed release: ${errors.join('; ')}`,
    )
    const b = candidate(h, 'b')
    t.teardown(() => b.stop.abort())
    t.ok(await until(() => b.elector.isLeader(), 1_500), 'the next candidate takes over at once')
  },
)

t.test('release when another replica took the Lease over meanwhile leaves it alone', async t => {
  const h = await harness(NS)
  t.teardown(h.close)
  const a = candidate(h, 'a')
  t.ok(await until(() => a.elector.isLeader(), 3_000))
  // a stops renewing without releasing (as a replica cut off from the API server), b takes over after the expiry.
  a.stop.abort()
  await a.run
  const b = candidate(h, 'b')
  t.teardown(() => b.stop.abort())
  t.ok(await until(() => b.elector.isLeader(), 8_000))
  t.equal(await a.elector.release(), true, 'nothing of its own to give up')
  t.match(specOf(h), { holderIdentity: 'b' }, "b's hold untouched")
})

t.test('renewal failing for renewDeadline ends leadership; a failing callback does not break the elector', async t => {
  const h = await harness(NS)
  t.teardown(h.close)
  const errors: string[] = []
  const a = candidate(h, 'a', {
    onError: m => errors.push(m),
    onNewLeader: () => {
      throw new Error('boom')
    },
  })
  t.ok(await until(() => a.elector.isLeader(), 3_000))
  h.fake.authorize = req => !(req.resource === 'leases' && (req.verb === 'update' || req.verb === 'get'))
  const cut = performance.now()
  await a.run
  const lost = performance.now() - cut
  t.ok(lost >= 1_500 && lost < 4_000, `gave up after ~renewDeadline (${Math.round(lost)} ms)`)
  t.ok(a.leadership?.aborted)
  t.same(a.events, ['started', 'stopped'])
  t.ok(errors.some(m => /callback failed: boom/.test(m)))
  t.ok(errors.some(m => /forbidden/.test(m)))
  t.ok(errors.some(m => /failed to renew lease rollguard-system\/rollguard within 2000 ms/.test(m)))
})

t.test('acquire keeps retrying through API errors and stops on abort', async t => {
  const h = await harness(NS)
  t.teardown(h.close)
  h.fake.authorize = req => req.resource !== 'leases'
  const a = candidate(h, 'a')
  t.ok(await until(() => h.fake.log.filter(e => e.resource === 'leases').length >= 2, 3_000), 'retried')
  t.notOk(a.elector.isLeader())
  a.stop.abort()
  await a.run
  t.same(a.events, ['stopped'], 'onStoppedLeading runs even if never leading')
})

t.test('configuration is validated like client-go', async t => {
  const h = await harness(NS)
  t.teardown(h.close)
  const base = {
    leases: h.clients.leases,
    namespace: NS,
    name: 'l',
    identity: 'x',
    onStartedLeading: () => {},
    onStoppedLeading: () => {},
  }
  t.throws(() => new LeaseElector({ ...base, identity: '' }), /identity must not be empty/)
  t.throws(
    () => new LeaseElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }),
    /leaseDuration must be greater than renewDeadline/,
  )
  t.throws(
    () => new LeaseElector({ ...base, renewDeadlineMs: 2_400, retryPeriodMs: 2_000 }),
    /renewDeadline must be greater than retryPeriod\*JitterFactor/,
  )
  t.throws(
    () => new LeaseElector({ ...base, leaseDurationMs: 900, renewDeadlineMs: 800, retryPeriodMs: 100 }),
    /at least 1s/,
  )
  t.throws(() => new LeaseElector({ ...base, retryPeriodMs: 0 }), /retryPeriod must be greater than zero/)
  t.doesNotThrow(() => new LeaseElector(base), 'defaults 15s/10s/2s are valid')
})

const annotationsOf = (h: Harness) =>
  (h.fake.get('leases', NS, 'rollguard') as { metadata?: { annotations?: Record<string, string> } } | undefined)
    ?.metadata?.annotations ?? {}

t.test("the leader's annotations ride on its renewals; the next leader finds the previous one's", async t => {
  const h = await harness(NS)
  t.teardown(h.close)
  let aValue = 'a-1'
  const a = candidate(h, 'a', { releaseOnCancel: true, annotations: () => ({ 'example.com/note': aValue }) })
  t.ok(await until(() => a.elector.isLeader(), 5_000), 'a leads')
  t.ok(await until(() => annotationsOf(h)['example.com/note'] === 'a-1', 5_000), 'written with a renewal')
  t.same(a.elector.inheritedAnnotations(), {}, 'a created the Lease: nothing inherited')
  aValue = 'a-2'
  t.ok(await until(() => annotationsOf(h)['example.com/note'] === 'a-2', 5_000), 'kept current')
  aValue = 'a-final'
  t.ok(await until(() => annotationsOf(h)['example.com/note'] === 'a-final', 5_000), 'and again')
  const b = candidate(h, 'b', { annotations: () => ({ 'example.com/note': 'b' }) })
  t.teardown(() => b.stop.abort())
  a.stop.abort()
  await a.run
  t.match(specOf(h), { holderIdentity: '' }, 'released')
  t.equal(annotationsOf(h)['example.com/note'], 'a-final', 'with the newest annotations')
  t.ok(await until(() => b.elector.isLeader(), 3_000), 'b takes over')
  t.same(b.elector.inheritedAnnotations(), { 'example.com/note': 'a-final' }, "b read a's annotations")
  t.ok(await until(() => annotationsOf(h)['example.com/note'] === 'b', 5_000), "then b's own replace them")
})

t.test('a restarted leader with the same identity reads its earlier annotations before writing its own', async t => {
  const h = await harness(NS)
  t.teardown(h.close)
  const first = candidate(h, 'same', { annotations: () => ({ 'example.com/note': 'earlier' }) })
  t.ok(await until(() => annotationsOf(h)['example.com/note'] === 'earlier', 5_000))
  // Dies without releasing; its successor has the same identity (a StatefulSet pod, a fixed identity).
  first.stop.abort()
  await first.run
  const again = candidate(h, 'same', { annotations: () => ({ 'example.com/note': 'later' }) })
  t.teardown(() => again.stop.abort())
  t.ok(await until(() => again.elector.isLeader(), 5_000))
  t.same(again.elector.inheritedAnnotations(), { 'example.com/note': 'earlier' })
  t.ok(await until(() => annotationsOf(h)['example.com/note'] === 'later', 5_000))
})

t.test('an annotations callback that throws is reported and the renewal goes on', async t => {
  const h = await harness(NS)
  t.teardown(h.close)
  const errors: string[] = []
  const a = candidate(h, 'a', {
    annotations: () => {
      throw new Error('boom')
    },
    onError: m => errors.push(m),
  })
  t.teardown(() => a.stop.abort())
  t.ok(await until(() => a.elector.isLeader(), 5_000))
  t.ok(await until(() => errors.some(m => m.includes('boom')), 5_000), 'reported')
  // Renewals go on (the spec's renewTime moves) and hold the Lease: the callback's failure costs nothing else.
  const before = specOf(h)?.renewTime
  t.ok(await until(() => specOf(h)?.renewTime !== before, 5_000), 'renewed after the failure')
  t.equal(specOf(h)?.holderIdentity, 'a')
})
