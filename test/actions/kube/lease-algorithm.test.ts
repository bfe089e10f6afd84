// client-go's algorithm on virtual time: an in-memory Lease API with resourceVersion checks, an injected
// monotonic clock and sleep, so expiry and takeover instants are exact.
import t from 'tap'
import { ApiException } from '@kubernetes/client-node'
import type { Lease, LeaseApi } from '../../../src/actions/kube/lease-api.js'
import { LeaseElector, type LeaseElectorOptions } from '../../../src/actions/kube/lease.js'

const status = (code: number, reason: string) =>
  new ApiException(code, reason, JSON.stringify({ kind: 'Status', reason, message: reason }), {})
const wire = (o: Lease): Lease => JSON.parse(JSON.stringify(o)) as Lease

class MemLeases implements LeaseApi {
  lease: Lease | undefined
  rv = 0
  writes: string[] = []
  beforeCreate: (() => void) | undefined
  read = async () => {
    if (!this.lease) throw status(404, 'NotFound')
    return wire(this.lease)
  }
  create = async (_namespace: string, body: Lease) => {
    this.beforeCreate?.()
    if (this.lease) throw status(409, 'AlreadyExists')
    this.writes.push(`create ${body.spec?.holderIdentity}`)
    this.lease = wire({ ...body, metadata: { ...body.metadata, resourceVersion: String(++this.rv) } })
    return wire(this.lease)
  }
  replace = async (_namespace: string, _name: string, body: Lease) => {
    if (body.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) throw status(409, 'Conflict')
    this.writes.push(`update ${body.spec?.holderIdentity} t=${body.spec?.leaseTransitions}`)
    this.lease = wire({ ...body, metadata: { ...body.metadata, resourceVersion: String(++this.rv) } })
    return wire(this.lease)
  }
  list = async () => (this.lease ? [wire(this.lease)] : [])
  /** set: another holder's write (what a renewal by that holder looks like). */
  set(holder: string, renew: string, transitions = 0): void {
    this.lease = {
      metadata: { name: 'rg', namespace: 'ns', resourceVersion: String(++this.rv) },
      spec: {
        holderIdentity: holder,
        leaseDurationSeconds: 15,
        acquireTime: '2020-01-01T00:00:00.000000Z',
        renewTime: renew,
        leaseTransitions: transitions,
      },
    }
  }
}

function elector(mem: MemLeases, clock: { now: number }, extra: Partial<LeaseElectorOptions> = {}) {
  const stop = new AbortController()
  const events: string[] = []
  const e = new LeaseElector({
    leases: mem,
    namespace: 'ns',
    name: 'rg',
    identity: 'me',
    now: () => clock.now,
    wallClock: () => new Date(Date.UTC(2026, 0, 1) + clock.now),
    random: () => 0,
    sleep: async ms => void (clock.now += ms),
    onStartedLeading: () => {
      events.push(`started@${clock.now}`)
      stop.abort()
    },
    onStoppedLeading: () => events.push(`stopped@${clock.now}`),
    onNewLeader: who => events.push(`leader:${who}@${clock.now}`),
    ...extra,
  })
  return { e, stop, events }
}

t.test('an empty namespace: the Lease is created with transitions 0 and MicroTimes', async t => {
  const mem = new MemLeases()
  const clock = { now: 0 }
  const { e, stop, events } = elector(mem, clock)
  await e.run(stop.signal)
  // onStartedLeading runs asynchronously (client-go: `go OnStartedLeading`), so one renewal happens before the stop.
  t.same(mem.writes, ['create me', 'update me t=0'])
  t.match(mem.lease?.spec, {
    holderIdentity: 'me',
    leaseDurationSeconds: 15,
    leaseTransitions: 0,
    acquireTime: '2026-01-01T00:00:00.000000Z',
  })
  t.same(events, ['leader:me@0', 'started@0', 'stopped@2000'])
})

t.test(
  "expiry is judged on the local clock from the last observed change, never from the holder's renewTime",
  async t => {
    const mem = new MemLeases()
    mem.set('other', '1999-01-01T00:00:00.000000Z', 4)
    const clock = { now: 0 }
    const renewAt12s = async (ms: number) => {
      clock.now += ms
      if (clock.now === 12_000) mem.set('other', '1999-01-01T00:00:01.000000Z', 4)
    }
    const { e, stop, events } = elector(mem, clock, { sleep: renewAt12s })
    await e.run(stop.signal)
    // Attempts every 2 s: the change seen at 12 s keeps the lease valid until 27 s, so 28 s is the first takeover.
    t.same(events, ['leader:other@0', 'leader:me@28000', 'started@28000', 'stopped@30000'])
    t.match(mem.lease?.spec, { holderIdentity: 'me', leaseTransitions: 5 })
    t.not(mem.lease?.spec?.acquireTime, '2020-01-01T00:00:00.000000Z', 'a new holder sets acquireTime')
  },
)

t.test('an empty holder (released lease) is taken at once', async t => {
  const mem = new MemLeases()
  mem.set('', '2026-01-01T00:00:00.000000Z', 2)
  const clock = { now: 0 }
  const { e, stop } = elector(mem, clock)
  await e.run(stop.signal)
  t.same(mem.writes, ['update me t=3', 'update me t=3'], 'takeover (transitions+1), then a renewal keeps them')
})

t.test('renewals keep acquireTime and transitions; the fast path writes without a GET', async t => {
  const mem = new MemLeases()
  const clock = { now: 0 }
  let renewals = 0
  const reads: number[] = []
  const read = mem.read
  mem.read = async () => {
    reads.push(clock.now)
    return read()
  }
  const stop = new AbortController()
  const { e } = elector(mem, clock, {
    onStartedLeading: () => {},
    sleep: async ms => {
      clock.now += ms
      if (++renewals >= 3) stop.abort()
    },
  })
  await e.run(stop.signal)
  t.same(mem.writes, ['create me', 'update me t=0', 'update me t=0', 'update me t=0'])
  t.same(reads, [0], 'only the first attempt reads')
  t.equal(mem.lease?.spec?.acquireTime, '2026-01-01T00:00:00.000000Z')
  t.equal(mem.lease?.spec?.renewTime, '2026-01-01T00:00:04.000000Z', 'renewals at 0, 2 and 4 s')
})

t.test('stopped just as it acquired: no guarded work is started, and the lease is released', async t => {
  const mem = new MemLeases()
  const clock = { now: 0 }
  const stop = new AbortController()
  let started = false
  mem.beforeCreate = () => stop.abort()
  const { e } = elector(mem, clock, { releaseOnCancel: true, onStartedLeading: () => void (started = true) })
  await e.run(stop.signal)
  t.equal(started, false)
  t.same(mem.writes, ['create me', 'update  t=0'])
  t.match(mem.lease?.spec, { holderIdentity: '', leaseDurationSeconds: 1 })
  t.notOk(e.isLeader())
})
