import t from 'tap'
import { groupOwner, liveMembers, mayEvaluate, ownsGroup, type ShardView } from '../../../src/runtime/sharding/fence.js'
import { OwnerCache, ownerOf } from '../../../src/runtime/sharding/ownership.js'

const timings = { renewDeadlineMs: 10_000, settleMs: 4_000 }
const view = (over: Partial<ShardView> = {}): ShardView => ({
  identity: 'r-0',
  renewedAt: 20_000,
  joinedAt: 10_000,
  listedAt: 20_000,
  members: ['r-0', 'r-1'],
  ...over,
})

t.test('a member with fresh evidence past its settle time may evaluate', async t => {
  t.ok(mayEvaluate(view(), timings, 20_000))
  t.ok(mayEvaluate(view(), timings, 29_999))
})

t.test('it stops once its own renewal or its list is renewDeadline old', async t => {
  t.notOk(mayEvaluate(view(), timings, 30_000), 'both too old')
  t.notOk(mayEvaluate(view({ listedAt: 29_000 }), timings, 30_000), 'renewal too old')
  t.notOk(mayEvaluate(view({ renewedAt: 29_000 }), timings, 30_000), 'list too old')
})

t.test('it waits the settle time after joining', async t => {
  t.notOk(mayEvaluate(view({ joinedAt: 17_000 }), timings, 20_000))
  t.ok(mayEvaluate(view({ joinedAt: 16_000 }), timings, 20_000))
})

t.test('without its Lease, a join or a list it never evaluates', async t => {
  for (const missing of ['renewedAt', 'joinedAt', 'listedAt'] as const)
    t.notOk(mayEvaluate(view({ [missing]: undefined }), timings, 20_000), missing)
})

t.test('the live members include itself only while it holds its Lease', async t => {
  t.same(liveMembers(view({ members: ['r-1'] })), ['r-0', 'r-1'])
  t.same(liveMembers(view({ members: ['r-1'], renewedAt: undefined })), ['r-1'])
  t.same(liveMembers(view({ members: ['r-1', 'r-0', 'r-1'] })), ['r-0', 'r-1'])
  t.same(liveMembers(view({ members: ['r-1', 'r-0'] })), ['r-0', 'r-1'], 'sorted')
  const listed = ['r-0', 'r-1']
  t.equal(liveMembers(view({ members: listed })), listed, 'a sorted list that holds itself is the answer, not a copy')
})

t.test('owners follow rendezvous hashing over the live members', async t => {
  const keys = Array.from({ length: 50 }, (_, i) => `f.yml;g${i}`)
  const v = view()
  for (const key of keys) t.equal(groupOwner(v, key), ownerOf(['r-0', 'r-1'], key))
  const mine = keys.filter(k => ownsGroup(v, timings, k, 20_000))
  t.ok(mine.length > 0 && mine.length < keys.length, 'it owns some, not all')
  t.same(
    mine,
    keys.filter(k => groupOwner(v, k) === 'r-0'),
  )
  t.same(
    keys.filter(k => ownsGroup(v, timings, k, 30_000)),
    [],
    'fenced: owns nothing',
  )
  t.equal(groupOwner(view({ members: [], renewedAt: undefined }), 'f.yml;g0'), '', 'no member known')
  const cache = new OwnerCache()
  t.same(
    keys.map(k => ownsGroup(v, timings, k, 20_000, cache.ownerOf)),
    keys.map(k => ownsGroup(v, timings, k, 20_000)),
    'the same answers through an owner cache',
  )
  t.same(
    keys.map(k => groupOwner(view({ members: ['r-1'] }), k, cache.ownerOf)),
    keys.map(k => ownerOf(['r-0', 'r-1'], k)),
    'itself added to a list that misses it',
  )
})
